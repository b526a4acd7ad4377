"""Result types shared by the decoders: the decoded batch, the records that could not be, and
where a record came from (``Location``).

A malformed record is never dropped silently: it comes back as a ``RecordError`` with where it
was (line and column, and once a reader has located it a ``Location`` with the file and byte
offset), what was wrong and its bytes, so the job's failure strategy can count it, log it or send
it to a dead-letter sink.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from velostream._core.batch import RecordBatch


@dataclass(frozen=True)
class Location:
    """Where a record came from: failures, the dead-letter queue and messages carry it.

    ``line``/``column`` are 1-based (column in characters); ``byte_offset`` is the offset in the
    file of the record's first byte (line formats: JSON Lines, CSV); in a JSON document, where
    records share lines, of the problem a failure names (None for a row). ``topic``/``partition``/
    ``offset`` are for message sources.
    """

    source: str
    path: str | None = None
    line: int | None = None
    byte_offset: int | None = None
    column: int | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None

    def __str__(self) -> str:
        if self.path is not None:
            if self.line is None:
                return self.path
            # The column is not repeated here: the decoders' messages name it ("at column 3").
            return f"{self.path}:{self.line}"
        if self.topic is not None:
            return f"{self.topic}[{self.partition}]@{self.offset}"
        return self.source


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
    location: Location | None = None
    """Where the record is (file, line, byte offset), once a reader has placed it."""

    def __str__(self) -> str:
        if self.location is not None:
            return f"{self.location}: {self.message}"
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
    consumed: int | None = None
    """Set by the framed decoders (``formats.registry``): how many bytes of the chunk the records
    took; the rest starts the next chunk. ``next_line``/``next_column`` are where that rest
    starts."""
    next_line: int | None = None
    next_column: int = 1


def make_result(names, columns, lines, errors) -> DecodeResult:
    """A DecodeResult from a scanner's ``(names, columns, line_column, error tuples)``."""
    batch = RecordBatch(names, columns, {"_line": lines})
    return DecodeResult(
        batch, [RecordError(line, message, raw, column) for line, column, message, raw in errors])


def nothing_decoded(line: int, column: int = 1) -> DecodeResult:
    """A framed decoder's answer for a chunk without a whole record yet."""
    from velostream._core.batch import int64_column

    result = make_result((), (), int64_column([]), ())
    result.consumed, result.next_line, result.next_column = 0, line, column
    return result


def as_bytes(data) -> bytes | bytearray | memoryview:
    """Input for the scanners: text is encoded as UTF-8, buffers are used as they are."""
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray)):
        return data
    return memoryview(data).cast("B")


def line_starts(chunk, upto: int | None = None) -> list[int]:
    """Byte offset in ``chunk`` of the start of each of its lines (of the first ``upto`` + 1).
    Only failures and split batches pay for it: never the hot path."""
    from itertools import accumulate

    data = bytes(chunk)
    lines = data.split(b"\n", upto) if upto is not None else data.split(b"\n")
    return [0, *accumulate(len(x) + 1 for x in lines[:-1])]


def locate_errors(errors, chunk, location: Location, framing: str = "lines") -> None:
    """Sets each error's ``location``: ``location`` (where ``chunk`` starts) moved to the
    error's line, with the byte offset of that line's start (and, in a JSON document where a
    line may hold several records, of the error's column)."""
    if not errors:
        return
    from dataclasses import replace

    first = location.line or 1
    starts = line_starts(chunk, max(e.line for e in errors) - first + 1)
    base = location.byte_offset
    for e in errors:
        k = e.line - first
        offset = None
        if base is not None and 0 <= k < len(starts):
            offset = base + starts[k]
            if framing == "document" and e.column:
                # Columns count characters, from the line's start: ``chunk`` may start mid-line.
                chars = e.column - 1 - ((location.column or 1) - 1 if k == 0 else 0)
                text = bytes(chunk[starts[k]:starts[k] + 4 * max(chars, 0)])
                offset += len(text.decode("utf-8", "replace")[:max(chars, 0)].encode("utf-8"))
        e.location = replace(location, line=e.line, column=e.column, byte_offset=offset)
