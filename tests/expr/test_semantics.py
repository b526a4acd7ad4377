"""DIALECT §3 semantics: three-valued logic, coercion, arithmetic result types, row errors."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.expr import ev, one, values
from velostream._core.decimal import ScaledInteger
from velostream.plan import types as T

S = ScaledInteger
TRIADS = {"T": True, "F": False, "N": None}


def _sql(v):
    return {True: "TRUE", False: "FALSE", None: "NULL"}[v]


# --------------------------------------------------------------------------- 3VL

AND_TABLE = {("T", "T"): True, ("T", "F"): False, ("T", "N"): None, ("F", "F"): False,
             ("F", "N"): False, ("N", "N"): None}
OR_TABLE = {("T", "T"): True, ("T", "F"): True, ("T", "N"): True, ("F", "F"): False,
            ("F", "N"): None, ("N", "N"): None}


@pytest.mark.parametrize("op, table", [("AND", AND_TABLE), ("OR", OR_TABLE)])
@pytest.mark.parametrize("form", ["literal", "column"])
def test_and_or_truth_tables(op, table, form):
    for (a, b), want in table.items():
        for x, y in ((a, b), (b, a)):
            if form == "literal":
                assert one(f"{_sql(TRIADS[x])} {op} {_sql(TRIADS[y])}") is want, (x, op, y)
            else:
                row = {"x": TRIADS[x], "y": TRIADS[y]}
                # Typed BOOLEAN columns even when the value is NULL.
                got = values(f"x {op} y", [row, {"x": True, "y": False}])[0]
                assert got is want, (x, op, y)


def test_not_and_is_null():
    rows = [{"b": True}, {"b": False}, {"b": None}]
    assert values("NOT b", rows) == [False, True, None]
    assert values("b IS NULL", rows) == [False, False, True]
    assert values("b IS NOT NULL", rows) == [True, True, False]
    assert one("NOT NULL") is None


@pytest.mark.parametrize("sql", ["1 = NULL", "NULL = NULL", "NULL <> 1", "'a' < NULL",
                                 "NULL IN (1, 2)", "3 IN (1, NULL)", "3 NOT IN (1, NULL)",
                                 "NULL BETWEEN 1 AND 2", "5 BETWEEN NULL AND 2 + 10",
                                 "NULL LIKE 'a%'", "0 IN (IF(FALSE, 0, NULL))",
                                 "1 NOT IN (CAST(NULL AS BIGINT), 2)"])
def test_null_comparisons_are_null(sql):
    assert one(sql) is None


@pytest.mark.parametrize("sql, want", [
    ("1 IN (1, NULL)", True), ("3 NOT IN (1, 2)", True), ("2 NOT IN (1, 2, NULL)", False),
    ("5 BETWEEN NULL AND 2", False), ("0 IN (IF(FALSE, 0, NULL), 0)", True), ("x IN (1.50, 2)", True), ("x IN (1.505)", False),
])
def test_in_and_between_decided_despite_null(sql, want):
    assert one(sql, {"x": S("1.5")}) is want


def test_in_over_columns_and_constants():
    rows = [{"q": 1, "s": "a", "f": 1.5, "t": 10}, {"q": 7, "s": "zz", "f": None, "t": 3}]
    assert values("q IN (1, 2, 3)", rows) == [True, False]
    assert values("q IN (t, 1)", rows) == [True, False]
    assert values("s IN ('a', 'b')", rows) == [True, False]
    assert values("s IN ('x', s)", rows) == [True, True]
    assert values("f IN (1.5, 2)", rows) == [True, None]
    many = ", ".join(f"'v{i}'" for i in range(20))
    assert values(f"s IN ({many}, 'zz')", rows) == [False, True]


def test_case_first_true_branch_and_null_conditions():
    rows = [{"x": 1}, {"x": None}, {"x": 5}]
    assert values("CASE WHEN x > 3 THEN 'big' WHEN x > 0 THEN 'small' ELSE 'none' END",
                  rows) == ["small", "none", "big"]
    assert values("CASE x WHEN 1 THEN 'one' WHEN 5 THEN 'five' END", rows) == [
        "one", None, "five"]
    assert values("CASE WHEN x > 3 THEN x END", rows) == [None, None, 5]


def test_coalesce_nullif_if_least_greatest():
    rows = [{"a": None, "b": 2}, {"a": 1, "b": None}, {"a": None, "b": None}]
    assert values("COALESCE(a, b, 0)", rows) == [2, 1, 0]
    assert values("NULLIF(b, 2)", rows) == [None, None, None]
    assert values("IF(a IS NULL, 'no a', 'a')", rows) == ["no a", "a", "no a"]
    # DuckDB: NULLs are ignored; NULL only when every argument is.
    assert values("GREATEST(a, b)", rows) == [2, 1, None]
    assert values("LEAST(a, b, 7)", rows) == [2, 1, 7]
    assert one("GREATEST('b', 'abc')") == "b"
    assert one("LEAST(1, 2.5, 0.25)") == S("0.25")


# --------------------------------------------------------------------------- arithmetic types

@pytest.mark.parametrize("sql, want, type_", [
    ("7 / 2", 3.5, T.DOUBLE),
    ("7 % 3", 1, T.BIGINT),
    ("(0 - 7) % 3", -1, T.BIGINT),
    ("7 * 3", 21, T.BIGINT),
    ("1.50 + 2", S("3.50"), T.DECIMAL(2)),
    ("1.5 * 2.25", S("3.375"), T.DECIMAL(3)),
    ("1.00 / 3", S("0.333333"), T.DECIMAL(6)),
    ("2.00 / 3", S("0.666667"), T.DECIMAL(6)),
    ("1.0 / 8", S("0.12500"), T.DECIMAL(5)),
    ("0.5 + 1e0", 1.5, T.DOUBLE),
    ("7.5 % 2", S("1.5"), T.DECIMAL(1)),
    ("-(0.05)", S("-0.05"), T.DECIMAL(2)),
    ("0 - 0.05", S("-0.05"), T.DECIMAL(2)),
])
def test_arithmetic_result_types(sql, want, type_):
    got, errors, t = ev(sql)
    assert not errors
    assert t == type_
    assert got[0] == want and type(got[0]) is type(want)
    if isinstance(want, ScaledInteger):
        assert got[0].scale == want.scale and str(got[0]) == str(want)


def test_decimal_division_rounds_half_even():
    # 0.000025 / 1 at scale 4+... : 1.0001 / 2 = 0.50005 at scale 5 exactly; 0.00001/2 ties.
    assert str(one("0.0001 / 2")) == "0.00005000"
    assert str(one("x / 4", {"x": S("0.0002")})) == "0.00005000"
    # 1 / 8 = 0.125 -> scale 0+4: 0.1250; 1 / 16 = 0.0625 exact; 1/32 = 0.03125 -> 0.0312 (even)
    assert str(one("1.0 / 32")) == "0.03125"
    assert str(one("x / 32", {"x": S("1")})) == "0.0312"
    assert str(one("x / 32", {"x": S("3")})) == "0.0938"


def test_price_times_quantity_exact_at_scale_4():
    rows = [{"price": S("150.2567"), "quantity": 100}, {"price": S("-0.0500"), "quantity": 3},
            {"price": S("0.0001"), "quantity": 9}]
    got, errors, t = ev("price * quantity", rows)
    assert t == T.DECIMAL(4) and not errors
    assert [str(v) for v in got] == ["15025.6700", "-0.1500", "0.0009"]


def test_decimal_comparisons_exact_across_scales():
    rows = [{"p": S("100.0000")}, {"p": S("100.0001")}, {"p": S("99.9999")}]
    assert values("p > 100", rows) == [False, True, False]
    assert values("p = 100.00", rows) == [True, False, False]
    assert values("p > 100.00005", rows) == [False, True, False]
    assert values("p >= \"100.00\"", rows) == [True, True, False]
    assert values("p < 1e2", rows) == [False, False, True]


def test_bigint_overflow_is_a_row_error_never_a_wrap():
    big = 2 ** 63 - 1
    got, errors, _ = ev("x + 1", [{"x": big}, {"x": 1}])
    assert got == [None, 2] and list(errors) == [0]
    assert "overflow" in errors[0]
    _, errors, _ = ev("x * 2", [{"x": 2 ** 62}])
    assert errors
    _, errors, _ = ev("-x", [{"x": -(2 ** 63)}])
    assert errors
    _, errors, _ = ev("ABS(x)", [{"x": -(2 ** 63)}])
    assert errors


def test_division_by_zero_is_a_row_error_for_every_type():
    rows = [{"i": 0, "d": S("0.00"), "f": 0.0}, {"i": 2, "d": S("2.00"), "f": 2.0}]
    for sql in ("10 / i", "10 % i", "d / d", "d % d", "f / f", "f % f", "MOD(10, i)"):
        got, errors, _ = ev(sql, rows)
        assert list(errors) == [0], sql
        assert errors[0] == "division by zero"
        assert got[0] is None and got[1] is not None


def test_decimal_past_an_int64_mantissa_is_exact_not_a_row_error():
    values, errors, _ = ev("p * p", [{"p": S("92233720368.5477")}])
    assert errors == {} and values == [S("8507059173023450872715.40717529")]
    assert str(values[0]) == "8507059173023450872715.40717529"


def test_double_overflow_is_a_row_error():
    _, errors, _ = ev("f * f", [{"f": 1e300}])
    assert "overflow" in errors[0]


# --------------------------------------------------------------------------- lazy evaluation

def test_lazy_constructs_report_only_rows_that_reach_the_failure():
    rows = [{"x": 0}, {"x": 5}]
    for sql in ("CASE WHEN x = 0 THEN 0 ELSE 10 / x END",
                "IF(x <> 0, 10 / x, NULL)",
                "x <> 0 AND 10 / x > 1",
                "10 / x > 1 AND x <> 0",
                "x = 0 OR 10 / x > 1",
                "COALESCE(CASE WHEN x = 0 THEN 1 END, 10 / x)"):
        _, errors, _ = ev(sql, rows)
        assert not errors, sql


def test_failures_that_decide_the_row_are_reported():
    rows = [{"x": 0}, {"x": 5}]
    for sql in ("COALESCE(10 / x, 0)", "x = 0 AND 10 / x > 1", "10 / x IS NULL",
                "CASE WHEN 10 / x > 1 THEN 1 ELSE 2 END", "x IN (1, 10 / x)",
                "x BETWEEN 10 / x AND 7", "NULLIF(10 / x, 3)", "10 / x = NULL"):
        got, errors, _ = ev(sql, rows)
        assert list(errors) == [0], sql
        assert got[0] is None, sql


# --------------------------------------------------------------------------- coercion

def test_string_literal_compared_with_number_is_numeric():
    rows = [{"price": S("150.25"), "q": 600, "f": 99.5}]
    assert values("price > \"100.00\"", rows) == [True]
    assert values("price > '99.999'", rows) == [True]
    assert values("'100.00' < price", rows) == [True]
    assert values("q > '500'", rows) == [True]
    assert values("f < '100'", rows) == [True]
    assert values("q IN ('600', '700')", rows) == [True]
    assert values("q BETWEEN '1' AND '1000'", rows) == [True]
    assert values("CASE q WHEN '600' THEN 'six' END", rows) == ["six"]


@pytest.mark.parametrize("sql, column", [
    ("price > 'abc'", 9), ("q > '1.5'", 5), ("q IN (1, 'x')", 10),
    ("ts > 'yesterday'", 6), ("b = 'maybe'", 5),
])
def test_string_literal_that_is_not_a_number_is_a_validation_error(sql, column):
    from velostream.errors import SqlValidationError

    rows = [{"price": S("1.00"), "q": 1, "ts": datetime(2024, 1, 1, tzinfo=UTC),
             "b": True}]
    with pytest.raises(SqlValidationError) as info:
        ev(sql, rows)
    assert info.value.line == 1 and info.value.column == column
    assert "is not a valid" in info.value.message


def test_timestamp_compares_with_integers_as_epoch_millis():
    ts = datetime(2024, 1, 1, tzinfo=UTC)
    ms = 1704067200000
    rows = [{"ts": ts}]
    assert values(f"ts = {ms}", rows) == [True]
    assert values(f"ts > {ms - 1}", rows) == [True]
    assert values("ts = '2024-01-01T00:00:00Z'", rows) == [True]
    assert values("ts < '2024-01-01 00:00:00.001'", rows) == [True]
    assert values("ts + 1000 > ts", rows) == [True]
    assert values("ts - ts", rows) == [0]
    assert values("ts + INTERVAL '1' MINUTE", rows) == [datetime(2024, 1, 1, 0, 1,
                                                                 tzinfo=UTC)]


def test_case_branches_are_unified():
    got, _, t = ev("CASE WHEN x > 0 THEN x ELSE 0.5 END", [{"x": 2}, {"x": -1}])
    assert t == T.DECIMAL(1) and got == [S("2.0"), S("0.5")]
    got, _, t = ev("COALESCE(x, 1e0)", [{"x": 2}, {"x": None}])
    assert t == T.DOUBLE and got == [2.0, 1.0]
    got, _, t = ev("CASE WHEN x > 0 THEN x ELSE '7' END", [{"x": 2}, {"x": -1}])
    assert t == T.BIGINT and got == [2, 7]


# --------------------------------------------------------------------------- CAST

@pytest.mark.parametrize("sql, want", [
    ("CAST('12' AS BIGINT)", 12),
    ("CAST(' 12 ' AS INTEGER)", 12),
    ("CAST('1.5' AS BIGINT)", 2),          # DuckDB: a decimal text rounds half away
    ("CAST(2.5 AS BIGINT)", 3),            # DECIMAL -> BIGINT: half away from zero
    ("CAST(-2.5 AS BIGINT)", -3),
    ("CAST(2.5e0 AS BIGINT)", 2),          # DOUBLE -> BIGINT: nearest even
    ("CAST(3.5e0 AS BIGINT)", 4),
    ("CAST(1.005 AS DECIMAL(18,2))", S("1.00")),   # half-even (DIALECT)
    ("CAST(1.015 AS DECIMAL(18,2))", S("1.02")),
    ("CAST(-0.125 AS DECIMAL(18,2))", S("-0.12")),
    ("CAST('150.25' AS DECIMAL(18,4))", S("150.2500")),
    ("CAST('0.1234567890123456789012' AS DECIMAL(18,4))", S("0.1235")),
    ("CAST(7 AS DECIMAL(10,2))", S("7.00")),
    ("CAST(0.1e0 AS DECIMAL(18,4))", S("0.1000")),
    ("CAST(x AS DECIMAL)", S("1.500")),
    ("CAST(1.5 AS DOUBLE)", 1.5),
    ("CAST('1e3' AS DOUBLE)", 1000.0),
    ("CAST(1.50 AS VARCHAR)", "1.50"),
    ("CAST(-0.05 AS STRING)", "-0.05"),
    ("CAST(0.1e0 AS VARCHAR)", "0.1"),
    ("CAST(TRUE AS VARCHAR)", "true"),
    ("CAST(12 AS STRING)", "12"),
    ("CAST('hello' AS VARCHAR(3))", "hel"),
    ("CAST('true' AS BOOLEAN)", True),
    ("CAST('f' AS BOOLEAN)", False),
    ("CAST(0 AS BOOLEAN)", False),
    ("CAST(TRUE AS BIGINT)", 1),
    ("CAST(1704067200000 AS TIMESTAMP)", datetime(2024, 1, 1, tzinfo=UTC)),
    ("CAST('2024-01-01T10:00:00+02:00' AS TIMESTAMP)",
     datetime(2024, 1, 1, 8, tzinfo=UTC)),
    ("CAST(CAST('2024-03-05 10:11:12' AS TIMESTAMP) AS DATE)",
     datetime(2024, 3, 5, tzinfo=UTC)),
    ("CAST(CAST('2024-03-05 10:11:12.5' AS TIMESTAMP) AS VARCHAR)", "2024-03-05T10:11:12.500Z"),
    ("CAST(CAST('2024-03-05 10:11:12.5' AS TIMESTAMP) AS TIME)", "10:11:12.500"),
    ("CAST(NULL AS BIGINT)", None),
])
def test_cast(sql, want):
    got = one(sql, {"x": S("1.5")})
    assert got == want and type(got) is type(want), (got, want)
    if isinstance(want, ScaledInteger):
        assert str(got) == str(want)


@pytest.mark.parametrize("sql", [
    "CAST(s AS BIGINT)", "CAST(s AS DECIMAL(18,2))", "CAST(s AS DOUBLE)",
    "CAST(REPLACE(s, '12', 'yes') AS BOOLEAN)", "CAST(s AS TIMESTAMP)",
    "CAST(big AS DECIMAL(4,2))", "CAST(f AS BIGINT)", "CAST(CONCAT(big, '000000000000000') AS BIGINT)",
])
def test_bad_cast_is_a_row_error(sql):
    rows = [{"s": "abc", "big": 12345, "f": 1e300}, {"s": "12", "big": 12, "f": 1.0}]
    got, errors, _ = ev(sql, rows)
    assert list(errors) == [0], (sql, errors)
    assert "CAST" in errors[0] or "range" in errors[0]
    assert got[0] is None and got[1] is not None


def test_cast_of_a_bad_string_literal_is_a_validation_error():
    from velostream.errors import SqlValidationError

    with pytest.raises(SqlValidationError) as info:
        ev("CAST('abc' AS BIGINT)")
    assert info.value.column == 1


def test_round_decimal_half_away_from_zero_like_duckdb():
    assert str(one("ROUND(2.5)")) == "3"
    assert str(one("ROUND(-2.5)")) == "-3"
    assert str(one("ROUND(1.005, 2)")) == "1.01"
    assert str(one("ROUND(-0.125, 2)")) == "-0.13"
    assert str(one("ROUND(1234.5678, -2)")) == "1200"
    assert one("ROUND(1250, -2)") == 1300
    assert one("ROUND(2.5e0)") == 3.0
    assert one("ROUND(x, 1)", {"x": 0.25}) == 0.3
    assert str(one("ROUND(1.5, 3)")) == "1.5"
    assert str(one("FLOOR(-1.5)")) == "-2" and str(one("CEIL(-1.5)")) == "-1"
    assert str(one("FLOOR(1.5)")) == "1" and str(one("CEIL(1.25)")) == "2"
    assert one("FLOOR(1.5e0)") == 1.0 and one("CEILING(7)") == 7


def test_negative_decimals_between_minus_one_and_zero_keep_their_sign():
    rows = [{"p": S("-0.05")}]
    assert [str(v) for v in values("p * 1", rows)] == ["-0.05"]
    assert [str(v) for v in values("p + 0.000", rows)] == ["-0.050"]
    assert values("CAST(p AS VARCHAR)", rows) == ["-0.05"]
    assert values("p < 0", rows) == [True]
    assert [str(v) for v in values("ABS(p)", rows)] == ["0.05"]
    assert [str(v) for v in values("ROUND(p, 1)", rows)] == ["-0.1"]
    assert [str(v) for v in values("p / 2", rows)] == ["-0.025000"]


def test_decimal_equals_decimal_oracle():
    got = one("CAST(x AS DECIMAL(18,4)) * 3", {"x": Decimal("1.23456")})
    assert str(got) == "3.7038"
