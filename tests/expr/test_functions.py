"""DIALECT §4 functions: math, strings, LIKE, time, JSON, HEADER, nested values, pseudo-columns."""

import math
from datetime import UTC, datetime

import pytest

from tests.expr import batch_of, ev, one, values
from velostream._core import batch as B
from velostream._core.decimal import ScaledInteger
from velostream.plan import types as T

S = ScaledInteger
TS = datetime(2024, 3, 5, 14, 7, 9, 123000, tzinfo=UTC)   # a Tuesday, ISO week 10


# --------------------------------------------------------------------------- math

@pytest.mark.parametrize("sql, want", [
    ("ABS(-3)", 3), ("ABS(-2.50)", S("2.50")), ("ABS(-1.5e0)", 1.5),
    ("SQRT(16)", 4.0), ("POWER(2, 10)", 1024.0), ("POW(2.5, 2)", 6.25),
    ("EXP(0)", 1.0), ("LN(1)", 0.0), ("LOG10(1000)", 3.0),
    ("MOD(10, 3)", 1), ("MOD(-10, 3)", -1), ("MOD(10.5, 3)", S("1.5")), ("MOD(5.5e0, 2)", 1.5),
])
def test_math(sql, want):
    got = one(sql)
    assert got == want and type(got) is type(want)


@pytest.mark.parametrize("sql, message", [
    ("SQRT(x - 5)", "square root of a negative"), ("LN(x - 1)", "logarithm of zero"),
    ("LOG10(x - 2)", "logarithm of a negative"), ("EXP(1000 / x)", "overflow"),
    ("POWER(x - 1, -1)", "not a finite"),
])
def test_math_domain_errors_are_row_errors(sql, message):
    got, errors, _ = ev(sql, [{"x": 1}, {"x": 10}])
    assert list(errors) == [0] and message in errors[0]
    assert got[0] is None and math.isfinite(got[1])


# --------------------------------------------------------------------------- strings

@pytest.mark.parametrize("sql, want", [
    ("UPPER('abé')", "ABÉ"), ("LOWER('AbC')", "abc"),
    ("LENGTH('héllo')", 5), ("BYTE_LENGTH('héllo')", 6), ("LENGTH('')", 0),
    ("SUBSTRING('hello', 2)", "ello"), ("SUBSTRING('hello', 2, 3)", "ell"),
    ("SUBSTR('hello', 0, 2)", "h"), ("SUBSTRING('hello', -3)", "llo"),
    ("SUBSTRING('hello', 9)", ""), ("SUBSTRING('héllo', 2, 1)", "é"),
    ("CONCAT('a', NULL, 'b', 1, 2.50)", "ab12.50"), ("CONCAT(NULL, NULL)", ""),
    ("CONCAT_WS('-', 'a', NULL, 'b')", "a-b"), ("CONCAT_WS(NULL, 'a')", None),
    ("'a' || 'b'", "ab"), ("'a' || NULL", None), ("'n=' || 5", "n=5"),
    ("TRIM('  x  ')", "x"), ("LTRIM('  x  ')", "x  "), ("RTRIM('  x  ')", "  x"),
    ("TRIM('xxaxx', 'x')", "a"), ("TRIM('\u00a0x\u3000')", "x"), ("TRIM('\tx')", "\tx"),
    ("REPLACE('banana', 'an', 'AN')", "bANANa"), ("REPLACE('abc', '', 'x')", "abc"),
    ("LPAD('7', 3, '0')", "007"), ("RPAD('ab', 5, 'xy')", "abxyx"),
    ("LPAD('hello', 2, '*')", "he"), ("LPAD('a', 3)", "  a"), ("RPAD('a', -1, 'x')", ""),
    ("SPLIT_PART('a,b,c', ',', 2)", "b"), ("SPLIT_PART('a,b,c', ',', -1)", "c"),
    ("SPLIT_PART('a,b,c', ',', 9)", ""), ("SPLIT_PART('abc', '', 2)", "b"),
    ("POSITION('b' IN 'abc')", 2), ("POSITION('z' IN 'abc')", 0), ("POSITION('' IN 'abc')", 1),
    ("REGEXP_REPLACE('a1b22', '[0-9]+', '#')", "a#b#"),
    ("REGEXP_REPLACE('john smith', '(\\w+) (\\w+)', '\\2, \\1')", "smith, john"),
    ("LEFT('hello', 2)", "he"), ("LEFT('hello', -2)", "hel"), ("LEFT('hi', 5)", "hi"),
    ("RIGHT('hello', 2)", "lo"), ("RIGHT('hello', -2)", "llo"), ("RIGHT('hi', 5)", "hi"),
    ("UPPER(NULL)", None),
])
def test_strings(sql, want):
    assert one(sql) == want


def test_string_function_errors():
    got, errors, _ = ev("LPAD(s, 5, '')", [{"s": "ab"}, {"s": "abcdef"}])
    assert list(errors) == [0] and "padding" in errors[0] and got[1] == "abcde"
    got, errors, _ = ev("REGEXP_REPLACE('x', p, 'y')", [{"p": "("}, {"p": "x"}])
    assert list(errors) == [0] and got[1] == "y"


@pytest.mark.parametrize("pattern, matches", [
    ("abc", ["abc"]), ("a%", ["abc", "a", "a%b", "aé"]), ("%c", ["abc", "xc"]),
    ("%b%", ["abc", "a%b", "b"]), ("a_c", ["abc"]), ("_", ["a", "é", "b"]),
    ("a__", ["abc", "a%b"]), ("%", ["abc", "", "a", "xc", "a%b", "é", "aé", "b"]),
    ("", [""]), ("a%c%", ["abc"]), ("%a%b%", ["abc", "a%b"]), ("a_", ["aé"]),
])
def test_like(pattern, matches):
    words = ["abc", "", "a", "xc", "a%b", "é", "aé", "b"]
    rows = [{"w": w} for w in words] + [{"w": None}]
    got = values(f"w LIKE '{pattern}'", rows)
    assert [w for w, g in zip(words, got) if g] == matches
    assert got[-1] is None
    negated = values(f"w NOT LIKE '{pattern}'", rows)
    assert negated[:-1] == [not g for g in got[:-1]] and negated[-1] is None


def test_like_with_a_pattern_column():
    rows = [{"w": "abc", "p": "a%"}, {"w": "abc", "p": "_c"}, {"w": "x", "p": None}]
    assert values("w LIKE p", rows) == [True, False, None]


# --------------------------------------------------------------------------- time

def clock():
    return 1709647629123  # TS


@pytest.mark.parametrize("field, want", [
    ("YEAR", 2024), ("QUARTER", 1), ("MONTH", 3), ("WEEK", 10), ("DAY", 5), ("DOW", 2),
    ("DOY", 65), ("HOUR", 14), ("MINUTE", 7), ("SECOND", 9), ("MILLISECOND", 9123),
    ("EPOCH", 1709647629.123),
])
def test_extract(field, want):
    assert one(f"EXTRACT({field} FROM ts)", {"ts": TS}) == want


@pytest.mark.parametrize("day, week", [
    (datetime(2021, 1, 3), 53), (datetime(2021, 1, 4), 1), (datetime(2024, 12, 30), 1),
    (datetime(2020, 12, 31), 53), (datetime(1969, 12, 31), 1), (datetime(1900, 3, 1), 9),
])
def test_extract_iso_week_and_dates_before_1970(day, week):
    ts = day.replace(tzinfo=UTC)
    assert one("EXTRACT(WEEK FROM ts)", {"ts": ts}) == ts.isocalendar()[1] == week
    assert one("EXTRACT(DOY FROM ts)", {"ts": ts}) == ts.timetuple().tm_yday
    assert one("EXTRACT(DAY FROM ts)", {"ts": ts}) == ts.day
    assert one("EXTRACT(DOW FROM ts)", {"ts": ts}) == (ts.weekday() + 1) % 7


@pytest.mark.parametrize("unit, want", [
    ("second", datetime(2024, 3, 5, 14, 7, 9)), ("minute", datetime(2024, 3, 5, 14, 7)),
    ("hour", datetime(2024, 3, 5, 14)), ("day", datetime(2024, 3, 5)),
    ("week", datetime(2024, 3, 4)), ("month", datetime(2024, 3, 1)),
    ("quarter", datetime(2024, 1, 1)), ("year", datetime(2024, 1, 1)),
    ("decade", datetime(2020, 1, 1)), ("century", datetime(2001, 1, 1)),
])
def test_date_trunc(unit, want):
    assert one(f"DATE_TRUNC('{unit}', ts)", {"ts": TS}) == want.replace(tzinfo=UTC)


def test_time_functions():
    row = {"ts": TS, "secs": 1709647629, "ms": 1709647629123}
    assert one("DATE_FORMAT(ts, '%Y-%m-%d %H:%M')", row) == "2024-03-05 14:07"
    assert one("FROM_UNIXTIME(secs)", row) == TS.replace(microsecond=0)
    assert one("FROM_UNIXTIME(1709647629.123)", row) == TS
    assert one("FROM_UNIXTIME(secs, '%H:%M:%S')", row) == "14:07:09"
    assert one("UNIX_TIMESTAMP(ts)", row) == 1709647629
    assert one("UNIX_TIMESTAMP('2024-03-05T14:07:09Z')", row) == 1709647629
    assert one("EXTRACT(HOUR FROM ms)", row) == 14
    assert one("UNIX_TIMESTAMP()", params={"clock": clock}) == 1709647629


def test_processing_time_is_read_once_per_batch():
    calls = []

    def counting_clock():
        calls.append(1)
        return 1709647629123 + len(calls)
    rows = [{"x": i} for i in range(5)]
    got, _, t = ev("NOW()", rows, params={"clock": counting_clock})
    assert t == T.TIMESTAMP and len(set(got)) == 1 and len(calls) == 1
    assert one("CURRENT_TIMESTAMP = TIMESTAMP()", params={"clock": clock}) is True
    assert one("CURRENT_DATE", params={"clock": clock}) == datetime(2024, 3, 5,
                                                                     tzinfo=UTC)
    assert one("CURRENT_TIME", params={"clock": clock}) == "14:07:09.123"


def test_date_trunc_unit_must_be_known():
    from velostream.errors import SqlValidationError

    with pytest.raises(SqlValidationError, match="DATE_TRUNC unit"):
        ev("DATE_TRUNC('fortnight', ts)", [{"ts": TS}])


# --------------------------------------------------------------------------- JSON

DOC = '{"a": {"b": [10, {"c": "x"}], "n": null, "f": 1.5, "t": true}, "k y": 1}'


@pytest.mark.parametrize("sql, want", [
    ("JSON_VALUE(doc, '$.a.b[0]')", "10"), ("JSON_VALUE(doc, '$.a.b[1].c')", "x"),
    ("JSON_VALUE(doc, '$.a.f')", "1.5"), ("JSON_VALUE(doc, '$.a.t')", "true"),
    ("JSON_VALUE(doc, '$.a.n')", None), ("JSON_VALUE(doc, '$.a.b')", None),
    ("JSON_VALUE(doc, '$.missing')", None), ("JSON_VALUE(doc, '$[''k y'']')", "1"),
    ("JSON_VALUE(doc, '$.a.b[-1].c')", "x"),
    ("JSON_EXTRACT(doc, '$.a.b')", '[10,{"c":"x"}]'), ("JSON_QUERY(doc, '$.a.b[1]')", '{"c":"x"}'),
    ("JSON_EXTRACT(doc, '$.a.b[1].c')", '"x"'), ("JSON_EXTRACT(doc, '$.a.n')", "null"),
    ("JSON_EXISTS(doc, '$.a.n')", True), ("JSON_EXISTS(doc, '$.a.zz')", False),
    ("JSON_VALUE('not json', '$.a')", None), ("JSON_EXISTS('not json', '$.a')", False),
    ("CAST(JSON_VALUE(doc, '$.a.f') AS DOUBLE) * 2", 3.0),
])
def test_json(sql, want):
    assert one(sql, {"doc": DOC}) == want


def test_json_over_nested_objects():
    rows = [{"payload": {"temperature": S("21.50"), "tags": ["a", "b"]}}, {"payload": None}]
    assert values("JSON_VALUE(payload, '$.temperature')", rows) == ["21.50", None]
    assert values("JSON_VALUE(payload, '$.tags[1]')", rows) == ["b", None]
    assert values("CAST(JSON_VALUE(payload, '$.temperature') AS DECIMAL(18,2)) > 20", rows) == [
        True, None]


def test_json_path_errors_are_validation_errors():
    from velostream.errors import SqlValidationError

    with pytest.raises(SqlValidationError, match="must start with"):
        ev("JSON_VALUE(doc, 'a.b')", [{"doc": "{}"}])
    with pytest.raises(SqlValidationError, match="constant"):
        ev("JSON_VALUE(doc, doc)", [{"doc": "{}"}])


# --------------------------------------------------------------------------- Kafka metadata

def test_header_and_pseudo_columns():
    headers = B.object_column([{"trace": b"abc", "n": b"1"}, [("trace", b"x"), ("trace", b"y")],
                               None])
    meta = {"_headers": headers, "_offset": B.int64_column([5, 6, 7]),
            "_partition": B.int64_column([0, 0, 1]), "_key": B.object_column([b"k1", None, "k3"]),
            "_timestamp": B.int64_column([1, 2, 3], timestamp=True),
            "_topic": B.string_column(["t", "t", "t"])}
    rows = [{"v": 1}, {"v": 2}, {"v": 3}]
    batch = batch_of(rows, meta=meta)
    assert values("HEADER('trace')", batch=batch) == ["abc", "y", None]
    assert values("HEADER('missing')", batch=batch) == [None, None, None]
    assert values("_offset + 1", batch=batch) == [6, 7, 8]
    assert values("_partition = 1", batch=batch) == [False, False, True]
    assert values("_key", batch=batch) == ["k1", None, "k3"]
    assert values("_topic", batch=batch) == ["t", "t", "t"]
    assert values("_timestamp > 1", batch=batch) == [False, True, True]
    assert values("_event_time", batch=batch) == [None, None, None]
    assert values("TUMBLE_START(ts, INTERVAL '1' MINUTE)", batch=batch) == [None] * 3


def test_a_data_column_wins_over_a_pseudo_column_of_the_same_name():
    assert values("_key", [{"_key": "data"}], meta={"_key": B.string_column(["meta"])}) == [
        "data"]


# --------------------------------------------------------------------------- nested values

def test_subscript_and_field_access():
    rows = [{"a": [10, 20, 30], "m": {"k": "v", "Sub": {"x": 5}}},
            {"a": [], "m": {"other": 1}}, {"a": None, "m": None}]
    assert values("a[1]", rows) == [10, None, None]
    assert values("a[-1]", rows) == [30, None, None]
    assert values("m['k']", rows) == ["v", None, None]
    assert values("m.sub.x", rows) == [5, None, None]
    assert values("m.Sub.x + 1", rows) == [6, None, None]
    assert values("CAST(a[2] AS BIGINT) * 2", rows) == [40, None, None]
    assert values("a[2] > 15", rows) == [True, None, None]
    assert values("'abc'[2]", [{}]) == ["b"]


def test_qualified_names_resolve_by_last_part():
    rows = [{"a": 1}]
    assert values("t.a", rows) == [1]
    assert values("t.a + 1", rows, params={"qualifiers": ["t"]}) == [2]
    # An all-NULL column named like the alias does not hide the qualified column.
    assert values("x.a > 0", [{"x": None, "a": 1}]) == [True]
    assert values("x.a", [{"x": None, "a": 1}], params={"qualifiers": ["x"]}) == [1]


def test_object_values_compare_and_compute_dynamically():
    rows = [{"o": 5}, {"o": S("1.25")}, {"o": 2.5}, {"o": "text"}]
    got, errors, t = ev("o * 2", rows)
    assert t == T.OBJECT
    assert got[:3] == [10, S("2.50"), 5.0] and list(errors) == [3]
    got, errors, _ = ev("o > 2", rows)
    assert got[:3] == [True, False, True] and list(errors) == [3]
