#!/usr/bin/env python3
"""Deterministic test data for the multi-topic Avro application (examples/multi_avro/app.sql).

Writes one JSON-lines file per input topic into ``--out`` (default: ``data/`` next to this file),
with the fields of that topic's Avro schema:

- ``orders.jsonl``          order_id, customer_id, amount, currency, status, created_at
                            (schemas/orders.avsc)
- ``trades.jsonl``          trade_id, symbol, price, quantity, side, timestamp
                            (schemas/financial/trades.avsc; a few penny prices at or below 0.01)
- ``sensor_readings.jsonl`` device_id, sensor_type, value, unit, timestamp
                            (schemas/iot/sensors.avsc)
- ``user_events.jsonl``     event_id, user_id, event_type, page (null for searches), timestamp
                            (schemas/users.avsc; activity in sessions: gaps inside a session are
                            under 25 minutes, between sessions over 40)

Money is a JSON number with exactly 4 decimals (the schemas' decimal scale), sensor values have
one decimal, timestamps are epoch milliseconds, increasing in every file. Same ``--seed`` and
``--rows``, same bytes. Standard library only::

    python examples/multi_avro/generate.py [--rows N] [--out DIR] [--seed S]
"""

from __future__ import annotations

import random
import sys
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))     # examples/_datagen.py, shared by the generators
import _datagen
from _datagen import FOUR_PLACES

START_MS = 1_717_398_000_000          # 2024-06-03T07:00:00Z
TENTH = Decimal("0.1")


def orders(rng: random.Random, n: int) -> list[dict]:
    statuses = ["PENDING", "CONFIRMED", "PROCESSING", "SHIPPED", "DELIVERED", "CANCELLED"]
    rows, t = [], START_MS
    for i in range(1, n + 1):
        t += rng.randint(20_000, 120_000)
        rows.append({
            "order_id": f"ORD-{i:06d}",
            "customer_id": f"CUST-{rng.randint(1, 25):03d}",
            "amount": (Decimal(rng.randint(500, 250_000)) / 100).quantize(FOUR_PLACES),
            "currency": rng.choice(["USD", "USD", "EUR", "GBP"]),
            "status": rng.choices(statuses, [10, 30, 20, 20, 10, 10])[0],
            "created_at": t,
        })
    return rows


def trades(rng: random.Random, n: int) -> list[dict]:
    symbols = {"AAPL": 1_900_000, "MSFT": 4_150_000, "NVDA": 11_500_000, "TSLA": 1_780_000,
               "PENNY": 90}                         # prices in 1/10000: PENNY is about 0.009
    rows, t = [], START_MS
    for i in range(1, n + 1):
        t += rng.randint(100, 5_000)
        symbol = rng.choices(list(symbols), [5, 5, 5, 5, 2])[0]
        units = symbols[symbol] + rng.randint(-symbols[symbol] // 50, symbols[symbol] // 50)
        if symbol == "PENNY" and i % 3 == 0:
            units = 100                             # exactly 0.0100: not above 0.01
        rows.append({
            "trade_id": f"T-{i:06d}",
            "symbol": symbol,
            "price": Decimal(units).scaleb(-4),
            "quantity": rng.choice([1, 10, 100, 250, 1000, 5000]),
            "side": rng.choice(["BUY", "SELL"]),
            "timestamp": t,
        })
    return rows


def sensor_readings(rng: random.Random, n: int) -> list[dict]:
    sensors = {"TEMPERATURE": ("F", 600, 900), "HUMIDITY": ("%RH", 300, 950),
               "PRESSURE": ("hPa", 9400, 10300)}
    devices = [f"dev-{i:03d}" for i in range(1, 9)]
    rows, t = [], START_MS
    for _ in range(n):
        t += rng.randint(1_000, 8_000)               # n=400 spans about 30 minutes
        sensor_type = rng.choices(list(sensors), [3, 1, 1])[0]
        unit, low, high = sensors[sensor_type]
        rows.append({
            "device_id": rng.choice(devices),
            "sensor_type": sensor_type,
            "value": (Decimal(rng.randint(low, high)) / 10).quantize(TENTH),
            "unit": unit,
            "timestamp": t,
        })
    return rows


def user_events(rng: random.Random, n: int) -> list[dict]:
    """Sessions per user, then merged into one time-ordered stream."""
    users = [f"user-{i:03d}" for i in range(1, 16)]
    pages = ["/", "/search", "/product/1", "/product/2", "/cart", "/checkout"]
    events = []
    per_user = max(1, n // len(users))
    for user in users:
        t = START_MS + rng.randint(0, 3_600_000)
        for j in range(per_user):
            if j and rng.random() < 0.12:
                t += rng.randint(40 * 60_000, 120 * 60_000)   # a new session
            else:
                t += rng.randint(5_000, 25 * 60_000 - 1)     # same session
            events.append((t, user))
    events.sort()
    rows = []
    for i, (t, user) in enumerate(events[:n], start=1):
        event_type = rng.choice(["page_view", "page_view", "search", "add_to_cart",
                                 "purchase"])
        rows.append({
            "event_id": f"EV-{i:06d}",
            "user_id": user,
            "event_type": event_type,
            "page": None if event_type == "search" else rng.choice(pages),
            "timestamp": t,
        })
    return rows


TOPICS = {"orders": orders, "trades": trades, "sensor_readings": sensor_readings,
          "user_events": user_events}


def generate(out: Path | str = HERE / "data", rows: int = 400, seed: int = 42) -> dict:
    """Write every topic's file into ``out``; returns ``{name: path}``."""
    return _datagen.generate(TOPICS, out, rows, seed)


def main(argv: list[str] | None = None) -> None:
    _datagen.main(TOPICS, __doc__, HERE / "data", argv)


if __name__ == "__main__":
    main()
