"""DECIMAL arithmetic cost: ScaledInteger against decimal.Decimal and float baselines.

The workload is the money hot path of a streaming aggregate, ``SUM(price * quantity)`` over
10k rows (prices with 2 decimals, integer quantities), measured two ways:

- **per element**: the same Python loop for every number type, so the ratios isolate the cost
  of the type's own ``*`` and ``+`` (dispatch, overflow checks, allocation of results);
- **batch**: what a typed column allows. ``dot_scaled`` runs one Cython loop over the int64
  mantissas of two DECIMAL columns (``array('q')``) with a 128-bit accumulator, against the
  best pure-Python float spellings over ``array('d')`` and lists, and Decimal/ScaledInteger
  objects summed with ``sum(map(mul, …))``.

``extra_info["ops"]`` is the row count, so perf/conftest.py prints ns per row and ratios.
"""

import operator
import random
from array import array
from decimal import Decimal

import pytest

from velostream._core.decimal import ScaledInteger, dot_scaled

N = 10_000
GROUP = "decimal: sum(price * quantity) over 10k rows, per element"
BATCH = "decimal: sum(price * quantity) over 10k rows, batch"

_rng = random.Random(20240601)
_CENTS = [_rng.randrange(1, 10_000_000) for _ in range(N)]
QUANTITIES = [_rng.randrange(1, 1_000) for _ in range(N)]
PRICE_TEXT = [f"{c // 100}.{c % 100:02d}" for c in _CENTS]
EXPECTED = Decimal(sum(c * q for c, q in zip(_CENTS, QUANTITIES, strict=True))).scaleb(-2)


def accumulate(prices, quantities, zero):
    total = zero
    for price, quantity in zip(prices, quantities):
        total = total + price * quantity
    return total


def _run(benchmark, prices, zero, baseline):
    benchmark.extra_info.update(ops=N, baseline=baseline)
    return benchmark(accumulate, prices, QUANTITIES, zero)


# --- per element: one Python loop, the type's own operators -------------------------------------


@pytest.mark.benchmark(group=GROUP)
def test_scaled_integer(benchmark):
    total = _run(benchmark, [ScaledInteger(t) for t in PRICE_TEXT], ScaledInteger("0.00"), False)
    assert total == EXPECTED
    assert total.scale == 2


@pytest.mark.benchmark(group=GROUP)
def test_decimal(benchmark):
    total = _run(benchmark, [Decimal(t) for t in PRICE_TEXT], Decimal("0.00"), True)
    assert total == EXPECTED


@pytest.mark.benchmark(group=GROUP)
def test_float(benchmark):
    total = _run(benchmark, [float(t) for t in PRICE_TEXT], 0.0, True)
    assert total == pytest.approx(float(EXPECTED), rel=1e-9)


# --- batch: typed columns ------------------------------------------------------------------------


def float_genexpr(prices, quantities):
    return sum(p * q for p, q in zip(prices, quantities))


def float_loop(prices, quantities):
    total = 0.0
    for i in range(len(prices)):
        total += prices[i] * quantities[i]
    return total


def objects_sum_map(prices, quantities, zero):
    return sum(map(operator.mul, prices, quantities), zero)


def _batch(benchmark, baseline, func, *args):
    benchmark.extra_info.update(ops=N, baseline=baseline)
    return benchmark(func, *args)


@pytest.mark.benchmark(group=BATCH)
def test_batch_dot_scaled(benchmark):
    # The DECIMAL(…, 2) price column and the BIGINT quantity column as a RecordBatch holds them.
    prices = array("q", _CENTS)
    quantities = array("q", QUANTITIES)
    total = _batch(benchmark, False, dot_scaled, prices, 2, quantities, 0)
    assert total == EXPECTED
    assert total.scale == 2


@pytest.mark.benchmark(group=BATCH)
def test_batch_float_array_genexpr(benchmark):
    prices = array("d", [float(t) for t in PRICE_TEXT])
    total = _batch(benchmark, True, float_genexpr, prices, array("d", QUANTITIES))
    assert total == pytest.approx(float(EXPECTED), rel=1e-9)


@pytest.mark.benchmark(group=BATCH)
def test_batch_float_list_loop(benchmark):
    prices = [float(t) for t in PRICE_TEXT]
    total = _batch(benchmark, True, float_loop, prices, [float(q) for q in QUANTITIES])
    assert total == pytest.approx(float(EXPECTED), rel=1e-9)


@pytest.mark.benchmark(group=BATCH)
def test_batch_float_sum_map(benchmark):
    prices = array("d", [float(t) for t in PRICE_TEXT])
    total = _batch(benchmark, False, objects_sum_map, prices, array("d", QUANTITIES), 0.0)
    assert total == pytest.approx(float(EXPECTED), rel=1e-9)


@pytest.mark.benchmark(group=BATCH)
def test_batch_scaled_integer_sum_map(benchmark):
    prices = [ScaledInteger(t) for t in PRICE_TEXT]
    total = _batch(benchmark, False, objects_sum_map, prices, QUANTITIES, ScaledInteger("0.00"))
    assert total == EXPECTED


@pytest.mark.benchmark(group=BATCH)
def test_batch_decimal_sum_map(benchmark):
    prices = [Decimal(t) for t in PRICE_TEXT]
    total = _batch(benchmark, False, objects_sum_map, prices, QUANTITIES, Decimal("0.00"))
    assert total == EXPECTED
