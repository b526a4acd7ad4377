"""W1 of the peer harness: filter + exact decimal arithmetic over trades, against baselines.

W1 = SELECT trade_id, symbol, price, quantity, price * quantity AS notional
     FROM trades WHERE quantity > 500

Measured in one run, on one core (DuckDB is set to one thread; velostream is single-threaded):
- file → file: velostream (JSONL in, JSONL out), a hand-written orjson loop (floats: the fastest
  honest Python, but not exact), the same loop exact (Decimal from the text via json.loads
  parse_float — what "the same work" costs in plain Python), and DuckDB (read_json → COPY … JSON);
- in memory: velostream's StreamApp.process_batch on pre-decoded batches vs a hand-written loop
  over pre-decoded dicts (floats, and Decimal).

Records: VELOSTREAM_PERF_RECORDS (default 1,000,000). The data file is generated once per run.
Ratios (median / baseline median) are printed by perf/conftest.py; records/s are in extra_info.
"""

from __future__ import annotations

import json
import os
import random
from decimal import Decimal

import orjson
import pytest
from timing import label

RECORDS = int(os.environ.get("VELOSTREAM_PERF_RECORDS", "1000000"))
W1 = ("SELECT trade_id, symbol, price, quantity, price * quantity AS notional "
      "FROM trades WHERE quantity > 500")
ROUNDS = 3


@pytest.fixture(scope="module")
def trades_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("w1") / "trades.jsonl"
    rng = random.Random(42)
    symbols = ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOG", "META", "NFLX"]
    with open(path, "w") as out:
        out.writelines(f'{{"trade_id": {i}, "symbol": "{rng.choice(symbols)}", '
                      f'"price": {rng.uniform(10, 900):.4f}, "quantity": {rng.randint(1, 1000)}, '
                      f'"side": "{"BUY" if rng.random() < 0.5 else "SELL"}", '
                      f'"ts": {1_700_000_000_000 + i}}}\n' for i in range(1, RECORDS + 1))
    return path


def _rate(benchmark):
    median = benchmark.stats.stats.median
    benchmark.extra_info["records_per_second"] = round(RECORDS / median)


# --------------------------------------------------------------------------- file → file

@pytest.mark.benchmark(group="W1 file->file")
def test_velostream_file_to_file(benchmark, trades_file, tmp_path):
    from velostream import StreamApp

    out = tmp_path / "out.jsonl"
    sql = (W1 + f" INTO out WITH ('trades.type' = 'file_source', 'trades.path' = '{trades_file}', "
           f"'trades.format' = 'jsonl', 'out.type' = 'file_sink', 'out.path' = '{out}', "
           "'out.format' = 'jsonl')")
    label(benchmark, RECORDS)
    benchmark.pedantic(lambda: StreamApp(sql).run(), rounds=ROUNDS, iterations=1)
    _rate(benchmark)
    with open(out) as handle:
        first = json.loads(handle.readline())
    assert set(first) == {"trade_id", "symbol", "price", "quantity", "notional"}


def _orjson_loop(src, dst):
    loads, dumps = orjson.loads, orjson.dumps
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        out = []
        for line in fin:
            r = loads(line)
            q = r["quantity"]
            if q > 500:
                p = r["price"]
                out.append(dumps({"trade_id": r["trade_id"], "symbol": r["symbol"], "price": p,
                                  "quantity": q, "notional": p * q}))
        fout.write(b"\n".join(out) + b"\n")


@pytest.mark.benchmark(group="W1 file->file")
def test_orjson_loop_float(benchmark, trades_file, tmp_path):
    label(benchmark, RECORDS, baseline=True)
    benchmark.pedantic(_orjson_loop, args=(trades_file, tmp_path / "o.jsonl"), rounds=ROUNDS,
                       iterations=1)
    _rate(benchmark)


def _exact_loop(src, dst):
    loads = json.loads
    with open(src, "rb") as fin, open(dst, "w") as fout:
        out = []
        for line in fin:
            r = loads(line, parse_float=Decimal)
            q = r["quantity"]
            if q > 500:
                p = r["price"]
                out.append(orjson.dumps({"trade_id": r["trade_id"], "symbol": r["symbol"],
                                         "price": str(p), "quantity": q,
                                         "notional": str(p * q)}).decode())
        fout.write("\n".join(out) + "\n")


@pytest.mark.benchmark(group="W1 file->file")
def test_python_loop_exact_decimal(benchmark, trades_file, tmp_path):
    label(benchmark, RECORDS)
    benchmark.pedantic(_exact_loop, args=(trades_file, tmp_path / "e.jsonl"), rounds=ROUNDS,
                       iterations=1)
    _rate(benchmark)


@pytest.mark.benchmark(group="W1 file->file")
def test_duckdb(benchmark, trades_file, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    out = tmp_path / "d.json"
    con = duckdb.connect()
    con.execute("SET threads = 1")
    sql = (f"COPY (SELECT trade_id, symbol, price, quantity, price * quantity AS notional "
           f"FROM read_json('{trades_file}', columns = {{trade_id: 'BIGINT', symbol: 'VARCHAR', "
           f"price: 'DECIMAL(18,4)', quantity: 'BIGINT', side: 'VARCHAR', ts: 'BIGINT'}}) "
           f"WHERE quantity > 500) TO '{out}' (FORMAT JSON)")
    label(benchmark, RECORDS)
    benchmark.pedantic(con.execute, args=(sql,), rounds=ROUNDS, iterations=1)
    _rate(benchmark)


# --------------------------------------------------------------------------- in memory

@pytest.fixture(scope="module")
def decoded(trades_file):
    """The trades as pre-decoded velostream batches and as dicts (float and Decimal)."""
    from velostream.formats import JsonDecoder

    decoder = JsonDecoder()
    batches = []
    with open(trades_file, "rb") as handle:
        while True:
            block = handle.read(1 << 20)
            if not block:
                break
            rest = handle.readline()
            batches.append(decoder.decode_lines(block + rest).batch)
    with open(trades_file, "rb") as handle:
        dicts = [orjson.loads(line) for line in handle]
    exact = [dict(d, price=Decimal(f"{d['price']:.4f}")) for d in dicts]
    return batches, dicts, exact


@pytest.mark.benchmark(group="W1 in memory")
def test_velostream_in_memory(benchmark, decoded):
    from velostream import StreamApp

    batches = decoded[0]

    def run():
        app = StreamApp(W1)
        return sum(out.length for out in map(app.process_batch, batches) if out is not None)

    label(benchmark, RECORDS)
    result = benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    _rate(benchmark)
    assert result == sum(1 for d in decoded[1] if d["quantity"] > 500)


def _dict_loop(rows):
    return [{"trade_id": r["trade_id"], "symbol": r["symbol"], "price": r["price"],
             "quantity": r["quantity"], "notional": r["price"] * r["quantity"]}
            for r in rows if r["quantity"] > 500]


@pytest.mark.benchmark(group="W1 in memory")
def test_dict_loop_float(benchmark, decoded):
    label(benchmark, RECORDS, baseline=True)
    benchmark.pedantic(_dict_loop, args=(decoded[1],), rounds=ROUNDS, iterations=1)
    _rate(benchmark)


@pytest.mark.benchmark(group="W1 in memory")
def test_dict_loop_decimal(benchmark, decoded):
    label(benchmark, RECORDS)
    benchmark.pedantic(_dict_loop, args=(decoded[2],), rounds=ROUNDS, iterations=1)
    _rate(benchmark)
