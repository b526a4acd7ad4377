"""``velo-sql validate`` and ``velo-sql-multi validate-sql``: exit codes, reports, carets, JSON."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.corpus import CORPUS, statement_names
from velostream.cli.main import cli as velo_sql
from velostream.cli.multi import cli as velo_sql_multi
from velostream.plan.file_check import check_sql_file

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart" / "app.sql"


def run(cli, args, stdin=None):
    return CliRunner().invoke(cli, args, input=stdin, catch_exceptions=False)


def test_quickstart_is_valid_and_described():
    result = run(velo_sql, ["validate", str(QUICKSTART)])
    assert result.exit_code == 0, result.output
    assert "valid — 1 job, 0 errors" in result.output
    assert "job large_trades (line 6)" in result.output
    assert "trades (file_source" in result.output
    assert "large_trades_file (file_sink" in result.output
    assert "console (stdout_sink" in result.output


def test_syntax_error_from_stdin_has_position_and_caret():
    result = run(velo_sql, ["validate", "-"], "SELECT a,\nFROM t")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    line = next(i for i, text in enumerate(lines) if text.startswith("<stdin>:2:1: error: unexpected keyword FROM"))
    assert lines[line + 1] == "  FROM t"
    assert lines[line + 2] == "  ^"
    assert "Traceback" not in result.output


def test_validation_error_exit_code_and_caret():
    result = run(velo_sql, ["validate", "-"], "SELECT symbol, SUM(price) FROM trades GROUP BY side")
    assert result.exit_code == 1
    assert "<stdin>:1:8: error:" in result.output
    assert "symbol" in result.output
    assert "         ^" in result.output.splitlines()


def test_unknown_function_is_rejected_with_suggestion():
    result = run(velo_sql, ["validate", "-"], "SELECT SUMM(x) FROM t")
    assert result.exit_code == 1
    assert "<stdin>:1:8: error:" in result.output and "SUMM" in result.output


def test_json_format():
    result = run(velo_sql, ["validate", "--format", "json", str(QUICKSTART)])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["valid"] is True and data["errors"] == []
    job = data["jobs"][0]
    assert job["name"] == "large_trades"
    assert [s["name"] for s in job["sources"]] == ["trades"]
    assert {s["name"] for s in job["sinks"]} == {"large_trades_file", "console"}
    bad = run(velo_sql, ["validate", "--format", "json", "-"], "SELECT FROM")
    assert bad.exit_code == 1
    err = json.loads(bad.output)["errors"][0]
    assert (err["line"], err["column"], err["kind"]) == (1, 8, "syntax")


def test_strict_turns_warnings_into_failure():
    sql = "SELECT a FROM t EMIT CHANGES"  # EMIT on a query that does not aggregate: a warning
    assert run(velo_sql, ["validate", "-"], sql).exit_code == 0
    assert run(velo_sql, ["validate", "--strict", "-"], sql).exit_code == 1


def test_missing_file_is_a_clean_error():
    result = CliRunner().invoke(velo_sql, ["validate", "/nonexistent/x.sql"])
    assert result.exit_code != 0
    assert "x.sql" in result.output and "Traceback" not in result.output


def test_internal_errors_print_no_traceback_unless_debug(monkeypatch):
    import velostream.plan.file_check as fc

    def boom(text, name):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(fc, "check_sql_file", boom)
    result = CliRunner().invoke(velo_sql, ["validate", "-"], input="SELECT 1")
    assert result.exit_code == 2
    assert "internal error: RuntimeError: kaboom" in result.output
    assert "Traceback" not in result.output
    debug = CliRunner().invoke(velo_sql, ["--debug", "validate", "-"], input="SELECT 1")
    assert isinstance(debug.exception, RuntimeError)


def test_help_reads_well():
    top = run(velo_sql, ["--help"]).output
    assert "validate" in top and "Examples:" in top
    sub = run(velo_sql, ["validate", "--help"]).output
    assert "FILE|-" in sub and "--format [text|json]" in sub and "caret" in sub
    multi = run(velo_sql_multi, ["validate-sql", "--help"]).output
    assert "--file FILE" in multi


def test_multi_validate_sql_lists_jobs():
    if not CORPUS.is_dir():
        pytest.skip("shared corpus not present")
    path = CORPUS / "operations-guide-10.sql"
    result = run(velo_sql_multi, ["validate-sql", "--file", str(path)])
    assert result.exit_code == 0, result.output
    for job in ("order_processor", "customer_segments", "inventory_monitor", "fraud_detector"):
        assert f"job {job} " in result.output
    assert "TUMBLING" in result.output
    both = run(velo_sql_multi, ["validate-sql", "--format", "json", "--file", str(path), "--file", str(QUICKSTART)])
    data = json.loads(both.output)
    assert data["valid"] is True and len(data["files"]) == 2


# Statements of the dialect tests that parse but are rejected by validation, with the reason.
DIALECT_INVALID = {
    "SELECT DISTINCT a, t.*, *": "'*' in an aggregating query (the statement packs every clause for the parser)",
}


def test_dialect_statements_validate():
    from tests.grammar.test_parser import DIALECT_STATEMENTS

    for sql in DIALECT_STATEMENTS:
        report = check_sql_file(sql, "dialect.sql")
        expected_invalid = any(sql.startswith(prefix) for prefix in DIALECT_INVALID)
        assert bool(report.errors) == expected_invalid, [e.format() for e in report.errors] or sql


def test_window_directive_that_disagrees_with_the_query_is_a_warning():
    sql = ("-- JOB: j\n-- WINDOW: SLIDING (INTERVAL 5 MINUTES)\n"
           "START JOB j AS SELECT k, COUNT(*) FROM t GROUP BY k WINDOW SLIDING(5m, 1m);")
    report = check_sql_file(sql, "w.sql")
    assert not report.errors
    (warning,) = [w for w in report.warnings if "WINDOW directive" in w.message]
    assert (warning.line, warning.column) == (2, 12)
    same = sql.replace("SLIDING(5m, 1m)", "SLIDING(INTERVAL 5 MINUTES)")
    assert not [w for w in check_sql_file(same, "w.sql").warnings if "WINDOW directive" in w.message]


def test_every_corpus_application_validates():
    if not CORPUS.is_dir():
        pytest.skip("shared corpus not present")
    failures = {}
    for name in statement_names():
        path = CORPUS / name
        report = check_sql_file(path.read_text(), path.name)
        if report.errors:
            failures[path.name] = [e.format() for e in report.errors]
    assert failures == {}


@pytest.mark.skipif(shutil.which("velo-sql") is None, reason="console scripts not installed")
def test_console_scripts_are_installed():
    out = subprocess.run(["velo-sql", "validate", str(QUICKSTART)], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    out = subprocess.run(["velo-sql-multi", "validate-sql", "--file", "-"], input="SELECT",
                         capture_output=True, text=True, check=False)
    assert out.returncode == 1 and "<stdin>:1:7: error: unexpected end of input" in out.stderr
