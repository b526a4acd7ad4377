"""ScaledInteger behaviour, with ``decimal.Decimal`` as the oracle.

Examples pin the documented cases (scales kept as written, values between -1 and 0, int64
boundaries, division rounding, the float rule); hypothesis properties check str/Decimal round
trips, + - * / %, rounding, CAST, ordering and hashing against Decimal computed in a context
that traps any inexact step, for narrow (int64) and wide (Python int) mantissas alike.
"""

import copy
import decimal
import math
import pickle
from array import array
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import velostream._core.decimal as decimal_mod
from velostream._core.decimal import (
    MAX_DIGITS,
    MAX_SCALE,
    ROUNDING_MODES,
    DecimalDivisionByZero,
    DecimalOverflow,
    ScaledInteger,
    dot_scaled,
)
from velostream.errors import VelostreamError

S = ScaledInteger
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# Exact oracle: any rounding in the reference computation is a bug in the test, so trap it.
EXACT = decimal.Context(
    prec=400,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.Inexact, decimal.Rounded, decimal.InvalidOperation, decimal.Overflow],
)

# For quantize: rounding is the point there, so only invalid operations trap.
ROUNDING = decimal.Context(
    prec=400, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[decimal.InvalidOperation]
)

# Division oracle: a quotient rounded with ROUND_05UP at a precision well above the final one
# can be rounded again (to the result scale) without double-rounding errors: 05UP keeps the
# information "inexact" in the last digit, the decimal analogue of round-to-odd.
STICKY = decimal.Context(
    prec=400, rounding=decimal.ROUND_05UP, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero],
)

DECIMAL_ROUNDING = {
    "half_even": decimal.ROUND_HALF_EVEN,
    "half_up": decimal.ROUND_HALF_UP,
    "half_down": decimal.ROUND_HALF_DOWN,
    "down": decimal.ROUND_DOWN,
    "up": decimal.ROUND_UP,
    "floor": decimal.ROUND_FLOOR,
    "ceiling": decimal.ROUND_CEILING,
}

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


def quantized(value, scale, rounding=decimal.ROUND_HALF_EVEN):
    return value.quantize(Decimal((0, (1,), -scale)), rounding=rounding, context=ROUNDING)


def parts(x):
    return (x.mantissa, x.scale)


def check_result(compute, exact, scale):
    """``compute()`` equals ``exact`` at ``scale``: narrow when the mantissa fits int64, wide
    otherwise; DecimalOverflow only past scale 38 or MAX_DIGITS digits."""
    expected = mantissa_at(exact, scale) if scale <= MAX_SCALE else None
    if expected is None or len(str(abs(expected))) > MAX_DIGITS:
        with pytest.raises(DecimalOverflow):
            compute()
        return
    result = compute()
    assert type(result) is S
    assert parts(result) == (expected, scale)
    assert result.is_wide == (not fits(expected))


mantissas = st.integers(INT64_MIN, INT64_MAX)
narrow_values = st.one_of(
    st.builds(S.from_parts, mantissas, st.integers(0, MAX_SCALE)),
    # Small mantissas and nearby scales, so sums and products mostly stay narrow.
    st.builds(S.from_parts, st.integers(-(10**9), 10**9), st.integers(0, 12)),
    st.builds(S.from_parts, st.integers(-(10**18), 10**18), st.integers(0, 4)),
)
# Mantissas around the int64 boundaries and well past them (wide values).
wide_mantissas = st.one_of(
    st.integers(INT64_MAX - 1000, INT64_MAX + 1000),
    st.integers(INT64_MIN - 1000, INT64_MIN + 1000),
    st.integers(-(10**40), 10**40),
)
wide_values = st.builds(S.from_parts, wide_mantissas, st.integers(0, MAX_SCALE))
values = st.one_of(narrow_values, wide_values)


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
        # Wide: exact beyond int64.
        ("9223372036854775808", 2**63, 0, "9223372036854775808"),
        ("92233720368547758.08", 2**63, 2, "92233720368547758.08"),
        ("1e19", 10**19, 0, "10000000000000000000"),
        ("-0.1000000000000000000000", -(10**21), 22, "-0.1000000000000000000000"),
        ("1" * 30, int("1" * 30), 0, "1" * 30),
    ],
)
def test_from_str_keeps_written_scale(text, mantissa, scale, shown):
    x = S(text)
    assert parts(x) == (mantissa, scale)
    assert x.is_wide == (not fits(mantissa))
    assert str(x) == shown
    assert x == Decimal(text)


def test_repr():
    assert repr(S("12.50")) == "ScaledInteger('12.50')"
    assert repr(S("-0.05")) == "ScaledInteger('-0.05')"
    assert repr(S("-123456789012345678901.5")) == "ScaledInteger('-123456789012345678901.5')"


def test_format_spec():
    assert f"{S('12.50')}" == "12.50"
    assert f"{S('12.555'):.2f}" == "12.56"
    assert f"{S('-0.05'):>8}" == "   -0.05"


def test_from_int_decimal_and_parts():
    assert parts(S(42)) == (42, 0)
    assert parts(S(-7)) == (-7, 0)
    assert parts(S(INT64_MIN)) == (INT64_MIN, 0)
    assert parts(S(INT64_MAX + 1)) == (INT64_MAX + 1, 0)
    assert parts(S(Decimal("1.10"))) == (110, 2)
    assert parts(S(Decimal("1E+2"))) == (100, 0)
    assert parts(S(Decimal("-0.00"))) == (0, 2)
    assert parts(S(Decimal(INT64_MIN - 1))) == (INT64_MIN - 1, 0)
    assert parts(S.from_parts(-5, 2)) == (-5, 2)
    assert parts(S.from_parts(2**63, 0)) == (2**63, 0)
    assert str(S.from_parts(-5, 2)) == "-0.05"
    x = S("3.14")
    assert parts(S(x)) == (314, 2)
    w = S("123456789012345678901.25")
    assert S(w) == w and parts(S(w)) == parts(w)


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
        (INT64_MAX, 1, "9223372036854775807.0"),  # widens
        ("123456789012345678901.235", 2, "123456789012345678901.24"),
    ],
)
def test_scale_argument_rounds_half_even(value, scale, shown):
    x = S(value, scale)
    assert x.scale == scale
    assert str(x) == shown


@pytest.mark.parametrize(
    "text", ["", " ", "abc", "1.2.3", "--1", "+-1", "1e", "1e+", ".", "-", "e5", "NaN",
             "Infinity", "-inf", "1_000", "1,5", "0x10", "\u0661", "1 2",
             "1" * 30 + "x", "\u0661" * 30],
)
def test_invalid_literals_are_value_errors(text):
    with pytest.raises(ValueError):
        S(text)


def test_refuses_other_types_and_non_finite_values():
    for bad in (None, [1], b"1", Fraction(1, 2), 1j):
        with pytest.raises(TypeError):
            S(bad)
    for bad in (Decimal("NaN"), Decimal("-Infinity"), Decimal("sNaN"), math.nan, math.inf,
                -math.inf):
        with pytest.raises(ValueError):
            S(bad)


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
    # A product whose scale would pass 38 is not representable, narrow or wide.
    with pytest.raises(DecimalOverflow):
        S.from_parts(1, 20) * S.from_parts(1, 19)
    with pytest.raises(DecimalOverflow):
        S.from_parts(10**30, 20) * S.from_parts(1, 19)


def test_digit_limit_of_wide_values():
    biggest = S("9" * MAX_DIGITS)
    assert biggest.is_wide and len(str(biggest)) == MAX_DIGITS
    assert S.from_parts(-(10**MAX_DIGITS) + 1, 38).is_wide
    for make in (
        lambda: S("9" * (MAX_DIGITS + 1)),
        lambda: S("1e" + str(MAX_DIGITS)),
        lambda: S("1e999999999"),
        lambda: S(Decimal("1E+999999999")),
        lambda: S(10**MAX_DIGITS),
        lambda: S.from_parts(10**MAX_DIGITS, 5),
        lambda: biggest + 1,
        lambda: biggest * biggest,
        lambda: S("9" * MAX_DIGITS, scale=1),
    ):
        with pytest.raises(DecimalOverflow):
            make()


# --- floats: the shortest-repr rule ----------------------------------------------------------------


@pytest.mark.parametrize(
    "value, shown",
    [
        (0.1, "0.1"),
        (-0.05, "-0.05"),
        (1.5, "1.5"),
        (100.0, "100.0"),
        (-0.0, "0.0"),
        (1e-7, "0.0000001"),
        (1e20, "100000000000000000000"),  # repr "1e+20": exact, wide
        (2.675, "2.675"),  # the binary value is 2.67499999…; repr is what a user wrote
        (123456789.123, "123456789.123"),
    ],
)
def test_float_takes_its_shortest_repr(value, shown):
    x = S(value)
    assert str(x) == shown
    assert x == S(repr(value))


def test_float_rule_examples():
    assert S(0.1) == S("0.1")
    assert S(0.1) != 0.1  # comparison stays exact: the double 0.1 is not one tenth
    assert str(S(2.675, scale=2)) == "2.68"  # half-even on the repr "2.675"
    assert str(S(0.125, scale=2)) == "0.12"
    assert str(S(1e-300, scale=4)) == "0.0000"
    with pytest.raises(ValueError):
        S(1e-300)  # repr needs scale 300
    with pytest.raises(ValueError):
        S(5e-324)


@PROPERTY
@given(st.floats(allow_nan=False, allow_infinity=False), st.none() | st.integers(0, MAX_SCALE))
@example(0.1, None)
@example(1e308, 2)
def test_float_conversion_matches_its_repr(x, scale):
    text = repr(x)
    d = Decimal(text)
    if scale is None:
        if -d.as_tuple().exponent > MAX_SCALE:
            with pytest.raises(ValueError):
                S(x)
            return
        assert parts(S(x)) == parts(S(text))
        assert S(x) == d
    else:
        check_result(lambda: S(x, scale), quantized(d, scale), scale)


# --- int64 boundaries: widening ---------------------------------------------------------------------


def test_decimal_errors_are_velostream_errors():
    assert issubclass(DecimalOverflow, OverflowError)
    assert issubclass(DecimalOverflow, VelostreamError)
    assert issubclass(DecimalDivisionByZero, ZeroDivisionError)
    assert issubclass(DecimalDivisionByZero, VelostreamError)


@pytest.mark.parametrize(
    "compute, expected",
    [
        (lambda: S(INT64_MAX) + 1, "9223372036854775808"),
        (lambda: 1 + S(INT64_MAX), "9223372036854775808"),
        (lambda: S.from_parts(INT64_MAX, 2) + S.from_parts(1, 2), "92233720368547758.08"),
        (lambda: S(INT64_MIN) - 1, "-9223372036854775809"),
        (lambda: S.from_parts(INT64_MIN, 5) - S.from_parts(1, 5), "-92233720368547.75809"),
        (lambda: -S(INT64_MIN), "9223372036854775808"),
        (lambda: abs(S.from_parts(INT64_MIN, 3)), "9223372036854775.808"),
        (lambda: S(INT64_MIN) * -1, "9223372036854775808"),
        (lambda: S(INT64_MAX) * 2, "18446744073709551614"),
        (lambda: S(2**32) * S(2**32), "18446744073709551616"),
        (lambda: S("0.5") * S(INT64_MIN), "-4611686018427387904.0"),
        # Rescaling to the larger scale leaves int64 and nothing cancels it.
        (lambda: S(10**18) + S("0.1"), "1000000000000000000.1"),
        (lambda: S(1) + S.from_parts(1, 20), "1.00000000000000000001"),
        (lambda: S(INT64_MAX) + (2**63), "18446744073709551615"),  # int operand outside int64
        (lambda: S(INT64_MIN) / -1, "9223372036854775808.0000"),
        (lambda: S(10**18) / S("0.001"), "1000000000000000000000.0000000"),
    ],
)
def test_arithmetic_past_int64_widens_exactly(compute, expected):
    result = compute()
    assert result.is_wide
    assert str(result) == expected
    assert result == Decimal(expected)


def test_wide_results_that_fit_again_are_narrow():
    big = S(INT64_MAX) + 1
    assert big.is_wide
    back = big - 1
    assert not back.is_wide and parts(back) == (INT64_MAX, 0)
    assert not (-big).is_wide and parts(-big) == (INT64_MIN, 0)
    assert not (big * 0).is_wide
    assert not (big / big).is_wide and str(big / big) == "1.0000"
    assert not (big % 7).is_wide
    assert not S.from_parts(2**63, 1).rescale(0).is_wide  # 922337203685477580.8 -> ...581
    assert parts(S.from_parts(2**63, 1).rescale(0)) == (922337203685477581, 0)


def test_arithmetic_at_the_boundaries_stays_narrow():
    assert parts(S(INT64_MAX) - 0) == (INT64_MAX, 0)
    assert parts(S(INT64_MIN + 1) - 1) == (INT64_MIN, 0)
    assert parts(-S(INT64_MAX)) == (-INT64_MAX, 0)
    assert parts(S(INT64_MIN) * 1) == (INT64_MIN, 0)
    assert parts(S(-(2**62)) * 2) == (INT64_MIN, 0)
    for x in (S(INT64_MAX) - 0, S(INT64_MIN + 1) - 1, S(-(2**62)) * 2):
        assert not x.is_wide


def test_intermediate_overflow_that_cancels_is_exact():
    # 10**18 at scale 1 is 10**19 (past int64), but the sum is back in range: no false overflow.
    x = S(10**18) + S.from_parts(-9 * 10**18, 1)
    assert parts(x) == (10**18, 1)
    assert not x.is_wide
    # Scales 19 apart: 1 - 0.9 at scale 19.
    y = S(1) + S.from_parts(-9 * 10**18, 19)
    assert parts(y) == (10**18, 19)
    assert y == Decimal("0.1")


def test_mantissa_is_exact_python_int_and_read_only():
    w = S("-123456789012345678901234.5")
    assert w.mantissa == -1234567890123456789012345
    assert type(w.mantissa) is int
    with pytest.raises(AttributeError):
        w.mantissa = 1
    with pytest.raises(AttributeError):
        w.is_wide = False


def test_c_api_additions_are_exported():
    assert "si_box_parts" in decimal_mod.__pyx_capi__


# --- division and remainder -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b, shown",
    [
        ("1", "3", "0.3333"),
        ("2", "3", "0.6667"),
        ("-1", "3", "-0.3333"),
        ("1", "-3", "-0.3333"),
        ("1", "8", "0.1250"),
        ("1", "20000", "0.0000"),  # 0.00005: tie, to even
        ("3", "20000", "0.0002"),  # 0.00015: tie, to even
        ("-3", "20000", "-0.0002"),
        ("-1", "20000", "0.0000"),  # no negative zero
        ("10.00", "4", "2.500000"),
        ("1.5", "0.25", "6.000000"),
        ("100", "0.0001", "1000000.00000000"),
        ("0.05", "-1", "-0.050000"),
        ("1e-36", "3", "0.00000000000000000000000000000000000033"),  # scale capped at 38
    ],
)
def test_division_scale_and_rounding(a, b, shown):
    result = S(a) / S(b)
    assert str(result) == shown


def test_division_with_int_operands_and_rtruediv():
    assert str(S("1.50") / 4) == "0.375000"
    assert str(3 / S("0.7")) == "4.28571"
    assert str(True / S("2")) == "0.5000"
    assert str(S(10) / (2**64)) == "0.0000"


@pytest.mark.parametrize("zero", [S(0), S("0.00"), 0, False])
@pytest.mark.parametrize("dividend", [S("1.5"), S("-0.05"), S(0), S("1" * 30)])
def test_division_by_zero_raises_the_project_error(dividend, zero):
    with pytest.raises(DecimalDivisionByZero):
        _ = dividend / zero
    with pytest.raises(DecimalDivisionByZero):
        _ = dividend % zero
    with pytest.raises(ZeroDivisionError):
        _ = 7 / S("0.000")


@pytest.mark.parametrize(
    "a, b, shown",
    [
        ("7", "3", "1"),
        ("-7", "3", "-1"),  # sign of the dividend (SQL), not Python's floor modulo
        ("7", "-3", "1"),
        ("-7", "-3", "-1"),
        ("5.5", "2", "1.5"),
        ("1", "0.3", "0.1"),
        ("-0.05", "0.02", "-0.01"),
        ("10", "2.5", "0.0"),
        ("0.0001", "7", "0.0001"),
    ],
)
def test_remainder_has_the_sign_of_the_dividend(a, b, shown):
    assert str(S(a) % S(b)) == shown


def test_remainder_with_int_operands():
    assert str(S("7.5") % 2) == "1.5"
    assert str(7 % S("2.5")) == "2.0"
    assert str(-7 % S("2")) == "-1"


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
    assert x * 1 == x
    assert str(x / 1) == text + "0000"
    assert str(x % 1) == text
    assert round(x) == round(Decimal(text))
    assert math.floor(x) == -1
    assert math.ceil(x) == 0


@PROPERTY
@given(st.integers(1, 38).flatmap(lambda s: st.tuples(st.integers(-(10**s) + 1, -1), st.just(s))))
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
@example(S.from_parts(INT64_MIN - 1, 38))
@example(S.from_parts(-(10**40), 38))
def test_text_and_decimal_round_trip(x):
    d = dec(x.mantissa, x.scale)
    assert x.is_wide == (not fits(x.mantissa))
    assert str(x) == format(d, "f")
    assert parts(S(str(x))) == parts(x)
    assert parts(S(d)) == parts(x)
    assert parts(S(str(d))) == parts(x)  # Decimal's own text may be scientific
    assert x.to_decimal() == d
    assert x.to_decimal().as_tuple().exponent == -x.scale
    assert parts(pickle.loads(pickle.dumps(x))) == parts(x)
    assert x.as_integer_ratio() == d.as_integer_ratio()


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
    elif len(digits) + max(exp, 0) > MAX_DIGITS:
        expected = None
    else:
        expected = mantissa_at(d, scale)
    for source in (str(d), d):
        if expected is None:
            with pytest.raises(DecimalOverflow):
                S(source)
        else:
            assert parts(S(source)) == (expected, scale)


@PROPERTY
@given(values, values)
@example(S(10**18), S.from_parts(-9 * 10**18, 1))
@example(S(INT64_MAX), S.from_parts(1, 0))
@example(S(INT64_MIN), S.from_parts(1, 0))
@example(S(INT64_MAX + 1), S.from_parts(-1, 0))
@example(S.from_parts(INT64_MIN - 1, 3), S.from_parts(-1, 3))
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
@example(S(2**63), S(-1))
def test_mul_matches_decimal(a, b):
    check_result(lambda: a * b, EXACT.multiply(a.to_decimal(), b.to_decimal()), a.scale + b.scale)


def division_oracle(da, db, scale):
    return quantized(STICKY.divide(da, db), scale)


@PROPERTY
@given(values, values)
@example(S(INT64_MIN), S(-1))
@example(S(INT64_MAX), S.from_parts(1, 38))  # numerator 10**76 past 128 bits
@example(S.from_parts(1, 38), S.from_parts(3, 38))
@example(S.from_parts(INT64_MAX, 0), S.from_parts(INT64_MIN, 0))
@example(S.from_parts(1, 0), S.from_parts(20000, 0))
@example(S.from_parts(INT64_MIN, 18), S.from_parts(INT64_MIN + 1, 0))
def test_div_matches_decimal(a, b):
    assume(b != 0)
    scale = min(max(a.scale, b.scale) + 4, MAX_SCALE)
    expected = division_oracle(a.to_decimal(), b.to_decimal(), scale)
    check_result(lambda: a / b, expected, scale)


@PROPERTY
@given(values, values)
@example(S(INT64_MIN), S(-1))
@example(S(INT64_MIN), S.from_parts(INT64_MIN, 38))
@example(S.from_parts(INT64_MAX, 38), S(INT64_MAX))
@example(S.from_parts(-7, 0), S.from_parts(3, 38))
def test_mod_matches_decimal(a, b):
    assume(b != 0)
    # Decimal's remainder also takes the sign of the dividend, at the smaller exponent.
    check_result(lambda: a % b, EXACT.remainder(a.to_decimal(), b.to_decimal()),
                 max(a.scale, b.scale))


@PROPERTY
@given(values, st.integers(INT64_MIN - 10, INT64_MAX + 10) | st.integers(-(10**30), 10**30))
def test_int_operands_behave_as_scale_zero(a, k):
    da, dk = a.to_decimal(), Decimal(k)
    check_result(lambda: a + k, EXACT.add(da, dk), a.scale)
    check_result(lambda: k + a, EXACT.add(dk, da), a.scale)
    check_result(lambda: a - k, EXACT.subtract(da, dk), a.scale)
    check_result(lambda: k - a, EXACT.subtract(dk, da), a.scale)
    check_result(lambda: a * k, EXACT.multiply(da, dk), a.scale)
    check_result(lambda: k * a, EXACT.multiply(dk, da), a.scale)
    scale = min(a.scale + 4, MAX_SCALE)
    if k:
        check_result(lambda: a / k, division_oracle(da, dk, scale), scale)
        check_result(lambda: a % k, EXACT.remainder(da, dk), a.scale)
    if a:
        check_result(lambda: k / a, division_oracle(dk, da, scale), scale)
        check_result(lambda: k % a, EXACT.remainder(dk, da), a.scale)


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
@example(S.from_parts(10**20, 1), S.from_parts(10**19, 0))  # wide == wide, other scale
@example(S.from_parts(10**18, 0), S.from_parts(10**56, 38))  # narrow == wide
@example(S.from_parts(INT64_MAX + 1, 0), S.from_parts(INT64_MAX, 0))
def test_ordering_and_hash_match_decimal(a, b):
    da, db = a.to_decimal(), b.to_decimal()
    assert (a == b) == (da == db)
    assert (a != b) == (da != db)
    assert (a < b) == (da < db)
    assert (a <= b) == (da <= db)
    assert (a > b) == (da > db)
    assert (a >= b) == (da >= db)
    assert hash(a) == hash(da)
    if a == b:
        assert hash(a) == hash(b)


@PROPERTY
@given(values, st.integers(INT64_MIN - 10, INT64_MAX + 10) | st.integers(-(10**45), 10**45))
def test_comparison_with_ints_of_any_size(a, k):
    da = a.to_decimal()
    assert (a == k) == (da == k)
    assert (a < k) == (da < k)
    assert (k < a) == (k < da)
    assert (a >= k) == (da >= k)


def test_narrow_and_wide_equal_values_hash_alike():
    narrow = S.from_parts(10**18, 0)
    wide = S.from_parts(10**56, 38)
    assert not narrow.is_wide and wide.is_wide
    assert narrow == wide
    assert hash(narrow) == hash(wide) == hash(10**18) == hash(Decimal(10**18))
    assert len({narrow, wide, 10**18, Decimal("1E+18")}) == 1
    w = S("12345678901234567890123.5")
    assert hash(w) == hash(Decimal("12345678901234567890123.5")) == hash(Fraction(w.mantissa, 10))
    assert hash(-w) == hash(-Decimal("12345678901234567890123.5"))


@PROPERTY
@given(values, st.integers(0, MAX_SCALE))
def test_hash_agrees_with_decimal_at_any_scale(a, scale):
    assert hash(a) == hash(a.to_decimal())
    if scale >= a.scale:
        wider = S(a, scale)
        assert wider == a
        assert hash(wider) == hash(a)


# --- rounding and CAST --------------------------------------------------------------------------


@PROPERTY
@given(values, st.integers(0, MAX_SCALE))
def test_scale_argument_matches_decimal_quantize(a, scale):
    exact = quantized(a.to_decimal(), scale)
    check_result(lambda: S(a, scale), exact, scale)
    check_result(lambda: S(str(a), scale), exact, scale)


@PROPERTY
@given(values, st.integers(0, MAX_SCALE), st.sampled_from(sorted(ROUNDING_MODES)))
@example(S("2.5"), 0, "half_up")
@example(S("-2.5"), 0, "half_down")
@example(S.from_parts(INT64_MIN, 38), 0, "floor")
@example(S.from_parts(INT64_MAX, 19), 0, "half_up")
@example(S.from_parts(-(10**40) + 1, 20), 0, "ceiling")
def test_rescale_matches_decimal_quantize_in_every_mode(a, scale, mode):
    exact = quantized(a.to_decimal(), scale, DECIMAL_ROUNDING[mode])
    check_result(lambda: a.rescale(scale, mode), exact, scale)
    check_result(lambda: a.rescale(scale, DECIMAL_ROUNDING[mode]), exact, scale)


@pytest.mark.parametrize(
    "value, mode, shown",
    [
        ("2.5", "half_even", "2"),
        ("2.5", "half_up", "3"),
        ("-2.5", "half_up", "-3"),
        ("2.5", "half_down", "2"),
        ("2.9", "down", "2"),
        ("-2.9", "down", "-2"),
        ("2.1", "up", "3"),
        ("-2.1", "floor", "-3"),
        ("-2.9", "ceiling", "-2"),
        ("-0.5", "half_up", "-1"),
        ("-0.4", "ceiling", "0"),
    ],
)
def test_rescale_modes(value, mode, shown):
    assert str(S(value).rescale(0, mode)) == shown


def test_rescale_arguments():
    x = S("1.25")
    assert x.rescale(2) is x
    assert str(x.rescale(4)) == "1.2500"
    with pytest.raises(ValueError):
        x.rescale(39)
    with pytest.raises(ValueError):
        x.rescale(-1)
    with pytest.raises(ValueError):
        x.rescale(1, "banker")
    with pytest.raises(TypeError):
        x.rescale(1.0)


@PROPERTY
@given(values, st.none() | st.integers(-45, MAX_SCALE))
@example(S("2.5"), None)
@example(S("-3.5"), None)
@example(S("1250"), -2)
@example(S("1350"), -2)
@example(S("-1250.75"), -3)
def test_round_matches_decimal(a, ndigits):
    d = a.to_decimal()
    if ndigits is None:
        result = round(a)
        assert type(result) is int
        assert result == round(d)
        return
    result = round(a, ndigits)
    # round(Decimal, n) is quantize to 10**-n, half-even; in a context wide enough for it.
    expected = d.quantize(Decimal((0, (1,), -ndigits)), decimal.ROUND_HALF_EVEN, ROUNDING)
    assert result == expected
    assert result.scale == max(ndigits, 0)


def test_round_examples():
    assert round(S("2.5")) == 2
    assert round(S("3.5")) == 4
    assert round(S("-0.05"), 1) == S("-0.0") and str(round(S("-0.05"), 1)) == "0.0"
    assert str(round(S("2.675"), 2)) == "2.68"
    assert str(round(S("1.2"), 3)) == "1.200"
    assert str(round(S("1234.5"), -2)) == "1200"
    with pytest.raises(ValueError):
        round(S("1"), 39)


@PROPERTY
@given(values, st.integers(1, MAX_SCALE).flatmap(lambda p: st.tuples(st.just(p),
                                                                     st.integers(0, p))),
       st.sampled_from(sorted(ROUNDING_MODES)))
@example(S("12345.675"), (7, 2), "half_even")
@example(S("99999.995"), (7, 2), "half_even")  # rounds up to 100000.00: too many digits
@example(S.from_parts(INT64_MAX, 0), (19, 0), "half_even")
@example(S.from_parts(INT64_MAX, 0), (38, 19), "half_even")  # fits DECIMAL(38,19), wide
@example(S.from_parts(-(10**37), 0), (38, 0), "down")
def test_cast_matches_decimal(a, ps, mode):
    precision, scale = ps
    q = quantized(a.to_decimal(), scale, DECIMAL_ROUNDING[mode])
    if abs(q) >= Decimal(10) ** (precision - scale):
        with pytest.raises(DecimalOverflow):
            a.cast(precision, scale, mode)
    else:
        check_result(lambda: a.cast(precision, scale, mode), q, scale)


def test_cast_examples():
    assert str(S("15025.67").cast(18, 4)) == "15025.6700"
    assert str(S("2.675").cast(10, 2)) == "2.68"
    assert str(S("2.665").cast(10, 2)) == "2.66"
    assert str(S("-0.05").cast(3, 1)) == "0.0"
    assert str(S("999.99").cast(5, 2)) == "999.99"
    with pytest.raises(DecimalOverflow):
        S("999.995").cast(5, 2)  # rounds to 1000.00
    with pytest.raises(DecimalOverflow):
        S("123456").cast(5, 0)
    with pytest.raises(DecimalOverflow):
        S(INT64_MAX).cast(18, 0)
    for bad in ((0, 0), (39, 2), (5, 6), (5, -1)):
        with pytest.raises(ValueError):
            S("1").cast(*bad)


# --- other conversions ---------------------------------------------------------------------------


@PROPERTY
@given(values)
def test_float_int_bool_floor_ceil_match_decimal(a):
    d = a.to_decimal()
    assert float(a) == float(d)
    assert int(a) == int(d)
    assert math.trunc(a) == math.trunc(d)
    assert math.floor(a) == math.floor(d)
    assert math.ceil(a) == math.ceil(d)
    assert bool(a) == bool(d)


def test_conversions():
    assert int(S("-7.9")) == -7
    assert int(S("7.9")) == 7
    assert int(S.from_parts(INT64_MIN, 0)) == INT64_MIN
    assert int(S.from_parts(INT64_MIN, 19)) == 0
    assert int(S("-123456789012345678901.9")) == -123456789012345678901
    assert float(S("-0.05")) == -0.05
    assert float(S.from_parts(INT64_MAX, 30)) == float(Decimal(INT64_MAX).scaleb(-30))
    assert float(S("1" * 40)) == float("1" * 40)
    assert S("1.25").to_decimal() == Decimal("1.25")
    assert str(S("1.20").to_decimal()) == "1.20"
    assert S("1.25").as_integer_ratio() == (5, 4)
    assert S("-0.50").as_integer_ratio() == (-1, 2)
    assert S("0.000").as_integer_ratio() == (0, 1)
    assert not S("0.00")
    assert S("0.01")
    assert S("1" * 30)


# --- equality, hashing and ordering with other numbers ---------------------------------------------


def test_equal_across_scales():
    assert S("12.5") == S("12.50") == S("12.500000")
    assert S("0") == S("0.000")
    assert S("-0.05") != S("-0.5")
    assert sorted([S("1.10"), S("-0.05"), S("1.1"), S("0.999"), S("-1"), S("1" * 20)]) == [
        S("-1"), S("-0.05"), S("0.999"), S("1.10"), S("1.1"), S("1" * 20)]


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
    assert S(2**70) == 2**70 and S(2**70) > 2**70 - 1
    assert S("1" * 30) == Decimal("1" * 30)
    assert x != "12.50"
    with pytest.raises(TypeError):
        _ = x < "13"


def test_no_mixing_with_inexact_or_foreign_operands():
    for x in (S("1.5"), S("1" * 30)):
        for other in (1.5, Decimal("1.5"), "1.5", None):
            for op in ("+", "-", "*", "/", "%"):
                with pytest.raises(TypeError):
                    eval(f"x {op} other")
                with pytest.raises(TypeError):
                    eval(f"other {op} x")


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


def test_immutable_and_copyable():
    for x, p in ((S("1.25"), (125, 2)), (S("-" + "1" * 25 + ".5"), (-int("1" * 25 + "5"), 1))):
        with pytest.raises(AttributeError):
            x.scale = 3
        assert copy.copy(x) == x
        assert copy.deepcopy(x) == x
        assert parts(pickle.loads(pickle.dumps(x, protocol=2))) == p


# --- dot_scaled: the typed batch kernel --------------------------------------------------------------


def test_dot_scaled_examples():
    prices = array("q", [1999, 250, -5])  # 19.99, 2.50, -0.05
    quantities = array("q", [3, 4, 7])
    total = dot_scaled(prices, 2, quantities, 0)
    assert type(total) is S
    assert parts(total) == (1999 * 3 + 250 * 4 - 35, 2)
    assert parts(dot_scaled(array("q"), 4, array("q"), 2)) == (0, 6)
    # Sums past int64 come back wide, past int128 through the Python fallback; both exact.
    big = array("q", [INT64_MIN] * 3)
    assert parts(dot_scaled(big, 0, big, 0)) == (3 * 2**126, 0)
    mixed = array("q", [INT64_MAX, INT64_MIN, INT64_MAX])
    back_in_range = dot_scaled(mixed, 1, array("q", [2, 1, -1]), 1)
    assert parts(back_in_range) == (INT64_MAX + INT64_MIN, 2)
    assert not back_in_range.is_wide
    with pytest.raises(ValueError):
        dot_scaled(prices, 2, array("q", [1]), 0)
    with pytest.raises(DecimalOverflow):
        dot_scaled(prices, 20, quantities, 19)
    with pytest.raises(ValueError):
        dot_scaled(prices, -1, quantities, 0)


@PROPERTY
@given(st.lists(st.tuples(mantissas, mantissas), max_size=40), st.integers(0, 19),
       st.integers(0, 19))
def test_dot_scaled_is_exact(pairs, s1, s2):
    a = array("q", [p for p, _ in pairs])
    b = array("q", [q for _, q in pairs])
    expected = sum(p * q for p, q in pairs)
    result = dot_scaled(a, s1, b, s2)
    assert parts(result) == (expected, s1 + s2)
    assert result.is_wide == (not fits(expected))
    assert result == sum((S.from_parts(p, s1) * S.from_parts(q, s2) for p, q in pairs),
                         S.from_parts(0, s1 + s2))


@pytest.mark.parametrize("text", ["8E29044444400000000000004", "-1e999999999999999999999"])
def test_exponent_past_decimals_own_range_is_a_velostream_error(text):
    # Found by tests/fuzz (crashes/scaled/exponent-past-decimal-emax): decimal.InvalidOperation
    # leaked, and CAST printed "[<class 'decimal.InvalidOperation'>]".
    with pytest.raises(DecimalOverflow, match="out of DECIMAL range"):
        ScaledInteger(text)
