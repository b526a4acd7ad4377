"""``EXPLAIN <statement>``: parsed into ``Explain(statement)``, printed back, validated as the
statement it explains (findings at their positions in the text) and described with kind
``explain``; EXPLAIN stays usable as a column name."""

import pytest

from velostream.errors import SqlSyntaxError
from velostream.grammar import ast as A
from velostream.grammar import parse_sql, parse_statement, to_sql
from velostream.plan import check, describe_statement, validate_endpoints, validate_statement

EXPLAINED = [
    "SELECT a, b * 2 AS c FROM t WHERE x > 5",
    "CREATE STREAM s AS SELECT symbol, COUNT(*) FROM trades GROUP BY symbol WINDOW TUMBLING(5m)",
    "CREATE TABLE t2 AS SELECT k, MAX(v) FROM t GROUP BY k",
    "START JOB j AS SELECT * FROM t INTO out WITH ('out.type' = 'stdout_sink')",
    "STOP JOB j",
    "SHOW STREAMS",
    "DESCRIBE t",
]


@pytest.mark.parametrize("sql", EXPLAINED)
def test_explain_wraps_the_statement_and_round_trips(sql):
    stmt = parse_statement("EXPLAIN " + sql)
    assert isinstance(stmt, A.Explain) and isinstance(stmt, A.STATEMENT_TYPES)
    assert stmt.statement == parse_statement(sql)
    assert stmt.pos == A.Pos(1, 1)
    printed = to_sql(stmt)
    assert printed.startswith("EXPLAIN ")
    assert parse_statement(printed) == stmt
    assert to_sql(parse_sql(printed + ";\n" + printed)) == to_sql(parse_sql(f"{printed}; {printed}"))


def test_explain_in_a_script_keeps_positions_and_ends():
    script = parse_sql("SELECT 1 FROM t;\n  explain SELECT a\nFROM u;")
    _, second = script.statements
    assert isinstance(second, A.Explain)
    assert second.pos == A.Pos(2, 3)
    assert second.statement.pos == A.Pos(2, 11)
    assert second.end == second.statement.end == A.Pos(3, 7)


def test_explain_is_still_a_column_name():
    stmt = parse_statement("SELECT explain FROM t WHERE explain > 1")
    assert isinstance(stmt, A.Select)
    assert stmt.items[0].expr == A.Column(("explain",))
    assert to_sql(stmt).startswith("SELECT explain")


@pytest.mark.parametrize("sql, column, fragment", [
    ("EXPLAIN", 8, "unexpected end of input; expected one of CREATE"),
    ("EXPLAIN EXPLAIN SELECT a FROM t", 9, "unexpected keyword EXPLAIN"),
    ("EXPLAIN SELECT a FROM", 22, "unexpected end of input; expected identifier"),
    ("EXPLAIN t", 9, "unexpected identifier 't'"),
])
def test_explain_syntax_errors_name_line_and_column(sql, column, fragment):
    with pytest.raises(SqlSyntaxError) as info:
        parse_sql(sql)
    assert (info.value.line, info.value.column) == (1, column)
    assert fragment in info.value.message


def _found(findings):
    return [(f.severity, f.message, f.line, f.column) for f in findings]


def test_validation_checks_the_explained_statement_at_its_positions():
    inner = "SELECT FOO(a), b, COUNT(*) FROM t\nWHERE SUM(x) > 1"
    stmt = parse_statement("EXPLAIN\n" + inner)
    findings = _found(validate_statement(stmt))
    # the same findings as the statement alone, one line further down
    alone = _found(validate_statement(parse_statement(inner)))
    assert findings and findings == [(s, m, line + 1, c) for s, m, line, c in alone]
    assert ("error", "unknown function FOO", 2, 8) in findings


def test_endpoint_validation_and_check_see_the_explained_statement():
    sql = "EXPLAIN SELECT a FROM t WITH ('t.type' = 'file_source', 't.bogus' = 'x')"
    stmt = parse_statement(sql)
    alone = parse_statement(sql[len("EXPLAIN "):])
    shifted = [(s, m, line, c + len("EXPLAIN ")) for s, m, line, c in _found(check(alone))]
    assert _found(validate_endpoints(stmt)) and _found(check(stmt)) == shifted
    assert any("'t.bogus'" in m and (line, c) == (1, 57) for _, m, line, c in shifted)


def test_describe_explain_is_the_explained_statement_with_kind_explain():
    sql = "CREATE STREAM s AS SELECT a FROM t JOIN u ON t.k = u.k WITHIN 5m INTO out"
    stmt = parse_statement("EXPLAIN " + sql)
    info = describe_statement(stmt)
    inner = describe_statement(stmt.statement)
    assert info.kind == "explain" and inner.kind == "create_stream"
    assert info.to_dict() == dict(inner.to_dict(), kind="explain")
    assert [e.name for e in info.sources] == ["t", "u"] and info.sinks[0].name == "out"
    assert describe_statement(parse_statement("EXPLAIN SHOW JOBS")).kind == "explain"


def test_explain_runs_nothing():
    assert A.query_of(parse_statement("EXPLAIN SELECT a FROM t")) is None


def test_explain_in_an_application_file_is_the_job_it_explains():
    from velostream.grammar.appfile import parse_application

    app = parse_application("-- SQL Application: a\nSELECT a FROM t;\n\nEXPLAIN SELECT b FROM u;\n")
    assert [type(j.statement).__name__ for j in app.jobs] == ["Select", "Explain"]
    assert app.jobs[1].statement.statement.items[0].expr.parts == ("b",)
    assert not app.warnings
