# cython: language_level=3
"""Typed columns and RecordBatch (see batch.pxd for the layout and its reasons)."""

cimport cython
from cpython cimport array
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.string cimport memcpy, memset

cdef extern from *:
    """
    static inline int vb_mul(int64_t a, int64_t b, int64_t *r) {
        return __builtin_mul_overflow(a, b, r); }
    static inline int vb_add(int64_t a, int64_t b, int64_t *r) {
        return __builtin_add_overflow(a, b, r); }
    static inline int vs_add128(vs_i128 a, vs_i128 b, vs_i128 *r) {
        return __builtin_add_overflow(a, b, r); }
    """
    int vb_mul(int64_t a, int64_t b, int64_t* r) noexcept nogil
    int vb_add(int64_t a, int64_t b, int64_t* r) noexcept nogil
    bint vs_add128(vs_i128 a, vs_i128 b, vs_i128* r) noexcept nogil

import array as _pyarray
import datetime as _dt
from decimal import Decimal as _Decimal

from velostream._core.decimal cimport (
    SI_OK, ScaledInteger, si_box, si_box_parts, si_rescale, si_unbox_checked,
)

from velostream._core.decimal import ScaledInteger as _ScaledInteger

cdef array.array _Q = _pyarray.array("q")
cdef array.array _D = _pyarray.array("d")
cdef array.array _B = _pyarray.array("B")
cdef object _EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
cdef object _MS = _dt.timedelta(milliseconds=1)
cdef object _MASK64 = (1 << 64) - 1
cdef object _P38 = 10 ** 38
cdef tuple _P10 = tuple(10 ** k for k in range(39))

TYPE_NAMES = {
    T_NULL: "NULL", T_BOOL: "BOOLEAN", T_INT64: "BIGINT", T_FLOAT64: "DOUBLE",
    T_DECIMAL: "DECIMAL", T_STRING: "STRING", T_TIMESTAMP: "TIMESTAMP", T_OBJECT: "OBJECT",
}
NULL_TYPE, BOOL, INT64, FLOAT64, DECIMAL, STRING, TIMESTAMP, OBJECT = range(8)


cdef object new_int64_array(Py_ssize_t n):
    return array.clone(_Q, n, False)


cdef object new_double_array(Py_ssize_t n):
    return array.clone(_D, n, False)


cdef object new_byte_array(Py_ssize_t n, bint zero):
    return array.clone(_B, n, zero)


cdef void* _buf_ptr(object data) except? NULL:
    """The memory of a column buffer: an ``array.array``, ``bytes``/``bytearray``, or any
    read-only buffer whose memory stays put while the object lives (a ``pyarrow.Buffer``: how
    ``from_arrow`` shares Arrow's memory instead of copying it). The column keeps ``data``."""
    cdef Py_buffer view
    cdef void* p
    if type(data) is array.array:
        return (<array.array>data).data.as_voidptr
    if type(data) is bytes:
        return <void*><const char*>(<bytes>data)
    if type(data) is bytearray:
        return <void*><char*>(<bytearray>data)
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    p = view.buf
    PyBuffer_Release(&view)
    return p


cdef inline uint8_t* _bytes_ptr(object validity):
    if validity is None:
        return NULL
    return <uint8_t*>(<array.array>validity).data.as_voidptr


def timestamp_to_datetime(int64_t ms):
    """An epoch-millisecond TIMESTAMP as an aware UTC datetime; outside years 1..9999, which a
    datetime cannot hold, as its ISO-8601 text (what the encoders write) rather than failing."""
    if _MIN_EPOCH_MS <= ms <= _MAX_EPOCH_MS:
        return _EPOCH + ms * _MS
    from velostream._core.kernels_py import format_timestamp
    return format_timestamp(ms)


cdef class Column:
    """Base of all columns; ``get(i)`` gives the Python value (None for NULL)."""

    cpdef object get(self, Py_ssize_t i):
        raise NotImplementedError

    cpdef Column take(self, const int64_t[::1] rows):
        raise NotImplementedError

    cpdef Py_ssize_t null_count(self):
        cdef Py_ssize_t i, n = 0
        if self.valid == NULL:
            return 0
        for i in range(self.length):
            n += self.valid[i] == 0
        return n

    def __len__(self):
        return self.length

    def __getitem__(self, Py_ssize_t i):
        if i < 0:
            i += self.length
        if not 0 <= i < self.length:
            raise IndexError("column index out of range")
        return self.get(i)

    def to_pylist(self):
        return [self.get(i) for i in range(self.length)]

    @property
    def type_name(self):
        return TYPE_NAMES[self.type]

    def __repr__(self):
        shown = self.to_pylist()[:5]
        more = ", …" if self.length > 5 else ""
        return f"{type(self).__name__}<{self.type_name}>[{self.length}]({shown!r}{more})"

    cdef object _take_validity(self, const int64_t[::1] rows):
        cdef Py_ssize_t i, n = rows.shape[0]
        cdef object out
        cdef uint8_t* dst
        if self.valid == NULL:
            return None
        out = new_byte_array(n, False)
        dst = _bytes_ptr(out)
        for i in range(n):
            dst[i] = self.valid[rows[i]]
        return out


cdef class NullColumn(Column):
    """All values NULL; the type is decided by a later batch or a CAST."""

    def __cinit__(self, Py_ssize_t length=0):
        self.type = T_NULL
        self.length = length
        self.validity = new_byte_array(length, True)
        self.valid = _bytes_ptr(self.validity)

    cpdef object get(self, Py_ssize_t i):
        return None

    cpdef Column take(self, const int64_t[::1] rows):
        return NullColumn(rows.shape[0])


cdef class Int64Column(Column):
    cpdef object get(self, Py_ssize_t i):
        if not self.is_valid(i):
            return None
        if self.type == T_TIMESTAMP:
            return timestamp_to_datetime(self.values[i])
        return self.values[i]

    def to_pylist(self):
        cdef Py_ssize_t i
        if self.type == T_TIMESTAMP:
            return Column.to_pylist(self)
        return [self.values[i] if self.is_valid(i) else None for i in range(self.length)]

    cpdef Column take(self, const int64_t[::1] rows):
        cdef Py_ssize_t i, n = rows.shape[0]
        cdef object data = new_int64_array(n)
        cdef int64_t* dst = <int64_t*>(<array.array>data).data.as_voidptr
        for i in range(n):
            dst[i] = self.values[rows[i]]
        return make_int64(data, self._take_validity(rows), n, self.type)


cdef class Float64Column(Column):
    cpdef object get(self, Py_ssize_t i):
        return self.values[i] if self.is_valid(i) else None

    def to_pylist(self):
        cdef Py_ssize_t i
        return [self.values[i] if self.is_valid(i) else None for i in range(self.length)]

    cpdef Column take(self, const int64_t[::1] rows):
        cdef Py_ssize_t i, n = rows.shape[0]
        cdef object data = new_double_array(n)
        cdef double* dst = <double*>(<array.array>data).data.as_voidptr
        for i in range(n):
            dst[i] = self.values[rows[i]]
        return make_float64(data, self._take_validity(rows), n)


cdef class BoolColumn(Column):
    cpdef object get(self, Py_ssize_t i):
        return bool(self.values[i]) if self.is_valid(i) else None

    cpdef Column take(self, const int64_t[::1] rows):
        cdef Py_ssize_t i, n = rows.shape[0]
        cdef object data = new_byte_array(n, False)
        cdef uint8_t* dst = _bytes_ptr(data)
        for i in range(n):
            dst[i] = self.values[rows[i]]
        return make_bool(data, self._take_validity(rows), n)


cdef class DecimalColumn(Column):
    cpdef object get(self, Py_ssize_t i):
        if not self.is_valid(i):
            return None
        if self.w != NULL:
            return _box128(vs_ld128(self.w, i), self.scale, self.row_scale(i))
        if self.wide is not None:
            return self.wide[i]
        return si_box(dec_row(self, i))

    def to_pylist(self):
        cdef Py_ssize_t i
        if dec_is_wide(self):
            return Column.to_pylist(self)
        return [si_box(dec_row(self, i)) if self.is_valid(i) else None for i in range(self.length)]

    @property
    def is_wide(self):
        """Whether some mantissa exceeds int64 (int128 storage or ScaledInteger objects)."""
        return dec_is_wide(self)

    @property
    def storage(self):
        """How the rows are held: "int64", "int128" (two limbs per row, typed kernels) or
        "object" (ScaledInteger per row: some mantissa past 38 digits)."""
        if self.w != NULL:
            return "int128"
        return "int64" if self.wide is None else "object"

    cpdef Column take(self, const int64_t[::1] rows):
        cdef Py_ssize_t i, n = rows.shape[0]
        cdef object wdata
        cdef int64_t* wdst
        if dec_is_objects(self):
            return make_decimal_values([self.wide[rows[i]] if self.is_valid(rows[i]) else None
                                        for i in range(n)], n, self.scale, False)
        cdef object scales = None
        cdef uint8_t* sdst
        if self.rscales != NULL:
            scales = new_byte_array(n, False)
            sdst = _bytes_ptr(scales)
            for i in range(n):
                sdst[i] = self.rscales[rows[i]]
        if self.w != NULL:
            wdata = new_int64_array(2 * n)
            wdst = <int64_t*>(<array.array>wdata).data.as_voidptr
            for i in range(n):
                vs_st128(wdst, i, vs_ld128(self.w, rows[i]))
            return make_decimal128(wdata, self._take_validity(rows), n, self.scale, scales)
        cdef object data = new_int64_array(n)
        cdef int64_t* dst = <int64_t*>(<array.array>data).data.as_voidptr
        for i in range(n):
            dst[i] = self.values[rows[i]]
        return make_decimal_rs(data, self._take_validity(rows), n, self.scale, scales)


cdef class StringColumn(Column):
    cpdef object get(self, Py_ssize_t i):
        if not self.is_valid(i):
            return None
        if self._strings is not None:
            return self._strings[i]
        return self.chars[self.offs[i]:self.offs[i + 1]].decode("utf-8")

    def to_pylist(self):
        cdef Py_ssize_t i
        if self._strings is None:
            self._strings = [
                self.chars[self.offs[i]:self.offs[i + 1]].decode("utf-8")
                if self.is_valid(i) else None
                for i in range(self.length)
            ]
        return list(self._strings)

    cpdef Column take(self, const int64_t[::1] rows):
        cdef Py_ssize_t i, n = rows.shape[0], total = 0, start, size, pos = 0
        cdef int64_t r
        for i in range(n):
            r = rows[i]
            total += self.offs[r + 1] - self.offs[r]
        cdef bytearray buf = bytearray(total)
        cdef char* dst = buf
        cdef object offsets = new_int64_array(n + 1)
        cdef int64_t* offs = <int64_t*>(<array.array>offsets).data.as_voidptr
        offs[0] = 0
        for i in range(n):
            r = rows[i]
            start = self.offs[r]
            size = self.offs[r + 1] - start
            if size:
                memcpy(dst + pos, self.chars + start, size)
            pos += size
            offs[i + 1] = pos
        cdef StringColumn out = make_string(buf, offsets, self._take_validity(rows), n)
        if self._strings is not None:
            # Rows passing through keep the caller's str objects (no decoding on the way out).
            out._strings = [self._strings[rows[i]] for i in range(n)]
        return out


cdef class ObjectColumn(Column):
    def __cinit__(self, list values=None, object validity=None):
        self.type = T_OBJECT
        self.values = values if values is not None else []
        self.length = len(self.values)
        self.validity = validity
        self.valid = _bytes_ptr(validity)

    cpdef object get(self, Py_ssize_t i):
        return self.values[i] if self.is_valid(i) else None

    cpdef Column take(self, const int64_t[::1] rows):
        cdef Py_ssize_t i
        return ObjectColumn([self.values[rows[i]] for i in range(rows.shape[0])],
                            self._take_validity(rows))


cdef Int64Column make_int64(object data, object validity, Py_ssize_t n, int type):
    cdef Int64Column c = Int64Column.__new__(Int64Column)
    c.type = type
    c.length = n
    c.data = data
    c.values = <int64_t*>_buf_ptr(data)
    c.validity = validity
    c.valid = _bytes_ptr(validity)
    return c


cdef Float64Column make_float64(object data, object validity, Py_ssize_t n):
    cdef Float64Column c = Float64Column.__new__(Float64Column)
    c.type = T_FLOAT64
    c.length = n
    c.data = data
    c.values = <double*>_buf_ptr(data)
    c.validity = validity
    c.valid = _bytes_ptr(validity)
    return c


cdef BoolColumn make_bool(object data, object validity, Py_ssize_t n):
    cdef BoolColumn c = BoolColumn.__new__(BoolColumn)
    c.type = T_BOOL
    c.length = n
    c.data = data
    c.values = <uint8_t*>_buf_ptr(data)
    c.validity = validity
    c.valid = _bytes_ptr(validity)
    return c


cdef DecimalColumn make_decimal(object data, object validity, Py_ssize_t n, int scale):
    cdef DecimalColumn c = DecimalColumn.__new__(DecimalColumn)
    c.type = T_DECIMAL
    c.length = n
    c.data = data
    c.values = <int64_t*>_buf_ptr(data)
    c.scale = scale
    c.validity = validity
    c.valid = _bytes_ptr(validity)
    return c


cdef DecimalColumn make_decimal_rs(object data, object validity, Py_ssize_t n, int scale,
                                   object row_scales):
    cdef DecimalColumn c = make_decimal(data, validity, n, scale)
    c.row_scales = row_scales
    c.rscales = _bytes_ptr(row_scales)
    return c


cdef DecimalColumn make_decimal_values(list values, Py_ssize_t n, int scale, bint uniform):
    cdef Py_ssize_t i
    cdef object data = array.clone(_Q, n, False)
    cdef int64_t* dst = <int64_t*>(<array.array>data).data.as_voidptr
    cdef object scales = None, validity = None
    cdef uint8_t* rs = NULL
    cdef uint8_t* ok = NULL
    cdef ScaledInteger box
    cdef list boxes = [None] * n
    cdef bint wide = False
    cdef si_t v
    for i in range(n):
        x = values[i]
        if x is None:
            if ok == NULL:
                validity = array.clone(_B, n, False)
                ok = _bytes_ptr(validity)
                memset(ok, 1, n)
            ok[i] = 0
            dst[i] = 0
            continue
        box = x if type(x) is _ScaledInteger else _ScaledInteger(x)
        if box.scale > scale or (uniform and box.scale != scale):
            box = box.rescale(scale)
        boxes[i] = box
        if box.scale != scale and rs == NULL:
            scales = array.clone(_B, n, False)
            rs = _bytes_ptr(scales)
            memset(rs, scale, n)
        if rs != NULL:
            rs[i] = box.scale
        if wide:
            continue
        if si_unbox_checked(box, &v) != SI_OK or si_rescale(v, scale, &v) != SI_OK:
            wide = True
            continue
        dst[i] = v.m
    if not wide:
        return make_decimal_rs(data, validity, n, scale, scales)
    # Past int64: int128 storage when every mantissa at the column scale has at most 38 digits.
    cdef object wdata = new_int64_array(2 * n)
    cdef int64_t* w = <int64_t*>(<array.array>wdata).data.as_voidptr
    cdef object m
    for i in range(n):
        if boxes[i] is None:
            vs_st128(w, i, 0)
            continue
        box = boxes[i]
        m = box.mantissa
        if box.scale != scale:
            m = m * _P10[scale - box.scale]
        if not (-_P38 < m < _P38):
            break
        vs_st128(w, i, vs_mk128(<int64_t>(m >> 64), <uint64_t>(m & _MASK64)))
    else:
        return make_decimal128(wdata, validity, n, scale, scales)
    memset(dst, 0, n * sizeof(int64_t))
    cdef DecimalColumn c = make_decimal(data, validity, n, scale)
    c.wide = boxes
    return c


cdef DecimalColumn make_decimal128(object wdata, object validity, Py_ssize_t n, int scale,
                                   object row_scales):
    cdef Py_ssize_t i
    cdef const int64_t* w = <int64_t*>_buf_ptr(wdata)
    cdef const uint8_t* ok = _bytes_ptr(validity)
    cdef vs_i128 v
    cdef bint narrow = True
    cdef object data = array.clone(_Q, n, False)
    cdef int64_t* dst = <int64_t*>(<array.array>data).data.as_voidptr
    for i in range(n):
        v = vs_ld128(w, i)
        if ok != NULL and not ok[i]:
            v = 0
        if not vs_fits64(v):
            narrow = False
            break
        dst[i] = <int64_t>v
    if narrow:
        return make_decimal_rs(data, validity, n, scale, row_scales)
    if n:
        memset(dst, 0, n * sizeof(int64_t))
    cdef DecimalColumn c = make_decimal_rs(data, validity, n, scale, row_scales)
    c.wdata = wdata
    c.w = <int64_t*>_buf_ptr(wdata)
    return c


cdef object dec_uniform_scales(object scales, Py_ssize_t n, int scale):
    cdef const uint8_t* p = _bytes_ptr(scales)
    cdef Py_ssize_t i
    if p == NULL:
        return None
    for i in range(n):
        if p[i] != scale:
            return scales
    return None


cdef object _py128(vs_i128 v):
    """The Python int of an int128."""
    return (<object>vs_hi128(v) << 64) | <object>vs_lo128(v)


cdef ScaledInteger _box128(vs_i128 m, int scale, int row_scale):
    """The ScaledInteger of mantissa ``m`` at ``scale``, at its own ``row_scale``."""
    if row_scale != scale:
        m = m // vs_p10t[scale - row_scale]
    return si_box_parts(_py128(m), row_scale)


cdef list dec_objects(DecimalColumn c):
    cdef Py_ssize_t i
    cdef list out
    if c.wide is None and c.w != NULL:
        out = [None] * c.length
        for i in range(c.length):
            if c.is_valid(i):
                out[i] = _box128(vs_ld128(c.w, i), c.scale, c.row_scale(i))
        c.wide = out
    return c.wide


cdef object dec_sum(DecimalColumn c):
    cdef Py_ssize_t i, n = c.length
    cdef bint any_row = False
    cdef vs_i128 acc = 0, m, nxt
    spilled = 0
    if dec_is_objects(c):
        present = [x for x in c.wide if x is not None]
        return sum(present[1:], present[0]) if present else None
    # An int128 partial sum of int64 or 38-digit rows spills into a Python int only past
    # 1.7e38 (rarely): exact, and no object per row.
    for i in range(n):
        if c.valid != NULL and not c.valid[i]:
            continue
        any_row = True
        m = vs_ld128(c.w, i) if c.w != NULL else <vs_i128>c.values[i]
        if vs_add128(acc, m, &nxt):
            spilled += _py128(acc)
            nxt = m
        acc = nxt
    if not any_row:
        return None
    return _ScaledInteger.from_parts(spilled + _py128(acc), c.scale).rescale(dec_max_row_scale(c))


def decimal_sum(DecimalColumn column):
    """SUM of a DECIMAL column, exact at any size (see ``dec_sum`` in batch.pxd)."""
    return dec_sum(column)


cdef int dec_max_row_scale(DecimalColumn c) noexcept:
    cdef Py_ssize_t i
    cdef int best = -1
    if dec_is_objects(c):
        for x in c.wide:
            if x is not None and (<ScaledInteger>x).scale > best:
                best = (<ScaledInteger>x).scale
        return best if best >= 0 else 0
    if c.rscales == NULL:
        return c.scale
    for i in range(c.length):
        if c.is_valid(i) and c.rscales[i] > best:
            best = c.rscales[i]
            if best == c.scale:
                break
    return best if best >= 0 else 0


cdef StringColumn make_string(object buffer, object offsets, object validity, Py_ssize_t n):
    cdef StringColumn c = StringColumn.__new__(StringColumn)
    c.type = T_STRING
    c.length = n
    c.buffer = buffer
    c.offsets = offsets
    c.chars = <const char*>_buf_ptr(buffer)
    c.offs = <int64_t*>_buf_ptr(offsets)
    c.validity = validity
    c.valid = _bytes_ptr(validity)
    c._strings = None
    return c


# --------------------------------------------------------------------------- Python builders

def int64_column(values, timestamp=False):
    """A BIGINT (or TIMESTAMP, epoch ms) column from Python ints / None."""
    cdef Py_ssize_t i, n = len(values)
    cdef object data = new_int64_array(n)
    cdef int64_t* dst = <int64_t*>(<array.array>data).data.as_voidptr
    for i in range(n):
        v = values[i]
        if v is None:
            dst[i] = 0
        else:
            dst[i] = datetime_to_epoch_ms(v) if timestamp else v
    return make_int64(data, _validity_for(values), n, T_TIMESTAMP if timestamp else T_INT64)


def constant_int64_column(int64_t value, Py_ssize_t n, timestamp=False):
    """A BIGINT (or TIMESTAMP) column of ``n`` rows all ``value`` (a file's ``_partition`` 0,
    its ``_timestamp``), filled in C instead of from a list of n Python ints."""
    cdef Py_ssize_t i
    cdef object data = new_int64_array(n)
    cdef int64_t* dst = <int64_t*>(<array.array>data).data.as_voidptr
    for i in range(n):
        dst[i] = value
    return make_int64(data, None, n, T_TIMESTAMP if timestamp else T_INT64)


# The range Python's datetime can show: 0001-01-01 .. 9999-12-31T23:59:59.999 UTC.
cdef int64_t _MIN_EPOCH_MS = -62135596800000
cdef int64_t _MAX_EPOCH_MS = 253402300799999
MIN_EPOCH_MS, MAX_EPOCH_MS = _MIN_EPOCH_MS, _MAX_EPOCH_MS


def epoch_column(Column column, int64_t factor=1):
    """A TIMESTAMP column from a BIGINT (epoch units of ``factor`` ms) or TIMESTAMP column.

    Returns ``(column, missing)``: ``missing`` lists the rows that were NULL or whose value lies
    outside years 1..9999 once in milliseconds (their timestamp is NULL).
    """
    if column.type != T_INT64 and column.type != T_TIMESTAMP:
        raise TypeError(f"epoch_column needs a BIGINT or TIMESTAMP column, not {column.type_name}")
    cdef Int64Column src = <Int64Column>column
    cdef Py_ssize_t i, n = src.length
    cdef list missing = []
    cdef object data = new_int64_array(n)
    cdef object validity = new_byte_array(n, False)
    cdef int64_t* dst = <int64_t*>(<array.array>data).data.as_voidptr
    cdef uint8_t* ok = <uint8_t*>(<array.array>validity).data.as_voidptr
    if column.type == T_TIMESTAMP:
        factor = 1
    for i in range(n):
        if (src.is_valid(i) and not vb_mul(src.values[i], factor, &dst[i])
                and _MIN_EPOCH_MS <= dst[i] <= _MAX_EPOCH_MS):
            ok[i] = 1
        else:
            dst[i] = 0
            ok[i] = 0
            missing.append(i)
    return make_int64(data, validity if missing else None, n, T_TIMESTAMP), missing


cdef int64_t datetime_to_epoch_ms(object v) except? -1:
    """A datetime as epoch milliseconds (a naive one read as UTC); other values unchanged (an
    int is already epoch ms). The one conversion: codecs and kernels cimport it."""
    if isinstance(v, _dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=_dt.timezone.utc)
        return (v - _EPOCH) // _MS
    return v


def _validity_for(values):
    cdef Py_ssize_t i, n = len(values)
    if all(v is not None for v in values):
        return None
    validity = array.clone(_B, n, False)
    cdef uint8_t* p = _bytes_ptr(validity)
    for i in range(n):
        p[i] = values[i] is not None
    return validity


def float64_column(values):
    cdef Py_ssize_t i, n = len(values)
    data = array.clone(_D, n, False)
    cdef double* dst = <double*>(<array.array>data).data.as_voidptr
    for i in range(n):
        v = values[i]
        dst[i] = 0.0 if v is None else <double>v
    return make_float64(data, _validity_for(values), n)


def bool_column(values):
    cdef Py_ssize_t i, n = len(values)
    data = array.clone(_B, n, False)
    cdef uint8_t* dst = _bytes_ptr(data)
    for i in range(n):
        v = values[i]
        dst[i] = 1 if (v is not None and v) else 0
    return make_bool(data, _validity_for(values), n)


def decimal_column(values, scale=None):
    """A DECIMAL column from ScaledInteger/Decimal/int/str values. Without ``scale`` each value
    keeps its own (ints scale 0) and the column scale is the largest; with it every value is
    brought to ``scale`` (half-even), as a declared type does. Values past an int64 mantissa
    make a wide column (exact ScaledInteger objects)."""
    converted = [None if v is None else (v if isinstance(v, _ScaledInteger) else _ScaledInteger(v))
                 for v in values]
    own = scale is None
    if own:
        scale = max([v.scale for v in converted if v is not None], default=0)
    return make_decimal_values(converted, len(converted), scale, not own)


def string_column(values):
    """A STRING column from str / None values."""
    cdef Py_ssize_t i, n = len(values)
    encoded = [b"" if v is None else v.encode("utf-8") for v in values]
    offsets = array.clone(_Q, n + 1, False)
    cdef int64_t* offs = <int64_t*>(<array.array>offsets).data.as_voidptr
    cdef int64_t pos = 0
    offs[0] = 0
    for i in range(n):
        pos += len(encoded[i])
        offs[i + 1] = pos
    column = make_string(b"".join(encoded), offsets, _validity_for(values), n)
    return column


cdef Py_ssize_t _nbytes(object data) except -1:
    cdef Py_buffer view
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    cdef Py_ssize_t n = view.len
    PyBuffer_Release(&view)
    return n


def column_from_buffers(int kind, Py_ssize_t n, data, validity=None, int scale=0, offsets=None,
                        bint wide=False):
    """A column over existing buffers, sharing their memory (``from_arrow``).

    ``data``: any read-only buffer object whose memory stays put while it lives (``array``,
    ``bytes``, ``pyarrow.Buffer``): n int64 (BIGINT, TIMESTAMP epoch ms, DECIMAL mantissas at
    ``scale``; with ``wide`` 2n int64 limbs per row, the little-endian int128 of decimal128),
    n doubles, n bytes 0/1 (BOOLEAN), or the UTF-8 bytes of a STRING column with ``offsets``
    (n + 1 int64). ``validity``: None or n bytes, 1 = present; NULL rows must hold zeros.
    Buffer sizes are checked; contents are trusted.
    """
    cdef Py_ssize_t width = 8
    cdef const int64_t* offs
    if validity is not None:
        if not (type(validity) is array.array and (<array.array>validity).typecode == b"B"):
            validity = _pyarray.array("B", bytes(validity))
        if len(validity) < n:
            raise ValueError(f"validity holds {len(validity)} rows, not {n}")
    if kind == T_BOOL:
        width = 1
    elif kind == T_DECIMAL and wide:
        width = 16
    if kind == T_STRING:
        if offsets is None or _nbytes(offsets) < 8 * (n + 1):
            raise ValueError(f"a STRING column of {n} rows needs {n + 1} int64 offsets")
        offs = <const int64_t*>_buf_ptr(offsets)
        if offs[0] < 0 or offs[n] < offs[0] or offs[n] > _nbytes(data):
            raise ValueError("string offsets point outside the character buffer")
        return make_string(data, offsets, validity, n)
    if _nbytes(data) < width * n:
        raise ValueError(f"a {TYPE_NAMES.get(kind, kind)} column of {n} rows needs "
                         f"{width * n} bytes, the buffer has {_nbytes(data)}")
    if kind == T_INT64 or kind == T_TIMESTAMP:
        return make_int64(data, validity, n, kind)
    if kind == T_FLOAT64:
        return make_float64(data, validity, n)
    if kind == T_BOOL:
        return make_bool(data, validity, n)
    if kind == T_DECIMAL:
        if not 0 <= scale <= 38:
            raise ValueError(f"DECIMAL scale {scale} is outside 0..38")
        if wide:
            return make_decimal128(data, validity, n, scale, None)
        return make_decimal(data, validity, n, scale)
    raise ValueError(f"no buffer layout for {TYPE_NAMES.get(kind, kind)} columns")


def object_column(values):
    values = list(values)
    return ObjectColumn(values, _validity_for(values))


def null_column(n):
    return NullColumn(n)


def _infer_type(values):
    """The column type a list of Python values needs (DIALECT §3 decoding rules)."""
    kind = T_NULL
    for v in values:
        if v is None:
            continue
        if isinstance(v, bool):
            t = T_BOOL
        elif isinstance(v, int):
            t = T_INT64 if -0x8000000000000000 <= v <= 0x7FFFFFFFFFFFFFFF else T_DECIMAL
        elif isinstance(v, float):
            t = T_FLOAT64
        elif isinstance(v, (_ScaledInteger, _Decimal)):
            t = T_DECIMAL
        elif isinstance(v, str):
            t = T_STRING
        elif isinstance(v, _dt.datetime):
            t = T_TIMESTAMP
        else:
            return T_OBJECT
        if kind == T_NULL or kind == t:
            kind = t
        elif {kind, t} == {T_INT64, T_DECIMAL}:
            kind = T_DECIMAL
        elif {kind, t} <= {T_INT64, T_FLOAT64, T_DECIMAL}:
            kind = T_FLOAT64 if T_FLOAT64 in (kind, t) and T_DECIMAL not in (kind, t) else T_OBJECT
        else:
            return T_OBJECT
    return kind


def column_from_values(values):
    """A column of the narrowest type that holds every value exactly."""
    values = list(values)
    kind = _infer_type(values)
    if kind == T_NULL:
        return NullColumn(len(values))
    if kind == T_BOOL:
        return bool_column(values)
    if kind == T_INT64:
        return int64_column(values)
    if kind == T_FLOAT64:
        return float64_column(values)
    if kind == T_DECIMAL:
        if not any(isinstance(v, (_ScaledInteger, _Decimal)) for v in values):
            return object_column(values)    # integers past int64 stay exact Python ints
        try:
            return decimal_column(values)
        except (OverflowError, ValueError):
            return object_column(values)
    if kind == T_STRING:
        return string_column(values)
    if kind == T_TIMESTAMP:
        return int64_column(values, timestamp=True)
    return object_column(values)


# --------------------------------------------------------------------------- RecordBatch

@cython.final
cdef class RecordBatch:
    """Named columns of equal length, plus pseudo-columns (``_offset``, ``_key`` …) in ``meta``.

    Names keep the spelling of the data; lookups are case-insensitive (DIALECT §1).
    """

    def __init__(self, names, columns, meta=None):
        names = tuple(names)
        columns = tuple(columns)
        if len(names) != len(columns):
            raise ValueError(f"{len(names)} names for {len(columns)} columns")
        lengths = {len(c) for c in columns} | {len(c) for c in (meta or {}).values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {sorted(lengths)}")
        self.names = names
        self.columns = columns
        self.length = lengths.pop() if lengths else 0
        self.meta = dict(meta or {})
        self._index = {}
        for i, name in enumerate(names):
            self._index.setdefault(name.lower(), i)

    @staticmethod
    def from_pylist(rows, names=None, schema=None, meta=None):
        """A batch from a sequence of dicts (rows), in one typed pass.

        ``names``: the columns, in order (other keys are ignored, missing keys are NULL);
        without it, every key seen, in first-seen order. ``schema``: ``{name: type}`` with the
        type names of declared source schemas (``"DECIMAL(18,4)"``, ``"BIGINT"``, ``"DOUBLE"``,
        ``"STRING"``, ``"BOOLEAN"``, ``"TIMESTAMP"``) fixing those columns' types; the others
        are typed from their values: int → BIGINT, float → DOUBLE, ``decimal.Decimal`` and
        ``ScaledInteger`` → DECIMAL (exact; ints mixed with them too), str → STRING, bool →
        BOOLEAN, datetime → TIMESTAMP, None → NULL, anything else (lists, dicts, mixed types)
        → OBJECT. A value that does not fit a declared type raises ValueError naming the
        column and row.

        >>> RecordBatch.from_pylist([{"price": Decimal("1.50"), "qty": 3}]).schema
        [('price', 'DECIMAL', 2), ('qty', 'BIGINT')]
        """
        from velostream._core.pyrows import batch_from_rows
        return batch_from_rows(rows, names, schema, meta)

    @staticmethod
    def from_pydict(data, schema=None, meta=None):
        """A batch from columns: ``{name: list of values}``, all of one length.

        Types as for :meth:`from_pylist`; ``schema`` (``{"price": "DECIMAL(18,4)"}``) fixes
        the types of the columns it names.

        >>> RecordBatch.from_pydict({"price": [Decimal("1.5")]}, schema={"price": "DECIMAL(18,4)"})
        RecordBatch(1 rows, [('price', 'DECIMAL', 4)])
        """
        from velostream._core.pyrows import batch_from_columns
        return batch_from_columns(data, schema, meta)

    @staticmethod
    def from_arrow(data):
        """A batch from a ``pyarrow.Table`` or ``pyarrow.RecordBatch``, sharing Arrow's memory
        where the layouts match (needs the ``velostream[arrow]`` extra; what is shared and what
        is copied: ``velostream._core.arrow``)."""
        from velostream._core.arrow import from_arrow
        return from_arrow(data)

    def to_arrow(self):
        """This batch as a ``pyarrow.RecordBatch``, sharing its memory where the layouts match
        (needs the ``velostream[arrow]`` extra; see ``velostream._core.arrow``)."""
        from velostream._core.arrow import to_arrow
        return to_arrow(self)

    @staticmethod
    def empty(Py_ssize_t length=0):
        cdef RecordBatch batch = RecordBatch((), ())
        batch.length = length
        return batch

    cpdef int index_of(self, str name):
        """Position of ``name`` (case-insensitive), or -1."""
        return self._index.get(name.lower(), -1)

    cpdef Column column(self, str name):
        cdef int i = self.index_of(name)
        if i >= 0:
            return self.columns[i]
        column = self.meta.get(name.lower())
        if column is None:
            raise KeyError(name)
        return column

    def __len__(self):
        return self.length

    @property
    def num_columns(self):
        return len(self.columns)

    def take(self, rows):
        """The rows at the given positions (an array('q') or any int64 buffer)."""
        cdef const int64_t[::1] idx = rows
        columns = [c.take(idx) for c in self.columns]
        meta = {k: c.take(idx) for k, c in self.meta.items()}
        cdef RecordBatch out = RecordBatch(self.names, columns, meta)
        out.length = idx.shape[0]
        return out

    def filter(self, Column mask):
        """Rows where ``mask`` (a BOOLEAN column) is TRUE; FALSE and NULL rows are dropped."""
        cdef BoolColumn m = <BoolColumn?>mask
        cdef Py_ssize_t i, n = 0
        if m.length != self.length:
            raise ValueError("mask length differs from the batch")
        cdef object rows = new_int64_array(self.length)
        cdef int64_t* dst = <int64_t*>(<array.array>rows).data.as_voidptr
        for i in range(self.length):
            if m.values[i] and (m.valid == NULL or m.valid[i]):
                dst[n] = i
                n += 1
        if n == self.length:
            return self
        array.resize(<array.array>rows, n)
        return self.take(rows)

    def select(self, names_or_positions, new_names=None):
        """Some of the columns, optionally renamed; shares data, copies nothing."""
        picked = []
        for item in names_or_positions:
            if isinstance(item, int):
                picked.append(self.columns[item])
            else:
                picked.append(self.column(item))
        names = new_names if new_names is not None else [
            self.names[i] if isinstance(i, int) else i for i in names_or_positions]
        cdef RecordBatch out = RecordBatch(names, picked, self.meta)
        out.length = self.length
        return out

    def with_columns(self, names, columns):
        cdef RecordBatch out = RecordBatch(tuple(names), tuple(columns), self.meta)
        out.length = self.length
        return out

    def slice_rows(self, Py_ssize_t start, Py_ssize_t stop):
        """Rows ``start:stop`` (used by LIMIT)."""
        stop = min(stop, self.length)
        start = min(max(start, 0), stop)
        rows = array.clone(_Q, stop - start, False)
        cdef int64_t* dst = <int64_t*>(<array.array>rows).data.as_voidptr
        cdef Py_ssize_t i
        for i in range(stop - start):
            dst[i] = start + i
        return self.take(rows)

    def to_pylist(self):
        """The rows as dicts of Python values (DECIMAL as ScaledInteger, TIMESTAMP as datetime,
        NULL as None), one dict per row."""
        from velostream._core.pyrows import rows_from_batch
        return rows_from_batch(self)

    def to_pydict(self):
        """The columns as ``{name: list of Python values}`` (values as in :meth:`to_pylist`)."""
        return {name: c.to_pylist() for name, c in zip(self.names, self.columns)}

    @property
    def schema(self):
        """(name, type name[, scale]) per column."""
        out = []
        for name, c in zip(self.names, self.columns):
            out.append((name, c.type_name, c.scale) if c.type == T_DECIMAL else (name, c.type_name))
        return out

    def __repr__(self):
        return f"RecordBatch({self.length} rows, {self.schema})"
