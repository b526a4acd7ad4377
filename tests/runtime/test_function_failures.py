"""End to end: a value a function cannot produce fails its record (with file:line), never the
job; ``--format table`` shows the same text as the other formats (issue 10)."""

import json

import pytest
from click.testing import CliRunner

from tests.runtime.conftest import source
from velostream.cli.main import cli


def execute(*args):
    return CliRunner().invoke(cli, ["execute", *args], catch_exceptions=False)


def test_max_string_bytes_is_a_job_property(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"s": "ab", "n": 3}\n{"s": "ab", "n": 100000000000}\n{"s": "cd", "n": 11}\n')
    sql = ("SELECT LPAD(s, n, 'x') AS p FROM s " +
           source(path, "s", extra=", 'max_string_bytes' = '10'"))
    result = execute("--format", "json-lines", "--stats", "--query", sql)
    assert result.exit_code == 0, result.output
    assert [json.loads(x) for x in result.stdout.splitlines()] == [{"p": "xab"}]
    assert f"{path}:2: LPAD: result would be 100,000,000,000 bytes" in result.stderr
    assert f"{path}:3: LPAD: result would be 11 bytes, more than max_string_bytes (10)" in result.stderr
    assert "internal error" not in result.output


def test_default_cap_fails_the_row_not_the_job(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"s": "ab"}\n{"s": "cd"}\n')
    sql = "SELECT s, LPAD(s, 100000000000, 'x') AS p FROM s " + source(path, "s")
    result = execute("--format", "json-lines", "--query", sql)
    assert result.exit_code == 0 and result.stdout == "", result.output
    assert result.stderr.count("max_string_bytes (16,777,216)") == 2


def test_bad_max_string_bytes_names_the_key(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"s": "ab"}\n')
    sql = "SELECT s FROM s " + source(path, "s", extra=", 'max_string_bytes' = 'lots'")
    result = CliRunner().invoke(cli, ["execute", "--query", sql])
    assert result.exit_code != 0 and "max_string_bytes" in result.stderr
    assert "Traceback" not in result.output


def test_regex_pattern_from_the_data_cannot_hang_the_job(tmp_path, no_hang):
    path = tmp_path / "s.jsonl"
    path.write_text('{"s": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "p": "(a+)+b"}\n'
                    '{"s": "abab", "p": "(a)b\\\\1"}\n{"s": "banana", "p": "a"}\n')
    sql = "SELECT REGEXP_REPLACE(s, p, 'X') AS r FROM s " + source(path, "s")
    result = execute("--format", "json-lines", "--query", sql)
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["r"] for x in result.stdout.splitlines()] == ["a" * 36, "bXnXnX"]
    assert f"{path}:2: REGEXP_REPLACE: invalid regular expression" in result.stderr
    assert "backreferences" in result.stderr


@pytest.mark.parametrize("pattern", ["(a)\\1", "x(?=y)"])
def test_unsupported_constant_pattern_is_refused_before_running(tmp_path, pattern):
    path = tmp_path / "s.jsonl"
    path.write_text('{"s": "ab"}\n')
    sql = f"SELECT REGEXP_REPLACE(s, '{pattern}', 'X') AS r FROM s " + source(path, "s")
    result = CliRunner().invoke(cli, ["execute", "--query", sql])
    assert result.exit_code != 0 and "RE2" in result.stderr and "not supported" in result.stderr
    assert "Traceback" not in result.output and "internal error" not in result.output


# --------------------------------------------------------------------------- TIMESTAMP past 9999

def _timestamps(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"ts": 1700000000000}\n{"ts": 253402300800000}\n{"ts": 99999999999999999}\n')
    return path, ", 't.schema.ts' = 'TIMESTAMP'"


@pytest.mark.parametrize("fmt", ["table", "json-lines", "csv", "json-pretty"])
def test_timestamp_past_year_9999_prints_in_every_format(tmp_path, fmt):
    path, extra = _timestamps(tmp_path)
    sql = "SELECT ts, CAST(ts AS VARCHAR) AS v FROM t " + source(path, "t", extra=extra)
    result = execute("--format", fmt, "--query", sql)
    assert result.exit_code == 0, result.output
    for text in ("2023-11-14T22:13:20.000Z", "10000-01-01T00:00:00.000Z",
                 "3170843-11-07T09:46:39.999Z"):
        assert result.stdout.count(text) == 2, (text, result.stdout)


def test_date_format_past_year_9999_fails_the_row(tmp_path):
    path, extra = _timestamps(tmp_path)
    sql = "SELECT DATE_FORMAT(ts, '%Y') AS y FROM t " + source(path, "t", extra=extra)
    result = execute("--format", "json-lines", "--query", sql)
    assert result.exit_code == 0, result.output
    assert [json.loads(x) for x in result.stdout.splitlines()] == [{"y": "2023"}]
    assert (f"{path}:2: DATE_FORMAT: TIMESTAMP 10000-01-01T00:00:00.000Z is outside years "
            "1..9999") in result.stderr
    assert f"{path}:3: DATE_FORMAT: TIMESTAMP 3170843-11-07T09:46:39.999Z" in result.stderr
    assert "internal error" not in result.output


def test_dlq_record_of_a_timestamp_past_9999(tmp_path):
    path, extra = _timestamps(tmp_path)
    dlq = tmp_path / "dlq.jsonl"
    extra += f", 'failure_strategy' = 'SendToDLQ', 'dlq.path' = '{dlq}'"
    sql = "SELECT DATE_FORMAT(ts, '%Y') AS y FROM t " + source(path, "t", extra=extra)
    result = execute("--format", "json-lines", "--query", sql)
    assert result.exit_code == 0, result.output
    entries = [json.loads(x) for x in dlq.read_text().splitlines()]
    assert [e["record"]["ts"] for e in entries] == ["10000-01-01T00:00:00.000Z",
                                                    "3170843-11-07T09:46:39.999Z"]


# --------------------------------------------------------------------------- --format table

def test_table_cells_are_sql_text_not_python_reprs(tmp_path):
    path = tmp_path / "v.jsonl"
    path.write_text('{"d": 5.250, "b": true, "o": {"a": 5.25}, "s": "[red]x"}\n'
                    '{"d": null, "b": false, "o": null, "s": null}\n')
    sql = "SELECT d, b, o, s FROM v " + source(path, "v")
    table = execute("--format", "table", "--query", sql)
    assert table.exit_code == 0, table.output
    cells = [[c.strip() for c in line.split("│")[1:-1]]
             for line in table.stdout.splitlines() if line.startswith("│")]
    assert cells == [["5.250", "true", '{"a":"5.25"}', "[red]x"],
                     ["NULL", "false", "NULL", "NULL"]]
    csv = execute("--format", "csv", "--query", sql)
    assert csv.stdout.splitlines()[1] == '5.250,true,"{""a"":""5.25""}",[red]x'


def test_table_timestamps_are_iso_8601_like_json(tmp_path):
    path = tmp_path / "v.jsonl"
    path.write_text('{"ts": 1700000000123}\n')
    sql = "SELECT ts FROM v " + source(path, "v", extra=", 'v.schema.ts' = 'TIMESTAMP'")
    table = execute("--format", "table", "--query", sql)
    assert "│ 2023-11-14T22:13:20.123Z │" in table.stdout, table.stdout
    pretty = execute("--format", "json-pretty", "--query", sql)
    assert json.loads(pretty.stdout) == [{"ts": "2023-11-14T22:13:20.123Z"}]


def test_event_time_texts_fail_their_record_in_plain_words(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text('{"id": 1, "ts": "abc"}\n{"id": 2, "ts": "1e999999999"}\n'
                    '{"id": 3, "ts": "1700000000000"}\n')
    extra = ", 'e.event.time.field' = 'ts'"
    result = execute("--format", "json-lines", "--query", "SELECT id FROM e " + source(path, "e", extra=extra))
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == [3]
    assert f"{path}:1: event time ts='abc' is not epoch_millis: not a number" in result.stderr
    assert f"{path}:2: event time ts='1e999999999' is out of range for epoch_millis" in result.stderr
    assert "decimal." not in result.stderr and "<class" not in result.stderr


def test_declared_timestamp_event_time_past_9999_fails_its_record(tmp_path):
    path, extra = _timestamps(tmp_path)
    extra += ", 't.event.time.field' = 'ts'"
    result = execute("--format", "json-lines", "--query", "SELECT ts FROM t " + source(path, "t", extra=extra))
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["ts"] for x in result.stdout.splitlines()] == ["2023-11-14T22:13:20.000Z"]
    assert f"{path}:2: event time ts='10000-01-01T00:00:00.000Z' is out of range" in result.stderr


def test_a_record_failing_in_two_columns_is_one_failure(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"s": "ab"}\n{"s": "cd"}\n{"s": "ef"}\n')
    sql = ("SELECT LPAD(s, IF(s = 'cd', 99, 1), 'x') AS p, RPAD(s, IF(s = 'cd', 99, 1), 'y') AS q "
           "FROM s " + source(path, "s", extra=", 'max_string_bytes' = '10'"))
    result = execute("--format", "json-lines", "--stats", "--query", sql)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2
    warnings = [x for x in result.stderr.splitlines() if x.startswith(f"warning: {path}:")]
    assert len(warnings) == 1 and f"{path}:2: LPAD: result would be 99 bytes" in warnings[0]
    assert "1 failed" in result.stderr and "2 failed" not in result.stderr


def test_stream_app_honours_max_string_bytes():
    from velostream import StreamApp

    app = StreamApp("SELECT LPAD(s, n, 'x') AS p FROM t", properties={"max_string_bytes": "10"})
    assert app.process([{"s": "a", "n": 10}, {"s": "a", "n": 11}]) == [{"p": "xxxxxxxxxa"}]
    assert app.metrics.records_failed == 1
