"""DECIMAL arithmetic cost: ScaledInteger against decimal.Decimal and float baselines.

The workload is the money hot path of a streaming aggregate, ``SUM(price * quantity)`` over
10k rows, driven by the same Python loop for every number type, so the ratios isolate the cost
of the type's own ``*`` and ``+`` (dispatch, overflow checks, allocation of results).
"""

import random
from decimal import Decimal

import pytest

from velostream._core.decimal import ScaledInteger

N = 10_000
GROUP = "decimal: sum(price * quantity) over 10k rows"

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
