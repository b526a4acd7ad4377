"""Parquet reader and writer (velostream.formats.parquet): round trips, row groups, projection,
batch sizes, resuming, schema conformance across batches, and bad files."""

import datetime as dt
from decimal import Decimal

import pytest

pa = pytest.importorskip("pyarrow", reason="pyarrow (the velostream[arrow] extra) is not "
                                           "installed; CI installs it through the test extra")
pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is built without Parquet support")

from velostream import RecordBatch
from velostream.formats.parquet import ParquetReader, ParquetWriter


def _trades(start, n):
    return RecordBatch.from_pylist([
        {"trade_id": i, "Symbol": "AB"[i % 2], "price": Decimal(f"{i}.2500"), "qty": i * 10,
         "ts": dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=i),
         "note": None if i % 3 else "x"} for i in range(start, start + n)])


def test_round_trip_with_row_groups(tmp_path):
    path = tmp_path / "t.parquet"
    with ParquetWriter(path, row_group_size=4) as writer:
        for start in (0, 3, 6):
            writer.write(_trades(start, 3))
    meta = pq.ParquetFile(path).metadata
    assert meta.num_rows == 9 and meta.num_row_groups == 3          # 4 + 4 + 1
    assert writer.rows_written == 9
    rows = [r for b in ParquetReader(path) for r in b.to_pylist()]
    assert rows == [r for start in (0, 3, 6) for r in _trades(start, 3).to_pylist()]


def test_reader_projects_columns_case_insensitively_and_sizes_batches(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_batches([_trades(0, 10).to_arrow()]), path)
    reader = ParquetReader(path, columns=["symbol", "TRADE_ID", "missing"], batch_size=4)
    batches = list(reader)
    assert [len(b) for b in batches] == [4, 4, 2]
    assert batches[0].names == ("Symbol", "trade_id")
    assert reader.position == 10 == reader.num_rows


def test_reader_resumes_at_a_position(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"i": list(range(10))}), path, row_group_size=3)
    first = ParquetReader(path, batch_size=4)
    it = iter(first)
    assert next(it).to_pydict() == {"i": [0, 1, 2, 3]}
    assert first.position == 4
    resumed = ParquetReader(path, batch_size=4, start_row=first.position + 2)
    assert [v for b in resumed for v in b.to_pydict()["i"]] == [6, 7, 8, 9]


def test_foreign_file_types(tmp_path):
    path = tmp_path / "pandas_like.parquet"
    pq.write_table(pa.table({"a": pa.array([1, None], pa.int32()), "s": ["x", None],
                             "d": pa.array([Decimal("1.50"), None], pa.decimal128(9, 2))}), path)
    batch = next(iter(ParquetReader(path)))
    assert batch.schema == [("a", "BIGINT"), ("s", "STRING"), ("d", "DECIMAL", 2)]
    assert batch.to_pydict() == {"a": [1, None], "s": ["x", None], "d": [Decimal("1.50"), None]}


def test_later_batches_are_cast_to_the_file_schema(tmp_path):
    path = tmp_path / "t.parquet"
    writer = ParquetWriter(path)
    writer.write(RecordBatch.from_pylist([{"p": Decimal("1.2500"), "n": None, "i": 1}]))
    writer.write(RecordBatch.from_pylist([{"p": Decimal("2.5"), "n": "late", "i": 2}]))
    writer.close()
    table = pq.read_table(path)
    assert str(table.schema.field("p").type) == "decimal128(38, 4)"
    assert table.column("n").to_pylist() == [None, "late"]
    assert table.column("p").to_pylist() == [Decimal("1.2500"), Decimal("2.5000")]


def test_a_batch_that_does_not_fit_the_file_is_refused(tmp_path):
    writer = ParquetWriter(tmp_path / "t.parquet")
    writer.write(RecordBatch.from_pylist([{"i": 1}]))
    with pytest.raises(ValueError, match=r"column 'i' is large_string in this batch but int64"):
        writer.write(RecordBatch.from_pylist([{"i": "one"}]))
    with pytest.raises(ValueError, match=r"a batch has columns \['j'\], the file has \['i'\]"):
        writer.write(RecordBatch.from_pylist([{"j": 1}]))


def test_nothing_written_makes_no_file(tmp_path):
    ParquetWriter(tmp_path / "none.parquet").close()
    assert not (tmp_path / "none.parquet").exists()


def test_bad_files_name_the_path(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(ValueError, match=r"bad.parquet: not a readable Parquet file"):
        ParquetReader(bad)
    with pytest.raises(ValueError, match=r"nope.parquet: not a readable Parquet file"):
        ParquetReader(tmp_path / "nope.parquet")
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        ParquetReader(bad, batch_size=0)
