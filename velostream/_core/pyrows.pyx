# cython: language_level=3
"""Python rows and columns into typed columns, and batches back into rows: the library path.

Owns what ``RecordBatch.from_pylist`` / ``from_pydict`` / ``to_pylist`` do, so that
``StreamApp.process(list_of_dicts)`` costs less than the Python loop a user would write:

- ``batch_from_rows`` reads a list of dicts in one pass: ``PyDict_Next`` walks each dict and, while
  its keys are the very key objects of the first row in the same order (dicts from one JSON
  parser or one literal share them), a value goes to its column without a hash lookup; any other
  row is looked up by name. Each value is stored typed at once (int64, double, bool, string, and
  DECIMAL mantissas read straight out of ``decimal.Decimal`` / ``ScaledInteger`` without going
  through float or text). Column types follow the values with the widening rules of
  ``batch.column_from_values`` (BIGINT + DECIMAL → DECIMAL, BIGINT + DOUBLE → DOUBLE); a column
  the typed pass cannot hold (datetimes, nested values, wide or mixed numbers, other classes) is
  built by ``column_from_values`` instead, so both paths give the same column for the same values.
- String columns keep the caller's ``str`` objects beside their UTF-8 buffer, so rows that pass
  through a query come back as the same objects instead of being decoded again.
- ``rows_from_batch`` builds one dict per row from each column's Python values.
- A ``schema`` (``{"price": "DECIMAL(18,4)"}``, the type names of declared source schemas, see
  ``jsoncodec.declared_spec``) fixes a column's type: values are converted to it (DECIMAL
  rounded half-even to its scale) or rejected with a ValueError naming the column and row.
"""

cimport cython
from cpython cimport array
from cpython.dict cimport PyDict_GetItem, PyDict_Next, PyDict_SetItem
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE, PyList_New, PyList_SET_ITEM
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF
from libc.stdint cimport int64_t, uint8_t
from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memset

from velostream._core.batch cimport (
    T_BOOL, T_DECIMAL, T_FLOAT64, T_INT64, T_NULL, T_OBJECT, T_STRING,
    Column, DecimalColumn, Float64Column, Int64Column, NullColumn, RecordBatch, StringColumn,
    dec_is_wide, dec_row, make_bool, make_decimal_rs, make_float64, make_int64, make_string,
)
from velostream._core.decimal cimport (
    SI_OK, ScaledInteger, si_box, si_t, si_unbox_checked, vs_upow10,
)

cdef extern from "Python.h":
    Py_ssize_t PyDict_GET_SIZE(object d)
    object _PyDict_NewPresized(Py_ssize_t minused)
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL
    bint PyUnicode_IS_COMPACT_ASCII(object s)
    void* PyUnicode_DATA(object s)
    Py_ssize_t PyUnicode_GET_LENGTH(object s)
    double PyFloat_AS_DOUBLE(object f)

cdef extern from *:
    """
    /* The C implementation of decimal.Decimal (CPython's _decimal over libmpdec, 64-bit):
       a coefficient in base 10**19 limbs and a base-10 exponent. The layout is private, so
       _dec_layout_ok() checks it against known values at import and the reader is used only
       when it matches (else Decimal values go through ScaledInteger's own conversion). */
    typedef struct { uint8_t flags; Py_ssize_t exp; Py_ssize_t digits; Py_ssize_t len;
                     Py_ssize_t alloc; uint64_t *data; } vr_mpd_t;
    typedef struct { PyObject_HEAD Py_hash_t hash; vr_mpd_t dec; } vr_dec_t;
    /* 0 with *m, *s for a finite Decimal whose value is m / 10**s with an int64 m and
       0 <= s <= 38; 1 for anything else (special values, wide coefficients). */
    static inline int vr_dec_parts(PyObject *o, int64_t *m, int *s) {
        const vr_mpd_t *d = &((const vr_dec_t *)o)->dec;
        uint64_t c;
        int64_t v;
        if (d->flags & 14 || d->len != 1) return 1;   /* inf, nan, snan; >= 10**19 */
        c = d->data[0];
        if (c > (uint64_t)INT64_MAX) return 1;
        v = (d->flags & 1) ? -(int64_t)c : (int64_t)c;
        if (d->exp > 0) {
            if (v != 0) {
                static const int64_t p[19] = {1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL,
                    1000000LL, 10000000LL, 100000000LL, 1000000000LL, 10000000000LL,
                    100000000000LL, 1000000000000LL, 10000000000000LL, 100000000000000LL,
                    1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
                    1000000000000000000LL};
                if (d->exp > 18 || __builtin_mul_overflow(v, p[d->exp], &v)) return 1;
            }
            *s = 0;
        } else {
            if (d->exp < -38) return 1;
            *s = (int)(-d->exp);
        }
        *m = v;
        return 0; }
    static inline Py_ssize_t vr_dec_size(void) { return (Py_ssize_t)sizeof(vr_dec_t); }
    """
    int vr_dec_parts(object o, int64_t* m, int* s) noexcept
    Py_ssize_t vr_dec_size() noexcept
    bint __builtin_mul_overflow(int64_t a, int64_t b, int64_t* r) noexcept nogil

import array as _pyarray
import datetime as _dt
from decimal import Decimal as _Decimal

from velostream._core.batch import (
    bool_column, column_from_values, decimal_column, float64_column, int64_column,
    string_column,
)
from velostream._core.decimal import ScaledInteger as _ScaledInteger
from velostream._core.jsoncodec import declared_spec

cdef array.array _Q = _pyarray.array("q")
cdef array.array _D = _pyarray.array("d")
cdef array.array _B = _pyarray.array("B")
cdef object _DECIMAL = _Decimal
cdef object _SCALED = _ScaledInteger


def _dec_layout_ok():
    """Whether ``vr_dec_parts`` reads this interpreter's Decimal objects right."""
    cdef int64_t m
    cdef int s
    try:
        import _decimal
    except ImportError:
        return False
    if _Decimal is not _decimal.Decimal or _Decimal.__basicsize__ < vr_dec_size():
        return False
    samples = ["0", "-0.00", "1", "-1", "123.4500", "9223372036854775807", "-9.999",
               "1E+3", "-25E+2", "0.000000000000000000000000000000000001", "189.2500",
               "-922337203685477.5807", "7.10"]
    for text in samples:
        want = _ScaledInteger(_Decimal(text))
        if vr_dec_parts(_Decimal(text), &m, &s) != 0 or m != want.mantissa or s != want.scale:
            return False
    return all(vr_dec_parts(_Decimal(t), &m, &s) != 0
               for t in ("NaN", "Infinity", "-sNaN", "12345678901234567890", "1E+30"))


cdef bint _DEC_FAST = _dec_layout_ok()

# Declared types (jsoncodec's D_* codes) by name, for the messages of rejected values.
_D_DECIMAL, _D_DOUBLE, _D_BIGINT, _D_STRING, _D_BOOLEAN, _D_TIMESTAMP = range(1, 7)


@cython.final
cdef class _Col:
    """One column being filled from Python values, row by row, typed as it goes."""

    cdef object name
    cdef Py_ssize_t n
    cdef int kind               # T_NULL until the first value; then the column's type so far
    cdef bint generic           # built by column_from_values at the end instead
    cdef object ints            # array('q'): BIGINT, BOOLEAN 0/1, DECIMAL mantissas
    cdef int64_t* iv
    cdef object dbl             # array('d'): DOUBLE
    cdef double* dv
    cdef object scales          # array('B'): each DECIMAL row's own scale
    cdef uint8_t* sv
    cdef int maxscale
    cdef object valid           # array('B'), allocated at the first NULL
    cdef uint8_t* ok
    cdef list strs              # STRING: the caller's str objects
    cdef object offsets         # STRING: array('q') of n + 1 offsets into chars
    cdef int64_t* offs
    cdef char* chars            # STRING: UTF-8 of the rows so far (malloc)
    cdef Py_ssize_t clen, ccap
    cdef Py_ssize_t filled      # STRING: rows whose end offset is written
    cdef object declared        # (code, precision, scale) from a schema, or None

    def __cinit__(self, name, Py_ssize_t n, Py_ssize_t first_row, declared):
        self.name = name
        self.n = n
        self.kind = T_NULL
        self.declared = declared
        self.generic = declared is not None
        if first_row > 0:
            self._alloc_valid()
            memset(self.ok, 0, first_row)

    def __dealloc__(self):
        free(self.chars)

    cdef int _put_string(self, Py_ssize_t r, object v) except -1:
        # Rows arrive in order: the bytes are appended while the str is at hand.
        cdef Py_ssize_t size, need
        cdef const char* p
        cdef char* grown
        if PyUnicode_IS_COMPACT_ASCII(v):
            p = <const char*>PyUnicode_DATA(v)
            size = PyUnicode_GET_LENGTH(v)
        else:
            p = PyUnicode_AsUTF8AndSize(v, &size)
        need = self.clen + size
        if need > self.ccap:
            self.ccap = max(need, 2 * self.ccap, 256)
            grown = <char*>realloc(self.chars, self.ccap)
            if grown == NULL:
                raise MemoryError()
            self.chars = grown
        if size:
            memcpy(self.chars + self.clen, p, size)
        while self.filled < r:
            self.filled += 1
            self.offs[self.filled] = self.clen
        self.clen = need
        self.offs[r + 1] = need
        self.filled = r + 1
        return 0

    cdef int _alloc_valid(self) except -1:
        self.valid = array.clone(_B, self.n, False)
        self.ok = <uint8_t*>(<array.array>self.valid).data.as_voidptr
        memset(self.ok, 1, self.n)
        return 0

    cdef int _alloc_ints(self) except -1:
        self.ints = array.clone(_Q, self.n, True)
        self.iv = <int64_t*>(<array.array>self.ints).data.as_voidptr
        return 0

    cdef int _to_decimal(self) except -1:
        # Rows so far are BIGINT (or NULL): DECIMAL rows at scale 0.
        self.scales = array.clone(_B, self.n, True)
        self.sv = <uint8_t*>(<array.array>self.scales).data.as_voidptr
        self.kind = T_DECIMAL
        return 0

    cdef int _to_float(self, Py_ssize_t r) except -1:
        cdef Py_ssize_t k
        self.dbl = array.clone(_D, self.n, True)
        self.dv = <double*>(<array.array>self.dbl).data.as_voidptr
        if self.kind == T_INT64:
            for k in range(r):
                self.dv[k] = <double>self.iv[k]
        self.kind = T_FLOAT64
        return 0

    cdef inline int null(self, Py_ssize_t r) except -1:
        if self.ok == NULL:
            self._alloc_valid()
        self.ok[r] = 0
        return 0

    cdef inline int put(self, Py_ssize_t r, object v) except -1:
        cdef type t = type(v)
        cdef int overflow = 0
        cdef long long x
        cdef int64_t m
        cdef int s
        cdef si_t sv
        cdef PyObject* old
        if v is None:
            return self.null(r)
        if self.generic:
            return 0
        if t is float:
            if self.kind == T_FLOAT64:
                self.dv[r] = PyFloat_AS_DOUBLE(v)
                return 0
            if self.kind != T_NULL and self.kind != T_INT64:
                self.generic = True
                return 0
            self._to_float(r)
            self.dv[r] = PyFloat_AS_DOUBLE(v)
            return 0
        if t is int:
            x = PyLong_AsLongLongAndOverflow(v, &overflow)
            if overflow:
                self.generic = True     # past int64: exact Python ints or wide DECIMAL
                return 0
            if self.kind == T_INT64:
                self.iv[r] = x
            elif self.kind == T_FLOAT64:
                self.dv[r] = <double>x
            elif self.kind == T_DECIMAL:
                self.iv[r] = x
                self.sv[r] = 0
            elif self.kind == T_NULL:
                self._alloc_ints()
                self.kind = T_INT64
                self.iv[r] = x
            else:
                self.generic = True
            return 0
        if t is _DECIMAL:
            if not _DEC_FAST or vr_dec_parts(v, &m, &s) != 0:
                self.generic = True
                return 0
            return self._put_decimal(r, m, s)
        if t is _SCALED:
            if si_unbox_checked(<ScaledInteger>v, &sv) != SI_OK:
                self.generic = True
                return 0
            return self._put_decimal(r, sv.m, sv.s)
        if t is str:
            if self.kind == T_NULL:
                self.strs = [None] * self.n
                self.offsets = array.clone(_Q, self.n + 1, True)
                self.offs = <int64_t*>(<array.array>self.offsets).data.as_voidptr
                self.kind = T_STRING
            elif self.kind != T_STRING:
                self.generic = True
                return 0
            self._put_string(r, v)
            # The slot holds None: swap without the generic item assignment.
            old = PyList_GET_ITEM(self.strs, r)
            Py_INCREF(v)
            PyList_SET_ITEM(self.strs, r, v)
            Py_DECREF(<object>old)
            return 0
        if t is bool:
            if self.kind == T_NULL:
                self._alloc_ints()
                self.kind = T_BOOL
            elif self.kind != T_BOOL:
                self.generic = True
                return 0
            self.iv[r] = v is True
            return 0
        # datetime, nested values, subclasses, anything else: column_from_values decides.
        self.generic = True
        return 0

    cdef int _put_decimal(self, Py_ssize_t r, int64_t m, int s) except -1:
        if self.kind == T_NULL:
            self._alloc_ints()
            self._to_decimal()
        elif self.kind == T_INT64:
            self._to_decimal()
        elif self.kind != T_DECIMAL:
            self.generic = True
            return 0
        self.iv[r] = m
        self.sv[r] = <uint8_t>s
        if s > self.maxscale:
            self.maxscale = s
        return 0

    cdef Column finish(self, object values_of):
        """The column; ``values_of()`` gives the Python values when the typed pass gave up."""
        cdef Py_ssize_t k, n = self.n
        cdef int d
        cdef int64_t m
        cdef StringColumn c
        if not self.generic:
            if self.kind == T_NULL:
                return NullColumn(n)
            if self.kind == T_INT64:
                return make_int64(self.ints, self.valid, n, T_INT64)
            if self.kind == T_FLOAT64:
                return make_float64(self.dbl, self.valid, n)
            if self.kind == T_BOOL:
                return self._bools()
            if self.kind == T_STRING:
                while self.filled < n:
                    self.filled += 1
                    self.offs[self.filled] = self.clen
                c = make_string(PyBytes_FromStringAndSize(self.chars, self.clen), self.offsets,
                                self.valid, n)
                c._strings = self.strs
                return c
            if self.kind == T_DECIMAL:
                # Mantissas go to the column scale (each row keeps its own scale to print).
                for k in range(n):
                    if self.ok != NULL and not self.ok[k]:
                        self.sv[k] = <uint8_t>self.maxscale
                        continue
                    d = self.maxscale - self.sv[k]
                    if d:
                        m = self.iv[k]
                        if d > 18 or __builtin_mul_overflow(m, <int64_t>vs_upow10[d], &m):
                            self.generic = True
                            break
                        self.iv[k] = m
                else:
                    for k in range(n):
                        if self.sv[k] != self.maxscale:
                            break
                    else:
                        self.scales = None
                    return make_decimal_rs(self.ints, self.valid, n, self.maxscale, self.scales)
        values = values_of()
        if self.declared is not None:
            return _declared_column(self.name, values, self.declared)
        return column_from_values(values)

    cdef Column _bools(self):
        cdef Py_ssize_t k
        cdef object data = array.clone(_B, self.n, False)
        cdef uint8_t* dst = <uint8_t*>(<array.array>data).data.as_voidptr
        for k in range(self.n):
            dst[k] = <uint8_t>self.iv[k]
        return make_bool(data, self.valid, self.n)


def _declared_column(name, values, declared):
    """A column of the declared type (code, precision, scale) from Python values."""
    code, prec, scale = declared
    for i, v in enumerate(values):
        if v is not None and not _fits_declared(code, v):
            raise ValueError(f"column {name!r} row {i}: {v!r} is not a {_TYPE_OF[code]} value")
    if code == _D_DECIMAL:
        try:
            column = decimal_column(values, None if scale < 0 else scale)
        except (ValueError, OverflowError) as err:
            raise ValueError(f"column {name!r}: {err}") from None
        if prec > 0:
            for i, v in enumerate(column.to_pylist()):
                # |v| < 10**(p - s) with v = m / 10**v.scale
                if v is not None and abs(v.mantissa) >= 10 ** (prec - max(scale, 0) + v.scale):
                    raise ValueError(f"column {name!r} row {i}: {values[i]!r} does not fit "
                                     f"DECIMAL({prec},{max(scale, 0)})")
            column.precision = prec
        return column
    if code == _D_DOUBLE:
        return float64_column([None if v is None else float(v) for v in values])
    if code == _D_BIGINT:
        return int64_column(values)
    if code == _D_STRING:
        return string_column(values)
    if code == _D_BOOLEAN:
        return bool_column(values)
    return int64_column(values, timestamp=True)


_TYPE_OF = {_D_DECIMAL: "DECIMAL", _D_DOUBLE: "DOUBLE", _D_BIGINT: "BIGINT", _D_STRING: "STRING",
            _D_BOOLEAN: "BOOLEAN", _D_TIMESTAMP: "TIMESTAMP"}
_NUMBERS = (int, float, _Decimal, _ScaledInteger)


def _fits_declared(code, v):
    if isinstance(v, bool):
        return code == _D_BOOLEAN
    if code == _D_DECIMAL:
        return isinstance(v, (int, _Decimal, _ScaledInteger))
    if code == _D_DOUBLE:
        return isinstance(v, _NUMBERS)
    if code == _D_BIGINT:
        return isinstance(v, int) and -(1 << 63) <= v < (1 << 63)
    if code == _D_STRING:
        return isinstance(v, str)
    if code == _D_TIMESTAMP:
        return isinstance(v, _dt.datetime) or (isinstance(v, int) and -(1 << 63) <= v < (1 << 63))
    return False


cdef dict _schema_of(schema):
    return declared_spec(schema) if schema else {}


def batch_from_rows(rows, names=None, schema=None, meta=None):
    """A RecordBatch from dicts (any Mapping); see the module docstring for types and speed.

    ``names`` fixes the columns and their order (keys not named are ignored, missing keys are
    NULL); without it the columns are every key seen, in first-seen order.
    """
    cdef list rlist = rows if type(rows) is list else list(rows)
    cdef Py_ssize_t n = PyList_GET_SIZE(rlist), r, j, ncols, pos
    cdef dict spec = _schema_of(schema)
    cdef bint infer = names is None
    cdef list keys = []
    cdef dict index = {}
    cdef list cols = []
    cdef PyObject* k
    cdef PyObject* v
    cdef PyObject* found
    cdef _Col col
    cdef object row

    def add(key, Py_ssize_t first_row):
        index[key] = len(keys)
        keys.append(key)
        cols.append(_Col(key, n, first_row, spec.get(str(key).lower())))

    if not infer:
        for key in names:
            if key not in index:
                add(key, 0)
    elif n:
        first = <object>PyList_GET_ITEM(rlist, 0)
        for key in first:
            add(key, 0)
    ncols = len(keys)
    for r in range(n):
        row = <object>PyList_GET_ITEM(rlist, r)
        j = 0
        if type(row) is dict:
            pos = 0
            while j < ncols and PyDict_Next(row, &pos, &k, &v):
                if k != PyList_GET_ITEM(keys, j):
                    break
                (<_Col>PyList_GET_ITEM(cols, j)).put(r, <object>v)
                j += 1
            if j == ncols and (not infer or PyDict_GET_SIZE(row) == ncols):
                continue
        if infer:
            for key in row:
                if key not in index:
                    add(key, r)
            ncols = len(keys)
        while j < ncols:
            col = <_Col>PyList_GET_ITEM(cols, j)
            if type(row) is dict:
                found = PyDict_GetItem(row, <object>PyList_GET_ITEM(keys, j))
                col.put(r, None if found == NULL else <object>found)
            else:
                col.put(r, row.get(<object>PyList_GET_ITEM(keys, j)))
            j += 1
    if infer and schema:
        for key in dict(schema):
            if str(key).lower() not in {str(x).lower() for x in keys}:
                add(key, n)     # no row has it: a typed column of NULLs
        ncols = len(keys)
    columns = []
    for j in range(ncols):
        key = keys[j]
        columns.append((<_Col>cols[j]).finish(lambda key=key: [row.get(key) for row in rlist]))
    cdef RecordBatch batch = RecordBatch([str(key) for key in keys], columns, meta)
    if not keys:
        batch.length = n
    return batch


def batch_from_columns(data, schema=None, meta=None):
    """A RecordBatch from ``{name: sequence of values}`` (equal lengths)."""
    cdef dict spec = _schema_of(schema)
    cdef Py_ssize_t r, n = -1
    cdef _Col col
    names, columns = [], []
    for name, values in dict(data).items():
        values = values if type(values) is list else list(values)
        if n < 0:
            n = len(values)
        elif len(values) != n:
            raise ValueError(f"column {name!r} has {len(values)} values, the first has {n}")
        col = _Col(name, len(values), 0, spec.get(str(name).lower()))
        for r in range(len(values)):
            col.put(r, values[r])
        names.append(str(name))
        columns.append(col.finish(lambda values=values: values))
    unknown = set(spec) - {name.lower() for name in names}
    if unknown:
        raise ValueError(f"schema names columns the data does not have: {sorted(unknown)}")
    return RecordBatch(names, columns, meta)


def rows_from_batch(RecordBatch batch):
    """The rows of ``batch`` as dicts, one per row, keyed by its column names."""
    cdef Py_ssize_t i, j, n = batch.length, ncols = len(batch.columns)
    cdef list out = PyList_New(n)
    cdef tuple names = batch.names
    cdef list lists = []
    cdef object d, v
    cdef Column c
    cdef int* kinds = <int*>malloc((ncols + 1) * sizeof(int))
    cdef void** cols = <void**>malloc((ncols + 1) * sizeof(void*))
    if kinds == NULL or cols == NULL:
        free(kinds)
        free(cols)
        raise MemoryError()
    try:
        # Columns whose values box in a C loop are read per row; the others once, as lists.
        for j in range(ncols):
            c = <Column>batch.columns[j]
            cols[j] = <void*>c
            if c.type == T_INT64 or c.type == T_FLOAT64:
                kinds[j] = c.type
                lists.append(None)
            elif c.type == T_DECIMAL and not dec_is_wide(<DecimalColumn>c):
                kinds[j] = T_DECIMAL
                lists.append(None)
            else:
                kinds[j] = T_OBJECT
                lists.append(c.to_pylist())
        for i in range(n):
            d = _PyDict_NewPresized(ncols)
            for j in range(ncols):
                c = <Column>cols[j]
                if kinds[j] == T_OBJECT:
                    v = <object>PyList_GET_ITEM(<list>lists[j], i)
                elif not c.is_valid(i):
                    v = None
                elif kinds[j] == T_INT64:
                    v = (<Int64Column>c).values[i]
                elif kinds[j] == T_FLOAT64:
                    v = (<Float64Column>c).values[i]
                else:
                    v = si_box(dec_row(<DecimalColumn>c, i))
                PyDict_SetItem(d, names[j], v)
            Py_INCREF(d)
            PyList_SET_ITEM(out, i, d)
    finally:
        free(kinds)
        free(cols)
    return out
