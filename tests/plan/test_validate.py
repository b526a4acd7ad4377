"""plan.validate and plan.functions: each rule with a failing and a passing case, and positions.

Each failing case asserts the message (what a user reads) and the line/column it points at.
"""

import re

import pytest

from tests.corpus import CORPUS, corpus_names, statement_names
from velostream.errors import SqlValidationError
from velostream.grammar import parse_sql, parse_statement
from velostream.plan import functions as F
from velostream.plan.validate import is_grouped, output_name, validate_statement


def findings(sql):
    return validate_statement(parse_statement(sql))


def errors(sql):
    return [f for f in findings(sql) if f.severity == "error"]


def warnings(sql):
    return [f for f in findings(sql) if f.severity == "warning"]


def only_error(sql):
    found = errors(sql)
    assert len(found) == 1, [f.message for f in found]
    return found[0]


def at(finding):
    return finding.line, finding.column


def clean(sql):
    found = findings(sql)
    assert found == [], [(f.severity, f.message) for f in found]


# --------------------------------------------------------------------------- function catalog

DIALECT_FUNCTIONS = """
    IF COALESCE NULLIF LEAST GREATEST ABS ROUND FLOOR CEIL CEILING SQRT POWER POW MOD EXP LN LOG10
    UPPER LOWER LENGTH BYTE_LENGTH SUBSTRING SUBSTR CONCAT CONCAT_WS TRIM LTRIM RTRIM REPLACE LPAD
    RPAD SPLIT_PART POSITION REGEXP_REPLACE LEFT RIGHT CURRENT_TIMESTAMP CURRENT_DATE NOW TIMESTAMP
    DATE_TRUNC DATE_FORMAT FROM_UNIXTIME UNIX_TIMESTAMP TUMBLE_START TUMBLE_END JSON_VALUE
    JSON_EXTRACT JSON_QUERY JSON_EXISTS HEADER
""".split()
AGGREGATES = """
    COUNT SUM AVG MIN MAX STDDEV STDDEV_SAMP STDDEV_POP VARIANCE VAR_SAMP VAR_POP FIRST_VALUE
    LAST_VALUE LISTAGG STRING_AGG MEDIAN APPROX_COUNT_DISTINCT
""".split()
WINDOW_ONLY = "LAG LEAD ROW_NUMBER RANK DENSE_RANK NTH_VALUE PERCENT_RANK CUME_DIST NTILE".split()


def test_catalog_lists_every_dialect_function_with_its_kind():
    for name in DIALECT_FUNCTIONS:
        assert F.lookup(name).kind == F.SCALAR, name
    for name in AGGREGATES:
        assert F.lookup(name).kind == F.AGGREGATE, name
    for name in WINDOW_ONLY:
        assert F.lookup(name).kind == F.WINDOW, name
    assert F.lookup("CAST") is None and F.lookup("EXTRACT") is None  # AST nodes, not functions


def test_catalog_arity_star_distinct():
    assert F.lookup("substr") is F.lookup("SUBSTR")  # any case
    sub = F.lookup("SUBSTRING")
    assert (sub.min_args, sub.max_args) == (2, 3) and sub.arity_text() == "2 or 3 arguments"
    assert F.lookup("CONCAT").max_args is None and F.lookup("CONCAT").arity_text() == (
        "at least 1 argument")
    assert F.lookup("UNIX_TIMESTAMP").accepts(0) and F.lookup("UNIX_TIMESTAMP").accepts(1)
    assert F.lookup("TIMESTAMP").arity_text() == "no arguments"
    assert [n for n, s in F.FUNCTIONS.items() if s.star] == ["COUNT"]
    assert F.lookup("SUM").distinct and not F.lookup("UPPER").distinct
    assert not F.lookup("ROW_NUMBER").distinct
    assert F.lookup("NOPE") is None
    assert F.suggest("SUMM")[0] == "SUM"


# --------------------------------------------------------------------------- functions in queries

def test_unknown_function_is_an_error_at_the_call_with_a_suggestion():
    err = only_error("SELECT a,\n       ROUNDD(price, 2) FROM t")
    assert isinstance(err, SqlValidationError)
    assert err.message == "unknown function ROUNDD"
    assert at(err) == (2, 8)
    assert err.hint == "did you mean ROUND?"
    assert only_error("SELECT QWXZY(a) FROM t").hint is None  # nothing close: no guess


def test_known_functions_pass():
    clean("SELECT ROUND(price, 2), UPPER(s), COALESCE(a, b, c), JSON_VALUE(p, '$.x'), "
          "HEADER('k'), SUBSTRING(s, 1, 3), LEFT(s, 2), POSITION('a' IN s), "
          "UNIX_TIMESTAMP(), UNIX_TIMESTAMP(ts), TIMESTAMP(), NOW(), CURRENT_DATE, "
          "EXTRACT(HOUR FROM ts) AS h, CONCAT_WS('-', a, b) AS cw FROM t")


@pytest.mark.parametrize("call, expected", [
    ("ROUND(x, 1, 2)", "ROUND expects 1 or 2 arguments, got 3"),
    ("JSON_VALUE(p)", "JSON_VALUE expects 2 arguments, got 1"),
    ("NOW(1)", "NOW expects no arguments, got 1"),
    ("CONCAT_WS('-')", "CONCAT_WS expects at least 2 arguments, got 1"),
    ("IF(a, b)", "IF expects 3 arguments, got 2"),
    ("LAG(x, 1, 0, 9) OVER (ORDER BY ts)", "LAG expects 1 to 3 arguments, got 4"),
])
def test_wrong_argument_count_names_the_expected_counts(call, expected):
    err = only_error(f"SELECT {call} AS v FROM t")
    assert err.message == expected
    assert at(err) == (1, 8)


def test_star_only_in_count():
    err = only_error("SELECT k, SUM(*) FROM t GROUP BY k")
    assert err.message == "'*' is only allowed in COUNT(*), not in SUM(*)"
    assert at(err) == (1, 11)
    clean("SELECT k, COUNT(*) FROM t GROUP BY k")


def test_distinct_only_in_aggregates():
    err = only_error("SELECT UPPER(DISTINCT s) FROM t")
    assert err.message == ("DISTINCT is only allowed in aggregate functions; "
                           "UPPER is not an aggregate")
    assert at(err) == (1, 8)
    clean("SELECT COUNT(DISTINCT s) AS n, APPROX_COUNT_DISTINCT(s) AS m FROM t")


def test_cast_and_extract_check_their_operands():
    assert only_error("SELECT CAST(NOPE(x) AS INT) AS v FROM t").message == "unknown function NOPE"
    assert only_error("SELECT EXTRACT(YEAR FROM NOPE(ts)) AS y FROM t").message == (
        "unknown function NOPE")


# --------------------------------------------------------------------------- aggregate placement

@pytest.mark.parametrize("sql, message, pos", [
    ("SELECT a FROM t WHERE SUM(x) > 1", "aggregate function SUM is not allowed in WHERE", (1, 23)),
    ("SELECT COUNT(*) AS n FROM t GROUP BY MAX(a)",
     "aggregate function MAX is not allowed in GROUP BY",
     (1, 38)),
    ("SELECT a.x FROM a JOIN b ON COUNT(*) > 1",
     "aggregate function COUNT is not allowed in JOIN ON",
     (1, 29)),
    ("SELECT k, SUM(COUNT(x)) FROM t GROUP BY k",
     "aggregate function calls cannot be nested: COUNT inside SUM", (1, 15)),
    ("SELECT k, RANK() OVER (ORDER BY SUM(x)) AS r FROM t GROUP BY k",
     "aggregate function SUM is not allowed in the PARTITION BY or ORDER BY of a window", (1, 33)),
    ("SELECT LAG(x) OVER (PARTITION BY MAX(y)) AS l FROM t",
     "aggregate function MAX is not allowed in the PARTITION BY or ORDER BY of a window", (1, 34)),
])
def test_aggregates_where_they_cannot_be(sql, message, pos):
    err = next(e for e in errors(sql) if "aggregate function" in e.message)
    assert err.message == message
    assert at(err) == pos


def test_aggregate_in_where_hints_at_having():
    assert errors("SELECT a FROM t WHERE SUM(x) > 1")[0].hint == "filter on aggregates with HAVING"


def test_aggregates_where_they_belong():
    clean("SELECT k, SUM(x) AS s FROM t WHERE x > 0 GROUP BY k HAVING SUM(x) > 10 ORDER BY SUM(x)")


# --------------------------------------------------------------------------- window functions

def test_window_only_function_needs_over():
    err = only_error("SELECT symbol,\n  LAG(price, 1) AS prev FROM trades")
    assert err.message == "LAG requires an OVER (…) clause"
    assert at(err) == (2, 3)
    assert only_error("SELECT ROW_NUMBER() AS n FROM t").message == (
        "ROW_NUMBER requires an OVER (…) clause")
    clean("SELECT symbol, LAG(price, 1) OVER (PARTITION BY symbol ORDER BY ts) AS prev, "
          "ROW_NUMBER() OVER (PARTITION BY symbol) AS n, NTILE(4) OVER (ORDER BY ts) AS q "
          "FROM trades")


def test_over_on_a_scalar_function_is_an_error():
    err = only_error("SELECT UPPER(s) OVER (PARTITION BY k) AS u FROM t")
    assert err.message == ("UPPER is not a window function; OVER (…) applies only to aggregates "
                           "and window functions")
    assert at(err) == (1, 8)


def test_aggregate_with_over_is_a_moving_aggregate_and_does_not_group():
    sql = ("SELECT symbol, price, AVG(price) OVER (PARTITION BY symbol ORDER BY ts "
           "ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS ma FROM trades")
    clean(sql)
    assert not is_grouped(parse_statement(sql))
    # …so a WINDOW clause still has no aggregation to apply to.
    err = only_error("SELECT symbol, AVG(price) OVER (PARTITION BY symbol) AS ma FROM trades "
                     "WINDOW TUMBLING(1m)")
    assert err.message.startswith("WINDOW needs an aggregation")


def test_window_function_in_where_is_an_error():
    err = only_error("SELECT x FROM t\nWHERE ROW_NUMBER() OVER (ORDER BY ts) > 1")
    assert err.message == "window function ROW_NUMBER(…) OVER (…) is not allowed in WHERE"
    assert at(err) == (2, 7)


def test_window_function_nested_in_an_aggregate_is_an_error():
    err = only_error("SELECT k, SUM(LAG(x) OVER (ORDER BY ts)) AS s FROM t GROUP BY k")
    assert err.message == "window function LAG cannot be nested inside SUM"
    assert at(err) == (1, 15)


# --------------------------------------------------------------------------- the grouping rule

def test_column_outside_group_by_and_aggregate_is_an_error_naming_it():
    err = only_error("SELECT symbol, SUM(price) FROM trades GROUP BY side")
    assert err.message == ("column 'symbol' is neither in GROUP BY nor inside an aggregate "
                           "function; add it to GROUP BY or wrap it in an aggregate such as "
                           "MAX(symbol)")
    assert at(err) == (1, 8)


def test_aggregate_without_group_by_makes_the_query_grouped():
    err = only_error("SELECT device,\n       COUNT(*) FROM t")
    assert "column 'device'" in err.message and at(err) == (1, 8)
    clean("SELECT COUNT(*) AS n FROM t LIMIT 1")


def test_grouping_checks_having_and_order_by_too():
    err = only_error("SELECT k, COUNT(*) AS n FROM t GROUP BY k HAVING v > 1")
    assert "column 'v'" in err.message and at(err) == (1, 50)
    err = only_error("SELECT k, COUNT(*) AS n FROM t GROUP BY k ORDER BY v")
    assert "column 'v'" in err.message and at(err) == (1, 52)


def test_a_column_is_reported_once():
    found = errors("SELECT k, v, v + 1 AS w, COUNT(*) AS n FROM t GROUP BY k HAVING v > 0")
    assert [e.message.split("'")[1] for e in found] == ["v"]


def test_grouped_columns_match_case_insensitively_and_through_qualifiers():
    clean("SELECT o.Customer_ID, SUM(o.amount) AS total FROM orders o GROUP BY customer_id")
    clean("SELECT customer_id, SUM(amount) AS total FROM orders GROUP BY orders.customer_id")
    # a qualifier that is not a source is a nested field, not the same column
    err = only_error("SELECT payload.k, COUNT(*) AS n FROM t GROUP BY k")
    assert "column 'payload.k'" in err.message


def test_two_sources_with_the_same_column_name_are_different_columns():
    err = only_error("SELECT b.id, COUNT(*) AS n FROM a JOIN b ON a.id = b.id GROUP BY a.id")
    assert "column 'b.id'" in err.message


def test_expressions_matching_a_group_by_expression_as_a_whole_pass():
    clean("SELECT UPPER(k) AS uk, COUNT(*) AS n FROM t GROUP BY UPPER(K)")
    clean("SELECT JSON_VALUE(p, '$.id') AS id, COUNT(*) AS n FROM t GROUP BY JSON_VALUE(p, '$.id')")
    clean("SELECT k, k * 2 AS k2, UPPER(k) AS uk FROM t GROUP BY k")  # built from grouped parts
    err = only_error("SELECT UPPER(k) AS uk, COUNT(*) AS n FROM t GROUP BY LOWER(k)")
    assert "column 'k'" in err.message


def test_select_aliases_may_be_referenced_in_having_and_order_by():
    clean("SELECT k, SUM(x) AS total FROM t GROUP BY k HAVING total > 10 ORDER BY total DESC")


def test_group_by_an_alias_or_an_ordinal():
    clean("SELECT JSON_VALUE(p, '$.id') AS id, COUNT(*) AS n FROM t GROUP BY id")
    clean("SELECT UPPER(k) AS uk, COUNT(*) AS n FROM t GROUP BY 1")
    err = errors("SELECT k, COUNT(*) AS n FROM t GROUP BY 3")[0]
    assert err.message == "GROUP BY position 3 is not in the select list (1 to 2)"
    assert at(err) == (1, 41)


def test_constants_and_niladic_functions_need_no_grouping():
    clean("SELECT k, 'x' AS tag, 1 + 2 AS three, CURRENT_TIMESTAMP AS at, NOW() AS n2, "
          "COUNT(*) AS n FROM t GROUP BY k")


def test_window_pseudo_columns_in_a_windowed_aggregation():
    clean("SELECT k, _window_start, _window_end, TUMBLE_START() AS ws, COUNT(*) AS n FROM t "
          "WINDOW TUMBLING(1m) GROUP BY k")
    found = findings("SELECT k, _window_start, COUNT(*) AS n FROM t GROUP BY k")
    assert [f.severity for f in found] == ["warning", "error"]
    assert found[0].message == ("_window_start only has a value in a windowed aggregation "
                                "(a query with a WINDOW clause)")
    assert "column '_window_start'" in found[1].message and at(found[1]) == (1, 11)


def test_other_pseudo_columns_are_known_but_still_per_record():
    clean("SELECT _timestamp, _offset, _partition, _key, _topic, _event_time FROM t")
    clean("SELECT _partition, COUNT(*) AS n FROM t GROUP BY _partition")
    assert "column '_offset'" in only_error(
        "SELECT _partition, _offset, COUNT(*) AS n FROM t GROUP BY _partition").message


def test_star_in_an_aggregating_query():
    err = only_error("SELECT *, COUNT(*) AS n FROM t")
    assert err.message == "SELECT * cannot be used in an aggregating query"
    assert at(err) == (1, 8)
    clean("SELECT * FROM t")


# --------------------------------------------------------------------------- HAVING / EMIT / WINDOW

def test_having_needs_an_aggregation():
    err = only_error("SELECT a FROM t\nHAVING a > 1")
    assert err.message == "HAVING needs GROUP BY or an aggregate function"
    assert at(err) == (2, 10)  # the comparison's operator
    clean("SELECT COUNT(*) AS n FROM t HAVING COUNT(*) > 1")  # aggregate, no GROUP BY: fine
    clean("SELECT k FROM t GROUP BY k HAVING k > 1")  # GROUP BY, no aggregate: fine


def test_emit_on_a_query_without_aggregation_is_a_warning():
    found = findings("SELECT a FROM t EMIT FINAL")
    assert [(f.severity, f.message) for f in found] == [
        ("warning", "EMIT FINAL has no effect on a query without aggregation")]
    assert at(found[0]) == (1, 1)
    assert warnings("SELECT a FROM t EMIT CHANGES")[0].message.startswith("EMIT CHANGES")
    clean("SELECT k, COUNT(*) AS n FROM t WINDOW TUMBLING(1m) GROUP BY k EMIT CHANGES")


def test_window_needs_an_aggregation():
    err = only_error("SELECT a FROM t\nWINDOW TUMBLING(5m)")
    assert err.message == "WINDOW needs an aggregation (GROUP BY or an aggregate function)"
    assert at(err) == (2, 8)
    clean("SELECT COUNT(*) AS n FROM t WINDOW SESSION(TIMEOUT 30 MINUTES)")


# --------------------------------------------------------------------------- CAST

@pytest.mark.parametrize("type_", [
    "BOOLEAN", "BOOL", "INTEGER", "INT", "BIGINT", "SMALLINT", "TINYINT", "FLOAT", "DOUBLE", "REAL",
    "DECIMAL", "DECIMAL(18)", "DECIMAL(18,4)", "NUMERIC(38, 38)", "STRING", "VARCHAR",
    "VARCHAR(20)", "TEXT", "CHAR(1)", "TIMESTAMP", "TIMESTAMP(3)", "DATE", "TIME",
])
def test_cast_to_a_valid_type(type_):
    clean(f"SELECT CAST(x AS {type_}) AS v FROM t")


def test_cast_to_an_unknown_type_lists_the_valid_ones():
    err = only_error("SELECT\n  CAST(x AS DOUBEL) AS v FROM t")
    assert err.message.startswith("unknown type DOUBEL in CAST; expected one of BOOLEAN, BOOL, ")
    assert "DECIMAL" in err.message and "TIMESTAMP" in err.message
    assert at(err) == (2, 13)
    assert err.hint == "did you mean DOUBLE?"


def test_cast_string_form_is_checked_too():
    clean("SELECT CAST(JSON_VALUE(payload, '$.temperature'), 'FLOAT') AS temp FROM t")
    err = only_error("SELECT CAST(x, 'FLAOT') AS v FROM t")
    assert err.message.startswith("unknown type FLAOT in CAST") and at(err) == (1, 16)


@pytest.mark.parametrize("type_, message", [
    ("DECIMAL(40, 2)", "DECIMAL(40, 2): precision must be between 1 and 38, got 40"),
    ("DECIMAL(0)", "DECIMAL(0): precision must be between 1 and 38, got 0"),
    ("DECIMAL(10, 11)", "DECIMAL(10, 11): scale must be between 0 and the precision (10), got 11"),
    ("INT(11)", "type INT takes no parameters, got INT(11)"),
    ("VARCHAR(10, 2)", "type VARCHAR takes at most 1 parameter, got VARCHAR(10, 2)"),
    ("VARCHAR(0)", "VARCHAR(0): length must be at least 1, got 0"),
])
def test_cast_type_parameters(type_, message):
    err = only_error(f"SELECT CAST(x AS {type_}) AS v FROM t")
    assert err.message == message and at(err) == (1, 18)


# --------------------------------------------------------------------------- LIMIT, output names

def test_limit_zero_is_a_warning():
    found = findings("SELECT a FROM t LIMIT 0")
    assert [(f.severity, f.message) for f in found] == [("warning", "LIMIT 0 returns no rows")]
    clean("SELECT a FROM t LIMIT 1")


def test_duplicate_output_names():
    err = only_error("SELECT a.id,\n       b.id FROM a JOIN b ON a.id = b.id")
    assert err.message == "duplicate output column name 'id' (first at line 1, column 8)"
    assert at(err) == (2, 8)
    assert err.hint == "give one of them a different alias with AS"
    err = only_error("SELECT x AS total, y AS TOTAL FROM t")  # case-insensitive
    assert "'TOTAL'" in err.message
    clean("SELECT a.id, b.id AS b_id FROM a JOIN b ON a.id = b.id")
    clean("SELECT x + 1, x + 1, * FROM t")  # unnamed expressions have no output name yet


def test_output_name():
    items = parse_statement("SELECT a.b, c AS d, 1 + 2, * FROM t").items
    assert [output_name(i) for i in items] == ["b", "d", None, None]


# --------------------------------------------------------------------------- literal comparisons

def test_string_literal_compared_with_a_number_must_be_numeric():
    err = only_error("SELECT a FROM t WHERE 1 > 'abc'")
    assert err.message == "string 'abc' is compared with a number but is not a number"
    assert at(err) == (1, 27)
    assert only_error("SELECT a FROM t WHERE 'x' = -2.5").message.startswith("string 'x'")
    clean("SELECT a FROM t WHERE 5 = '5' AND 1.5 < ' 2.25 ' AND price > \"100.00\"")
    clean("SELECT a FROM t WHERE trade_time NOT BETWEEN '09:30:00' AND '16:00:00'")


# --------------------------------------------------------------------------- statement kinds

def test_statements_without_a_query_have_nothing_to_validate():
    for sql in ("SHOW JOBS", "STOP JOB j", "DESCRIBE s"):
        assert validate_statement(parse_statement(sql)) == []


def test_create_and_start_job_bodies_are_validated():
    for sql in ("CREATE STREAM s AS SELECT NOPE(a) FROM t",
                "CREATE TABLE s AS SELECT NOPE(a) FROM t",
                "START JOB j AS SELECT NOPE(a) FROM t",
                "START JOB j AS (CREATE STREAM s AS SELECT NOPE(a) FROM t)"):
        assert [e.message for e in errors(sql)] == ["unknown function NOPE"], sql


def test_findings_carry_source_for_rendering():
    text = "SELECT SUMM(x) FROM t"
    err = validate_statement(parse_statement(text))[0].with_source(text, "q.sql")
    assert err.format().splitlines()[:3] == [
        "q.sql:1:8: error: unknown function SUMM", "  SELECT SUMM(x) FROM t", "         ^"]


# --------------------------------------------------------------------------- the corpus

@pytest.mark.parametrize("name", statement_names())
def test_corpus_statements_have_no_validation_errors(name):
    text = (CORPUS / name).read_text()
    script = parse_sql(text, name)
    for stmt in script.statements:
        found = [e.with_source(text, name).format() for e in validate_statement(stmt)
                 if e.severity == "error"]
        assert found == []


def test_corpus_is_present():
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    assert len(corpus_names()) >= 60


def test_rule_messages_never_leak_python_reprs():
    # every message is plain text a user can read: no "<velostream…object>" or "Column(parts=…)"
    sql = ("SELECT k, SUMM(x), ROUND(1,2,3), UPPER(DISTINCT k), CAST(x AS FOO) AS c, "
           "LAG(x) AS l FROM t WHERE COUNT(*) > 1 GROUP BY k HAVING v > 1")
    for f in findings(sql):
        assert not re.search(r"<|\w+\(parts=", f.message), f.message

