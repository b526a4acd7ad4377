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


def test_regex_pattern_from_the_data_cannot_hang_the_job(tmp_path):
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
