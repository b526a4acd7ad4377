"""CSV codec (RFC 4180): bytes <-> ``RecordBatch`` with typed columns.

Decoding (``velostream._core.csvcodec``, one pass over the bytes, no Python object per field):

- The first record is the header when ``has_headers`` and no ``header`` is passed; after a call,
  ``decoder.header`` holds the header so a streaming reader can pass it with later chunks.
  Without a header, ``names`` (or ``column0``, ``column1``, …) name the columns.
- Quoted fields may hold the delimiter, ``""`` (a quote) and line breaks; a quoted line break
  continues the record, and line numbers count physical lines (``batch.meta["_line"]`` is the
  line where each record starts). ``\\r\\n`` and ``\\n`` both end records; blank lines are skipped.
- An empty unquoted field is NULL; ``""`` is the empty string.
- Field texts are typed by the JSON text rules of DIALECT §3, quoted or not: a strict JSON
  integer → BIGINT, a number with a fraction → DECIMAL exactly from the text (DOUBLE without
  ``financial_precision``), an exponent → DOUBLE, ``true``/``false`` (any case) → BOOLEAN,
  anything else → STRING (so ``007`` and ``+5`` stay strings). A column whose texts disagree
  (numbers and words, booleans and numbers) becomes a STRING column of the original texts;
  decimals mixed with exponent forms are all read exactly as DECIMAL, each at the scale of its
  text (wide past an int64 mantissa); integers beyond 64 bits → an OBJECT column of exact ints. ``declared`` forces a type as for JSON.
- A record with the wrong number of fields, an unterminated quote, a character after a
  closing quote or a field that is not UTF-8 is a ``RecordError`` (line, column, bytes); the
  other records still decode. A quote may stay open for at most ``max_record_bytes`` (default
  1 MiB) from the start of its record: past that (or at the end of the input) only that record
  fails, and decoding resumes at the line after the opening quote. A quote inside an unquoted
  field (``12" pizza``) is an ordinary character.
- With ``final=False``, a last record whose quote is still open (a chunk boundary inside a
  quoted field) is left in ``decoder.remainder`` (starting at ``decoder.remainder_line``) to be
  prepended to the next chunk: this is where a streaming reader cuts its blocks, so the reader
  and the decoder always agree on where records end.

Encoding: a header row of names, then one line per row ending in ``\\n``: DECIMAL as plain text
with the value's own scale, DOUBLE as repr, BOOLEAN ``true``/``false``, TIMESTAMP ISO-8601 UTC, NULL as an
empty field, the empty string as ``""``; fields holding the delimiter, a quote, CR or LF are
quoted with quotes doubled. OBJECT cells: nested values as compact JSON, others as ``str``.
"""

from __future__ import annotations

from velostream._core.csvcodec import MAX_RECORD_BYTES, CsvScanner, CsvWriter
from velostream.formats.errors import DecodeResult, as_bytes, make_result, nothing_decoded

__all__ = ["MAX_RECORD_BYTES", "CsvDecoder", "CsvEncoder"]


class CsvDecoder:
    """Decodes CSV into a ``RecordBatch`` (see the module docstring).

    ``fields``: the columns to decode (case-insensitive, output order); others are skipped.
    """

    def __init__(self, delimiter=",", has_headers=True, fields=None, financial_precision=True,
                 declared=None, names=None, max_record_bytes=MAX_RECORD_BYTES):
        self.delimiter = delimiter
        self.has_headers = bool(has_headers)
        self.fields = None if fields is None else list(fields)
        self.financial_precision = bool(financial_precision)
        self.declared = dict(declared or {})
        self.names = None if names is None else list(names)
        self._scanner = CsvScanner(delimiter, self.has_headers, self.fields,
                                   self.financial_precision, self.declared, self.names,
                                   max_record_bytes)

    @property
    def header(self) -> list[str] | None:
        """The header (or column names) of the last ``decode``."""
        return self._scanner.header

    @property
    def remainder(self) -> bytes:
        """With ``final=False``: the unfinished last record, to prepend to the next chunk."""
        return self._scanner.remainder

    @property
    def remainder_line(self) -> int:
        return self._scanner.remainder_line

    def decode(self, data: bytes, first_line: int = 1, header: list[str] | None = None,
               final: bool = True) -> DecodeResult:
        """Whole lines of CSV. ``first_line``: line number of ``data``'s first line."""
        return make_result(*self._scanner.decode(as_bytes(data), first_line, header, final))


class CsvEncoder:
    """Encodes a ``RecordBatch`` as CSV (see the module docstring)."""

    def __init__(self, delimiter=",", header=True):
        self.delimiter = delimiter
        self.header = bool(header)
        self._writer = CsvWriter(delimiter)

    def encode(self, batch, write_header: bool | None = None) -> bytes:
        """The rows, preceded by the header row when ``write_header`` (default: ``header``)."""
        return self._writer.encode(batch, self.header if write_header is None else write_header)


# ------------------------------------------------------------------ settings of a CSV endpoint

def csv_max_record_bytes(endpoint) -> int:
    """``'<name>.csv.max_record_bytes'``: how far a quoted field may run (default 1 MiB)."""
    return endpoint.integer("csv.max_record_bytes", MAX_RECORD_BYTES, 1)


def csv_delimiter(endpoint) -> str:
    """``'<name>.delimiter'``: one single-byte character; ``\\t`` or ``tab`` for a tab."""
    from velostream.errors import ConfigError

    delimiter = str(endpoint.get("delimiter", ","))
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    if len(delimiter.encode("utf-8")) != 1 or delimiter in ('"', "\r", "\n"):
        raise ConfigError(f"must be one single-byte character other than a quote or a line "
                          f"break; got {delimiter!r}", key=f"{endpoint.name}.delimiter")
    return delimiter


# ------------------------------------------------------------------ registry codecs (formats.registry)

class CsvRecords:
    """The registry's CSV decoder: records end at a line feed outside quotes; a record whose
    quote is still open at the end of ``chunk`` is left unconsumed (it starts the next chunk).
    Resumable anywhere a record starts: ``state()`` is the header."""

    framing = "lines"
    finished = False

    def __init__(self, **kwargs):
        self.decoder = CsvDecoder(**kwargs)
        self.header = None

    def state(self):
        return None if self.header is None else tuple(self.header)

    def restore(self, state) -> None:
        self.header = None if state is None else list(state)

    def decode(self, chunk, location, final: bool) -> DecodeResult:
        from velostream.formats.errors import locate_errors

        n = len(chunk)
        end = n if final else chunk.rfind(b"\n") + 1
        first = location.line or 1
        if not end:
            return nothing_decoded(first)
        piece = chunk if end == n else chunk[:end]
        result = self.decoder.decode(piece, first, self.header, final)
        self.header = self.decoder.header
        carried = 0 if final else len(self.decoder.remainder)
        result.consumed = end - carried
        if not carried:
            result.block, result.first_line = piece, first
        result.next_line = (self.decoder.remainder_line if carried else
                            first + chunk.count(b"\n", 0, end))
        locate_errors(result.errors, piece, location)
        return result

    def field_names(self, chunk, sample_bytes: int = 1 << 16) -> list[str]:
        return list(self.header or ())



def record_decoder(endpoint, options):
    return CsvRecords(delimiter=csv_delimiter(endpoint),
                      has_headers=endpoint.flag("has_headers", True), fields=options.fields,
                      financial_precision=options.financial_precision, declared=options.declared,
                      max_record_bytes=csv_max_record_bytes(endpoint))


class CsvStream:
    """The registry's CSV encoder: the header before the first rows (unless appending to data
    or ``has_headers`` is false), then the rows."""

    def __init__(self, delimiter=",", header=True):
        self.encoder = CsvEncoder(delimiter=delimiter, header=header)
        self._header_pending = bool(header)

    def begin(self) -> bytes:
        return b""

    def encode(self, batch) -> bytes:
        data = self.encoder.encode(batch, write_header=self._header_pending)
        self._header_pending = False
        return data

    def flush(self) -> bytes:
        return b""

    def end(self) -> bytes:
        return b""


def stream_encoder(endpoint, options):
    return CsvStream(csv_delimiter(endpoint),
                     endpoint.flag("has_headers", True) and not options.appending)
