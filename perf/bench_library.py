"""The in-process library path: ``StreamApp.process(list_of_dicts)`` against the Python loop a
user would write for the same W1 work on the same dicts.

W1 = SELECT trade_id, symbol, price, quantity, price * quantity AS notional
     FROM trades WHERE quantity > 500

Two groups, each measured in one run on one core: Decimal prices (exact, what the product
promises) and float prices. The baseline loop filters, multiplies and builds the output dicts;
``process`` converts the dicts to typed columns (``RecordBatch.from_pylist``), runs the query and
builds dicts again (``to_pylist``). Conversion alone (``from_pylist``, ``to_pylist``) is measured
too, so a regression shows where it is. With pyarrow installed, ``process_arrow`` over the same
trades as an Arrow table is in the Decimal group.

Records: VELOSTREAM_PERF_RECORDS (default 1,000,000). Ratios (median / baseline median) are
printed by perf/conftest.py; records/s are in extra_info.
"""

from __future__ import annotations

import os
import random
from decimal import Decimal

import pytest
from timing import label

RECORDS = int(os.environ.get("VELOSTREAM_PERF_RECORDS", "1000000"))
W1 = ("SELECT trade_id, symbol, price, quantity, price * quantity AS notional "
      "FROM trades WHERE quantity > 500")
ROUNDS = 5


@pytest.fixture(scope="module")
def trades():
    """The W1 trades as dicts with float prices and with Decimal prices (4 places)."""
    rng = random.Random(42)
    symbols = ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOG", "META", "NFLX"]
    floats = [{"trade_id": i, "symbol": rng.choice(symbols), "price": round(rng.uniform(10, 900), 4),
               "quantity": rng.randint(1, 1000), "side": "BUY" if rng.random() < 0.5 else "SELL",
               "ts": 1_700_000_000_000 + i} for i in range(1, RECORDS + 1)]
    exact = [dict(d, price=Decimal(f"{d['price']:.4f}")) for d in floats]
    return {"float": floats, "decimal": exact}


def _rate(benchmark):
    benchmark.extra_info["records_per_second"] = round(RECORDS / benchmark.stats.stats.median)


def _dict_loop(rows):
    return [{"trade_id": r["trade_id"], "symbol": r["symbol"], "price": r["price"],
             "quantity": r["quantity"], "notional": r["price"] * r["quantity"]}
            for r in rows if r["quantity"] > 500]


def _passing(rows):
    return sum(1 for r in rows if r["quantity"] > 500)


@pytest.mark.parametrize("kind", ["decimal", "float"])
def test_dict_loop(benchmark, trades, kind):
    benchmark.group = f"W1 library {kind}"
    label(benchmark, RECORDS, baseline=True)
    out = benchmark.pedantic(_dict_loop, args=(trades[kind],), rounds=ROUNDS, iterations=1)
    _rate(benchmark)
    assert len(out) == _passing(trades[kind])


@pytest.mark.parametrize("kind", ["decimal", "float"])
def test_stream_app_process(benchmark, trades, kind):
    from velostream import StreamApp

    benchmark.group = f"W1 library {kind}"
    app = StreamApp(W1)
    rows = trades[kind]
    label(benchmark, RECORDS)
    out = benchmark.pedantic(app.process, args=(rows,), rounds=ROUNDS, iterations=1)
    _rate(benchmark)
    assert len(out) == _passing(rows)
    assert out[0]["notional"] == out[0]["price"] * out[0]["quantity"]


@pytest.mark.parametrize("kind", ["decimal", "float"])
def test_from_pylist(benchmark, trades, kind):
    from velostream import RecordBatch

    benchmark.group = f"W1 library {kind}"
    label(benchmark, RECORDS)
    batch = benchmark.pedantic(RecordBatch.from_pylist, args=(trades[kind],), rounds=ROUNDS,
                               iterations=1)
    assert len(batch) == RECORDS


@pytest.mark.parametrize("kind", ["decimal", "float"])
def test_to_pylist(benchmark, trades, kind):
    from velostream import RecordBatch, StreamApp

    benchmark.group = f"W1 library {kind}"
    out = StreamApp(W1).process_batch(RecordBatch.from_pylist(trades[kind]))
    label(benchmark, RECORDS)
    rows = benchmark.pedantic(out.to_pylist, rounds=ROUNDS, iterations=1)
    assert len(rows) == _passing(trades[kind])


def test_stream_app_process_arrow(benchmark, trades):
    pytest.importorskip("pyarrow")
    from velostream import RecordBatch, StreamApp

    benchmark.group = "W1 library decimal"
    table = RecordBatch.from_pylist(trades["decimal"]).to_arrow()
    app = StreamApp(W1)
    label(benchmark, RECORDS)
    out = benchmark.pedantic(app.process_arrow, args=(table,), rounds=ROUNDS, iterations=1)
    _rate(benchmark)
    assert out.num_rows == _passing(trades["decimal"])
