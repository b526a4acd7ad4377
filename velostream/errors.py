"""Error types every user-facing failure is raised as, and their rendering.

Owns the one place that turns a position in a source text into the
``file:line:column: message`` + source line + caret form the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass


class VelostreamError(Exception):
    """Base of every error velostream raises on purpose (never a bug)."""


@dataclass(frozen=True)
class Location:
    """A 1-based line and column in a named source text."""

    line: int
    column: int
    filename: str = "<sql>"

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.column}"


def render_caret(source: str | None, line: int, column: int) -> str:
    """The offending line of ``source`` and a caret under ``column`` (both 1-based)."""
    if not source:
        return ""
    lines = source.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1].expandtabs(1)
    # Tabs were expanded to one space so the caret stays under the same character.
    return f"  {text}\n  {' ' * (column - 1)}^"


class SqlError(VelostreamError):
    """An error tied to a position in SQL (or application-file) text.

    ``severity`` is ``"error"`` or ``"warning"``; warnings are collected, not raised.
    """

    kind = "error"

    def __init__(
        self,
        message: str,
        line: int = 0,
        column: int = 0,
        *,
        source: str | None = None,
        filename: str = "<sql>",
        severity: str = "error",
        hint: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.source = source
        self.filename = filename
        self.severity = severity
        self.hint = hint

    def with_source(self, source: str, filename: str | None = None) -> SqlError:
        """Attach the text (and name) the position refers to; returns self."""
        self.source = source
        if filename:
            self.filename = filename
        return self

    @property
    def location(self) -> Location:
        return Location(self.line, self.column, self.filename)

    def format(self) -> str:
        """``file:line:col: kind: message``, the source line and a caret."""
        head = f"{self.location}: {self.severity}: {self.message}" if self.line else (
            f"{self.filename}: {self.severity}: {self.message}"
        )
        parts = [head]
        caret = render_caret(self.source, self.line, self.column) if self.line else ""
        if caret:
            parts.append(caret)
        if self.hint:
            parts.append(f"  hint: {self.hint}")
        return "\n".join(parts)

    def to_dict(self) -> dict:
        return {
            "severity": self.severity,
            "kind": self.kind,
            "message": self.message,
            "file": self.filename,
            "line": self.line,
            "column": self.column,
            **({"hint": self.hint} if self.hint else {}),
        }

    def __str__(self) -> str:
        if self.line:
            return f"{self.location}: {self.message}"
        return self.message


class SqlSyntaxError(SqlError):
    """The text is not in the dialect: lexer or parser failure."""

    kind = "syntax"


class SqlValidationError(SqlError):
    """The text parses but means nothing runnable (unknown function, bad grouping, …)."""

    kind = "validation"


class ConfigError(VelostreamError):
    """Bad configuration: names the key and the file it came from."""

    def __init__(self, message: str, *, key: str | None = None, filename: str | None = None,
                 line: int | None = None):
        self.message = message
        self.key = key
        self.filename = filename
        self.line = line
        where = filename or ""
        if line:
            where = f"{where}:{line}"
        prefix = f"{where}: " if where else ""
        keypart = f"{key}: " if key else ""
        super().__init__(f"{prefix}{keypart}{message}")

    def located(self, filename: str, line: int | None = None) -> ConfigError:
        """The same error, saying which file (and line) the key was written in."""
        return ConfigError(self.message, key=self.key, filename=filename, line=line)
