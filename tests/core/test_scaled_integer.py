"""ScaledInteger behaviour, with ``decimal.Decimal`` as the oracle.

Examples pin the documented cases (scales kept as written, values between -1 and 0, int64
boundaries); hypothesis properties check str/Decimal round trips, + - *, ordering and hashing
against Decimal computed in a context that traps any inexact step.
"""

import copy
import decimal
import pickle
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from velostream._core.decimal import MAX_SCALE, DecimalOverflow, ScaledInteger

S = ScaledInteger
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# Exact oracle: any rounding in the reference computation is a bug in the test, so trap it.
EXACT = decimal.Context(
    prec=200,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.Inexact, decimal.Rounded, decimal.InvalidOperation, decimal.Overflow],
)

# For quantize: rounding is the point there, so only invalid operations trap.
ROUNDING = decimal.Context(
    prec=200, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[decimal.InvalidOperation]
)

PROPERTY = settings(max_examples=300, deadline=None)


def dec(m, s):
    """The Decimal m * 10**-s, with exponent exactly -s."""
    return Decimal((1 if m < 0 else 0, tuple(int(c) for c in str(abs(m))), -s))


def fits(m):
    return INT64_MIN <= m <= INT64_MAX


def mantissa_at(value, scale):
    """The integer mantissa of Decimal ``value`` at ``scale`` (value must be exact there)."""
    scaled = EXACT.scaleb(value, scale)
    assert scaled == scaled.to_integral_value()
    return int(scaled)


def parts(x):
    return (x.mantissa, x.scale)


mantissas = st.integers(INT64_MIN, INT64_MAX)
values = st.one_of(
    st.builds(S.from_parts, mantissas, st.integers(0, MAX_SCALE)),
    # Small mantissas and nearby scales, so sums and products mostly fit.
    st.builds(S.from_parts, st.integers(-(10**9), 10**9), st.integers(0, 12)),
    st.builds(S.from_parts, st.integers(-(10**18), 10**18), st.integers(0, 4)),
)


# --- construction and text ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, mantissa, scale, shown",
    [
        ("123.4500", 1234500, 4, "123.4500"),
        ("-0.05", -5, 2, "-0.05"),
        ("-0.5", -5, 1, "-0.5"),
        ("0.0000", 0, 4, "0.0000"),
        ("-0.00", 0, 2, "0.00"),
        ("+1.0", 10, 1, "1.0"),
        ("12", 12, 0, "12"),
        (".5", 5, 1, "0.5"),
        ("5.", 5, 0, "5"),
        ("1e3", 1000, 0, "1000"),
        ("1.50E+1", 150, 1, "15.0"),
        ("1.5E-2", 15, 3, "0.015"),
        ("  42.10\n", 4210, 2, "42.10"),
        ("0." + "0" * 37 + "1", 1, 38, "0." + "0" * 37 + "1"),
        ("9223372036854775807", INT64_MAX, 0, "9223372036854775807"),
        ("-9223372036854775808", INT64_MIN, 0, "-9223372036854775808"),
        ("-922337203685477580.8", INT64_MIN, 1, "-922337203685477580.8"),
    ],
)
def test_from_str_keeps_written_scale(text, mantissa, scale, shown):
    x = S(text)
    assert parts(x) == (mantissa, scale)
    assert str(x) == shown
    assert x == Decimal(text)


def test_repr():
    assert repr(S("12.50")) == "ScaledInteger('12.50')"
    assert repr(S("-0.05")) == "ScaledInteger('-0.05')"


def test_from_int_decimal_and_parts():
    assert parts(S(42)) == (42, 0)
    assert parts(S(-7)) == (-7, 0)
    assert parts(S(INT64_MIN)) == (INT64_MIN, 0)
    assert parts(S(Decimal("1.10"))) == (110, 2)
    assert parts(S(Decimal("1E+2"))) == (100, 0)
    assert parts(S(Decimal("-0.00"))) == (0, 2)
    assert parts(S.from_parts(-5, 2)) == (-5, 2)
    assert str(S.from_parts(-5, 2)) == "-0.05"
    x = S("3.14")
    assert parts(S(x)) == (314, 2)


@pytest.mark.parametrize(
    "value, scale, shown",
    [
        ("2.5", 0, "2"),
        ("3.5", 0, "4"),
        ("-2.5", 0, "-2"),
        ("-3.5", 0, "-4"),
        ("0.5", 0, "0"),
        ("1.005", 2, "1.00"),
        ("1.015", 2, "1.02"),
        ("1.0151", 2, "1.02"),
        ("1.2", 3, "1.200"),
        ("-0.049", 1, "0.0"),  # no negative zero
        ("1.23456789012345678901234", 4, "1.2346"),
        ("0." + "0" * 50 + "1", 2, "0.00"),
        (Decimal("2.675"), 2, "2.68"),
        (7, 3, "7.000"),
        (S("9.99"), 1, "10.0"),
    ],
)
def test_scale_argument_rounds_half_even(value, scale, shown):
    x = S(value, scale)
    assert x.scale == scale
    assert str(x) == shown


@pytest.mark.parametrize(
    "text", ["", " ", "abc", "1.2.3", "--1", "+-1", "1e", "1e+", ".", "-", "e5", "NaN",
             "Infinity", "-inf", "1_000", "1,5", "0x10", "\u0661", "1 2"],
)
def test_invalid_literals_are_value_errors(text):
    with pytest.raises(ValueError):
        S(text)


def test_refuses_floats_and_other_types():
    with pytest.raises(TypeError):
        S(1.5)
    with pytest.raises(TypeError):
        S(None)
    with pytest.raises(TypeError):
        S([1])
    with pytest.raises(ValueError):
        S(Decimal("NaN"))
    with pytest.raises(ValueError):
        S(Decimal("-Infinity"))


def test_scale_limit_is_38():
    assert S("1e-38").scale == 38
    with pytest.raises(ValueError):
        S("1e-39")
    with pytest.raises(ValueError):
        S("0." + "0" * 38 + "1")
    with pytest.raises(ValueError):
        S(Decimal("1E-39"))
    with pytest.raises(ValueError):
        S("1", scale=39)
    with pytest.raises(ValueError):
        S.from_parts(1, 39)
    with pytest.raises(ValueError):
        S.from_parts(1, -1)
    with pytest.raises(TypeError):
        S("1", scale=2.0)
    # A product whose scale would pass 38 is not representable either.
    with pytest.raises(DecimalOverflow):
        S.from_parts(1, 20) * S.from_parts(1, 19)


# --- int64 boundaries ------------------------------------------------------------------------------


def test_decimal_overflow_is_an_overflow_error():
    assert issubclass(DecimalOverflow, OverflowError)


@pytest.mark.parametrize(
    "make",
    [
        lambda: S(str(INT64_MAX + 1)),
        lambda: S(str(INT64_MIN - 1)),
        lambda: S("92233720368547758.08"),
        lambda: S("1" * 30),
        lambda: S("1e19"),
        lambda: S(INT64_MAX + 1),
        lambda: S(Decimal(INT64_MIN - 1)),
        lambda: S.from_parts(2**63, 0),
        lambda: S(INT64_MAX, scale=1),
        lambda: S("0.1000000000000000000000"),  # keeps scale 22: mantissa 10**21
    ],
)
def test_construction_overflow_raises(make):
    with pytest.raises(DecimalOverflow):
        make()


@pytest.mark.parametrize(
    "compute",
    [
        lambda: S(INT64_MAX) + 1,
        lambda: 1 + S(INT64_MAX),
        lambda: S.from_parts(INT64_MAX, 2) + S.from_parts(1, 2),
        lambda: S(INT64_MIN) - 1,
        lambda: S.from_parts(INT64_MIN, 5) - S.from_parts(1, 5),
        lambda: -S(INT64_MIN),
        lambda: abs(S.from_parts(INT64_MIN, 3)),
        lambda: S(INT64_MIN) * -1,
        lambda: S(INT64_MAX) * 2,
        lambda: S(2**32) * S(2**32),
        lambda: S("0.5") * S(INT64_MIN),  # scale 1 mantissa -5 * 2**63
        # Rescaling to the larger scale overflows and nothing cancels it.
        lambda: S(10**18) + S("0.1"),
        lambda: S(1) + S.from_parts(1, 20),
        lambda: S(INT64_MAX) + (2**63),  # int operand outside int64
    ],
)
def test_arithmetic_overflow_raises_instead_of_wrapping(compute):
    with pytest.raises(DecimalOverflow):
        compute()


def test_arithmetic_at_the_boundaries_still_works():
    assert parts(S(INT64_MAX) - 0) == (INT64_MAX, 0)
    assert parts(S(INT64_MIN + 1) - 1) == (INT64_MIN, 0)
    assert parts(-S(INT64_MAX)) == (-INT64_MAX, 0)
    assert parts(S(INT64_MIN) * 1) == (INT64_MIN, 0)
    assert parts(S(-(2**62)) * 2) == (INT64_MIN, 0)


def test_intermediate_overflow_that_cancels_is_exact():
    # 10**18 at scale 1 is 10**19 (past int64), but the sum is back in range: no false overflow.
    x = S(10**18) + S.from_parts(-9 * 10**18, 1)
    assert parts(x) == (10**18, 1)
    # Scales 19 apart: 1 - 0.9 at scale 19.
    y = S(1) + S.from_parts(-9 * 10**18, 19)
    assert parts(y) == (10**18, 19)
    assert y == Decimal("0.1")


# --- values between -1 and 0 ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["-0.05", "-0.5", "-0.001", "-0.999", "-0.0000000000000000001"])
def test_negative_fractions_keep_their_sign(text):
    x = S(text)
    assert str(x) == text
    assert x < 0
    assert int(x) == 0
    assert float(x) == float(text)
    assert -x > 0
    assert abs(x) == -x


@PROPERTY
@given(st.integers(1, 18).flatmap(lambda s: st.tuples(st.integers(-(10**s) + 1, -1), st.just(s))))
def test_values_between_minus_one_and_zero(ms):
    m, s = ms
    x = S.from_parts(m, s)
    text = str(x)
    assert text.startswith("-0.")
    assert text == format(dec(m, s), "f")
    assert parts(S(text)) == (m, s)
    assert int(x) == 0
    assert float(x) == float(dec(m, s))
    assert -1 < x < 0


# --- properties against Decimal --------------------------------------------------------------------


@PROPERTY
@given(values)
@example(S.from_parts(INT64_MIN, 0))
@example(S.from_parts(INT64_MIN, 38))
@example(S.from_parts(INT64_MAX, 19))
@example(S.from_parts(0, 38))
def test_text_and_decimal_round_trip(x):
    d = dec(x.mantissa, x.scale)
    assert str(x) == format(d, "f")
    assert parts(S(str(x))) == parts(x)
    assert parts(S(d)) == parts(x)
    assert parts(S(str(d))) == parts(x)  # Decimal's own text may be scientific
    assert x.to_decimal() == d
    assert x.to_decimal().as_tuple().exponent == -x.scale
    assert parts(pickle.loads(pickle.dumps(x))) == parts(x)


@PROPERTY
@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_parse_any_decimal(d):
    _sign, digits, exp = d.as_tuple()
    scale = max(-exp, 0)
    if scale > MAX_SCALE:
        for source in (str(d), d):
            with pytest.raises(ValueError):
                S(source)
        return
    if d.is_zero():
        expected = 0
    elif len(digits) + max(exp, 0) > 25:
        expected = None
    else:
        expected = mantissa_at(d, scale)
    for source in (str(d), d):
        if expected is None or not fits(expected):
            with pytest.raises(DecimalOverflow):
                S(source)
        else:
            assert parts(S(source)) == (expected, scale)


def check_result(compute, exact, scale):
    """``compute()`` must equal ``exact`` at ``scale``, or raise DecimalOverflow iff it can't."""
    expected = mantissa_at(exact, scale) if scale <= MAX_SCALE else None
    if expected is None or not fits(expected):
        with pytest.raises(DecimalOverflow):
            compute()
    else:
        assert parts(compute()) == (expected, scale)


@PROPERTY
@given(values, values)
@example(S(10**18), S.from_parts(-9 * 10**18, 1))
@example(S(INT64_MAX), S.from_parts(1, 0))
@example(S(INT64_MIN), S.from_parts(1, 0))
def test_add_and_sub_match_decimal(a, b):
    da, db = a.to_decimal(), b.to_decimal()
    scale = max(a.scale, b.scale)
    check_result(lambda: a + b, EXACT.add(da, db), scale)
    check_result(lambda: a - b, EXACT.subtract(da, db), scale)
    check_result(lambda: b - a, EXACT.subtract(db, da), scale)


@PROPERTY
@given(values, values)
@example(S(INT64_MIN), S(-1))
@example(S(-(2**62)), S(2))
def test_mul_matches_decimal(a, b):
    check_result(lambda: a * b, EXACT.multiply(a.to_decimal(), b.to_decimal()), a.scale + b.scale)


@PROPERTY
@given(values, st.integers(INT64_MIN, INT64_MAX))
def test_int_operands_behave_as_scale_zero(a, k):
    da, dk = a.to_decimal(), Decimal(k)
    check_result(lambda: a + k, EXACT.add(da, dk), a.scale)
    check_result(lambda: k + a, EXACT.add(dk, da), a.scale)
    check_result(lambda: a - k, EXACT.subtract(da, dk), a.scale)
    check_result(lambda: k - a, EXACT.subtract(dk, da), a.scale)
    check_result(lambda: a * k, EXACT.multiply(da, dk), a.scale)
    check_result(lambda: k * a, EXACT.multiply(dk, da), a.scale)


@PROPERTY
@given(values)
def test_negation_and_abs(a):
    d = a.to_decimal()
    check_result(lambda: -a, EXACT.minus(d), a.scale)
    check_result(lambda: abs(a), EXACT.abs(d), a.scale)
    assert +a is a


@PROPERTY
@given(values, values)
@example(S("12.5"), S("12.50"))
@example(S(1), S.from_parts(9 * 10**18, 19))
@example(S.from_parts(1, 38), S(0))
@example(S.from_parts(-1, 38), S.from_parts(INT64_MIN, 0))
def test_ordering_matches_decimal(a, b):
    da, db = a.to_decimal(), b.to_decimal()
    assert (a == b) == (da == db)
    assert (a != b) == (da != db)
    assert (a < b) == (da < db)
    assert (a <= b) == (da <= db)
    assert (a > b) == (da > db)
    assert (a >= b) == (da >= db)
    if a == b:
        assert hash(a) == hash(b)


@PROPERTY
@given(values, st.integers(0, MAX_SCALE))
def test_hash_agrees_with_decimal_at_any_scale(a, scale):
    assert hash(a) == hash(a.to_decimal())
    if scale >= a.scale:
        try:
            wider = S(a, scale)
        except DecimalOverflow:
            return
        assert wider == a
        assert hash(wider) == hash(a)


@PROPERTY
@given(values, st.integers(0, MAX_SCALE))
def test_scale_argument_matches_decimal_quantize(a, scale):
    quantum = Decimal((0, (1,), -scale))
    exact = a.to_decimal().quantize(quantum, rounding=decimal.ROUND_HALF_EVEN, context=ROUNDING)
    check_result(lambda: S(a, scale), exact, scale)
    check_result(lambda: S(str(a), scale), exact, scale)


@PROPERTY
@given(values)
def test_float_and_int_match_decimal(a):
    d = a.to_decimal()
    assert float(a) == float(d)
    assert int(a) == int(d)
    assert bool(a) == bool(d)


# --- equality, hashing and ordering with other numbers ---------------------------------------------


def test_equal_across_scales():
    assert S("12.5") == S("12.50") == S("12.500000")
    assert S("0") == S("0.000")
    assert S("-0.05") != S("-0.5")
    assert sorted([S("1.10"), S("-0.05"), S("1.1"), S("0.999"), S("-1")]) == [
        S("-1"), S("-0.05"), S("0.999"), S("1.10"), S("1.1")]


def test_hash_mixes_with_decimal_int_and_float():
    assert hash(S("12.5")) == hash(S("12.50")) == hash(Decimal("12.5")) == hash(12.5)
    assert hash(S("2.00")) == hash(2)
    assert hash(S("-1")) == hash(-1) == -2
    prices = {Decimal("12.5"): "a", 2: "b"}
    assert prices[S("12.50")] == "a"
    assert prices[S("2.000")] == "b"
    assert len({S("1.0"), S("1.00"), Decimal(1), 1}) == 1


def test_comparison_with_other_numbers():
    x = S("12.50")
    assert x == Decimal("12.5")
    assert x == 12.5
    assert x == Fraction(25, 2)
    assert S("2.00") == 2
    assert S("0.1") != 0.1  # the float 0.1 is not one tenth
    assert x < 13 and x > 12
    assert x < 2**70 and x > -(2**70)
    assert x != "12.50"
    with pytest.raises(TypeError):
        _ = x < "13"


def test_no_mixing_with_inexact_or_foreign_operands():
    x = S("1.5")
    for other in (1.5, Decimal("1.5"), "1.5", None):
        with pytest.raises(TypeError):
            _ = x + other
        with pytest.raises(TypeError):
            _ = other * x


def test_int_operands():
    assert parts(S("1.50") + 1) == (250, 2)
    assert parts(1 + S("1.50")) == (250, 2)
    assert parts(2 - S("0.5")) == (15, 1)
    assert parts(S("0.5") * 3) == (15, 1)
    assert parts(True + S("0.5")) == (15, 1)


def test_mul_adds_scales_and_add_keeps_the_larger():
    assert parts(S("1.5") * S("-2.25")) == (-3375, 3)
    assert parts(S("12.5") + S("0.05")) == (1255, 2)
    assert parts(S("3") - S("0.001")) == (2999, 3)


def test_conversions():
    assert int(S("-7.9")) == -7
    assert int(S("7.9")) == 7
    assert int(S.from_parts(INT64_MIN, 0)) == INT64_MIN
    assert int(S.from_parts(INT64_MIN, 19)) == 0
    assert float(S("-0.05")) == -0.05
    assert float(S.from_parts(INT64_MAX, 30)) == float(Decimal(INT64_MAX).scaleb(-30))
    assert S("1.25").to_decimal() == Decimal("1.25")
    assert str(S("1.20").to_decimal()) == "1.20"
    assert not S("0.00")
    assert S("0.01")


def test_immutable_and_copyable():
    x = S("1.25")
    with pytest.raises(AttributeError):
        x.scale = 3
    assert copy.copy(x) == x
    assert copy.deepcopy(x) == x
    assert parts(pickle.loads(pickle.dumps(x, protocol=2))) == (125, 2)
