"""The SQL front end: text → AST, AST → text.

Public entry points: :func:`parse_sql` (a script of statements), :func:`parse_statement`,
:func:`parse_window` and :func:`parse_expression` (fragments, e.g. a ``-- WINDOW:`` directive),
and :func:`to_sql` (the printer). Every failure is a :class:`velostream.errors.SqlSyntaxError`
carrying line, column, the source text and the file name. Every entry point may be called from
many threads at once: a parse keeps its state in its own objects, never in module globals.
"""

from __future__ import annotations

from velostream.errors import SqlSyntaxError
from velostream.grammar import ast


def _run(text: str, filename: str, fragment: str | None):
    from velostream.grammar import parser

    try:
        return parser.parse(text, fragment)
    except SqlSyntaxError as err:
        raise err.with_source(text, filename) from None


def parse_sql(text: str, filename: str = "<sql>") -> ast.Script:
    """Parse a script: zero or more statements separated by ';'."""
    return _run(text, filename, None)


def parse_statement(text: str, filename: str = "<sql>"):
    """Parse exactly one statement (a trailing ';' is allowed)."""
    script = parse_sql(text, filename)
    if len(script.statements) != 1:
        raise SqlSyntaxError(
            f"expected exactly one statement, found {len(script.statements)}", 1, 1,
            source=text, filename=filename)
    return script.statements[0]


def parse_window(text: str, filename: str = "<window>") -> ast.Window:
    """Parse a window specification such as ``TUMBLING (INTERVAL 5 MINUTES)``."""
    return _run(text, filename, "window")


def parse_expression(text: str, filename: str = "<expr>"):
    """Parse a single expression."""
    return _run(text, filename, "expr")


def to_sql(node) -> str:
    """Print an AST (or a statement, or an expression) back as SQL that parses to an equal AST."""
    from velostream.grammar.printer import to_sql as _to_sql

    return _to_sql(node)


__all__ = [
    "SqlSyntaxError",
    "ast",
    "parse_expression",
    "parse_sql",
    "parse_statement",
    "parse_window",
    "to_sql",
]
