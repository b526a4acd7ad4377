"""Velostream: streaming SQL over Kafka topics, files and SQLite tables.

This module owns the public import surface; heavy subpackages are imported lazily so that
``import velostream`` stays cheap for command-line start-up. It also turns the confusing
``No module named 'velostream._core.batch'`` of an uncompiled source tree (a script run from the
repository root finds this tree before the installed package) into an error naming the fix.
"""

import os
import sys

__version__ = "0.1.0"

__all__ = ["RecordBatch", "ScaledInteger", "SqlError", "StreamApp", "VelostreamError",
           "__version__", "parse_sql"]

_CORE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_core")


class _UncompiledCore:
    """Last finder on ``sys.meta_path``: consulted only when ``velostream._core.<name>`` was not
    found anywhere, so it costs nothing when the extensions are built."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        """Raises for a core module whose .pyx is here but not its build; else finds nothing."""
        module = name.rsplit(".", 1)[1] if name.startswith("velostream._core.") else None
        if module is None or not os.path.exists(os.path.join(_CORE, module + ".pyx")):
            return
        root = os.path.dirname(os.path.dirname(_CORE))
        raise ImportError(
            f"velostream is imported from {root}, a source tree whose Cython core is not "
            f"compiled ({name} has no extension module). Build it in place with "
            f"`pip install -e {root}` (or `python setup.py build_ext --inplace` there), or run "
            "from another directory to use the installed velostream.", name=name)

    @staticmethod
    def invalidate_caches():
        pass


if not any(isinstance(f, _UncompiledCore) for f in sys.meta_path):
    sys.meta_path.append(_UncompiledCore())


def __getattr__(name):
    # Lazy so the CLI's start-up does not pay for modules a command never uses.
    if name == "StreamApp":
        from velostream.app import StreamApp

        return StreamApp
    if name == "RecordBatch":
        from velostream._core.batch import RecordBatch

        return RecordBatch
    if name == "ScaledInteger":
        from velostream._core.decimal import ScaledInteger

        return ScaledInteger
    if name == "parse_sql":
        from velostream.grammar import parse_sql

        return parse_sql
    if name in ("VelostreamError", "SqlError"):
        from velostream import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'velostream' has no attribute {name!r}")
