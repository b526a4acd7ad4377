"""Parquet files through pyarrow (the ``velostream[arrow]`` extra): a reader that yields
``RecordBatch`` and a writer that appends batches to one file as row groups.

Both go through ``velostream._core.arrow``, so columns are shared with Arrow's buffers where
the layouts match (see there for what is copied). Parquet is not line-oriented, so these do not
follow the byte-chunk decoder protocol of the JSON/CSV codecs: a source hands the reader a path,
a sink hands the writer batches.

- ``ParquetReader(path, columns=None, batch_size=65536)``: iterates the file's rows in batches
  of at most ``batch_size``, reading only ``columns`` when given (names match case-insensitively,
  DIALECT §1; a name the file lacks is left out, as a missing JSON field is). ``position`` is the
  number of rows already yielded; ``ParquetReader(..., start_row=position)`` resumes there.
- ``ParquetWriter(path, row_group_size=65536, compression="snappy")``: ``write(batch)`` any
  number of times within a run, ``close()`` to finish the file (a Parquet file is readable only
  once its footer is written). Rows are gathered into row groups of ``row_group_size``. The
  first batch fixes the file's schema (a column that is all NULL there is written as a string
  column); a later batch is cast to it, and one that cannot be (a string where the file has
  numbers, more decimal places than the file's scale) raises ValueError naming the column.

``'format' = 'parquet'`` (or a ``.parquet`` path) plugs these into the file source and sink
through the format registry: ``file_reader`` and ``file_writer`` below.
"""

from __future__ import annotations

import os

from velostream._core.arrow import from_arrow, pa, to_arrow

try:
    import pyarrow.parquet as pq
except ImportError as err:  # pragma: no cover - pyarrow is installed without parquet support
    raise ImportError("Parquet needs pyarrow built with Parquet support: "
                      "pip install 'velostream[arrow]'") from err

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_ROW_GROUP_SIZE", "ParquetReader", "ParquetWriter",
           "file_reader", "file_writer"]

DEFAULT_BATCH_SIZE = 65536
DEFAULT_ROW_GROUP_SIZE = 65536


def _open_error(path, err):
    return ValueError(f"{path}: not a readable Parquet file ({err})")


class ParquetReader:
    """The rows of one Parquet file as RecordBatches (see the module docstring)."""

    def __init__(self, path, columns=None, batch_size: int = DEFAULT_BATCH_SIZE,
                 start_row: int = 0):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.path = os.fspath(path)
        try:
            self._file = pq.ParquetFile(self.path)
        except (OSError, pa.ArrowException) as err:
            raise _open_error(self.path, err) from None
        names = self._file.schema_arrow.names
        if columns is None:
            self.columns = list(names)
        else:
            by_lower = {}
            for name in names:
                by_lower.setdefault(name.lower(), name)
            wanted = []
            for name in columns:
                found = by_lower.get(str(name).lower())
                if found is not None and found not in wanted:
                    wanted.append(found)
            self.columns = wanted
        self.batch_size = batch_size
        self.position = start_row
        self.num_rows = self._file.metadata.num_rows

    def __iter__(self):
        skip = self.position
        try:
            for arrow_batch in self._file.iter_batches(batch_size=self.batch_size,
                                                       columns=self.columns):
                if skip >= arrow_batch.num_rows:
                    skip -= arrow_batch.num_rows
                    continue
                if skip:
                    arrow_batch = arrow_batch.slice(skip)
                    skip = 0
                self.position += arrow_batch.num_rows
                yield from_arrow(arrow_batch)
        except (OSError, pa.ArrowException) as err:
            raise ValueError(f"{self.path}: Parquet data unreadable after row {self.position} "
                             f"({err})") from None

    def close(self):
        self._file.close()


class ParquetWriter:
    """Appends RecordBatches to one Parquet file within a run (see the module docstring)."""

    def __init__(self, path, row_group_size: int = DEFAULT_ROW_GROUP_SIZE,
                 compression: str = "snappy"):
        if row_group_size < 1:
            raise ValueError(f"row_group_size must be at least 1, not {row_group_size}")
        self.path = os.fspath(path)
        self.row_group_size = row_group_size
        self.compression = compression
        self.rows_written = 0
        self._writer = None
        self._schema = None
        self._pending: list = []
        self._pending_rows = 0

    def write(self, batch) -> None:
        if len(batch) == 0 and self._schema is not None:
            return
        table = pa.Table.from_batches([to_arrow(batch)])
        if self._schema is None:
            self._schema = pa.schema([
                pa.field(f.name, pa.large_string()) if pa.types.is_null(f.type) else f
                for f in table.schema])
        table = self._conform(table)
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= self.row_group_size:
            self._write_pending(final=False)

    def _conform(self, table):
        if table.schema.equals(self._schema):
            return table
        if table.schema.names != self._schema.names:
            raise ValueError(f"{self.path}: a batch has columns {table.schema.names}, the file "
                             f"has {self._schema.names}")
        columns = []
        for name, column, field in zip(table.schema.names, table.columns, self._schema):
            if column.type == field.type:
                columns.append(column)
                continue
            try:
                columns.append(column.cast(field.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
                raise ValueError(f"{self.path}: column {name!r} is {column.type} in this batch "
                                 f"but {field.type} in the file ({err})") from None
        return pa.Table.from_arrays(columns, schema=self._schema)

    def _write_pending(self, final: bool) -> None:
        if not self._pending:
            return
        table = pa.concat_tables(self._pending)
        keep = table.num_rows if final else table.num_rows - table.num_rows % self.row_group_size
        if self._writer is None:
            try:
                self._writer = pq.ParquetWriter(self.path, self._schema,
                                                compression=self.compression)
            except (OSError, pa.ArrowException) as err:
                raise ValueError(f"{self.path}: cannot write a Parquet file ({err})") from None
        if keep:
            self._writer.write_table(table.slice(0, keep), row_group_size=self.row_group_size)
            self.rows_written += keep
        rest = table.slice(keep)
        self._pending = [rest] if rest.num_rows else []
        self._pending_rows = rest.num_rows

    def flush(self) -> None:
        """Nothing to do: a Parquet file becomes readable at ``close``, and row groups are
        written as they fill."""

    def close(self) -> None:
        if self._schema is None:
            return          # nothing was written: no file (there is no schema to give it)
        self._write_pending(final=True)
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------- the registry's hooks

def file_reader(path, endpoint, options):
    """The file source's whole-file reader (``formats.registry``): DecodeResults of the file's
    rows in order, each row's ``_line`` (hence ``_offset``) its 1-based row number."""
    from velostream._core.batch import int64_column
    from velostream.errors import ConfigError
    from velostream.formats.errors import DecodeResult

    if options.declared:
        field = next(iter(options.declared))
        raise ConfigError("a Parquet file carries its own column types; declared types are "
                          "for JSON and CSV sources", key=f"{endpoint.name}.schema.{field}")
    try:
        reader = ParquetReader(path, columns=options.fields)
    except ValueError as err:
        raise ConfigError(str(err), key=f"{endpoint.name}.path") from None
    row = 0
    try:
        for batch in reader:
            n = batch.length
            batch.meta["_line"] = int64_column(range(row + 1, row + n + 1))
            row += n
            yield DecodeResult(batch)
    finally:
        reader.close()


def file_writer(path, endpoint, options):
    """The file sink's writer for Parquet: batches in, row groups out; ``close`` writes the
    footer. A Parquet file cannot be appended to."""
    from velostream.errors import ConfigError

    if endpoint.flag("append"):
        raise ConfigError("a Parquet file cannot be appended to (its footer closes it); "
                          "write a new file", key=f"{endpoint.name}.append")
    return ParquetWriter(path, row_group_size=endpoint.setting("parquet.row_group_size"),
                         compression=endpoint.setting("parquet.compression"))
