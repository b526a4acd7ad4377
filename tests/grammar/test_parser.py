"""The dialect of DIALECT.md §1–§8 parses into the expected AST, and every statement round-trips."""

import pytest

from velostream.grammar import ast as A
from velostream.grammar import parse_expression, parse_sql, parse_statement, parse_window, to_sql


def one(sql):
    stmt = parse_statement(sql)
    assert parse_statement(to_sql(stmt)) == stmt, to_sql(stmt)
    return stmt


def expr(text):
    node = parse_expression(text)
    assert parse_expression(to_sql(node)) == node, to_sql(node)
    return node


# Statements covering every construct of the dialect; each must parse and round-trip.
DIALECT_STATEMENTS = [
    # §1 lexical
    "select A, b FROM t where a = 'it''s'",
    'SELECT symbol FROM trades WHERE price > "100.00"',
    "SELECT `select`, `my col` FROM `my-topic`",
    "SELECT 12, 1.5, 1e3, 1.5e-2, -x, - -1 FROM t",
    "SELECT a /* block\n comment */ FROM t -- trailing",
    "SELECT a || b, a % 2, a <> b, a != b, a <= b, a >= b FROM t",
    "SELECT a FROM t WHERE NOT a = 1 AND b OR c",
    # §2 statements
    "SELECT DISTINCT a, t.*, * FROM t WHERE x GROUP BY a HAVING COUNT(*) > 1 ORDER BY a DESC NULLS LAST LIMIT 5 EMIT CHANGES",
    "SELECT a FROM t GROUP BY a WINDOW TUMBLING(5m)",
    "SELECT a FROM t WINDOW TUMBLING(5m) GROUP BY a",
    "SELECT a, COUNT(*) FROM t GROUP BY a EMIT FINAL",
    "SELECT a FROM t EMIT CHANGES LIMIT 10",
    "SELECT a FROM t INTO x, y WITH ('x.type' = 'kafka_sink', 'y.type' = 'file_sink')",
    "CREATE STREAM s AS SELECT * FROM t",
    "CREATE TABLE totals AS SELECT k AS k PRIMARY KEY, SUM(v) AS total FROM t GROUP BY k",
    "START JOB j AS SELECT * FROM t",
    "START JOB j AS (SELECT * FROM t)",
    "START JOB j AS CREATE STREAM s AS SELECT * FROM t",
    "STOP JOB j", "PAUSE JOB j", "RESUME JOB j",
    "SHOW JOBS", "SHOW STREAMS", "SHOW TABLES", "DESCRIBE trades",
    "SELECT 1 AS test_value LIMIT 1",
    # §3 types
    "SELECT CAST(price AS DECIMAL(18,4)), CAST(x AS VARCHAR(10)), CAST(y AS TIMESTAMP) FROM t",
    "SELECT CAST(JSON_VALUE(payload, '$.t'), 'FLOAT') FROM t",
    "SELECT a[1], m['k'], s.field, a[1].x FROM t",
    "SELECT TRUE, FALSE, NULL FROM t",
    # §4 expressions and functions
    "SELECT CASE WHEN a > 1 THEN 'x' WHEN a > 0 THEN 'y' ELSE 'z' END FROM t",
    "SELECT CASE a WHEN 1 THEN 'one' END FROM t",
    "SELECT a FROM t WHERE a IN (1, 2) AND b NOT IN ('x') AND c BETWEEN 1 AND 10 AND d NOT BETWEEN 0 AND 1",
    "SELECT a FROM t WHERE s LIKE 'A%' AND s NOT LIKE '_b' AND x IS NULL AND y IS NOT NULL",
    "SELECT COALESCE(a, b), NULLIF(a, 0), IF(a > 0, 'p', 'n'), LEAST(a, b), GREATEST(a, b) FROM t",
    "SELECT ABS(x), ROUND(x, 2), FLOOR(x), CEIL(x), SQRT(x), POWER(x, 2), MOD(x, 3), EXP(x), LN(x), LOG10(x) FROM t",
    "SELECT UPPER(s), LOWER(s), LENGTH(s), SUBSTRING(s, 1, 2), LEFT(s, 2), RIGHT(s, 2), POSITION('a' IN s), TRIM(s) FROM t",
    "SELECT CURRENT_TIMESTAMP, NOW(), TIMESTAMP(), EXTRACT(HOUR FROM ts), DATE_TRUNC('hour', ts) FROM t",
    "SELECT JSON_VALUE(p, '$.a'), HEADER('trace-id') FROM t",
    # §5 aggregation, windows
    "SELECT COUNT(*), COUNT(x), COUNT(DISTINCT x), SUM(x), AVG(x), MIN(x), MAX(x), STDDEV(x), MEDIAN(x) FROM t",
    "SELECT k FROM t GROUP BY k WINDOW TUMBLING(ts, 1h)",
    "SELECT k FROM t GROUP BY k WINDOW TUMBLING(INTERVAL 1 MINUTE)",
    "SELECT k FROM t GROUP BY k WINDOW TUMBLING (INTERVAL '5' MINUTE)",
    "SELECT k FROM t GROUP BY k WINDOW SLIDING(5m, 1m)",
    "SELECT k FROM t GROUP BY k WINDOW SLIDING(10m)",
    "SELECT k FROM t GROUP BY k WINDOW HOPPING(1h, 500ms)",
    "SELECT k FROM t GROUP BY k WINDOW SESSION(30s)",
    "SELECT k FROM t GROUP BY k WINDOW SESSION (TIMEOUT 30 MINUTES)",
    "SELECT k FROM t GROUP BY k WINDOW TUMBLING(60)",
    "SELECT k FROM t GROUP BY k WINDOW TUMBLING(1d)",
    "SELECT _window_start, _window_end, _timestamp, _offset, _partition, _key, _topic, _event_time FROM t",
    "SELECT AVG(p) OVER (PARTITION BY s ORDER BY ts ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) FROM t",
    "SELECT SUM(p) OVER (ORDER BY ts RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW) FROM t",
    "SELECT SUM(p) OVER (ROWS UNBOUNDED PRECEDING) FROM t",
    "SELECT ROW_NUMBER() OVER (), RANK() OVER (ORDER BY a DESC) FROM t",
    "SELECT LAG(p, 1) OVER (ROWS WINDOW BUFFER 100 ROWS PARTITION BY s ORDER BY ts) FROM t",
    "SELECT LEAD(p) OVER (ROWS WINDOW BUFFER 10 ROWS) FROM t",
    # §6 joins
    "SELECT * FROM a JOIN b ON a.id = b.id",
    "SELECT * FROM a INNER JOIN b ON a.id = b.id WITHIN INTERVAL '5' MINUTES",
    "SELECT * FROM a LEFT JOIN b ON a.id = b.id WITHIN 30s",
    "SELECT * FROM a LEFT OUTER JOIN b ON a.id = b.id",
    "SELECT * FROM a RIGHT JOIN b ON a.id = b.id",
    "SELECT * FROM a RIGHT OUTER JOIN b ON a.id = b.id",
    "SELECT * FROM a FULL OUTER JOIN b ON a.id = b.id",
    "SELECT * FROM a FULL JOIN b ON a.id = b.id WITHIN 1 HOUR",
    "SELECT * FROM a CROSS JOIN b",
    "SELECT * FROM a x, b y",
    "SELECT * FROM a JOIN b ON a.k = b.k AND b.t BETWEEN a.t - INTERVAL '5' MINUTE AND a.t + INTERVAL '5' MINUTE",
    # §7 WITH
    "SELECT * FROM s WITH ('s.type' = 'kafka_source', 's.topic' = 'x', 'batch.size' = 100, 'use_transactions' = true)",
]


@pytest.mark.parametrize("sql", DIALECT_STATEMENTS)
def test_dialect_statement_parses_and_round_trips(sql):
    one(sql)


def test_select_shape():
    s = one("SELECT DISTINCT a AS x, b FROM t WHERE a > 1 GROUP BY a, b HAVING COUNT(*) > 2 "
            "ORDER BY x DESC LIMIT 3 EMIT CHANGES INTO out WITH ('out.type' = 'stdout_sink')")
    assert isinstance(s, A.Select)
    assert s.distinct
    assert s.items[0] == A.SelectItem(A.Column(("a",)), "x")
    assert s.from_ == A.TableRef("t")
    assert s.where == A.BinaryOp(">", A.Column(("a",)), A.IntegerLit(1))
    assert s.group_by == (A.Column(("a",)), A.Column(("b",)))
    assert s.having.left == A.FunctionCall("COUNT", star=True)
    assert s.order_by == (A.OrderItem(A.Column(("x",)), descending=True),)
    assert (s.limit, s.emit) == (3, "CHANGES")
    assert s.into == (A.SinkRef("out"),)
    assert s.properties == (A.Property("out.type", "stdout_sink"),)


def test_window_before_or_after_group_by_is_the_same_query():
    a = one("SELECT k, COUNT(*) FROM t WINDOW TUMBLING(5m) GROUP BY k")
    b = one("SELECT k, COUNT(*) FROM t GROUP BY k WINDOW TUMBLING(5m)")
    assert a == b
    assert a.window == A.Window("TUMBLING", A.Interval(5, "MINUTE"))


@pytest.mark.parametrize("spelling", [
    "TUMBLING(5m)", "TUMBLING(300)", "TUMBLING(300s)", "TUMBLING(INTERVAL 5 MINUTES)",
    "TUMBLING (INTERVAL '5' MINUTE)", "TUMBLING(INTERVAL '300' SECONDS)",
])
def test_window_spellings_agree_on_length(spelling):
    window = parse_window(spelling)
    assert window.kind == "TUMBLING"
    assert A.interval_millis(window.size) == 300_000


def test_window_shapes():
    assert parse_window("SLIDING(5m, 1m)") == A.Window(
        "SLIDING", A.Interval(5, "MINUTE"), advance=A.Interval(1, "MINUTE"))
    assert parse_window("TUMBLING(market_data.trade_time, INTERVAL '5' MINUTE)") == A.Window(
        "TUMBLING", A.Interval(5, "MINUTE"), A.Column(("market_data", "trade_time")))
    assert parse_window("SESSION (TIMEOUT 30 MINUTES)") == A.Window("SESSION", A.Interval(30, "MINUTE"))
    assert parse_window("HOPPING(ts, 1h, 10m)").time_column == A.Column(("ts",))
    assert parse_window("SLIDING(500ms)").size == A.Interval(500, "MILLISECOND")


def test_precedence():
    assert expr("1 + 2 * 3") == A.BinaryOp("+", A.IntegerLit(1), A.BinaryOp("*", A.IntegerLit(2), A.IntegerLit(3)))
    assert expr("a OR b AND c").op == "OR"
    assert expr("NOT a = b") == A.UnaryOp("NOT", A.BinaryOp("=", A.Column(("a",)), A.Column(("b",))))
    between = expr("x BETWEEN 1 AND 2 AND y")
    assert between.op == "AND" and isinstance(between.left, A.Between)
    assert expr("a - b - c").left == A.BinaryOp("-", A.Column(("a",)), A.Column(("b",)))
    assert expr("(a - b) * c").op == "*"
    assert expr("-a * b").left == A.UnaryOp("-", A.Column(("a",)))
    assert expr("a || b = c").op == "="


def test_literals_keep_their_exact_text():
    assert expr("100.0000") == A.DecimalLit("100.0000")
    assert expr(".5") == A.DecimalLit("0.5")
    assert expr("1.5e-2") == A.FloatLit("1.5e-2")
    assert expr("9223372036854775807") == A.IntegerLit(2**63 - 1)
    assert expr("'it''s'") == A.StringLit("it's")
    assert expr('"100.00"') == A.StringLit("100.00")


def test_keywords_are_case_insensitive_and_identifiers_keep_spelling():
    s = one("sElEcT Price, sum(Qty) fRoM Trades group BY Price")
    assert s.items[0].expr == A.Column(("Price",))
    assert s.items[1].expr.name == "SUM"
    assert s.from_.name == "Trades"


def test_non_reserved_words_are_columns():
    s = one("SELECT timestamp, status, key, start, rows, first, position FROM t WHERE condition")
    assert [i.expr for i in s.items] == [A.Column((n,)) for n in
                                         ("timestamp", "status", "key", "start", "rows", "first", "position")]
    assert s.where == A.Column(("condition",))
    assert one("SELECT timestamp() FROM t").items[0].expr == A.FunctionCall("TIMESTAMP")


def test_niladic_functions_but_quoted_identifier_stays_a_column():
    s = one("SELECT CURRENT_TIMESTAMP, `CURRENT_TIMESTAMP` FROM t")
    assert s.items[0].expr == A.FunctionCall("CURRENT_TIMESTAMP")
    assert s.items[1].expr == A.Column(("CURRENT_TIMESTAMP",))


def test_joins_are_left_deep_with_within():
    s = one("SELECT * FROM o JOIN c ON o.cid = c.id LEFT JOIN p ON o.pid = p.id WITHIN INTERVAL '5' MINUTES")
    top = s.from_
    assert top.kind == "LEFT" and top.right == A.TableRef("p")
    assert top.within == A.Interval(5, "MINUTE")
    assert top.left.kind == "INNER" and top.left.left == A.TableRef("o")
    comma = one("SELECT * FROM kafka_source k, file_source f").from_
    assert comma == A.Join("CROSS", A.TableRef("kafka_source", "k"), A.TableRef("file_source", "f"))


def test_over_forms():
    s = one("SELECT LAG(price, 1) OVER (ROWS WINDOW BUFFER 100 ROWS PARTITION BY symbol ORDER BY ts) FROM t")
    over = s.items[0].expr.over
    assert over.buffer_rows == 100
    assert over.partition_by == (A.Column(("symbol",)),)
    moving = one("SELECT AVG(p) OVER (PARTITION BY s ORDER BY ts ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) FROM t")
    frame = moving.items[0].expr.over.frame
    assert frame == A.Frame("ROWS", A.FrameBound("PRECEDING", A.IntegerLit(4)), A.FrameBound("CURRENT ROW"))


def test_create_and_jobs():
    s = one("START JOB j AS CREATE STREAM out AS SELECT * FROM t INTO sink1")
    assert isinstance(s, A.StartJob) and isinstance(s.body, A.CreateStream)
    assert A.query_of(s).into == (A.SinkRef("sink1"),)
    assert one("STOP JOB j") == A.JobCommand("STOP", "j")
    assert one("SHOW JOBS") == A.Show("JOBS")


def test_script_positions_and_ends():
    text = "SELECT a FROM t;\n\n  SELECT b\n  FROM u;\nSHOW JOBS"
    script = parse_sql(text)
    first, second, third = script.statements
    assert (first.pos, first.end) == (A.Pos(1, 1), A.Pos(1, 16))
    assert (second.pos, second.end) == (A.Pos(3, 3), A.Pos(4, 9))
    assert third.pos == A.Pos(5, 1) and third.end == A.Pos(5, 9)
    assert second.items[0].expr.pos == A.Pos(3, 10)
    assert second.from_.pos == A.Pos(4, 8)


def test_empty_statements_and_trailing_semicolons():
    assert len(parse_sql(";;SELECT 1;;").statements) == 1
    assert parse_sql("-- only a comment\n").statements == ()


def test_ast_nodes_are_immutable_and_compare_structurally():
    a = parse_expression("x + 1")
    b = parse_expression("  x   +   1")
    assert a == b and hash(a) == hash(b) and a.pos != b.pos
    with pytest.raises(AttributeError):
        a.op = "-"
    assert a.replace(op="-").op == "-"
    assert "BinaryOp(op='+'" in repr(a)


def test_printer_output_is_readable():
    text = to_sql(parse_statement("select a,b from t where x>1 group by a window tumbling(5m)"))
    assert text == "SELECT a, b\nFROM t\nWHERE x > 1\nGROUP BY a\nWINDOW TUMBLING(INTERVAL '5' MINUTE)"
