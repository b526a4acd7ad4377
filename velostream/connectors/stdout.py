"""Standard-output sink in the CLI's formats: json, json-pretty, json-lines, csv, table.

Owns how results look on a terminal or in a pipe (spec: deployment-summary, "Output Format
Options"). ``json`` is one compact JSON array for the whole run, written as rows arrive;
``json-pretty`` the same indented; ``json-lines`` one object per line; ``csv`` a header and rows;
``table`` a rich table (printed every ``TABLE_ROWS`` rows so a stream shows progress) whose cells
are the values' SQL text (``CAST(v AS VARCHAR)``: DECIMAL at its scale, ``true``, ISO-8601 UTC
timestamps, nested values as JSON), as CSV writes them; NULL is ``NULL``. Without a format:
``table`` on a terminal, ``json-lines`` in a pipe.
"""

from __future__ import annotations

import sys

from velostream.errors import ConfigError

OUTPUT_FORMATS = ("json", "json-pretty", "json-lines", "csv", "table")
TABLE_ROWS = 1000


def default_format(stream=None) -> str:
    stream = stream or sys.stdout
    return "table" if getattr(stream, "isatty", lambda: False)() else "json-lines"


class StdoutSink:
    def __init__(self, endpoint, plan, *, format_override=None, stream=None):
        self.name = endpoint.name
        self.stream = stream or sys.stdout
        fmt = format_override or endpoint.get("format") or default_format(self.stream)
        fmt = str(fmt).strip().lower().replace("_", "-")
        if fmt in ("jsonl", "jsonlines", "ndjson"):
            fmt = "json-lines"
        if fmt not in OUTPUT_FORMATS:
            raise ConfigError(f"must be one of {', '.join(OUTPUT_FORMATS)}; got {fmt!r}",
                              key=f"{endpoint.name}.format")
        self.format = fmt
        self.records = 0
        self._opened = False
        self._table_rows: list = []
        self._names: tuple = ()
        from velostream.connectors.file import csv_delimiter
        from velostream.formats import CsvEncoder, JsonEncoder

        decimals_as_numbers = endpoint.flag("decimals_as_numbers")
        self._json = JsonEncoder(decimals_as_numbers=decimals_as_numbers,
                                 pretty=fmt == "json-pretty")
        self._csv = CsvEncoder(delimiter=csv_delimiter(endpoint))

    def _out(self, data: bytes) -> None:
        buffer = getattr(self.stream, "buffer", None)
        if buffer is not None:
            buffer.write(data)
        else:
            self.stream.write(data.decode("utf-8"))

    def write(self, batch) -> None:
        if batch is None or batch.length == 0:
            return
        fmt = self.format
        if fmt == "json-lines":
            self._out(self._json.encode_lines(batch))
        elif fmt == "json":
            rows = self._json.encode_rows(batch)
            self._out((b"," if self._opened else b"[") + b",".join(rows))
        elif fmt == "json-pretty":
            rows = self._json.encode_rows(batch)
            body = b",\n".join(b"  " + r.replace(b"\n", b"\n  ") for r in rows)
            self._out((b",\n" if self._opened else b"[\n") + body)
        elif fmt == "csv":
            self._out(self._csv.encode(batch, write_header=not self._opened))
        else:
            self._names = batch.names
            self._table_rows.extend(tuple(r.values()) for r in batch.to_pylist())
            if len(self._table_rows) >= TABLE_ROWS:
                self._print_table()
        self._opened = True
        self.records += batch.length

    def _print_table(self) -> None:
        if not self._table_rows:
            return
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        from velostream._core.kernels_py import text_of

        # Text(), not str: a value such as "[red]" is data, not rich markup.
        table = Table(show_lines=False)
        for name in self._names:
            table.add_column(Text(name), overflow="fold")   # show every character
        for row in self._table_rows:
            table.add_row(*(Text("NULL" if v is None else text_of(v)) for v in row))
        Console(file=self.stream, soft_wrap=False).print(table)
        self._table_rows = []

    def flush(self) -> None:
        if self.format == "table":
            self._print_table()
        self.stream.flush()

    def close(self) -> None:
        if self.format == "json":
            self._out(b"]\n" if self._opened else b"[]\n")
        elif self.format == "json-pretty":
            self._out(b"\n]\n" if self._opened else b"[]\n")
        elif self.format == "table":
            self._print_table()
        self.stream.flush()
