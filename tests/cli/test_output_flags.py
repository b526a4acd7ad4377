"""--output / --output-file / --format: the file is written in the format asked for, or the
command refuses with a usage message (never silently ignored, never an internal key)."""

import csv
import json

import pytest
from click.testing import CliRunner

from tests.runtime.conftest import W1, make_trades, source, w1_oracle, write_jsonl
from velostream.cli.main import cli


@pytest.fixture
def trades(tmp_path):
    rows = make_trades(200)
    path = tmp_path / "trades.jsonl"
    write_jsonl(path, rows)
    return path, w1_oracle(rows)


def execute(*args):
    return CliRunner().invoke(cli, ["execute", "--query", *args])


def test_output_file_alone_implies_the_file_output(trades, tmp_path):
    path, expected = trades
    out = tmp_path / "out.jsonl"
    result = execute(W1 + source(path), "--output-file", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert [json.loads(x) for x in out.read_text().splitlines()] == expected


@pytest.mark.parametrize("fmt", ["json", "json-pretty"])
def test_json_formats_write_one_array_document(trades, tmp_path, fmt):
    path, expected = trades
    out = tmp_path / "out.txt"
    result = execute(W1 + source(path), "--output", "file", "--output-file", str(out),
                     "--format", fmt)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert json.loads(text) == expected
    assert (text.startswith("[\n  {") if fmt == "json-pretty" else "\n" not in text.rstrip())


def test_csv_and_json_lines_and_the_extension_default(trades, tmp_path):
    path, expected = trades
    out = tmp_path / "out.csv"
    assert execute(W1 + source(path), "--output-file", str(out)).exit_code == 0
    with open(out, newline="") as handle:
        assert [r["notional"] for r in csv.DictReader(handle)] == [e["notional"] for e in expected]
    out = tmp_path / "out.json"
    assert execute(W1 + source(path), "--output-file", str(out)).exit_code == 0
    assert json.loads(out.read_text()) == expected
    out = tmp_path / "out.txt"
    assert execute(W1 + source(path), "--output-file", str(out), "--format",
                   "json-lines").exit_code == 0
    assert [json.loads(x) for x in out.read_text().splitlines()] == expected


def test_table_into_a_file_is_refused_clearly(trades, tmp_path):
    path, _ = trades
    out = tmp_path / "out.txt"
    result = execute(W1 + source(path), "--output-file", str(out), "--format", "table")
    assert result.exit_code == 2
    assert "--format table is for a terminal" in result.stderr
    assert "stdout" not in result.stderr and not out.exists()


def test_contradicting_and_incomplete_output_flags(trades, tmp_path):
    path, _ = trades
    result = execute(W1 + source(path), "--output", "stdout", "--output-file", str(tmp_path / "o"))
    assert result.exit_code == 2 and "contradict" in result.stderr
    result = execute(W1 + source(path), "--output", "file")
    assert result.exit_code == 2 and "--output file needs --output-file" in result.stderr


def test_output_file_with_a_query_that_has_a_sink_is_refused(trades, tmp_path):
    path, _ = trades
    sql = (f"SELECT trade_id FROM trades INTO dest WITH ('trades.type' = 'file_source', "
           f"'trades.path' = '{path}', 'dest.type' = 'file_sink', "
           f"'dest.path' = '{tmp_path / 'dest.jsonl'}')")
    result = execute(sql, "--output-file", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 2
    assert "writes INTO dest" in result.stderr
