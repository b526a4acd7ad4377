"""J1: a stream–table join, file → file, against baselines.

J1 = 1,000,000 trades joined with a 10,000-row instrument table (a JSON-lines file read before
     the stream starts) on ``symbol``, projecting three columns of each side; every trade's
     symbol is in the table (an INNER join keeps every trade).

Measured in one run, on one core (DuckDB is set to one thread; velostream is single-threaded):
- velostream (JSONL in, JSONL out; the probe runs a batch at a time in C);
- a hand-written orjson loop: load the table into a dict by symbol, then for each trade one
  ``orjson.loads``, a dict lookup and one ``orjson.dumps`` (prices as floats: the fastest honest
  Python, not exact);
- DuckDB: ``read_json`` of both files, the join, ``COPY … JSON``.

Every implementation writes the same number of rows (checked). Records: VELOSTREAM_PERF_RECORDS
(default 1,000,000). Ratios (median / baseline median) are printed by perf/conftest.py.
"""

from __future__ import annotations

import os
import random

import orjson
import pytest
from timing import count_lines, label

RECORDS = int(os.environ.get("VELOSTREAM_PERF_RECORDS", "1000000"))
INSTRUMENTS = 10_000
ROUNDS = 3

J1 = ("SELECT t.trade_id, t.price, t.quantity, i.name, i.sector, i.lot_size "
      "FROM trades t JOIN instruments i ON t.symbol = i.symbol")
GROUP = f"J1 stream-table join file->file ({INSTRUMENTS} instruments)"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    base = tmp_path_factory.mktemp("j1")
    rng = random.Random(42)
    table = base / "instruments.jsonl"
    with open(table, "w") as out:
        out.writelines(f'{{"symbol": "S{k:05d}", "name": "Instrument {k}", '
                       f'"sector": "sector{k % 11}", "lot_size": {100 * (1 + k % 5)}, '
                       f'"currency": "USD"}}\n' for k in range(INSTRUMENTS))
    trades = base / "trades.jsonl"
    with open(trades, "w") as out:
        out.writelines(f'{{"trade_id": {i}, "symbol": "S{rng.randrange(INSTRUMENTS):05d}", '
                       f'"price": {rng.uniform(10, 900):.4f}, "quantity": {rng.randint(1, 1000)}, '
                       f'"ts": {1_700_000_000_000 + i}}}\n' for i in range(RECORDS))
    return trades, table


def _orjson_loop(trades, table, dst):
    loads, dumps = orjson.loads, orjson.dumps
    by_symbol = {}
    with open(table, "rb") as fin:
        for line in fin:
            r = loads(line)
            by_symbol.setdefault(r["symbol"], []).append(r)
    out = []
    with open(trades, "rb") as fin:
        for line in fin:
            t = loads(line)
            for i in by_symbol.get(t["symbol"], ()):
                out.append(dumps({"trade_id": t["trade_id"], "price": t["price"],
                                  "quantity": t["quantity"], "name": i["name"],
                                  "sector": i["sector"], "lot_size": i["lot_size"]}))
    with open(dst, "wb") as fout:
        fout.write(b"\n".join(out) + b"\n")


@pytest.mark.benchmark(group="J1")
def test_orjson_dict_loop(benchmark, files, tmp_path):
    label(benchmark, RECORDS, group=GROUP, baseline=True)
    out = tmp_path / "o.jsonl"
    benchmark.pedantic(_orjson_loop, args=(*files, out), rounds=ROUNDS, iterations=1)
    assert count_lines(out) == RECORDS


@pytest.mark.benchmark(group="J1")
def test_duckdb(benchmark, files, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    trades, table = files
    out = tmp_path / "d.jsonl"
    con = duckdb.connect()
    con.execute("SET threads = 1")
    sql = ("COPY (SELECT t.trade_id, t.price, t.quantity, i.name, i.sector, i.lot_size "
           f"FROM read_json('{trades}', format = 'newline_delimited', columns = "
           "{trade_id: 'BIGINT', symbol: 'VARCHAR', price: 'DECIMAL(18,4)', quantity: 'BIGINT', "
           f"ts: 'BIGINT'}}) t JOIN read_json('{table}', format = 'newline_delimited', columns = "
           "{symbol: 'VARCHAR', name: 'VARCHAR', sector: 'VARCHAR', lot_size: 'BIGINT', "
           f"currency: 'VARCHAR'}}) i ON t.symbol = i.symbol) TO '{out}' (FORMAT JSON)")
    label(benchmark, RECORDS, group=GROUP)
    benchmark.pedantic(con.execute, args=(sql,), rounds=ROUNDS, iterations=1)
    assert count_lines(out) == RECORDS


@pytest.mark.benchmark(group="J1")
def test_velostream_file_to_file(benchmark, files, tmp_path):
    from velostream import StreamApp

    trades, table = files
    out = tmp_path / "v.jsonl"
    sql = (J1 + f" INTO out WITH ('trades.type' = 'file_source', 'trades.path' = '{trades}', "
           f"'trades.format' = 'jsonl', 'instruments.type' = 'file_source', "
           f"'instruments.path' = '{table}', 'instruments.format' = 'jsonl', "
           f"'out.type' = 'file_sink', 'out.path' = '{out}', 'out.format' = 'jsonl')")
    label(benchmark, RECORDS, group=GROUP)
    benchmark.pedantic(lambda: StreamApp(sql).run(), rounds=ROUNDS, iterations=1)
    assert count_lines(out) == RECORDS
