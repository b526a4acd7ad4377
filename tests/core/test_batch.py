"""RecordBatch and typed columns: construction, inference, null masks, take/filter/select."""

import datetime as dt
from array import array
from decimal import Decimal

import pytest

from velostream._core import batch as B
from velostream._core.batch import RecordBatch
from velostream._core.decimal import ScaledInteger


def test_from_pylist_infers_typed_columns_and_round_trips():
    rows = [
        {"id": 1, "sym": "AAPL", "px": ScaledInteger("189.2500"), "qty": 600, "f": 1.5, "ok": True,
         "ts": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "tags": ["a"]},
        {"id": 2, "sym": None, "px": ScaledInteger("1.5"), "qty": None, "f": 2.0, "ok": False,
         "ts": None, "tags": None},
    ]
    batch = RecordBatch.from_pylist(rows)
    assert batch.schema == [("id", "BIGINT"), ("sym", "STRING"), ("px", "DECIMAL", 4), ("qty", "BIGINT"),
                            ("f", "DOUBLE"), ("ok", "BOOLEAN"), ("ts", "TIMESTAMP"), ("tags", "OBJECT")]
    back = batch.to_pylist()
    assert back[0] == rows[0]
    assert back[1]["px"] == ScaledInteger("1.5000") and str(back[1]["px"]) == "1.5"
    assert back[1]["sym"] is None and back[1]["qty"] is None
    assert batch.column("QTY").null_count() == 1


@pytest.mark.parametrize("values, type_name", [
    ([1, 2, None], "BIGINT"),
    ([1, 2.5], "DOUBLE"),
    ([1, Decimal("2.5")], "DECIMAL"),
    ([2**70], "OBJECT"),            # beyond an int64 mantissa: kept exact as a Python int
    (["a", None], "STRING"),
    ([None, None], "NULL"),
    ([1, "a"], "OBJECT"),
    ([Decimal("1.5"), 2.5], "OBJECT"),   # exact and inexact do not mix silently
    ([{"a": 1}], "OBJECT"),
])
def test_inference(values, type_name):
    column = B.column_from_values(values)
    assert column.type_name == type_name
    assert column.to_pylist() == [
        None if v is None else (ScaledInteger(v) if type_name == "DECIMAL" else v) for v in values]
    assert len(column) == len(values)


def test_huge_decimals_fall_back_to_objects_without_losing_digits():
    column = B.column_from_values([Decimal("123456789012345678901234.5")])
    assert column.to_pylist()[0] == Decimal("123456789012345678901234.5")


def test_filter_keeps_only_true_rows():
    batch = RecordBatch.from_pylist([{"a": i, "s": f"r{i}"} for i in range(6)])
    mask = B.bool_column([True, False, None, True, True, False])
    kept = batch.filter(mask)
    assert [r["a"] for r in kept.to_pylist()] == [0, 3, 4]
    assert [r["s"] for r in kept.to_pylist()] == ["r0", "r3", "r4"]
    assert batch.filter(B.bool_column([True] * 6)) is batch


def test_take_and_slice_preserve_nulls_and_metadata():
    batch = RecordBatch(["x", "s"], [B.int64_column([10, None, 30]), B.string_column(["é", None, "ü"])],
                        {"_offset": B.int64_column([7, 8, 9])})
    taken = batch.take(array("q", [2, 1]))
    assert taken.to_pylist() == [{"x": 30, "s": "ü"}, {"x": None, "s": None}]
    assert taken.column("_offset").to_pylist() == [9, 8]
    assert batch.slice_rows(1, 10).column("x").to_pylist() == [None, 30]


def test_select_is_case_insensitive_and_renames_without_copying():
    col = B.float64_column([1.0, 2.0])
    batch = RecordBatch(["Price"], [col])
    out = batch.select(["price"], ["p"])
    assert out.names == ("p",) and out.columns[0] is col
    with pytest.raises(KeyError):
        batch.column("missing")


def test_string_column_is_utf8_bytes_with_offsets():
    column = B.string_column(["ab", "", None, "€"])
    assert bytes(column.buffer) == "ab€".encode()
    assert list(column.offsets) == [0, 2, 2, 2, 5]
    assert column.to_pylist() == ["ab", "", None, "€"]


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="different lengths"):
        RecordBatch(["a", "b"], [B.int64_column([1]), B.int64_column([1, 2])])


def test_epoch_column_scales_checks_range_and_reports_missing_rows():
    epoch_column, int64_column, string_column = B.epoch_column, B.int64_column, B.string_column
    source = int64_column([1, None, 1_700_000_000, 2**62, -5])
    seconds, missing = epoch_column(source, 1000)
    assert seconds.type_name == "TIMESTAMP"
    assert missing == [1, 3]                       # NULL, and past year 9999 once in ms
    assert seconds.get(2) == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    assert seconds.get(4) == dt.datetime(1969, 12, 31, 23, 59, 55, tzinfo=dt.UTC)
    assert seconds.get(1) is None and seconds.get(3) is None
    millis, missing = epoch_column(int64_column([0, 253402300799999, 253402300800000]))
    assert missing == [2] and millis.get(1).year == 9999
    with pytest.raises(TypeError):
        epoch_column(string_column(["1"]))


def test_constant_int64_column_fills_every_row():
    col = B.constant_int64_column(7, 3)
    assert col.to_pylist() == [7, 7, 7] and col.type_name == "BIGINT" and col.null_count() == 0
    ts = B.constant_int64_column(1_700_000_000_000, 2, timestamp=True)
    assert ts.type_name == "TIMESTAMP" and ts.get(1) == B.int64_column(
        [1_700_000_000_000], timestamp=True).get(0)
    assert B.constant_int64_column(0, 0).length == 0
