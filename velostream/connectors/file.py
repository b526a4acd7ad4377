"""File source and sink: CSV, JSON (an array or one object per line) and JSON Lines.

Owns reading a file in blocks of whole records (so memory stays bounded and line numbers stay
right), following a growing file (``watch``: tail, as ``velo-sql stream --continuous`` needs),
and writing encoded batches (``append`` or truncate). Decoding and encoding themselves are the
codecs' (velostream.formats).
"""

from __future__ import annotations

import os
import time

from velostream.errors import ConfigError

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
    return str(path)


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
                                      fields=fields, financial_precision=financial, declared=declared)
        else:
            self.decoder = JsonDecoder(fields=fields, financial_precision=financial,
                                       declared=declared)
        self.bytes_read = 0
        self.size = os.path.getsize(self.path) if os.path.exists(self.path) else 0

    # ------------------------------------------------------------------ reading
    def _stopped(self) -> bool:
        return self.stop_event is not None and self.stop_event.is_set()

    def batches(self):
        """Yields DecodeResult per block of whole records until EOF (or stop, when watching)."""
        if self.format == "json" and not self.watch:
            with open(self.path, "rb") as handle:
                data = handle.read()
            self.bytes_read = len(data)
            result = self.decoder.decode_document(data)
            result.block = data
            yield self._with_meta(result)
            return
        header = None
        line = 1
        pending = b""
        handle = None
        try:
            while not self._stopped():
                if handle is None:
                    if not os.path.exists(self.path):
                        self._wait()
                        continue
                    handle = open(self.path, "rb")  # noqa: SIM115 - closed in finally
                block = handle.read(BLOCK_BYTES)
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
                cut = self._cut(data)
                if cut < 0:
                    pending = data
                    continue
                chunk, pending = data[:cut + 1], data[cut + 1:]
                result, header = self._decode(chunk, line, header)
                line += chunk.count(b"\n")
                if self.on_progress:
                    self.on_progress(self.bytes_read)
                yield self._with_meta(result)
            if pending.strip() and not self._stopped():
                result, header = self._decode(pending, line, header)
                yield self._with_meta(result)
        finally:
            if handle is not None:
                handle.close()

    def _wait(self):
        if self.stop_event is not None:
            self.stop_event.wait(WATCH_POLL_SECONDS)
        else:
            time.sleep(WATCH_POLL_SECONDS)

    def _cut(self, data: bytes) -> int:
        """Index of the last newline that ends a whole record (-1: none yet)."""
        cut = data.rfind(b"\n")
        if self.format != "csv":
            return cut
        # A quoted CSV field may hold newlines: cut only where the quotes before are balanced.
        while cut >= 0 and data.count(b'"', 0, cut) % 2:
            cut = data.rfind(b"\n", 0, cut)
        return cut

    def _decode(self, chunk: bytes, line: int, header):
        if self.format == "csv":
            result = self.decoder.decode(chunk, first_line=line, header=header)
            header = self.decoder.header
        else:
            result = self.decoder.decode_lines(chunk, first_line=line)
        # Kept (not copied) so a row that fails later can be dead-lettered with its raw record.
        result.block, result.first_line = chunk, line
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
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        had_data = append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        self.handle = open(self.path, "ab" if append else "wb")  # noqa: SIM115 - closed in close()
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
