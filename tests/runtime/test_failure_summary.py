"""Failed records: the dead-letter entry holds the whole input record, and every run that had
failures ends with one summary line (in, out, failed by reason, dead-lettered, not shown)."""

import json

from click.testing import CliRunner

from tests.runtime.conftest import read_jsonl, source
from velostream import StreamApp
from velostream.cli.main import cli
from velostream.runtime.failures import LOG_FIRST


def run(*args):
    return CliRunner().invoke(cli, ["execute", "--format", "json-lines", *args])


def test_dlq_entry_of_an_expression_failure_holds_the_whole_raw_record(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"a": 1, "b": 2, "z": 1, "extra": "x"}\n'
                    '{"a": 2, "b": 3, "z": 0, "extra": "y"}\n')
    dlq = tmp_path / "dlq.jsonl"
    sql = ("SELECT a, b / z AS q FROM t " +
           source(path, "t", extra=f", 'failure_strategy' = 'SendToDLQ', 'dlq.path' = '{dlq}'"))
    result = run("--query", sql)
    assert result.exit_code == 0, result.output
    (entry,) = read_jsonl(dlq)
    assert entry["line"] == 2 and entry["error"] == "division by zero"
    # The query read a, b and z; the entry still has the field it did not read.
    assert json.loads(entry["raw"]) == {"a": 2, "b": 3, "z": 0, "extra": "y"}


def test_dlq_entry_of_a_csv_record_spanning_lines_holds_all_its_lines(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('a,note,z\n1,ok,1\n2,"two\nlines",0\n\n3,x,0\n')
    dlq = tmp_path / "dlq.jsonl"
    sql = ("SELECT a / z AS q FROM t " + source(
        path, "t", "csv", extra=f", 'failure_strategy' = 'SendToDLQ', 'dlq.path' = '{dlq}'"))
    result = run("--query", sql)
    assert result.exit_code == 0, result.output
    assert [e["raw"] for e in read_jsonl(dlq)] == ['2,"two\nlines",0', "3,x,0"]


def test_dlq_entry_of_a_compact_json_array_holds_no_other_record(tmp_path):
    # Found in review: every record of a one-line array starts on line 1, so the "raw" line
    # held the good records too (a replayed DLQ would repeat them).
    path = tmp_path / "t.json"
    path.write_text('[{"a": 1, "z": 0, "pad": "x"}, {"a": 2, "z": 1}, {"a": 3, "z": 0}]')
    dlq = tmp_path / "dlq.jsonl"
    sql = ("SELECT a / z AS q FROM t " + source(
        path, "t", "json", extra=f", 'failure_strategy' = 'SendToDLQ', 'dlq.path' = '{dlq}'"))
    result = run("--query", sql)
    assert result.exit_code == 0, result.output
    entries = read_jsonl(dlq)
    assert [e["record"] for e in entries] == [{"a": 1, "z": 0}, {"a": 3, "z": 0}]
    assert all("raw" not in e or '"a": 2' not in e["raw"] for e in entries)


def _malformed(tmp_path, good=5000, bad=37):
    path = tmp_path / "m.jsonl"
    lines = [f'{{"a": {i}, "z": {i % 7}}}' for i in range(good)]
    for k in range(bad):
        lines.insert(k * 100 + 1, "{broken")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_log_and_continue_ends_with_a_summary_line_and_rate_limits_warnings(tmp_path):
    path = _malformed(tmp_path)
    result = run("--query", "SELECT a / z AS q FROM m " + source(path, "m"))
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 5000 - 715     # z = 0 on every 7th record
    err = result.stderr.splitlines()
    per_record = [x for x in err if str(path) + ":" in x]
    assert len(per_record) == LOG_FIRST
    assert err[-1] == (f"warning: job_1: 5037 records in, 4285 out, 752 failed (division by zero: "
                       f"715, decode error: 37); … {752 - LOG_FIRST} more failures not shown")


def test_no_summary_when_nothing_failed(tmp_path):
    path = tmp_path / "ok.jsonl"
    path.write_text('{"a": 1}\n')
    result = run("--query", "SELECT a FROM ok " + source(path, "ok"))
    assert result.exit_code == 0 and result.stderr == ""


def test_stream_app_metrics_count_failures_by_reason(tmp_path):
    path = _malformed(tmp_path, good=700, bad=3)
    app = StreamApp("SELECT a / z AS q FROM m", properties={
        "m.type": "file_source", "m.path": str(path)})
    rows = []
    app.on_output(rows.extend)
    metrics = app.run()
    assert len(rows) == 600
    assert metrics.records_failed == 103
    assert metrics.failed_by_reason == {"division by zero": 100, "decode error": 3}
    assert metrics.failures_not_shown == 103 - LOG_FIRST
    assert metrics.to_dict()["failed_by_reason"] == metrics.failed_by_reason
    # In process too: the same counters, per reason.
    app = StreamApp("SELECT CAST(s AS BIGINT) AS n FROM t")
    assert app.process([{"s": "1"}, {"s": "x"}]) == [{"n": 1}]
    assert app.metrics.failed_by_reason == {"bad CAST": 1}
