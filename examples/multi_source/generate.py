#!/usr/bin/env python3
"""Deterministic test data for the multi-source application (examples/multi_source/app.sql).

Writes into ``--out`` (default: ``data/`` next to this file, where app.sql's file sources look):

- ``raw-orders.jsonl``       the raw-orders topic (source kafka_orders, schemas/orders.avsc):
                             order_id, customer_id, product_id, quantity, order_date. Some
                             quantities are 0, negative or null; some orders name a customer or
                             a product that the files below do not have.
- ``customers.jsonl``        source customer_files: customer_id, customer_name, customer_tier
                             (GOLD, SILVER, BRONZE or null), email
- ``product_catalog.jsonl``  source product_catalog: product_id, product_name, category,
                             unit_price, active

Prices are JSON numbers with exactly 4 decimals, timestamps epoch milliseconds (increasing).
Same ``--seed`` and ``--rows``, same bytes. Standard library only::

    python examples/multi_source/generate.py [--rows N] [--out DIR] [--seed S]
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
CUSTOMERS = 40                        # CUST-001 .. CUST-040 are in customers.jsonl
PRODUCTS = 30                         # SKU-0001 .. SKU-0030 are in product_catalog.jsonl


def raw_orders(rng: random.Random, n: int) -> list[dict]:
    rows, t = [], START_MS
    for i in range(1, n + 1):
        t += rng.randint(2_000, 40_000)
        # about 5 % of the orders name a customer, 3 % a product, that the files lack
        customer = rng.randint(1, CUSTOMERS + 3) if rng.random() < 0.05 else rng.randint(
            1, CUSTOMERS)
        product = rng.randint(1, PRODUCTS + 2) if rng.random() < 0.03 else rng.randint(
            1, PRODUCTS)
        pick = rng.random()
        if pick < 0.03:
            quantity = None
        elif pick < 0.08:
            quantity = rng.choice([0, -1, -5])
        else:
            quantity = rng.choice([1, 1, 2, 3, 5, 10, 20, 49, 50, 100])
        rows.append({
            "order_id": f"ORD-{i:06d}",
            "customer_id": f"CUST-{customer:03d}",
            "product_id": f"SKU-{product:04d}",
            "quantity": quantity,
            "order_date": t,
        })
    return rows


def customers(rng: random.Random, n: int) -> list[dict]:
    first = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Leslie",
             "Margaret"]
    last = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
            "Lamport", "Hamilton"]
    rows = []
    for i in range(1, CUSTOMERS + 1):
        name = f"{rng.choice(first)} {rng.choice(last)}"
        rows.append({
            "customer_id": f"CUST-{i:03d}",
            "customer_name": name,
            "customer_tier": rng.choices(["GOLD", "SILVER", "BRONZE", None], [2, 3, 4, 1])[0],
            "email": f"{name.lower().replace(' ', '.')}.{i}@example.com",
        })
    return rows


def product_catalog(rng: random.Random, n: int) -> list[dict]:
    categories = {"Electronics": (1_500, 90_000), "Books": (800, 6_000),
                  "Garden": (1_000, 25_000), "Toys": (500, 8_000)}
    rows = []
    for i in range(1, PRODUCTS + 1):
        category = rng.choice(list(categories))
        low, high = categories[category]
        rows.append({
            "product_id": f"SKU-{i:04d}",
            "product_name": f"{category} item {i}",
            "category": category,
            "unit_price": (Decimal(rng.randint(low, high)) / 100).quantize(FOUR_PLACES),
            "active": rng.random() > 0.15,
        })
    return rows


# file name (the Kafka topic, or the file source's file) -> maker; the tables ignore --rows
FILES = {"raw-orders": raw_orders, "customers": customers, "product_catalog": product_catalog}


def generate(out: Path | str = HERE / "data", rows: int = 400, seed: int = 42) -> dict:
    """Write every input file into ``out``; returns ``{name: path}``."""
    return _datagen.generate(FILES, out, rows, seed)


def main(argv: list[str] | None = None) -> None:
    _datagen.main(FILES, __doc__, HERE / "data", argv, rows_help="orders (400)")


if __name__ == "__main__":
    main()
