"""One bad value never kills a job: each is a failure of its record (or a correct value), under
every failure strategy; and a declared BIGINT never reads an unwritten slot (issue 10)."""

import json
import re

import pytest
from click.testing import CliRunner

from tests.runtime.conftest import read_jsonl, source
from velostream.cli.main import cli

LONG = "7" * 5000                         # beyond Python's 4,300-digit int() limit
WIDE_FRACTION = "1." + "1" * 41           # scale 41
MANY_DIGITS = "9" * 1001 + ".5"           # more than 1,000 digits

# (file name, content, bad line numbers, expected good values of `a` in order)
CASES = {
    "jsonl_top_level_long_int": (
        "t.jsonl", f'{{"a": 1}}\n{{"a": {LONG}}}\n{{"a": -{LONG}}}\n{{"a": 2}}\n', [2, 3], [1, 2]),
    "jsonl_nested_long_int": (
        "t.jsonl", (f'{{"a": 1}}\n{{"a": {{"x": {LONG}}}}}\n{{"a": [1, {LONG}]}}\n'
                    f'{{"a": [{{"y": 0.5, "z": {LONG}}}]}}\n{{"a": 2}}\n'), [2, 3, 4], [1, 2]),
    "csv_invalid_utf8": (
        "t.csv", b"id,a\n1,ok\n2,ab\xff\n3,\"q\xc3\"\n4,fine\n", [3, 4], ["ok", "fine"]),
}


def run(*args):
    return CliRunner().invoke(cli, ["execute", *args], catch_exceptions=False)


def counts(stderr):
    m = re.search(r"(\d+) records in, (\d+) out, (\d+) failed", stderr)
    assert m, stderr
    return tuple(int(x) for x in m.groups())


def write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_log_and_continue_counts_every_record(tmp_path, case):
    name, content, bad, good = CASES[case]
    path = write(tmp_path, name, content)
    result = run("--stats", "--format", "json-lines", "--query", "SELECT a FROM t " + source(
        path, "t", name.rsplit(".", 1)[1]))
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
    rows = [json.loads(x)["a"] for x in result.stdout.splitlines()]
    assert rows == good
    records_in, out, failed = counts(result.stderr)
    assert (records_in, out, failed) == (len(good) + len(bad), len(good), len(bad))
    # Record warnings name path:line; the end-of-run summary ("warning: job_1: …") does not.
    warned = [int(m.group(1)) for m in re.finditer(r"^warning: \S+\.\w+:(\d+):", result.stderr,
                                                   re.MULTILINE)]
    assert sorted(warned) == bad


@pytest.mark.parametrize("case", sorted(CASES))
def test_send_to_dlq_keeps_every_bad_record(tmp_path, case):
    name, content, bad, good = CASES[case]
    path = write(tmp_path, name, content)
    dlq = tmp_path / "dlq.jsonl"
    extra = f", 'failure_strategy' = 'SendToDLQ', 'dlq.path' = '{dlq}'"
    result = run("--stats", "--format", "json-lines", "--query", "SELECT a FROM t " + source(
        path, "t", name.rsplit(".", 1)[1], extra=extra))
    assert result.exit_code == 0, result.output
    records_in, out, failed = counts(result.stderr)
    assert out + failed == records_in == len(good) + len(bad)
    assert sorted(e["line"] for e in read_jsonl(dlq)) == bad


@pytest.mark.parametrize("strategy", ["FailBatch", "RetryWithBackoff"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_stopping_strategies_stop_with_the_location_not_an_internal_error(tmp_path, case,
                                                                          strategy):
    name, content, bad, _ = CASES[case]
    path = write(tmp_path, name, content)
    extra = f", 'failure_strategy' = '{strategy}'"
    result = run("--format", "json-lines", "--query", "SELECT a FROM t " + source(
        path, "t", name.rsplit(".", 1)[1], extra=extra))
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert f"{path.name}:{bad[0]}" in result.stderr


def test_nested_decimals_beyond_scale_38_or_1000_digits_are_exact_values(tmp_path):
    path = write(tmp_path, "t.jsonl", f'{{"a": {{"x": {WIDE_FRACTION}}}}}\n'
                                      f'{{"a": [{MANY_DIGITS}]}}\n')
    result = run("--stats", "--format", "json-lines", "--query",
                 "SELECT a FROM t " + source(path, "t"))
    assert result.exit_code == 0, result.output
    rows = [json.loads(x)["a"] for x in result.stdout.splitlines()]
    assert rows == [{"x": WIDE_FRACTION}, [MANY_DIGITS]]
    assert counts(result.stderr) == (2, 2, 0)


def test_csv_integer_beyond_the_int_limit_keeps_its_text(tmp_path):
    path = write(tmp_path, "t.csv", f"a\n{LONG}\n5\n")
    result = run("--stats", "--format", "json-lines", "--query",
                 "SELECT a, LENGTH(a) AS n FROM t " + source(path, "t", "csv"))
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in result.stdout.splitlines()]
    assert rows == [{"a": LONG, "n": 5000}, {"a": "5", "n": 1}]
    assert counts(result.stderr) == (2, 2, 0)


def test_invalid_utf8_in_csv_never_reaches_functions_or_output(tmp_path):
    path = write(tmp_path, "t.csv", b"a\nab\xff\nok\n")
    for select in ("UPPER(a) AS a", "LENGTH(a) AS a", "a"):
        for fmt in ("table", "json-lines", "csv"):
            result = run("--stats", "--format", fmt, "--query",
                         f"SELECT {select} FROM t " + source(path, "t", "csv"))
            assert result.exit_code == 0, result.output
            assert counts(result.stderr) == (2, 1, 1)
            assert "t.csv:2: field 'a': invalid UTF-8 at column 3" in result.stderr


@pytest.mark.parametrize("fmt, where", [("jsonl", "source"), ("csv", "source"),
                                        ("jsonl", "sink"), ("jsonl", "dlq")])
def test_a_directory_as_path_is_a_config_error_naming_the_key(tmp_path, fmt, where):
    data = write(tmp_path, f"d.{fmt}", '{"a": 1}\n' if fmt == "jsonl" else "a\n1\n")
    directory = tmp_path / "adir"
    directory.mkdir()
    if where == "source":
        sql = "SELECT a FROM t " + source(directory, "t", fmt)
    elif where == "dlq":
        sql = "SELECT a FROM t " + source(data, "t", fmt, extra=(
            f", 'failure_strategy' = 'SendToDLQ', 'dlq.path' = '{directory}'"))
    else:
        sql = (f"SELECT a FROM t INTO out WITH ('t.type' = 'file_source', 't.path' = '{data}', "
               f"'out.type' = 'file_sink', 'out.path' = '{directory}')")
    result = run("--query", sql)
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output
    assert "is a directory" in result.stderr
    assert {"source": "t.path", "sink": "out.path", "dlq": "dlq.path"}[where] in result.stderr


@pytest.mark.parametrize("fmt, content", [
    ("csv", "a\n0.0000000000000000000\n5\n-0.00000000000000000000000\n"),
    ("jsonl", '{"a": 0.0000000000000000000}\n{"a": 5}\n{"a": -0.00000000000000000000000}\n'),
])
def test_declared_bigint_zero_with_many_decimals_is_zero(tmp_path, fmt, content):
    path = write(tmp_path, f"t.{fmt}", content)
    for out in ("json-lines", "csv"):
        result = run("--stats", "--format", out, "--query", "SELECT a FROM t " + source(
            path, "t", fmt, extra=", 't.schema.a' = 'BIGINT'"))
        assert result.exit_code == 0, result.output
        if out == "json-lines":
            assert [json.loads(x)["a"] for x in result.stdout.splitlines()] == [0, 5, 0]
        else:
            assert result.stdout.split() == ["a", "0", "5", "0"]


@pytest.mark.parametrize("where", ["sink", "dlq", "output-file"])
def test_a_path_under_a_file_is_a_config_error_naming_the_key(tmp_path, where):
    # Found in review: FileExistsError / FileNotFoundError escaped as internal errors.
    data = write(tmp_path, "d.jsonl", '{"a": 1, "z": 0}\n')
    blocked = f"{data}/x.jsonl"          # a "directory" that is a file
    args = []
    if where == "sink":
        sql = (f"SELECT a FROM t INTO out WITH ('t.type' = 'file_source', 't.path' = '{data}', "
               f"'out.type' = 'file_sink', 'out.path' = '{blocked}')")
    elif where == "dlq":
        sql = "SELECT a / z FROM t " + source(data, "t", "jsonl", extra=(
            f", 'failure_strategy' = 'SendToDLQ', 'dlq.path' = '{blocked}'"))
    else:
        sql, args = "SELECT a FROM t " + source(data, "t", "jsonl"), ["--output-file", blocked]
    result = run(*args, "--query", sql)
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output
    key = {"sink": "out.path", "dlq": "dlq.path", "output-file": "--output-file"}[where]
    assert f"{key}: cannot create {blocked}: a part of {data} is a file" in result.stderr


def test_an_output_file_in_a_new_directory_is_created(tmp_path):
    data = write(tmp_path, "d.jsonl", '{"a": 1}\n')
    out = tmp_path / "new" / "dir" / "x.jsonl"
    result = run("--output-file", str(out), "--query", "SELECT a FROM t " + source(data, "t"))
    assert result.exit_code == 0, result.output
    assert out.read_text() == '{"a":1}\n'
