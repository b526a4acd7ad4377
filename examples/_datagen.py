"""What the examples' data generators share (standard library only).

Each ``examples/<app>/generate.py`` owns its record makers (``make(rng, rows) -> list[dict]``,
one per input file); this module owns writing them: JSON Lines with Decimals as JSON numbers
keeping all their decimals, one ``random.Random`` per file derived from the seed (so a file's
bytes depend only on ``--seed``, ``--rows`` and its position), and the command line.
"""

from __future__ import annotations

import argparse
import json
import random
from decimal import Decimal
from pathlib import Path

FOUR_PLACES = Decimal("0.0001")


def dumps(row: dict) -> str:
    """One JSON object; Decimals are written as JSON numbers with all their decimals."""
    parts = []
    for key, value in row.items():
        text = format(value, "f") if isinstance(value, Decimal) else json.dumps(value)
        parts.append(f"{json.dumps(key)}: {text}")
    return "{" + ", ".join(parts) + "}"


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.writelines(dumps(row) + "\n" for row in rows)


def generate(makers: dict, out: Path | str, rows: int, seed: int) -> dict:
    """Write ``<name>.jsonl`` for every ``{name: make}`` into ``out``; returns ``{name: path}``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for offset, (name, make) in enumerate(makers.items()):
        path = out / f"{name}.jsonl"
        write_jsonl(path, make(random.Random(seed * 1000 + offset), rows))
        paths[name] = path
    return paths


def main(makers: dict, doc: str, default_out: Path, argv: list[str] | None = None,
         rows_help: str = "records per topic (400)") -> None:
    """The generators' command line: ``[--rows N] [--out DIR] [--seed S]``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400, help=rows_help)
    parser.add_argument("--out", type=Path, default=default_out, help="output directory")
    parser.add_argument("--seed", type=int, default=42, help="random seed (42)")
    args = parser.parse_args(argv)
    for name, path in generate(makers, args.out, args.rows, args.seed).items():
        print(f"{name}: {path}")
