"""Velostream: streaming SQL over Kafka topics, files and SQLite tables.

This module owns the public import surface; heavy subpackages are imported lazily so that
``import velostream`` stays cheap for command-line start-up.
"""

__version__ = "0.1.0"

__all__ = ["SqlError", "VelostreamError", "__version__", "parse_sql"]


def __getattr__(name):
    # Lazy so the CLI's start-up does not pay for modules a command never uses.
    if name == "StreamApp":
        from velostream.app import StreamApp

        return StreamApp
    if name == "parse_sql":
        from velostream.grammar import parse_sql

        return parse_sql
    if name in ("VelostreamError", "SqlError"):
        from velostream import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'velostream' has no attribute {name!r}")
