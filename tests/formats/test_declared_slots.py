"""Every put path of the column builders writes its slot (issue 10): a declared field decodes to
the same value, or the same failure, whether it comes as a CSV field, a JSON string or a JSON
number, and a value that decodes is never NULL or garbage."""

import json
import math

import pytest

from velostream.formats import CsvDecoder, JsonDecoder

TEXTS = ["0", "-0", "0.0000000000000000000", "-0.000000000000000000000000",
         "1.0000000000000000000000", "5", "1e3", "1E-2", "9223372036854775807",
         "9223372036854775808", "-9223372036854775808", "1.5", "12.50", "0.1e1", "1" * 30,
         "1." + "0" * 40, "true", "FALSE", "2024-01-01", "2024-01-01T10:00:00Z", "abc", "1e400",
         "-1e-400", "10000000000000000000.0", "100000000000000000000e-2", "7" * 5000]
TYPES = ["BIGINT", "DECIMAL", "DECIMAL(10,2)", "DECIMAL(38,2)", "DOUBLE", "BOOLEAN",
         "TIMESTAMP", "STRING"]


def outcome(result):
    if result.errors:
        return "failed"
    assert result.batch.length == 1
    column = result.batch.column("a")
    try:
        value = column.get(0)
    except OverflowError:      # a TIMESTAMP beyond datetime's range (not this test's concern)
        return "overflow"
    assert value is not None, "a decoded value must not be NULL"
    if isinstance(value, float):
        return ("float", math.copysign(1.0, value), value)
    return value


@pytest.mark.parametrize("declared", TYPES)
def test_csv_json_string_and_json_number_agree(declared):
    for text in TEXTS:
        got = {"csv": outcome(CsvDecoder(declared={"a": declared}).decode(f"a\n{text}\n"))}
        got["json string"] = outcome(JsonDecoder(declared={"a": declared}).decode_lines(
            json.dumps({"a": text}) + "\n"))
        try:
            json.loads(text)
        except ValueError:
            pass
        else:
            got["json number"] = outcome(JsonDecoder(declared={"a": declared}).decode_lines(
                f'{{"a": {text}}}\n'))
        assert len({repr(v) for v in got.values()}) == 1, (declared, text[:40], got)


def test_a_declared_bigint_zero_with_more_than_18_decimals_is_zero():
    for text in ("0.0000000000000000000", "-0." + "0" * 30):
        csv = CsvDecoder(declared={"a": "BIGINT"}).decode(f"a\n{text}\n7\n")
        assert csv.errors == [] and csv.batch.column("a").to_pylist() == [0, 7]
        js = JsonDecoder(declared={"a": "BIGINT"}).decode_lines(f'{{"a": {text}}}\n{{"a": 7}}\n')
        assert js.errors == [] and js.batch.column("a").to_pylist() == [0, 7]
