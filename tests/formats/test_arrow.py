"""Arrow interop: RecordBatch.from_arrow / to_arrow (types, NULLs, shared memory, casts) and
StreamApp.process_arrow."""

import datetime as dt
from array import array
from decimal import Decimal

import pytest

pa = pytest.importorskip("pyarrow", reason="pyarrow (the velostream[arrow] extra) is not "
                                           "installed; CI installs it through the test extra")

from velostream import RecordBatch, StreamApp
from velostream._core import batch as B
from velostream._core.decimal import ScaledInteger

UTC = dt.UTC
W1 = ("SELECT trade_id, symbol, price, quantity, price * quantity AS notional "
      "FROM trades WHERE quantity > 500")

ROWS = [
    {"i": 1, "f": 1.5, "s": "x", "p": Decimal("1.25"), "ok": True,
     "t": dt.datetime(2024, 1, 1, 12, 30, tzinfo=UTC), "n": None, "o": [1, 2]},
    {"i": None, "f": None, "s": None, "p": None, "ok": None, "t": None, "n": None, "o": None},
    {"i": -7, "f": -0.0, "s": "žluť", "p": Decimal(-3), "ok": False,
     "t": dt.datetime(1969, 12, 31, tzinfo=UTC), "n": None, "o": [3]},
]


def test_round_trip_every_type_with_nulls():
    batch = RecordBatch.from_pylist(ROWS)
    arrow = batch.to_arrow()
    assert [str(f.type) for f in arrow.schema] == [
        "int64", "double", "large_string", "decimal128(38, 2)", "bool", "timestamp[ms, tz=UTC]",
        "null", "list<item: int64>"]
    assert arrow.column(3).to_pylist() == [Decimal("1.25"), None, Decimal("-3.00")]
    back = RecordBatch.from_arrow(arrow)
    assert back.schema == batch.schema
    got = back.to_pylist()
    assert got[1] == dict.fromkeys(ROWS[1])
    assert got[0] == ROWS[0] and got[2]["s"] == "žluť"
    assert str(got[2]["p"]) == "-3.00"         # Arrow has one scale per column


def test_to_arrow_shares_fixed_width_and_string_buffers():
    batch = RecordBatch.from_pydict({"i": [1, 2, 3], "f": [0.5, 1.5, 2.5], "s": ["a", "bb", "c"],
                                     "t": [0, 1, 2]}, schema={"t": "TIMESTAMP"})
    arrow = batch.to_arrow()
    for name in ("i", "f", "t"):
        assert arrow.column(name).buffers()[1].address == batch.column(name).data.buffer_info()[0]
    s = batch.column("s")
    assert arrow.column("s").buffers()[1].address == s.offsets.buffer_info()[0]
    assert arrow.column("s").buffers()[2].to_pybytes() == b"abbc"


def test_from_arrow_shares_memory_where_layouts_match():
    table = pa.table({"i": pa.array([1, 2, 3], pa.int64()), "f": [0.5, 1.5, 2.5],
                      "s": pa.array(["a", "bb", "c"], pa.large_string()),
                      "w": pa.array([Decimal("12345678901234567890.12"), Decimal("1.00"),
                                     Decimal("-2.50")], pa.decimal128(38, 2))})
    batch = RecordBatch.from_arrow(table)
    for name in ("i", "f"):
        assert batch.column(name).data.address == table.column(name).chunk(0).buffers()[1].address
    assert batch.column("s").buffer.address == table.column("s").chunk(0).buffers()[2].address
    wide = batch.column("w")
    assert wide.storage == "int128" and wide.precision == 38
    assert wide.wdata.address == table.column("w").chunk(0).buffers()[1].address
    assert [str(v) for v in wide.to_pylist()] == ["12345678901234567890.12", "1.00", "-2.50"]
    assert batch.to_pylist()[1] == {"i": 2, "f": 1.5, "s": "bb", "w": ScaledInteger("1.00")}


def test_narrow_decimal128_becomes_int64_mantissas():
    arr = pa.array([Decimal("1.5000"), None, Decimal("-2.2500")], pa.decimal128(18, 4))
    column = RecordBatch.from_arrow(pa.table({"p": arr})).column("p")
    assert column.storage == "int64" and column.scale == 4 and column.precision == 18
    assert list(column.data) == [15000, 0, -22500]


def test_garbage_under_arrow_nulls_is_not_computed_on():
    # Arrow leaves the data under a NULL undefined: INT64_MAX there must not overflow x * 2.
    data = pa.py_buffer(array("q", [3, 2**63 - 1]))
    validity = pa.array([True, False]).buffers()[1]
    x = pa.Array.from_buffers(pa.int64(), 2, [validity, data], 1)
    out = StreamApp("SELECT x * 2 AS y FROM t").process_arrow(pa.table({"x": x}))
    assert out.column("y").to_pylist() == [6, None]


def test_sliced_and_chunked_inputs():
    table = pa.table({"i": [1, 2, 3, 4], "s": ["a", "b", None, "d"],
                      "ok": [True, False, None, True]}).slice(1, 3)
    assert RecordBatch.from_arrow(table).to_pydict() == {
        "i": [2, 3, 4], "s": ["b", None, "d"], "ok": [False, None, True]}
    chunked = pa.concat_tables([pa.table({"i": [1, 2]}), pa.table({"i": [3]})])
    assert RecordBatch.from_arrow(chunked).to_pydict() == {"i": [1, 2, 3]}
    assert RecordBatch.from_arrow(chunked.to_batches()[1]).to_pydict() == {"i": [3]}


def test_other_arrow_types_are_cast():
    table = pa.table({
        "i8": pa.array([1, None], pa.int8()),
        "u64": pa.array([2**64 - 1, 1], pa.uint64()),
        "f32": pa.array([0.5, None], pa.float32()),
        "str": pa.array(["a", None], pa.string()),
        "dict": pa.array(["x", "y"]).dictionary_encode(),
        "ns": pa.array([1_700_000_000_123_456_789, None], pa.timestamp("ns")),
        "d256": pa.array([Decimal("1.5"), None], pa.decimal256(50, 1)),
        "date": pa.array([dt.date(2024, 1, 2), None], pa.date32()),
    })
    batch = RecordBatch.from_arrow(table)
    assert batch.schema == [("i8", "BIGINT"), ("u64", "OBJECT"), ("f32", "DOUBLE"),
                            ("str", "STRING"), ("dict", "STRING"), ("ns", "TIMESTAMP"),
                            ("d256", "DECIMAL", 1), ("date", "OBJECT")]
    rows = batch.to_pylist()
    assert rows[0]["u64"] == 2**64 - 1 and rows[1]["i8"] is None and rows[0]["f32"] == 0.5
    assert rows[0]["ns"] == dt.datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    assert rows[1]["d256"] is None and str(rows[0]["d256"]) == "1.5"


def test_mixed_object_column_has_no_arrow_type():
    batch = RecordBatch.from_pylist([{"m": 1}, {"m": "a"}])
    with pytest.raises(ValueError, match=r"column 'm' \(OBJECT\) has no Arrow type"):
        batch.to_arrow()


def test_empty_and_columnless():
    assert RecordBatch.from_arrow(pa.table({"a": pa.array([], pa.int64())})).schema == [
        ("a", "BIGINT")]
    assert len(RecordBatch.from_arrow(pa.table({}))) == 0
    with pytest.raises(TypeError, match="from_arrow takes a pyarrow Table or RecordBatch"):
        RecordBatch.from_arrow([1, 2])


@pytest.mark.parametrize("args, message", [
    ((B.INT64, 4, b"12345678"), "needs 32 bytes, the buffer has 8"),
    ((B.STRING, 2, b"ab"), "needs 3 int64 offsets"),
])
def test_column_from_buffers_checks_sizes(args, message):
    with pytest.raises(ValueError, match=message):
        B.column_from_buffers(*args)


def test_string_offsets_outside_the_buffer_are_refused():
    with pytest.raises(ValueError, match="outside the character buffer"):
        B.column_from_buffers(B.STRING, 1, b"ab", offsets=array("q", [0, 5]))


def test_process_arrow_matches_process():
    rows = [{"trade_id": i, "symbol": "AB"[i % 2], "price": Decimal(f"{i}.2500"),
             "quantity": 400 + 50 * i} for i in range(6)]
    table = RecordBatch.from_pylist(rows).to_arrow()
    out = StreamApp(W1).process_arrow(pa.Table.from_batches([table]))
    assert isinstance(out, pa.Table)
    assert out.schema.field("notional").type == pa.decimal128(38, 4)
    expected = StreamApp(W1).process(rows)
    assert [dict(r, price=ScaledInteger(r["price"]), notional=ScaledInteger(r["notional"]))
            for r in out.to_pylist()] == expected
    assert StreamApp("SELECT a FROM t WHERE a > 5").process_arrow(pa.table({"a": [1]})) \
        .num_rows == 0
