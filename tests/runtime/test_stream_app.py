"""StreamApp: the embeddable API (process, run, run_async/stop, iteration, callbacks)."""

import threading
from decimal import Decimal

import pytest

from tests.runtime.conftest import W1, make_trades, source, w1_oracle, write_jsonl
from velostream import StreamApp
from velostream._core.decimal import ScaledInteger
from velostream.errors import SqlError


def test_process_dicts_in_rows_out():
    app = StreamApp(W1)
    rows = app.process([
        {"trade_id": 1, "symbol": "AAPL", "price": Decimal("189.2500"), "quantity": 600},
        {"trade_id": 2, "symbol": "MSFT", "price": Decimal("411.1000"), "quantity": 100},
    ])
    assert rows == [{"trade_id": 1, "symbol": "AAPL", "price": ScaledInteger("189.2500"),
                     "quantity": 600, "notional": ScaledInteger("113550.0000")}]
    assert str(rows[0]["notional"]) == "113550.0000"


def test_process_keeps_distinct_and_limit_state_between_calls():
    app = StreamApp("SELECT DISTINCT k FROM s LIMIT 3")
    assert app.process([{"k": 1}, {"k": 1}, {"k": 2}]) == [{"k": 1}, {"k": 2}]
    assert app.process([{"k": 2}, {"k": 3}, {"k": 4}]) == [{"k": 3}]
    assert app.process([{"k": 5}]) == []


def test_process_converts_only_the_fields_the_query_reads_whatever_their_spelling():
    """The scan's fields are pushed into the dict conversion, matched case-insensitively (DIALECT
    §1); a record without one of them, or with the keys in another order, still reads right."""
    app = StreamApp("SELECT Symbol, price * qty AS notional FROM t WHERE qty > 1")
    rows = [{"SYMBOL": "A", "Price": Decimal("1.50"), "QTY": 2, "blob": object()},
            {"Price": Decimal("2.25"), "QTY": 4, "SYMBOL": "B"},
            {"SYMBOL": "C", "QTY": 9}]
    assert app.process(rows) == [{"Symbol": "A", "notional": ScaledInteger("3.00")},
                                 {"Symbol": "B", "notional": ScaledInteger("9.00")},
                                 {"Symbol": "C", "notional": None}]
    assert app._wanted_keys(rows) == ["SYMBOL", "Price", "QTY"]
    assert app._wanted_keys(rows[2:]) is None        # no price in the first record: every key
    assert StreamApp("SELECT * FROM t")._wanted_keys(rows) is None


def test_invalid_sql_raises_with_position():
    with pytest.raises(SqlError) as info:
        StreamApp("SELECT SUMM(x) FROM t")
    assert (info.value.line, info.value.column) == (1, 8)


def test_run_with_callbacks_over_a_file(trades):
    path, rows = trades
    app = StreamApp(W1 + source(path))
    seen = []
    app.on_output(seen.extend)
    metrics = app.run()
    assert [{k: str(v) if isinstance(v, ScaledInteger) else v for k, v in r.items()} for r in seen] \
        == w1_oracle(rows)
    assert metrics.records_in == len(rows) and metrics.records_out == len(seen)


def test_iteration_yields_rows_and_can_stop_early(trades):
    path, rows = trades
    app = StreamApp(W1 + source(path))
    got = [r["trade_id"] for r in app.results()]
    assert got == [r["trade_id"] for r in w1_oracle(rows)]
    first_three = []
    for row in StreamApp(W1 + source(path)):
        first_three.append(row["trade_id"])
        if len(first_three) == 3:
            break
    assert first_three == got[:3]


def test_run_async_follows_a_file_until_stopped(tmp_path):
    path = tmp_path / "live.jsonl"
    write_jsonl(path, make_trades(10))
    app = StreamApp(W1 + source(path))
    arrived = threading.Event()
    seen = []

    @app.on_output
    def collect(rows):
        seen.extend(rows)
        if any(r["trade_id"] == 99 for r in rows):
            arrived.set()

    app.run_async(continuous=True)
    with open(path, "a") as handle:
        handle.write('{"trade_id": 99, "symbol": "X", "price": 1.0000, "quantity": 999, '
                     '"side": "BUY", "ts": 1}\n')
    assert arrived.wait(10), "the appended record never came out"
    app.stop(timeout=5)
    assert not app.running
    assert seen[-1]["notional"] == ScaledInteger("999.0000")


def test_from_a_file_with_property_overrides(tmp_path, trades):
    path, rows = trades
    app_file = tmp_path / "app.sql"
    app_file.write_text("-- JOB: w1\nCREATE STREAM w1 AS " + W1 +
                        "INTO out WITH ('trades.type' = 'file_source', 'trades.path' = 'nowhere', "
                        "'trades.format' = 'jsonl', 'out.type' = 'file_sink', 'out.path' = 'x');")
    out = tmp_path / "result.jsonl"
    app = StreamApp(file=app_file, properties={"trades.path": str(path), "out.path": str(out)})
    assert app.job_name == "w1"
    app.run()
    from tests.runtime.conftest import read_jsonl

    assert read_jsonl(out) == w1_oracle(rows)
