"""velo-sql execute end to end over files: W1 exact, formats, LIMIT, failures, pseudo-columns."""

import csv
import io
import json

import pytest
from click.testing import CliRunner

from tests.runtime.conftest import W1, make_trades, read_jsonl, source, w1_oracle, write_jsonl
from velostream.cli.main import cli


def execute(*args, stdin=None):
    return CliRunner().invoke(cli, ["execute", *args], input=stdin, catch_exceptions=False)


def test_w1_file_to_file_is_exact(trades, tmp_path):
    path, rows = trades
    out = tmp_path / "out.jsonl"
    result = execute("--query", W1 + source(path), "--output", "file", "--output-file", str(out),
                     "--format", "json-lines")
    assert result.exit_code == 0, result.output
    assert read_jsonl(out) == w1_oracle(rows)


def test_w1_to_stdout_json_lines(trades):
    path, rows = trades
    result = execute("--query", W1 + source(path), "--format", "json-lines")
    assert result.exit_code == 0, result.output
    got = [json.loads(line) for line in result.stdout.splitlines()]
    assert got == w1_oracle(rows)


@pytest.mark.parametrize("fmt", ["json", "json-pretty", "json-lines", "csv", "table"])
def test_every_output_format(trades, fmt):
    path, rows = trades
    result = execute("--query", W1 + source(path), "--format", fmt, "--limit", "3")
    assert result.exit_code == 0, result.output
    expected = w1_oracle(rows)[:3]
    text = result.stdout
    if fmt in ("json", "json-pretty"):
        assert json.loads(text) == expected
    elif fmt == "json-lines":
        assert [json.loads(x) for x in text.splitlines()] == expected
    elif fmt == "csv":
        parsed = list(csv.DictReader(io.StringIO(text)))
        assert [r["notional"] for r in parsed] == [e["notional"] for e in expected]
        assert [int(r["trade_id"]) for r in parsed] == [e["trade_id"] for e in expected]
    else:
        for name in ("trade_id", "symbol", "notional"):
            assert name in text
        assert expected[0]["notional"] in text


def test_limit_stops_the_job_early(tmp_path):
    rows = make_trades(300_000)
    path = tmp_path / "big.jsonl"
    write_jsonl(path, rows)
    result = CliRunner().invoke(cli, ["execute", "--stats", "--format", "json-lines", "--limit", "5",
                                      "--query", W1 + source(path)], catch_exceptions=False)
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 5
    records_in = int(result.stderr.split(":")[1].split("records in")[0])
    assert records_in < len(rows)        # it stopped reading once the LIMIT was reached


def test_select_without_from():
    result = execute("--query", "SELECT 1 AS test_value LIMIT 1", "--format", "json-lines")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"test_value": 1}


def test_distinct_and_order_by(trades):
    path, rows = trades
    sql = ("SELECT DISTINCT symbol FROM trades ORDER BY symbol DESC " + source(path))
    result = execute("--query", sql, "--format", "json-lines")
    assert result.exit_code == 0, result.output
    got = [json.loads(x)["symbol"] for x in result.stdout.splitlines()]
    assert got == sorted({r["symbol"] for r in rows}, reverse=True)


def test_case_and_string_functions(trades):
    path, rows = trades
    sql = ("SELECT trade_id, CASE WHEN quantity >= 1000 THEN 'LARGE' ELSE 'SMALL' END AS size, "
           "LOWER(symbol) AS sym FROM trades WHERE side = 'BUY' LIMIT 50 " + source(path))
    result = execute("--query", sql, "--format", "json-lines")
    assert result.exit_code == 0, result.output
    got = [json.loads(x) for x in result.stdout.splitlines()]
    expected = [{"trade_id": r["trade_id"], "size": "LARGE" if r["quantity"] >= 1000 else "SMALL",
                 "sym": r["symbol"].lower()} for r in rows if r["side"] == "BUY"][:50]
    assert got == expected


def test_pseudo_columns_of_files(trades):
    path, _ = trades
    sql = "SELECT _offset, _partition, trade_id FROM trades LIMIT 3 " + source(path)
    result = execute("--query", sql, "--format", "json-lines")
    assert result.exit_code == 0, result.output
    got = [json.loads(x) for x in result.stdout.splitlines()]
    assert got == [{"_offset": i, "_partition": 0, "trade_id": i} for i in (1, 2, 3)]


def _with_bad_lines(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"a": 1, "b": 2}\n{"a": 2, "b": \n{"a": 3, "b": 0}\nnot json\n{"a": 4, "b": 4}\n')
    return path


def test_malformed_lines_are_counted_and_skipped_with_log_and_continue(tmp_path):
    path = _with_bad_lines(tmp_path)
    sql = "SELECT a, a / b AS q FROM s " + source(path, "s")
    result = CliRunner().invoke(cli, ["execute", "--stats", "--format", "json-lines", "--query", sql])
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r["a"] for r in rows] == [1, 4]          # line 3 divides by zero, 2 and 4 are not JSON
    assert "3 failed" in result.stderr
    *warnings, summary = [x for x in result.stderr.splitlines() if x.startswith("warning:")]
    assert [w.split(": ")[1] for w in warnings] == [f"{path}:2", f"{path}:4", f"{path}:3"]
    assert summary == ("warning: job_1: 5 records in, 2 out, 3 failed (decode error: 2, "
                       "division by zero: 1)")
    assert [w.endswith(f"; {n} failed so far)") for n, w in enumerate(warnings, 1)] == [True] * 3


def test_fail_batch_stops_with_the_location(tmp_path):
    path = _with_bad_lines(tmp_path)
    sql = "SELECT a FROM s " + source(path, "s", extra=", 'failure_strategy' = 'FailBatch'")
    result = CliRunner().invoke(cli, ["execute", "--format", "json-lines", "--query", sql])
    assert result.exit_code == 1
    assert "mixed.jsonl:2" in result.stderr and "FailBatch" in result.stderr
    assert "Traceback" not in result.output


def test_send_to_dlq_writes_the_record_and_the_reason(tmp_path):
    path = _with_bad_lines(tmp_path)
    dlq = tmp_path / "dlq" / "bad.jsonl"
    sql = ("SELECT a, a / b AS q FROM s " +
           source(path, "s", extra=f", 'failure_strategy' = 'SendToDLQ', 'dlq.path' = '{dlq}'"))
    result = CliRunner().invoke(cli, ["execute", "--format", "json-lines", "--query", sql])
    assert result.exit_code == 0, result.output
    entries = read_jsonl(dlq)
    assert sorted(e["line"] for e in entries) == [2, 3, 4]
    by_line = {e["line"]: e for e in entries}
    assert by_line[4]["raw"] == "not json"
    assert by_line[3]["record"] == {"a": 3, "b": 0}
    assert all(e["error"] for e in entries)


def test_csv_source(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('id,name,price\n1,"Smith, J",10.50\n2,"say ""hi""",3\n3,,0.25\n')
    sql = "SELECT id, name, price * 2 AS double_price FROM t " + source(path, "t", "csv")
    result = execute("--query", sql, "--format", "json-lines")
    assert result.exit_code == 0, result.output
    got = [json.loads(x) for x in result.stdout.splitlines()]
    assert got == [{"id": 1, "name": "Smith, J", "double_price": "21.00"},
                   {"id": 2, "name": 'say "hi"', "double_price": "6"},
                   {"id": 3, "name": None, "double_price": "0.50"}]


def test_missing_type_names_the_key():
    result = CliRunner().invoke(cli, ["execute", "--query", "SELECT * FROM orders"])
    assert result.exit_code == 1
    assert "orders.type" in result.stderr and "Traceback" not in result.output


def test_unsupported_query_shapes_say_so():
    sql = ("SELECT t.k FROM t FULL JOIN u ON t.k = u.k WITH ('t.type' = 'file_source', "
           "'t.path' = 'x.jsonl', 'u.type' = 'file_source', 'u.path' = 'y.jsonl')")
    result = CliRunner().invoke(cli, ["execute", "--query", sql])
    assert result.exit_code == 1
    assert "not supported by this build yet" in result.stderr
    assert "<query>:1:" in result.stderr


def test_quickstart_runs(tmp_path, monkeypatch):
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    (tmp_path / "examples" / "quickstart").mkdir(parents=True)
    for name in ("app.sql", "trades.jsonl"):
        shutil.copy(root / "examples" / "quickstart" / name, tmp_path / "examples" / "quickstart" / name)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["execute", "--file", "examples/quickstart/app.sql",
                                      "--format", "json-lines"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    printed = [json.loads(x) for x in result.stdout.splitlines()]
    written = read_jsonl(tmp_path / "large_trades.jsonl")
    assert printed == written and printed
    source_rows = read_jsonl(tmp_path / "examples" / "quickstart" / "trades.jsonl")
    assert len(printed) == sum(1 for r in source_rows if r["quantity"] > 500)
    assert all(r["size_class"] in ("BLOCK", "LARGE", "NORMAL") for r in printed)


def test_sources_and_sinks_from_yaml_config_files(trades, tmp_path, monkeypatch):
    """DIALECT §7: '<name>.config_file' YAML with extends and ${VAR}; inline WITH keys win."""
    path, rows = trades
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "base.yaml").write_text("format: jsonl\nappend: false\n")
    (configs / "prod_trades.yaml").write_text(f"extends: base.yaml\npath: {path}\n")
    (configs / "out.yaml").write_text("extends: base.yaml\npath: ${OUT_DIR}/from-yaml.jsonl\n")
    monkeypatch.setenv("ENVIRONMENT", "prod")
    monkeypatch.setenv("OUT_DIR", str(tmp_path))
    sql = (W1 + "INTO out" +
           f" WITH ('trades.type' = 'file_source', "
           f"'trades.config_file' = '{configs}/${{ENVIRONMENT:-dev}}_trades.yaml', "
           f"'out.type' = 'file_sink', 'out.config_file' = '{configs}/out.yaml', "
           f"'out.path' = '{tmp_path}/inline-wins.jsonl')")
    result = execute("--query", sql)
    assert result.exit_code == 0, result.output
    assert read_jsonl(tmp_path / "inline-wins.jsonl") == w1_oracle(rows)
    assert not (tmp_path / "from-yaml.jsonl").exists()


def test_yaml_config_error_names_the_file_key_and_line(tmp_path, monkeypatch):
    monkeypatch.delenv("DATA_DIR", raising=False)
    config = tmp_path / "t.yaml"
    config.write_text("format: jsonl\npath: ${DATA_DIR}/t.jsonl\n")
    sql = f"SELECT * FROM t WITH ('t.type' = 'file_source', 't.config_file' = '{config}')"
    result = CliRunner().invoke(cli, ["execute", "--query", sql])
    assert result.exit_code == 1
    assert f"{config}:2: path: environment variable DATA_DIR is not set" in result.stderr
    assert "Traceback" not in result.output


def test_declared_field_types(tmp_path):
    """'<source>.schema.<field>' declares a type; values that do not fit go to the failure strategy."""
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": 1, "price": "12.5"}\n{"id": 2, "price": "abc"}\n{"id": 3, "price": 3}\n'
                    '{"id": 4, "price": 123456789.123}\n')
    sql = ("SELECT id, price, price * 2 AS d FROM t " +
           source(path, "t", extra=", 't.schema.price' = 'DECIMAL(10,2)'"))
    result = execute("--query", sql, "--format", "json-lines")
    assert result.exit_code == 0, result.output
    assert [json.loads(x) for x in result.stdout.splitlines()] == [
        {"id": 1, "price": "12.50", "d": "25.00"}, {"id": 3, "price": "3.00", "d": "6.00"}]
    assert f"{path}:2: field 'price': \"abc\" is not a valid DECIMAL(10,2)" in result.stderr
    assert f"{path}:4: field 'price': 123456789.123 does not fit DECIMAL(10,2)" in result.stderr


def test_unknown_declared_type_names_the_key(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": 1}\n')
    sql = "SELECT id FROM t " + source(path, "t", extra=", 't.schema.price' = 'MONEY'")
    result = CliRunner().invoke(cli, ["execute", "--query", sql])
    assert result.exit_code == 1
    assert "error: <query>:1: t.schema.price: unsupported type 'MONEY'" in result.stderr


@pytest.mark.parametrize("delimiter", [";;", '"', ""])
def test_bad_csv_delimiter_names_the_key(tmp_path, delimiter):
    path = tmp_path / "t.csv"
    path.write_text("a\n1\n")
    sql = "SELECT a FROM t " + source(path, "t", "csv", f", 't.delimiter' = '{delimiter}'")
    result = CliRunner().invoke(cli, ["execute", "--query", sql])
    assert result.exit_code == 1
    assert "error: <query>:1: t.delimiter: must be one single-byte character" in result.stderr


def test_tab_delimited_csv(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("a\tb\n1\tx,y\n")
    result = execute("--query", "SELECT a, b FROM t " + source(path, "t", "csv", ", 't.delimiter' = 'tab'"),
                     "--format", "json-lines")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"a": 1, "b": "x,y"}


def test_job_property_values_are_checked_after_overrides(trades):
    path, _ = trades
    sql = W1 + source(path)
    bad = CliRunner().invoke(cli, ["execute", "--query", sql, "-p", "batch.size=abc"])
    assert bad.exit_code == 1
    assert "error: batch.size: must be an integer ≥ 1; got 'abc'" in bad.stderr
    typo = CliRunner().invoke(cli, ["execute", "--query", sql, "-p", "trades.failure_strategy=FailBach"])
    assert typo.exit_code == 1
    assert "trades.failure_strategy: must be one of" in typo.stderr and "did you mean FailBatch" in typo.stderr


def test_config_errors_name_the_file_and_line_the_key_was_set_in(tmp_path):
    data = tmp_path / "t.csv"
    data.write_text("a\n1\n")
    app = tmp_path / "app.sql"
    app.write_text(f"SELECT a FROM t\nWITH (\n  't.type' = 'file_source',\n  't.path' = '{data}',\n"
                   "  't.format' = 'csv', 't.delimiter' = ';;',\n  'batch.size' = 'x'\n);\n")
    in_sql = CliRunner().invoke(cli, ["execute", "--file", str(app)])
    assert in_sql.exit_code == 1
    assert f"error: {app}:6: batch.size: must be an integer" in in_sql.stderr
    at_run_time = CliRunner().invoke(cli, ["execute", "--file", str(app), "-p", "batch.size=5"])
    assert f"error: {app}:5: t.delimiter: must be one single-byte character" in at_run_time.stderr
    overridden = CliRunner().invoke(cli, ["execute", "--file", str(app), "-p", "batch.size=5",
                                          "-p", "t.delimiter=xx"])
    assert "error: t.delimiter: must be one single-byte character" in overridden.stderr
    assert "got 'xx'" in overridden.stderr


def test_config_error_from_yaml_names_the_yaml_file(tmp_path):
    config = tmp_path / "t.yaml"
    config.write_text("format: csv\npath: x.csv\nfailure_strategy: Nope\n")
    sql = f"SELECT a FROM t WITH ('t.type' = 'file', 't.config_file' = '{config}')"
    result = CliRunner().invoke(cli, ["execute", "--query", sql])
    assert result.exit_code == 1
    assert f"error: {config}: t.failure_strategy: must be one of" in result.stderr


@pytest.mark.parametrize(("fmt", "values", "expected"), [
    ("epoch_millis", ["1700000000123", "0"], ["2023-11-14T22:13:20.123Z", "1970-01-01T00:00:00.000Z"]),
    ("epoch_seconds", ["1700000000", "1700000000.5"],
     ["2023-11-14T22:13:20.000Z", "2023-11-14T22:13:20.500Z"]),
    ("iso8601", ['"2024-03-01T12:00:00Z"', '"2024-03-01T12:00:00.250+01:00"'],
     ["2024-03-01T12:00:00.000Z", "2024-03-01T11:00:00.250Z"]),
    ("%d/%m/%Y %H:%M", ['"01/03/2024 12:30"', '"31/12/1999 23:59"'],
     ["2024-03-01T12:30:00.000Z", "1999-12-31T23:59:00.000Z"]),
])
def test_event_time_field_and_format(tmp_path, fmt, values, expected):
    path = tmp_path / "e.jsonl"
    path.write_text("".join(f'{{"id": {i}, "ts": {v}}}\n' for i, v in enumerate(values)))
    extra = f", 'e.event.time.field' = 'ts', 'e.event.time.format' = '{fmt}'"
    result = execute("--query", "SELECT id, _event_time AS t FROM e " + source(path, "e", extra=extra),
                     "--format", "json-lines")
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["t"] for x in result.stdout.splitlines()] == expected
    assert "warning" not in result.stderr


def test_records_without_a_readable_event_time_are_failures_not_null_times(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text('{"id": 1, "ts": 1000}\n{"id": 2}\n{"id": 3, "ts": null}\n'
                    '{"id": 4, "ts": 9223372036854775807}\n{"id": 5, "ts": 2000}\n')
    extra = ", 'e.event.time.field' = 'ts'"
    result = execute("--query", "SELECT id FROM e " + source(path, "e", extra=extra), "--stats",
                     "--format", "json-lines")
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == [1, 5]
    assert f"{path}:2: event-time field 'ts' is missing or NULL" in result.stderr
    assert f"{path}:3: event-time field 'ts' is missing or NULL" in result.stderr
    assert f"{path}:4: event time ts=9223372036854775807 is out of range" in result.stderr
    assert "3 failed" in result.stderr


def test_event_time_field_absent_from_every_record_names_it(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text('{"id": 1}\n')
    extra = ", 'e.event.time.field' = 'event_ts'"
    result = execute("--query", "SELECT id FROM e " + source(path, "e", extra=extra))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert f"{path}:1: event-time field 'event_ts' is missing or NULL" in result.stderr


@pytest.mark.parametrize("literal", ["'١٢٣'", "'１２'"])
def test_non_ascii_digits_compared_with_a_number_are_not_a_number(tmp_path, literal):
    # Found in review: the planner's pattern took '١٢٣' for a BIGINT literal (the run-time
    # casts do not), so the error said "does not fit BIGINT".
    path = tmp_path / "t.jsonl"
    path.write_text('{"a": 1}\n')
    result = execute("--query", f"SELECT a FROM t WHERE a = {literal} " + source(path, "t"))
    assert result.exit_code == 1
    assert f"error: string {literal} is compared with a BIGINT but is not a valid BIGINT" in (
        result.output)


def test_a_long_literal_in_an_error_is_cut(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"a": 1}\n')
    long = "9" * 5000
    result = execute("--query", f"SELECT a FROM t WHERE a = '{long}' " + source(path, "t"))
    assert result.exit_code == 1
    message = result.output.splitlines()[0]         # then the query line and its caret
    assert "does not fit BIGINT" in message and "(5,002 characters)" in message
    assert long not in message
