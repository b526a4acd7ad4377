#!/usr/bin/env python3
"""Deterministic test data for the e-commerce application (examples/ecommerce/app.sql).

Writes one JSON-lines file per input topic into ``--out`` (default: ``data/`` next to this file):

- ``orders.jsonl``            order_id, customer_id, amount, currency, status, created_at
- ``inventory_updates.jsonl`` product_id, product_name, current_stock, reorder_level,
                              supplier_id, last_updated
- ``payments.jsonl``          transaction_id, customer_id, amount, payment_method, merchant_id,
                              country_code (sometimes null), timestamp

Money is a JSON number with exactly 4 decimals (the Avro schema's decimal scale), timestamps are
epoch milliseconds in increasing order. The same ``--seed`` and ``--rows`` always give the same
bytes. Standard library only::

    python examples/ecommerce/generate.py [--rows N] [--out DIR] [--seed S]
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


def money(cents: int) -> Decimal:
    """An amount of ``cents`` as a Decimal with 4 decimals (123.45 -> 123.4500)."""
    return (Decimal(cents) / 100).quantize(FOUR_PLACES)


def orders(rng: random.Random, n: int) -> list[dict]:
    customers = [f"CUST-{i:03d}" for i in range(1, 26)]
    big_spenders = set(customers[:4])
    statuses = ["PENDING", "CONFIRMED", "PROCESSING", "SHIPPED", "DELIVERED", "CANCELLED"]
    status_weights = [10, 30, 20, 20, 10, 10]
    boundaries = [10000, 100000]                       # 100.00 and 1000.00 exactly
    rows, t = [], START_MS
    for i in range(1, n + 1):
        t += rng.randint(20_000, 120_000)              # about one order a minute
        customer = rng.choice(customers)
        if i % 37 == 0:
            cents = boundaries[(i // 37) % 2]
        elif customer in big_spenders and rng.random() < 0.6:
            cents = rng.randint(80_000, 450_000)
        else:
            cents = rng.choice([rng.randint(500, 9_999), rng.randint(10_000, 60_000),
                                rng.randint(60_000, 150_000)])
        rows.append({
            "order_id": f"ORD-{i:06d}",
            "customer_id": customer,
            "amount": money(cents),
            "currency": rng.choice(["USD", "USD", "EUR", "GBP"]),
            "status": rng.choices(statuses, status_weights)[0],
            "created_at": t,
        })
    return rows


def inventory_updates(rng: random.Random, n: int) -> list[dict]:
    names = ["Desk Lamp", "Office Chair", "USB-C Cable", "Monitor Arm", "Notebook",
             "Water Bottle", "Keyboard", "Mouse Pad", "Headphones", "Backpack"]
    products = [(f"SKU-{i:05d}", f"{names[i % len(names)]} #{i}", rng.randint(5, 60),
                 f"SUP-{rng.randint(1, 12):02d}") for i in range(1, 61)]
    rows, t = [], START_MS
    for i in range(1, n + 1):
        t += rng.randint(5_000, 60_000)
        product_id, name, reorder, supplier = rng.choice(products)
        pick = i % 9
        if pick == 0:
            stock = 0
        elif pick == 1:
            stock = reorder                             # exactly at the reorder level
        elif pick == 2:
            stock = reorder * 2                         # exactly at the filter's edge
        elif pick == 3 and reorder % 2 == 0:
            stock = reorder * 3 // 2                    # exactly 1.5 x the reorder level
        else:
            stock = rng.randint(0, reorder * 3)
        rows.append({
            "product_id": product_id,
            "product_name": name,
            "current_stock": stock,
            "reorder_level": reorder,
            "supplier_id": supplier,
            "last_updated": t,
        })
    return rows


def payments(rng: random.Random, n: int) -> list[dict]:
    methods = ["CREDIT_CARD", "DEBIT_CARD", "PAYPAL", "BANK_TRANSFER", "CRYPTOCURRENCY",
               "WIRE_TRANSFER"]
    method_weights = [40, 25, 20, 7, 4, 4]
    countries = ["US", "CA", "UK", "DE", "FR", "BR", "IN", "JP", "XX", "YY", "ZZ"]
    country_weights = [40, 10, 10, 10, 10, 4, 4, 4, 2, 2, 2]
    rows, t = [], START_MS
    for i in range(1, n + 1):
        t += rng.randint(1_000, 30_000)
        if i % 41 == 0:
            cents = [10_000, 1_000_000][(i // 41) % 2]  # 100.00 and 10000.00 exactly
        elif rng.random() < 0.05:
            cents = rng.randint(1_000_001, 5_000_000)   # above 10000.00
        else:
            cents = rng.randint(100, 40_000)
        country = rng.choices(countries, country_weights)[0]
        rows.append({
            "transaction_id": f"TXN-{i:07d}",
            "customer_id": f"CUST-{rng.randint(1, 25):03d}",
            "amount": money(cents),
            "payment_method": rng.choices(methods, method_weights)[0],
            "merchant_id": f"MER-{rng.randint(1, 30):03d}",
            "country_code": None if rng.random() < 0.03 else country,
            "timestamp": t,
        })
    return rows


TOPICS = {"orders": orders, "inventory_updates": inventory_updates, "payments": payments}


def generate(out: Path | str = HERE / "data", rows: int = 400, seed: int = 42) -> dict:
    """Write every topic's file into ``out``; returns ``{name: path}``."""
    return _datagen.generate(TOPICS, out, rows, seed)


def main(argv: list[str] | None = None) -> None:
    _datagen.main(TOPICS, __doc__, HERE / "data", argv)


if __name__ == "__main__":
    main()
