"""Result types shared by the decoders: the decoded batch and the records that could not be.

A malformed record is never dropped silently: it comes back as a ``RecordError`` with where it
was (line and column), what was wrong and its bytes, so the job's failure strategy can count it,
log it or send it to a dead-letter sink.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from velostream._core.batch import RecordBatch


@dataclass
class RecordError:
    """One input record that could not be decoded; the other records of its batch still are."""

    line: int
    """1-based line number in the source where the problem was found."""
    message: str
    """What was wrong, e.g. ``invalid JSON: expected ',' or '}' at column 37``."""
    raw: bytes
    """The record's bytes (without its line break), for a dead-letter sink."""
    column: int | None = None
    """1-based column (in characters) of the problem on that line, when known."""

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class DecodeResult:
    """The decoded rows and the records that failed.

    ``batch.meta["_line"]`` is an Int64Column with the source line of each row.
    """

    batch: RecordBatch
    errors: list[RecordError] = field(default_factory=list)
    block: bytes | None = None
    """The bytes decoded (set by readers that keep them), so a failing row's record can be
    recovered whole for a dead-letter sink; ``first_line`` is the line number of its first line."""
    first_line: int = 1


def make_result(names, columns, lines, errors) -> DecodeResult:
    """A DecodeResult from a scanner's ``(names, columns, line_column, error tuples)``."""
    batch = RecordBatch(names, columns, {"_line": lines})
    return DecodeResult(
        batch, [RecordError(line, message, raw, column) for line, column, message, raw in errors])


def as_bytes(data) -> bytes | bytearray | memoryview:
    """Input for the scanners: text is encoded as UTF-8, buffers are used as they are."""
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray)):
        return data
    return memoryview(data).cast("B")
