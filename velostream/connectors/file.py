"""File source and sink: any format of the format registry (CSV, JSON, JSON Lines, …).

Owns reading a file in blocks of whole records (so memory stays bounded and line numbers stay
right), following a growing file (``watch``: tail, as ``velo-sql stream --continuous`` needs),
the source's byte-offset position (``position()`` after each batch; ``seek`` continues right
after the last record of that batch), ``batch.size`` (records per batch: a decoded block is
split) and ``batch.timeout`` (how long a follower gathers records for a batch), and writing
encoded batches (``append`` or truncate) and a file sink's checkpoint side: ``commit()`` makes
what was written durable and says the committed length; reopened with a checkpoint's length it
truncates what was written after it (and the encoder continues instead of starting over: no
second CSV header, the JSON array's next separator). Decoding and encoding themselves are the formats'
(formats.registry), and so is where a record ends: the decoder takes the whole records at the
start of a block and says how many bytes they took; the rest (a last line without a line feed,
a CSV quoted field spanning the cut) starts the next block. A last line without a line feed is
a record too, decoded at the end of the file or when a follower stops.
"""

from __future__ import annotations

import bisect
import collections
import logging
import os
import stat
import time

from velostream.connectors import BATCH_SIZE_KEYS, BATCH_TIMEOUT_KEYS
from velostream.connectors.base import FilePosition, Sink, Source, SourceBatch, SourceContext
from velostream.errors import ConfigError
from velostream.formats import registry as formats
from velostream.formats.csv import csv_delimiter, csv_max_record_bytes  # noqa: F401 (old home)
from velostream.formats.errors import Location, line_starts

log = logging.getLogger("velostream.file")

BLOCK_BYTES = 1 << 20
WATCH_POLL_SECONDS = 0.1


def _path(endpoint) -> str:
    path = endpoint.get("path")
    if not path:
        raise ConfigError("a file source or sink needs a path", key=f"{endpoint.name}.path")
    if os.path.isdir(str(path)):
        raise ConfigError(f"{path} is a directory; give the path of a file",
                          key=f"{endpoint.name}.path")
    return str(path)


def open_file(path: str, mode: str, key: str, **kwargs):
    """open() with the errors a user can fix (a directory, no permission, a missing or blocked
    parent directory) as ConfigErrors naming the setting ``key`` the path came from. Writing
    creates the parent directories."""
    directory = os.path.dirname(path)
    if directory and not mode.startswith("r"):
        try:
            os.makedirs(directory, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise ConfigError(f"cannot create {path}: a part of {directory} is a file, not a "
                              "directory", key=key) from None
        except OSError as err:
            raise ConfigError(f"cannot create {directory}: {err.strerror or err}",
                              key=key) from None
    try:
        return open(path, mode, **kwargs)
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory; give the path of a file", key=key) from None
    except OSError as err:
        raise ConfigError(f"cannot open {path}: {err.strerror or err}", key=key) from None


def _open(endpoint, path: str, mode: str):
    return open_file(path, mode, f"{endpoint.name}.path")


def _declared_types(endpoint) -> dict:
    """``'<source>.schema.<field>' = 'DECIMAL(18,4)'`` declares a field's type."""
    from velostream._core.jsoncodec import declared_spec

    prefix = "schema."
    declared = {k[len(prefix):]: v for k, v in endpoint.properties.items() if k.startswith(prefix)}
    for field, text in declared.items():
        try:
            declared_spec({field: text})
        except ValueError:
            raise ConfigError(f"unsupported type {text!r}; use DECIMAL(p,s), DOUBLE, BIGINT, "
                              "STRING, BOOLEAN or TIMESTAMP",
                              key=f"{endpoint.name}.{prefix}{field}") from None
    return declared


def _first_setting(endpoint, keys, minimum):
    for key in keys:
        if endpoint.get(key) is not None:
            value = endpoint.setting(key)       # typed by the settings table
            if value < minimum:
                raise ConfigError(f"must be ≥ {minimum}; got {endpoint.get(key)!r}",
                                  key=f"{endpoint.name}.{key}")
            return value
    return None


class _Block:
    """One decoded block and where it lies in the file, cut into batches of ``batch.size``."""

    __slots__ = (
        "chunk",
        "column",
        "last",
        "line",
        "offset",
        "result",
        "skip_errors",
        "skip_rows",
        "state",
    )

    def __init__(self, result, chunk, offset, line, column, state, skip_rows, skip_errors):
        self.result, self.chunk, self.offset = result, chunk, offset
        self.line, self.column, self.state = line, column, state
        self.skip_rows, self.skip_errors = skip_rows, skip_errors
        self.last = False            # nothing follows: the source is exhausted after it


class FileSource(Source):
    """Reads ``path`` in blocks of whole records and returns SourceBatches (see the module
    docstring). ``FileSource(endpoint, SourceContext)``; the old ``FileSource(endpoint, plan,
    fields=…, watch=…, stop_event=…, on_progress=…)`` and ``batches()`` still work."""

    def __init__(self, endpoint, context=None, **options):
        if not isinstance(context, SourceContext):
            from velostream.connectors import source_context

            context = source_context(context, **options) if context is not None else \
                SourceContext(**options)
        self.endpoint = endpoint
        self.context = context
        self.name = endpoint.name
        self.path = _path(endpoint)
        self.watch = endpoint.flag("watch") if context.watch is None else context.watch
        self.bounded = not self.watch
        self.stop_event = context.stop_event
        self.on_progress = context.on_progress
        self.clock = context.clock or time.monotonic
        if not os.path.exists(self.path) and not self.watch:
            raise ConfigError(f"file not found: {self.path}", key=f"{self.name}.path")
        spec = formats.for_endpoint(endpoint, role="decoder")
        if self.watch and spec.reader:
            raise ConfigError(f"a {spec.name} file is whole only once written; it cannot be "
                              "followed as it grows", key=f"{self.name}.watch")
        if self.watch and spec.follow_as:
            spec = formats.get(spec.follow_as, f"{self.name}.format")
        self.spec = spec
        self.format = spec.name
        self.batch_size = _first_setting(endpoint, BATCH_SIZE_KEYS, 1)
        if self.batch_size is None:
            self.batch_size = context.batch_size
        self.batch_timeout_ms = _first_setting(endpoint, BATCH_TIMEOUT_KEYS, 0)
        if self.batch_timeout_ms is None:
            self.batch_timeout_ms = context.batch_timeout_ms
        self._options = formats.DecoderOptions(context.fields, context.financial_precision,
                                               _declared_types(endpoint) or None)
        self.decoder = self._new_decoder()
        self.bytes_read = 0
        self.bytes_decoded = 0      # bytes the decoder took records from: each byte about once
        self.max_held = 0           # most bytes held at once
        self.size = os.path.getsize(self.path) if os.path.exists(self.path) else 0
        self._start = FilePosition()
        self._position = self._start
        self._reader = None
        self._ready: collections.deque = collections.deque()
        self._exhausted = False

    def _new_decoder(self):
        if self.spec.decoder is None:
            return None
        return formats.make_decoder(self.spec, self.endpoint, self._options)

    # ------------------------------------------------------------------ the contract
    def open(self) -> None:
        if self._reader is None:
            self._reader = (self._whole_file() if self.spec.reader else self._blocks())

    @property
    def exhausted(self) -> bool:
        return self._exhausted and not self._ready

    def position(self) -> FilePosition:
        return self._position

    def seek(self, position: FilePosition) -> None:
        if self._reader is not None:
            self.close()
        self._start = self._position = position
        self._ready.clear()
        self._exhausted = self._emitted_any = False
        self.decoder = self._new_decoder()
        if self.decoder is not None:
            self.decoder.restore(position.state)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()          # the generator's finally closes the file
            self._reader = None

    def poll(self, timeout: float = 0.0) -> SourceBatch | None:
        """The next batch; None when nothing arrived within ``timeout`` seconds (a follower at
        the end of its file) or the source is exhausted."""
        if not self._ready:
            if self._exhausted:
                return None
            self.open()
            deadline = self.clock() + timeout
            while not self._ready:
                try:
                    block = next(self._reader)
                except StopIteration:
                    self._exhausted = True
                    return None
                if block is not None:
                    self._cut(block)
                    self._exhausted = block.last
                    continue
                remaining = deadline - self.clock()
                if remaining <= 0:
                    return None
                self._wait(min(WATCH_POLL_SECONDS, remaining))
        batch = self._ready.popleft()
        self._position = batch.position
        return batch

    def batches(self):
        """The old iterator: every batch until the end (or a stop, when watching)."""
        try:
            while not self.exhausted:
                batch = self.poll(WATCH_POLL_SECONDS)
                if batch is not None:
                    yield batch
        finally:
            self.close()

    def field_names(self, source_batch, sample_bytes: int = 1 << 16) -> list[str]:
        """Every field name the records of ``source_batch`` have (CSV: the header; JSON: the
        keys of the records in its first ``sample_bytes``), whatever the query reads. For
        diagnostics only (a column the query names that no record has): it decodes again."""
        chunk = source_batch.chunk
        if self.decoder is None or chunk is None:
            return list(source_batch.batch.names)
        return self.decoder.field_names(chunk, sample_bytes)

    # ------------------------------------------------------------------ reading
    def _stopped(self) -> bool:
        return self.stop_event is not None and self.stop_event.is_set()

    def _wait(self, seconds):
        if self.stop_event is not None:
            self.stop_event.wait(seconds)
        else:
            time.sleep(seconds)

    def _gathering(self, lines_held: int, since) -> bool:
        """A follower holding ``lines_held`` lines keeps reading for its batch: fewer lines than
        ``batch.size`` and ``batch.timeout`` not over since the first of them arrived."""
        if not self.batch_timeout_ms or since is None:
            return False
        if self.batch_size is not None and lines_held >= self.batch_size:
            return False
        return (self.clock() - since) * 1000 < self.batch_timeout_ms

    def _blocks(self):
        """Yields decoded _Blocks, or None when a follower has nothing new (poll waits)."""
        start = self._start
        at = [start.byte_offset, start.line, start.column, start.skip_rows, start.skip_errors]
        pending = b""
        fresh = False                # pending holds bytes the decoder has not seen
        handle = None
        seekable = False
        announced = False
        since = None                 # when the bytes held for the next batch began to arrive

        def decode(data, final):
            """The block of the whole records at the start of ``data``, or None; the rest."""
            offset, line, column, skip_rows, skip_errors = at
            state = self.decoder.state()
            result = self._decode(data, offset, line, column, final)
            used = result.consumed
            if not (used or result.batch.length or result.errors):
                return None, data
            # The decoder's own copy of the bytes it used, when it made one.
            chunk = result.block if result.block is not None and len(result.block) == used else (
                data if used == len(data) else data[:used])
            block = _Block(result, chunk, offset, line, column, state, skip_rows, skip_errors)
            at[:] = [offset + used, result.next_line, result.next_column,
                     max(skip_rows - result.batch.length, 0),
                     max(skip_errors - len(result.errors), 0)]
            return block, data[used:]

        try:
            while not self._stopped():
                if handle is None:
                    if not os.path.exists(self.path):
                        if not announced:
                            log.warning("%s does not exist yet; waiting for it (%s.path)",
                                        self.path, self.name)
                            announced = True
                        yield None
                        continue
                    handle = _open(self.endpoint, self.path, "rb")
                    seekable = handle.seekable()
                    if at[0]:
                        handle.seek(at[0])
                # A record longer than a block is read in growing blocks: scanned O(1) times.
                want = max(BLOCK_BYTES, len(pending))
                # A file read once reads the bytes it holds again with the new ones: one read
                # into one bytes object instead of a copy of the block to join them.
                held = len(pending) if pending and not self.watch and seekable else 0
                if held:
                    handle.seek(-held, os.SEEK_CUR)
                got = handle.read(want + held)
                new = len(got) - held
                # A file read once ends here: its last record is decoded with the others.
                final = new > 0 and not self.watch and new < want and self._at_end(handle)
                if new > 0:
                    self.bytes_read += new
                    since = self.clock() if since is None else since
                    pending = got if held else pending + got if pending else got
                    self.max_held = max(self.max_held, len(pending))
                    fresh = True
                    if self.watch and self._gathering(pending.count(b"\n"), since):
                        continue
                else:
                    if not self.watch:
                        break
                    if os.path.getsize(self.path) < handle.tell():
                        handle.close()            # truncated or replaced: start again
                        handle, pending, fresh, since = None, b"", False, None
                        at[:] = [0, 1, 1, 0, 0]
                        self.decoder = self._new_decoder()
                        continue
                    if not fresh or self._gathering(pending.count(b"\n"), since):
                        yield None
                        continue
                out, pending = decode(pending, final=final)
                fresh = False
                since = self.clock() if pending else None
                if out is not None:
                    out.last = final
                    if self.on_progress:
                        self.on_progress(self.bytes_read)
                    yield out
                    if self.decoder.finished:
                        return                   # the document's structure is lost (reported)
                if final:
                    return
            # Stopped while gathering: the whole records held are handed over.
            if fresh and pending:
                out, pending = decode(pending, final=False)
                if out is not None:
                    yield out
            # At the end of the file, and when a follower stops there: an unfinished last
            # record is a record too (it is complete, or its error is reported), never dropped.
            # A reader stopped before the end holds only the start of a record it has not read.
            if self._at_end(handle) and (pending.strip() or (
                    self.decoder.framing == "document" and at[0] == 0 and not self._emitted_any)):
                out, _ = decode(pending, final=True)
                if out is not None:
                    out.last = True
                    yield out
        finally:
            if handle is not None:
                handle.close()

    _emitted_any = False

    @staticmethod
    def _at_end(handle) -> bool:
        return handle is not None and handle.tell() >= os.fstat(handle.fileno()).st_size

    def _decode(self, data, offset, line, column, final):
        where = Location(self.name, self.path, line, offset, column)
        result = self.decoder.decode(data, where, final)
        self.bytes_decoded += result.consumed
        return result

    def _whole_file(self):
        """A whole-file format (Parquet): its reader's results; a position counts the rows
        delivered (``_Block.offset``: the rows before the block)."""
        reader = formats.load(self.spec.reader)(self.path, self.endpoint, self._options)
        skip = self._start.skip_rows
        before = 0
        try:
            for result in reader:
                result.consumed = 0
                yield _Block(result, None, before, None, 1, None, max(skip - before, 0), 0)
                before += result.batch.length
        finally:
            close = getattr(reader, "close", None)
            if close is not None:
                close()

    # ------------------------------------------------------------------ batches of batch.size
    def _cut(self, block: _Block) -> None:
        """Queues ``block``'s rows as SourceBatches of at most ``batch.size`` rows, each with
        the position right after its records."""
        result = block.result
        self._emitted_any = True
        n = result.batch.length
        errors = result.errors
        rows_from = min(block.skip_rows, n)
        errors_from = min(block.skip_errors, len(errors))
        size = self.batch_size or n or 1
        bounds = list(range(rows_from, n, size)) or [rows_from]
        lines = result.batch.meta.get("_line")
        error_lines = [e.line for e in errors]
        framing = self.decoder.framing if self.decoder is not None else "whole"
        starts = None
        end_position = self._end_position(block)
        for i, first in enumerate(bounds):
            last = i + 1 == len(bounds)
            stop = n if last else bounds[i + 1]
            boundary = None if last else lines.get(stop) if lines is not None else None
            e_stop = len(errors) if last or boundary is None else max(
                bisect.bisect_left(error_lines, boundary), errors_from)
            if first == 0 and stop == n:
                batch = result.batch
            else:
                batch = result.batch.slice_rows(first, stop)
            chunk, chunk_line, chunk_offset, record_lines = block.chunk, block.line, block.offset, None
            if last:
                position = end_position
            elif framing == "lines":
                if starts is None:
                    starts = line_starts(block.chunk)
                k = boundary - block.line
                position = FilePosition(block.offset + starts[k], boundary, 1, self.decoder.state())
            elif framing == "whole":
                position = FilePosition(0, 1, 1, None, block.offset + stop, 0)
            else:
                position = FilePosition(block.offset, block.line, block.column, block.state,
                                        stop, e_stop)
            if framing == "lines" and len(bounds) > 1:
                if starts is None:
                    starts = line_starts(block.chunk)
                begin_line = block.line if i == 0 else lines.get(first)
                a = starts[begin_line - block.line]
                b = len(block.chunk) if last else starts[boundary - block.line]
                chunk, chunk_line, chunk_offset = block.chunk[a:b], begin_line, block.offset + a
            elif framing != "lines" and (len(bounds) > 1 or rows_from or block.skip_errors):
                # The block holds records of other batches: raw_of must see them all.
                record_lines = _record_lines(result)
            self._ready.append(self._with_meta(SourceBatch(
                batch, errors[errors_from:e_stop], position, self.name, self.path, chunk,
                chunk_line, chunk_offset, record_lines, framing)))
            errors_from = e_stop

    def _end_position(self, block: _Block) -> FilePosition:
        if self.decoder is None:          # whole-file: rows delivered so far
            return FilePosition(0, 1, 1, None, block.offset + block.result.batch.length, 0)
        result = block.result
        return FilePosition(block.offset + len(block.chunk), result.next_line or block.line,
                            result.next_column, self.decoder.state())

    def _with_meta(self, source_batch: SourceBatch) -> SourceBatch:
        """Adds the file's pseudo-columns: _offset (the line), _partition 0, _timestamp (now)."""
        from velostream._core import batch as B

        batch = source_batch.batch
        n = batch.length
        lines = batch.meta.get("_line")
        if lines is not None:
            batch.meta.setdefault("_offset", lines)
        now = int(time.time() * 1000)
        if "_partition" not in batch.meta:
            batch.meta["_partition"] = B.constant_int64_column(0, n)
        if "_timestamp" not in batch.meta:
            batch.meta["_timestamp"] = B.constant_int64_column(now, n, timestamp=True)
        return source_batch


def _record_lines(result):
    """The start lines of all of a block's records, for raw_of of a batch cut from it."""
    def lines():
        rows = result.batch.meta.get("_line")
        return [*(rows.to_pylist() if rows is not None else ()), *(e.line for e in result.errors)]
    return lines


class FileSink(Sink):
    """Writes batches to ``path`` in any writable format of the registry: the endpoint's
    ``format`` (a file sink's ``json`` is JSON Lines, so the file can be appended to and
    followed), else the path's extension, else JSON Lines; ``SinkContext.format_override`` (the
    CLI's ``--output-file --format``) names an output format itself (``json``: one array).
    Exactly once with checkpoints: see ``commit`` and ``SinkContext.resume_length``."""

    exactly_once = True

    def __init__(self, endpoint, context=None, *, format_override=None):
        from velostream.connectors.base import SinkContext

        if not isinstance(context, SinkContext):
            context = SinkContext(format_override=format_override)
        self.endpoint = endpoint
        self.name = endpoint.name
        self.path = _path(endpoint)
        key = f"{endpoint.name}.format"
        if context.format_override:
            spec = formats.get(context.format_override, key, role="encoder")
        else:
            spec = formats.for_endpoint(endpoint, role="encoder", default="json-lines")
            if spec.sink_as:
                spec = formats.get(spec.sink_as, key, role="encoder")
        if spec.terminal_only:
            raise ConfigError(f"{spec.name} is for a terminal; a file takes "
                              f"{', '.join(formats.names(output=True, terminal_only=False))}",
                              key=key)
        self.format = spec.name
        self.records = 0
        self.writer = None
        self._ended = False
        self._synced_dir = False
        if spec.writer:             # a whole-file format (Parquet) owns its file
            self.encoder = self.handle = None
            self.exactly_once = False
            self.checkpoint_refusal = ConfigError(
                f"a {spec.name} file is whole only once closed, so a job with checkpoints "
                "cannot cut it back on a restart; write json-lines or csv, or run without "
                "'state.dir'", key=key)
            self.writer = formats.make_writer(spec, self.path, endpoint)
            return
        key = context.path_key or f"{endpoint.name}.path"
        resume = context.resume_length
        if resume is not None:
            self.handle = self._reopen(resume, key)         # closed in close()
            had_data = resume > 0
        else:
            append = endpoint.flag("append")
            had_data = append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
            self.handle = open_file(self.path, "ab" if append else "wb", key)
        self.encoder = formats.make_encoder(spec, endpoint,
                                            formats.EncoderOptions(appending=had_data))
        if resume is None or not had_data:
            self.handle.write(self.encoder.begin())

    def _reopen(self, length: int, key: str):
        """The file a checkpoint committed ``length`` bytes of, cut back to them."""
        size = os.path.getsize(self.path) if os.path.isfile(self.path) else None
        if size is None or size < length:
            found = "is missing" if size is None else f"has {size} bytes"
            raise ConfigError(f"{self.path} {found}, but the job's checkpoint committed "
                              f"{length} bytes of it: it was changed outside the job; run "
                              "with --reset-state to start over", key=key)
        handle = open_file(self.path, "r+b", key)
        handle.truncate(length)
        handle.seek(length)
        return handle

    def write(self, batch) -> None:
        if batch is None or batch.length == 0:
            return
        if self.writer is not None:
            self.writer.write(batch)
        else:
            self.handle.write(self.encoder.encode(batch))
        self.records += batch.length

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            return
        self.handle.write(self.encoder.flush())
        self.handle.flush()

    def commit(self, final: bool = False) -> int:
        """Flush and fsync; the length of the output that is durable now (a checkpoint records
        it). ``final``: the output ends here, with its end marker (a JSON array's ``]``)."""
        if final and not self._ended:
            self.handle.write(self.encoder.end())
            self._ended = True
        self.flush()
        fileno = self.handle.fileno()
        if not stat.S_ISREG(os.fstat(fileno).st_mode):
            raise ConfigError(f"{self.path} is not a regular file, so the job's checkpoints "
                              "cannot cut it back on a restart; write to a file, or run "
                              "without 'state.dir'", key=f"{self.name}.path")
        os.fsync(fileno)
        if not self._synced_dir:
            # A new file's directory entry must be durable too.
            _fsync_directory(os.path.dirname(os.path.abspath(self.path)))
            self._synced_dir = True
        return self.handle.tell()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            return
        if not self.handle.closed:
            try:
                if not self._ended:
                    self.handle.write(self.encoder.end())
                self.handle.flush()
            finally:
                self.handle.close()


def _fsync_directory(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return                        # not openable (a platform without directory fds)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
