"""DISTINCT and ORDER BY over a 100k-row batch: the columnar kernels of ``_core/rowkeys`` against
the row-by-row Python approach ``runtime/pipeline.py`` used before them.

Workloads (W1-like trades: ``trade_id`` BIGINT, ``symbol`` STRING, ``price`` DECIMAL(18,4),
``quantity`` BIGINT):

- ``distinct few``: ``SELECT DISTINCT symbol, quantity`` (5,000 distinct keys);
- ``distinct all``: ``SELECT DISTINCT *`` (every row distinct: 100k keys remembered);
- ``order by``: ``ORDER BY price DESC, trade_id`` then the sorted batch;
- ``order by string``: ``ORDER BY symbol, quantity DESC``.

Kernels: ``DistinctFilter(max_keys).keep(row_keys(columns))`` + ``batch.take``;
``sort_indices`` + ``batch.take``. Baselines, in the same run: the pipeline's former code, copied
here (``to_pylist`` rows, an ``OrderedDict`` of tuples; Python sort passes on ``to_pylist`` keys
and ``RecordBatch.from_pylist``).

Run as pytest-benchmark files (see perf/README.md), or directly for a compact table::

    python3 perf/bench_rowkeys.py
"""

import random
from array import array
from collections import OrderedDict

import pytest
from timing import median_ns

from velostream._core import batch as B
from velostream._core.decimal import ScaledInteger
from velostream._core.rowkeys import DistinctFilter, row_keys, sort_indices

N = 100_000
MAX_KEYS = 1_000_000
_rng = random.Random(20240601)
BATCH = B.RecordBatch(
    ["trade_id", "symbol", "price", "quantity"],
    [B.int64_column(list(range(N))),
     B.string_column([_rng.choice(["AAPL", "MSFT", "GOOG", "AMZN", "TSLA"]) for _ in range(N)]),
     B.decimal_column([ScaledInteger.from_parts(_rng.randrange(1_0000, 500_0000), 4)
                       for _ in range(N)], 4),
     B.int64_column([_rng.randrange(1, 1001) for _ in range(N)])])


# --------------------------------------------------------------------------- the former code

def _hashable(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def python_distinct(batch, names):
    out = batch.select(names)
    seen = OrderedDict()
    keep = array("q")
    for i, row in enumerate(zip(*(c.to_pylist() for c in out.columns))):
        key = tuple(_hashable(v) for v in row)
        if key in seen:
            seen.move_to_end(key)
            continue
        seen[key] = None
        keep.append(i)
        if len(seen) > MAX_KEYS:
            seen.popitem(last=False)
    return out if len(keep) == out.length else out.take(keep)


def python_order_by(batch, order):
    rows = batch.to_pylist()
    columns = [batch.column(name).to_pylist() for name, _ in order]
    keys = list(zip(*columns))
    indices = list(range(len(rows)))
    for k in reversed(range(len(order))):
        desc = order[k][1]
        present = [i for i in indices if keys[i][k] is not None]
        missing = [i for i in indices if keys[i][k] is None]
        present.sort(key=lambda i, k=k: keys[i][k], reverse=desc)
        indices = present + missing
    return B.RecordBatch.from_pylist([rows[i] for i in indices], list(rows[0].keys()))


# --------------------------------------------------------------------------- the kernels

def kernel_distinct(batch, names):
    out = batch.select(names)
    keep = DistinctFilter(MAX_KEYS).keep(row_keys(out.columns))
    return out if len(keep) == out.length else out.take(keep)


def kernel_order_by(batch, order):
    columns = [batch.column(name) for name, _ in order]
    return batch.take(sort_indices(columns, [desc for _, desc in order], None))


FEW = ["symbol", "quantity"]
ALL = ["trade_id", "symbol", "price", "quantity"]
BY_PRICE = [("price", True), ("trade_id", False)]
BY_SYMBOL = [("symbol", False), ("quantity", True)]

WORKLOADS = {
    "distinct few": (kernel_distinct, python_distinct, FEW),
    "distinct all": (kernel_distinct, python_distinct, ALL),
    "order by": (kernel_order_by, python_order_by, BY_PRICE),
    "order by string": (kernel_order_by, python_order_by, BY_SYMBOL),
}


def _same(a, b):
    assert a.length == b.length and a.to_pylist() == b.to_pylist()


# --------------------------------------------------------------------------- pytest-benchmark

@pytest.mark.parametrize("name", sorted(WORKLOADS))
@pytest.mark.parametrize("impl", ["kernel", "python"])
def test_rowkeys(benchmark, name, impl):
    kernel, python, arg = WORKLOADS[name]
    benchmark.group = f"rowkeys: {name} over 100k rows"
    benchmark.extra_info.update(ops=N, baseline=impl == "python")
    out = benchmark(kernel if impl == "kernel" else python, BATCH, arg)
    _same(out, (python if impl == "kernel" else kernel)(BATCH, arg))


# --------------------------------------------------------------------------- direct run

def _median_ms(fn, *args, repeat=7):
    return median_ns(fn, *args, repeat=repeat) / 1e6


def main():
    print(f"{N} rows; median of 7 runs")
    print(f"{'workload':<18} {'kernels ms':>11} {'python ms':>10} {'speed-up':>9}")
    for name, (kernel, python, arg) in WORKLOADS.items():
        _same(kernel(BATCH, arg), python(BATCH, arg))
        k = _median_ms(kernel, BATCH, arg)
        p = _median_ms(python, BATCH, arg)
        print(f"{name:<18} {k:>11.2f} {p:>10.2f} {p / k:>8.1f}x")


if __name__ == "__main__":
    main()
