"""The public RecordBatch constructors and converters: from_pylist (the one-pass typed path),
from_pydict, schemas, to_pylist / to_pydict, and their agreement with column_from_values."""

import collections.abc
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from velostream._core import pyrows
from velostream._core.batch import RecordBatch, column_from_values
from velostream._core.decimal import ScaledInteger


def _shape(column):
    """What tells two columns apart for a user: type, scale, values with their own scales."""
    values = [(type(v).__name__, str(v)) for v in column.to_pylist()]
    return column.type_name, getattr(column, "scale", None), values


def test_public_import():
    import velostream

    assert velostream.RecordBatch is RecordBatch
    assert "RecordBatch" in velostream.__all__


def test_decimal_reader_is_active_on_this_interpreter():
    # The fast exact Decimal path checks the private layout at import; on CPython it must hold,
    # or every Decimal would silently take the slower conversion.
    assert pyrows._dec_layout_ok()


@settings(max_examples=300, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_decimal_values_convert_exactly(value):
    try:
        want = ScaledInteger(value)
    except (ValueError, OverflowError, ArithmeticError):
        return
    got = RecordBatch.from_pylist([{"d": value}]).to_pylist()[0]["d"]
    assert str(got) == str(want) if got is not None else want is None


_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.integers(),
    st.floats(allow_nan=False), st.text(max_size=4),
    st.decimals(allow_nan=False, allow_infinity=False, places=4, max_value=10**12,
                min_value=-(10**12)),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.builds(ScaledInteger, st.integers(-(10**6), 10**6)),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_values, _values), max_size=8))
def test_from_pylist_types_columns_as_column_from_values(pairs):
    rows = [{"a": a, "b": b} for a, b in pairs]
    batch = RecordBatch.from_pylist(rows, names=["a", "b"])
    for i, name in enumerate("ab"):
        assert _shape(batch.column(name)) == _shape(column_from_values([p[i] for p in pairs]))


@pytest.mark.parametrize("values, schema_row", [
    ([1, Decimal("2.50"), None, 3], ("v", "DECIMAL", 2)),
    ([1, 2.5], ("v", "DOUBLE")),
    ([2.5, 1], ("v", "DOUBLE")),
    ([None, "x", "é"], ("v", "STRING")),
    ([True, None, False], ("v", "BOOLEAN")),
    ([Decimal("1.5"), 2.5], ("v", "OBJECT")),
    ([1, 2**70], ("v", "OBJECT")),
    ([Decimal("1E+400")], ("v", "DECIMAL", 0)),   # wide: exact objects
    ([Decimal("12345678901234567890.5")], ("v", "DECIMAL", 1)),
    ([dt.datetime(2024, 1, 1, tzinfo=dt.UTC)], ("v", "TIMESTAMP")),
])
def test_widening(values, schema_row):
    batch = RecordBatch.from_pylist([{"v": v} for v in values])
    assert batch.schema == [schema_row]
    back = [r["v"] for r in batch.to_pylist()]
    for got, want in zip(back, values, strict=True):
        assert (got is None) == (want is None)
        if want is not None and not isinstance(want, float | bool | list):
            assert got == want


def test_decimal_rows_keep_their_own_scale():
    batch = RecordBatch.from_pylist([{"p": Decimal("12.50")}, {"p": 3}, {"p": Decimal("0.125")}])
    assert batch.schema == [("p", "DECIMAL", 3)]
    assert [str(r["p"]) for r in batch.to_pylist()] == ["12.50", "3", "0.125"]


def test_keys_out_of_order_missing_and_new():
    rows = [{"a": 1, "b": "x"}, {"b": "y", "a": 2}, {"a": 3}, {"a": 4, "b": "z", "c": 1.5}]
    batch = RecordBatch.from_pylist(rows)
    assert batch.names == ("a", "b", "c")
    assert batch.to_pylist() == [
        {"a": 1, "b": "x", "c": None}, {"a": 2, "b": "y", "c": None},
        {"a": 3, "b": None, "c": None}, {"a": 4, "b": "z", "c": 1.5}]


def test_names_project_and_order_columns():
    rows = [{"a": 1, "b": 2, "c": 3}, {"c": 6, "b": 5}]
    batch = RecordBatch.from_pylist(rows, names=["c", "a"])
    assert batch.to_pylist() == [{"c": 3, "a": 1}, {"c": 6, "a": None}]


class _Row(collections.abc.Mapping):
    def __init__(self, **kw):
        self._d = kw

    def __getitem__(self, key):
        return self._d[key]

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)


def test_mapping_rows_and_generators():
    batch = RecordBatch.from_pylist(r for r in [_Row(a=1), {"a": 2, "b": "x"}, _Row(b="y")])
    assert batch.to_pylist() == [{"a": 1, "b": None}, {"a": 2, "b": "x"}, {"a": None, "b": "y"}]


def test_empty_inputs():
    assert len(RecordBatch.from_pylist([])) == 0
    batch = RecordBatch.from_pylist([{}, {}])
    assert len(batch) == 2 and batch.to_pylist() == [{}, {}]
    typed = RecordBatch.from_pylist([], schema={"price": "DECIMAL(18,4)"})
    assert typed.schema == [("price", "DECIMAL", 4)] and len(typed) == 0


def test_strings_pass_through_as_the_callers_objects():
    s = "AAPL" * 1000      # not interned: identity means no decode on the way out
    rows = [{"s": s, "q": 600}, {"s": "MSFT", "q": 1}]
    batch = RecordBatch.from_pylist(rows)
    assert batch.to_pylist()[0]["s"] is s
    assert batch.take(__import__("array").array("q", [0])).to_pylist()[0]["s"] is s
    assert bytes(batch.column("s").buffer) == s.encode() + b"MSFT"


def test_non_ascii_strings():
    batch = RecordBatch.from_pylist([{"s": "žluť"}, {"s": None}, {"s": "日本"}])
    assert batch.to_pylist() == [{"s": "žluť"}, {"s": None}, {"s": "日本"}]
    assert bytes(batch.column("s").buffer) == "žluť日本".encode()


def test_schema_decimal_rounds_half_even_and_checks_precision():
    batch = RecordBatch.from_pylist([{"p": Decimal("1.00005")}, {"p": 2}, {"p": None}],
                                    schema={"P": "DECIMAL(18,4)"})
    assert batch.schema == [("p", "DECIMAL", 4)]
    assert [str(r["p"]) for r in batch.to_pylist()] == ["1.0000", "2.0000", "None"]
    with pytest.raises(ValueError, match=r"column 'p' row 1: Decimal\('100.5'\) does not fit "
                                         r"DECIMAL\(4,2\)"):
        RecordBatch.from_pydict({"p": [1, Decimal("100.5")]}, schema={"p": "DECIMAL(4,2)"})


@pytest.mark.parametrize("schema, values, message", [
    ({"v": "BIGINT"}, [1, "2"], r"column 'v' row 1: '2' is not a BIGINT value"),
    ({"v": "BOOLEAN"}, [1], r"column 'v' row 0: 1 is not a BOOLEAN value"),
    ({"v": "STRING"}, ["a", 5], r"column 'v' row 1: 5 is not a STRING value"),
    ({"v": "DECIMAL(10,2)"}, [1.5], r"column 'v' row 0: 1.5 is not a DECIMAL value"),
    ({"v": "NOPE"}, [1], r"field 'v': unsupported declared type 'NOPE'"),
])
def test_schema_rejects_values_with_column_and_row(schema, values, message):
    with pytest.raises(ValueError, match=message):
        RecordBatch.from_pydict({"v": values}, schema=schema)


def test_schema_other_types():
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    batch = RecordBatch.from_pydict(
        {"f": [1, Decimal("2.5")], "i": [1, None], "t": [when, 0], "s": ["a", None]},
        schema={"f": "DOUBLE", "i": "INTEGER", "t": "TIMESTAMP", "s": "VARCHAR(10)"})
    assert batch.schema == [("f", "DOUBLE"), ("i", "BIGINT"), ("t", "TIMESTAMP"),
                            ("s", "STRING")]
    assert batch.to_pydict() == {"f": [1.0, 2.5], "i": [1, None],
                                 "t": [when, dt.datetime(1970, 1, 1, tzinfo=dt.UTC)],
                                 "s": ["a", None]}


def test_from_pydict_checks_lengths_and_schema_names():
    with pytest.raises(ValueError, match="column 'b' has 1 values, the first has 2"):
        RecordBatch.from_pydict({"a": [1, 2], "b": [1]})
    with pytest.raises(ValueError, match=r"schema names columns the data does not have: \['x'\]"):
        RecordBatch.from_pydict({"a": [1]}, schema={"x": "BIGINT"})


def test_from_pydict_and_to_pydict_round_trip():
    data = {"id": [1, 2, 3], "px": [Decimal("1.25"), None, Decimal(3)], "sym": ["a", "b", None],
            "f": [0.5, None, 2.0], "ok": [True, False, None]}
    batch = RecordBatch.from_pydict(data)
    assert batch.schema == [("id", "BIGINT"), ("px", "DECIMAL", 2), ("sym", "STRING"),
                            ("f", "DOUBLE"), ("ok", "BOOLEAN")]
    assert batch.to_pydict() == data
    assert batch.to_pylist()[0] == {"id": 1, "px": ScaledInteger("1.25"), "sym": "a", "f": 0.5,
                                    "ok": True}
