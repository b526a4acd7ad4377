"""A DECIMAL value keeps its own scale (DIALECT §3): its output never depends on the other rows of
the file or on batch boundaries; declared and CAST scales apply as written."""

import json
from array import array

from click.testing import CliRunner

from velostream._core.batch import RecordBatch, decimal_column
from velostream._core.decimal import ScaledInteger
from velostream.cli.main import cli
from velostream.formats.csv import CsvDecoder
from velostream.formats.json import JsonDecoder, JsonEncoder
from velostream.grammar import parse_expression
from velostream.plan.compile import compile_expression, schema_of

ROWS = ['{"id": 1, "p": 12.50}', '{"id": 2, "p": 2.345}', '{"id": 3, "p": 100}',
        '{"id": 4, "p": 4.5}']


def run(command, path, select, extra=""):
    sql = (f"SELECT {select} FROM t {extra} WITH ('t.type' = 'file_source', "
           f"'t.path' = '{path}', 't.format' = 'jsonl')")
    result = CliRunner().invoke(cli, [command, "--format", "json-lines", "--query", sql],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def write(tmp_path, lines, name="t.jsonl"):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_each_value_prints_at_its_own_scale_in_execute_and_stream(tmp_path):
    path = write(tmp_path, ROWS)
    want = [
        {"id": 1, "p": "12.50", "d": "25.00", "q": "4.166667", "n": "-12.50", "a": "12.50"},
        {"id": 2, "p": "2.345", "d": "4.690", "q": "0.7816667", "n": "-2.345", "a": "2.345"},
        {"id": 3, "p": "100", "d": "200", "q": "33.3333", "n": "-100", "a": "100"},
        {"id": 4, "p": "4.5", "d": "9.0", "q": "1.50000", "n": "-4.5", "a": "4.5"},
    ]
    select = "id, p, p * 2 AS d, p / 3 AS q, -p AS n, ABS(p) AS a"
    assert run("execute", path, select) == want
    assert run("stream", path, select) == want


def test_a_record_prints_the_same_alone_as_among_others(tmp_path):
    select = "id, p, p + 0.5 AS plus, COALESCE(p, 0) AS c, CAST(p AS STRING) AS s"
    together = run("execute", write(tmp_path, ROWS), select)
    for i, line in enumerate(ROWS):
        if i == 2:
            continue    # alone, 100 is a BIGINT (schema on read): a type, not a scale, differs
        alone = run("execute", write(tmp_path, [line], f"alone{i}.jsonl"), select)
        assert alone == [together[i]]


def test_declared_and_cast_scales_apply_as_written(tmp_path):
    path = write(tmp_path, ROWS)
    sql = ("SELECT p, CAST(p AS DECIMAL(10,1)) AS c FROM t WITH ('t.type' = 'file_source', "
           f"'t.path' = '{path}', 't.format' = 'jsonl', 't.schema.p' = 'DECIMAL(10,2)')")
    result = CliRunner().invoke(cli, ["execute", "--format", "json-lines", "--query", sql],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    got = [json.loads(line) for line in result.stdout.splitlines()]
    assert got == [{"p": "12.50", "c": "12.5"}, {"p": "2.34", "c": "2.3"},
                   {"p": "100.00", "c": "100.0"}, {"p": "4.50", "c": "4.5"}]


def test_comparison_ordering_and_branches_ignore_or_keep_the_scale(tmp_path):
    path = write(tmp_path, ROWS)
    assert run("execute", path, "id", "WHERE p = 12.5") == [{"id": 1}]
    assert run("execute", path, "id", "WHERE p IN (4.50, 100)") == [{"id": 3}, {"id": 4}]
    assert [r["p"] for r in run("execute", path, "p", "ORDER BY p")] == [
        "2.345", "4.5", "12.50", "100"]
    got = run("execute", path,
              "CASE WHEN id = 3 THEN 7 ELSE p END AS c, GREATEST(p, 5) AS g, "
              "IF(id = 1, p, 1.25) AS i")
    assert got == [{"c": "12.50", "g": "12.50", "i": "12.50"},
                   {"c": "2.345", "g": "5", "i": "1.25"},
                   {"c": "7", "g": "100", "i": "1.25"},
                   {"c": "4.5", "g": "5", "i": "1.25"}]


def kernel(sql, batch):
    return compile_expression(parse_expression(sql), schema_of(batch))


def test_a_quotient_is_rounded_half_even_at_its_row_scale():
    batch = RecordBatch(["x"], [decimal_column(["1.5", "0.0001", "2"])])
    assert batch.column("x").scale == 4
    got = kernel("x / 7", batch).evaluate(batch, []).to_pylist()
    # 1.5 / 7 at scale 1 + 4 (not at the column's 4 + 4); 2 / 7 at 0 + 4.
    assert [str(v) for v in got] == ["0.21429", "0.00001429", "0.2857"]
    got = kernel("x / 4", RecordBatch(["x"], [decimal_column(["0.1", "0.0001"])]))
    values = got.evaluate(RecordBatch(["x"], [decimal_column(["0.1", "0.0001"])]), []).to_pylist()
    assert [str(v) for v in values] == ["0.02500", "0.00002500"]


def test_csv_decimals_keep_their_scale_through_decode_and_encode():
    result = CsvDecoder().decode(b"p\n1.50\n2\n0.125\n3e1\n")
    column = result.batch.column("p")
    assert [str(v) for v in column.to_pylist()] == ["1.50", "2", "0.125", "30"]
    assert JsonEncoder().encode_lines(result.batch) == (
        b'{"p":"1.50"}\n{"p":"2"}\n{"p":"0.125"}\n{"p":"30"}\n')


def test_decimal_column_keeps_each_values_scale_unless_a_scale_is_given():
    column = decimal_column([ScaledInteger("1.5"), 7, None, "0.125"])
    assert column.scale == 3
    assert [None if v is None else str(v) for v in column.to_pylist()] == [
        "1.5", "7", None, "0.125"]
    assert [str(v) for v in decimal_column(["1.5", 7], 2).to_pylist()] == ["1.50", "7.00"]
    taken = column.take(array("q", [3, 0, 1]))
    assert [str(v) for v in taken.to_pylist()] == ["0.125", "1.5", "7"]


def test_declared_wide_decimals_decode_exactly_and_errors_name_the_declared_type(tmp_path):
    path = write(tmp_path, ['{"p": 12345678901234567890.5}', '{"p": "abc"}',
                            '{"p": 0.12345678901234567890123456789012345678901}',
                            '{"p": 1e99999}'])
    for declared, want in [("DECIMAL(38,10)", ["12345678901234567890.5000000000",
                                               "0.1234567890"]),
                           ("DECIMAL(10,2)", ["0.12"])]:
        sql = (f"SELECT p FROM t WITH ('t.type' = 'file_source', 't.path' = '{path}', "
               f"'t.format' = 'jsonl', 't.schema.p' = '{declared}')")
        result = CliRunner().invoke(cli, ["execute", "--format", "json-lines", "--query", sql],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert [json.loads(line)["p"] for line in result.stdout.splitlines()] == want
        assert f'"abc" is not a valid {declared}' in result.stderr
        assert f"1e99999 does not fit {declared}" in result.stderr
        assert "InvalidOperation" not in result.stderr and "ConversionSyntax" not in result.stderr
    sql = (f"SELECT p FROM t WHERE p > 'x' WITH ('t.type' = 'file_source', 't.path' = '{path}', "
           "'t.format' = 'jsonl', 't.schema.p' = 'DECIMAL(10,2)')")
    result = CliRunner().invoke(cli, ["execute", "--query", sql])
    assert "compared with a DECIMAL(10,2)" in result.stderr


def test_cast_errors_name_the_written_type_without_python_internals(tmp_path):
    path = write(tmp_path, ['{"s": "abc"}', '{"s": "1e99999"}', '{"s": "NaN"}',
                            '{"s": "12345678901.5"}'])
    sql = (f"SELECT CAST(s AS NUMERIC(10,2)) AS d FROM t WITH ('t.type' = 'file_source', "
           f"'t.path' = '{path}', 't.format' = 'jsonl')")
    result = CliRunner().invoke(cli, ["execute", "--format", "json-lines", "--query", sql],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "cannot CAST 'abc' to DECIMAL(10,2)" in result.stderr
    assert "1e99999 is out of range for DECIMAL(10,2)" in result.stderr
    assert "cannot CAST 'NaN' to DECIMAL(10,2)" in result.stderr
    assert "12345678901.5 is out of range for DECIMAL(10,2)" in result.stderr
    for internal in ("InvalidOperation", "ConversionSyntax", "<class", "DECIMAL(18"):
        assert internal not in result.stderr


def test_a_wide_declared_decimal_leaves_the_next_fields_intact():
    for text in ("p,s\n12345678901234567890.5,after\n1.5,next\n",
                 "p,s\n\"12345678901234567890.5\",after\n1.5,next\n"):
        result = CsvDecoder(declared={"p": "DECIMAL(38,2)"}).decode(text.encode())
        assert result.errors == []
        assert [str(v) for v in result.batch.column("p").to_pylist()] == [
            "12345678901234567890.50", "1.50"]
        assert result.batch.column("s").to_pylist() == ["after", "next"]
    lines = b'{"p": "12345678901234567890.5", "s": "after"}\n{"p": 2, "s": "next"}\n'
    result = JsonDecoder(declared={"p": "DECIMAL(38,2)"}).decode_lines(lines)
    assert [str(v) for v in result.batch.column("p").to_pylist()] == [
        "12345678901234567890.50", "2.00"]
    assert result.batch.column("s").to_pylist() == ["after", "next"]
