"""``'format' = 'parquet'`` end to end: a Parquet file source and sink of a job, through the
format registry (pyarrow is the oracle for what was written)."""

from decimal import Decimal

import pytest

pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is built without Parquet support")
pa = pytest.importorskip("pyarrow")

from velostream.app import StreamApp
from velostream.errors import ConfigError


def _trades(path, n=10):
    table = pa.table({
        "symbol": ["AAPL" if i % 2 else "MSFT" for i in range(n)],
        "price": pa.array([Decimal(f"{100 + i}.25") for i in range(n)], pa.decimal128(10, 2)),
        "quantity": list(range(n)),
    })
    pq.write_table(table, path, row_group_size=3)


def _job(sql):
    app = StreamApp(sql)
    return app, app.run()


def test_a_parquet_source_feeds_a_parquet_sink(tmp_path):
    src, out = tmp_path / "trades.parquet", tmp_path / "big.parquet"
    _trades(src)
    _, metrics = _job(
        "SELECT symbol, price * quantity AS notional, _offset AS row_number FROM t "
        "WHERE quantity >= 6 INTO o "
        f"WITH ('t.type' = 'file_source', 't.path' = '{src}', "
        f"'o.type' = 'file_sink', 'o.path' = '{out}', 'o.format' = 'parquet', "
        "'o.parquet.row_group_size' = '2')")
    assert metrics.records_out == 4
    written = pq.read_table(out)
    assert written.to_pydict() == {
        "symbol": ["MSFT", "AAPL", "MSFT", "AAPL"],
        "notional": [Decimal("637.50"), Decimal("750.75"), Decimal("866.00"), Decimal("983.25")],
        "row_number": [7, 8, 9, 10],      # _offset of a Parquet row: its 1-based row number
    }
    assert pq.ParquetFile(out).metadata.num_row_groups == 2


def test_a_parquet_source_reads_only_the_columns_the_query_needs(tmp_path):
    src = tmp_path / "t.parquet"
    _trades(src, 4)
    app = StreamApp(f"SELECT quantity FROM t WITH ('t.type' = 'file_source', 't.path' = '{src}', "
                    "'t.format' = 'parquet')")
    assert [r["quantity"] for r in app.results()] == [0, 1, 2, 3]


def test_a_parquet_sink_cannot_append(tmp_path):
    src = tmp_path / "t.parquet"
    _trades(src, 2)
    with pytest.raises(ConfigError, match="cannot be appended") as err:
        _job(f"SELECT * FROM t INTO o WITH ('t.type' = 'file_source', 't.path' = '{src}', "
             f"'o.type' = 'file_sink', 'o.path' = '{tmp_path / 'o.parquet'}', "
             "'o.append' = 'true')")
    assert err.value.key == "o.append"


def test_a_parquet_source_cannot_be_followed(tmp_path):
    src = tmp_path / "t.parquet"
    _trades(src, 2)
    with pytest.raises(ConfigError, match="cannot be followed") as err:
        list(StreamApp(f"SELECT * FROM t WITH ('t.type' = 'file_source', 't.path' = '{src}', "
                       "'t.watch' = 'true')").results())
    assert err.value.key == "t.watch"


def test_a_file_that_is_not_parquet_is_a_config_error_naming_the_path(tmp_path):
    src = tmp_path / "t.parquet"
    src.write_bytes(b"PAR1 but not really")
    with pytest.raises(ConfigError, match="not a readable Parquet file") as err:
        list(StreamApp(f"SELECT * FROM t WITH ('t.type' = 'file_source', "
                       f"'t.path' = '{src}')").results())
    assert err.value.key == "t.path"


def test_a_parquet_sink_refuses_a_checkpointed_job_at_start(tmp_path):
    """A restart would rewrite a Parquet file from its first row and lose what the checkpoint
    kept: refused before anything is read, naming the sink's format."""
    src = tmp_path / "t.parquet"
    _trades(src, 2)
    with pytest.raises(ConfigError, match="whole only once closed") as err:
        _job(f"SELECT * FROM t INTO o WITH ('t.type' = 'file_source', 't.path' = '{src}', "
             f"'o.type' = 'file_sink', 'o.path' = '{tmp_path / 'o.parquet'}', "
             f"'state.dir' = '{tmp_path / 'state'}', 'state.backend' = 'sqlite')")
    assert err.value.key == "o.format"
    assert not (tmp_path / "o.parquet").exists()
