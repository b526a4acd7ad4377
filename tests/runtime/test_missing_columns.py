"""A column the query names that no record has: one warning with the closest field, or an
error before any output when the source's schema is declared."""

from click.testing import CliRunner

from tests.runtime.conftest import source
from velostream.cli.main import cli


def run(sql):
    return CliRunner().invoke(cli, ["execute", "--format", "json-lines", "--query", sql])


def warnings(result):
    return [x for x in result.stderr.splitlines() if "NULL in every row" in x]


def test_a_column_no_record_has_is_reported_once_with_the_closest_field(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text("".join(f'{{"symbol": "S{i}", "price": {i}}}\n' for i in range(10)))
    result = run("SELECT symbl, price FROM t WHERE price > 2 " + source(path, "t"))
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 7
    expected = (f"warning: <query>:1:8: column 'symbl': no record of {path} has this field, so "
                "it is NULL in every row; did you mean 'symbol'?")
    assert warnings(result) == [expected]


def test_csv_columns_come_from_the_header(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,amount\n1,2\n")
    result = run("SELECT id, amout FROM t " + source(path, "t", "csv"))
    assert result.exit_code == 0
    assert "did you mean 'amount'?" in warnings(result)[0]


def test_fields_that_exist_but_are_null_or_come_later_are_not_reported(tmp_path):
    path = tmp_path / "t.jsonl"
    filler = '{"a": 1, "pad": "' + "x" * 200 + '"}\n'
    # 'note' is always null; 'late' first appears after the first 1 MiB block.
    path.write_text('{"a": 0, "note": null}\n' + filler * 6000 + '{"a": 2, "late": 5}\n')
    result = run("SELECT a, note, late FROM t WHERE late = 5 " + source(path, "t"))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ['{"a":2,"note":null,"late":5}']
    assert warnings(result) == []


def test_declared_schema_makes_it_an_error_before_any_output(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": 1, "price": "1.50"}\n')
    sql = ("SELECT id, prise FROM t " +
           source(path, "t", extra=", 't.schema.price' = 'DECIMAL(10,2)'"))
    result = run(sql)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert ("<query>:1:12: error: column 'prise' is not a field of source 't': its declared "
            "schema ('t.schema.*') does not have it and no record does") in result.stderr
    assert "hint: did you mean 'price'?" in result.stderr
    # A field the schema declares is fine even if no record has it (it is NULL by declaration).
    sql = ("SELECT id, qty FROM t " + source(path, "t", extra=", 't.schema.qty' = 'BIGINT'"))
    result = run(sql)
    assert result.exit_code == 0 and result.stdout == '{"id":1,"qty":null}\n'
    assert warnings(result) == []
