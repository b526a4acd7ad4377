"""The aggregate kernel (velostream._core.aggregate): group ids and every accumulator, checked
against a pure-Python reference kept here (decimal.Decimal, fractions, statistics) on hypothesis
data, and against DuckDB on generated data."""

import datetime as dt
import decimal
import math
import statistics
from array import array
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from velostream._core.aggregate import (
    TAG_BOOL,
    TAG_DECIMAL,
    TAG_FLOAT64,
    TAG_INT64,
    TAG_STRING,
    TAG_TIMESTAMP,
    Accumulator,
    AggregateOverflow,
    GroupTable,
)
from velostream._core.batch import (
    bool_column,
    decimal_column,
    float64_column,
    int64_column,
    null_column,
    string_column,
)
from velostream._core.decimal import ScaledInteger

EXACT = decimal.Context(prec=200, rounding=decimal.ROUND_HALF_EVEN)
SETTINGS = settings(max_examples=10, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def ids(values):
    return array("q", values)


def column(tag, values):
    """A column of ``tag`` from Python values (None = NULL)."""
    if all(v is None for v in values):
        return null_column(len(values))
    if tag == TAG_INT64:
        return int64_column(values)
    if tag == TAG_TIMESTAMP:
        return int64_column(values, timestamp=True)
    if tag == TAG_FLOAT64:
        return float64_column(values)
    if tag == TAG_DECIMAL:
        return decimal_column(values)
    if tag == TAG_STRING:
        return string_column(values)
    if tag == TAG_BOOL:
        return bool_column(values)
    raise AssertionError(tag)


def dec(v):
    """ScaledInteger / Decimal / int as a Decimal with its scale."""
    return v.to_decimal() if isinstance(v, ScaledInteger) else Decimal(v)


# --------------------------------------------------------------------------- reference

def ref_aggregate(fn, values, options=None):
    """The aggregate of the Python values of one group (None skipped), as DIALECT §5 says."""
    if fn == "count_star":
        return len(values)
    present = [v for v in values if v is not None]
    if fn == "count":
        return len(present)
    if fn in ("count_distinct", "approx_count_distinct"):
        return len({Fraction(v.mantissa, 10 ** v.scale) if isinstance(v, ScaledInteger) else v
                    for v in present})
    if not present:
        return None
    if fn == "sum":
        if isinstance(present[0], ScaledInteger):
            return ScaledInteger.from_parts(*_dec_total(present))
        return sum(present) if not isinstance(present[0], float) else _float_sum(present)
    if fn == "avg":
        if isinstance(present[0], ScaledInteger):
            m, scale = _dec_total(present)
            out = min(scale + 4, 38)
            # round() of a Fraction rounds half to even
            return ScaledInteger.from_parts(
                round(Fraction(m, 10 ** scale) / len(present) * 10 ** out), out)
        if isinstance(present[0], float):
            return _float_sum(present) / len(present)
        return sum(present) / len(present)
    if fn in ("min", "max"):
        pick = min if fn == "min" else max
        if isinstance(present[0], float) and any(math.isnan(v) for v in present):
            return math.nan if fn == "max" else pick(v for v in present if not math.isnan(v)) \
                if any(not math.isnan(v) for v in present) else math.nan
        best = present[0]
        for v in present[1:]:    # the first of equal values wins (its scale is kept)
            if (v < best) if fn == "min" else (v > best):
                best = v
        return best
    if fn in ("var_samp", "var_pop", "stddev_samp", "stddev_pop"):
        exact = [Fraction(v.mantissa, 10 ** v.scale) if isinstance(v, ScaledInteger)
                 else Fraction(v) for v in present]
        if fn.endswith("samp") and len(exact) < 2:
            return None
        var = (statistics.variance if fn.endswith("samp") else statistics.pvariance)(exact)
        return math.sqrt(var) if fn.startswith("stddev") else float(var)
    if fn == "first_value":
        return present[0]
    if fn == "last_value":
        return present[-1]
    if fn == "listagg":
        return (options or {}).get("separator", ",").join(present)
    if fn == "median":
        if isinstance(present[0], ScaledInteger):
            return statistics.median([Fraction(v.mantissa, 10 ** v.scale) for v in present])
        return float(statistics.median(present))
    raise AssertionError(fn)


def check(fn, got, want):
    """``got`` (the kernel's value) against the reference's ``want``."""
    if fn.startswith(("var", "stddev")) and want is not None:
        assert isinstance(got, float)
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), (got, want)
    elif fn == "median" and isinstance(want, Fraction):
        assert isinstance(got, ScaledInteger)
        assert Fraction(got.mantissa, 10 ** got.scale) == want, (got, want)
    else:
        assert_same(got, want)


def _dec_total(values):
    """The exact sum of ScaledIntegers as (mantissa, scale) at the largest scale."""
    scale = max(v.scale for v in values)
    return sum(v.mantissa * 10 ** (scale - v.scale) for v in values), scale


def _float_sum(values):
    total = 0.0
    for v in values:        # the same order as the kernel: one double, row by row
        total += v
    return total


def assert_same(got, want):
    if want is None or got is None:
        assert got is None and want is None, (got, want)
    elif isinstance(want, Decimal):
        assert isinstance(got, ScaledInteger), got
        assert got.to_decimal() == want and got.scale == -want.as_tuple().exponent, (got, want)
    elif isinstance(want, float):
        assert isinstance(got, float), got
        assert (math.isnan(got) and math.isnan(want)) or got == want, (got, want)
    elif isinstance(want, ScaledInteger):
        assert isinstance(got, ScaledInteger) and got == want and got.scale == want.scale, \
            (got, want)
    else:
        assert got == want and type(got) is type(want), (got, want)


# --------------------------------------------------------------------------- GroupTable

KEY_STR = st.one_of(st.none(), st.sampled_from(["a", "b", "é", "", "a\x00", "long key " * 3]))
KEY_INT = st.one_of(st.none(), st.integers(-3, 3), st.sampled_from([2 ** 63 - 1, -(2 ** 63)]))


@SETTINGS
@given(st.lists(st.lists(st.tuples(KEY_STR, KEY_INT), max_size=30), min_size=1, max_size=5))
def test_group_ids_are_dense_and_one_per_key(batches):
    table = GroupTable(2)
    seen = {}
    for rows in batches:
        got = table.assign([string_column([r[0] for r in rows]),
                            int64_column([r[1] for r in rows])], len(rows))
        for row, gid in zip(rows, got):
            assert seen.setdefault(row, gid) == gid
    assert sorted(seen.values()) == list(range(len(seen)))
    assert table.live == len(seen)
    if seen:
        keys = table.keys(ids(list(seen.values())))
        assert list(zip(keys[0].to_pylist(), keys[1].to_pylist())) == list(seen)


def test_null_and_typed_keys():
    table = GroupTable(1)
    got = table.assign([int64_column([None, 1, None, 1])], 4)
    assert list(got) == [0, 1, 0, 1]
    # a batch whose key column is all NULL (NullColumn) finds the NULL group
    assert list(table.assign([null_column(2)], 2)) == [0, 0]
    # a TIMESTAMP is not its epoch-ms BIGINT; a string "1" is not 1
    assert list(table.assign([int64_column([1], timestamp=True)], 1)) == [2]
    assert list(table.assign([string_column(["1"])], 1)) == [3]
    assert list(table.assign([bool_column([True, False, True])], 3)) == [4, 5, 4]


def test_keys_of_groups_sharing_a_window_start():
    """New groups of a batch share the object of a repeated BIGINT/TIMESTAMP key value (one
    datetime per window start): keys() still gives each group its own values, NULLs included."""
    table = GroupTable(2)
    starts = [60_000, 60_000, None, 60_000, 120_000, 120_000, None, 60_000]
    symbols = ["a", "b", "c", "c", "a", "b", "d", "a"]
    got = table.assign([string_column(symbols), int64_column(starts, timestamp=True)], 8)
    assert list(got) == [0, 1, 2, 3, 4, 5, 6, 0]
    keys = table.keys(got)
    assert keys[0].to_pylist() == symbols
    assert keys[1].type == TAG_TIMESTAMP
    assert keys[1].to_pylist() == int64_column(starts, timestamp=True).to_pylist()
    plain = GroupTable(1)
    ints = plain.assign([int64_column([7, 7, None, 8, 8])], 5)
    assert plain.keys(ints)[0].to_pylist() == [7, 7, None, 8, 8]


def test_decimal_keys_equal_at_different_scales_and_match_integers():
    table = GroupTable(1)
    a = table.assign([decimal_column([Decimal("1.50"), Decimal(2)])], 2)
    b = table.assign([decimal_column([Decimal("1.5"), Decimal("2.000")])], 2)
    c = table.assign([int64_column([2])], 1)
    d = table.assign([float64_column([1.5])], 1)
    assert list(a) == list(b) == [0, 1]
    assert list(c) == [1] and list(d) == [0]
    wide = Decimal("123456789012345678901234567890.5")
    e = table.assign([decimal_column([wide, wide * 10 ** 20])], 2)      # int128, objects
    f = table.assign([decimal_column([Decimal("123456789012345678901234567890.50")])], 1)
    assert e[0] == f[0] and e[1] not in (e[0], 0, 1)


def test_release_forgets_keys_and_reuses_ids():
    table = GroupTable(1)
    first = table.assign([string_column(["a", "b", "c"])], 3)
    table.release(ids([first[1]]))
    assert table.live == 2
    with pytest.raises(KeyError):
        table.keys(ids([first[1]]))
    again = table.assign([string_column(["d", "b", "a"])], 3)
    assert again[0] == first[1]                 # the freed id comes back, for a new key
    assert again[2] == first[0]
    assert again[1] not in (first[0], first[1], first[2])
    assert table.live == 4
    assert table.keys(ids([again[0], again[1]]))[0].to_pylist() == ["d", "b"]


def test_many_groups_and_releases_stay_consistent():
    table = GroupTable(1)
    n = 50_000
    got = table.assign([int64_column(list(range(n)))], n)
    assert list(got) == list(range(n))
    table.release(ids(list(range(0, n, 2))))
    assert table.live == n // 2
    again = table.assign([int64_column(list(range(n)))], n)
    assert [again[i] for i in range(1, n, 2)] == list(range(1, n, 2))
    assert sorted(again[i] for i in range(0, n, 2)) == list(range(0, n, 2))
    assert table.live == n


def test_key_bytes_are_rowkeys_bytes_and_survive_compaction():
    from velostream._core.rowkeys import row_keys
    table = GroupTable(2)
    n = 40_000
    a = string_column([f"symbol-{i}" for i in range(n)])
    b = decimal_column([Decimal(i).scaleb(-2) for i in range(n)])
    got = table.assign([a, b], n)
    want = row_keys([a, b])
    assert [table.key_bytes(got[i]) for i in range(0, n, 997)] == want[::997]
    table.release(ids([got[i] for i in range(n) if i % 4]))     # 3/4 of the keys: compacts
    kept = [i for i in range(n) if i % 4 == 0]
    assert [table.key_bytes(got[i]) for i in kept[::101]] == [want[i] for i in kept[::101]]
    again = table.assign([a, b], n)
    assert [again[i] for i in kept] == [got[i] for i in kept]
    assert table.live == n
    keys = table.keys(ids([again[1], again[4]]))
    assert keys[0].to_pylist() == ["symbol-1", "symbol-4"]
    assert [str(v) for v in keys[1].to_pylist()] == ["0.01", "0.04"]


def test_no_key_columns_is_one_global_group():
    table = GroupTable(0)
    assert list(table.assign([], 3)) == [0, 0, 0]
    assert list(table.assign([], 2)) == [0, 0] and table.live == 1


def test_assign_checks_its_arguments():
    with pytest.raises(ValueError, match="key columns"):
        GroupTable(2).assign([int64_column([1])], 1)
    with pytest.raises(ValueError, match="rows"):
        GroupTable(1).assign([int64_column([1])], 2)


# --------------------------------------------------------------------------- accumulators

SMALL_DEC = st.builds(lambda m, s: ScaledInteger.from_parts(m, s),
                      st.integers(-10 ** 6, 10 ** 6), st.integers(0, 6))
WIDE_DEC = st.builds(lambda m, s: ScaledInteger.from_parts(m, s),
                     st.one_of(st.integers(-10 ** 40, 10 ** 40),
                               st.sampled_from([10 ** 18 - 1, 2 ** 63 - 1, 10 ** 38 - 1,
                                                -(10 ** 38) + 1, 2 ** 127])),
                     st.integers(0, 10))
VALUES = {
    TAG_INT64: st.integers(-(2 ** 40), 2 ** 40),
    TAG_FLOAT64: st.floats(-1e12, 1e12, allow_nan=False),
    TAG_DECIMAL: st.one_of(SMALL_DEC, WIDE_DEC),
    TAG_STRING: st.text(max_size=5),
}


def batches_of(tag, groups=4):
    row = st.tuples(st.integers(0, groups - 1), st.one_of(st.none(), VALUES[tag]))
    return st.lists(st.lists(row, max_size=12), min_size=1, max_size=4)


def fold(acc, tag, batches, running=False):
    out = []
    for rows in batches:
        g = ids([r[0] for r in rows])
        col = None if acc.function == "count_star" else column(tag, [r[1] for r in rows])
        if running:
            out.extend(acc.update_running(g, col, len(rows)).to_pylist())
        else:
            acc.update(g, col, len(rows))
    return out


def per_group(batches, groups):
    values = {g: [] for g in range(groups)}
    for rows in batches:
        for gid, v in rows:
            values[gid].append(v)
    return values


NUMERIC = ("count_star", "count", "sum", "avg", "min", "max", "var_samp", "var_pop",
           "stddev_samp", "stddev_pop", "first_value", "last_value", "median",
           "count_distinct", "approx_count_distinct", "sum_distinct", "avg_distinct")
CASES = [(fn, tag) for tag in (TAG_INT64, TAG_FLOAT64, TAG_DECIMAL) for fn in NUMERIC] + \
    [(fn, TAG_STRING) for fn in ("min", "max", "count", "first_value", "last_value", "listagg",
                                 "count_distinct", "listagg_distinct")]


def make(fn, tag):
    """The accumulator for a case name (``*_distinct``: the DISTINCT form)."""
    if fn == "count_star":
        return Accumulator(fn)
    if fn.endswith("_distinct") and fn != "approx_count_distinct":
        return Accumulator(fn[:-len("_distinct")], tag, distinct=True)
    return Accumulator(fn, tag, options={"separator": " | "} if fn == "listagg" else None)


def reference(fn, values):
    if fn.endswith("_distinct") and fn not in ("count_distinct", "approx_count_distinct"):
        seen, kept = set(), []
        for v in values:
            k = Fraction(v.mantissa, 10 ** v.scale) if isinstance(v, ScaledInteger) else v
            if v is not None and k not in seen:
                seen.add(k)
                kept.append(v)
        return ref_aggregate(fn[:-len("_distinct")], kept)
    return ref_aggregate(fn, values, {"separator": " | "} if fn == "listagg" else None)


@pytest.mark.parametrize("fn, tag", CASES)
@SETTINGS
@given(data=st.data())
def test_accumulator_matches_the_reference(fn, tag, data):
    batches = data.draw(batches_of(tag))
    acc = make(fn, tag)
    fold(acc, tag, batches)
    values = per_group(batches, 4)
    got = acc.result(ids(range(4))).to_pylist()
    for g in range(4):
        check(fn, got[g], reference(fn, values[g]))


@pytest.mark.parametrize("fn, tag", CASES)
@SETTINGS
@given(data=st.data())
def test_update_running_gives_the_value_after_each_row(fn, tag, data):
    batches = data.draw(batches_of(tag, groups=2))
    acc = make(fn, tag)
    got = fold(acc, tag, batches, running=True)
    seen = {0: [], 1: []}
    want = []
    for rows in batches:
        for gid, v in rows:
            seen[gid].append(v)
            want.append(reference(fn, seen[gid]))
    assert len(got) == len(want)
    for a, b in zip(got, want):
        check(fn, a, b)


@pytest.mark.parametrize("fn, tag", CASES)
@SETTINGS
@given(data=st.data())
def test_merge_snapshot_restore_and_reset(fn, tag, data):
    batches = data.draw(batches_of(tag))
    acc = make(fn, tag)
    fold(acc, tag, batches)
    values = per_group(batches, 4)
    # restore into a fresh accumulator at other ids
    states = acc.snapshot(ids(range(4)))
    assert all(isinstance(s, bytes) for s in states)
    other = make(fn, tag)
    other.restore(ids(range(10, 14)), states)
    for a, b in zip(other.result(ids(range(10, 14))).to_pylist(),
                    acc.result(ids(range(4))).to_pylist()):
        check(fn, a, b)
    # merge group 1 into 0 (session windows): the aggregate of both groups' rows
    acc.merge(0, 1)
    got = acc.result(ids([0])).to_pylist()[0]
    arrival = [v for rows in batches for gid, v in rows if gid in (0, 1)]
    both = arrival if fn in ("first_value", "last_value") else values[0] + values[1]
    if tag == TAG_FLOAT64 and fn in ("sum", "avg", "sum_distinct", "avg_distinct") and \
            got is not None:
        # a merge adds the two partial sums: another rounding order than row by row
        bound = 1e-15 * 4 * sum(abs(v) for v in both if v is not None)
        assert abs(got - reference(fn, both)) <= bound
    elif fn in ("min", "max") and tag != TAG_FLOAT64:
        assert_same(got, _merged_minmax(fn, values[0], values[1]))
    elif fn in ("sum_distinct", "avg_distinct", "listagg_distinct"):
        # the values of src not already in dst are folded after dst's
        check(fn, got, reference(fn, values[0] + values[1]))
    else:
        check(fn, got, reference(fn, both))
    acc.reset(ids([0]))
    check(fn, acc.result(ids([0])).to_pylist()[0], reference(fn, []))


def _merged_minmax(fn, dst, src):
    """MIN/MAX of a merge: dst's winner stays on a tie (its scale is kept)."""
    a, b = ref_aggregate(fn, dst), ref_aggregate(fn, src)
    if a is None or b is None:
        return b if a is None else a
    return b if ((b < a) if fn == "min" else (b > a)) else a


def test_sum_of_decimal_widens_instead_of_failing():
    acc = Accumulator("sum", TAG_DECIMAL)
    big = Decimal("999999999999999999.99")          # 20 digits: int128 rows
    col = decimal_column([big] * 10)
    acc.update(ids([0] * 10), col, 10)
    out = acc.result(ids([0]))
    assert out.storage == "int128"
    assert out.to_pylist()[0].to_decimal() == big * 10
    # past 38 digits: object storage, still exact
    huge = Decimal(10 ** 37) + Decimal("0.5")
    acc.update(ids([1] * 30), decimal_column([huge] * 30), 30)
    out = acc.result(ids([0, 1]))
    assert out.storage == "object"
    assert out.to_pylist()[1].to_decimal() == huge * 30
    assert out.to_pylist()[0].to_decimal() == big * 10


def test_sum_of_narrow_decimals_past_int128_spills_exactly():
    acc = Accumulator("sum", TAG_DECIMAL)
    m = 10 ** 37 * 9
    col = decimal_column([ScaledInteger.from_parts(m, 0)] * 5)
    for _ in range(40):             # 200 rows of 9e37: past 2**127 = 1.7e38
        acc.update(ids([0] * 5), col, 5)
    assert acc.result(ids([0])).to_pylist()[0].mantissa == m * 200
    state = acc.snapshot(ids([0]))
    back = Accumulator("sum", TAG_DECIMAL)
    back.restore(ids([3]), state)
    assert back.result(ids([3])).to_pylist()[0].mantissa == m * 200


def test_running_sum_of_decimal_past_int128_stays_exact():
    acc = Accumulator("sum", TAG_DECIMAL)
    m = 9 * 10 ** 37
    col = decimal_column([ScaledInteger.from_parts(m, 0)] * 3 + [Decimal("0.5")])
    got = acc.update_running(ids([0, 0, 0, 1]), col, 4).to_pylist()
    assert [v.mantissa for v in got[:3]] == [m, 2 * m, 3 * m] and str(got[3]) == "0.5"
    assert [s.scale for s in got] == [0, 0, 0, 1]


def test_avg_of_decimal_scale_is_sum_scale_plus_four_half_even():
    acc = Accumulator("avg", TAG_DECIMAL)
    acc.update(ids([0, 0, 0, 1, 1]), decimal_column(
        [Decimal("1.00"), Decimal("2.00"), Decimal("2.00"), Decimal("0.5"), Decimal("0.25")]), 5)
    got = acc.result(ids([0, 1])).to_pylist()
    assert str(got[0]) == "1.666667"        # 5/3 at scale 2 + 4
    assert str(got[1]) == "0.375000"        # the largest row scale (2) + 4
    assert acc.result_type == TAG_DECIMAL


def test_sum_of_bigint_past_int64_is_an_error_naming_the_group():
    acc = Accumulator("sum", TAG_INT64)
    acc.update(ids([0, 1, 1]), int64_column([1, 2 ** 63 - 1, 1]), 3)
    with pytest.raises(AggregateOverflow, match="BIGINT") as e:
        acc.result(ids([0, 1]))
    assert e.value.group_ids == [1]
    assert acc.result(ids([0])).to_pylist() == [1]
    # an intermediate excursion past int64 that comes back is no error (int128 state)
    acc.update(ids([1]), int64_column([-10]), 1)
    assert acc.result(ids([1])).to_pylist() == [2 ** 63 - 10]


def test_avg_of_integers_is_float_and_empty_groups_are_null():
    acc = Accumulator("avg", TAG_INT64)
    assert acc.result_type == TAG_FLOAT64
    acc.update(ids([0, 0, 2]), int64_column([1, 2, None]), 3)
    assert acc.result(ids([0, 1, 2])).to_pylist() == [1.5, None, None]
    count = Accumulator("count", TAG_INT64)
    count.update(ids([0, 2]), int64_column([1, None]), 2)
    assert count.result(ids([0, 1, 2])).to_pylist() == [1, 0, 0]


def test_min_max_on_timestamps_strings_decimals_and_nan():
    t = [dt.datetime(2024, 1, d, tzinfo=dt.UTC) for d in (3, 1, 2)]
    lo, hi = Accumulator("min", TAG_TIMESTAMP), Accumulator("max", TAG_TIMESTAMP)
    for a in (lo, hi):
        a.update(ids([0, 0, 0]), int64_column(t, timestamp=True), 3)
    assert lo.result(ids([0])).to_pylist() == [t[1]] and hi.result(ids([0])).to_pylist() == [t[0]]
    assert lo.result(ids([0])).type == TAG_TIMESTAMP
    s = Accumulator("max", TAG_STRING)
    s.update(ids([0, 0, 0]), string_column(["z", "é", "zz"]), 3)
    assert s.result(ids([0])).to_pylist() == ["é"]      # code point order: é (U+00E9) > z
    d = Accumulator("min", TAG_DECIMAL)
    d.update(ids([0, 0]), decimal_column([Decimal("1.50"), Decimal("1.5")]), 2)
    d.update(ids([0]), decimal_column([Decimal("1.500")]), 1)
    assert str(d.result(ids([0])).to_pylist()[0]) == "1.50"    # the first of equal values
    f = Accumulator("max", TAG_FLOAT64)
    f.update(ids([0, 0, 0]), float64_column([1.0, math.nan, math.inf]), 3)
    assert math.isnan(f.result(ids([0])).to_pylist()[0])


def test_accumulator_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown aggregate"):
        Accumulator("sumx", TAG_INT64)
    with pytest.raises(TypeError, match="number"):
        Accumulator("sum", TAG_STRING)
    acc = Accumulator("sum", TAG_INT64)
    with pytest.raises(TypeError, match="STRING"):
        acc.update(ids([0]), string_column(["x"]), 1)
    with pytest.raises(ValueError, match="group ids"):
        acc.update(ids([0]), int64_column([1, 2]), 2)


# --------------------------------------------------------------------------- DuckDB oracle

def duck_table(duckdb, tmp_path, columns, rows):
    """A one-thread DuckDB connection with table t of ``rows`` (loaded from a CSV file:
    executemany is far slower). ``columns``: {name: SQL type}."""
    import csv
    path = tmp_path / "t.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(columns))
        w.writerows([["" if v is None else v for v in row] for row in rows])
    con = duckdb.connect()
    con.execute("SET threads = 1")
    types = ", ".join(f"'{k}': '{v}'" for k, v in columns.items())
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}', header = true, "
                f"columns = {{{types}}})")
    return con


def test_w2_aggregates_match_duckdb(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    import random
    rnd = random.Random(7)
    n = 20_000
    symbols = [f"S{rnd.randrange(300)}" for _ in range(n)]
    qty = [rnd.randrange(1, 10_000) if rnd.random() > 0.01 else None for _ in range(n)]
    price = [Decimal(rnd.randrange(1, 10 ** 8)).scaleb(-rnd.choice([2, 4]))
             if rnd.random() > 0.01 else None for _ in range(n)]
    table = GroupTable(1)
    accs = {"cnt": Accumulator("count_star"), "sq": Accumulator("sum", TAG_INT64),
            "ap": Accumulator("avg", TAG_DECIMAL), "lo": Accumulator("min", TAG_DECIMAL),
            "hi": Accumulator("max", TAG_DECIMAL), "sp": Accumulator("sum", TAG_DECIMAL)}
    for start in range(0, n, 4096):
        end = min(n, start + 4096)
        g = table.assign([string_column(symbols[start:end])], end - start)
        q, p = int64_column(qty[start:end]), decimal_column(price[start:end])
        for name, acc in accs.items():
            acc.update(g, {"cnt": None, "sq": q}.get(name, p), end - start)
    every = ids(range(table.live))
    keys = table.keys(every)[0].to_pylist()
    mine = {k: tuple(accs[c].result(every).to_pylist()[i] for c in accs)
            for i, k in enumerate(keys)}
    con = duck_table(duckdb, tmp_path, {"symbol": "VARCHAR", "qty": "BIGINT",
                                        "price": "DECIMAL(18, 4)"}, zip(symbols, qty, price))
    rows = con.execute("SELECT symbol, count(*), sum(qty), avg(price), min(price), "
                       "max(price), sum(price) FROM t GROUP BY symbol").fetchall()
    assert len(rows) == len(mine)
    for sym, cnt, sq, ap, lo, hi, sp in rows:
        got = mine[sym]
        assert got[0] == cnt and got[1] == sq
        assert got[3].to_decimal() == lo and got[4].to_decimal() == hi
        assert got[5].to_decimal() == sp
        assert abs(float(got[2].to_decimal()) - float(ap)) <= 1e-9 * max(1.0, abs(float(ap)))


@pytest.mark.parametrize("offset, spread", [(1e9, 1e-3), (1e12, 1.0), (-5e15, 7.0), (0.0, 1e-9)])
def test_variance_is_stable_with_a_large_offset_and_a_tiny_spread(offset, spread):
    import random
    rnd = random.Random(11)
    xs = [offset + spread * rnd.random() for _ in range(3000)]
    want_samp = statistics.variance(xs)             # exact on the same doubles, rounded once
    want_pop = statistics.pvariance(xs)
    accs = {fn: Accumulator(fn, TAG_FLOAT64) for fn in ("var_samp", "var_pop", "stddev_samp")}
    for acc in accs.values():
        for start in range(0, 3000, 700):           # several batches, then a merge
            part = xs[start:start + 700]
            acc.update(ids([start // 700 % 2] * len(part)), float64_column(part), len(part))
        acc.merge(0, 1)
    got = {fn: acc.result(ids([0])).to_pylist()[0] for fn, acc in accs.items()}
    assert math.isclose(got["var_samp"], want_samp, rel_tol=1e-7)
    assert math.isclose(got["var_pop"], want_pop, rel_tol=1e-7)
    assert math.isclose(got["stddev_samp"], math.sqrt(want_samp), rel_tol=1e-7)


def test_variance_of_one_row_and_of_integers():
    samp, pop = Accumulator("var_samp", TAG_INT64), Accumulator("var_pop", TAG_INT64)
    for acc in (samp, pop):
        acc.update(ids([0, 1, 1, 1]), int64_column([5, 10 ** 15 + 1, 10 ** 15 + 2, 10 ** 15 + 3]),
                   4)
    assert samp.result(ids([0, 1])).to_pylist() == [None, 1.0]
    assert pop.result(ids([0, 1])).to_pylist()[0] == 0.0
    assert math.isclose(pop.result(ids([1])).to_pylist()[0], 2 / 3, rel_tol=1e-12)
    assert samp.result_type == TAG_FLOAT64


def test_first_last_skip_nulls_and_keep_the_input_type():
    first, last = Accumulator("first_value", TAG_DECIMAL), Accumulator("last_value", TAG_DECIMAL)
    for acc in (first, last):
        acc.update(ids([0, 0, 0]), decimal_column([None, Decimal("1.50"), Decimal(2)]), 3)
        acc.update(ids([0, 1]), decimal_column([Decimal("3.000"), None]), 2)
    assert [str(v) for v in first.result(ids([0])).to_pylist()] == ["1.50"]
    assert [str(v) for v in last.result(ids([0])).to_pylist()] == ["3.000"]
    assert first.result(ids([1])).to_pylist() == [None]
    assert first.result_type == TAG_DECIMAL


def test_listagg_separator_and_text_of_other_types():
    acc = Accumulator("string_agg", TAG_STRING, options={"separator": "; "})
    acc.update(ids([0, 0, 0, 1]), string_column(["a", None, "ü", None]), 4)
    assert acc.result(ids([0, 1])).to_pylist() == ["a; ü", None]
    dflt = Accumulator("listagg", TAG_DECIMAL)
    dflt.update(ids([0, 0]), decimal_column([Decimal("1.50"), Decimal(2)]), 2)
    assert dflt.result(ids([0])).to_pylist() == ["1.50,2"]
    ts = Accumulator("listagg", TAG_TIMESTAMP)
    ts.update(ids([0]), int64_column([0], timestamp=True), 1)
    assert ts.result(ids([0])).to_pylist() == ["1970-01-01T00:00:00.000Z"]
    with pytest.raises(TypeError, match="separator"):
        Accumulator("listagg", TAG_STRING, options={"separator": 1})


def test_median_is_exact():
    d = Accumulator("median", TAG_DECIMAL)
    d.update(ids([0, 0, 0, 0, 1, 1, 1]), decimal_column(
        [Decimal("1.01"), Decimal(4), Decimal("1.03"), Decimal(9),
         Decimal("2.5"), Decimal("0.1"), Decimal(7)]), 7)
    assert [str(v) for v in d.result(ids([0, 1])).to_pylist()] == ["2.515", "2.5"]
    i = Accumulator("median", TAG_INT64)
    i.update(ids([0, 0]), int64_column([2 ** 62, 2 ** 62 + 1]), 2)
    assert i.result(ids([0])).to_pylist() == [float(2 ** 62)] and i.result_type == TAG_FLOAT64
    t = Accumulator("median", TAG_TIMESTAMP)
    t.update(ids([0, 0]), int64_column([1000, 1003], timestamp=True), 2)
    assert t.result(ids([0])).to_pylist() == int64_column([1001], timestamp=True).to_pylist()
    with pytest.raises(TypeError, match="MEDIAN"):
        Accumulator("median", TAG_STRING)


def test_count_distinct_uses_distinct_equality_and_approx_is_exact():
    for fn in ("count", "approx_count_distinct"):
        acc = Accumulator(fn, TAG_DECIMAL, distinct=fn == "count")
        acc.update(ids([0, 0, 0, 0]), decimal_column(
            [Decimal("1.0"), Decimal("1.00"), None, Decimal(2)]), 4)
        acc.update(ids([0]), int64_column([1]), 1)         # BIGINT 1 = DECIMAL 1.0
        assert acc.result(ids([0, 1])).to_pylist() == [2, 0]
        assert acc.result_type == TAG_INT64
    many = Accumulator("approx_count_distinct", TAG_INT64)
    many.update(ids([0] * 100_000), int64_column([i % 77_777 for i in range(100_000)]), 100_000)
    assert many.result(ids([0])).to_pylist() == [77_777]


def test_statistics_match_duckdb(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    import random
    rnd = random.Random(5)
    n = 10_000
    key = [rnd.randrange(50) for _ in range(n)]
    x = [rnd.gauss(1e6, 3.0) if rnd.random() > 0.02 else None for _ in range(n)]
    q = [rnd.randrange(100) if rnd.random() > 0.02 else None for _ in range(n)]
    fns = {"stddev_samp": x, "stddev_pop": x, "var_samp": x, "var_pop": x, "median": q}
    accs = {fn: Accumulator(fn, TAG_FLOAT64 if col is x else TAG_INT64) for fn, col in fns.items()}
    distinct = Accumulator("count", TAG_INT64, distinct=True)
    g = ids(key)
    for fn, acc in accs.items():
        acc.update(g, (float64_column if fns[fn] is x else int64_column)(fns[fn]), n)
    distinct.update(g, int64_column(q), n)
    con = duck_table(duckdb, tmp_path, {"k": "INTEGER", "x": "DOUBLE", "q": "BIGINT"},
                     [(k, repr(v) if v is not None else None, w) for k, v, w in zip(key, x, q)])
    rows = con.execute("SELECT k, stddev_samp(x), stddev_pop(x), var_samp(x), var_pop(x), "
                       "median(q), count(DISTINCT q) FROM t GROUP BY k").fetchall()
    assert len(rows) == 50
    for k, *want in rows:
        got = [accs[fn].result(ids([k])).to_pylist()[0] for fn in fns]
        got.append(distinct.result(ids([k])).to_pylist()[0])
        for a, b in zip(got[:4], want[:4]):
            assert math.isclose(a, b, rel_tol=1e-8)
        assert got[4] == float(want[4]) and got[5] == want[5]
