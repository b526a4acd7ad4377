"""The state value encoding: exact round trips of everything an accumulator or a row holds."""

import datetime as dt
import math

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from velostream._core.decimal import ScaledInteger
from velostream._core.valuecodec import VALUE_CODEC_VERSION, decode_values, encode_values

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.integers(-(2**300), 2**300),
    st.floats(allow_nan=True), st.text(max_size=8), st.binary(max_size=8),
    st.builds(ScaledInteger.from_parts, st.integers(-(10**50), 10**50), st.integers(0, 38)),
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                 timezones=st.just(dt.UTC)).map(lambda d: d.replace(microsecond=d.microsecond
                                                                     // 1000 * 1000)))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(st.text(max_size=3), inner, max_size=3)), max_leaves=8)


def same(a, b):
    if isinstance(a, float):
        return type(b) is float and (math.isnan(a) and math.isnan(b) or
                                     a.hex() == b.hex())           # the bits, -0.0 too
    if isinstance(a, ScaledInteger):
        return type(b) is ScaledInteger and a == b and a.scale == b.scale
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=200, deadline=None)
@given(st.lists(VALUES, max_size=5))
def test_round_trip_is_exact(values):
    got = decode_values(encode_values(values))
    assert same(tuple(values), got)


def test_it_is_compact_for_accumulator_states():
    assert len(encode_values((1,))) == 3                       # version, tag, varint
    assert len(encode_values((100, 2.5, ScaledInteger("1234.56")))) == 1 + 3 + 9 + 5
    assert encode_values(()) == bytes([VALUE_CODEC_VERSION])


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="a state value cannot hold a set"):
        encode_values([{1}])
    with pytest.raises(ValueError, match="codec version"):
        decode_values(b"\x09\x00")
    with pytest.raises(ValueError, match="truncated"):
        decode_values(encode_values(["hello"])[:-1])
    with pytest.raises(ValueError, match="malformed"):
        decode_values(bytes([VALUE_CODEC_VERSION, 200]))
    with pytest.raises(ValueError, match="DECIMAL scale 39"):
        decode_values(bytes([VALUE_CODEC_VERSION, 6, 39, 0]))
