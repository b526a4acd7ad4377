"""Order-preserving key encoding: byte order of encode_key is the value order (Python oracle)."""

import datetime as dt
import math
from decimal import Decimal

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from velostream._core.decimal import ScaledInteger
from velostream._core.keycodec import (
    decode_key,
    encode_int64,
    encode_key,
    encode_timestamp,
    encode_value,
)

UTC = dt.UTC
INT64 = st.integers(-(2**63), 2**63 - 1)
INTS = st.one_of(INT64, st.integers(-(2**200), 2**200), st.sampled_from([-(2**63) - 1, 2**63]))
FLOATS = st.floats(allow_nan=True, allow_infinity=True)
NARROW_DEC = st.builds(lambda m, s: ScaledInteger.from_parts(m, s), INT64, st.integers(0, 18))
WIDE_DEC = st.builds(lambda m, s: ScaledInteger.from_parts(m, s),
                     st.integers(-(10**60), 10**60), st.integers(0, 38))
DECIMALS = st.one_of(NARROW_DEC, WIDE_DEC, st.decimals(allow_nan=False, allow_infinity=False,
                                                        places=None).filter(
    lambda d: abs(d.adjusted()) < 200 and _scale(d) <= 38))
STRINGS = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF,
                                         exclude_categories=["Cs"]), max_size=6)
BYTES = st.binary(max_size=6)
TIMESTAMPS = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                          timezones=st.just(UTC)).map(lambda d: d.replace(
                              microsecond=d.microsecond // 1000 * 1000))
def _scale(d):
    """Digits after the point once trailing zeros are dropped (normalize() would round)."""
    _, digits, exp = d.as_tuple()
    text = "".join(map(str, digits)).rstrip("0")
    return -(exp + len(digits) - len(text)) if text else 0


KINDS = {"int": INTS, "float": FLOATS, "decimal": DECIMALS, "string": STRINGS, "bytes": BYTES,
         "bool": st.booleans(), "timestamp": TIMESTAMPS}


def oracle(kind, v):
    """What a value sorts by: NULL first, then the kind's own order."""
    if v is None:
        return (0,)
    if kind == "float":
        return (1, 1, 0) if math.isnan(v) else (1, 0, v)
    if kind == "decimal":
        return (1, Decimal(str(v)) if isinstance(v, ScaledInteger) else v)
    if kind == "string":
        return (1, v.encode("utf-8"))
    return (1, v)


def schema_and_pairs():
    return st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=3).flatmap(
        lambda kinds: st.tuples(st.just(kinds), *(_pair(k) for k in kinds)))


def _pair(kind):
    value = st.none() | KINDS[kind]
    return st.tuples(value, value)


@settings(max_examples=300, deadline=None)
@given(schema_and_pairs())
def test_byte_order_is_value_order(case):
    kinds, *pairs = case
    a = tuple(p[0] for p in pairs)
    b = tuple(p[1] for p in pairs)
    ka, kb = encode_key(a), encode_key(b)
    oa = tuple(oracle(k, v) for k, v in zip(kinds, a, strict=True))
    ob = tuple(oracle(k, v) for k, v in zip(kinds, b, strict=True))
    assert (ka < kb) == (oa < ob)
    assert (ka == kb) == (oa == ob)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), *KINDS.values()), max_size=4))
def test_decode_gives_the_values_back(values):
    got = decode_key(encode_key(values))
    assert len(got) == len(values)
    for v, g in zip(values, got, strict=True):
        if isinstance(v, float) and math.isnan(v):
            assert math.isnan(g)
        elif isinstance(v, (ScaledInteger, Decimal)):
            assert isinstance(g, ScaledInteger) and g == v
        else:
            assert g == v and type(g) is type(v)


@given(st.lists(st.one_of(st.none(), INTS, STRINGS, BYTES, TIMESTAMPS), min_size=1, max_size=4),
       st.binary(max_size=3))
def test_a_partial_tuple_is_a_prefix_of_every_extension(values, prefix):
    full = encode_key(values, prefix)
    for k in range(len(values) + 1):
        part = encode_key(values[:k], prefix)
        assert full.startswith(part)
        assert decode_key(part, len(prefix)) == decode_key(full, len(prefix))[:k]


def test_equal_decimals_at_different_scales_encode_alike():
    assert encode_value(ScaledInteger("12.5")) == encode_value(ScaledInteger("12.500")) \
        == encode_value(Decimal("12.50")) == encode_value(Decimal("1.25E+1"))
    assert encode_value(ScaledInteger("0.00")) == encode_value(Decimal("-0"))
    wide = ScaledInteger.from_parts(10**40 + 1, 2)
    assert wide.is_wide and decode_key(encode_value(wide)) == (wide,)
    assert encode_value(wide) > encode_value(ScaledInteger.from_parts(10**40, 2))


def test_fixed_points_of_the_layout():
    assert encode_key([None]) < encode_key([False]) < encode_key([True]) < encode_key([0])
    assert encode_int64(-1) < encode_int64(0) < encode_int64(1)
    assert encode_int64(5) == encode_key([5]) == bytes([0x11]) + (5 ^ (1 << 63)).to_bytes(8, "big")
    assert encode_key([-0.0]) == encode_key([0.0])
    assert encode_key([float("inf")]) < encode_key([float("nan")])
    ms = 1_700_000_000_123
    when = dt.datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    assert encode_timestamp(ms) == encode_key([when]) == encode_key([when.replace(tzinfo=None)])
    assert encode_key(["a"]) < encode_key(["a\x00"]) < encode_key(["ab"])
    assert encode_key(["a", "z"]) < encode_key(["ab", ""])     # fields compose
    assert encode_key([1], b"op\x00") == b"op\x00" + encode_key([1])


def test_bad_input_is_refused_clearly():
    with pytest.raises(TypeError, match="a state key cannot hold a list value"):
        encode_key([[1]])
    with pytest.raises(ValueError, match="finite"):
        encode_key([Decimal("NaN")])
    with pytest.raises(ValueError, match="at most 38 digits after the point"):
        encode_key([Decimal("1E-39")])
    assert decode_key(encode_key([Decimal("1.000E-38")])) == (ScaledInteger.from_parts(1, 38),)
    with pytest.raises(ValueError, match="not a state key"):
        decode_key(b"\x99")
    with pytest.raises(ValueError, match="truncated"):
        decode_key(encode_int64(7)[:-1])
    with pytest.raises(ValueError, match="not terminated"):
        decode_key(encode_key(["abc"])[:-1])
