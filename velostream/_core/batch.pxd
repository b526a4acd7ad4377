# cython: language_level=3
"""Typed columns and ``RecordBatch``: the unit every operator consumes and produces.

C-level layout other ``_core`` modules ``cimport`` to run typed loops over a whole batch:

- every column has ``length`` and ``valid``: a ``uint8_t*`` with one byte per row (1 = present),
  or NULL when every row is present (the common case costs no memory and no test per row);
- ``Int64Column`` (INTEGER/BIGINT; TIMESTAMP as epoch milliseconds with ``type == T_TIMESTAMP``),
  ``Float64Column``, ``BoolColumn`` (``uint8_t`` 0/1), ``DecimalColumn`` (see below);
- ``StringColumn``: Arrow layout, the UTF-8 bytes of all values back to back in ``chars`` and
  ``offs[i] .. offs[i + 1]`` delimiting row ``i``; decoders copy bytes in, encoders copy bytes out,
  and no Python ``str`` exists unless a function needs one;
- ``ObjectColumn``: a list of Python objects (nested values, wide decimals, mixed types).

``DecimalColumn``: ``int64_t`` mantissas all at the column ``scale`` (the largest scale of its
rows), so typed kernels and comparisons run over one array at one scale (``{values[i], scale}``
is row i's exact value). A DECIMAL value also keeps its own scale (DIALECT §3: ``12.50`` prints
``12.50`` whatever the other rows hold): ``rscales`` is a ``uint8_t`` per row (``<= scale``;
``values[i]`` is then a multiple of ``10**(scale - rscales[i])``), or NULL when every row has the
column scale (declared and CAST columns, uniform data: the common case costs nothing).
``dec_row(c, i)`` gives row i at its own scale; kernels derive each row's result scale from its
operands' (``+ - %`` the larger, ``*`` the sum, ``/`` the larger + 4), encoders print it.
Column scale and row scales never change the value, only how it prints: comparisons ignore them.
Wide values: a column with a value that needs more than an int64 mantissa (DECIMAL(38), or a
result past 18 digits) holds every row as an exact ``ScaledInteger`` in ``wide`` (None for NULL;
each at its own scale <= ``scale``) and ``values`` are zeros: every kernel checks ``wide is not
None`` first and then works on the objects (exact at any size, they widen past 38 digits).
``make_decimal_values`` builds the narrow form when every value fits, else the wide one.

A consumer that accumulates (SUM) reads ``values`` at ``scale`` (or the ``wide`` objects) and
gives the result the largest row scale (``dec_max_row_scale``): ``dec_sum`` does exactly that in
one typed loop that spills into a Python int only when an int64 partial sum would overflow, and
``make_decimal_values`` turns per-group results of any size back into a column.

Buffers are ``cpython.array`` objects kept referenced by the column, so a column is immutable once
built and cheap to share between batches (``select``/``rename`` never copy data).
"""

cimport cython
from libc.stdint cimport int64_t, uint8_t

from velostream._core.decimal cimport si_t, vs_upow10

cdef enum ColumnType:
    T_NULL = 0          # every value NULL, type not known yet
    T_BOOL = 1
    T_INT64 = 2
    T_FLOAT64 = 3
    T_DECIMAL = 4
    T_STRING = 5
    T_TIMESTAMP = 6
    T_OBJECT = 7


cdef class Column:
    cdef readonly int type
    cdef readonly Py_ssize_t length
    cdef readonly object validity       # array('B') or None
    cdef uint8_t* valid                 # into validity, or NULL = all present

    cdef inline bint is_valid(self, Py_ssize_t i) noexcept:
        return self.valid == NULL or self.valid[i] != 0

    cpdef object get(self, Py_ssize_t i)
    cpdef Column take(self, const int64_t[::1] rows)
    cpdef Py_ssize_t null_count(self)
    cdef object _take_validity(self, const int64_t[::1] rows)


cdef class NullColumn(Column):
    pass


cdef class Int64Column(Column):
    cdef readonly object data           # array('q')
    cdef int64_t* values


cdef class Float64Column(Column):
    cdef readonly object data           # array('d')
    cdef double* values


cdef class BoolColumn(Column):
    cdef readonly object data           # array('B'), 0 or 1
    cdef uint8_t* values


cdef class DecimalColumn(Column):
    cdef readonly object data           # array('q'): mantissas at ``scale``
    cdef int64_t* values
    cdef readonly int scale
    cdef readonly object row_scales     # array('B') of each row's own scale, or None
    cdef uint8_t* rscales               # into row_scales, or NULL = every row at ``scale``
    cdef readonly list wide             # ScaledInteger (None = NULL) per row, or None: narrow
    cdef public int precision           # DECIMAL(p, s) declared by the source, or 0: for messages

    cdef inline int row_scale(self, Py_ssize_t i) noexcept:
        return self.scale if self.rscales == NULL else self.rscales[i]


cdef class StringColumn(Column):
    cdef readonly object buffer         # bytes or bytearray: UTF-8 of all rows back to back
    cdef readonly object offsets        # array('q'), length + 1
    cdef const char* chars
    cdef int64_t* offs
    cdef object _strings                # cached list of str, built on first Python access


cdef class ObjectColumn(Column):
    cdef readonly list values


cdef class RecordBatch:
    cdef readonly tuple names
    cdef readonly tuple columns
    cdef readonly Py_ssize_t length
    cdef readonly dict meta             # pseudo-columns: "_offset" -> Column, ...
    cdef dict _index                    # lower-case name -> position

    cpdef int index_of(self, str name)
    cpdef Column column(self, str name)


# Allocation helpers for kernels and decoders (return arrays of n items, uninitialised).
cdef object new_int64_array(Py_ssize_t n)
cdef object new_double_array(Py_ssize_t n)
cdef object new_byte_array(Py_ssize_t n, bint zero)

# Column constructors over already-filled arrays (validity may be None).
cdef Int64Column make_int64(object data, object validity, Py_ssize_t n, int type)
cdef Float64Column make_float64(object data, object validity, Py_ssize_t n)
cdef BoolColumn make_bool(object data, object validity, Py_ssize_t n)
cdef DecimalColumn make_decimal(object data, object validity, Py_ssize_t n, int scale)
# ... with each row's own scale (array('B') of n scales <= scale, or None = all at ``scale``).
cdef DecimalColumn make_decimal_rs(object data, object validity, Py_ssize_t n, int scale,
                                   object row_scales)
# A DECIMAL column of Python values (ScaledInteger / int / Decimal / None) at column scale
# ``scale``: each keeps its own scale (rounded half-even to ``scale`` if larger, or to every row
# when ``uniform``); narrow when every mantissa fits int64, else wide.
cdef DecimalColumn make_decimal_values(list values, Py_ssize_t n, int scale, bint uniform)
# SUM of the present rows, exact at any size: a ScaledInteger at the largest row scale, or None
# when no row is present.
cdef object dec_sum(DecimalColumn c)
# The largest row scale of the present rows (the column scale when rscales is NULL; 0 if none).
cdef int dec_max_row_scale(DecimalColumn c) noexcept
cdef StringColumn make_string(object buffer, object offsets, object validity, Py_ssize_t n)


@cython.cdivision(True)
cdef inline si_t dec_at(const int64_t* values, const uint8_t* rscales, int scale,
                        Py_ssize_t i) noexcept nogil:
    """Row ``i`` of DECIMAL mantissas at ``scale`` with row scales ``rscales`` (or NULL), at its
    own scale (exact: the mantissa is a multiple of the dropped power of ten)."""
    cdef si_t v
    cdef int d
    v.m = values[i]
    v.s = <uint8_t>scale
    if rscales != NULL and rscales[i] != v.s:
        d = scale - rscales[i]
        v.m = v.m // <int64_t>vs_upow10[d] if d <= 18 else 0
        v.s = rscales[i]
    return v


cdef inline si_t dec_row(DecimalColumn c, Py_ssize_t i) noexcept:
    """Row ``i`` of ``c`` at its own scale."""
    return dec_at(c.values, c.rscales, c.scale, i)
