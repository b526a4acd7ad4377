#!/usr/bin/env python3
"""Deterministic test data for the trading application (examples/trading/app.sql).

Writes one JSON-lines file per input topic into ``--out`` (default: ``data/`` next to this file):

- ``market_data.jsonl`` symbol, price, volume, timestamp               (trades.proto MarketData)
- ``positions.jsonl``   portfolio_id, symbol, position_size, current_price, price_change_pct,
                        timestamp                                      (positions.proto Position)
- ``trades.jsonl``      trade_id, trader_id, symbol, quantity, price, trade_time ("HH:MM:SS"),
                        notional_amount, timestamp                     (trades.proto Trade)

Prices and amounts are JSON numbers with exactly 4 decimals (``decimal_places = 4``), timestamps
epoch milliseconds in increasing order. Market data has occasional jumps of more than 5 % so the
price monitor sees spikes; trades include restricted symbols, after-hours times and the exact
boundaries 09:30:00 and 16:00:00. Same ``--seed`` and ``--rows``, same bytes. Standard library
only::

    python examples/trading/generate.py [--rows N] [--out DIR] [--seed S]
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

START_MS = 1_717_421_400_000          # 2024-06-03T13:30:00Z, the US open
SYMBOLS = {"AAPL": "190.00", "MSFT": "415.00", "NVDA": "1150.00", "TSLA": "178.00",
           "AMZN": "180.00", "JPM": "197.00", "XOM": "113.00", "KO": "62.50"}


def move(rng: random.Random, price: Decimal, spike: bool) -> Decimal:
    """The next price: a small random step, or a jump of 6-9 % either way."""
    if spike:
        pct = Decimal(rng.randint(600, 900)) / 10000 * rng.choice([1, -1])
    else:
        pct = Decimal(rng.randint(-150, 150)) / 100000
    return max(Decimal("1.0000"), (price * (1 + pct)).quantize(FOUR_PLACES))


def market_data(rng: random.Random, n: int) -> list[dict]:
    prices = {s: Decimal(p).quantize(FOUR_PLACES) for s, p in SYMBOLS.items()}
    rows, t = [], START_MS
    for i in range(1, n + 1):
        t += rng.randint(50, 1_500)                  # unique, increasing timestamps
        symbol = rng.choice(list(prices))
        prices[symbol] = move(rng, prices[symbol], spike=i % 23 == 0)
        rows.append({
            "symbol": symbol,
            "price": prices[symbol],
            "volume": rng.choice([100, 500, 999, 1000, 1001, 2500, 5000, 12000]),
            "timestamp": t,
        })
    return rows


def positions(rng: random.Random, n: int) -> list[dict]:
    portfolios = [f"PF-{i:02d}" for i in range(1, 6)]
    symbols = list(SYMBOLS)[:5]
    prices = {s: Decimal(SYMBOLS[s]).quantize(FOUR_PLACES) for s in symbols}
    rows, t = [], START_MS
    for _ in range(n):
        t += rng.randint(1_000, 12_000)              # n=400 spans about 45 minutes
        symbol = rng.choice(symbols)
        prices[symbol] = move(rng, prices[symbol], spike=False)
        size = rng.choice([-1, 1]) * rng.choice([10, 50, 100, 250, 400, 800, 1500])
        rows.append({
            "portfolio_id": rng.choice(portfolios),
            "symbol": symbol,
            "position_size": size,
            "current_price": prices[symbol],
            "price_change_pct": (Decimal(rng.randint(-50_000, 50_000)) / 10000).quantize(
                FOUR_PLACES),
            "timestamp": t,
        })
    return rows


def trade_time(rng: random.Random, i: int) -> str:
    if i % 29 == 0:
        return "09:30:00" if (i // 29) % 2 else "16:00:00"   # inside the BETWEEN, inclusively
    seconds = rng.randint(7 * 3600, 19 * 3600)               # 07:00 to 19:00, some after hours
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def trades(rng: random.Random, n: int) -> list[dict]:
    symbols = list(SYMBOLS) + ["RESTRICTED_SYMBOL_1", "RESTRICTED_SYMBOL_2",
                               "RESTRICTED_SYMBOL_3"]
    weights = [10] * len(SYMBOLS) + [1, 1, 1]
    rows, t = [], START_MS
    for i in range(1, n + 1):
        t += rng.randint(100, 5_000)
        symbol = rng.choices(symbols, weights)[0]
        base = Decimal(SYMBOLS.get(symbol, "25.00"))
        price = (base * (1 + Decimal(rng.randint(-300, 300)) / 10000)).quantize(FOUR_PLACES)
        quantity = rng.choice([1, 5, 10, 25, 50, 100, 200, 500, 1000, 5000, 10000])
        rows.append({
            "trade_id": f"T-{i:06d}",
            "trader_id": f"TRADER-{rng.randint(1, 15):02d}",
            "symbol": symbol,
            "quantity": quantity,
            "price": price,
            "trade_time": trade_time(rng, i),
            "notional_amount": price * quantity,        # exact, 4 decimals
            "timestamp": t,
        })
    return rows


TOPICS = {"market_data": market_data, "positions": positions, "trades": trades}


def generate(out: Path | str = HERE / "data", rows: int = 400, seed: int = 42) -> dict:
    """Write every topic's file into ``out``; returns ``{name: path}``."""
    return _datagen.generate(TOPICS, out, rows, seed)


def main(argv: list[str] | None = None) -> None:
    _datagen.main(TOPICS, __doc__, HERE / "data", argv)


if __name__ == "__main__":
    main()
