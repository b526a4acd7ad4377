"""Expression kernels on W1's expressions over a 100k-row batch, against plain Python loops.

W1 = ``SELECT trade_id, symbol, price, quantity, price * quantity AS notional FROM trades
WHERE quantity > 500``. Its two expressions are measured on their own and together:

- ``filter``: the mask ``quantity > 500`` (a BIGINT column against a C scalar);
- ``notional``: ``price * quantity`` (DECIMAL(18,4) × BIGINT → DECIMAL(18,4), exact);
- ``w1``: the mask, ``RecordBatch.filter``, then ``price * quantity`` on the kept rows.

Baselines, in the same run: a list comprehension over the same rows as dicts, with prices as
``decimal.Decimal`` (exact, like us) and as ``float`` (inexact, the usual shortcut). The kernels
are compiled once outside the timing, as the runtime does (compile per schema, run per batch).

Run as pytest-benchmark files (see perf/README.md), or directly for a compact table::

    python3 perf/bench_expr.py
"""

import random
from decimal import Decimal

import pytest
from timing import median_ns

from velostream._core import batch as B
from velostream._core.decimal import ScaledInteger
from velostream.grammar import parse_expression
from velostream.plan.compile import compile_expression, schema_of

N = 100_000
_rng = random.Random(20240601)
_TICKS = [_rng.randrange(1_0000, 500_0000) for _ in range(N)]          # price * 10**4
QUANTITIES = [_rng.randrange(1, 1001) for _ in range(N)]
PRICE_TEXT = [f"{t // 10000}.{t % 10000:04d}" for t in _TICKS]
SYMBOLS = [_rng.choice(["AAPL", "MSFT", "GOOG", "AMZN", "TSLA"]) for _ in range(N)]

BATCH = B.RecordBatch(
    ["trade_id", "symbol", "price", "quantity"],
    [B.int64_column(list(range(N))), B.string_column(SYMBOLS),
     B.decimal_column([ScaledInteger.from_parts(t, 4) for t in _TICKS], 4),
     B.int64_column(QUANTITIES)])
ROWS_DECIMAL = [{"trade_id": i, "symbol": s, "price": Decimal(p), "quantity": q}
                for i, (s, p, q) in enumerate(zip(SYMBOLS, PRICE_TEXT, QUANTITIES))]
ROWS_FLOAT = [{**row, "price": float(row["price"])} for row in ROWS_DECIMAL]

_SCHEMA = schema_of(BATCH)
FILTER = compile_expression(parse_expression("quantity > 500"), _SCHEMA)
NOTIONAL = compile_expression(parse_expression("price * quantity"), _SCHEMA)

EXPECTED_KEPT = sum(q > 500 for q in QUANTITIES)
EXPECTED_SUM = sum(t * q for t, q in zip(_TICKS, QUANTITIES))            # at scale 4
EXPECTED_KEPT_SUM = sum(t * q for t, q in zip(_TICKS, QUANTITIES) if q > 500)


# --------------------------------------------------------------------------- the workloads

def kernel_filter():
    return FILTER.evaluate(BATCH, [])


def kernel_notional():
    return NOTIONAL.evaluate(BATCH, [])


def kernel_w1():
    kept = BATCH.filter(FILTER.evaluate(BATCH, []))
    return NOTIONAL.evaluate(kept, [])


def python_filter(rows):
    return [row["quantity"] > 500 for row in rows]


def python_notional(rows):
    return [row["price"] * row["quantity"] for row in rows]


def python_w1(rows):
    return [row["price"] * row["quantity"] for row in rows if row["quantity"] > 500]


def _check_filter(mask):
    assert sum(1 for v in (mask.to_pylist() if hasattr(mask, "to_pylist") else mask) if v) == (
        EXPECTED_KEPT)


def _mantissa_sum(column):
    data = column.data
    return sum(data)


# --------------------------------------------------------------------------- pytest-benchmark

def _bench(benchmark, fn, *args, baseline=False):
    benchmark.extra_info.update(ops=N, baseline=baseline)
    return benchmark(fn, *args)


@pytest.mark.benchmark(group="expr: quantity > 500 over 100k rows")
def test_filter_kernel(benchmark):
    _check_filter(_bench(benchmark, kernel_filter))


@pytest.mark.benchmark(group="expr: quantity > 500 over 100k rows")
def test_filter_python_dicts(benchmark):
    _check_filter(_bench(benchmark, python_filter, ROWS_DECIMAL, baseline=True))


@pytest.mark.benchmark(group="expr: price * quantity over 100k rows")
def test_notional_kernel(benchmark):
    column = _bench(benchmark, kernel_notional)
    assert column.scale == 4 and _mantissa_sum(column) == EXPECTED_SUM


@pytest.mark.benchmark(group="expr: price * quantity over 100k rows")
def test_notional_python_decimal(benchmark):
    out = _bench(benchmark, python_notional, ROWS_DECIMAL, baseline=True)
    assert sum(out) == Decimal(EXPECTED_SUM).scaleb(-4)


@pytest.mark.benchmark(group="expr: price * quantity over 100k rows")
def test_notional_python_float(benchmark):
    out = _bench(benchmark, python_notional, ROWS_FLOAT, baseline=True)
    assert sum(out) == pytest.approx(EXPECTED_SUM / 1e4, rel=1e-9)


@pytest.mark.benchmark(group="expr: W1 filter + notional over 100k rows")
def test_w1_kernel(benchmark):
    column = _bench(benchmark, kernel_w1)
    assert _mantissa_sum(column) == EXPECTED_KEPT_SUM


@pytest.mark.benchmark(group="expr: W1 filter + notional over 100k rows")
def test_w1_python_decimal(benchmark):
    out = _bench(benchmark, python_w1, ROWS_DECIMAL, baseline=True)
    assert sum(out) == Decimal(EXPECTED_KEPT_SUM).scaleb(-4)


@pytest.mark.benchmark(group="expr: W1 filter + notional over 100k rows")
def test_w1_python_float(benchmark):
    out = _bench(benchmark, python_w1, ROWS_FLOAT, baseline=True)
    assert sum(out) == pytest.approx(EXPECTED_KEPT_SUM / 1e4, rel=1e-9)


# --------------------------------------------------------------------------- direct run

def _median_ns_per_row(fn, *args, repeat=15):
    return median_ns(fn, *args, repeat=repeat) / N


def main():
    groups = [
        ("quantity > 500", kernel_filter, [("dicts (Decimal)", python_filter, ROWS_DECIMAL)]),
        ("price * quantity", kernel_notional,
         [("dicts, Decimal", python_notional, ROWS_DECIMAL),
          ("dicts, float", python_notional, ROWS_FLOAT)]),
        ("W1 filter + notional", kernel_w1,
         [("dicts, Decimal", python_w1, ROWS_DECIMAL), ("dicts, float", python_w1, ROWS_FLOAT)]),
    ]
    print(f"{N} rows; median of 15 runs; ns per input row")
    print(f"{'workload':<22} {'kernels':>9} {'baseline':<16} {'ns/row':>8} {'speed-up':>9}")
    for name, kernel, baselines in groups:
        k = _median_ns_per_row(kernel)
        for label, fn, rows in baselines:
            b = _median_ns_per_row(fn, rows)
            print(f"{name:<22} {k:>9.2f} {label:<16} {b:>8.2f} {b / k:>8.1f}x")


if __name__ == "__main__":
    main()
