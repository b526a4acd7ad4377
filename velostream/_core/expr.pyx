# cython: language_level=3
"""Expression kernels (see expr.pxd for the evaluation contract).

Every kernel turns whole columns into a whole column with a typed C loop; Python-level work per
batch is one ``eval`` call per node. BIGINT / DOUBLE / DECIMAL / BOOLEAN / TIMESTAMP arithmetic,
comparisons, logic, IN over constants and LIKE run without a Python object per row; string
functions and OBJECT (nested) values use ``PyFunc``, which calls a Python function per row.

Constants are single-row columns: a binary kernel reads an operand of one row with stride 0, so
``quantity > 500`` compares the column with a C scalar and never materialises 500 n times.
"""

cimport cython
from cpython cimport array
from libc.math cimport ceil, exp, floor, fmod, isfinite, log, log10, nearbyint, pow, round, sqrt
from libc.stdint cimport INT64_MIN, int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc, strtod
from libc.string cimport memcmp, memcpy, memset

from velostream._core.batch cimport (
    BoolColumn, Column, DecimalColumn, Float64Column, Int64Column, NullColumn, ObjectColumn,
    RecordBatch, StringColumn, T_BOOL, T_DECIMAL, T_FLOAT64, T_INT64, T_NULL, T_OBJECT, T_STRING,
    T_TIMESTAMP, dec_is_objects, dec_is_wide, dec_m128, dec_objects, dec_row, dec_uniform_scales,
    make_bool,
    make_decimal, make_decimal128, make_decimal_rs, make_decimal_values, make_float64, make_int64,
    make_string, new_byte_array, new_double_array, new_int64_array, vs_addsub128, vs_align128,
    vs_cmp128,
    vs_div128, vs_i128, vs_mul128, vs_p10t, vs_round128, vs_st128, vs_up128,
)
from velostream._core.decimal cimport (
    SI_FORMAT_BUFSIZE, SI_OK, SI_SYNTAX, ScaledInteger, si_add, si_box, si_cmp, si_div, si_format,
    si_mod, si_mul, si_parse, si_rescale, si_status, si_sub, si_t, vs_mag_i64, vs_upow10,
)

from velostream._core.decimal import ScaledInteger as _ScaledInteger
from velostream._core.kernels_py import RowError, brief, converter

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    static inline int vx_add(int64_t a, int64_t b, int64_t *r) {
        return __builtin_add_overflow(a, b, r); }
    static inline int vx_sub(int64_t a, int64_t b, int64_t *r) {
        return __builtin_sub_overflow(a, b, r); }
    static inline int vx_mul(int64_t a, int64_t b, int64_t *r) {
        return __builtin_mul_overflow(a, b, r); }

    /* out[i] = a[i] OP b[i] with either side possibly one value for every row (stride 0). */
    #define VX_CMP3(T, OP) do { Py_ssize_t _i; \
        if (sa && sb) { for (_i = 0; _i < n; _i++) out[_i] = a[_i] OP b[_i]; } \
        else if (sa) { T _y = b[0]; for (_i = 0; _i < n; _i++) out[_i] = a[_i] OP _y; } \
        else if (sb) { T _x = a[0]; for (_i = 0; _i < n; _i++) out[_i] = _x OP b[_i]; } \
        else { uint8_t _r = a[0] OP b[0]; for (_i = 0; _i < n; _i++) out[_i] = _r; } \
        } while (0)
    #define VX_CMP_FN(NAME, T) \
    static void NAME(int op, const T *a, int sa, const T *b, int sb, uint8_t *out, \
                     Py_ssize_t n) { \
        switch (op) { \
        case 0: VX_CMP3(T, ==); break; case 1: VX_CMP3(T, !=); break; \
        case 2: VX_CMP3(T, <); break;  case 3: VX_CMP3(T, <=); break; \
        case 4: VX_CMP3(T, >); break;  default: VX_CMP3(T, >=); break; } }
    VX_CMP_FN(vx_cmp_i64, int64_t)
    VX_CMP_FN(vx_cmp_f64, double)
    VX_CMP_FN(vx_cmp_u8, uint8_t)

    /* Bytes in the UTF-8 sequence starting with lead byte c (1 for a stray byte). */
    static inline Py_ssize_t vx_u8len(unsigned char c) {
        return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

    /* SQL LIKE over UTF-8 bytes: '%' any sequence, '_' one character, no escape character. */
    static int vx_like(const char *s, Py_ssize_t n, const char *p, Py_ssize_t m) {
        Py_ssize_t si = 0, pi = 0, star_p = -1, star_s = 0, k;
        while (si < n) {
            if (pi < m && p[pi] == '%') { star_p = ++pi; star_s = si; continue; }
            if (pi < m && p[pi] == '_') {
                k = vx_u8len((unsigned char)s[si]); si += k; pi++; continue; }
            if (pi < m && p[pi] == s[si]) { si++; pi++; continue; }
            if (star_p >= 0) {
                star_s += vx_u8len((unsigned char)s[star_s]);
                si = star_s; pi = star_p; continue; }
            return 0;
        }
        if (si > n) return 0;  /* a truncated multi-byte character at the end */
        while (pi < m && p[pi] == '%') pi++;
        return pi == m;
    }

    static inline int vx_contains(const char *s, Py_ssize_t n, const char *p, Py_ssize_t m) {
        if (m == 0) return 1;
        if (m > n) return 0;
        return memmem(s, (size_t)n, p, (size_t)m) != NULL;
    }

    static inline int64_t vx_floordiv(int64_t a, int64_t b) {
        int64_t q = a / b; if ((a % b != 0) && ((a < 0) != (b < 0))) q--; return q; }

    /* Days since 1970-01-01 -> civil date (H. Hinnant's algorithm), proleptic Gregorian. */
    static inline void vx_civil(int64_t z, int64_t *y, int *m, int *d) {
        z += 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        *d = (int)(doy - (153 * mp + 2) / 5 + 1);
        *m = (int)(mp < 10 ? mp + 3 : mp - 9);
        *y = yoe + era * 400 + (*m <= 2);
    }
    static inline int64_t vx_days(int64_t y, int m, int d) {
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        int64_t yoe = y - era * 400;
        int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
    }
    static inline int vx_iso_weeks(int64_t y) {
        int64_t p = (y + vx_floordiv(y, 4) - vx_floordiv(y, 100) + vx_floordiv(y, 400)) % 7;
        int64_t q = ((y - 1) + vx_floordiv(y - 1, 4) - vx_floordiv(y - 1, 100)
                     + vx_floordiv(y - 1, 400)) % 7;
        if (p < 0) p += 7;
        if (q < 0) q += 7;
        return 52 + (p == 4 || q == 3);
    }
    """
    bint vx_add(int64_t a, int64_t b, int64_t* r) noexcept nogil
    bint vx_sub(int64_t a, int64_t b, int64_t* r) noexcept nogil
    bint vx_mul(int64_t a, int64_t b, int64_t* r) noexcept nogil
    void vx_cmp_i64(int op, const int64_t* a, int sa, const int64_t* b, int sb, uint8_t* out,
                    Py_ssize_t n) noexcept nogil
    void vx_cmp_f64(int op, const double* a, int sa, const double* b, int sb, uint8_t* out,
                    Py_ssize_t n) noexcept nogil
    void vx_cmp_u8(int op, const uint8_t* a, int sa, const uint8_t* b, int sb, uint8_t* out,
                   Py_ssize_t n) noexcept nogil
    Py_ssize_t vx_u8len(unsigned char c) noexcept nogil
    bint vx_like(const char* s, Py_ssize_t n, const char* p, Py_ssize_t m) noexcept nogil
    bint vx_contains(const char* s, Py_ssize_t n, const char* p, Py_ssize_t m) noexcept nogil
    int64_t vx_floordiv(int64_t a, int64_t b) noexcept nogil
    void vx_civil(int64_t z, int64_t* y, int* m, int* d) noexcept nogil
    int64_t vx_days(int64_t y, int m, int d) noexcept nogil
    int vx_iso_weeks(int64_t y) noexcept nogil


# Operator codes shared with plan.compile.
EQ, NE, LT, LE, GT, GE = range(6)
ADD, SUB, MUL, DIV, MOD = range(5)
cdef enum:
    C_EQ = 0
    C_NE = 1
    C_LT = 2
    C_LE = 3
    C_GT = 4
    C_GE = 5
    A_ADD = 0
    A_SUB = 1
    A_MUL = 2
    A_DIV = 3
    A_MOD = 4

cdef str _OPS = "+-*/%"
cdef int64_t MS_PER_DAY = 86400000
# 10.0**k for k <= 22 are exact doubles.
cdef double _DPOW10[23]
_DPOW10[0] = 1.0
for _k in range(1, 23):
    _DPOW10[_k] = _DPOW10[_k - 1] * 10.0
del _k


# --------------------------------------------------------------------------- column helpers

cdef inline int64_t* _i64(object arr) noexcept:
    return <int64_t*>(<array.array>arr).data.as_voidptr


cdef inline double* _f64(object arr) noexcept:
    return <double*>(<array.array>arr).data.as_voidptr


cdef inline uint8_t* _u8(object arr) noexcept:
    if arr is None:
        return NULL
    return <uint8_t*>(<array.array>arr).data.as_voidptr


cdef inline bint _ok(const uint8_t* valid, Py_ssize_t i) noexcept nogil:
    return valid == NULL or valid[i] != 0


cdef object _zeros64(Py_ssize_t n):
    cdef object a = new_int64_array(n)
    if n:
        memset(_i64(a), 0, n * sizeof(int64_t))
    return a


cdef object _ones(Py_ssize_t n):
    cdef object a = new_byte_array(n, False)
    if n:
        memset(_u8(a), 1, n)
    return a


cdef object _filled_bytes(Py_ssize_t n, int value):
    cdef object a = new_byte_array(n, False)
    if n:
        memset(_u8(a), value, n)
    return a


cdef object _widened_scales(DecimalColumn c, int target):
    """Row scales of ``c``'s values held in a column at scale ``target`` (an implicit
    coercion): each row keeps its own scale, capped at ``target``; None when that is every
    row's."""
    cdef Py_ssize_t i, n = c.length
    cdef object out
    cdef uint8_t* p
    cdef int r
    if c.rscales == NULL and c.scale >= target:
        return None
    out = new_byte_array(n, False)
    p = _u8(out)
    for i in range(n):
        r = c.row_scale(i)
        p[i] = r if r < target else target
    return dec_uniform_scales(out, n, target)


cdef object _copy_bytes(object validity, Py_ssize_t n):
    """A fresh validity array: a copy of ``validity``, or all present when it is None."""
    cdef object out
    if validity is None:
        return _ones(n)
    out = new_byte_array(n, False)
    if n:
        memcpy(_u8(out), _u8(validity), n)
    return out


cdef object _all_or_none(object validity, Py_ssize_t n):
    """None when ``validity`` marks every row present (the cheaper, equivalent form)."""
    cdef uint8_t* p = _u8(validity)
    cdef Py_ssize_t i
    if p == NULL:
        return None
    for i in range(n):
        if p[i] == 0:
            return validity
    return None


cdef inline int _stride(Column c, Py_ssize_t n) except -1:
    if c.length == n:
        return 1
    if c.length == 1:
        return 0
    raise RuntimeError(f"kernel column of {c.length} rows in a batch of {n}")


cdef inline bint _is_wide(Column c) noexcept:
    """A DECIMAL column past int64 mantissas (int128 storage or ScaledInteger objects)."""
    return c.type == T_DECIMAL and dec_is_wide(<DecimalColumn>c)


# Batches a DECIMAL kernel ran on int128 mantissas / on ScaledInteger objects (tests check that
# 19..38-digit values take the typed loops; see decimal_path_counts).
cdef Py_ssize_t _n_int128 = 0, _n_objects = 0


def decimal_path_counts():
    """{"int128": batches on typed int128 loops, "object": batches on ScaledInteger objects}."""
    return {"int128": _n_int128, "object": _n_objects}


cdef inline bint _is_objects(Column c) noexcept:
    """A DECIMAL column holding ScaledInteger objects (some value past 38 digits)."""
    return c.type == T_DECIMAL and dec_is_objects(<DecimalColumn>c)


cdef inline const int64_t* _ivals(Column c) except? NULL:
    if c.type == T_DECIMAL:
        return (<DecimalColumn?>c).values
    return (<Int64Column?>c).values


cdef Column typed_nulls(int type, int scale, Py_ssize_t n):
    """A column of ``n`` NULLs of ``type``."""
    if type == T_NULL:
        return NullColumn(n)
    cdef object validity = new_byte_array(n, True)
    if type == T_INT64 or type == T_TIMESTAMP:
        return make_int64(_zeros64(n), validity, n, type)
    if type == T_DECIMAL:
        return make_decimal(_zeros64(n), validity, n, scale)
    if type == T_FLOAT64:
        data = new_double_array(n)
        if n:
            memset(_f64(data), 0, n * sizeof(double))
        return make_float64(data, validity, n)
    if type == T_BOOL:
        return make_bool(new_byte_array(n, True), validity, n)
    if type == T_STRING:
        return make_string(b"", _zeros64(n + 1), validity, n)
    return ObjectColumn([None] * n, validity)


cdef Column broadcast(Column c, Py_ssize_t n):
    """``c`` (one row, or ``n`` rows) as a column of ``n`` rows."""
    if c.length == n:
        return c
    if c.type == T_NULL:
        return NullColumn(n)
    return c.take(_zeros64(n))


cdef list column_pyvalues(Column c, Py_ssize_t n, bint ts_as_ms):
    """Python values of ``c`` broadcast to ``n`` rows (None for NULL): int, float, bool,
    ScaledInteger, str, or the objects of an OBJECT column; TIMESTAMP as epoch-ms ints when
    ``ts_as_ms``, else as datetimes."""
    cdef Py_ssize_t i, m = c.length
    cdef list out
    cdef const int64_t* iv
    cdef const uint8_t* ok = c.valid
    if c.type == T_STRING:
        out = c.to_pylist()
    elif c.type == T_INT64 or (c.type == T_TIMESTAMP and ts_as_ms):
        iv = (<Int64Column>c).values
        out = [iv[i] if _ok(ok, i) else None for i in range(m)]
    elif c.type == T_DECIMAL and dec_is_wide(<DecimalColumn>c):
        out = list(dec_objects(<DecimalColumn>c))
        if ok != NULL:
            for i in range(m):
                if not ok[i]:
                    out[i] = None
    elif c.type == T_DECIMAL:
        out = [None] * m
        for i in range(m):
            if _ok(ok, i):
                out[i] = si_box(dec_row(<DecimalColumn>c, i))
    elif c.type == T_OBJECT:
        out = list((<ObjectColumn>c).values)
        if ok != NULL:
            for i in range(m):
                if not ok[i]:
                    out[i] = None
    elif c.type == T_NULL:
        out = [None] * m
    else:
        out = c.to_pylist()
    if m == n:
        return out
    return out * n if m == 1 else out


cdef Column column_from_pyvalues(list values, int type, int scale):
    """A column of ``type`` from Python values of that type (None = NULL). DECIMAL values are
    ScaledInteger / int / Decimal held at column scale ``scale``: each keeps its own scale when
    that is at most ``scale``, else is rounded to it (half-even); the column is wide when one
    needs more than an int64 mantissa. TIMESTAMP values are epoch-ms ints."""
    cdef Py_ssize_t i, n = len(values)
    cdef object validity = None
    cdef uint8_t* ok = NULL
    cdef object data
    cdef int64_t* iv
    cdef double* dv
    cdef uint8_t* bv
    if type == T_NULL:
        return NullColumn(n)
    if type == T_OBJECT:
        for i in range(n):
            if values[i] is None:
                if validity is None:
                    validity = _ones(n)
                    ok = _u8(validity)
                ok[i] = 0
        return ObjectColumn(values, validity)
    if type == T_STRING:
        return _strings_column(values)
    if type == T_DECIMAL:
        return make_decimal_values(values, n, scale, False)
    for i in range(n):
        if values[i] is None:
            validity = _ones(n)
            ok = _u8(validity)
            break
    if type == T_INT64 or type == T_TIMESTAMP:
        data = new_int64_array(n)
        iv = _i64(data)
        for i in range(n):
            v = values[i]
            if v is None:
                ok[i] = 0
                iv[i] = 0
            else:
                iv[i] = v
        return make_int64(data, validity, n, type)
    if type == T_FLOAT64:
        data = new_double_array(n)
        dv = _f64(data)
        for i in range(n):
            v = values[i]
            if v is None:
                ok[i] = 0
                dv[i] = 0.0
            else:
                dv[i] = v
        return make_float64(data, validity, n)
    data = new_byte_array(n, True)
    bv = _u8(data)
    for i in range(n):
        v = values[i]
        if v is None:
            ok[i] = 0
        else:
            bv[i] = 1 if v else 0
    return make_bool(data, validity, n)


cdef StringColumn _strings_column(list values):
    cdef Py_ssize_t i, n = len(values), pos = 0
    cdef list parts = [None] * n
    cdef object validity = None
    cdef uint8_t* ok = NULL
    cdef object offsets = new_int64_array(n + 1)
    cdef int64_t* offs = _i64(offsets)
    cdef bytes part
    offs[0] = 0
    for i in range(n):
        v = values[i]
        if v is None:
            if validity is None:
                validity = _ones(n)
                ok = _u8(validity)
            ok[i] = 0
            part = b""
        else:
            part = (<str?>v).encode("utf-8")
        parts[i] = part
        pos += len(part)
        offs[i + 1] = pos
    return make_string(b"".join(parts), offsets, validity, n)


cdef object _merge_valid(Column a, Column b, Py_ssize_t n, bint* owned):
    """Validity of a row-wise result of ``a`` and ``b`` (present where both are): one of the
    inputs' arrays when the other has no NULLs (``owned`` False: never write to it), else new."""
    cdef int sa = _stride(a, n), sb = _stride(b, n)
    cdef const uint8_t* pa = a.valid
    cdef const uint8_t* pb = b.valid
    cdef object out
    cdef uint8_t* o
    cdef Py_ssize_t i
    owned[0] = False
    if pa == NULL and pb == NULL:
        return None
    if pb == NULL and sa:
        return a.validity
    if pa == NULL and sb:
        return b.validity
    out = new_byte_array(n, False)
    o = _u8(out)
    owned[0] = True
    for i in range(n):
        o[i] = _ok(pa, i * sa) and _ok(pb, i * sb)
    return out


cdef class _Out:
    """Result validity under construction: shared with an input until the first failed row."""
    cdef object validity
    cdef uint8_t* ok
    cdef bint owned
    cdef Py_ssize_t n

    cdef void init1(self, Column a, Py_ssize_t n):
        self.n = n
        self.owned = False
        self.validity = a.validity if a.length == n else (
            None if a.valid == NULL or a.valid[0] else new_byte_array(n, True))
        self.ok = _u8(self.validity)

    cdef void init2(self, Column a, Column b, Py_ssize_t n) except *:
        self.n = n
        self.validity = _merge_valid(a, b, n, &self.owned)
        self.ok = _u8(self.validity)

    cdef int fail(self, Py_ssize_t i, list errors, str message) except -1:
        if not self.owned:
            self.validity = _copy_bytes(self.validity, self.n)
            self.ok = _u8(self.validity)
            self.owned = True
        self.ok[i] = 0
        errors.append((i, message))
        return 0


# --------------------------------------------------------------------------- base and leaves

cdef class Kernel:
    """Base of all kernels. ``evaluate(batch, errors)`` is the Python entry point."""

    cdef Column eval(self, RecordBatch b, list errors):
        raise NotImplementedError(type(self).__name__)

    cdef Column eval_any(self, RecordBatch b, list errors):
        return self.eval(b, errors)

    def evaluate(self, RecordBatch batch, list errors=None):
        """The result column over ``batch``; failed rows are appended to ``errors``."""
        return self.eval(batch, [] if errors is None else errors)

    def evaluate_any(self, RecordBatch batch, list errors=None):
        return self.eval_any(batch, [] if errors is None else errors)


cdef class Const(Kernel):
    """A value for every row, held as a one-row column."""

    def __init__(self, Column value):
        if value.length != 1:
            raise ValueError("Const takes a one-row column")
        self.value = value
        self.type = value.type
        self.scale = (<DecimalColumn>value).scale if value.type == T_DECIMAL else 0

    cdef Column eval_any(self, RecordBatch b, list errors):
        return self.value

    cdef Column eval(self, RecordBatch b, list errors):
        cdef Column cached = self._cached
        if cached is None or cached.length != b.length:
            cached = broadcast(self.value, b.length)
            self._cached = cached
        return cached

    @property
    def pyvalue(self):
        return self.value.get(0)


def const_column(value, int type, int scale=0):
    """A one-row column holding the Python ``value`` (None = NULL) as ``type``."""
    return column_from_pyvalues([value], type, scale)


def constant(value, int type, int scale=0):
    """A ``Const`` kernel for a Python value."""
    return Const(column_from_pyvalues([value], type, scale))


def null_constant(int type, int scale=0):
    return Const(typed_nulls(type, scale, 1))


cdef class ColumnRef(Kernel):
    """Column ``index`` of the batch, which must have the type the expression was compiled for
    (an all-NULL column of any type stands for NULLs of it)."""
    cdef readonly Py_ssize_t index
    cdef readonly str name

    def __init__(self, Py_ssize_t index, int type, int scale=0, str name=""):
        self.index = index
        self.type = type
        self.scale = scale
        self.name = name

    cdef Column eval(self, RecordBatch b, list errors):
        cdef Column c = <Column>b.columns[self.index]
        if c.type == self.type and (c.type != T_DECIMAL or (<DecimalColumn>c).scale == self.scale):
            return c
        if c.type == T_NULL:
            return typed_nulls(self.type, self.scale, c.length)
        raise TypeError(
            f"column {self.name!r} has type {c.type_name} in this batch but the expression was "
            f"compiled for another type; recompile for the batch's schema")


cdef class Slot(Kernel):
    """A column set by an enclosing kernel (``Let``, ``MetaRef``) before its body runs."""

    def __init__(self, int type, int scale=0):
        self.type = type
        self.scale = scale

    cdef Column eval_any(self, RecordBatch b, list errors):
        return self.value

    cdef Column eval(self, RecordBatch b, list errors):
        return broadcast(self.value, b.length)


cdef class Let(Kernel):
    """Evaluates ``value`` once into ``slot``, then ``body`` (which may read the slot often)."""
    cdef Slot slot
    cdef Kernel value, body

    def __init__(self, Slot slot, Kernel value, Kernel body):
        self.slot = slot
        self.value = value
        self.body = body
        self.type = body.type
        self.scale = body.scale

    cdef Column eval_any(self, RecordBatch b, list errors):
        self.slot.value = self.value.eval_any(b, errors)
        try:
            return self.body.eval_any(b, errors)
        finally:
            self.slot.value = None

    cdef Column eval(self, RecordBatch b, list errors):
        return broadcast(self.eval_any(b, errors), b.length)


cdef class MetaRef(Kernel):
    """A pseudo-column from ``batch.meta`` (``_offset``, ``_key`` …) as the compiled type;
    missing means NULL, another type is cast."""
    cdef readonly str name
    cdef dict _casts

    def __init__(self, str name, int type, int scale=0):
        self.name = name.lower()
        self.type = type
        self.scale = scale
        self._casts = {}

    cdef Column eval(self, RecordBatch b, list errors):
        cdef Column c = b.meta.get(self.name)
        cdef int cscale
        if c is None:
            return typed_nulls(self.type, self.scale, b.length)
        cscale = (<DecimalColumn>c).scale if c.type == T_DECIMAL else 0
        if c.type == self.type and cscale == self.scale:
            return c
        key = (c.type, cscale)
        cast = self._casts.get(key)
        if cast is None:
            cast = Cast(Slot(c.type, cscale), self.type, self.scale)
            self._casts[key] = cast
        (<Slot>(<Cast>cast).child).value = c
        try:
            return (<Cast>cast).eval(b, errors)
        finally:
            (<Slot>(<Cast>cast).child).value = None


cdef class Now(Kernel):
    """Processing time, read once per batch: ``kind`` 0 TIMESTAMP (ms), 1 the day (TIMESTAMP at
    midnight UTC), 2 epoch seconds (BIGINT)."""
    cdef object clock
    cdef int kind

    def __init__(self, clock, int kind=0):
        self.clock = clock
        self.kind = kind
        self.type = T_INT64 if kind == 2 else T_TIMESTAMP

    cdef Column eval_any(self, RecordBatch b, list errors):
        cdef int64_t ms = self.clock()
        if self.kind == 1:
            ms = vx_floordiv(ms, MS_PER_DAY) * MS_PER_DAY
        elif self.kind == 2:
            ms = vx_floordiv(ms, 1000)
        data = new_int64_array(1)
        _i64(data)[0] = ms
        return make_int64(data, None, 1, self.type)

    cdef Column eval(self, RecordBatch b, list errors):
        return broadcast(self.eval_any(b, errors), b.length)


def null_out(Column c, rows):
    """``c`` with the given rows set to NULL (a copy; ``c`` is unchanged)."""
    cdef Py_ssize_t n = c.length
    cdef object validity
    cdef uint8_t* ok
    if not rows:
        return c
    if c.type == T_NULL:
        return c
    validity = _copy_bytes(c.validity, n)
    ok = _u8(validity)
    for r in rows:
        ok[<Py_ssize_t>r] = 0
    if c.type == T_INT64 or c.type == T_TIMESTAMP:
        return make_int64((<Int64Column>c).data, validity, n, c.type)
    if c.type == T_DECIMAL and not dec_is_wide(<DecimalColumn>c):
        return make_decimal_rs((<DecimalColumn>c).data, validity, n, (<DecimalColumn>c).scale,
                               (<DecimalColumn>c).row_scales)
    if c.type == T_DECIMAL and (<DecimalColumn>c).w != NULL:
        return make_decimal128((<DecimalColumn>c).wdata, validity, n, (<DecimalColumn>c).scale,
                               (<DecimalColumn>c).row_scales)
    if c.type == T_DECIMAL:
        values = column_pyvalues(c, n, False)
        for r in rows:
            values[r] = None
        return make_decimal_values(values, n, (<DecimalColumn>c).scale, False)
    if c.type == T_FLOAT64:
        return make_float64((<Float64Column>c).data, validity, n)
    if c.type == T_BOOL:
        return make_bool((<BoolColumn>c).data, validity, n)
    if c.type == T_STRING:
        return make_string((<StringColumn>c).buffer, (<StringColumn>c).offsets, validity, n)
    values = list((<ObjectColumn>c).values)
    for r in rows:
        values[r] = None
    return ObjectColumn(values, validity)


def raw_value(Column c, Py_ssize_t i=0):
    """Row ``i`` of ``c`` as the kernels see it: TIMESTAMP as epoch-ms int, DECIMAL as
    ScaledInteger (None for NULL)."""
    return column_pyvalues(c, c.length, True)[i]


def format_decimal(int64_t m, int scale):
    cdef si_t v
    v.m = m
    v.s = <uint8_t>scale
    return str(si_box(v))


cdef str _si_text(int64_t m, int s):
    cdef char buf[SI_FORMAT_BUFSIZE]
    cdef si_t v
    v.m = m
    v.s = <uint8_t>s
    cdef Py_ssize_t k = si_format(v, buf)
    return buf[:k].decode("ascii")


cdef double _dec_to_double(int64_t m, int s) noexcept:
    """The double nearest to m / 10**s (correctly rounded)."""
    cdef char buf[SI_FORMAT_BUFSIZE]
    cdef si_t v
    if s <= 22 and vs_mag_i64(m) <= (<uint64_t>1) << 53:
        return <double>m / _DPOW10[s]
    v.m = m
    v.s = <uint8_t>s
    si_format(v, buf)
    return strtod(buf, NULL)


# --------------------------------------------------------------------------- CAST

cdef str _TYPE_NAMES = "NULL BOOLEAN BIGINT DOUBLE DECIMAL STRING TIMESTAMP OBJECT"


cdef str _type_text(int type, int scale):
    if type == T_DECIMAL:
        return f"DECIMAL(18,{scale})"
    return _TYPE_NAMES.split()[type]


cdef class _Unary(Kernel):
    """One child, evaluated once per batch; ``apply`` maps its column. A constant child is
    applied once and broadcast, unless that fails (then row by row, so errors name rows)."""
    cdef readonly Kernel child
    cdef readonly int fn

    def __init__(self, Kernel child, int fn=0):
        self.child = child
        self.fn = fn
        self._set_type()

    cdef void _set_type(self):
        self.type = self.child.type
        self.scale = self.child.scale

    cdef Column eval(self, RecordBatch b, list errors):
        return broadcast(self.eval_any(b, errors), b.length)

    cdef Column eval_any(self, RecordBatch b, list errors):
        cdef Column c = self.child.eval_any(b, errors)
        cdef list local
        cdef Column r
        if c.length != b.length:
            local = []
            r = self.apply(c, local)
            if not local:
                return r
            c = broadcast(c, b.length)
        return self.apply(c, errors)

    cdef Column apply(self, Column c, list errors):
        raise NotImplementedError


cdef class Cast(_Unary):
    """``CAST(child AS type)``: C loops between numbers, BOOLEAN, TIMESTAMP and from STRING to
    numbers; a Python converter per row for the rest. A value that does not convert is a row
    error. DECIMAL targets round half-even; DECIMAL to BIGINT rounds half away from zero and
    DOUBLE to BIGINT to nearest-even (as DuckDB).

    A written CAST to DECIMAL (``precision`` given) gives every row the target scale; an
    implicit coercion to DECIMAL (``precision`` None: BIGINT into a DECIMAL operation, the common
    type of CASE branches) changes only the column scale, so each value keeps its own
    (``100`` stays ``100``)."""
    cdef int64_t limit          # DECIMAL(p, s) with p <= 18: |mantissa| < 10**p
    cdef object length          # VARCHAR(n)
    cdef bint date, time
    cdef object precision
    cdef object _conv
    cdef str target

    def __init__(self, Kernel child, int type, int scale=0, precision=None, length=None,
                 bint date=False, bint time=False):
        self.child = child
        self.type = type
        self.scale = scale if type == T_DECIMAL else 0
        self.precision = precision
        self.limit = <int64_t>vs_upow10[precision] if precision is not None and (
            precision <= 18) else 0
        self.length = length
        self.date = date
        self.time = time
        self.target = _type_text(type, self.scale) if precision is None else (
            f"DECIMAL({precision},{self.scale})")
        self._conv = None

    cdef Column apply(self, Column c, list errors):
        cdef int src = c.type, dst = self.type
        cdef int sscale = (<DecimalColumn>c).scale if src == T_DECIMAL else 0
        cdef list local
        cdef Column r
        if src == T_NULL:
            return typed_nulls(dst, self.scale, c.length)
        if dst == T_OBJECT:
            return ObjectColumn(column_pyvalues(c, c.length, False), c.validity)
        if _is_wide(c):
            if dst == T_DECIMAL and sscale == self.scale and self.precision is None:
                return c
            if dst == T_DECIMAL and not _is_objects(c):
                r = self._cast128(<DecimalColumn>c)
                if r is not None:
                    return r
            return self._python(c, errors)
        if dst == T_DECIMAL and (self.precision is None or self.precision > 18) and (
                src == T_INT64 or src == T_DECIMAL or src == T_STRING):
            # The typed loops hold int64 mantissas; a row they cannot hold may still fit the
            # type (DECIMAL(38)): then the int128 loop, or the exact Python path, redoes it.
            local = []
            r = self._typed(c, local)
            if not local:
                return r
            if src == T_DECIMAL:
                r = self._cast128(<DecimalColumn>c)
                if r is not None:
                    return r
            return self._python(c, errors)
        return self._typed(c, errors)

    cdef object _cast128(self, DecimalColumn c):
        """DECIMAL to DECIMAL(p <= 38, s) on int128 mantissas (narrow or int128 rows): every
        row rounded half-even to ``s``; an implicit coercion to a larger scale keeps each
        row's own scale. None when a row is out of range (or the coercion would round): the
        Python path then gives the exact result and the row errors."""
        global _n_int128
        cdef Py_ssize_t i, n = c.length
        cdef int s = self.scale, drop = c.scale - self.scale
        cdef int p = 38 if self.precision is None else self.precision
        cdef object wdata
        cdef int64_t* w
        cdef vs_i128 r, limit
        if p > 38 or (self.precision is None and drop > 0):
            return None
        limit = vs_p10t[p]
        wdata = new_int64_array(2 * n)
        w = _i64(wdata)
        for i in range(n):
            r = 0
            if _ok(c.valid, i):
                r = dec_m128(c, i)
                if drop > 0:
                    vs_round128(r, drop, 0, 3, &r)
                elif drop < 0 and vs_align128(r, -drop, &r):
                    return None
                if r >= limit or r <= -limit:
                    return None
            vs_st128(w, i, r)
        _n_int128 += 1
        return make_decimal128(wdata, c.validity, n, s,
                               _widened_scales(c, s) if self.precision is None else None)

    cdef Column _typed(self, Column c, list errors):
        cdef int src = c.type, dst = self.type
        cdef int sscale = (<DecimalColumn>c).scale if src == T_DECIMAL else 0
        if src == dst and not self.date and not self.time and self.length is None and (
                dst != T_DECIMAL or (sscale == self.scale and self.limit == 0 and (
                    self.precision is None or (<DecimalColumn>c).rscales == NULL))):
            return c
        if src == T_INT64 or src == T_TIMESTAMP:
            if dst == T_INT64 or dst == T_TIMESTAMP:
                if self.date:
                    return self._trunc_day(<Int64Column>c)
                return make_int64((<Int64Column>c).data, c.validity, c.length, dst)
            if dst == T_FLOAT64:
                return self._int_to_double(<Int64Column>c)
            if dst == T_DECIMAL:
                return self._int_to_dec(c, errors)
            if dst == T_BOOL:
                return self._int_to_bool(c)
        elif src == T_DECIMAL:
            if dst == T_INT64 or dst == T_TIMESTAMP:
                return self._dec_to_int(<DecimalColumn>c, errors)
            if dst == T_FLOAT64:
                return self._dec_to_double(<DecimalColumn>c)
            if dst == T_DECIMAL:
                return self._dec_to_dec(<DecimalColumn>c, errors)
            if dst == T_BOOL:
                return self._int_to_bool(c)
        elif src == T_FLOAT64:
            if dst == T_INT64 or dst == T_TIMESTAMP:
                return self._double_to_int(<Float64Column>c, errors)
            if dst == T_BOOL:
                return self._double_to_bool(<Float64Column>c)
        elif src == T_BOOL:
            if dst == T_INT64 or dst == T_DECIMAL or dst == T_TIMESTAMP or dst == T_FLOAT64:
                return self._bool_to_number(<BoolColumn>c)
        elif src == T_STRING:
            if dst == T_INT64 or (dst == T_DECIMAL and self.limit == 0):
                return self._str_to_exact(<StringColumn>c, errors)
        return self._python(c, errors)

    cdef Column _python(self, Column c, list errors):
        cdef Py_ssize_t i, n = c.length
        cdef list values = column_pyvalues(c, n, True)
        if self._conv is None:
            self._conv = converter(c.type, self.type, self.scale, self.precision, self.length,
                                   self.date, self.time)
        conv = self._conv
        for i in range(n):
            v = values[i]
            if v is not None:
                try:
                    values[i] = conv(v)
                except (RowError, ValueError, ArithmeticError, TypeError) as exc:
                    values[i] = None
                    errors.append((i, str(exc)))
        return column_from_pyvalues(values, self.type, self.scale)

    cdef str _bad(self, str shown):
        return f"cannot CAST {brief(shown)} to {self.target}"

    cdef Column _trunc_day(self, Int64Column c):
        cdef Py_ssize_t i, n = c.length
        cdef object data = new_int64_array(n)
        cdef int64_t* out = _i64(data)
        for i in range(n):
            out[i] = vx_floordiv(c.values[i], MS_PER_DAY) * MS_PER_DAY
        return make_int64(data, c.validity, n, self.type)

    cdef Column _int_to_double(self, Int64Column c):
        cdef Py_ssize_t i, n = c.length
        cdef object data = new_double_array(n)
        cdef double* out = _f64(data)
        for i in range(n):
            out[i] = <double>c.values[i]
        return make_float64(data, c.validity, n)

    cdef Column _int_to_bool(self, Column c):
        cdef Py_ssize_t i, n = c.length
        cdef const int64_t* v = _ivals(c)
        cdef object data = new_byte_array(n, False)
        cdef uint8_t* out = _u8(data)
        for i in range(n):
            out[i] = v[i] != 0
        return make_bool(data, c.validity, n)

    cdef Column _double_to_bool(self, Float64Column c):
        cdef Py_ssize_t i, n = c.length
        cdef object data = new_byte_array(n, False)
        cdef uint8_t* out = _u8(data)
        for i in range(n):
            out[i] = c.values[i] != 0.0
        return make_bool(data, c.validity, n)

    cdef Column _bool_to_number(self, BoolColumn c):
        cdef Py_ssize_t i, n = c.length
        cdef object data
        cdef int64_t one = <int64_t>vs_upow10[self.scale] if self.type == T_DECIMAL else 1
        cdef int64_t* out
        cdef double* dout
        if self.type == T_FLOAT64:
            data = new_double_array(n)
            dout = _f64(data)
            for i in range(n):
                dout[i] = 1.0 if c.values[i] else 0.0
            return make_float64(data, c.validity, n)
        data = new_int64_array(n)
        out = _i64(data)
        for i in range(n):
            out[i] = one if c.values[i] else 0
        if self.type == T_DECIMAL:
            return make_decimal(data, c.validity, n, self.scale)
        return make_int64(data, c.validity, n, self.type)

    cdef Column _int_to_dec(self, Column c, list errors):
        cdef Py_ssize_t i, n = c.length
        cdef const int64_t* v = _ivals(c)
        cdef int64_t p = <int64_t>vs_upow10[self.scale] if self.scale <= 18 else 0
        cdef object data, scales
        cdef int64_t* out
        cdef _Out o
        if self.scale == 0 and self.limit == 0:
            return make_decimal((<Int64Column>c).data, c.validity, n, 0)
        # An implicit coercion keeps the integers' scale 0.
        scales = None if self.precision is not None else _filled_bytes(n, 0)
        data = new_int64_array(n)
        out = _i64(data)
        o = _Out.__new__(_Out)
        o.init1(c, n)
        for i in range(n):
            if not _ok(o.ok, i):
                out[i] = 0
                continue
            if (p == 0 and v[i] != 0) or vx_mul(v[i], p, &out[i]) or (
                    self.limit and vs_mag_i64(out[i]) >= <uint64_t>self.limit):
                out[i] = 0
                o.fail(i, errors, self._bad(str(v[i])) + ": out of range")
        return make_decimal_rs(data, o.validity, n, self.scale, scales)

    cdef Column _dec_to_int(self, DecimalColumn c, list errors):
        cdef Py_ssize_t i, n = c.length
        cdef int s = c.scale
        cdef object data = new_int64_array(n)
        cdef int64_t* out = _i64(data)
        cdef uint64_t mag, p, q, r
        cdef int64_t m
        if s == 0:
            return make_int64(c.data, c.validity, n, self.type)
        p = vs_upow10[s] if s <= 19 else 0
        for i in range(n):
            m = c.values[i]
            mag = vs_mag_i64(m)
            if p == 0:
                q = 0
            else:
                q = mag // p
                r = mag % p
                if r >= p - r:
                    q += 1      # half away from zero
            out[i] = -<int64_t>q if m < 0 else <int64_t>q
        return make_int64(data, c.validity, n, self.type)

    cdef Column _dec_to_double(self, DecimalColumn c):
        cdef Py_ssize_t i, n = c.length
        cdef object data = new_double_array(n)
        cdef double* out = _f64(data)
        cdef int s = c.scale
        for i in range(n):
            out[i] = _dec_to_double(c.values[i], s)
        return make_float64(data, c.validity, n)

    cdef Column _dec_to_dec(self, DecimalColumn c, list errors):
        cdef Py_ssize_t i, n = c.length
        cdef object data = new_int64_array(n)
        cdef int64_t* out = _i64(data)
        cdef si_t v
        cdef _Out o = _Out.__new__(_Out)
        o.init1(c, n)
        for i in range(n):
            if not _ok(o.ok, i):
                out[i] = 0
                continue
            v.m = c.values[i]
            v.s = <uint8_t>c.scale
            if si_rescale(v, self.scale, &v) != SI_OK or (
                    self.limit and vs_mag_i64(v.m) >= <uint64_t>self.limit):
                out[i] = 0
                v = dec_row(c, i)
                o.fail(i, errors, self._bad(_si_text(v.m, v.s)) + ": out of range")
                continue
            out[i] = v.m
        return make_decimal_rs(data, o.validity, n, self.scale,
                               None if self.precision is not None else
                               _widened_scales(c, self.scale))

    cdef Column _double_to_int(self, Float64Column c, list errors):
        cdef Py_ssize_t i, n = c.length
        cdef object data = new_int64_array(n)
        cdef int64_t* out = _i64(data)
        cdef double x
        cdef _Out o = _Out.__new__(_Out)
        o.init1(c, n)
        for i in range(n):
            out[i] = 0
            if not _ok(o.ok, i):
                continue
            x = nearbyint(c.values[i])
            if not (x >= -9223372036854775808.0 and x < 9223372036854775808.0):
                o.fail(i, errors, self._bad(repr(c.values[i])) + ": out of range")
                continue
            out[i] = <int64_t>x
        return make_int64(data, o.validity, n, self.type)

    cdef Column _str_to_exact(self, StringColumn c, list errors):
        """STRING to BIGINT (a decimal text rounds half away from zero, as DuckDB) or DECIMAL
        (half-even), parsed from the bytes; digits beyond an int64 go the exact slow way."""
        cdef Py_ssize_t i, n = c.length
        cdef object data = new_int64_array(n)
        cdef int64_t* out = _i64(data)
        cdef si_t v
        cdef si_status st
        cdef uint64_t mag, p, q, r
        cdef int64_t start
        cdef _Out o = _Out.__new__(_Out)
        o.init1(c, n)
        for i in range(n):
            out[i] = 0
            if not _ok(o.ok, i):
                continue
            start = c.offs[i]
            st = si_parse(c.chars + start, c.offs[i + 1] - start, &v)
            if st == SI_OK and self.type == T_DECIMAL:
                st = si_rescale(v, self.scale, &v)
                if st == SI_OK:
                    out[i] = v.m
                    continue
            elif st == SI_OK:
                if v.s == 0:
                    out[i] = v.m
                    continue
                if v.s <= 19:
                    p = vs_upow10[v.s]
                    mag = vs_mag_i64(v.m)
                    q = mag // p
                    r = mag % p
                    if r >= p - r:
                        q += 1
                    out[i] = -<int64_t>q if v.m < 0 else <int64_t>q
                continue
            text = c.get(i)
            if st == SI_SYNTAX:
                o.fail(i, errors, self._bad(repr(text)))
            elif self.type == T_DECIMAL:
                # More digits than an int64 holds: the target scale may round them away.
                try:
                    out[i] = _ScaledInteger(text.strip(), self.scale).mantissa
                except (ValueError, ArithmeticError):
                    o.fail(i, errors, self._bad(repr(text)) + ": out of range")
            else:
                o.fail(i, errors, self._bad(repr(text)) + ": out of range")
        if self.type == T_DECIMAL:
            return make_decimal(data, o.validity, n, self.scale)
        return make_int64(data, o.validity, n, self.type)


# --------------------------------------------------------------------------- arithmetic

cdef class _Binary(Kernel):
    cdef readonly int op
    cdef readonly Kernel left, right

    def __init__(self, int op, Kernel left, Kernel right):
        self.op = op
        self.left = left
        self.right = right
        self._set_type()

    cdef void _set_type(self):
        pass


cdef class ArithInt(_Binary):
    """BIGINT ``+ - * %``; overflow and ``% 0`` are row errors, never a wrap."""

    cdef void _set_type(self):
        self.type = T_INT64

    @cython.cdivision(True)
    cdef Column eval(self, RecordBatch b, list errors):
        cdef Py_ssize_t i, n = b.length
        cdef Column ca = self.left.eval_any(b, errors)
        cdef Column cb = self.right.eval_any(b, errors)
        cdef int sa = _stride(ca, n), sb = _stride(cb, n), op = self.op
        cdef const int64_t* a = _ivals(ca)
        cdef const int64_t* c = _ivals(cb)
        cdef object data = new_int64_array(n)
        cdef int64_t* out = _i64(data)
        cdef int64_t x, y
        cdef bint bad
        cdef _Out o = _Out.__new__(_Out)
        o.init2(ca, cb, n)
        cdef uint8_t* ok = o.ok
        for i in range(n):
            if ok != NULL and not ok[i]:
                out[i] = 0
                continue
            x = a[i * sa]
            y = c[i * sb]
            if op == A_ADD:
                bad = vx_add(x, y, &out[i])
            elif op == A_SUB:
                bad = vx_sub(x, y, &out[i])
            elif op == A_MUL:
                bad = vx_mul(x, y, &out[i])
            elif y == 0:
                bad = True
            else:
                bad = False
                out[i] = 0 if y == -1 else x % y
            if bad:
                out[i] = 0
                if op == A_MOD:
                    o.fail(i, errors, "division by zero")
                else:
                    o.fail(i, errors, f"BIGINT overflow: {x} {_OPS[op]} {y}")
                ok = o.ok
        return make_int64(data, o.validity, n, T_INT64)


cdef class ArithFloat(_Binary):
    """DOUBLE ``+ - * / %``; division by zero and an overflow to infinity are row errors."""

    cdef void _set_type(self):
        self.type = T_FLOAT64

    cdef Column eval(self, RecordBatch b, list errors):
        cdef Py_ssize_t i, n = b.length
        cdef Column ca = self.left.eval_any(b, errors)
        cdef Column cb = self.right.eval_any(b, errors)
        cdef int sa = _stride(ca, n), sb = _stride(cb, n), op = self.op
        cdef const double* a = (<Float64Column?>ca).values
        cdef const double* c = (<Float64Column?>cb).values
        cdef object data = new_double_array(n)
        cdef double* out = _f64(data)
        cdef double x, y, r
        cdef _Out o = _Out.__new__(_Out)
        o.init2(ca, cb, n)
        cdef uint8_t* ok = o.ok
        for i in range(n):
            if ok != NULL and not ok[i]:
                out[i] = 0.0
                continue
            x = a[i * sa]
            y = c[i * sb]
            if op == A_ADD:
                r = x + y
            elif op == A_SUB:
                r = x - y
            elif op == A_MUL:
                r = x * y
            elif y == 0.0:
                out[i] = 0.0
                o.fail(i, errors, "division by zero")
                ok = o.ok
                continue
            elif op == A_DIV:
                r = x / y
            else:
                r = fmod(x, y)
            if not isfinite(r) and isfinite(x) and isfinite(y):
                out[i] = 0.0
                o.fail(i, errors, f"DOUBLE overflow: {x!r} {_OPS[op]} {y!r}")
                ok = o.ok
                continue
            out[i] = r
        return make_float64(data, o.validity, n)


cdef class ArithDec(_Binary):
    """DECIMAL ``+ - * / %`` over two DECIMAL columns (BIGINT operands arrive as DECIMAL at
    scale 0, a free view). The column scale is fixed by the types: ``+ - %`` the larger scale,
    ``*`` the sum, ``/`` the larger + 4 (at most 38) rounded half-even (decimal.pxd's si_div).
    Operands whose rows keep their own scales give each row the scale its operands' scales
    give (a quotient is rounded at that row scale). A result beyond the 64-bit mantissa makes
    the batch redo on exact ScaledInteger objects (a wide column), as do wide operands; only a
    scale above 38 or more than 1000 digits is a row error."""
    cdef int ls, rs

    def __init__(self, int op, Kernel left, Kernel right, int scale):
        self.op = op
        self.left = left
        self.right = right
        self.type = T_DECIMAL
        self.scale = scale
        self.ls = left.scale
        self.rs = right.scale

    @cython.cdivision(True)
    cdef Column eval(self, RecordBatch b, list errors):
        cdef Py_ssize_t i, n = b.length
        cdef Column ca = self.left.eval_any(b, errors)
        cdef Column cb = self.right.eval_any(b, errors)
        cdef int sa = _stride(ca, n), sb = _stride(cb, n), op = self.op
        cdef const int64_t* a = (<DecimalColumn?>ca).values
        cdef const int64_t* c = (<DecimalColumn?>cb).values
        cdef object data = new_int64_array(n)
        cdef int64_t* out = _i64(data)
        cdef si_t x, y, r
        cdef si_status st
        cdef _Out o = _Out.__new__(_Out)
        cdef Py_ssize_t e0 = len(errors)
        if _is_wide(ca) or _is_wide(cb):
            return self._w128(<DecimalColumn>ca, <DecimalColumn>cb, sa, sb, n, errors)
        if (<DecimalColumn>ca).rscales != NULL or (<DecimalColumn>cb).rscales != NULL:
            return self._rows(<DecimalColumn>ca, <DecimalColumn>cb, sa, sb, n, errors)
        o.init2(ca, cb, n)
        cdef uint8_t* ok = o.ok
        x.s = <uint8_t>self.ls
        y.s = <uint8_t>self.rs
        for i in range(n):
            out[i] = 0
            if ok != NULL and not ok[i]:
                continue
            x.m = a[i * sa]
            y.m = c[i * sb]
            if op == A_ADD:
                st = si_add(x, y, &r)
            elif op == A_SUB:
                st = si_sub(x, y, &r)
            elif op == A_MUL:
                st = si_mul(x, y, &r)
            elif y.m == 0:
                o.fail(i, errors, "division by zero")
                ok = o.ok
                continue
            elif op == A_DIV:
                st = si_div(x, y, &r)
            else:
                st = si_mod(x, y, &r)
            if st != SI_OK or r.s != self.scale:
                del errors[e0:]
                return self._w128(<DecimalColumn>ca, <DecimalColumn>cb, sa, sb, n, errors)
            out[i] = r.m
        return make_decimal(data, o.validity, n, self.scale)

    cdef Column _rows(self, DecimalColumn ca, DecimalColumn cb, int sa, int sb, Py_ssize_t n,
                      list errors):
        """The loop for operands with their own row scales: each row at its operands' scales,
        then held at the column scale (exact: every row scale is at most the column's)."""
        cdef Py_ssize_t i
        cdef int op = self.op
        cdef object data = new_int64_array(n)
        cdef int64_t* out = _i64(data)
        cdef object scales = new_byte_array(n, False)
        cdef uint8_t* rs = _u8(scales)
        cdef si_t x, y, r, w
        cdef si_status st
        cdef _Out o = _Out.__new__(_Out)
        cdef Py_ssize_t e0 = len(errors)
        o.init2(ca, cb, n)
        for i in range(n):
            out[i] = 0
            rs[i] = <uint8_t>self.scale
            if not _ok(o.ok, i):
                continue
            x = dec_row(ca, i * sa)
            y = dec_row(cb, i * sb)
            if op == A_ADD:
                st = si_add(x, y, &r)
            elif op == A_SUB:
                st = si_sub(x, y, &r)
            elif op == A_MUL:
                st = si_mul(x, y, &r)
            elif y.m == 0:
                o.fail(i, errors, "division by zero")
                continue
            elif op == A_DIV:
                st = si_div(x, y, &r)
            else:
                st = si_mod(x, y, &r)
            if st == SI_OK:
                st = si_rescale(r, self.scale, &w)
            if st != SI_OK:
                del errors[e0:]
                return self._w128(ca, cb, sa, sb, n, errors)
            out[i] = w.m
            rs[i] = r.s
        return make_decimal_rs(data, o.validity, n, self.scale,
                               dec_uniform_scales(scales, n, self.scale))

    cdef Column _w128(self, DecimalColumn ca, DecimalColumn cb, int sa, int sb, Py_ssize_t n,
                      list errors):
        """``+ - *`` on int128 mantissas at the column scales (operands narrow or int128), each
        row at the scale its operands' row scales give; a result past 38 digits, ``/`` and
        ``%`` redo the batch on objects (exact, never a wrap)."""
        global _n_int128
        cdef Py_ssize_t i
        cdef int op = self.op, s = self.scale, ka = s - ca.scale, kb = s - cb.scale, ra, rb
        cdef bint rows = ca.rscales != NULL or cb.rscales != NULL
        cdef vs_i128 x, y, r
        cdef object wdata, scales = None
        cdef int64_t* w
        cdef uint8_t* rs = NULL
        cdef _Out o
        if dec_is_objects(ca) or dec_is_objects(cb):
            return self._objects(ca, cb, n, errors)
        if op == A_DIV:
            return self._div128(ca, cb, sa, sb, n, errors)
        if op == A_MUL:
            if ca.scale + cb.scale != s:
                return self._objects(ca, cb, n, errors)
        elif op != A_ADD and op != A_SUB or ka < 0 or kb < 0:
            return self._objects(ca, cb, n, errors)
        wdata = new_int64_array(2 * n)
        w = _i64(wdata)
        if rows:
            scales = new_byte_array(n, False)
            rs = _u8(scales)
        o = _Out.__new__(_Out)
        o.init2(ca, cb, n)
        for i in range(n):
            r = 0
            if _ok(o.ok, i):
                x = dec_m128(ca, i * sa)
                y = dec_m128(cb, i * sb)
                if op == A_MUL:
                    if vs_mul128(x, y, &r):
                        return self._objects(ca, cb, n, errors)
                elif (vs_align128(x, ka, &x) or vs_align128(y, kb, &y)
                        or vs_addsub128(x, y, op == A_SUB, &r)):
                    return self._objects(ca, cb, n, errors)
            vs_st128(w, i, r)
            if rows:
                ra = ca.row_scale(i * sa)
                rb = cb.row_scale(i * sb)
                rs[i] = <uint8_t>(ra + rb if op == A_MUL else (ra if ra > rb else rb))
        _n_int128 += 1
        return make_decimal128(wdata, o.validity, n, s,
                               dec_uniform_scales(scales, n, s) if rows else None)

    cdef Column _div128(self, DecimalColumn ca, DecimalColumn cb, int sa, int sb, Py_ssize_t n,
                        list errors):
        """``/`` on int128 mantissas: each row at scale min(max(its operands' scales) + 4, 38),
        rounded half-even there (as si_div), held at the column scale; a numerator past 128
        bits or a quotient past 38 digits redoes the batch on objects."""
        global _n_int128
        cdef Py_ssize_t i, e0 = len(errors)
        cdef int s = self.scale, ra, rb, rs
        cdef vs_i128 x, y, r
        cdef object wdata = new_int64_array(2 * n)
        cdef int64_t* w = _i64(wdata)
        cdef object scales = new_byte_array(n, False)
        cdef uint8_t* out_s = _u8(scales)
        cdef _Out o = _Out.__new__(_Out)
        o.init2(ca, cb, n)
        for i in range(n):
            r = 0
            out_s[i] = <uint8_t>s
            if _ok(o.ok, i):
                ra = ca.row_scale(i * sa)
                rb = cb.row_scale(i * sb)
                x = dec_m128(ca, i * sa)
                y = dec_m128(cb, i * sb)
                if ra != ca.scale:
                    x = x // vs_p10t[ca.scale - ra]
                if rb != cb.scale:
                    y = y // vs_p10t[cb.scale - rb]
                if y == 0:
                    o.fail(i, errors, "division by zero")
                    vs_st128(w, i, 0)
                    continue
                rs = (ra if ra > rb else rb) + 4
                if rs > 38:
                    rs = 38
                if rs > s or vs_div128(x, rs - ra + rb, y, &r) or vs_up128(r, s - rs, &r):
                    del errors[e0:]
                    return self._objects(ca, cb, n, errors)
                out_s[i] = <uint8_t>rs
            vs_st128(w, i, r)
        _n_int128 += 1
        return make_decimal128(wdata, o.validity, n, s, dec_uniform_scales(scales, n, s))

    cdef Column _objects(self, Column ca, Column cb, Py_ssize_t n, list errors):
        """Every row on ScaledInteger objects: exact at any size (they widen)."""
        global _n_objects
        cdef list xs = column_pyvalues(ca, n, True), ys = column_pyvalues(cb, n, True)
        cdef list out = [None] * n
        cdef Py_ssize_t i
        cdef int op = self.op
        _n_objects += 1
        for i in range(n):
            x = xs[i]
            y = ys[i]
            if x is None or y is None:
                continue
            try:
                if op == A_ADD:
                    out[i] = x + y
                elif op == A_SUB:
                    out[i] = x - y
                elif op == A_MUL:
                    out[i] = x * y
                elif op == A_DIV:
                    out[i] = x / y
                else:
                    out[i] = x % y
            except ZeroDivisionError:
                errors.append((i, "division by zero"))
            except (OverflowError, ValueError):
                errors.append((i, f"DECIMAL overflow: {brief(str(x))} {_OPS[op]} "
                                  f"{brief(str(y))} needs a scale above 38 or more than 1000 "
                                  f"digits"))
        return make_decimal_values(out, n, self.scale, False)


cdef object _neg(object x):
    return -x


cdef Column _map_objects(Column c, Py_ssize_t n, object fn):
    """``fn`` of every present row of a DECIMAL column, on ScaledInteger objects (exact, wide
    when needed; each keeps its own scale)."""
    global _n_objects
    cdef list values = column_pyvalues(c, n, True)
    cdef Py_ssize_t i
    _n_objects += 1
    for i in range(n):
        if values[i] is not None:
            values[i] = fn(values[i])
    return make_decimal_values(values, n, (<DecimalColumn>c).scale, False)


cdef Column _neg_abs128(DecimalColumn c, Py_ssize_t n, bint absolute):
    """-x or ABS(x) of a narrow or int128 column on int128 mantissas (|x| < 10**38: never
    overflows); each row keeps its scale."""
    global _n_int128
    cdef Py_ssize_t i
    cdef object wdata = new_int64_array(2 * n)
    cdef int64_t* w = _i64(wdata)
    cdef vs_i128 x
    for i in range(n):
        x = dec_m128(c, i) if _ok(c.valid, i) else 0
        vs_st128(w, i, x if absolute and x >= 0 else -x)
    _n_int128 += 1
    return make_decimal128(wdata, c.validity, n, c.scale, c.row_scales)


cdef class Negate(Kernel):
    """Unary minus; -BIGINT_MIN is a row error."""
    cdef readonly Kernel child

    def __init__(self, Kernel child):
        self.child = child
        self.type = child.type
        self.scale = child.scale

    cdef Column eval(self, RecordBatch b, list errors):
        cdef Py_ssize_t i, n = b.length
        cdef Column c = self.child.eval(b, errors)
        cdef object data
        cdef int64_t* out
        cdef const int64_t* v
        cdef double* dout
        cdef const double* dv
        cdef _Out o
        if self.type == T_FLOAT64:
            data = new_double_array(n)
            dout = _f64(data)
            dv = (<Float64Column?>c).values
            for i in range(n):
                dout[i] = -dv[i]
            return make_float64(data, c.validity, n)
        if _is_objects(c):
            return _map_objects(c, n, _neg)
        if _is_wide(c):
            return _neg_abs128(<DecimalColumn>c, n, False)
        v = _ivals(c)
        data = new_int64_array(n)
        out = _i64(data)
        o = _Out.__new__(_Out)
        o.init1(c, n)
        for i in range(n):
            out[i] = 0
            if not _ok(o.ok, i):
                continue
            if v[i] == INT64_MIN:
                if self.type == T_DECIMAL:
                    return _neg_abs128(<DecimalColumn>c, n, False)
                o.fail(i, errors, f"BIGINT overflow: -({v[i]})")
                continue
            out[i] = -v[i]
        if self.type == T_DECIMAL:
            return make_decimal_rs(data, o.validity, n, (<DecimalColumn>c).scale,
                                   (<DecimalColumn>c).row_scales)
        return make_int64(data, o.validity, n, self.type)


# --------------------------------------------------------------------------- comparison

cdef class Compare(_Binary):
    """``= != < <= > >=`` of two columns of one physical kind, result BOOLEAN.

    ``kind`` (from the operand type): BIGINT / TIMESTAMP / DECIMAL at one scale compare their
    int64 payloads; DECIMAL at two scales compare exactly with si_cmp; DOUBLE, BOOLEAN and
    STRING (bytewise, i.e. code-point order) compare their own way."""
    cdef int kind
    cdef int ls, rs

    def __init__(self, int op, Kernel left, Kernel right):
        self.op = op
        self.left = left
        self.right = right
        self.type = T_BOOL
        self.kind = left.type
        self.ls = left.scale
        self.rs = right.scale

    cdef Column eval(self, RecordBatch b, list errors):
        cdef Py_ssize_t n = b.length
        cdef Column ca = self.left.eval_any(b, errors)
        cdef Column cb = self.right.eval_any(b, errors)
        cdef int sa = _stride(ca, n), sb = _stride(cb, n)
        cdef object data = new_byte_array(n, False)
        cdef uint8_t* out = _u8(data)
        cdef bint owned
        cdef object validity = _merge_valid(ca, cb, n, &owned)
        cdef int kind = self.kind
        if kind == T_DECIMAL and (_is_objects(ca) or _is_objects(cb)):
            self._cmp_objects(ca, cb, out, n)
        elif kind == T_DECIMAL and (_is_wide(ca) or _is_wide(cb)):
            self._cmp_128(<DecimalColumn?>ca, <DecimalColumn?>cb, sa, sb, out, n)
        elif kind == T_DECIMAL and self.ls != self.rs:
            self._cmp_dec(ca, cb, sa, sb, out, n)
        elif kind == T_INT64 or kind == T_TIMESTAMP or kind == T_DECIMAL:
            vx_cmp_i64(self.op, _ivals(ca), sa, _ivals(cb), sb, out, n)
        elif kind == T_FLOAT64:
            vx_cmp_f64(self.op, (<Float64Column?>ca).values, sa, (<Float64Column?>cb).values,
                       sb, out, n)
        elif kind == T_BOOL:
            vx_cmp_u8(self.op, (<BoolColumn?>ca).values, sa, (<BoolColumn?>cb).values, sb, out,
                      n)
        elif kind == T_STRING:
            self._cmp_str(<StringColumn?>ca, <StringColumn?>cb, sa, sb, out, n)
        elif kind == T_NULL:
            pass
        else:
            raise TypeError(f"Compare over {_type_text(kind, 0)}")
        return make_bool(data, validity, n)

    cdef void _cmp_dec(self, Column ca, Column cb, int sa, int sb, uint8_t* out, Py_ssize_t n):
        cdef const int64_t* a = (<DecimalColumn>ca).values
        cdef const int64_t* c = (<DecimalColumn>cb).values
        cdef si_t x, y
        cdef Py_ssize_t i
        x.s = <uint8_t>self.ls
        y.s = <uint8_t>self.rs
        for i in range(n):
            x.m = a[i * sa]
            y.m = c[i * sb]
            out[i] = _cmp_result(self.op, si_cmp(x, y))

    cdef void _cmp_128(self, DecimalColumn ca, DecimalColumn cb, int sa, int sb, uint8_t* out,
                       Py_ssize_t n) noexcept:
        """Exact comparison on int128 mantissas at the two column scales."""
        global _n_int128
        cdef Py_ssize_t i
        for i in range(n):
            out[i] = _cmp_result(self.op, vs_cmp128(dec_m128(ca, i * sa), ca.scale,
                                                    dec_m128(cb, i * sb), cb.scale))
        _n_int128 += 1

    cdef int _cmp_objects(self, Column ca, Column cb, uint8_t* out, Py_ssize_t n) except -1:
        global _n_objects
        cdef list xs = column_pyvalues(ca, n, True), ys = column_pyvalues(cb, n, True)
        cdef Py_ssize_t i
        _n_objects += 1
        for i in range(n):
            x = xs[i]
            y = ys[i]
            out[i] = 0 if x is None or y is None else _cmp_result(self.op, (x > y) - (x < y))
        return 0

    cdef void _cmp_str(self, StringColumn ca, StringColumn cb, int sa, int sb, uint8_t* out,
                       Py_ssize_t n):
        cdef Py_ssize_t i, la, lb
        cdef int r
        cdef int64_t ia, ib
        for i in range(n):
            ia = i * sa
            ib = i * sb
            la = ca.offs[ia + 1] - ca.offs[ia]
            lb = cb.offs[ib + 1] - cb.offs[ib]
            r = memcmp(ca.chars + ca.offs[ia], cb.chars + cb.offs[ib], la if la < lb else lb)
            if r == 0:
                r = (la > lb) - (la < lb)
            out[i] = _cmp_result(self.op, r)


cdef inline uint8_t _cmp_result(int op, int c) noexcept nogil:
    if op == C_EQ:
        return c == 0
    if op == C_NE:
        return c != 0
    if op == C_LT:
        return c < 0
    if op == C_LE:
        return c <= 0
    if op == C_GT:
        return c > 0
    return c >= 0


# --------------------------------------------------------------------------- logic

cdef class Logic(Kernel):
    """AND / OR with SQL three-valued logic. ``lazy``: an operand's row errors are dropped where
    the other operand alone decides the result (FALSE for AND, TRUE for OR), so
    ``x <> 0 AND 10 / x > 1`` fails no row."""
    cdef readonly bint is_or, lazy
    cdef readonly Kernel left, right

    def __init__(self, bint is_or, Kernel left, Kernel right, bint lazy=True):
        self.is_or = is_or
        self.lazy = lazy
        self.left = left
        self.right = right
        self.type = T_BOOL

    cdef Column eval(self, RecordBatch b, list errors):
        cdef Py_ssize_t i, n = b.length
        cdef list la = [] if self.lazy else errors
        cdef list lb = [] if self.lazy else errors
        cdef Column ca = self.left.eval_any(b, la)
        cdef Column cb = self.right.eval_any(b, lb)
        cdef int sa = _stride(ca, n), sb = _stride(cb, n)
        cdef const uint8_t* a = (<BoolColumn?>ca).values
        cdef const uint8_t* c = (<BoolColumn?>cb).values
        cdef const uint8_t* oka = ca.valid
        cdef const uint8_t* okb = cb.valid
        cdef object data = new_byte_array(n, False)
        cdef uint8_t* out = _u8(data)
        cdef object validity = None
        cdef uint8_t* ok
        cdef bint want = self.is_or, pa, pb, va, vb
        if self.lazy:
            for row, message in la:
                if not (_ok(okb, row * sb) and (c[row * sb] != 0) == want):
                    errors.append((row, message))
            for row, message in lb:
                if not (_ok(oka, row * sa) and (a[row * sa] != 0) == want):
                    errors.append((row, message))
        if oka == NULL and okb == NULL and sa and sb:
            if want:
                for i in range(n):
                    out[i] = a[i] | c[i]
            else:
                for i in range(n):
                    out[i] = a[i] & c[i]
            return make_bool(data, None, n)
        validity = new_byte_array(n, False)
        ok = _u8(validity)
        for i in range(n):
            pa = _ok(oka, i * sa)
            pb = _ok(okb, i * sb)
            va = a[i * sa] != 0
            vb = c[i * sb] != 0
            if (pa and va == want) or (pb and vb == want):
                out[i] = want
                ok[i] = 1
            elif pa and pb:
                out[i] = not want
                ok[i] = 1
            else:
                out[i] = 0
                ok[i] = 0
        return make_bool(data, _all_or_none(validity, n), n)


cdef class Not(Kernel):
    cdef readonly Kernel child

    def __init__(self, Kernel child):
        self.child = child
        self.type = T_BOOL

    cdef Column eval_any(self, RecordBatch b, list errors):
        cdef Column c = self.child.eval_any(b, errors)
        cdef Py_ssize_t i, n = c.length
        cdef const uint8_t* v = (<BoolColumn?>c).values
        cdef object data = new_byte_array(n, False)
        cdef uint8_t* out = _u8(data)
        for i in range(n):
            out[i] = not v[i]
        return make_bool(data, c.validity, n)

    cdef Column eval(self, RecordBatch b, list errors):
        return broadcast(self.eval_any(b, errors), b.length)


cdef class IsNull(Kernel):
    cdef readonly Kernel child
    cdef readonly bint negated

    def __init__(self, Kernel child, bint negated=False):
        self.child = child
        self.negated = negated
        self.type = T_BOOL

    cdef Column eval_any(self, RecordBatch b, list errors):
        cdef Column c = self.child.eval_any(b, errors)
        cdef Py_ssize_t i, n = c.length
        cdef const uint8_t* ok = c.valid
        cdef object data = new_byte_array(n, False)
        cdef uint8_t* out = _u8(data)
        cdef uint8_t present = 1 if self.negated else 0
        if ok == NULL:
            if n:
                memset(out, present, n)
        else:
            for i in range(n):
                out[i] = (ok[i] != 0) == present
        return make_bool(data, None, n)

    cdef Column eval(self, RecordBatch b, list errors):
        return broadcast(self.eval_any(b, errors), b.length)


# --------------------------------------------------------------------------- IN (constants)

cdef class InList(Kernel):
    """``x IN (constants)``: TRUE when x equals one, else NULL when x or a constant is NULL,
    else FALSE. BIGINT / TIMESTAMP / DECIMAL (constants at x's scale), DOUBLE, BOOLEAN (as 0/1)
    and STRING (bytes) in typed loops."""
    cdef readonly Kernel operand
    cdef bint has_null
    cdef object ivalues     # array('q'), sorted
    cdef object fvalues     # array('d')
    cdef list svalues       # bytes
    cdef object sset        # frozenset of bytes for long lists
    cdef object wset        # DECIMAL: frozenset of ScaledInteger, for wide values or constants

    def __init__(self, Kernel operand, values, bint has_null):
        self.operand = operand
        self.type = T_BOOL
        self.has_null = has_null
        kind = operand.type
        if kind == T_FLOAT64:
            self.fvalues = array.array("d", sorted(values))
        elif kind == T_STRING:
            self.svalues = sorted({v.encode("utf-8") for v in values})
            self.sset = frozenset(self.svalues)
        else:
            if kind == T_DECIMAL:
                self.wset = frozenset(_ScaledInteger.from_parts(m, operand.scale) for m in values)
            try:
                self.ivalues = array.array("q", sorted(set(values)))
            except OverflowError:       # a DECIMAL constant past an int64 mantissa
                self.ivalues = None

    cdef Column eval(self, RecordBatch b, list errors):
        cdef Py_ssize_t i, j, n = b.length, k
        cdef Column c = self.operand.eval(b, errors)
        cdef object data = new_byte_array(n, False)
        cdef uint8_t* out = _u8(data)
        cdef const uint8_t* ok = c.valid
        cdef const int64_t* iv
        cdef const int64_t* table
        cdef const double* fv
        cdef const double* ftable
        cdef int64_t x
        cdef double f
        cdef Py_ssize_t lo, hi, mid
        cdef StringColumn sc
        cdef bytes s
        cdef Py_ssize_t ln
        if self.operand.type == T_STRING:
            sc = <StringColumn?>c
            k = len(self.svalues)
            for i in range(n):
                out[i] = 0
                if not _ok(ok, i):
                    continue
                ln = sc.offs[i + 1] - sc.offs[i]
                if k > 8:
                    out[i] = sc.chars[sc.offs[i]:sc.offs[i + 1]] in self.sset
                    continue
                for j in range(k):
                    s = self.svalues[j]
                    if len(s) == ln and memcmp(<const char*>s, sc.chars + sc.offs[i], ln) == 0:
                        out[i] = 1
                        break
        elif self.operand.type == T_FLOAT64:
            fv = (<Float64Column?>c).values
            ftable = <const double*>(<array.array>self.fvalues).data.as_voidptr
            k = len(self.fvalues)
            for i in range(n):
                f = fv[i]
                out[i] = 0
                for j in range(k):
                    if ftable[j] == f:
                        out[i] = 1
                        break
        elif _is_wide(c) or self.ivalues is None:
            values = column_pyvalues(c, n, True)
            for i in range(n):
                out[i] = values[i] is not None and values[i] in self.wset
        else:
            iv = _ivals(c)
            table = <const int64_t*>(<array.array>self.ivalues).data.as_voidptr
            k = len(self.ivalues)
            for i in range(n):
                x = iv[i]
                lo = 0
                hi = k
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if table[mid] < x:
                        lo = mid + 1
                    else:
                        hi = mid
                out[i] = lo < k and table[lo] == x
        return make_bool(data, self._validity(out, ok, n), n)

    cdef object _validity(self, const uint8_t* out, const uint8_t* ok, Py_ssize_t n):
        cdef Py_ssize_t i
        cdef object validity
        cdef uint8_t* v
        if not self.has_null and ok == NULL:
            return None
        validity = new_byte_array(n, False)
        v = _u8(validity)
        for i in range(n):
            v[i] = _ok(ok, i) and (out[i] or not self.has_null)
        return _all_or_none(validity, n)


# --------------------------------------------------------------------------- LIKE

cdef enum:
    LIKE_GENERAL = 0
    LIKE_EXACT = 1
    LIKE_PREFIX = 2
    LIKE_SUFFIX = 3
    LIKE_CONTAINS = 4


cdef class Like(Kernel):
    """``s LIKE pattern`` over UTF-8 bytes (``%`` any sequence, ``_`` one character, case
    sensitive, no escape character). A constant pattern is classified once: exact, prefix,
    suffix, contains, or the general matcher."""
    cdef readonly Kernel operand, pattern
    cdef bytes fixed
    cdef bytes needle
    cdef int mode

    def __init__(self, Kernel operand, Kernel pattern, fixed=None):
        self.operand = operand
        self.pattern = pattern
        self.type = T_BOOL
        self.mode = LIKE_GENERAL
        if fixed is not None:
            self.fixed = fixed.encode("utf-8")
            self._classify()

    cdef void _classify(self):
        cdef bytes p = self.fixed
        cdef bytes core = p.strip(b"%")
        if b"_" in p or b"%" in core:
            self.mode = LIKE_GENERAL
            return
        lead = p.startswith(b"%")
        trail = p.endswith(b"%")
        self.needle = core
        if lead and trail:
            self.mode = LIKE_CONTAINS
        elif lead:
            self.mode = LIKE_SUFFIX
        elif trail:
            self.mode = LIKE_PREFIX
        else:
            self.mode = LIKE_EXACT

    cdef Column eval(self, RecordBatch b, list errors):
        cdef Py_ssize_t i, n = b.length, ln, m, start
        cdef StringColumn c = <StringColumn?>self.operand.eval(b, errors)
        cdef StringColumn pc
        cdef object data = new_byte_array(n, False)
        cdef uint8_t* out = _u8(data)
        cdef const char* p
        cdef const char* s
        cdef bint owned = False
        cdef object validity
        cdef int sp
        cdef int mode = self.mode
        if self.fixed is not None:
            p = self.needle if mode != LIKE_GENERAL else self.fixed
            m = len(self.needle) if mode != LIKE_GENERAL else len(self.fixed)
            for i in range(n):
                start = c.offs[i]
                s = c.chars + start
                ln = c.offs[i + 1] - start
                if mode == LIKE_EXACT:
                    out[i] = ln == m and memcmp(s, p, m) == 0
                elif mode == LIKE_PREFIX:
                    out[i] = ln >= m and memcmp(s, p, m) == 0
                elif mode == LIKE_SUFFIX:
                    out[i] = ln >= m and memcmp(s + ln - m, p, m) == 0
                elif mode == LIKE_CONTAINS:
                    out[i] = vx_contains(s, ln, p, m)
                else:
                    out[i] = vx_like(s, ln, p, m)
            return make_bool(data, c.validity, n)
        pc = <StringColumn?>self.pattern.eval_any(b, errors)
        sp = _stride(pc, n)
        validity = _merge_valid(c, pc, n, &owned)
        for i in range(n):
            start = c.offs[i]
            out[i] = vx_like(c.chars + start, c.offs[i + 1] - start,
                             pc.chars + pc.offs[i * sp],
                             pc.offs[i * sp + 1] - pc.offs[i * sp])
        return make_bool(data, validity, n)


# --------------------------------------------------------------------------- CASE, COALESCE

cdef Column _gather(int type, int scale, list cols, const int64_t* branch, Py_ssize_t n):
    """Row i of the result is row i of ``cols[branch[i]]`` (NULL when branch[i] < 0). Every
    column has ``type`` and n rows or one."""
    cdef Py_ssize_t i, k = len(cols), total = 0, pos = 0, start, size
    cdef int64_t j
    cdef object validity, data, offsets
    cdef uint8_t* ok
    cdef const void** ptrs
    cdef const uint8_t** oks
    cdef int* sts
    cdef int64_t* iout
    cdef double* fout
    cdef uint8_t* bout
    cdef int64_t* offs
    cdef const int64_t** soffs
    cdef char* dst
    cdef StringColumn sc
    cdef Column c
    if type == T_NULL:
        return NullColumn(n)
    if type == T_OBJECT or (type == T_DECIMAL and any(_is_wide(<Column>c) for c in cols)):
        values = [None] * n
        lists = [column_pyvalues(<Column>c, n, False) for c in cols]
        for i in range(n):
            if branch[i] >= 0:
                values[i] = lists[branch[i]][i]
        return column_from_pyvalues(values, type, scale)
    validity = new_byte_array(n, False)
    ok = _u8(validity)
    ptrs = <const void**>malloc(k * sizeof(void*) + 1)
    oks = <const uint8_t**>malloc(k * sizeof(uint8_t*) + 1)
    sts = <int*>malloc(k * sizeof(int) + 1)
    if ptrs == NULL or oks == NULL or sts == NULL:
        free(ptrs)
        free(oks)
        free(sts)
        raise MemoryError()
    try:
        for i in range(k):
            c = cols[i]
            sts[i] = _stride(c, n)
            oks[i] = c.valid
            if type == T_FLOAT64:
                ptrs[i] = (<Float64Column?>c).values
            elif type == T_BOOL:
                ptrs[i] = (<BoolColumn?>c).values
            elif type == T_STRING:
                ptrs[i] = NULL      # filled below, with the offsets
            else:
                ptrs[i] = _ivals(c)
        for i in range(n):
            j = branch[i]
            ok[i] = j >= 0 and _ok(oks[j], i * sts[j])
        if type == T_FLOAT64:
            data = new_double_array(n)
            fout = _f64(data)
            for i in range(n):
                j = branch[i]
                fout[i] = (<const double*>ptrs[j])[i * sts[j]] if ok[i] else 0.0
            return make_float64(data, _all_or_none(validity, n), n)
        if type == T_BOOL:
            data = new_byte_array(n, False)
            bout = _u8(data)
            for i in range(n):
                j = branch[i]
                bout[i] = (<const uint8_t*>ptrs[j])[i * sts[j]] if ok[i] else 0
            return make_bool(data, _all_or_none(validity, n), n)
        if type == T_STRING:
            # ptrs[k] holds column k's chars; its offsets go in soffs[k].
            soffs = <const int64_t**>malloc(k * sizeof(int64_t*) + 1)
            if soffs == NULL:
                raise MemoryError()
            try:
                for i in range(k):
                    sc = <StringColumn>cols[i]
                    ptrs[i] = sc.chars
                    soffs[i] = sc.offs
                for i in range(n):
                    if ok[i]:
                        j = branch[i]
                        start = i * sts[j]
                        total += soffs[j][start + 1] - soffs[j][start]
                data = bytearray(total)
                dst = data
                offsets = new_int64_array(n + 1)
                offs = _i64(offsets)
                offs[0] = 0
                for i in range(n):
                    if ok[i]:
                        j = branch[i]
                        start = soffs[j][i * sts[j]]
                        size = soffs[j][i * sts[j] + 1] - start
                        if size:
                            memcpy(dst + pos, <const char*>ptrs[j] + start, size)
                        pos += size
                    offs[i + 1] = pos
            finally:
                free(soffs)
            return make_string(data, offsets, _all_or_none(validity, n), n)
        data = new_int64_array(n)
        iout = _i64(data)
        for i in range(n):
            j = branch[i]
            iout[i] = (<const int64_t*>ptrs[j])[i * sts[j]] if ok[i] else 0
        if type == T_DECIMAL:
            return make_decimal_rs(data, _all_or_none(validity, n), n, scale,
                                   _gather_scales(cols, branch, sts, scale, n))
        return make_int64(data, _all_or_none(validity, n), n, type)
    finally:
        free(ptrs)
        free(oks)
        free(sts)


cdef object _gather_scales(list cols, const int64_t* branch, const int* sts, int scale,
                           Py_ssize_t n):
    """The row scales of a gathered DECIMAL column (None when every branch has none)."""
    cdef Py_ssize_t i
    cdef int64_t j
    cdef object out
    cdef uint8_t* p
    cdef DecimalColumn c
    for c in cols:
        if c.rscales != NULL:
            break
    else:
        return None
    out = new_byte_array(n, False)
    p = _u8(out)
    for i in range(n):
        j = branch[i]
        p[i] = (<DecimalColumn>cols[j]).row_scale(i * sts[j]) if j >= 0 else scale
    return dec_uniform_scales(out, n, scale)


cdef class Case(Kernel):
    """Searched CASE (IF, NULLIF and simple CASE compile to it): the first branch whose condition
    is TRUE (NULL conditions are skipped), else ``else_`` or NULL. Every branch is evaluated over
    the whole batch, but a branch's row errors count only for the rows that reach it: a
    condition's for rows no earlier condition took, a result's for the rows that chose it."""
    cdef list conds, results
    cdef Kernel else_

    def __init__(self, conds, results, else_, int type, int scale=0):
        self.conds = list(conds)
        self.results = list(results)
        self.else_ = else_
        self.type = type
        self.scale = scale

    cdef Column eval(self, RecordBatch b, list errors):
        cdef Py_ssize_t i, n = b.length, undecided = n, k = len(self.conds)
        cdef object branches = new_int64_array(n)
        cdef int64_t* branch = _i64(branches)
        cdef Column cc
        cdef const uint8_t* cv
        cdef const uint8_t* cok
        cdef int sc
        cdef list local, cols = []
        cdef Py_ssize_t j
        cdef object count_array = _zeros64(k + 1)
        cdef int64_t* counts = _i64(count_array)
        for i in range(n):
            branch[i] = -1
        for j in range(k):
            if undecided == 0:
                break
            local = []
            cc = (<Kernel>self.conds[j]).eval_any(b, local)
            for row, message in local:
                if branch[row] == -1:
                    errors.append((row, message))
            sc = _stride(cc, n)
            cv = (<BoolColumn?>cc).values
            cok = cc.valid
            for i in range(n):
                if branch[i] == -1 and cv[i * sc] and _ok(cok, i * sc):
                    branch[i] = j
                    undecided -= 1
        for i in range(n):
            if branch[i] == -1:
                if self.else_ is not None:
                    branch[i] = k
            if branch[i] >= 0:
                counts[branch[i]] += 1
        for j in range(k + 1):
            kernel = self.results[j] if j < k else self.else_
            if counts[j] == 0 or kernel is None:
                cols.append(typed_nulls(self.type, self.scale, 1))
                continue
            local = []
            cols.append((<Kernel>kernel).eval_any(b, local))
            for row, message in local:
                if branch[row] == j:
                    errors.append((row, message))
        return _gather(self.type, self.scale, cols, branch, n)


cdef class Coalesce(Kernel):
    """The first non-NULL argument; an argument's row errors count only for rows where every
    earlier argument was NULL. Arguments after the point where every row has a value are not
    evaluated."""
    cdef list args

    def __init__(self, args, int type, int scale=0):
        self.args = list(args)
        self.type = type
        self.scale = scale

    cdef Column eval(self, RecordBatch b, list errors):
        cdef Py_ssize_t i, n = b.length, undecided = n, j
        cdef object branches = new_int64_array(n)
        cdef int64_t* branch = _i64(branches)
        cdef Column c
        cdef const uint8_t* ok
        cdef int sc
        cdef list local, cols = []
        for i in range(n):
            branch[i] = -1
        for j in range(len(self.args)):
            if undecided == 0:
                cols.append(typed_nulls(self.type, self.scale, 1))
                continue
            local = []
            c = (<Kernel>self.args[j]).eval_any(b, local)
            for row, message in local:
                if branch[row] == -1:
                    errors.append((row, message))
            sc = _stride(c, n)
            ok = c.valid
            for i in range(n):
                if branch[i] == -1 and _ok(ok, i * sc):
                    branch[i] = j
                    undecided -= 1
            cols.append(c)
        return _gather(self.type, self.scale, cols, branch, n)


# --------------------------------------------------------------------------- functions

cdef class StrLength(_Unary):
    """LENGTH (characters, ``fn`` 0) or BYTE_LENGTH (``fn`` 1) of a STRING, from its bytes."""

    cdef void _set_type(self):
        self.type = T_INT64

    cdef Column apply(self, Column col, list errors):
        cdef StringColumn c = <StringColumn?>col
        cdef Py_ssize_t i, n = c.length
        cdef int64_t j, count
        cdef object data = new_int64_array(n)
        cdef int64_t* out = _i64(data)
        cdef const unsigned char* s = <const unsigned char*>c.chars
        for i in range(n):
            if self.fn == 1:
                out[i] = c.offs[i + 1] - c.offs[i]
                continue
            count = 0
            for j in range(c.offs[i], c.offs[i + 1]):
                count += (s[j] & 0xC0) != 0x80
            out[i] = count
        return make_int64(data, c.validity, n, T_INT64)


# MathFloat functions.
M_SQRT, M_EXP, M_LN, M_LOG10 = range(4)


cdef class MathFloat(_Unary):
    """SQRT, EXP, LN, LOG10 over DOUBLE; a value outside the domain or an infinite result is a
    row error (as DuckDB's 'cannot take logarithm of zero')."""

    cdef void _set_type(self):
        self.type = T_FLOAT64

    cdef Column apply(self, Column col, list errors):
        cdef Float64Column c = <Float64Column?>col
        cdef Py_ssize_t i, n = c.length
        cdef object data = new_double_array(n)
        cdef double* out = _f64(data)
        cdef double x, r
        cdef str bad
        cdef _Out o = _Out.__new__(_Out)
        o.init1(c, n)
        for i in range(n):
            out[i] = 0.0
            if not _ok(o.ok, i):
                continue
            x = c.values[i]
            bad = None
            if self.fn == M_SQRT:
                if x < 0:
                    bad = "cannot take the square root of a negative number"
                r = sqrt(x)
            elif self.fn == M_EXP:
                r = exp(x)
            else:
                if x == 0:
                    bad = "cannot take the logarithm of zero"
                elif x < 0:
                    bad = "cannot take the logarithm of a negative number"
                r = log(x) if self.fn == M_LN else log10(x)
            if bad is None and not isfinite(r) and isfinite(x):
                bad = f"DOUBLE overflow in {('SQRT', 'EXP', 'LN', 'LOG10')[self.fn]}({x!r})"
            if bad is not None:
                o.fail(i, errors, bad)
                continue
            out[i] = r
        return make_float64(data, o.validity, n)


cdef class Power(_Binary):
    """POWER(x, y) over DOUBLE; a non-finite result from finite operands is a row error."""

    cdef void _set_type(self):
        self.type = T_FLOAT64

    cdef Column eval(self, RecordBatch b, list errors):
        cdef Py_ssize_t i, n = b.length
        cdef Column ca = self.left.eval_any(b, errors)
        cdef Column cb = self.right.eval_any(b, errors)
        cdef int sa = _stride(ca, n), sb = _stride(cb, n)
        cdef const double* a = (<Float64Column?>ca).values
        cdef const double* c = (<Float64Column?>cb).values
        cdef object data = new_double_array(n)
        cdef double* out = _f64(data)
        cdef double x, y, r
        cdef _Out o = _Out.__new__(_Out)
        o.init2(ca, cb, n)
        for i in range(n):
            out[i] = 0.0
            if not _ok(o.ok, i):
                continue
            x = a[i * sa]
            y = c[i * sb]
            r = pow(x, y)
            if not isfinite(r) and isfinite(x) and isfinite(y):
                o.fail(i, errors, f"POWER({x!r}, {y!r}) is not a finite number")
                continue
            out[i] = r
        return make_float64(data, o.validity, n)


cdef class Abs(_Unary):
    """ABS of BIGINT (ABS(BIGINT_MIN) is a row error), DOUBLE or DECIMAL."""

    cdef Column apply(self, Column c, list errors):
        cdef Py_ssize_t i, n = c.length
        cdef object data
        cdef double* dout
        cdef const double* dv
        cdef int64_t* out
        cdef const int64_t* v
        cdef _Out o
        if self.type == T_FLOAT64:
            data = new_double_array(n)
            dout = _f64(data)
            dv = (<Float64Column?>c).values
            for i in range(n):
                dout[i] = -dv[i] if dv[i] < 0 else dv[i]
            return make_float64(data, c.validity, n)
        if _is_objects(c):
            return _map_objects(c, n, abs)
        if _is_wide(c):
            return _neg_abs128(<DecimalColumn>c, n, True)
        v = _ivals(c)
        data = new_int64_array(n)
        out = _i64(data)
        o = _Out.__new__(_Out)
        o.init1(c, n)
        for i in range(n):
            out[i] = 0
            if not _ok(o.ok, i):
                continue
            if v[i] == INT64_MIN:
                if self.type == T_DECIMAL:
                    return _neg_abs128(<DecimalColumn>c, n, True)
                o.fail(i, errors, "BIGINT overflow in ABS")
                continue
            out[i] = -v[i] if v[i] < 0 else v[i]
        if self.type == T_DECIMAL:
            return make_decimal_rs(data, o.validity, n, (<DecimalColumn>c).scale,
                                   (<DecimalColumn>c).row_scales)
        return make_int64(data, o.validity, n, self.type)


# Rounding modes of RoundExact.
R_HALF_AWAY, R_FLOOR, R_CEIL = range(3)


cdef class RoundExact(_Unary):
    """ROUND / FLOOR / CEIL of a BIGINT or DECIMAL to ``digits`` decimals (negative: tens,
    hundreds …). ROUND goes half away from zero, as DuckDB's. The result has scale
    max(digits, 0), or a row's own scale when that is smaller (ROUND(12.5, 2) is 12.5, as when
    the type's scale is 1); BIGINT stays BIGINT."""
    cdef int digits, mode

    def __init__(self, Kernel child, int digits, int mode, int type, int scale):
        self.child = child
        self.digits = digits
        self.mode = mode
        self.type = type
        self.scale = scale

    cdef Column apply(self, Column c, list errors):
        cdef Py_ssize_t i, n = c.length
        cdef const int64_t* v = _ivals(c)
        cdef int s = c.scale if c.type == T_DECIMAL else 0
        cdef int drop = s - self.digits          # digits removed, > 0
        cdef int back = -self.digits if self.digits < 0 else 0    # zeros put back (scale 0)
        cdef uint64_t p = vs_upow10[drop] if drop <= 19 else 0
        cdef uint64_t mag, q, r
        cdef int64_t m, res
        cdef object data = new_int64_array(n)
        cdef int64_t* out = _i64(data)
        cdef bint up
        cdef _Out o = _Out.__new__(_Out)
        if _is_objects(c):
            return self._objects(c, n)
        if _is_wide(c):
            return self._w128(<DecimalColumn>c, n)
        o.init1(c, n)
        for i in range(n):
            out[i] = 0
            if not _ok(o.ok, i):
                continue
            m = v[i]
            mag = vs_mag_i64(m)
            if p == 0:
                q = 0
                r = mag
                up = (self.mode == R_FLOOR and m < 0) or (self.mode == R_CEIL and m > 0)
            else:
                q = mag // p
                r = mag % p
                if self.mode == R_HALF_AWAY:
                    up = r >= p - r
                elif self.mode == R_FLOOR:
                    up = m < 0 and r != 0
                else:
                    up = m > 0 and r != 0
            if up:
                q += 1
            res = -<int64_t>q if m < 0 else <int64_t>q
            if back and res != 0 and (back > 18 or vx_mul(res, <int64_t>vs_upow10[back], &res)):
                if self.type == T_DECIMAL:
                    return self._w128(<DecimalColumn>c, n) if c.type == T_DECIMAL else \
                        self._objects(c, n)
                o.fail(i, errors, "BIGINT overflow in rounding")
                continue
            out[i] = res
        if self.type == T_DECIMAL:
            return make_decimal_rs(data, o.validity, n, self.scale,
                                   _widened_scales(<DecimalColumn>c, self.scale)
                                   if c.type == T_DECIMAL else None)
        return make_int64(data, o.validity, n, self.type)

    cdef Column _w128(self, DecimalColumn c, Py_ssize_t n):
        """The rounding on int128 mantissas (narrow or int128 rows; a result past 38 digits
        redoes the batch on objects)."""
        global _n_int128
        cdef Py_ssize_t i
        cdef int drop = c.scale - self.digits, back = -self.digits if self.digits < 0 else 0
        cdef int mode = 0 if self.mode == R_HALF_AWAY else (1 if self.mode == R_FLOOR else 2)
        cdef object wdata = new_int64_array(2 * n)
        cdef int64_t* w = _i64(wdata)
        cdef vs_i128 r
        if drop < 0:
            return self._objects(c, n)
        for i in range(n):
            r = 0
            if _ok(c.valid, i) and vs_round128(dec_m128(c, i), drop, back, mode, &r):
                return self._objects(c, n)
            vs_st128(w, i, r)
        _n_int128 += 1
        return make_decimal128(wdata, c.validity, n, self.scale,
                               _widened_scales(c, self.scale))

    cdef Column _objects(self, Column c, Py_ssize_t n):
        """The rounding on exact ScaledInteger objects (wide values, or a result past int64)."""
        global _n_objects
        cdef list values = column_pyvalues(c, n, True)
        cdef Py_ssize_t i
        cdef int d = self.digits, drop
        _n_objects += 1
        for i in range(n):
            x = values[i]
            if x is None or d >= (<ScaledInteger>x).scale:
                continue
            m = (<ScaledInteger>x).mantissa
            drop = (<ScaledInteger>x).scale - d
            q, r = divmod(-m if m < 0 else m, (<object>10) ** drop)
            if r and (self.mode == R_HALF_AWAY and 2 * r >= (<object>10) ** drop
                      or self.mode == R_FLOOR and m < 0 or self.mode == R_CEIL and m > 0):
                q += 1
            if m < 0:
                q = -q
            values[i] = (_ScaledInteger.from_parts(q, d) if d >= 0 else
                         _ScaledInteger.from_parts(q * (<object>10) ** -d, 0))
        return make_decimal_values(values, n, self.scale, False)


cdef class RoundFloat(_Unary):
    """ROUND (``fn`` 0, half away from zero, to ``digits``), FLOOR (1), CEIL (2) of a DOUBLE,
    computed as DuckDB does (round(x * 10**d) / 10**d, keeping x when that is not finite)."""
    cdef int digits

    def __init__(self, Kernel child, int fn, int digits=0):
        self.child = child
        self.fn = fn
        self.digits = digits
        self.type = T_FLOAT64

    cdef Column apply(self, Column col, list errors):
        cdef Float64Column c = <Float64Column?>col
        cdef Py_ssize_t i, n = c.length
        cdef object data = new_double_array(n)
        cdef double* out = _f64(data)
        cdef double x, r, mod
        cdef int d = self.digits
        mod = pow(10.0, d if d >= 0 else -d)
        for i in range(n):
            x = c.values[i]
            if self.fn == 1:
                r = floor(x)
            elif self.fn == 2:
                r = ceil(x)
            elif d == 0:
                r = round(x)
            elif d > 0:
                r = round(x * mod) / mod
            else:
                r = round(x / mod) * mod
            out[i] = r if isfinite(r) else x
        return make_float64(data, c.validity, n)


# EXTRACT fields and DATE_TRUNC units (plan.compile maps names to these codes).
(F_YEAR, F_QUARTER, F_MONTH, F_WEEK, F_DAY, F_DOW, F_DOY, F_HOUR, F_MINUTE, F_SECOND,
 F_MILLISECOND, F_EPOCH) = range(12)
(U_MILLISECOND, U_SECOND, U_MINUTE, U_HOUR, U_DAY, U_WEEK, U_MONTH, U_QUARTER, U_YEAR, U_DECADE,
 U_CENTURY, U_MILLENNIUM) = range(12)


cdef class Extract(_Unary):
    """EXTRACT(field FROM ts) over epoch milliseconds (TIMESTAMP or BIGINT), UTC: BIGINT, or
    DOUBLE seconds for EPOCH. DOW is 0 = Sunday, WEEK the ISO week, MILLISECOND includes the
    seconds (12.345 s -> 12345), as DuckDB."""

    cdef void _set_type(self):
        self.type = T_FLOAT64 if self.fn == F_EPOCH else T_INT64

    @cython.cdivision(True)
    cdef Column apply(self, Column c, list errors):
        cdef Py_ssize_t i, n = c.length
        cdef const int64_t* v = _ivals(c)
        cdef object data
        cdef int64_t* out
        cdef double* dout
        cdef int64_t ms, days, rem, y, r
        cdef int m, d, f = self.fn, wd, w
        if f == F_EPOCH:
            data = new_double_array(n)
            dout = _f64(data)
            for i in range(n):
                dout[i] = v[i] / 1000.0
            return make_float64(data, c.validity, n)
        data = new_int64_array(n)
        out = _i64(data)
        for i in range(n):
            ms = v[i]
            days = vx_floordiv(ms, MS_PER_DAY)
            rem = ms - days * MS_PER_DAY
            if f == F_HOUR:
                r = rem // 3600000
            elif f == F_MINUTE:
                r = rem // 60000 % 60
            elif f == F_SECOND:
                r = rem // 1000 % 60
            elif f == F_MILLISECOND:
                r = rem % 60000
            elif f == F_DOW:
                r = (days + 4) % 7
                if r < 0:
                    r += 7
            else:
                vx_civil(days, &y, &m, &d)
                if f == F_YEAR:
                    r = y
                elif f == F_QUARTER:
                    r = (m - 1) // 3 + 1
                elif f == F_MONTH:
                    r = m
                elif f == F_DAY:
                    r = d
                elif f == F_DOY:
                    r = days - vx_days(y, 1, 1) + 1
                else:
                    wd = <int>((days + 3) % 7)
                    if wd < 0:
                        wd += 7
                    wd += 1      # ISO weekday, Monday = 1
                    w = <int>((days - vx_days(y, 1, 1) + 1 - wd + 10) // 7)
                    if w < 1:
                        w = vx_iso_weeks(y - 1)
                    elif w > vx_iso_weeks(y):
                        w = 1
                    r = w
            out[i] = r
        return make_int64(data, c.validity, n, T_INT64)


cdef class DateTrunc(_Unary):
    """DATE_TRUNC(unit, ts): the start of the unit containing ts (UTC; weeks start on Monday)."""

    cdef void _set_type(self):
        self.type = T_TIMESTAMP

    @cython.cdivision(True)
    cdef Column apply(self, Column c, list errors):
        cdef Py_ssize_t i, n = c.length
        cdef const int64_t* v = _ivals(c)
        cdef object data = new_int64_array(n)
        cdef int64_t* out = _i64(data)
        cdef int64_t ms, days, y, unit = 1
        cdef int m, d, u = self.fn
        if u <= U_DAY:
            unit = (1, 1000, 60000, 3600000, MS_PER_DAY)[u]
            for i in range(n):
                out[i] = vx_floordiv(v[i], unit) * unit
            return make_int64(data, c.validity, n, T_TIMESTAMP)
        for i in range(n):
            ms = v[i]
            days = vx_floordiv(ms, MS_PER_DAY)
            if u == U_WEEK:
                # 1970-01-05 was a Monday.
                days = vx_floordiv(days - 4, 7) * 7 + 4
            else:
                vx_civil(days, &y, &m, &d)
                if u == U_MONTH:
                    days = vx_days(y, m, 1)
                elif u == U_QUARTER:
                    days = vx_days(y, ((m - 1) // 3) * 3 + 1, 1)
                elif u == U_YEAR:
                    days = vx_days(y, 1, 1)
                elif u == U_DECADE:
                    days = vx_days(vx_floordiv(y, 10) * 10, 1, 1)
                elif u == U_CENTURY:
                    days = vx_days(vx_floordiv(y - 1, 100) * 100 + 1, 1, 1)
                else:
                    days = vx_days(vx_floordiv(y - 1, 1000) * 1000 + 1, 1, 1)
            out[i] = days * MS_PER_DAY
        return make_int64(data, c.validity, n, T_TIMESTAMP)


cdef class UnixSeconds(_Unary):
    """Epoch seconds (rounded down) of a TIMESTAMP: UNIX_TIMESTAMP(ts)."""

    cdef void _set_type(self):
        self.type = T_INT64

    cdef Column apply(self, Column c, list errors):
        cdef Py_ssize_t i, n = c.length
        cdef const int64_t* v = _ivals(c)
        cdef object data = new_int64_array(n)
        cdef int64_t* out = _i64(data)
        for i in range(n):
            out[i] = vx_floordiv(v[i], 1000)
        return make_int64(data, c.validity, n, T_INT64)


# --------------------------------------------------------------------------- Python per row

cdef class PyFunc(Kernel):
    """``fn(*values)`` per row in Python, for string, JSON and OBJECT functions. ``strict``: a
    NULL argument gives NULL without calling ``fn``. TIMESTAMP arguments arrive as epoch-ms ints,
    DECIMAL as ScaledInteger; ``fn`` returns a value of the result type or None, and raises
    RowError (or ValueError / ArithmeticError / TypeError / LookupError) for a row error."""
    cdef readonly object fn
    cdef readonly list args
    cdef readonly bint strict
    cdef readonly str name

    def __init__(self, fn, args, int type, int scale=0, bint strict=True, str name=""):
        self.fn = fn
        self.args = list(args)
        self.type = type
        self.scale = scale
        self.strict = strict
        self.name = name or getattr(fn, "__name__", "function")

    cdef Column eval(self, RecordBatch b, list errors):
        cdef Py_ssize_t i, n = b.length, k = len(self.args), j
        cdef list lists = [column_pyvalues((<Kernel>a).eval_any(b, errors), n, True)
                           for a in self.args]
        cdef list out = [None] * n
        cdef list only
        cdef bint strict = self.strict
        fn = self.fn
        if k == 1:
            only = lists[0]
            for i in range(n):
                v = only[i]
                if v is None and strict:
                    continue
                try:
                    out[i] = fn(v)
                except (RowError, ValueError, ArithmeticError, TypeError, LookupError) as exc:
                    errors.append((i, f"{self.name}: {exc}"))
        else:
            for i in range(n):
                vals = [(<list>lists[j])[i] for j in range(k)]
                if strict and None in vals:
                    continue
                try:
                    out[i] = fn(*vals)
                except (RowError, ValueError, ArithmeticError, TypeError, LookupError) as exc:
                    errors.append((i, f"{self.name}: {exc}"))
        return column_from_pyvalues(out, self.type, self.scale)
