"""The format registry: every data format once, by name, aliases and file extensions.

Owns which formats exist and how a connector gets a decoder or an encoder for one. A format
registers a ``FormatSpec``; its codec classes are named as ``"module:attribute"`` strings so that
importing this registry imports no codec until one is used (a Parquet format need not import
pyarrow to be listed).

Decoder protocol (one per reader; it may keep state between calls)::

    decode(chunk: bytes, location: Location, final: bool) -> DecodeResult
        # decodes the whole records at the start of ``chunk`` (``location``: where ``chunk``
        # starts — line, column, byte offset). ``result.consumed`` bytes were used; the caller
        # passes ``chunk[consumed:]`` again at the start of the next chunk. ``final``: nothing
        # follows, the rest is a record too (or its error). ``result.next_line``/``next_column``
        # are where the rest starts; ``RecordError.location`` is set for every failure.
    state() / restore(state)   # what a resumed read needs besides the byte offset (the CSV
                               # header, whether a JSON document is inside its array)
    finished: bool             # the input cannot be decoded further (reported as a failure)
    field_names(chunk) -> list[str]   # every field the records of ``chunk`` have (diagnostics)

``framing`` says how a file source reads a format: ``"lines"`` (records end at a line feed,
except where the decoder says — a quoted CSV field), ``"document"`` (one JSON document cut
between elements). A whole-file format (Parquet) instead gives ``reader``: ``"module:factory"``
with ``factory(path, endpoint, options) -> iterator of DecodeResult`` (rows in file order; a
resumed read skips the rows already delivered). Such a format writes through ``writer``:
``"module:factory"`` with ``factory(path, endpoint, EncoderOptions)`` → an object with
``write(batch)``, ``flush()`` and ``close()`` that owns the file.

Encoder protocol (one per sink)::

    begin() -> bytes          # before the first row (a JSON array's ``[``)
    encode(batch) -> bytes    # the rows, with the separator from the previous rows and the
                              # CSV header before the first
    flush() -> bytes          # what a buffering encoder (the terminal table) holds
    end() -> bytes            # after the last row (``]``)
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field

from velostream.errors import ConfigError


@dataclass(frozen=True)
class DecoderOptions:
    """What every decoder is told: the fields to decode (None: all), DECIMAL exactness, the
    declared types (``'<source>.schema.<field>'``)."""

    fields: list | None = None
    financial_precision: bool = True
    declared: dict | None = None


@dataclass(frozen=True)
class EncoderOptions:
    """``appending``: the output already holds data (no CSV header again). ``width``/``terminal``:
    the terminal a rendering encoder (``table``) writes to."""

    appending: bool = False
    width: int | None = None
    terminal: bool = False


@dataclass(frozen=True)
class FormatSpec:
    name: str
    aliases: tuple = ()
    extensions: tuple = ()
    decoder: str | None = None
    """``"module:factory"``, ``factory(endpoint, DecoderOptions)``; None: not readable."""
    encoder: str | None = None
    """``"module:factory"``, ``factory(endpoint, EncoderOptions)``; None: not writable."""
    framing: str = "lines"
    follow_as: str | None = None
    """The format a follower (a growing file) reads instead (a JSON document grows as lines)."""
    sink_as: str | None = None
    """The format a file sink named by this format writes (``json`` files are appended to, so
    they hold JSON Lines); an ``--output-file`` writes this format itself."""
    reader: str | None = None
    """A whole-file format's reader, ``"module:factory"`` (see the module docstring)."""
    writer: str | None = None
    """A whole-file format's writer, ``"module:factory"`` (see the module docstring)."""
    output: bool = False
    """Offered by the CLI's ``--format``."""
    terminal_only: bool = False
    """Only for a terminal (``table``): not written to files."""
    doc: str = ""


_FORMATS: dict[str, FormatSpec] = {}
_NAMES: dict[str, str] = {}          # name or alias (normalised) → name
_EXTENSIONS: dict[str, str] = {}     # ".csv" → name


def _norm(name: str) -> str:
    return str(name).strip().lower().replace("_", "-")


def register_format(spec: FormatSpec) -> FormatSpec:
    for key in (spec.name, *spec.aliases):
        owner = _NAMES.get(_norm(key))
        if owner is not None and owner != spec.name:
            raise ValueError(f"format name {key!r} is already {owner!r}'s")
    _FORMATS[spec.name] = spec
    for key in (spec.name, *spec.aliases):
        _NAMES[_norm(key)] = spec.name
    for ext in spec.extensions:
        _EXTENSIONS[ext.lower()] = spec.name
    return spec


def names(**having) -> list[str]:
    """Registered format names, in registration order, with the given attributes set
    (``names(output=True)``: the CLI's output formats)."""
    return [s.name for s in _FORMATS.values()
            if all(bool(getattr(s, k)) == bool(v) for k, v in having.items())]


def find(name) -> FormatSpec | None:
    found = _NAMES.get(_norm(name)) if name is not None else None
    return _FORMATS.get(found) if found else None


def _plays(spec: FormatSpec, role: str | None) -> bool:
    """Whether ``spec`` can decode (``"decoder"``: a decoder or a whole-file reader) or encode
    (``"encoder"``: an encoder or a whole-file writer)."""
    if role is None:
        return True
    whole = spec.reader if role == "decoder" else spec.writer if role == "encoder" else None
    return bool(getattr(spec, role) or whole)


def get(name, key: str, *, role: str | None = None) -> FormatSpec:
    """The format ``name`` (or an alias); a ConfigError naming ``key`` when it is unknown or
    cannot play ``role`` (``"decoder"``/``"encoder"``)."""
    spec = find(name)
    if spec is not None and _plays(spec, role):
        return spec
    usable = [n for n in names() if _plays(_FORMATS[n], role)]
    raise ConfigError(f"must be one of {', '.join(usable)}; got {name!r}", key=key)


def by_extension(path) -> FormatSpec | None:
    return _FORMATS.get(_EXTENSIONS.get(os.path.splitext(str(path))[1].lower(), ""))


def for_endpoint(endpoint, *, role: str, default: str | None = None) -> FormatSpec:
    """The format of a file endpoint: its ``format`` setting, else its path's extension, else
    ``default``."""
    raw = endpoint.get("format")
    key = f"{endpoint.name}.format"
    if raw is not None:
        return get(raw, key, role=role)
    spec = by_extension(endpoint.get("path", ""))
    if spec is not None and _plays(spec, role):
        return spec
    if default is not None:
        return get(default, key, role=role)
    usable = [n for n in names() if _plays(_FORMATS[n], role)]
    raise ConfigError(f"cannot tell the format from the file name; set it to "
                      f"{', '.join(usable)}", key=key)


def load(target: str):
    """``"module:attribute"`` → the attribute (imported on first use)."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def make_decoder(spec: FormatSpec, endpoint, options: DecoderOptions):
    return load(spec.decoder)(endpoint, options)


def make_encoder(spec: FormatSpec, endpoint, options: EncoderOptions | None = None):
    return load(spec.encoder)(endpoint, options or EncoderOptions())


def make_writer(spec: FormatSpec, path: str, endpoint, options: EncoderOptions | None = None):
    return load(spec.writer)(path, endpoint, options or EncoderOptions())


@dataclass
class Endpointless:
    """Settings for a codec used without an endpoint (the CLI's output, tests): ``get``,
    ``flag`` and ``integer`` as ``plan.bind.EndpointConfig`` has them."""

    name: str = "output"
    properties: dict = field(default_factory=dict)

    def get(self, key, default=None):
        return self.properties.get(key, default)

    def flag(self, key, default=False):
        from velostream.errors import ConfigError
        from velostream.plan.settings import parse_boolean

        raw = self.properties.get(key)
        if raw is None:
            return default
        value = parse_boolean(raw)
        if value is None:
            raise ConfigError(f"must be true or false; got {raw!r}", key=f"{self.name}.{key}")
        return value

    def integer(self, key, default, minimum=0):
        from velostream.errors import ConfigError
        from velostream.plan.settings import integer_problem, parse_integer

        raw = self.properties.get(key)
        if raw is None:
            return default
        value = parse_integer(raw, minimum)
        if value is None:
            raise ConfigError(integer_problem(raw, minimum), key=f"{self.name}.{key}")
        return value


# --------------------------------------------------------------------------- the formats

register_format(FormatSpec(
    "json-lines", aliases=("jsonl", "jsonlines", "ndjson"), extensions=(".jsonl", ".ndjson"),
    decoder="velostream.formats.json:lines_decoder", encoder="velostream.formats.json:lines_encoder",
    output=True, doc="one JSON object per line"))
register_format(FormatSpec(
    "json", extensions=(".json",), framing="document", follow_as="json-lines",
    sink_as="json-lines", decoder="velostream.formats.json:document_decoder",
    encoder="velostream.formats.json:array_encoder", output=True,
    doc="a JSON array of objects (or objects one after another)"))
register_format(FormatSpec(
    "json-pretty", encoder="velostream.formats.json:pretty_array_encoder", output=True,
    doc="a JSON array of indented objects"))
register_format(FormatSpec(
    "csv", extensions=(".csv",), decoder="velostream.formats.csv:record_decoder",
    encoder="velostream.formats.csv:stream_encoder", output=True,
    doc="RFC 4180 CSV with a header row"))
register_format(FormatSpec(
    "table", encoder="velostream.formats.table:table_encoder", output=True, terminal_only=True,
    doc="a table for the terminal"))
register_format(FormatSpec(
    "parquet", extensions=(".parquet", ".pq"), reader="velostream.formats.parquet:file_reader",
    writer="velostream.formats.parquet:file_writer",
    doc="Apache Parquet through pyarrow (the velostream[arrow] extra)"))
