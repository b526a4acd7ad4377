"""Window functions file → file against a hand-written orjson loop (per-symbol state in dicts).

LAG  = SELECT symbol, price, LAG(price) OVER (PARTITION BY symbol ORDER BY ts) AS prev FROM trades
MA   = SELECT symbol, price, AVG(price) OVER (PARTITION BY symbol ORDER BY ts
                                              ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS ma
The loops do the same work with floats (a deque of the last 5 prices per symbol). Records:
VELOSTREAM_PERF_RECORDS (default 200,000); 100 symbols. Ratios are printed by perf/conftest.py.
"""

from __future__ import annotations

import os
import random
from collections import deque

import orjson
import pytest

RECORDS = int(os.environ.get("VELOSTREAM_PERF_RECORDS", "200000"))
ROUNDS = 3
LAG = ("SELECT symbol, price, LAG(price) OVER (PARTITION BY symbol ORDER BY ts) AS prev "
       "FROM trades")
MA = ("SELECT symbol, price, AVG(price) OVER (PARTITION BY symbol ORDER BY ts ROWS BETWEEN 4 "
      "PRECEDING AND CURRENT ROW) AS ma FROM trades")


@pytest.fixture(scope="module")
def trades_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("wf") / "trades.jsonl"
    rng = random.Random(42)
    with open(path, "w") as out:
        out.writelines(f'{{"symbol": "S{rng.randrange(100)}", "price": '
                       f'{rng.uniform(10, 900):.4f}, "ts": {1_700_000_000_000 + i}}}\n'
                       for i in range(RECORDS))
    return path


def _run(benchmark, sql, trades_file, tmp_path, baseline=False):
    from velostream import StreamApp

    out = tmp_path / "out.jsonl"
    full = (sql + f" INTO out WITH ('trades.type' = 'file_source', 'trades.path' = "
            f"'{trades_file}', 'trades.format' = 'jsonl', 'out.type' = 'file_sink', "
            f"'out.path' = '{out}', 'out.format' = 'jsonl')")
    benchmark.extra_info["ops"] = RECORDS
    benchmark.pedantic(lambda: StreamApp(full).run(), rounds=ROUNDS, iterations=1)
    with open(out) as handle:
        assert sum(1 for _ in handle) == RECORDS


def _lag_loop(src, dst):
    loads, dumps = orjson.loads, orjson.dumps
    last: dict = {}
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        out = []
        for line in fin:
            r = loads(line)
            s, p = r["symbol"], r["price"]
            out.append(dumps({"symbol": s, "price": p, "prev": last.get(s)}))
            last[s] = p
        fout.write(b"\n".join(out) + b"\n")


def _ma_loop(src, dst):
    loads, dumps = orjson.loads, orjson.dumps
    rings: dict = {}
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        out = []
        for line in fin:
            r = loads(line)
            s, p = r["symbol"], r["price"]
            ring = rings.get(s)
            if ring is None:
                ring = rings[s] = deque(maxlen=5)
            ring.append(p)
            out.append(dumps({"symbol": s, "price": p, "ma": sum(ring) / len(ring)}))
        fout.write(b"\n".join(out) + b"\n")


@pytest.mark.benchmark(group="LAG file->file")
def test_velostream_lag(benchmark, trades_file, tmp_path):
    _run(benchmark, LAG, trades_file, tmp_path)


@pytest.mark.benchmark(group="LAG file->file")
def test_orjson_loop_lag(benchmark, trades_file, tmp_path):
    benchmark.extra_info.update(ops=RECORDS, baseline=True)
    benchmark.pedantic(_lag_loop, args=(trades_file, tmp_path / "o.jsonl"), rounds=ROUNDS,
                       iterations=1)


@pytest.mark.benchmark(group="moving average file->file")
def test_velostream_moving_average(benchmark, trades_file, tmp_path):
    _run(benchmark, MA, trades_file, tmp_path)


@pytest.mark.benchmark(group="moving average file->file")
def test_orjson_loop_moving_average(benchmark, trades_file, tmp_path):
    benchmark.extra_info.update(ops=RECORDS, baseline=True)
    benchmark.pedantic(_ma_loop, args=(trades_file, tmp_path / "o.jsonl"), rounds=ROUNDS,
                       iterations=1)
