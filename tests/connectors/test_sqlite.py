"""SQLite source and sink: round trips (exact decimals, NULLs, timestamps), table vs query,
positions, table creation, mismatch errors, upsert, checkpoint cut-back, velo-sql execute."""

import sqlite3
from decimal import Decimal

import pytest
from click.testing import CliRunner

from tests.connectors.conftest import drain
from velostream._core.batch import RecordBatch
from velostream.app import StreamApp
from velostream.cli.main import cli
from velostream.connectors.base import SinkContext, SourceContext
from velostream.connectors.sqlite import SqliteSink, SqliteSource
from velostream.errors import ConfigError
from velostream.plan.bind import EndpointConfig

WIDE = "12345678901234.5678"        # 18 significant digits: a float cannot hold it


def url(path):
    return f"sqlite:///{path}"


def source(path, context=None, **props):
    props = {"url": url(path), **props}
    return SqliteSource(EndpointConfig("src", "source", "database_source", props),
                        context or SourceContext())


def sink(path, table="out", context=None, **props):
    props = {"url": url(path), "table": table, **props}
    return SqliteSink(EndpointConfig("dst", "sink", "database_sink", props),
                      context or SinkContext())


@pytest.fixture
def trades_db(tmp_path):
    path = tmp_path / "in.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE trades (id INTEGER, sym TEXT, price DECIMAL_TEXT(18,4), "
                 "qty INTEGER, ts TIMESTAMP, ok BOOLEAN, fee DECIMAL(10,2), ratio REAL)")
    conn.executemany("INSERT INTO trades VALUES (?,?,?,?,?,?,?,?)", [
        (1, "A", WIDE, 10, "2024-01-02T03:04:05.678Z", 1, 7, 0.5),
        (2, "B", None, None, 1_700_000_000_000, 0, "1.25", None),
        (3, "A", "0.0001", 5, None, None, None, 2),
    ])
    conn.commit()
    conn.close()
    return path


def rows(batches):
    return [r for b in batches for r in b.batch.to_pylist()]


def test_table_source_types_decimals_exactly_and_keeps_nulls(trades_db):
    got = drain(source(trades_db, table="trades"))
    schema = {s[0]: s[1:] for s in got[0].batch.schema}
    assert schema["price"] == ("DECIMAL", 4) and schema["ts"] == ("TIMESTAMP",)
    assert schema["ok"] == ("BOOLEAN",) and schema["ratio"] == ("DOUBLE",)
    first, second, third = rows(got)
    assert str(first["price"]) == WIDE and Decimal(str(first["price"])) == Decimal(WIDE)
    assert first["ts"].isoformat() == "2024-01-02T03:04:05.678000+00:00"
    assert second["ts"].timestamp() == 1_700_000_000
    assert first["ok"] is True and second["ok"] is False and third["ok"] is None
    # An integer in a DECIMAL column is its value; decimal text SQLite made a REAL comes back
    # as the same decimal.
    assert str(first["fee"]) == "7.00" and str(second["fee"]) == "1.25"
    assert second["price"] is None and second["qty"] is None and third["ts"] is None
    assert third["ratio"] == 2.0 and isinstance(third["ratio"], float)


def test_query_source_keeps_declared_types_and_reads_only_the_query_fields(trades_db):
    src = source(trades_db, SourceContext(fields=["price", "id"]),
                 query="SELECT id, price, qty * 2 AS q2 FROM trades WHERE id > 1 ORDER BY id")
    got = drain(src)
    assert [b.batch.names for b in got] == [("id", "price")]
    assert rows(got) == [{"id": 2, "price": None}, {"id": 3, "price": Decimal("0.0001")}]
    assert {s[0]: s[1:] for s in got[0].batch.schema}["price"] == ("DECIMAL", 4)


def test_schema_setting_types_a_computed_query_column(trades_db):
    src = source(trades_db, query="SELECT price || '' AS p FROM trades ORDER BY id",
                 **{"schema.p": "DECIMAL(20,4)"})
    assert [str(r["p"]) if r["p"] is not None else None for r in rows(drain(src))] == [
        WIDE, None, "0.0001"]


def test_position_counts_rows_and_a_seek_resumes_exactly(trades_db):
    for props in ({"table": "trades"}, {"query": "SELECT * FROM trades ORDER BY id"}):
        src = source(trades_db, **{"batch.size": "2"}, **props)
        first = src.poll(0)
        assert first.batch.length == 2 and src.position() == 2
        assert first.batch.meta["_offset"].to_pylist() == [1, 2]
        again = source(trades_db, **{"batch.size": "2"}, **props)
        again.seek(src.position())
        rest = drain(again)
        assert [r["id"] for r in rows(rest)] == [3] and again.position() == 3
        assert again.exhausted


def test_a_table_reads_in_rowid_order(tmp_path):
    path = tmp_path / "o.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (v TEXT)")
    conn.executemany("INSERT INTO t (rowid, v) VALUES (?, ?)", [(5, "c"), (1, "a"), (3, "b")])
    conn.commit()
    assert [r["v"] for r in rows(drain(source(path, table="t")))] == ["a", "b", "c"]


def test_a_value_that_does_not_fit_its_column_names_table_column_and_row(tmp_path):
    path = tmp_path / "bad.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (n INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?)", [(1,), ("abc",)])
    conn.commit()
    with pytest.raises(ConfigError, match=r"table t: column 'n' row 2: 'abc' is not a BIGINT") as info:
        drain(source(path, table="t"))
    assert info.value.key == "src.table"


def test_source_refusals_name_the_key(tmp_path, trades_db):
    with pytest.raises(ConfigError, match="not found") as info:
        source(tmp_path / "none.db", table="t")
    assert info.value.key == "src.url"
    with pytest.raises(ConfigError, match="SQLite only"):
        SqliteSource(EndpointConfig("src", "source", "database_source",
                                    {"url": "postgres://h/db", "table": "t"}), SourceContext())
    with pytest.raises(ConfigError, match="'table' or a 'query'"):
        source(trades_db)
    with pytest.raises(ConfigError, match="no such table"):
        drain(source(trades_db, table="nope"))


# --------------------------------------------------------------------------- the sink
def batch(**columns):
    return RecordBatch.from_pydict(columns, schema={"price": "DECIMAL(18,4)", "ts": "TIMESTAMP"}
                                   if "price" in columns else None)


def test_sink_creates_the_table_and_round_trips_exactly(tmp_path):
    path = tmp_path / "out.db"
    out = sink(path)
    out.write(batch(id=[1, 2], price=[Decimal(WIDE), None], ts=[1_700_000_000_123, None],
                    name=["x", None]))
    out.write(batch(id=[3], price=[Decimal("-0.0001")], ts=[0], name=["y"]))
    out.close()
    conn = sqlite3.connect(path)
    (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'out'").fetchone()
    assert sql == ('CREATE TABLE "out" ("id" BIGINT, "price" DECIMAL_TEXT(18,4), '
                   '"ts" TIMESTAMP, "name" TEXT)')
    assert conn.execute("SELECT price, typeof(price), ts FROM out ORDER BY rowid").fetchall() == [
        (WIDE, "text", "2023-11-14T22:13:20.123Z"), (None, "null", None),
        ("-0.0001", "text", "1970-01-01T00:00:00.000Z")]
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    back = rows(drain(source(path, table="out")))
    assert [str(r["price"]) for r in back] == [WIDE, "None", "-0.0001"]
    assert [r["ts"] and r["ts"].timestamp() for r in back] == [1_700_000_000.123, None, 0]
    assert [r["name"] for r in back] == ["x", None, "y"]


def test_sink_appends_to_an_existing_table_whose_columns_it_checks(tmp_path):
    path = tmp_path / "o.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE out (ID INTEGER, name TEXT, extra TEXT, ts INTEGER)")
    conn.execute("INSERT INTO out VALUES (0, 'old', 'e', NULL)")
    conn.commit()
    out = sink(path)
    out.write(RecordBatch.from_pydict({"id": [1], "name": ["n"], "ts": [5]},
                                      schema={"ts": "TIMESTAMP"}))
    out.close()
    # A TIMESTAMP into an INTEGER column is epoch milliseconds.
    assert conn.execute("SELECT * FROM out ORDER BY rowid").fetchall() == [
        (0, "old", "e", None), (1, "n", None, 5)]


@pytest.mark.parametrize("ddl, columns, message", [
    ("CREATE TABLE out (n INTEGER) STRICT", {"n": ["text"]},
     r"column 'n' of table out is INTEGER \(STRICT\) and cannot hold the output's STRING"),
    ("CREATE TABLE out (n INTEGER)", {"n": ["text"]},
     "column 'n' of table out is INTEGER and cannot hold the output's STRING"),
    ("CREATE TABLE out (p DECIMAL(18,4))", {"p": [Decimal("1.5")]},
     "column 'p' of table out is DECIMAL.* SQLite turns decimal text .* into a float"),
    ("CREATE TABLE out (a INTEGER)", {"a": [1], "b": [2]},
     r"table out has no column 'b' \(its columns: a\)"),
])
def test_a_mismatch_with_an_existing_table_names_table_and_column(tmp_path, ddl, columns,
                                                                  message):
    path = tmp_path / "o.db"
    conn = sqlite3.connect(path)
    conn.execute(ddl)
    conn.commit()
    out = sink(path)
    with pytest.raises(ConfigError, match=message) as info:
        out.write(RecordBatch.from_pydict(columns))
    assert info.value.key == "dst.table"
    out.close()
    assert conn.execute("SELECT COUNT(*) FROM out").fetchone() == (0,)


def test_primary_key_setting_upserts(tmp_path):
    path = tmp_path / "o.db"
    out = sink(path, primary_key="k1, k2")
    out.write(RecordBatch.from_pydict({"k1": ["a", "a", "b"], "k2": [1, 2, 1], "v": [1, 2, 3]}))
    out.write(RecordBatch.from_pydict({"k1": ["a", "b"], "k2": [1, 1], "v": [10, 30]}))
    out.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT k1, k2, v FROM out ORDER BY k1, k2").fetchall() == [
        ("a", 1, 10), ("a", 2, 2), ("b", 1, 30)]
    assert "PRIMARY KEY" in conn.execute("SELECT sql FROM sqlite_master").fetchone()[0]


def test_upsert_into_a_table_without_a_unique_key_is_a_clear_error(tmp_path):
    path = tmp_path / "o.db"
    sqlite3.connect(path).execute("CREATE TABLE out (k TEXT, v INTEGER)")
    out = sink(path, primary_key="k")
    with pytest.raises(ConfigError, match=r"table out has no PRIMARY KEY or UNIQUE index on \(k\)"):
        out.write(RecordBatch.from_pydict({"k": ["a"], "v": [1]}))
    out.close()


def test_checkpointed_sink_commits_at_commit_and_a_restart_cuts_back(tmp_path):
    path = tmp_path / "o.db"
    out = sink(path, context=SinkContext(checkpointed=True))
    assert out.commit() == 0
    out.write(RecordBatch.from_pydict({"v": [1, 2]}))
    reader = sqlite3.connect(path)
    assert reader.execute("SELECT COUNT(*) FROM out").fetchone() == (0,)   # not committed yet
    assert out.commit() == 2
    out.write(RecordBatch.from_pydict({"v": [3]}))
    assert out.commit() == 3                   # committed, but the checkpoint did not record it
    out.close()
    again = sink(path, context=SinkContext(checkpointed=True, resume_length=2))
    assert reader.execute("SELECT v FROM out ORDER BY rowid").fetchall() == [(1,), (2,)]
    again.write(RecordBatch.from_pydict({"v": [3]}))
    assert again.commit() == 3
    again.close()
    assert reader.execute("SELECT rowid, v FROM out").fetchall() == [(1, 1), (2, 2), (3, 3)]
    with pytest.raises(ConfigError, match="changed outside the job"):
        sink(path, context=SinkContext(checkpointed=True, resume_length=9))


def test_without_checkpoints_each_batch_is_committed(tmp_path):
    path = tmp_path / "o.db"
    out = sink(path)
    out.write(RecordBatch.from_pydict({"v": [1]}))
    assert sqlite3.connect(path).execute("SELECT v FROM out").fetchall() == [(1,)]
    out.close()


# --------------------------------------------------------------------------- through the engine
def _sql(db, select, into="agg", **extra):
    props = {"trades.type": "database_source", "trades.url": url(db),
             "trades.table": "trades", f"{into}.type": "database_sink",
             f"{into}.url": url(db), f"{into}.table": into, **extra}
    return f"{select} INTO {into} WITH (" + ", ".join(
        f"'{k}' = '{v}'" for k, v in props.items()) + ")"


def test_group_by_emit_changes_keeps_one_current_row_per_group(trades_db):
    sql = _sql(trades_db, "SELECT sym, COUNT(*) AS n, SUM(price) AS total FROM trades "
                          "GROUP BY sym EMIT CHANGES", **{"trades.batch.size": "1"})
    StreamApp(sql).run()
    conn = sqlite3.connect(trades_db)
    assert conn.execute("SELECT sym, n, total FROM agg ORDER BY sym").fetchall() == [
        ("A", 2, "12345678901234.5679"), ("B", 1, None)]


def test_plan_exposes_the_group_by_keys_and_primary_key_items(trades_db):
    from velostream.plan.physical import output_key, plan_job

    def key(select):
        return output_key(plan_job(StreamApp(_sql(trades_db, select)).plan()).root)

    assert key("SELECT sym AS s, COUNT(*) AS n FROM trades GROUP BY sym") == ["s"]
    assert key("SELECT id AS i PRIMARY KEY, sym FROM trades") == ["i"]
    assert key("SELECT COUNT(*) AS n FROM trades GROUP BY sym") is None
    assert key("SELECT sym FROM trades") is None
    assert key("SELECT sym, COUNT(*) AS n FROM trades GROUP BY sym EMIT FINAL") is None


def test_velo_sql_execute_end_to_end(trades_db, tmp_path):
    out = tmp_path / "res.db"
    query = ("SELECT id, sym, price, ts FROM trades WHERE id <> 2 INTO res WITH ("
             f"'trades.type' = 'database', 'trades.url' = '{url(trades_db)}', "
             "'trades.query' = 'SELECT * FROM trades ORDER BY id', "
             f"'res.type' = 'database', 'res.url' = '{url(out)}', 'res.table' = 'res')")
    result = CliRunner().invoke(cli, ["execute", "--query", query], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert sqlite3.connect(out).execute("SELECT * FROM res ORDER BY rowid").fetchall() == [
        (1, "A", WIDE, "2024-01-02T03:04:05.678Z"), (3, "A", "0.0001", None)]


def test_decimal_text_that_is_no_number_names_table_column_and_row(tmp_path):
    path = tmp_path / "bad.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (p DECIMAL_TEXT(10,2))")
    conn.executemany("INSERT INTO t VALUES (?)", [("1.50",), ("n/a",)])
    conn.commit()
    with pytest.raises(ConfigError, match=r"table t: column 'p' row 2") as info:
        drain(source(path, table="t"))
    assert info.value.key == "src.table"


def test_without_rowid_tables_read_in_key_order_and_refuse_insert_checkpoints(tmp_path):
    path = tmp_path / "o.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [("b", 2), ("a", 1)])
    conn.commit()
    assert [r["k"] for r in rows(drain(source(path, table="t")))] == ["a", "b"]
    out = sink(path, table="t", context=SinkContext(checkpointed=True))
    assert "no rowid" in str(out.checkpoint_refusal)
    out.close()
    keyed = sink(path, table="t", primary_key="k", context=SinkContext(checkpointed=True))
    assert keyed.checkpoint_refusal is None
    keyed.write(RecordBatch.from_pydict({"k": ["a"], "v": [10]}))
    assert keyed.commit() is None                 # an upsert table has nothing to cut back
    keyed.close()
    assert conn.execute("SELECT k, v FROM t ORDER BY k").fetchall() == [("a", 10), ("b", 2)]
