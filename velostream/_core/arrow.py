"""Arrow interop (the optional ``velostream[arrow]`` extra, pyarrow): ``RecordBatch`` ↔
``pyarrow.RecordBatch`` / ``pyarrow.Table``, what pandas, Polars and DuckDB users hand a library.

Buffers are shared, not copied, where the layouts match; what is copied and why:

=====================  ======================================  ==================================
velostream column      Arrow type                              memory
=====================  ======================================  ==================================
BIGINT                 int64                                   shared both ways
DOUBLE                 float64                                 shared both ways
TIMESTAMP (epoch ms)   timestamp("ms", tz="UTC")               shared both ways (other units and
                                                               time zones are cast to UTC ms)
STRING                 large_string (int64 offsets)            offsets and bytes shared both
                                                               ways; ``string`` (int32 offsets)
                                                               and dictionary strings are cast
DECIMAL                decimal128(38 or declared p, scale)     int128 storage shared both ways;
                                                               int64 mantissas are widened to
                                                               16 bytes (out) / narrowed to 8
                                                               (in, when every value fits)
BOOLEAN                bool                                    copied: Arrow packs bits, ours
                                                               are one byte per row
NULL                   null                                    nothing to share
OBJECT (nested)        list / struct / map ...                 converted through Python values
=====================  ======================================  ==================================

- Validity: ours is one byte per row, Arrow's a bitmap, so a column with NULLs has its validity
  converted (both ways). Arrow leaves the data under a NULL undefined, our kernels expect zero
  there: an incoming column with NULLs is copied with zeros filled in.
- A DECIMAL value's own scale (``12.50`` in a column of scale 4) becomes the column scale in
  Arrow, which has one scale per column; the value is unchanged.
- Other Arrow types (int8..uint64, float16/32, date, binary, decimal256 ...) are cast to the
  nearest type above, or converted through Python values.
- A Table with several chunks per column is combined into one (a copy), since a RecordBatch is
  contiguous.
"""

from __future__ import annotations

try:
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise ImportError("Arrow interop needs pyarrow: pip install 'velostream[arrow]'") from err

from velostream._core import batch as B
from velostream._core.batch import RecordBatch

__all__ = ["from_arrow", "to_arrow", "to_arrow_table"]

_TS_MS = pa.timestamp("ms", tz="UTC")


# --------------------------------------------------------------------------- velostream → Arrow

def _bitmap(validity, n):
    """Arrow's validity bitmap from our byte-per-row validity (None when all rows are present)."""
    if validity is None:
        return None
    flags = pa.Array.from_buffers(pa.uint8(), n, [None, pa.py_buffer(validity)])
    return pc.not_equal(flags, 0).buffers()[1]


def _column_to_arrow(name, column):
    n = len(column)
    kind = column.type_name
    valid = _bitmap(column.validity, n) if column.validity is not None else None
    nulls = column.null_count() if valid is not None else 0
    if kind == "BIGINT":
        return pa.Array.from_buffers(pa.int64(), n, [valid, pa.py_buffer(column.data)], nulls)
    if kind == "TIMESTAMP":
        return pa.Array.from_buffers(_TS_MS, n, [valid, pa.py_buffer(column.data)], nulls)
    if kind == "DOUBLE":
        return pa.Array.from_buffers(pa.float64(), n, [valid, pa.py_buffer(column.data)], nulls)
    if kind == "STRING":
        return pa.Array.from_buffers(pa.large_string(), n, [
            valid, pa.py_buffer(column.offsets), pa.py_buffer(column.buffer)], nulls)
    if kind == "BOOLEAN":
        flags = pa.Array.from_buffers(pa.uint8(), n, [None, pa.py_buffer(column.data)])
        bits = pc.not_equal(flags, 0).buffers()[1]
        return pa.Array.from_buffers(pa.bool_(), n, [valid, bits], nulls)
    if kind == "DECIMAL":
        return _decimal_to_arrow(name, column, valid, nulls)
    if kind == "NULL":
        return pa.nulls(n)
    try:
        return pa.array(column.to_pylist())
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        raise ValueError(f"column {name!r} ({kind}) has no Arrow type: {err}") from None


def _decimal_to_arrow(name, column, valid, nulls):
    n = len(column)
    scale = column.scale
    precision = column.precision if 0 < column.precision <= 38 else 38
    if column.storage == "int128":
        return pa.Array.from_buffers(pa.decimal128(precision, scale), n,
                                     [valid, pa.py_buffer(column.wdata)], nulls)
    if column.storage == "int64":
        # Arrow widens int64 to 128 bits in C; the result is the mantissa at our scale.
        ints = pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(column.data)])
        wide = ints.cast(pa.decimal128(19, 0)).buffers()[1]
        return pa.Array.from_buffers(pa.decimal128(precision, scale), n, [valid, wide], nulls)
    values = [None if v is None else v.rescale(scale).to_decimal() for v in column.to_pylist()]
    try:
        return pa.array(values, pa.decimal256(76, scale))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as err:
        raise ValueError(f"column {name!r}: a DECIMAL value has more than 76 digits, past "
                         f"Arrow's decimal256 ({err})") from None


def to_arrow(batch: RecordBatch) -> pa.RecordBatch:
    """``batch`` as a ``pyarrow.RecordBatch`` (pseudo-columns such as ``_offset`` are left out)."""
    arrays = [_column_to_arrow(name, column) for name, column in zip(batch.names, batch.columns)]
    if not arrays:
        return pa.RecordBatch.from_pydict({})
    return pa.RecordBatch.from_arrays(arrays, names=list(batch.names))


def to_arrow_table(batch: RecordBatch | None) -> pa.Table:
    """``batch`` as a one-chunk ``pyarrow.Table`` (an empty table for None)."""
    if batch is None:
        return pa.table({})
    return pa.Table.from_batches([to_arrow(batch)])


# --------------------------------------------------------------------------- Arrow → velostream

def _byte_validity(arr):
    """Our byte-per-row validity of an Arrow array (None when no row is NULL)."""
    if arr.null_count == 0:
        return None
    return pc.is_valid(arr).cast(pa.uint8()).buffers()[1]


def _data(arr, width):
    """The data buffer of a fixed-width array, starting at its first row."""
    buf = arr.buffers()[1]
    return buf.slice(arr.offset * width, len(arr) * width) if arr.offset else buf


def _filled(arr, zero):
    """``arr`` with zero under its NULLs (Arrow leaves them undefined), plus its validity."""
    if arr.null_count == 0:
        return arr, None
    return pc.fill_null(arr, zero), _byte_validity(arr)


def _column_from_arrow(name, arr):
    t = arr.type
    n = len(arr)
    if pa.types.is_dictionary(t):
        return _column_from_arrow(name, arr.cast(t.value_type))
    if pa.types.is_null(t):
        return B.null_column(n)
    if pa.types.is_integer(t):
        if t != pa.int64():
            try:
                arr = arr.cast(pa.int64())
            except pa.ArrowInvalid:     # uint64 past int64: exact Python ints
                return B.column_from_values(arr.to_pylist())
        arr, valid = _filled(arr, 0)
        return B.column_from_buffers(B.INT64, n, _data(arr, 8), valid)
    if pa.types.is_floating(t):
        arr, valid = _filled(arr.cast(pa.float64()) if t != pa.float64() else arr, 0.0)
        return B.column_from_buffers(B.FLOAT64, n, _data(arr, 8), valid)
    if pa.types.is_boolean(t):
        valid = _byte_validity(arr)
        flags = pc.fill_null(arr, False).cast(pa.uint8())
        return B.column_from_buffers(B.BOOL, n, _data(flags, 1), valid)
    if pa.types.is_timestamp(t):
        if t.unit != "ms":
            # Arrow keeps zoned timestamps as UTC instants; a naive one is read as UTC.
            arr = arr.cast(pa.timestamp("ms", tz=t.tz), safe=False)
        arr, valid = _filled(arr.cast(pa.int64()), 0)
        return B.column_from_buffers(B.TIMESTAMP, n, _data(arr, 8), valid)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        if not pa.types.is_large_string(t):
            arr = arr.cast(pa.large_string())
        bufs = arr.buffers()
        offsets = bufs[1].slice(arr.offset * 8, (n + 1) * 8) if arr.offset else bufs[1]
        chars = bufs[2] if bufs[2] is not None else b""
        return B.column_from_buffers(B.STRING, n, chars, _byte_validity(arr), offsets=offsets)
    if pa.types.is_decimal128(t) and t.scale >= 0:
        arr, valid = _filled(arr, 0)
        column = B.column_from_buffers(B.DECIMAL, n, _data(arr, 16), valid, scale=t.scale,
                                       wide=True)
        column.precision = t.precision
        return column
    values = arr.to_pylist()
    if pa.types.is_decimal(t):
        return B.decimal_column(values, max(t.scale, 0))
    return B.column_from_values(values)


def from_arrow(data) -> RecordBatch:
    """A RecordBatch from a ``pyarrow.Table`` or ``pyarrow.RecordBatch`` (shared memory where
    the layouts match: see the module docstring)."""
    if isinstance(data, pa.Table):
        columns = [col.chunk(0) if col.num_chunks == 1 else
                   (col.combine_chunks() if col.num_chunks else pa.array([], col.type))
                   for col in data.columns]
        names = data.column_names
    elif isinstance(data, pa.RecordBatch):
        columns, names = data.columns, data.schema.names
    else:
        raise TypeError(f"from_arrow takes a pyarrow Table or RecordBatch, not "
                        f"{type(data).__name__}")
    batch = RecordBatch(names, [_column_from_arrow(name, arr)
                                for name, arr in zip(names, columns)])
    if not names:
        return RecordBatch.empty(data.num_rows)
    return batch
