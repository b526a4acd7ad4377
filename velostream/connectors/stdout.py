"""Standard-output sink: results encoded in any output format of the registry, written to a stream.

Owns where results go on a terminal or in a pipe (spec: deployment-summary, "Output Format
Options"); how they look is the format's (formats.registry: ``json`` one compact JSON array for
the whole run, written as rows arrive; ``json-pretty`` the same indented; ``json-lines`` one
object per line; ``csv`` a header and rows; ``table`` formats.table). Without a format:
``table`` on a terminal, ``json-lines`` in a pipe.
"""

from __future__ import annotations

import sys

from velostream.connectors.base import Sink, SinkContext
from velostream.formats import registry as formats


def default_format(stream=None) -> str:
    stream = stream or sys.stdout
    return "table" if getattr(stream, "isatty", lambda: False)() else "json-lines"


def output_formats() -> list[str]:
    """The formats ``--format`` offers, from the registry."""
    return formats.names(output=True)


class StdoutSink(Sink):
    """``StdoutSink(endpoint, SinkContext)``; the old ``StdoutSink(endpoint, plan,
    format_override=…, stream=…)`` still works."""

    def __init__(self, endpoint, context=None, *, format_override=None, stream=None):
        if not isinstance(context, SinkContext):
            context = SinkContext(format_override=format_override, stream=stream)
        self.name = endpoint.name
        self.stream = context.stream or sys.stdout
        raw = context.format_override or endpoint.get("format") or default_format(self.stream)
        key = f"{endpoint.name}.format"
        spec = formats.find(raw)
        if spec is None or not spec.output:
            from velostream.errors import ConfigError

            raise ConfigError(f"must be one of {', '.join(output_formats())}; got {raw!r}", key=key)
        self.format = spec.name
        terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        width = None
        if spec.terminal_only and terminal:
            import shutil

            width = shutil.get_terminal_size().columns
        self.encoder = formats.make_encoder(spec, endpoint, formats.EncoderOptions(
            width=width, terminal=terminal))
        self.records = 0
        self._out(self.encoder.begin())

    def _out(self, data: bytes) -> None:
        if not data:
            return
        buffer = getattr(self.stream, "buffer", None)
        if buffer is not None:
            buffer.write(data)
        else:
            self.stream.write(data.decode("utf-8"))

    def write(self, batch) -> None:
        if batch is None or batch.length == 0:
            return
        self._out(self.encoder.encode(batch))
        self.records += batch.length

    def flush(self) -> None:
        self._out(self.encoder.flush())
        self.stream.flush()

    def close(self) -> None:
        self._out(self.encoder.end())
        self.stream.flush()
