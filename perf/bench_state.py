"""State layer: the value codec against orjson, the key codec, and the three store backends.

Values are W2's accumulator state per (symbol, window): COUNT, SUM(quantity), AVG(price) as an
exact DECIMAL sum and a count, MIN / MAX(price) — ``(count, qty_sum, price_sum, n, min, max)``
with the prices as DECIMAL(4). orjson cannot write a ``ScaledInteger``, so its variant writes
them as text (``default=str``) and parses them back on decode — what a JSON state encoding has
to do to stay exact. Every variant is checked for the right answer. Keys: ``(symbol,
window_start)``. Stores: 100k puts in one batch + commit, then a full range scan.

Run: ``pytest perf/bench_state.py -p no:cacheprovider -o python_files='bench_*.py'
--benchmark-only``, or ``python perf/bench_state.py`` for a short table.
"""

import random
import statistics
import sys
import tempfile
import time

import orjson
import pytest

from velostream._core.decimal import ScaledInteger
from velostream._core.keycodec import decode_key, encode_key
from velostream._core.valuecodec import decode_values, encode_values
from velostream.state import MemoryStore, WriteBatch
from velostream.state.rocksdb import RocksDBStore
from velostream.state.sqlite import SQLiteStore

N = 100_000
_rng = random.Random(3)
SYMBOLS = [f"SYM{i:03d}" for i in range(100)]


def _state():
    lo = _rng.randrange(1_000_000, 50_000_000)
    return (_rng.randrange(1, 5000), _rng.randrange(1, 10**7),
            ScaledInteger.from_parts(_rng.randrange(10**9, 10**12), 4), _rng.randrange(1, 5000),
            ScaledInteger.from_parts(lo, 4), ScaledInteger.from_parts(lo + _rng.randrange(10**5), 4))


STATES = [_state() for _ in range(N)]
KEYS = [(_rng.choice(SYMBOLS), 1_700_000_000_000 + 60_000 * _rng.randrange(10_000))
        for _ in range(N)]


def binary_encode(states):
    return [encode_values(s) for s in states]


def binary_decode(blobs):
    return [decode_values(b) for b in blobs]


def json_encode(states):
    return [orjson.dumps(s, default=str) for s in states]


def json_decode(blobs):
    out = []
    for b in blobs:
        c, q, ps, n, lo, hi = orjson.loads(b)
        out.append((c, q, ScaledInteger(ps), n, ScaledInteger(lo), ScaledInteger(hi)))
    return out


def keys_encode(keys):
    return [encode_key(k) for k in keys]


def store_round_trip(factory):
    with tempfile.TemporaryDirectory() as d:
        store = factory(d + "/s")
        batch = WriteBatch()
        for k, v in zip(ENCODED_KEYS, BINARY, strict=True):
            batch.put("agg", k, v)
        store.write(batch)
        store.commit()
        count = sum(1 for _ in store.table("agg").range())
        store.close()
    return count


BINARY = binary_encode(STATES)
JSON = json_encode(STATES)
ENCODED_KEYS = keys_encode(KEYS)
DISTINCT_KEYS = len(set(ENCODED_KEYS))
BACKENDS = {"memory": lambda p: MemoryStore(), "rocksdb": RocksDBStore, "sqlite": SQLiteStore}


def _check():
    assert binary_decode(BINARY) == STATES and json_decode(JSON) == STATES
    assert [decode_key(k) for k in ENCODED_KEYS[:1000]] == KEYS[:1000]


# --------------------------------------------------------------------------- pytest-benchmark
@pytest.mark.parametrize("impl", ["binary", "orjson"])
def test_encode_states(benchmark, impl):
    benchmark.group = "state: encode 100k W2 accumulator states"
    benchmark.extra_info.update(ops=N, baseline=impl == "orjson")
    benchmark(binary_encode if impl == "binary" else json_encode, STATES)


@pytest.mark.parametrize("impl", ["binary", "orjson"])
def test_decode_states(benchmark, impl):
    _check()
    benchmark.group = "state: decode 100k W2 accumulator states"
    benchmark.extra_info.update(ops=N, baseline=impl == "orjson")
    benchmark(binary_decode if impl == "binary" else json_decode,
              BINARY if impl == "binary" else JSON)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_store(benchmark, backend):
    benchmark.group = "state: 100k puts + commit + scan"
    benchmark.extra_info.update(ops=N, baseline=backend == "memory")
    assert benchmark(store_round_trip, BACKENDS[backend]) == DISTINCT_KEYS


# --------------------------------------------------------------------------- direct run
def _median_ms(fn, *args, repeat=5):
    fn(*args)
    times = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        fn(*args)
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1e6


def main():
    _check()
    size_b = sum(map(len, BINARY)) / N
    size_j = sum(map(len, JSON)) / N
    print(f"{N} W2 states; median of 5 runs (ms)")
    print(f"{'':24} {'binary':>9} {'orjson':>9}")
    print(f"{'bytes per state':24} {size_b:>9.1f} {size_j:>9.1f}")
    print(f"{'encode':24} {_median_ms(binary_encode, STATES):>9.1f} "
          f"{_median_ms(json_encode, STATES):>9.1f}")
    print(f"{'decode':24} {_median_ms(binary_decode, BINARY):>9.1f} "
          f"{_median_ms(json_decode, JSON):>9.1f}")
    print(f"{'encode_key (sym, ts)':24} {_median_ms(keys_encode, KEYS):>9.1f}")
    for name, factory in BACKENDS.items():
        print(f"{'store ' + name:24} {_median_ms(store_round_trip, factory, repeat=3):>9.1f}"
              "   (100k puts, commit, scan)")


if __name__ == "__main__":
    sys.exit(main())
