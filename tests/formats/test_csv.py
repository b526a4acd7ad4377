"""CSV codec: RFC 4180 quoting both ways, typing by the JSON text rules, errors, chunking."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from velostream._core.batch import RecordBatch, string_column
from velostream._core.decimal import ScaledInteger
from velostream.formats import CsvDecoder, CsvEncoder, JsonDecoder


def column(result, name):
    return result.batch.column(name).to_pylist()


def test_header_and_typed_columns():
    data = (b"trade_id,symbol,price,quantity,side,ok\n"
            b"1,AAPL,189.2500,600,BUY,true\n"
            b"2,MSFT,410.5,100,SELL,FALSE\n")
    r = CsvDecoder().decode(data)
    assert r.errors == []
    assert r.batch.schema == [("trade_id", "BIGINT"), ("symbol", "STRING"),
                              ("price", "DECIMAL", 4), ("quantity", "BIGINT"),
                              ("side", "STRING"), ("ok", "BOOLEAN")]
    assert column(r, "price") == [ScaledInteger("189.2500"), ScaledInteger("410.5000")]
    assert column(r, "ok") == [True, False]
    assert r.batch.meta["_line"].to_pylist() == [2, 3]


@pytest.mark.parametrize("texts, type_name, values", [
    (["1", "-2", ""], "BIGINT", [1, -2, None]),
    (["1.5", "2", "0.125"], "DECIMAL", [ScaledInteger("1.500"), ScaledInteger("2.000"),
                                        ScaledInteger("0.125")]),
    (["1e3", "2"], "DOUBLE", [1000.0, 2.0]),
    (["1.5", "1e3"], "DECIMAL", [ScaledInteger("1.5"), ScaledInteger("1000.0")]),
    (["007", "12"], "STRING", ["007", "12"]),      # not a JSON number: stays text
    (["+5", "5"], "STRING", ["+5", "5"]),
    (["1", "x", "2.50"], "STRING", ["1", "x", "2.50"]),   # conflicts keep the original texts
    (["true", "1"], "STRING", ["true", "1"]),
    (["12345678901234567890", "1"], "OBJECT", [12345678901234567890, 1]),
    (["", ""], "NULL", [None, None]),
    (["NaN", "inf"], "STRING", ["NaN", "inf"]),
])
def test_field_typing(texts, type_name, values):
    # Blank lines are skipped, so empty fields get a second column.
    data = ("v,k\n" + "".join(f"{t},x\n" for t in texts)).encode()
    r = CsvDecoder().decode(data)
    assert r.errors == []
    assert r.batch.schema[0][:2] == ("v", type_name)
    assert column(r, "v") == values


def test_without_financial_precision_fractions_are_double():
    r = CsvDecoder(financial_precision=False).decode(b"p\n0.1\n2\n")
    assert r.batch.schema == [("p", "DOUBLE")]
    assert column(r, "p") == [0.1, 2.0]


def test_quoted_fields_delimiters_quotes_newlines_and_line_numbers():
    data = (b'id,text,n\n'
            b'1,"a, b",10\n'
            b'2,"say ""hi""",20\n'
            b'3,"multi\nline\r\nvalue",30\n'
            b'4,"",\n'
            b'5,,"7"\n')
    r = CsvDecoder().decode(data)
    assert r.errors == []
    assert column(r, "text") == ["a, b", 'say "hi"', "multi\nline\r\nvalue", "", None]
    assert column(r, "n") == [10, 20, 30, None, 7]
    assert r.batch.meta["_line"].to_pylist() == [2, 3, 4, 7, 8]
    expected = list(csv.reader(io.StringIO(data.decode(), newline="")))[1:]
    assert [row[1] for row in expected] == ["a, b", 'say "hi"', "multi\nline\r\nvalue", "", ""]


def test_crlf_bom_blank_lines_and_no_trailing_newline():
    r = CsvDecoder().decode(b"\xef\xbb\xbfa,b\r\n1,x\r\n\r\n2,y")
    assert r.batch.names == ("a", "b")
    assert column(r, "a") == [1, 2] and column(r, "b") == ["x", "y"]
    assert r.batch.meta["_line"].to_pylist() == [2, 4]


def test_other_delimiters():
    r = CsvDecoder(delimiter="\t").decode(b"a\tb\n1,5\t\"x\ty\"\n")
    assert column(r, "a") == ["1,5"] and column(r, "b") == ["x\ty"]
    r = CsvDecoder(delimiter=";").decode(b"a;b\n1;2\n")
    assert column(r, "b") == [2]
    with pytest.raises(ValueError):
        CsvDecoder(delimiter="::")


def test_no_header_names_and_default_names():
    r = CsvDecoder(has_headers=False).decode(b"1,x\n2,y\n")
    assert r.batch.names == ("column0", "column1")
    assert r.batch.meta["_line"].to_pylist() == [1, 2]
    r = CsvDecoder(has_headers=False, names=["id", "sym"]).decode(b"1,x\n")
    assert r.batch.to_pylist() == [{"id": 1, "sym": "x"}]


def test_header_is_exposed_for_later_chunks():
    dec = CsvDecoder()
    r1 = dec.decode(b"id,Price\n1,1.5\n")
    assert dec.header == ["id", "Price"]
    r2 = dec.decode(b"2,2.25\n3,3\n", first_line=3, header=dec.header)
    assert r2.batch.names == ("id", "Price")
    assert column(r2, "price") == [ScaledInteger("2.25"), ScaledInteger("3.00")]
    assert r2.batch.meta["_line"].to_pylist() == [3, 4]
    assert column(r1, "id") == [1]


def test_projection_skips_unwanted_columns():
    data = b'a,b,c\n1,"x,\ny",2.5\n3,z,4\n'
    r = CsvDecoder(fields=["C", "a", "nope"]).decode(data)
    assert r.batch.names == ("c", "a", "nope")
    assert r.batch.to_pylist() == [{"c": ScaledInteger("2.5"), "a": 1, "nope": None},
                                   {"c": ScaledInteger("4.0"), "a": 3, "nope": None}]
    assert r.batch.meta["_line"].to_pylist() == [2, 4]


def test_declared_types():
    data = b"id,p,s,t\n1,100.25,0042,2024-01-01T00:00:00Z\n2,3,7,1704067200001\n"
    r = CsvDecoder(declared={"id": "STRING", "p": "DECIMAL(10,4)", "s": "STRING",
                             "t": "TIMESTAMP"}).decode(data)
    assert r.errors == []
    assert r.batch.schema == [("id", "STRING"), ("p", "DECIMAL", 4), ("s", "STRING"),
                              ("t", "TIMESTAMP")]
    assert column(r, "s") == ["0042", "7"]
    assert column(r, "t")[1] == dt.datetime(2024, 1, 1, 0, 0, 0, 1000, tzinfo=dt.UTC)
    r = CsvDecoder(declared={"p": "DECIMAL"}).decode(b"p,q\nabc,1\n2.5,2\n")
    assert column(r, "p") == [ScaledInteger("2.5")]
    [err] = r.errors
    assert err.line == 2 and err.message == "field 'p': 'abc' is not a valid DECIMAL at column 1"


def test_malformed_records_are_reported_and_good_ones_survive():
    data = b'a,b\n1,x\n2\n3,y,extra\n4,"bad"quote\n5,z\n6,"never closed\n'
    r = CsvDecoder().decode(data)
    assert column(r, "a") == [1, 5]
    assert r.batch.meta["_line"].to_pylist() == [2, 6]
    assert [(e.line, e.raw) for e in r.errors] == [
        (3, b"2"), (4, b"3,y,extra"), (5, b'4,"bad"quote'), (7, b'6,"never closed')]
    assert r.errors[0].message == "invalid CSV: expected 2 fields, found 1 at column 1"
    assert "unexpected character after a closing quote at column 8" in r.errors[2].message
    assert "unterminated quoted field" in r.errors[3].message


def test_unfinished_quoted_record_is_kept_for_the_next_chunk():
    dec = CsvDecoder()
    r = dec.decode(b'id,t\n1,a\n2,"two\nlines', final=False)
    assert column(r, "id") == [1] and r.errors == []
    assert dec.remainder == b'2,"two\nlines' and dec.remainder_line == 3
    r2 = dec.decode(dec.remainder + b' end"\n3,c\n', first_line=dec.remainder_line,
                    header=dec.header)
    assert column(r2, "t") == ["two\nlines end", "c"]
    assert r2.batch.meta["_line"].to_pylist() == [3, 5]


# ------------------------------------------------------------------------------------- encoding

def test_encoding_quotes_per_rfc_4180():
    batch = RecordBatch.from_pylist([
        {"id": 1, "text": "a,b", "p": ScaledInteger("1.50"), "f": 0.1, "ok": True,
         "t": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "o": {"k": [1]}},
        {"id": None, "text": 'say "hi"\nnow', "p": None, "f": None, "ok": False, "t": None,
         "o": "plain"},
        {"id": 3, "text": "", "p": ScaledInteger("-0.05"), "f": 1e16, "ok": None, "t": None,
         "o": None},
    ])
    out = CsvEncoder().encode(batch, True)
    assert out == (b'id,text,p,f,ok,t,o\n'
                   b'1,"a,b",1.50,0.1,true,2024-01-01T00:00:00.000Z,"{""k"":[1]}"\n'
                   b',"say ""hi""\nnow",,,false,,plain\n'
                   b'3,"",-0.05,1e+16,,,\n')
    parsed = list(csv.reader(io.StringIO(out.decode(), newline="")))
    assert parsed[2][1] == 'say "hi"\nnow' and parsed[1][6] == '{"k":[1]}'
    assert CsvEncoder(header=False).encode(batch).count(b"\n") == 4   # one quoted newline


def test_encoding_with_other_delimiter_and_quoted_header():
    batch = RecordBatch(["a;b", "c"], [string_column(["x;y"]), string_column(["z"])])
    assert CsvEncoder(delimiter=";").encode(batch, True) == b'"a;b";c\n"x;y";z\n'


def test_round_trip_decode_encode_decode():
    data = (b'id,name,price,note\n1,"Smith, J",10.50,"line1\nline2"\n2,O\'Brien,3,\n'
            b'3,"",0.125,"q""uote"\n')
    r = CsvDecoder().decode(data)
    out = CsvEncoder().encode(r.batch, True)
    r2 = CsvDecoder().decode(out)
    assert r2.batch.to_pylist() == r.batch.to_pylist()
    assert r2.batch.schema == r.batch.schema


def test_csv_and_json_decode_numbers_alike():
    c = CsvDecoder().decode(b"x\n1\n2.50\n")
    j = JsonDecoder().decode_lines(b'{"x": 1}\n{"x": 2.50}\n')
    assert c.batch.schema == j.batch.schema
    assert c.batch.to_pylist() == j.batch.to_pylist()


TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
               max_size=10)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(TEXT, st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
                          st.decimals(-(10**9), 10**9, places=3, allow_nan=False)),
                min_size=1, max_size=10))
def test_round_trip_random_rows(rows):
    # Strings are declared so that texts like "12" or "true" stay strings.
    records = [{"s": f"<{s}>", "i": i, "d": ScaledInteger(str(d))} for s, i, d in rows]
    batch = RecordBatch.from_pylist(records)
    out = CsvEncoder().encode(batch, True)
    assert list(csv.reader(io.StringIO(out.decode(), newline="")))[1:] == [
        [r["s"], "" if r["i"] is None else str(r["i"]), str(batch.column("d").get(k))]
        for k, r in enumerate(records)]
    r = CsvDecoder(declared={"s": "STRING"}).decode(out)
    assert r.errors == []
    got = r.batch.to_pylist()
    assert [g["s"] for g in got] == [x["s"] for x in records]
    assert [g["i"] for g in got] == [x["i"] for x in records]
    assert [Decimal(str(g["d"])) for g in got] == [Decimal(str(x["d"])) for x in records]


def test_large_csv_sanity():
    n = 100_000
    data = b"id,sym,px\n" + b"".join(b'%d,"S,%d",%d.%02d\n' % (i, i % 5, i, i % 100)
                                     for i in range(n))
    r = CsvDecoder().decode(data)
    assert r.errors == [] and len(r.batch) == n
    assert r.batch.schema == [("id", "BIGINT"), ("sym", "STRING"), ("px", "DECIMAL", 2)]
    assert r.batch.column("sym").get(n - 1) == f"S,{(n - 1) % 5}"
    assert CsvEncoder().encode(r.batch, True) == data


def test_csv_number_beyond_double_range_stays_text():
    r = CsvDecoder().decode(b"p,q\n1e400,1\n")
    assert r.batch.to_pylist() == [{"p": "1e400", "q": 1}]


@pytest.mark.parametrize("data, rows", [
    (b"a\nx\n\nz\n", ["x", None, "z"]),      # a one-column NULL row, as the encoder writes it
    (b"a\nx\n\r\n", ["x", None]),
    (b"a\nx\n\r", ["x", None]),              # CR LF cut at the end of the input
])
def test_a_blank_line_of_a_one_column_file_is_a_null_row(data, rows):
    # Found by tests/fuzz (crashes/csv/single-column-null-row-lost): the row was lost.
    r = CsvDecoder().decode(data, final=True)
    assert [row["a"] for row in r.batch.to_pylist()] == rows and not r.errors
    again = CsvDecoder().decode(CsvEncoder().encode(r.batch, write_header=True), final=True)
    assert again.batch.to_pylist() == r.batch.to_pylist()


def test_blank_lines_of_a_wider_file_are_still_no_records():
    r = CsvDecoder().decode(b"a,b\n1,2\n\n3,4\n\r\n\r", final=True)
    assert r.batch.to_pylist() == [{"a": 1, "b": 2}, {"a": 3, "b": 4}] and not r.errors
