"""JSON / JSON Lines codecs: DIALECT §3 type rules, exactness, errors, projection, encoding."""

import datetime as dt
import json
import math
from decimal import Decimal

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from velostream._core.batch import RecordBatch, decimal_column, int64_column, string_column
from velostream._core.decimal import ScaledInteger
from velostream.formats import DecodeResult, JsonDecoder, JsonEncoder, RecordError


def lines(*records):
    return b"".join((r if isinstance(r, bytes) else r.encode()) + b"\n" for r in records)


def decode(*records, **options):
    result = JsonDecoder(**options).decode_lines(lines(*records))
    assert isinstance(result, DecodeResult)
    return result


def schema(result):
    return {s[0]: s[1:] for s in result.batch.schema}


def column(result, name):
    return result.batch.column(name).to_pylist()


# ------------------------------------------------------------------------------------ type rules

def test_trades_line_decodes_into_typed_columns():
    r = decode('{"trade_id": 1, "symbol": "AAPL", "price": 189.2500, "quantity": 600, '
               '"side": "BUY", "ts": 1704067200000}')
    assert r.errors == []
    assert r.batch.schema == [("trade_id", "BIGINT"), ("symbol", "STRING"),
                              ("price", "DECIMAL", 4), ("quantity", "BIGINT"), ("side", "STRING"),
                              ("ts", "BIGINT")]
    price = column(r, "price")[0]
    assert price == ScaledInteger("189.2500") and str(price) == "189.2500"


def test_fractions_are_exact_from_the_text():
    r = decode('{"price": 100.1234}', '{"price": 0.1}', '{"price": 0.2}')
    values = column(r, "price")
    assert values[0] == ScaledInteger("100.1234") and values[0].scale == 4
    assert values[1] + values[2] == ScaledInteger("0.3")        # no 0.30000000000000004
    assert str(values[1]) == "0.1"          # its own scale, whatever the other rows hold


def test_column_scale_is_the_largest_and_ints_join_decimals_keeping_their_own_scale():
    r = decode('{"x": 1}', '{"x": 2.5}', '{"x": -0.125}', '{"x": null}')
    assert schema(r)["x"] == ("DECIMAL", 3)
    assert [None if v is None else str(v) for v in column(r, "x")] == [
        "1", "2.5", "-0.125", None]


def test_integers_beyond_int64_stay_exact_python_ints():
    r = decode('{"n": 1}', '{"n": 123456789012345678901234567890}', '{"n": -9223372036854775808}')
    assert schema(r)["n"] == ("OBJECT",)
    assert column(r, "n") == [1, 123456789012345678901234567890, -9223372036854775808]
    assert all(type(v) is int for v in column(r, "n"))


def test_int64_bounds_stay_bigint():
    r = decode('{"n": 9223372036854775807}', '{"n": -9223372036854775808}')
    assert schema(r)["n"] == ("BIGINT",)
    assert column(r, "n") == [2**63 - 1, -(2**63)]


def test_decimals_too_wide_for_int64_are_an_exact_wide_decimal_column():
    r = decode('{"d": 1.5}', '{"d": 12345678901234567890.123}', '{"d": 7}')
    assert schema(r)["d"] == ("DECIMAL", 3)
    assert r.batch.column("d").is_wide
    assert column(r, "d") == [ScaledInteger("1.5"), Decimal("12345678901234567890.123"), 7]
    assert [str(v) for v in column(r, "d")] == ["1.5", "12345678901234567890.123", "7"]


def test_scales_past_38_stay_exact_objects():
    r = decode('{"d": 1.5}', '{"d": 0.%s1}' % ("0" * 40))
    assert schema(r)["d"] == ("OBJECT",)
    assert column(r, "d")[1] == Decimal("1e-41")


def test_exponent_numbers_are_double():
    r = decode('{"f": 1e3}', '{"f": 2.5E-2}', '{"f": 7}')
    assert schema(r)["f"] == ("DOUBLE",)
    assert column(r, "f") == [1000.0, 0.025, 7.0]


def test_without_financial_precision_fractions_are_double():
    r = decode('{"p": 0.1}', '{"p": 3}', '{"p": 1e2}', financial_precision=False)
    assert schema(r)["p"] == ("DOUBLE",)
    assert column(r, "p") == [0.1, 3.0, 100.0]


def test_decimal_and_double_mix_is_exact_object_or_double():
    r = decode('{"v": 0.1}', '{"v": 1e-1}')
    assert schema(r)["v"] == ("OBJECT",)
    assert column(r, "v") == [ScaledInteger("0.1"), 0.1]
    assert type(column(r, "v")[0]) is ScaledInteger
    r = decode('{"v": 0.1}', '{"v": 1e-1}', financial_precision=False)
    assert schema(r)["v"] == ("DOUBLE",)


def test_strings_that_look_like_numbers_stay_strings():
    r = decode('{"s": "100.25"}', '{"s": "7"}')
    assert schema(r)["s"] == ("STRING",)
    assert column(r, "s") == ["100.25", "7"]


def test_declared_decimal_parses_numeric_strings_and_exponents_exactly():
    r = decode('{"p": "100.25"}', '{"p": 1.5e2}', '{"p": 3}', '{"p": " 0.5 "}',
               declared={"P": "DECIMAL"})
    assert schema(r)["p"] == ("DECIMAL", 2)
    # A bare DECIMAL declares the type, not a scale: each value keeps the scale of its text.
    assert [str(v) for v in column(r, "p")] == ["100.25", "150", "3", "0.5"]


def test_declared_decimal_with_scale_rounds_half_even_and_checks_precision():
    r = decode('{"p": 1.23445}', '{"p": 1.23455}', '{"p": "2"}', '{"p": 123456.5}',
               declared={"p": "DECIMAL(8,4)"})
    assert schema(r)["p"] == ("DECIMAL", 4)
    assert [str(v) for v in column(r, "p")] == ["1.2344", "1.2346", "2.0000"]
    assert len(r.errors) == 1 and r.errors[0].line == 4
    assert "does not fit DECIMAL(8,4)" in r.errors[0].message


def test_declared_types_convert_or_report_the_record():
    r = decode('{"i": "42", "d": "2.5", "s": 12.50, "b": "TRUE", "t": "2024-01-01T00:00:01.5Z"}',
               '{"i": 7.0, "d": 3, "s": true, "b": false, "t": 1704067200000}',
               '{"i": "x"}',
               declared={"i": "BIGINT", "d": "DOUBLE", "s": "STRING", "b": "BOOLEAN",
                         "t": "TIMESTAMP"})
    assert r.batch.schema == [("i", "BIGINT"), ("d", "DOUBLE"), ("s", "STRING"),
                              ("b", "BOOLEAN"), ("t", "TIMESTAMP")]
    assert column(r, "i") == [42, 7]
    assert column(r, "d") == [2.5, 3.0]
    assert column(r, "s") == ["12.50", "true"]            # the JSON text, digits kept
    assert column(r, "b") == [True, False]
    assert column(r, "t") == [dt.datetime(2024, 1, 1, 0, 0, 1, 500000, tzinfo=dt.UTC),
                              dt.datetime(2024, 1, 1, tzinfo=dt.UTC)]
    [err] = r.errors
    assert err.line == 3 and err.message == "field 'i': \"x\" is not a valid BIGINT at column 7"


@pytest.mark.parametrize("text, expected", [
    ("2024-02-29", "2024-02-29T00:00:00+00:00"),
    ("2024-01-01 12:30", "2024-01-01T12:30:00+00:00"),
    ("2024-01-01T12:30:45.123456", "2024-01-01T12:30:45.123000+00:00"),
    ("2024-01-01T12:30:45+02:00", "2024-01-01T10:30:45+00:00"),
    ("2024-01-01T00:00:00-0130", "2024-01-01T01:30:00+00:00"),
    ("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999000+00:00"),
])
def test_declared_timestamp_parses_iso_8601(text, expected):
    r = decode(json.dumps({"t": text}), declared={"t": "TIMESTAMP"})
    assert r.errors == []
    assert column(r, "t")[0].isoformat() == expected


@pytest.mark.parametrize("text", ["2023-02-29", "2024-13-01", "2024-01-01T25:00", "yesterday",
                                  "2024-01-01T00:00:00Q"])
def test_declared_timestamp_rejects_invalid_dates(text):
    r = decode(json.dumps({"t": text}), declared={"t": "TIMESTAMP"})
    assert len(r.errors) == 1 and "is not a valid TIMESTAMP" in r.errors[0].message


def test_unknown_declared_type_is_an_error_naming_the_field():
    with pytest.raises(ValueError, match="'x'"):
        JsonDecoder(declared={"x": "GEOMETRY"})


def test_booleans_nulls_and_missing_fields():
    r = decode('{"ok": true, "n": null, "a": 1}', '{"ok": false}', '{}')
    assert r.batch.schema == [("ok", "BOOLEAN"), ("n", "NULL"), ("a", "BIGINT")]
    assert column(r, "ok") == [True, False, None]
    assert column(r, "a") == [1, None, None]
    assert r.batch.column("a").null_count() == 2
    assert r.batch.column("ok").null_count() == 1


def test_nested_values_are_objects():
    r = decode('{"tags": ["a", {"b": 1.5}], "m": {"k": [1, 2]}}', '{"tags": []}')
    assert column(r, "tags") == [["a", {"b": 1.5}], []]
    assert column(r, "m") == [{"k": [1, 2]}, None]
    assert schema(r)["tags"] == ("OBJECT",)


def test_nested_fractions_are_exact_decimals_with_financial_precision():
    r = decode('{"o": {"price": 0.10, "legs": [2.50, 3, 1e2], "note": "a.b"}}')
    (value,) = column(r, "o")
    assert value == {"price": ScaledInteger("0.10"), "legs": [ScaledInteger("2.50"), 3, 100.0],
                     "note": "a.b"}
    assert str(value["price"]) == "0.10" and type(value["legs"][2]) is float
    floats = JsonDecoder(financial_precision=False).decode_lines(b'{"o": {"price": 0.10}}\n')
    assert type(floats.batch.to_pylist()[0]["o"]["price"]) is float


def test_nested_big_integers_stay_exact():
    r = decode('{"m": {"big": 123456789012345678901234567890}}')
    assert column(r, "m") == [{"big": 123456789012345678901234567890}]


def test_type_conflicts_become_lossless_object_columns():
    r = decode('{"x": "a"}', '{"x": 1}', '{"x": true}', '{"x": 2.50}', '{"x": [1]}')
    assert schema(r)["x"] == ("OBJECT",)
    values = column(r, "x")
    assert values == ["a", 1, True, ScaledInteger("2.50"), [1]]
    assert type(values[2]) is bool and str(values[3]) == "2.50"


def test_duplicate_keys_keep_the_last_value():
    r = decode('{"a": "first", "a": "second", "b": 1}', '{"a": 5, "a": null}')
    assert column(r, "a") == ["second", None]
    assert schema(r)["a"] == ("STRING",)


def test_keys_are_case_insensitive_and_keep_the_data_spelling():
    r = decode('{"Price": 1.5}', '{"PRICE": 2.5}', '{"price": 3.5}')
    assert r.batch.names == ("Price",)
    assert [str(v) for v in column(r, "price")] == ["1.5", "2.5", "3.5"]


def test_escaped_keys_match():
    r = decode('{"sym\\u0062ol": "X", "a\\"b": 1}', fields=["symbol", 'a"b'])
    assert r.batch.names == ("symbol", 'a"b')
    assert r.batch.to_pylist() == [{"symbol": "X", 'a"b': 1}]


# ------------------------------------------------------------------------------------ exactness

@given(st.lists(st.decimals(min_value=-10**12, max_value=10**12, places=4, allow_nan=False),
                min_size=1, max_size=20))
def test_decimal_text_decodes_exactly(values):
    data = lines(*(f'{{"p": {v}}}' for v in values))
    r = JsonDecoder().decode_lines(data)
    assert r.errors == []
    got = column(r, "p")
    for value, text in zip(got, (str(v) for v in values)):
        expected = Decimal(text)
        assert Decimal(str(value)) == expected, (text, value)


# ----------------------------------------------------------------------------- strings, unicode

STRINGS = ["plain", "", "quote \" backslash \\ slash /", "tab\tnl\ncr\rbs\bff\f",
           "ctrl \x00\x01\x1f del \x7f", "é ü 漢字 emoji 😀 \u2028\u2029", "\U0010ffff"]


@pytest.mark.parametrize("text", STRINGS)
def test_string_round_trip(text):
    data = orjson.dumps({"s": text}) + b"\n" + json.dumps({"s": text}).encode() + b"\n"
    r = JsonDecoder().decode_lines(data)
    assert r.errors == []
    assert column(r, "s") == [text, text]
    out = JsonEncoder().encode_lines(r.batch)
    assert [orjson.loads(x) for x in out.splitlines()] == [{"s": text}, {"s": text}]
    assert out.splitlines()[0] == orjson.dumps({"s": text})   # same escaping as orjson


def test_unicode_escapes_and_surrogate_pairs_decode_to_utf8():
    r = decode('{"s": "\\u00e9\\u6f22\\ud83d\\ude00\\u0041"}')
    assert column(r, "s") == ["é漢😀A"]
    assert r.batch.column("s").buffer == "é漢😀A".encode()


# ---------------------------------------------------------------------------- malformed records

BAD_LINES = [
    ('{"a": 1,}', "expected a string key"),
    ('{"a": 1', "truncated record"),
    ('{"a": "abc', "truncated record: unterminated string"),
    ('{"a": [1, ', "truncated record: expected a value"),
    ('{"a": 01}', "invalid number"),
    ('{"a": .5}', "expected a value"),
    ('{"a": NaN}', "expected a value"),
    ("{'a': 1}", "expected a string key"),
    ('{"a": "x\ty"}', "control character"),
    ('{"a": "\\x"}', "invalid escape"),
    ('{"a": "\\ud800"}', "surrogate"),
    ('{"a": tru}', "expected a value"),
    ('{"a": 1} x', "unexpected data after the object"),
    ("[1, 2]", "expected a JSON object"),
    ("42", "expected a JSON object"),
    ('{"a" 1}', "expected ':'"),
    ('{"a": [1, 2}', "expected ',' or ']'"),
    ('{"a": {"b": 1]}', "expected ',' or '}'"),
    ('{"a": -}', "invalid number"),
    ('{"a": 1.}', "invalid number"),
    ('{"a": 1e}', "invalid number"),
]


@pytest.mark.parametrize("bad, message", BAD_LINES)
def test_malformed_line_is_reported_and_good_lines_survive(bad, message):
    with pytest.raises(orjson.JSONDecodeError):
        if bad.startswith("{"):
            orjson.loads(bad)
        else:
            raise orjson.JSONDecodeError("not an object", bad, 0)
    r = decode('{"a": 10}', bad, '{"a": 30}')
    assert column(r, "a") == [10, 30]
    assert r.batch.meta["_line"].to_pylist() == [1, 3]
    [err] = r.errors
    assert isinstance(err, RecordError)
    assert err.line == 2 and err.raw == bad.encode()
    assert message in err.message and err.message.startswith("invalid JSON: ")
    assert err.message.endswith(f"at column {err.column}")


def test_error_column_points_at_the_problem():
    r = decode('{"trade_id": 1, "symbol": "AAPL" "price": 1}')
    [err] = r.errors
    assert err.message == "invalid JSON: expected ',' or '}' at column 34"
    assert err.column == 34


def test_error_column_counts_characters_not_bytes():
    r = decode('{"é": "漢字", "x" 1}')
    assert r.errors[0].column == 17


def test_invalid_utf8_is_reported():
    r = JsonDecoder().decode_lines(b'{"a": "ok"}\n{"a": "\xff"}\n{"a": "\xc3\xa9"}\n')
    assert column(r, "a") == ["ok", "é"]
    assert r.errors[0].line == 2 and "invalid UTF-8" in r.errors[0].message


def test_columns_seen_only_in_a_bad_record_disappear():
    r = decode('{"a": 1}', '{"a": 2, "zzz": 5, "oops"}', '{"a": 3}')
    assert r.batch.names == ("a",)
    assert column(r, "a") == [1, 3]


def test_values_of_a_bad_record_do_not_leak_into_the_batch():
    r = decode('{"s": "good1"}', '{"s": "LEAK", "t": 1, x}', '{"s": "good2"}')
    assert column(r, "s") == ["good1", "good2"]
    assert r.batch.column("s").buffer == b"good1good2"


def test_lines_blank_crlf_bom_and_first_line():
    data = b'\xef\xbb\xbf{"a": 1}\r\n\r\n   \n{"a": 2}\r\n{"a": 3}'
    r = JsonDecoder().decode_lines(data)
    assert column(r, "a") == [1, 2, 3]
    assert r.batch.meta["_line"].to_pylist() == [1, 4, 5]
    r = JsonDecoder().decode_lines(b'{"a": 1}\nbad\n', first_line=101)
    assert r.batch.meta["_line"].to_pylist() == [101]
    assert r.errors[0].line == 102


def test_empty_input():
    r = JsonDecoder().decode_lines(b"")
    assert len(r.batch) == 0 and r.batch.names == () and r.errors == []
    r = JsonDecoder(fields=["a"]).decode_lines(b"\n\n")
    assert len(r.batch) == 0 and r.batch.names == ("a",)


def test_rows_without_columns_are_counted():
    r = decode("{}", '{"b": 1}', fields=["a"])
    assert len(r.batch) == 2 and column(r, "a") == [None, None]


# ------------------------------------------------------------------------------------ projection

def test_projection_decodes_only_wanted_fields_in_requested_order():
    r = decode('{"a": 1, "b": "x", "c": {"deep": [1, 2]}, "d": 2.5}',
               '{"d": 3.5, "zz": 1, "a": 2}', fields=["D", "a", "missing"])
    assert r.batch.names == ("d", "a", "missing")
    assert r.batch.to_pylist() == [
        {"d": ScaledInteger("2.5"), "a": 1, "missing": None},
        {"d": ScaledInteger("3.5"), "a": 2, "missing": None}]
    assert schema(r)["missing"] == ("NULL",)


def test_projection_still_rejects_malformed_unwanted_values():
    r = decode('{"a": 1, "b": [1,,2]}', '{"a": 2, "b": "\\q"}', '{"a": 3, "b": {"x": 1}}',
               fields=["a"])
    assert column(r, "a") == [3]
    assert [e.line for e in r.errors] == [1, 2]


def test_projection_with_non_ascii_keys():
    r = decode('{"Émoji": 1, "ñ": 2, "a": 3}', '{"émoji": 4, "ñ": 5, "a": 6}', fields=["émoji"])
    assert r.batch.names == ("Émoji",)
    assert column(r, "émoji") == [1, 4]


def test_declared_projected_field_with_no_values_is_typed():
    r = decode('{"a": 1}', fields=["a", "p"], declared={"p": "DECIMAL(10,2)"})
    assert r.batch.schema == [("a", "BIGINT"), ("p", "DECIMAL", 2)]
    assert column(r, "p") == [None]


# ------------------------------------------------------------------------------ JSON documents

def test_json_array_document():
    r = JsonDecoder().decode_document(b'[\n  {"a": 1, "b": "x"},\n  {"a": 2.5}\n]\n')
    assert r.errors == []
    assert r.batch.to_pylist() == [{"a": ScaledInteger("1.0"), "b": "x"},
                                   {"a": ScaledInteger("2.5"), "b": None}]
    assert r.batch.meta["_line"].to_pylist() == [2, 3]


def test_json_array_with_non_object_element_and_empty_array():
    r = JsonDecoder().decode_document(b'[{"a": 1}, [2], {"a": 3}]')
    assert column(r, "a") == [1, 3]
    [err] = r.errors
    assert err.raw == b"[2]" and "not a JSON object" in err.message
    r = JsonDecoder().decode_document(b" [ ] ")
    assert len(r.batch) == 0 and r.errors == []


def test_json_array_syntax_error_stops_the_document_with_its_position():
    r = JsonDecoder().decode_document(b'[{"a": 1},\n {"a": 2},\n {"a": 3 "b"},\n {"a": 4}]')
    assert column(r, "a") == [1, 2]
    [err] = r.errors
    assert err.line == 3 and err.column == 10
    assert "the rest of the document was not decoded" in err.message


def test_document_of_objects_one_per_line_or_pretty():
    text = b'{"a": 1}\n{\n  "a": 2,\n  "b": [1,\n 2]\n}\n{"a": 3} {"a": 4}\n'
    r = JsonDecoder().decode_document(text)
    assert column(r, "a") == [1, 2, 3, 4]
    assert r.batch.meta["_line"].to_pylist() == [1, 2, 7, 7]


def test_document_resumes_after_a_broken_object():
    text = b'{"a": 1}\n{\n  "a": 2,\n  oops\n}\n{"a": 3}\n'
    r = JsonDecoder().decode_document(text)
    assert column(r, "a") == [1, 3]
    [err] = r.errors
    assert err.line == 4 and err.raw == b'{\n  "a": 2,\n  oops\n}'


def test_document_matches_orjson_on_an_array():
    rows = [{"id": i, "name": f"n{i}", "ok": i % 2 == 0, "tags": [i]} for i in range(50)]
    r = JsonDecoder().decode_document(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
    assert r.batch.to_pylist() == rows


# ------------------------------------------------------------------------------------- encoding

def test_encoding_every_type():
    batch = RecordBatch.from_pylist([
        {"i": 1, "d": ScaledInteger("15025.6700"), "f": 0.1, "b": True, "s": "a\"b",
         "t": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "o": {"k": ScaledInteger("1.50")},
         "n": None},
        {"i": None, "d": ScaledInteger("-0.05"), "f": float("nan"), "b": False, "s": None,
         "t": dt.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=dt.UTC), "o": [1, None],
         "n": None},
    ])
    out = JsonEncoder().encode_lines(batch)
    assert out == (
        b'{"i":1,"d":"15025.6700","f":0.1,"b":true,"s":"a\\"b","t":"2024-01-01T00:00:00.000Z",'
        b'"o":{"k":"1.50"},"n":null}\n'
        b'{"i":null,"d":"-0.05","f":null,"b":false,"s":null,"t":"1969-12-31T23:59:59.999Z",'
        b'"o":[1,null],"n":null}\n')
    numbers = JsonEncoder(decimals_as_numbers=True).encode_rows(batch)
    assert numbers[0].startswith(b'{"i":1,"d":15025.6700,')
    assert numbers[1].startswith(b'{"i":null,"d":-0.05,')


@pytest.mark.parametrize("value, text", [
    (1.0, b"1.0"), (1e16, b"1e+16"), (-2.5e-7, b"-2.5e-07"), (0.30000000000000004,
                                                              b"0.30000000000000004"),
    (float("inf"), b"null"), (float("-inf"), b"null"), (123456789.125, b"123456789.125"),
])
def test_doubles_are_shortest_repr(value, text):
    batch = RecordBatch(["f"], [RecordBatch.from_pylist([{"f": value}]).column("f")])
    assert JsonEncoder().encode_rows(batch) == [b'{"f":' + text + b"}"]
    if math.isfinite(value):
        assert orjson.loads(b'{"f":' + text + b"}")["f"] == value


def test_int64_extremes_and_keys_are_escaped():
    batch = RecordBatch(['we"ird\nkey', "n"], [string_column(["v"]), int64_column([-(2**63)])])
    out = JsonEncoder().encode_rows(batch)
    assert out == [b'{"we\\"ird\\nkey":"v","n":-9223372036854775808}']
    assert orjson.loads(out[0]) == {'we"ird\nkey': "v", "n": -(2**63)}


def test_object_cells_with_wide_values():
    batch = RecordBatch.from_pylist([{"o": 2**70}, {"o": Decimal("1.10")}, {"o": "s"},
                                     {"o": {"big": 2**70, "d": Decimal("2.5")}}])
    assert JsonEncoder().encode_lines(batch).splitlines() == [
        b'{"o":1180591620717411303424}', b'{"o":"1.10"}', b'{"o":"s"}',
        b'{"o":{"big":1180591620717411303424,"d":"2.5"}}']


def test_pretty_and_array_output():
    batch = RecordBatch.from_pylist([{"a": 1, "m": {"k": 1}}, {"a": 2, "m": None}])
    enc = JsonEncoder(pretty=True)
    assert enc.encode_rows(batch)[0] == b'{\n  "a": 1,\n  "m": {\n    "k": 1\n  }\n}'
    assert orjson.loads(enc.encode_array(batch)) == batch.to_pylist()
    assert orjson.loads(JsonEncoder().encode_array(batch)) == batch.to_pylist()
    assert JsonEncoder().encode_array(RecordBatch.empty(0)) == b"[]\n"


def test_empty_batch_and_batch_without_columns():
    assert JsonEncoder().encode_lines(RecordBatch.from_pylist([])) == b""
    assert JsonEncoder().encode_lines(RecordBatch.empty(2)) == b"{}\n{}\n"


def test_decode_encode_keeps_decimal_scale():
    r = decode('{"p": 1.5}', '{"p": 2.125}')
    out = JsonEncoder().encode_lines(r.batch)
    assert out == b'{"p":"1.5"}\n{"p":"2.125"}\n'
    batch = RecordBatch(["p"], [decimal_column([ScaledInteger("1.5")], 3)])
    assert JsonEncoder(decimals_as_numbers=True).encode_lines(batch) == b'{"p":1.500}\n'


# --------------------------------------------------------------------------- property round trip

DECIMAL_TEXT = st.builds(
    lambda whole, frac, neg: f"{'-' if neg else ''}{whole}.{frac}",
    st.integers(0, 10**9), st.text("0123456789", min_size=1, max_size=6), st.booleans())
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
    DECIMAL_TEXT.map(lambda t: ("dec", t)))
KEYS = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6)


def _render(value):
    if isinstance(value, tuple):
        return value[1].encode()
    return orjson.dumps(value)


def _expected(value):
    if isinstance(value, tuple):
        return Decimal(value[1])
    return value


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(KEYS, SCALARS, max_size=5), min_size=1, max_size=8))
def test_round_trip_random_records(records):
    text = b"".join(b"{" + b",".join(orjson.dumps(k) + b":" + _render(v) for k, v in r.items())
                    + b"}\n" for r in records)
    result = JsonDecoder().decode_lines(text)
    assert result.errors == []
    out = JsonEncoder(decimals_as_numbers=True).encode_lines(result.batch)
    decoded = [json.loads(line, parse_float=Decimal) for line in out.splitlines()]
    assert len(decoded) == len(records)
    for rec, got in zip(records, decoded):
        # Keys are case-insensitive: the batch has one column per lower-cased key (first
        # spelling); with duplicates in one record the last value wins.
        want = {}
        for k, v in rec.items():
            want[k.lower()] = _expected(v)
        got_lower = {k.lower(): v for k, v in got.items()}
        for k, v in want.items():
            g = got_lower[k]
            if isinstance(v, Decimal):
                assert Decimal(str(g)) == v
            elif isinstance(v, bool) or v is None:
                assert g is v or g == v
            elif isinstance(v, int):
                assert Decimal(str(g)) == v
            else:
                assert g == v
        assert all(got_lower[k] is None for k in got_lower if k not in want)


# ------------------------------------------------------------------------------------ large batch

def test_large_batch_sanity():
    n = 100_000
    data = b"".join(b'{"id":%d,"sym":"S%d","px":%d.%02d,"q":%d}\n' % (i, i % 7, i, i % 100, i * 3)
                    for i in range(n))
    r = JsonDecoder().decode_lines(data)
    assert r.errors == [] and len(r.batch) == n
    assert r.batch.schema == [("id", "BIGINT"), ("sym", "STRING"), ("px", "DECIMAL", 2),
                              ("q", "BIGINT")]
    assert r.batch.column("px").get(n - 1) == ScaledInteger(f"{n - 1}.99")
    assert r.batch.meta["_line"].get(n - 1) == n
    out = JsonEncoder().encode_lines(r.batch)
    assert out.count(b"\n") == n
    assert orjson.loads(out.splitlines()[12345]) == {"id": 12345, "sym": "S4", "px": "12345.45",
                                                     "q": 37035}


# ------------------------------------------------------------------ differential fuzz vs orjson

NESTED = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
              st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=8)


def _normalise(value):
    """Values as json.loads(parse_float=Decimal) would compare: numbers as Decimal."""
    if isinstance(value, ScaledInteger):
        return Decimal(str(value))
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return {k: _normalise(v) for k, v in value.items()}


def _floats_normalised(value):
    """Nested values as orjson gives them: fractions as float, integers exact."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, ScaledInteger):
        return float(value)
    if isinstance(value, list):
        return [_floats_normalised(v) for v in value]
    if isinstance(value, dict):
        return {k: _floats_normalised(v) for k, v in value.items()}
    return value


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=5), NESTED, min_size=1, max_size=5),
       st.lists(st.tuples(st.sampled_from("ird"), st.integers(0, 10**6),
                          st.sampled_from(b'{}[]",:.-+eE0159 \\u\t\x00\x7f\xc3\xa9\xff')),
                max_size=3))
def test_mutated_lines_agree_with_orjson(record, mutations):
    text = bytearray(json.dumps(record, ensure_ascii=False).encode())
    for op, at, byte in mutations:
        at %= len(text) + 1
        if op == "i":
            text[at:at] = bytes([byte])
        elif op == "r" and at < len(text):
            text[at] = byte
        elif op == "d" and at < len(text):
            del text[at]
    text = bytes(text)
    if b"\n" in text or b"\r" in text:
        return
    try:
        expected = orjson.loads(text)
        valid = isinstance(expected, dict)
    except orjson.JSONDecodeError as exc:
        if "infinity" in str(exc):
            return      # 1e400: orjson refuses; we report "does not fit DOUBLE"
        valid = False
    r = JsonDecoder().decode_lines(text)
    assert (len(r.batch) == 1) == valid, (text, r.errors)
    assert len(r.errors) == (0 if valid else 1)
    if not valid:
        assert r.errors[0].raw == text
        return
    reference = json.loads(text, parse_float=Decimal)
    merged = {}
    for key, value in reference.items():     # case-insensitive keys: the last value wins
        merged.pop(key.lower(), None)
        merged[key.lower()] = value
    got = {k.lower(): v for k, v in r.batch.to_pylist()[0].items()}
    assert got.keys() == merged.keys()
    for key, value in merged.items():
        mine = got[key]
        if isinstance(value, (dict, list)):
            # Nested values come from orjson: floats (documented).
            assert _floats_normalised(mine) == _floats_normalised(value), key
        elif isinstance(mine, float):
            assert mine == float(value), key
        else:
            assert _normalise(mine) == _normalise(value), key


def test_numbers_beyond_double_range_are_record_errors_not_infinities():
    r = JsonDecoder().decode_lines(b'{"p": 1e400}\n{"p": 2.5e3}\n{"p": -1e999}\n')
    assert r.batch.to_pylist() == [{"p": 2500.0}]
    assert [(e.line, e.message) for e in r.errors] == [
        (1, "field 'p': 1e400 does not fit DOUBLE at column 7"),
        (3, "field 'p': -1e999 does not fit DOUBLE at column 7")]
    declared = JsonDecoder(declared={"p": "DOUBLE"}).decode_lines(b'{"p": "1e400"}\n{"p": "nan"}\n')
    assert len(declared.batch) == 0 and len(declared.errors) == 2


@pytest.mark.parametrize("financial", [True, False])
def test_nested_numbers_beyond_double_range_are_record_errors_too(financial):
    # Found by tests/fuzz: nested, 1e400 became inf and was written as null.
    lines = (b'{"a": {"x": 1e400}}\n{"a": [1.5, 2e999]}\n{"a": {"x": 1}}\n'
             b'{"a": [12345678901234567890123, -1e400]}\n{"a": [0.5e1]}\n')
    r = JsonDecoder(financial_precision=financial).decode_lines(lines)
    assert r.batch.to_pylist() == [{"a": {"x": 1}}, {"a": [5.0]}]
    assert [e.line for e in r.errors] == [1, 2, 4]
    assert r.errors[0].message == (
        "field 'a': {\"x\": 1e400} holds a number that does not fit DOUBLE at column 7")


# ------------------------------------------------------------------------------------ key lookup

@pytest.mark.parametrize("fields", [None, ["b", "A", "price"]])
def test_keys_found_whatever_each_record_order_case_and_length(fields):
    """The scanner remembers which column the key at each position of a record was: records
    whose keys move, change case, repeat or are long still land in the right columns."""
    long = "k" * 40
    records = ['{"a": 1, "b": "x", "price": 1.5}',
               '{"b": "y", "a": 2, "price": 2.5}',
               '{"A": 3, "B": "z", "PRICE": 3.5}',
               f'{{"{long}": 0, "skip": 1, "a": 4, "b": "w", "price": 4.5}}',
               '{"skip": 1, "a": 5, "a": 6, "price": 5.5, "b": "v"}',
               f'{{"{long}": 9, "a": 7, "b": "u", "price": 6.5}}']
    whole = decode(*records, fields=fields)
    alone = [decode(r, fields=fields) for r in records]
    for name in ("a", "b", "price"):
        assert column(whole, name) == [column(one, name)[0] for one in alone]
    assert column(whole, "a") == [1, 2, 3, 4, 6, 7]
    assert column(whole, "b") == ["x", "y", "z", "w", "v", "u"]


def test_next_line_counts_the_lines_decoded():
    decoder = JsonDecoder()
    decoder.decode_lines(b'{"a": 1}\n\n  \nnot json\n{"a": 2}\n', first_line=10)
    assert decoder.next_line == 15
