"""The source and sink contract every connector implements, and what a connector is given.

Owns the shapes the job loop codes against: ``Source`` (open, poll a batch, position, seek,
commit, close), ``Sink`` (write, flush, commit, close, transactional hooks), ``SourceBatch``
(decoded rows + decode failures + the position after them, and where each row came from),
``FilePosition`` and the contexts (``SourceContext``/``SinkContext``: what a connector gets
instead of the whole JobPlan). ``Location`` is defined with the decode failures that carry it
(formats.errors) and re-exported here.
"""

from __future__ import annotations

import bisect
import collections
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from velostream.formats.errors import Location, line_starts

__all__ = ["FilePosition", "Location", "Sink", "SinkContext", "Source", "SourceBatch",
           "SourceContext"]


@dataclass(frozen=True)
class FilePosition:
    """A file source's resumable position: ``seek(position)`` continues right there.

    ``byte_offset``/``line``/``column``: where the next record starts (column: inside a line,
    for a JSON document whose elements share lines). ``state``: what the decoder needs besides
    (the CSV header; whether a JSON document continues inside its array). ``skip_rows``/
    ``skip_errors``: records after ``byte_offset`` already delivered — a JSON document or a
    whole-file format is cut only between blocks, so a batch that ends inside a block says how
    many of the block's rows (and failures) to skip.
    """

    byte_offset: int = 0
    line: int = 1
    column: int = 1
    state: Any = None
    skip_rows: int = 0
    skip_errors: int = 0


@dataclass
class SourceContext:
    """What a source is told besides its endpoint.

    ``fields``: the fields the query reads (None: all). ``watch``: follow the file (None: the
    endpoint's ``watch`` setting). ``stop_event``: set to stop a follower. ``on_progress``: called
    with the bytes read so far. ``batch_size``: most records per batch (None: a block's worth).
    ``batch_timeout_ms``: how long a follower gathers records for a batch before returning fewer
    than ``batch_size`` (None: returns what has arrived). ``clock``: seconds, monotonic (tests
    pass their own).
    """

    fields: list | None = None
    watch: bool | None = None
    stop_event: Any = None
    on_progress: Callable | None = None
    financial_precision: bool = True
    batch_size: int | None = None
    batch_timeout_ms: int | None = None
    clock: Callable[[], float] | None = None


@dataclass
class SinkContext:
    """What a sink is told besides its endpoint: ``format_override`` (the CLI's ``--format``, an
    output format of formats.registry), ``stream`` (where standard output goes),
    ``financial_precision``, and ``path_key``: the setting a file sink's path came from, for its
    errors (the CLI's ``--output-file``; default ``<name>.path``). ``resume_length``: a
    checkpoint committed this many bytes of the sink's output; reopen it there (None: start).
    ``checkpointed``: the job has checkpoints (a transactional sink commits at them, not per
    batch). ``key_columns``: the output columns that key its rows (``plan.physical.output_key``:
    a GROUP BY … EMIT CHANGES), for a sink that upserts; None: rows are not keyed."""

    format_override: str | None = None
    stream: Any = None
    financial_precision: bool = True
    path_key: str | None = None
    resume_length: int | None = None
    checkpointed: bool = False
    key_columns: list | None = None


@dataclass
class SourceBatch:
    """Decoded rows, the records of the same stretch of input that failed to decode, and the
    source's position after both.

    ``batch.meta`` holds the pseudo-columns (``_line``, ``_offset``, ``_partition``,
    ``_timestamp``); every ``errors[i].location`` is set. ``location_of``/``raw_of`` answer for
    rows that fail later (an expression, the event time) — paid only when asked.
    """

    batch: Any
    errors: list
    position: Any
    source: str = ""
    path: str | None = None
    chunk: Any = None
    """The input bytes of exactly these records (None: not kept, e.g. a whole-file format)."""
    chunk_line: int = 1
    chunk_offset: int | None = None
    record_lines: Any = None
    """A callable giving the start line of every record in ``chunk`` (when ``chunk`` holds
    records of other batches too: a JSON document's block); None: this batch's rows and errors."""
    framing: str = "lines"
    _starts: list | None = field(default=None, repr=False)

    # Old names (DecodeResult's), for runtime/job.py until it moves to raw_of.
    @property
    def block(self):
        if self.chunk is None or self.record_lines is not None:
            return None      # shared with other batches: its records are not told apart by line
        return bytes(self.chunk)

    @property
    def first_line(self) -> int:
        return self.chunk_line

    def _line_of(self, row: int) -> int | None:
        lines = self.batch.meta.get("_line")
        return None if lines is None else lines.get(row)

    def _line_starts(self) -> list:
        if self._starts is None:
            self._starts = line_starts(self.chunk) if self.chunk is not None else []
        return self._starts

    def location_of(self, row: int) -> Location:
        """Where row ``row`` of ``batch`` came from."""
        line = self._line_of(row)
        offset = None
        if line is not None and self.framing == "lines" and self.chunk_offset is not None \
                and self.chunk is not None:
            starts = self._line_starts()
            k = line - self.chunk_line
            if 0 <= k < len(starts):
                offset = self.chunk_offset + starts[k]
        return Location(self.source, self.path, line, offset)

    def raw_of(self, rows) -> list:
        """The input bytes of each of ``rows`` (without its line break), for a dead-letter
        entry that holds the whole record, not only the fields the query read. None for a row
        whose bytes cannot be told apart: several records on its line (a compact JSON array)."""
        if self.chunk is None:
            return [None] * len(rows)
        if self.record_lines is not None:
            starts = list(self.record_lines())
        else:
            lines = self.batch.meta.get("_line")
            starts = lines.to_pylist() if lines is not None else []
            starts.extend(e.line for e in self.errors)
        # A record runs from its line to the line before the next record (CSV fields may hold
        # line breaks); records that did not decode start records too.
        started = collections.Counter(starts)
        begins = sorted(started)
        data = bytes(self.chunk)
        split = data.split(b"\n")
        first = self.chunk_line
        out = []
        for row in rows:
            line = self._line_of(row)
            if line is None or started[line] != 1:
                out.append(None)
                continue
            at = bisect.bisect_right(begins, line)
            end = begins[at] if at < len(begins) else first + len(split)
            out.append(b"\n".join(split[line - first:end - first]).rstrip(b"\r\n"))
        return out


class Source(ABC):
    """A stream of SourceBatches with a position that can be committed and sought to.

    ``name``: the endpoint's name; ``bounded``: its input ends (a file read once);
    ``size``: bytes in all, for progress (None: unknown)."""

    name: str = ""
    bounded: bool = True
    size: int | None = None

    def open(self) -> None:
        """Acquire what reading needs (files, connections); ``poll`` opens when not done."""

    @abstractmethod
    def poll(self, timeout: float) -> SourceBatch | None:
        """The next batch, or None when nothing arrived within ``timeout`` seconds (or the
        source is exhausted)."""

    @property
    @abstractmethod
    def exhausted(self) -> bool:
        """No more data will come: a bounded input ended, or a follower was stopped and has
        handed over what it held."""

    @abstractmethod
    def position(self):
        """Where the source is: after the last batch ``poll`` returned."""

    @abstractmethod
    def seek(self, position) -> None:
        """Continue from ``position`` (one this source type returned)."""

    def commit(self, position) -> None:
        """``position`` is processed and written (a checkpoint); files have nothing to do."""

    def close(self) -> None:
        """Release what ``open`` acquired."""

    def field_names(self, source_batch) -> list[str]:
        """Every field name the records of ``source_batch`` have, whatever the query reads
        (diagnostics: a column the query names that no record has)."""
        return list(source_batch.batch.names)


class Sink(ABC):
    """Where result batches go."""

    name: str = ""
    exactly_once: bool = False
    """A checkpointed job can cut it back to a committed length on restart (file sinks)."""
    checkpoint_refusal: Exception | None = None
    """Why a job with checkpoints cannot use this sink (raised at start), or None."""

    def open(self) -> None:
        """Acquire what writing needs; sinks open in their constructor when not called."""

    @abstractmethod
    def write(self, batch) -> None:
        ...

    def flush(self) -> None:
        """Make what was written visible (a follower's output must not wait for a buffer)."""

    def commit(self) -> None:
        """What was written is durable (a checkpoint)."""
        self.flush()

    def close(self) -> None:
        """Write what framing remains (a JSON array's ``]``), flush, release."""

    def begin_transaction(self) -> None:
        """Hooks for transactional sinks (Kafka, later); no-ops by default."""

    def commit_transaction(self) -> None:
        pass

    def abort_transaction(self) -> None:
        pass
