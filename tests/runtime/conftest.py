"""Shared data for the end-to-end tests: a deterministic trades file and its oracle."""

import json
import random
from decimal import Decimal

import pytest


def make_trades(n, seed=42):
    rng = random.Random(seed)
    rows = []
    for i in range(1, n + 1):
        rows.append({
            "trade_id": i,
            "symbol": rng.choice(["AAPL", "MSFT", "NVDA", "TSLA", "AMZN"]),
            "price": f"{rng.uniform(10, 900):.4f}",
            "quantity": rng.choice([50, 100, 250, 400, 501, 600, 1000, 2500]),
            "side": rng.choice(["BUY", "SELL"]),
            "ts": 1_700_000_000_000 + i * 250,
        })
    return rows


def write_jsonl(path, rows):
    # price written as a JSON number with exactly 4 decimals, like the peer harness
    with open(path, "w") as out:
        out.writelines(
            f'{{"trade_id": {r["trade_id"]}, "symbol": "{r["symbol"]}", "price": {r["price"]}, '
            f'"quantity": {r["quantity"]}, "side": "{r["side"]}", "ts": {r["ts"]}}}\n'
            for r in rows)


def w1_oracle(rows):
    """W1 in plain Python with Decimal: the expected output, exact."""
    out = []
    for r in rows:
        if r["quantity"] > 500:
            price = Decimal(r["price"])
            out.append({"trade_id": r["trade_id"], "symbol": r["symbol"], "price": str(price),
                        "quantity": r["quantity"], "notional": str(price * r["quantity"])})
    return out


@pytest.fixture
def trades(tmp_path):
    rows = make_trades(2000)
    path = tmp_path / "trades.jsonl"
    write_jsonl(path, rows)
    return path, rows


def source(path, name="trades", fmt="jsonl", extra=""):
    return (f"WITH ('{name}.type' = 'file_source', '{name}.path' = '{path}', "
            f"'{name}.format' = '{fmt}'{extra})")


W1 = ("SELECT trade_id, symbol, price, quantity, price * quantity AS notional "
      "FROM trades WHERE quantity > 500 ")


def read_jsonl(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def duckdb_trades(path, sql):
    """DuckDB (one thread) as the oracle of a query over the trades file at ``path``: the rows
    of ``sql`` run against a table ``trades`` with the prices as DECIMAL(18, 4)."""
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.execute(f"CREATE TABLE trades AS SELECT trade_id, symbol, CAST(price AS DECIMAL(18, 4)) "
                f"AS price, quantity, side, ts FROM read_json_auto('{path}')")
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]
