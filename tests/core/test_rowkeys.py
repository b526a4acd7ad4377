"""rowkeys: row keys (DISTINCT / GROUP BY equality), sort indices (ORDER BY), the bounded
DistinctFilter and concat_batches, against pure-Python references and DuckDB as the oracle."""

import datetime as dt
import functools
import math
from collections import OrderedDict
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from velostream._core import batch as B
from velostream._core.batch import RecordBatch
from velostream._core.decimal import ScaledInteger as S
from velostream._core.rowkeys import (
    DistinctFilter,
    concat_batches,
    concat_columns,
    row_keys,
    sort_indices,
    value_key,
)

PROPERTY = settings(max_examples=60, deadline=None)
UTC = dt.UTC


# --------------------------------------------------------------------------- references

def ref_value(v):
    """The SQL value DISTINCT compares (module docstring of rowkeys), independently derived."""
    if v is None:
        return ("null",)
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, int):
        return ("num", Fraction(v))
    if isinstance(v, float):
        if math.isnan(v):
            return ("nan",)
        if math.isinf(v):
            return ("num", v)
        return ("num", Fraction(v) if v == int(v) else Fraction(Decimal(repr(v))))
    if isinstance(v, S):
        return ("num", Fraction(v.mantissa, 10 ** v.scale))
    if isinstance(v, Decimal):
        return ref_value(float(v)) if not v.is_finite() else ("num", Fraction(v))
    if isinstance(v, str):
        return ("str", v)
    if isinstance(v, dt.datetime):
        return ("ts", (v - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(milliseconds=1))
    if isinstance(v, list):
        return ("list", tuple(ref_value(x) for x in v))
    if isinstance(v, dict):
        return ("map", frozenset((ref_value(k), ref_value(x)) for k, x in v.items()))
    raise TypeError(v)


def assert_keys_match_reference(columns):
    keys = row_keys(columns)
    rows = list(zip(*(c.to_pylist() for c in columns)))
    ref = [tuple(ref_value(v) for v in row) for row in rows]
    assert len(keys) == len(rows)
    assert all(type(k) is bytes for k in keys)
    for i in range(len(rows)):
        for j in range(len(rows)):
            assert (keys[i] == keys[j]) == (ref[i] == ref[j]), (rows[i], rows[j])
    return keys


def ref_distinct(keys, max_keys):
    """The pipeline's algorithm before rowkeys (OrderedDict move_to_end / popitem(last=False))."""
    seen, kept, evictions = OrderedDict(), [], 0
    for i, key in enumerate(keys):
        if key in seen:
            seen.move_to_end(key)
            continue
        seen[key] = None
        kept.append(i)
        if max_keys and len(seen) > max_keys:
            seen.popitem(last=False)
            evictions += 1
    return kept, evictions, list(seen)


def ref_sort(columns, descending, nulls_first):
    """A stable sort by a Python comparator: NULLS LAST unless first, NaN above +inf."""
    values = [c.to_pylist() for c in columns]

    def order(v):
        if isinstance(v, float) and math.isnan(v):
            return (1, 0)
        return (0, Fraction(v.mantissa, 10 ** v.scale) if isinstance(v, S) else v)

    def cmp(a, b):
        for k, col in enumerate(values):
            x, y = col[a], col[b]
            if x is None or y is None:
                if x is None and y is None:
                    continue
                c = -1 if y is None else 1
                return -c if nulls_first[k] else c
            x, y = order(x), order(y)
            c = (x > y) - (x < y)
            if c:
                return -c if descending[k] else c
        return 0
    return sorted(range(len(values[0])), key=functools.cmp_to_key(cmp))


# --------------------------------------------------------------------------- strategies

def nullable(s):
    return st.one_of(st.none(), s)


ints = st.one_of(st.integers(-5, 5), st.integers(-(2 ** 63), 2 ** 63 - 1))
small_decimals = st.builds(lambda m, s: S.from_parts(m, s), st.integers(-2000, 2000), st.integers(0, 4))
wide_decimals = st.builds(lambda m, s: S.from_parts(m, s),
                          st.integers(-(10 ** 30), 10 ** 30), st.integers(0, 6))
huge_decimals = st.builds(lambda m, s: S.from_parts(m, s),
                          st.integers(-(10 ** 45), 10 ** 45), st.integers(0, 3))
floats = st.one_of(st.sampled_from([0.0, -0.0, 1.0, 0.1, 0.5, 2.5, 1e20, 1e300, 5e-324, math.nan,
                                    math.inf, -math.inf, 2.0 ** 63, -(2.0 ** 63), 2.0 ** 127]),
                   st.floats(allow_nan=True, allow_infinity=True),
                   st.integers(-100, 100).map(lambda i: i / 4))
texts = st.one_of(st.sampled_from(["", "a", "ab", "b", "é", "€", "😀", "\uffff", "Z", "a\x00"]),
                  st.text(max_size=6))
stamps = st.integers(-10 ** 12, 10 ** 13).map(
    lambda ms: dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=ms))

COLUMN_KINDS = {
    "bigint": (ints, B.int64_column),
    "double": (floats, B.float64_column),
    "decimal": (st.one_of(small_decimals, st.integers(-3, 3)), B.decimal_column),
    "decimal128": (st.one_of(small_decimals, wide_decimals), B.decimal_column),
    "decimal_objects": (st.one_of(small_decimals, huge_decimals), B.decimal_column),
    "bool": (st.booleans(), B.bool_column),
    "string": (texts, B.string_column),
    "timestamp": (stamps, lambda v: B.int64_column(v, timestamp=True)),
    # Long common prefixes: the radix sort orders by 8 bytes, then the comparator.
    "long_string": (st.builds(lambda a, b: a + b, st.sampled_from(["", "abcdefgh", "abcdefg",
                                                                   "abcdefghij", "ab"]),
                              st.sampled_from(["", "\x00", "a", "b", "é", "ab"])),
                    B.string_column),
}


@st.composite
def typed_column(draw, kind, n):
    values, build = COLUMN_KINDS[kind]
    return build(draw(st.lists(nullable(values), min_size=n, max_size=n)))


# --------------------------------------------------------------------------- row keys

@pytest.mark.parametrize("kind", sorted(COLUMN_KINDS))
@PROPERTY
@given(data=st.data())
def test_row_keys_equal_exactly_when_values_are_equal(kind, data):
    n = data.draw(st.integers(0, 12))
    column = data.draw(typed_column(kind, n))
    assert_keys_match_reference([column])
    # A typed column's field is the field of its Python value (the OBJECT path agrees).
    assert row_keys([column]) == [value_key(v) for v in column.to_pylist()]


@PROPERTY
@given(data=st.data())
def test_multi_column_keys_do_not_collide_by_concatenation(data):
    n = data.draw(st.integers(1, 10))
    kinds = data.draw(st.lists(st.sampled_from(sorted(COLUMN_KINDS)), min_size=2, max_size=3))
    assert_keys_match_reference([data.draw(typed_column(k, n)) for k in kinds])


def test_string_boundaries_are_part_of_the_key():
    a = B.string_column(["a", "ab", "", None])
    b = B.string_column(["bc", "c", "abc", "abc"])
    keys = row_keys([a, b])
    assert len(set(keys)) == 4
    assert row_keys([B.string_column(["ab"]), B.null_column(1)]) != row_keys(
        [B.string_column(["a"]), B.string_column(["b"])])


@PROPERTY
@given(st.lists(nullable(st.one_of(ints, floats, small_decimals, wide_decimals, huge_decimals,
                                   texts, st.booleans(), stamps,
                                   st.lists(st.one_of(st.integers(-3, 3), texts), max_size=3),
                                   st.dictionaries(texts, st.integers(-2, 2), max_size=3))),
                max_size=12))
def test_object_columns_key_python_values_by_sql_value(values):
    assert_keys_match_reference([B.object_column(values)])


def test_numbers_are_equal_across_bigint_decimal_and_double_columns():
    # A column may be BIGINT in one batch and DECIMAL or DOUBLE in the next (schema-on-read).
    bigint = B.int64_column([1, 0, -7, None, 2 ** 62])
    decimal = B.decimal_column([S("1.00"), S("0.000"), S("-7.0"), None, 2 ** 62])
    double = B.float64_column([1.0, -0.0, -7.0, None, 2.0 ** 62])
    objects = B.object_column([Decimal("1.0"), 0, S("-7"), None, 2 ** 62])
    assert row_keys([bigint]) == row_keys([decimal]) == row_keys([double]) == row_keys([objects])


def test_decimal_storages_give_the_same_keys_for_the_same_values():
    values = [S("1.5"), S("-2.25"), S("0"), None, S("100")]
    narrow = B.decimal_column(values)
    int128 = B.decimal_column(values + [S("12345678901234567890123.4")])
    objects = B.decimal_column(values + [S(10 ** 40)])
    uniform = B.decimal_column(values, scale=6)
    assert (narrow.storage, int128.storage, objects.storage) == ("int64", "int128", "object")
    assert narrow.row_scales is not None and uniform.row_scales is None
    expected = row_keys([narrow])
    assert row_keys([int128])[:5] == row_keys([objects])[:5] == row_keys([uniform]) == expected


def test_double_keys_follow_the_printed_value_and_special_values():
    keys = dict(zip([0.1, 0.5, -0.0, 0.0, math.nan, -math.nan, math.inf, -math.inf],
                    row_keys([B.float64_column([0.1, 0.5, -0.0, 0.0, math.nan, -math.nan,
                                                math.inf, -math.inf])])))
    assert keys[0.1] == value_key(S("0.10")) == value_key(Decimal("0.1"))
    assert keys[0.5] == value_key(S("0.5"))
    assert keys[-0.0] == keys[0.0] == value_key(0)
    nan_keys = row_keys([B.float64_column([math.nan, -math.nan, float("nan")])])
    assert len(set(nan_keys)) == 1
    assert len({keys[math.inf], keys[-math.inf], nan_keys[0], keys[0.0]}) == 4
    # Past int128: the exact integer of a double still equals that integer as a DECIMAL.
    assert value_key(1e300) == value_key(int(1e300)) == value_key(S(int(1e300)))
    assert value_key(2.0 ** 100) == value_key(2 ** 100)
    assert value_key(5e-324) == value_key(Decimal("5E-324"))


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                 st.integers(-(10 ** 17), 10 ** 17).flatmap(
                     lambda m: st.integers(1, 20).map(lambda s: m / 10 ** s))))
def test_a_double_is_keyed_by_the_decimal_it_prints_as(x):
    # The C fast path (fewest decimals that convert back) must agree with repr's shortest digits.
    printed = Decimal(repr(x))
    assert value_key(x) == (value_key(int(x)) if x == int(x) else value_key(printed))
    assert row_keys([B.float64_column([x])]) == [value_key(x)]


def test_huge_numbers_are_keyed_exactly_without_expanding_them(no_hang):
    # An OBJECT column may hold any Python number: a key must neither expand 10**999999999 nor
    # depend on how the value is written.
    assert value_key(Decimal("1E+999999999")) == value_key(Decimal("10E+999999998"))
    assert value_key(Decimal("1E+999999999")) != value_key(Decimal("1E+999999998"))
    assert value_key(Decimal("0E-1000000")) == value_key(0) == value_key(Decimal("-0.000"))
    assert value_key(Decimal("1E-300")) == value_key(1e-300) != value_key(Decimal("1E-301"))
    big = 10 ** 5000 + 7                       # past Python's 4300-digit int/str limit
    assert value_key(big) == value_key(Decimal((0, tuple(map(int, "1" + "0" * 4999 + "7")), 0)))
    assert value_key(10 ** 5000) == value_key(Decimal("1E+5000"))
    column = B.object_column([Decimal("1E+999999999"), 1, Decimal("-1E+999999999"), 2 ** 64])
    assert list(sort_indices([column])) == [2, 1, 3, 0]


def test_kinds_that_sql_keeps_apart_get_different_keys():
    assert len({value_key(True), value_key(1), value_key("1"), value_key(1.0)}) == 3
    assert value_key(False) != value_key(0)
    ts = B.int64_column([1000], timestamp=True)
    assert row_keys([ts]) != row_keys([B.int64_column([1000])])
    assert row_keys([ts]) == [value_key(dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC))]
    assert value_key([1, 2]) != value_key([2, 1]) and value_key({"a": 1, "b": 2}) == value_key(
        {"b": 2, "a": 1.0})


def test_nulls_group_together_and_can_be_excluded_for_joins():
    cols = [B.int64_column([None, None, 1]), B.string_column(["x", "x", None])]
    keys = row_keys(cols)
    assert keys[0] == keys[1] and keys[0] != keys[2]
    assert row_keys([B.null_column(2)]) == row_keys([B.int64_column([None, None])]) == row_keys(
        [B.object_column([None, None])])
    assert row_keys(cols, nulls_equal=False) == [None, None, None]
    assert row_keys([B.int64_column([1, None])], nulls_equal=False)[1] is None


def test_row_keys_refuses_bad_arguments():
    with pytest.raises(ValueError, match="at least one column"):
        row_keys([])
    with pytest.raises(ValueError, match="different lengths"):
        row_keys([B.int64_column([1]), B.int64_column([1, 2])])
    with pytest.raises(TypeError):
        row_keys([[1, 2]])


# --------------------------------------------------------------------------- sort indices

SORTABLE = ["bigint", "double", "decimal", "decimal128", "decimal_objects", "bool", "string",
            "timestamp"]


@pytest.mark.parametrize("kind", SORTABLE)
@PROPERTY
@given(data=st.data())
def test_sort_indices_match_a_stable_python_sort(kind, data):
    n = data.draw(st.integers(0, 25))
    column = data.draw(typed_column(kind, n))
    desc, first = data.draw(st.booleans()), data.draw(st.booleans())
    got = list(sort_indices([column], [desc], [first]))
    assert got == ref_sort([column], [desc], [first])


@PROPERTY
@given(data=st.data())
def test_multi_key_sort_matches_a_stable_python_sort(data):
    n = data.draw(st.integers(0, 30))
    kinds = data.draw(st.lists(st.sampled_from(SORTABLE), min_size=1, max_size=3))
    columns = [data.draw(typed_column(k, n)) for k in kinds]
    desc = data.draw(st.lists(st.booleans(), min_size=len(kinds), max_size=len(kinds)))
    first = data.draw(st.lists(st.booleans(), min_size=len(kinds), max_size=len(kinds)))
    assert list(sort_indices(columns, desc, first)) == ref_sort(columns, desc, first)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_radix_sort_matches_a_stable_python_sort(data):
    # From 64 rows on, sorts take the radix path: NULL flags, DESC, NaN, -0.0, int128 decimals,
    # strings past their 8-byte prefix and ties must come out as from the comparator.
    n = data.draw(st.integers(64, 300))
    kinds = data.draw(st.lists(st.sampled_from(SORTABLE + ["long_string"]), min_size=1, max_size=3))
    columns = [data.draw(typed_column(k, n)) for k in kinds]
    desc = data.draw(st.lists(st.booleans(), min_size=len(kinds), max_size=len(kinds)))
    first = data.draw(st.lists(st.booleans(), min_size=len(kinds), max_size=len(kinds)))
    assert list(sort_indices(columns, desc, first)) == ref_sort(columns, desc, first)


def test_radix_sort_resolves_long_string_prefix_ties_before_later_keys():
    # Regression: rows tying on the first key's 8-byte prefix were re-sorted only where the
    # second key's words tied too, so a longer first string could come before a shorter one.
    first = B.string_column([["https://example.com/", "https://example.co"][i % 2] for i in range(80)])
    second = B.string_column([["a", "b", "c", "é"][i % 4] for i in range(80)])
    for desc in ([False, True], [True, False], [False, False]):
        assert list(sort_indices([first, second], desc)) == ref_sort([first, second], desc, [False] * 2)


def test_sort_defaults_are_ascending_nulls_last_and_stable():
    column = B.int64_column([3, None, 1, 3, None, 1])
    assert list(sort_indices([column])) == [2, 5, 0, 3, 1, 4]
    assert list(sort_indices([column], [True], [None])) == [0, 3, 2, 5, 1, 4]
    assert list(sort_indices([column], [True], [True])) == [1, 4, 0, 3, 2, 5]
    assert list(sort_indices([B.null_column(3)])) == [0, 1, 2]
    assert list(sort_indices([B.int64_column([])])) == []


def test_sort_of_long_input_is_stable_across_merge_runs():
    # More rows than one insertion-sorted run: ties must keep input order through the merges.
    values = [(i * 7919) % 13 for i in range(1000)]
    got = list(sort_indices([B.int64_column(values)]))
    assert got == sorted(range(1000), key=values.__getitem__)
    got = list(sort_indices([B.int64_column(values)], [True]))
    assert got == sorted(range(1000), key=lambda i: -values[i])
    words = [chr(97 + v) for v in values]       # strings: the merge sort
    assert list(sort_indices([B.string_column(words)])) == sorted(range(1000), key=words.__getitem__)
    assert list(sort_indices([B.string_column(words), B.int64_column(values)], [True, False])) == (
        sorted(range(1000), key=lambda i: -values[i]))


def test_object_columns_sort_by_kind_then_value():
    column = B.object_column(["b", 2, None, True, S("1.5"), 1.25, "a", math.nan, [1, 2], [1],
                              dt.datetime(2024, 1, 1, tzinfo=UTC), {"k": 1}, 0.1, S("0.1")])
    got = [column[i] for i in sort_indices([column])]
    assert got[:7] == [True, 0.1, S("0.1"), 1.25, S("1.5"), 2, got[6]] and math.isnan(got[6])
    assert got[7:] == ["a", "b", dt.datetime(2024, 1, 1, tzinfo=UTC), [1], [1, 2], {"k": 1}, None]


def test_sort_indices_refuses_bad_arguments():
    with pytest.raises(ValueError, match="at least one column"):
        sort_indices([])
    with pytest.raises(ValueError, match="2 sort keys"):
        sort_indices([B.int64_column([1]), B.int64_column([2])], [True], [False, False])
    with pytest.raises(ValueError, match="different lengths"):
        sort_indices([B.int64_column([1]), B.int64_column([1, 2])])


def test_take_of_sort_indices_sorts_a_batch():
    batch = RecordBatch(["k", "v"], [B.string_column(["b", "a", None]), B.int64_column([1, 2, 3])])
    out = batch.take(sort_indices([batch.column("k")]))
    assert out.to_pylist() == [{"k": "a", "v": 2}, {"k": "b", "v": 1}, {"k": None, "v": 3}]


# --------------------------------------------------------------------------- DistinctFilter

@PROPERTY
@given(keys=st.lists(st.integers(0, 8).map(lambda i: b"k%d" % i), max_size=60),
       cuts=st.lists(st.integers(0, 60), max_size=4), max_keys=st.integers(0, 5))
def test_distinct_filter_matches_the_ordered_dict_algorithm(keys, cuts, max_keys):
    expected, evictions, remembered = ref_distinct(keys, max_keys)
    f = DistinctFilter(max_keys or None)
    kept, start = [], 0
    for stop in sorted(set(cuts) | {len(keys)}):       # the same stream in several batches
        kept.extend(start + i for i in f.keep(keys[start:stop]))
        start = max(start, stop)
    assert kept == expected
    assert f.evictions == evictions and f.snapshot() == remembered and len(f) == len(remembered)


def test_distinct_filter_refreshes_repeats_and_restores_a_snapshot():
    f = DistinctFilter(2)
    assert list(f.keep([b"a", b"b", b"a", b"c"])) == [0, 1, 3]     # b evicted, a refreshed
    assert f.evictions == 1 and b"a" in f and b"b" not in f
    g = DistinctFilter(2)
    g.restore(f.snapshot(), f.evictions)
    assert list(g.keep([b"b", b"c"])) == [0] and g.evictions == 2
    with pytest.raises(ValueError, match="max_keys"):
        DistinctFilter(-1)


@PROPERTY
@given(keys=st.lists(st.integers(0, 8).map(lambda i: b"k%d" % i), max_size=80),
       cuts=st.lists(st.integers(0, 80), max_size=6), max_keys=st.integers(0, 5))
def test_distinct_filter_restarted_from_its_changes_keeps_the_same_rows(keys, cuts, max_keys):
    """At every cut (a checkpoint) what ``changes()`` reports, replayed with ``apply`` on a
    filter restored from the previous cut, gives the remembered keys in LRU order; that filter
    (a restart) then goes on as the uninterrupted one would."""
    expected, evictions, remembered = ref_distinct(keys, max_keys)
    f = DistinctFilter(max_keys or None)
    replayed, kept, start = [], [], 0
    for stop in sorted(set(cuts) | {len(keys)}):
        kept.extend(start + i for i in f.keep(keys[start:stop]))
        start = max(start, stop)
        gone, changed = f.changes()
        assert all(key not in f or key in changed for key in gone)
        g = DistinctFilter(max_keys or None)
        g.restore(replayed, f.evictions)
        g.apply(gone, changed)
        assert g.snapshot() == f.snapshot()
        replayed, f = g.snapshot(), g
        assert f.changes() == ([], [])
    assert kept == expected and f.evictions == evictions and f.snapshot() == remembered


def test_distinct_filter_reports_only_what_changed():
    f = DistinctFilter(3)
    f.keep([b"a", b"b", b"c"])
    assert f.changes() == ([], [b"a", b"b", b"c"])
    f.keep([b"a", b"d", b"e", b"a"])           # a refreshed; d, e new; b, c forgotten
    assert f.changes() == ([b"b", b"c"], [b"d", b"e", b"a"])
    f.keep([b"x", b"y", b"z", b"w"])           # x new and forgotten before a checkpoint
    assert f.changes() == ([b"d", b"e", b"a"], [b"y", b"z", b"w"]) and f.evictions == 6


def test_distinct_over_row_keys_of_held_batches_of_changing_types():
    f = DistinctFilter(None)
    first = f.keep(row_keys([B.int64_column([1, 2, None]), B.string_column(["a", "a", None])]))
    second = f.keep(row_keys([B.decimal_column([S("1.0"), S("2.5"), None]),
                              B.string_column(["a", "a", None])]))
    assert list(first) == [0, 1, 2] and list(second) == [1]


# --------------------------------------------------------------------------- concat

def test_concat_widens_bigint_and_decimal_keeping_each_value_scale():
    out = concat_columns([B.int64_column([1, None]), B.decimal_column([S("2.50"), S("0.1")]),
                          B.null_column(1)])
    assert out.type_name == "DECIMAL" and out.scale == 2
    assert [None if v is None else str(v) for v in out.to_pylist()] == ["1", None, "2.50", "0.1", None]
    assert row_keys([out]) == row_keys([B.int64_column([1, None])]) + row_keys(
        [B.decimal_column([S("2.50"), S("0.1")])]) + [b"\x00"]


def test_concat_decimal_storages_int128_and_objects():
    wide = B.decimal_column([S("12345678901234567890.5")])
    out = concat_columns([B.decimal_column([S("1.25")]), wide])
    assert out.storage == "int128" and [str(v) for v in out.to_pylist()] == [
        "1.25", "12345678901234567890.5"]
    huge = B.decimal_column([S(10 ** 40)])
    out = concat_columns([B.int64_column([7]), huge, wide])
    assert out.storage == "object" and out.to_pylist() == [7, S(10 ** 40), S("12345678901234567890.5")]
    # A BIGINT that cannot be brought to the column scale inside 38 digits goes exact too.
    out = concat_columns([B.int64_column([2 ** 62]), B.decimal_column([S("1." + "0" * 30)])])
    assert out.to_pylist() == [2 ** 62, S("1." + "0" * 30)]


@pytest.mark.parametrize("parts, type_name, values", [
    ([B.int64_column([1]), B.float64_column([2.5])], "DOUBLE", [1.0, 2.5]),
    ([B.null_column(1), B.string_column(["é", None, ""]), B.string_column(["x"])], "STRING",
     [None, "é", None, "", "x"]),
    ([B.bool_column([True, None]), B.null_column(1)], "BOOLEAN", [True, None, None]),
    ([B.int64_column([5], timestamp=True), B.null_column(1)], "TIMESTAMP",
     [dt.datetime(1970, 1, 1, 0, 0, 0, 5000, tzinfo=UTC), None]),
    ([B.int64_column([1]), B.string_column(["a"])], "OBJECT", [1, "a"]),
    ([B.decimal_column([S("1.5")]), B.float64_column([2.5])], "OBJECT", [S("1.5"), 2.5]),
    ([B.null_column(2), B.null_column(1)], "NULL", [None, None, None]),
    ([B.int64_column([1, 2])], "BIGINT", [1, 2]),
])
def test_concat_columns_unifies_types_as_the_decoders_do(parts, type_name, values):
    out = concat_columns(parts)
    assert out.type_name == type_name and out.to_pylist() == values


CONCAT_KINDS = ["bigint", "double", "decimal", "decimal128", "decimal_objects", "string", "bool",
                "timestamp", "null", "object"]


@st.composite
def concat_part(draw, kind):
    n = draw(st.integers(0, 6))
    if kind == "null":
        return B.null_column(n)
    if kind == "object":
        return B.object_column(draw(st.lists(nullable(st.one_of(st.integers(-5, 5), texts)),
                                             min_size=n, max_size=n)))
    if kind == "bigint":     # small: BIGINT + DOUBLE widens to DOUBLE, exact below 2**53
        return B.int64_column(draw(st.lists(nullable(st.integers(-10 ** 6, 10 ** 6)),
                                            min_size=n, max_size=n)))
    return draw(typed_column(kind, n))


def shown(v):
    return str(v) if isinstance(v, S) else v


@PROPERTY
@given(st.lists(st.sampled_from(CONCAT_KINDS), min_size=1, max_size=4).flatmap(
    lambda kinds: st.tuples(*[concat_part(k) for k in kinds])))
def test_concat_columns_keeps_every_value_and_its_key(parts):
    out = concat_columns(list(parts))
    values = [v for part in parts for v in part.to_pylist()]
    assert out.length == len(values)
    got = out.to_pylist()
    assert [ref_value(v) for v in got] == [ref_value(v) for v in values]
    if out.type_name == "DECIMAL":          # each value keeps its own scale (DIALECT §3)
        assert [shown(v) for v in got] == [shown(S(v) if isinstance(v, int) else v) for v in values]
    assert row_keys([out]) == [k for part in parts for k in row_keys([part])]


def test_concat_batches_matches_columns_by_name_and_fills_missing_ones():
    a = RecordBatch(["id", "px"], [B.int64_column([1, 2]), B.int64_column([10, 11])],
                    meta={"_line": B.int64_column([1, 2])})
    b = RecordBatch(["PX", "extra"], [B.decimal_column([S("1.5")]), B.string_column(["e"])],
                    meta={"_line": B.int64_column([3])})
    out = concat_batches([a, b])
    assert out.names == ("id", "px", "extra") and out.length == 3
    assert out.schema == [("id", "BIGINT"), ("px", "DECIMAL", 1), ("extra", "STRING")]
    assert out.to_pylist() == [{"id": 1, "px": 10, "extra": None}, {"id": 2, "px": 11, "extra": None},
                               {"id": None, "px": S("1.5"), "extra": "e"}]
    assert out.meta["_line"].to_pylist() == [1, 2, 3]
    assert concat_batches([a]) is a and concat_batches([]).length == 0


# --------------------------------------------------------------------------- DuckDB oracle

DUCK_TYPES = {"bigint": "BIGINT", "double": "DOUBLE", "decimal": "DECIMAL(38, 4)",
              "decimal128": "DECIMAL(38, 6)", "bool": "BOOLEAN", "string": "VARCHAR",
              "timestamp": "BIGINT"}
EDGE = {
    "bigint": [0, -1, 1, 2 ** 63 - 1, -(2 ** 63), 5, 5, None, None],
    "double": [0.0, -0.0, 0.1, 1.0, -1.5, math.nan, -math.nan, math.inf, -math.inf, None, 1e300,
               5e-324, 0.1],
    "decimal": [S("1.0"), S("1.00"), 1, S("-0.0001"), S("0"), None, S("2.5"), S("2.50"), -3],
    "decimal128": [S("12345678901234567890.123456"), S("1.5"), S("1.500000"), None,
                   S("-12345678901234567890.1"), S("0.000001"), S("-0.000001")],
    "bool": [True, False, None, True, False],
    "string": ["", "a", "ab", "b", "é", "€", "😀", "\uffff", "Z", None, "a", "e\u0301",
               "https://example.com/a", "https://example.com/b", "https://example.com/",
               "https://example.co", "abcdefgh", "abcdefgh\x00", "abcdefg"],
    "timestamp": [dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(1969, 12, 31, tzinfo=UTC), None,
                  dt.datetime(2024, 1, 1, tzinfo=UTC)],
}


@pytest.fixture(scope="module")
def duck():
    duckdb = pytest.importorskip("duckdb")
    return duckdb.connect()


def to_duck(kind, v):
    if v is None:
        return None
    if kind == "timestamp":
        return (v - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(milliseconds=1)
    if isinstance(v, S):
        return v.to_decimal()
    return v


def duck_table(duck, kinds, columns):
    cols = ", ".join(f"c{j} {DUCK_TYPES[k]}" for j, k in enumerate(kinds))
    duck.execute("DROP TABLE IF EXISTS t")
    duck.execute(f"CREATE TABLE t (idx BIGINT, {cols})")
    rows = [[i] + [to_duck(k, c.to_pylist()[i]) for k, c in zip(kinds, columns)]
            for i in range(len(columns[0]))]
    if rows:
        duck.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(rows[0]))})", rows)


def column_of(kind, values):
    return COLUMN_KINDS[kind][1](values)


def random_values(kind, seed, n=40):
    import random
    rnd = random.Random(seed)
    pool = EDGE[kind]
    return [rnd.choice(pool) for _ in range(n)]


@pytest.mark.parametrize("kind", sorted(DUCK_TYPES))
@pytest.mark.parametrize("desc", [False, True])
@pytest.mark.parametrize("nulls", [None, "FIRST", "LAST"])
def test_order_by_matches_duckdb(duck, kind, desc, nulls):
    for values in (EDGE[kind], random_values(kind, 1, 300)):      # 300 rows: the radix path
        column = column_of(kind, values)
        duck_table(duck, [kind], [column])
        order = "DESC" if desc else "ASC"
        nulls_sql = f" NULLS {nulls}" if nulls else ""
        want = [r[0] for r in duck.execute(f"SELECT idx FROM t ORDER BY c0 {order}{nulls_sql}, idx").fetchall()]
        assert list(sort_indices([column], [desc], [nulls == "FIRST"])) == want


@pytest.mark.parametrize("kind", sorted(DUCK_TYPES))
def test_distinct_matches_duckdb(duck, kind):
    for values in (EDGE[kind], random_values(kind, 2)):
        column = column_of(kind, values)
        duck_table(duck, [kind], [column])
        want = [r[0] for r in duck.execute("SELECT min(idx) FROM t GROUP BY c0 ORDER BY 1").fetchall()]
        assert list(DistinctFilter(None).keep(row_keys([column]))) == want


@pytest.mark.parametrize("kinds", [("bigint", "string"), ("decimal", "bool", "double"),
                                   ("string", "string"), ("timestamp", "decimal128")])
def test_multi_column_distinct_and_order_by_match_duckdb(duck, kinds):
    columns = [column_of(k, random_values(k, 3 + j, 200)) for j, k in enumerate(kinds)]
    duck_table(duck, list(kinds), columns)
    names = ", ".join(f"c{j}" for j in range(len(kinds)))
    want = [r[0] for r in duck.execute(f"SELECT min(idx) FROM t GROUP BY {names} ORDER BY 1").fetchall()]
    assert list(DistinctFilter(None).keep(row_keys(columns))) == want
    desc = [j % 2 == 1 for j in range(len(kinds))]
    order = ", ".join(f"c{j} {'DESC' if d else 'ASC'}" for j, d in enumerate(desc))
    want = [r[0] for r in duck.execute(f"SELECT idx FROM t ORDER BY {order}, idx").fetchall()]
    assert list(sort_indices(columns, desc, [False] * len(kinds))) == want


def test_distinct_across_numeric_types_matches_duckdb_union(duck):
    # BIGINT in one batch, DECIMAL in the next, DOUBLE in a third: DuckDB unifies the UNION to
    # DOUBLE; the keys agree on values a DOUBLE holds exactly or prints as.
    parts = [B.int64_column([1, 2, None, 0]), B.decimal_column([S("1.00"), S("0.1"), S("2.5"), None]),
             B.float64_column([0.1, 2.5, -0.0, 3.0])]
    want = [r[0] for r in duck.execute(
        "SELECT min(i) FROM (SELECT * FROM (VALUES (0, 1::BIGINT), (1, 2), (2, NULL), (3, 0)) a(i, x)"
        " UNION ALL SELECT * FROM (VALUES (4, 1.00::DECIMAL(9,2)), (5, 0.1), (6, 2.5), (7, NULL)) b(i, x)"
        " UNION ALL SELECT * FROM (VALUES (8, 0.1::DOUBLE), (9, 2.5), (10, -0.0), (11, 3.0)) c(i, x))"
        " GROUP BY x ORDER BY 1").fetchall()]
    f = DistinctFilter(None)
    got, start = [], 0
    for part in parts:
        got.extend(start + i for i in f.keep(row_keys([part])))
        start += part.length
    assert got == want
