"""The ``table`` output format: results as a rich table for a terminal.

Owns how a table looks: cells are the values' SQL text (``CAST(v AS VARCHAR)``: DECIMAL at its
scale, ``true``, ISO-8601 UTC timestamps, nested values as JSON), as CSV writes them; NULL is
``NULL``. Rows are buffered and rendered every ``TABLE_ROWS`` rows (so a stream shows progress),
at ``flush()`` and at ``end()``; the rendered text is returned as bytes like any encoder's.
"""

from __future__ import annotations

import io

TABLE_ROWS = 1000


class TableStream:
    def __init__(self, width: int | None = None, terminal: bool = False):
        self.width = width
        self.terminal = terminal
        self._rows: list = []
        self._names: tuple = ()

    def begin(self) -> bytes:
        return b""

    def encode(self, batch) -> bytes:
        if batch is None or batch.length == 0:
            return b""
        self._names = batch.names
        self._rows.extend(tuple(r.values()) for r in batch.to_pylist())
        return self.flush() if len(self._rows) >= TABLE_ROWS else b""

    def flush(self) -> bytes:
        if not self._rows:
            return b""
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        from velostream._core.kernels_py import text_of

        # Text(), not str: a value such as "[red]" is data, not rich markup.
        table = Table(show_lines=False)
        for name in self._names:
            table.add_column(Text(name), overflow="fold")   # show every character
        for row in self._rows:
            table.add_row(*(Text("NULL" if v is None else text_of(v)) for v in row))
        out = io.StringIO()
        Console(file=out, soft_wrap=False, width=self.width,
                force_terminal=self.terminal or None).print(table)
        self._rows = []
        return out.getvalue().encode("utf-8")

    def end(self) -> bytes:
        return self.flush()


def table_encoder(endpoint, options):
    return TableStream(options.width, options.terminal)
