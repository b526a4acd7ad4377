"""File source and sink: CSV, JSON (an array or one object per line) and JSON Lines.

Owns reading a file in blocks of whole records (so memory stays bounded and line numbers stay
right), following a growing file (``watch``: tail, as ``velo-sql stream --continuous`` needs),
and writing encoded batches (``append`` or truncate). Decoding and encoding themselves are the
codecs' (velostream.formats), and so is where a record ends: a block is cut at its last line
feed and the CSV decoder hands back the record still open there (``remainder``, a quoted field
spanning the cut), which starts the next block. A last line without a line feed is a record
too, decoded at the end of the file or when a follower stops.
"""

from __future__ import annotations

import logging
import os
import time

from velostream.errors import ConfigError

log = logging.getLogger("velostream.file")

BLOCK_BYTES = 1 << 20
FORMATS = {"csv": "csv", "json": "json", "jsonl": "jsonl", "jsonlines": "jsonl", "ndjson": "jsonl",
           "json-lines": "jsonl"}
_BY_EXTENSION = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
WATCH_POLL_SECONDS = 0.1


def file_format(endpoint) -> str:
    raw = endpoint.get("format")
    if raw is None:
        ext = os.path.splitext(str(endpoint.get("path", "")))[1].lower()
        if ext in _BY_EXTENSION:
            return _BY_EXTENSION[ext]
        raise ConfigError("cannot tell the format from the file name; set it to csv, json or jsonl",
                          key=f"{endpoint.name}.format")
    fmt = FORMATS.get(str(raw).strip().lower())
    if fmt is None:
        raise ConfigError(f"must be one of csv, json, jsonl; got {raw!r}", key=f"{endpoint.name}.format")
    return fmt


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


def csv_max_record_bytes(endpoint) -> int:
    """``'<name>.csv.max_record_bytes'``: how far a quoted field may run (default 1 MiB)."""

    return endpoint.setting("csv.max_record_bytes")


def csv_delimiter(endpoint) -> str:
    """``'<name>.delimiter'``: one single-byte character; ``\\t`` or ``tab`` for a tab."""
    delimiter = str(endpoint.get("delimiter", ","))
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    if len(delimiter.encode("utf-8")) != 1 or delimiter in ('"', "\r", "\n"):
        raise ConfigError(f"must be one single-byte character other than a quote or a line "
                          f"break; got {delimiter!r}", key=f"{endpoint.name}.delimiter")
    return delimiter


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


class FileSource:
    """Reads ``path`` in blocks of whole lines and yields DecodeResults with pseudo-columns."""

    def __init__(self, endpoint, plan, *, fields=None, watch=None, stop_event=None,
                 on_progress=None):
        self.endpoint = endpoint
        self.name = endpoint.name
        self.path = _path(endpoint)
        self.format = file_format(endpoint)
        self.watch = endpoint.flag("watch") if watch is None else watch
        self.stop_event = stop_event
        self.on_progress = on_progress
        if not os.path.exists(self.path) and not self.watch:
            raise ConfigError(f"file not found: {self.path}", key=f"{self.name}.path")
        financial = plan.flag("financial_precision", True)
        declared = _declared_types(endpoint) or None
        from velostream.formats import CsvDecoder, JsonDecoder

        if self.format == "csv":
            self.decoder = CsvDecoder(delimiter=csv_delimiter(endpoint),
                                      has_headers=endpoint.flag("has_headers", True),
                                      fields=fields, financial_precision=financial, declared=declared,
                                      max_record_bytes=csv_max_record_bytes(endpoint))
        else:
            self.decoder = JsonDecoder(fields=fields, financial_precision=financial,
                                       declared=declared)
        self.bytes_read = 0
        self.bytes_decoded = 0      # bytes handed to the decoder: each byte about once
        self.max_held = 0           # most bytes of a JSON document held at once
        self.size = os.path.getsize(self.path) if os.path.exists(self.path) else 0

    # ------------------------------------------------------------------ reading
    def _stopped(self) -> bool:
        return self.stop_event is not None and self.stop_event.is_set()

    def batches(self):
        """Yields DecodeResult per block of whole records until EOF (or stop, when watching)."""
        if self.format == "json" and not self.watch:
            yield from self._document_batches()
            return
        header = None
        line = 1
        pending = b""
        handle = None
        announced = False
        try:
            while not self._stopped():
                if handle is None:
                    if not os.path.exists(self.path):
                        if not announced:
                            log.warning("%s does not exist yet; waiting for it (%s.path)",
                                        self.path, self.name)
                            announced = True
                        self._wait()
                        continue
                    handle = _open(self.endpoint, self.path, "rb")
                # A record longer than a block is read in growing blocks: scanned O(1) times.
                block = handle.read(max(BLOCK_BYTES, len(pending)))
                if not block:
                    if not self.watch:
                        break
                    if os.path.getsize(self.path) < handle.tell():
                        handle.close()            # truncated or replaced: start again
                        handle, pending, line, header = None, b"", 1, None
                        continue
                    self._wait()
                    continue
                self.bytes_read += len(block)
                data = pending + block
                cut = data.rfind(b"\n")
                if cut < 0:
                    pending = data
                    continue
                chunk, pending = data[:cut + 1], data[cut + 1:]
                result, header = self._decode(chunk, line, header, final=False)
                carried = self.decoder.remainder if self.format == "csv" else b""
                if carried:
                    # The decoder stopped inside a quoted field: it starts the next block.
                    line = self.decoder.remainder_line
                    pending = carried + pending
                else:
                    line += chunk.count(b"\n")
                if self.on_progress:
                    self.on_progress(self.bytes_read)
                yield self._with_meta(result)
            # At the end of the file, and when a follower stops there: an unfinished last line
            # is a record too (it is complete, or its error is reported), never dropped. A
            # reader stopped before the end holds only the start of a line it has not read.
            if pending.strip() and self._at_end(handle):
                result, header = self._decode(pending, line, header, final=True)
                yield self._with_meta(result)
        finally:
            if handle is not None:
                handle.close()

    @staticmethod
    def _at_end(handle) -> bool:
        return handle is not None and handle.tell() >= os.fstat(handle.fileno()).st_size

    def _document_batches(self):
        """A JSON document (an array, or objects one after another) in blocks cut between
        elements, so memory stays bounded by the block and the largest element."""
        from velostream.formats.json import JsonSplitter

        splitter = JsonSplitter()
        pieces, held = [], 0             # bytes read after the last cut
        line, column, in_array, decoded = 1, 1, False, False
        with _open(self.endpoint, self.path, "rb") as handle:
            while not self._stopped():
                block = handle.read(BLOCK_BYTES)
                if not block:
                    break
                self.bytes_read += len(block)
                cut = splitter.feed(block)
                if cut < 0:
                    pieces.append(block)
                    held += len(block)
                    self.max_held = max(self.max_held, held)
                    continue
                pieces.append(block[:cut])
                chunk = b"".join(pieces)
                self.max_held = max(self.max_held, len(chunk))
                pieces, held = [block[cut:]], len(block) - cut
                result = self._decode_document(chunk, line, column, in_array)
                line, column, in_array = splitter.line, splitter.column, splitter.in_array
                decoded = True
                if self.on_progress:
                    self.on_progress(self.bytes_read)
                yield self._with_meta(result)
                if self.decoder.document_lost:
                    return                   # the array's structure is lost (reported)
            rest = b"".join(pieces)
            # Stopped before the end: the tail is the start of an element not read yet.
            if (rest.strip() or not decoded) and self._at_end(handle):
                yield self._with_meta(self._decode_document(rest, line, column, in_array))

    def _decode_document(self, chunk, line, column, in_array):
        self.bytes_decoded += len(chunk)
        result = self.decoder.decode_document(chunk, first_line=line, first_column=column,
                                              in_array=in_array)
        result.block, result.first_line = chunk, line
        return result

    def _wait(self):
        if self.stop_event is not None:
            self.stop_event.wait(WATCH_POLL_SECONDS)
        else:
            time.sleep(WATCH_POLL_SECONDS)

    def _decode(self, chunk: bytes, line: int, header, final: bool):
        self.bytes_decoded += len(chunk)
        if self.format == "csv":
            result = self.decoder.decode(chunk, first_line=line, header=header, final=final)
            header = self.decoder.header
            # A record still open in a quoted field is carried into the next block: it is not
            # part of this block's records.
            carried = len(self.decoder.remainder) if not final else 0
            block = chunk[:len(chunk) - carried] if carried else chunk
        else:
            result = self.decoder.decode_lines(chunk, first_line=line)
            block = chunk
        # Kept (not copied) so a row that fails later can be dead-lettered with its raw record.
        result.block, result.first_line = block, line
        return result, header

    def field_names(self, result, sample_bytes: int = 1 << 16) -> list[str]:
        """Every field name the records of ``result``'s block have (CSV: the header; JSON: the
        keys of the records in its first ``sample_bytes``), whatever the query reads. For
        diagnostics only (a column the query names that no record has): it decodes again."""
        if self.format == "csv":
            return list(self.decoder.header or ())
        block = result.block or b""
        from velostream.formats import JsonDecoder

        decoder = JsonDecoder(financial_precision=False)
        if self.format == "json" and not self.watch:
            return list(decoder.decode_document(block).batch.names)
        cut = block.rfind(b"\n", 0, sample_bytes)
        return list(decoder.decode_lines(block[:cut + 1] if cut >= 0 else block).batch.names)

    def _with_meta(self, result):
        """Adds the file's pseudo-columns: _offset (the line), _partition 0, _timestamp (now)."""
        from velostream._core import batch as B

        batch = result.batch
        n = batch.length
        lines = batch.meta.get("_line")
        if lines is not None:
            batch.meta.setdefault("_offset", lines)
        now = int(time.time() * 1000)
        batch.meta.setdefault("_partition", B.int64_column([0] * n))
        batch.meta.setdefault("_timestamp", B.int64_column([now] * n, timestamp=True))
        return result


class FileSink:
    """Writes batches to ``path`` as JSON Lines (formats json and jsonl) or CSV."""

    def __init__(self, endpoint, plan, *, format_override=None):
        from velostream.formats import CsvEncoder, JsonEncoder

        self.endpoint = endpoint
        self.name = endpoint.name
        self.path = _path(endpoint)
        self.format = FORMATS.get(format_override, format_override) if format_override else (
            file_format(endpoint) if endpoint.get("format") or os.path.splitext(self.path)[1] else "jsonl")
        append = endpoint.flag("append")
        had_data = append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        self.handle = _open(endpoint, self.path, "ab" if append else "wb")  # closed in close()
        numbers = endpoint.flag("decimals_as_numbers")
        if self.format == "csv":
            self.encoder = CsvEncoder(delimiter=csv_delimiter(endpoint), header=endpoint.flag("has_headers", True))
            self._header_pending = not had_data
        else:
            # A sink that keeps appending cannot close a JSON array, so "json" writes one object
            # per line too (JSON Lines), which every JSON reader of streams accepts.
            self.encoder = JsonEncoder(decimals_as_numbers=numbers)
        self.records = 0

    def write(self, batch) -> None:
        if batch is None or batch.length == 0:
            return
        if self.format == "csv":
            data = self.encoder.encode(batch, write_header=self._header_pending)
            self._header_pending = False
        else:
            data = self.encoder.encode_lines(batch)
        self.handle.write(data)
        self.records += batch.length

    def flush(self) -> None:
        self.handle.flush()

    def close(self) -> None:
        if not self.handle.closed:
            self.handle.flush()
            self.handle.close()
