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
Wide values, past an int64 mantissa (``dec_is_wide``; ``values`` are then zeros), come in two
storages (``c.storage`` tells them apart for tests and tools):
- *int128*: every mantissa at the column scale has at most 38 digits (DECIMAL(38)): ``w`` points
  into ``wdata``, two int64 limbs per row (``vs_ld128(w, i)`` is row i's ``__int128`` mantissa at
  ``scale``; ``rscales`` as for narrow rows). Typed loops run on it (``dec_m128`` reads a narrow
  or int128 row alike): ``+ - * /``, comparisons, negation/ABS, ROUND/FLOOR/CEIL, CAST to
  DECIMAL(p, s), SUM, the JSON/CSV encoders (``vs_fmt128``) and decoders (``vs_parse128``). A
  result past 38 digits is never wrapped: the kernel redoes the batch on objects;
- *object*: some mantissa has more than 38 digits: every row is an exact ``ScaledInteger`` in
  ``wide`` (None for NULL; each at its own scale <= ``scale``), exact at any size.
Kernels without an int128 loop (``%``, IN, CASE/LEAST/COALESCE, CAST to other types …) take
``dec_objects(c)``: the ``wide`` list, boxed from the int128 rows on first use.
``make_decimal_values`` builds the narrowest storage that holds every value;
``make_decimal128`` narrows to int64 when it can.

A consumer that accumulates (SUM) reads the mantissas at ``scale`` (or the ``wide`` objects) and
gives the result the largest row scale (``dec_max_row_scale``): ``dec_sum`` does exactly that in
one typed loop (an int128 partial sum, narrow or int128 rows) that spills into a Python int only
when it would leave int128, and
``make_decimal_values`` turns per-group results of any size back into a column.

Buffers are ``cpython.array`` objects kept referenced by the column, so a column is immutable once
built and cheap to share between batches (``select``/``rename`` never copy data). The data
buffers (``data``, ``wdata``, ``buffer``, ``offsets``) may also be any read-only buffer object
whose memory stays put (``from_arrow`` shares a ``pyarrow.Buffer``): read them through the
column's pointers, never by casting them to ``array.array``. ``validity`` and ``row_scales`` are
always ``array('B')``.
"""

cimport cython
from libc.stdint cimport int64_t, uint8_t, uint64_t

from velostream._core.decimal cimport si_t, vs_upow10

cdef extern from *:
    """
    #ifndef VELOSTREAM_I128_H
    #define VELOSTREAM_I128_H
    #include <stdint.h>
    #include <string.h>
    typedef __int128 vs_i128;
    #define VS_P19 ((vs_i128)10000000000000000000ULL)
    /* 10**k for k = 0..38 (10**38 is the first 39-digit number; int128 holds 1.7e38). */
    static const vs_i128 vs_p10t[39] = {
        1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
        10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL, 100000000000000LL,
        1000000000000000LL, 10000000000000000LL, 100000000000000000LL, 1000000000000000000LL,
        VS_P19 * 1ULL,
        VS_P19 * 10ULL,
        VS_P19 * 100ULL,
        VS_P19 * 1000ULL,
        VS_P19 * 10000ULL,
        VS_P19 * 100000ULL,
        VS_P19 * 1000000ULL,
        VS_P19 * 10000000ULL,
        VS_P19 * 100000000ULL,
        VS_P19 * 1000000000ULL,
        VS_P19 * 10000000000ULL,
        VS_P19 * 100000000000ULL,
        VS_P19 * 1000000000000ULL,
        VS_P19 * 10000000000000ULL,
        VS_P19 * 100000000000000ULL,
        VS_P19 * 1000000000000000ULL,
        VS_P19 * 10000000000000000ULL,
        VS_P19 * 100000000000000000ULL,
        VS_P19 * 1000000000000000000ULL,
        VS_P19 * 10000000000000000000ULL};
    /* Row i of an int128 mantissa array held as two int64 limbs per row (little-endian,
       so the pair is the __int128 itself; memcpy because the buffer is only 8-aligned). */
    static inline vs_i128 vs_ld128(const int64_t *w, Py_ssize_t i) {
        vs_i128 v; memcpy(&v, w + 2 * i, sizeof v); return v; }
    static inline void vs_st128(int64_t *w, Py_ssize_t i, vs_i128 v) {
        memcpy(w + 2 * i, &v, sizeof v); }
    static inline int64_t vs_hi128(vs_i128 v) { return (int64_t)(v >> 64); }
    static inline uint64_t vs_lo128(vs_i128 v) { return (uint64_t)v; }
    static inline vs_i128 vs_mk128(int64_t hi, uint64_t lo) {
        return (vs_i128)(((unsigned __int128)(uint64_t)hi << 64) | lo); }
    /* 1 when |v| has more than 38 digits. */
    static inline int vs_out38(vs_i128 v) { return v >= vs_p10t[38] || v <= -vs_p10t[38]; }
    static inline int vs_fits64(vs_i128 v) { return v >= INT64_MIN && v <= INT64_MAX; }
    /* a * 10**k (0 <= k), a + b, a - b, a * b: 0 with *r when the exact result has at most
       38 digits, 1 otherwise (the caller takes the exact object path: never a wrap). */
    static inline int vs_up128(vs_i128 a, int k, vs_i128 *r) {
        if (a == 0) { *r = 0; return 0; }
        if (k > 38 || __builtin_mul_overflow(a, vs_p10t[k], r)) return 1;
        return vs_out38(*r); }
    /* a * 10**k when that fits int128 (an aligned operand; its sum is checked for 38 digits). */
    static inline int vs_align128(vs_i128 a, int k, vs_i128 *r) {
        if (a == 0) { *r = 0; return 0; }
        return k > 38 || __builtin_mul_overflow(a, vs_p10t[k], r); }
    static inline int vs_addsub128(vs_i128 a, vs_i128 b, int sub, vs_i128 *r) {
        if (sub ? __builtin_sub_overflow(a, b, r) : __builtin_add_overflow(a, b, r)) return 1;
        return vs_out38(*r); }
    static inline int vs_mul128(vs_i128 a, vs_i128 b, vs_i128 *r) {
        if (__builtin_mul_overflow(a, b, r)) return 1;
        return vs_out38(*r); }
    /* m with its last `drop` digits rounded away (mode 0 half away from zero, 1 floor, 2
       ceiling, 3 half even), then times 10**back: 0 with *r, or 1 when the result leaves 38
       digits. */
    static inline int vs_round128(vs_i128 m, int drop, int back, int mode, vs_i128 *r) {
        unsigned __int128 mag = m < 0 ? (unsigned __int128)0 - (unsigned __int128)m
                                      : (unsigned __int128)m, q = 0, rem = mag, p;
        int up;
        vs_i128 res;
        if (drop > 38) up = (mode == 1 && m < 0) || (mode == 2 && m > 0);
        else {
            p = (unsigned __int128)vs_p10t[drop];
            q = mag / p; rem = mag % p;
            up = mode == 0 ? rem >= p - rem
               : mode == 3 ? rem > p - rem || (rem == p - rem && (q & 1))
               : rem != 0 && (mode == 1 ? m < 0 : m > 0);
        }
        if (up) q++;
        res = m < 0 ? -(vs_i128)q : (vs_i128)q;
        if (back && res != 0) return vs_up128(res, back, r);
        *r = res;
        return 0; }
    /* a * 10**e / b rounded half-even (b != 0, 0 <= e): 0 with *r, or 1 when the numerator
       leaves 128 bits or the quotient has more than 38 digits (the exact path decides). */
    static inline int vs_div128(vs_i128 a, int e, vs_i128 b, vs_i128 *r) {
        unsigned __int128 n = a < 0 ? (unsigned __int128)0 - (unsigned __int128)a
                                    : (unsigned __int128)a;
        unsigned __int128 d = b < 0 ? (unsigned __int128)0 - (unsigned __int128)b
                                    : (unsigned __int128)b, q, rem;
        int neg = (a < 0) != (b < 0);
        if (e > 38 && n != 0) return 1;
        if (n != 0 && __builtin_mul_overflow(n, (unsigned __int128)vs_p10t[e], &n)) return 1;
        q = n / d;
        rem = n - q * d;
        if (rem > d - rem || (rem == d - rem && (q & 1))) q++;
        if (q >= (unsigned __int128)vs_p10t[38]) return 1;
        *r = neg ? -(vs_i128)q : (vs_i128)q;
        return 0; }
    /* -1, 0, 1 as a / 10**sa <, ==, > b / 10**sb (|a|, |b| < 10**38, scales 0..38): a side
       whose alignment leaves int128 is larger in magnitude than the other side. */
    static inline int vs_cmp128(vs_i128 a, int sa, vs_i128 b, int sb) {
        vs_i128 x = a, y = b;
        if (sa < sb && __builtin_mul_overflow(a, vs_p10t[sb - sa], &x)) return a > 0 ? 1 : -1;
        if (sb < sa && __builtin_mul_overflow(b, vs_p10t[sa - sb], &y)) return b > 0 ? -1 : 1;
        return (x > y) - (x < y); }
    /* Plain text of row value m / 10**cs printed at its own scale s <= cs (m is a multiple of
       10**(cs - s)) into buf (>= 48 bytes), NUL-terminated; returns its length. Digits come
       19 at a time from 64-bit remainders (one 128-bit division per 19 digits). */
    static inline Py_ssize_t vs_fmt128(vs_i128 m, int cs, int s, char *buf) {
        unsigned __int128 u; uint64_t part; char tmp[48]; int n = 0, k, j; char *p = buf;
        if (cs > s) m /= vs_p10t[cs - s];
        if (m < 0) { *p++ = '-'; u = (unsigned __int128)0 - (unsigned __int128)m; }
        else u = (unsigned __int128)m;
        do {
            part = (uint64_t)(u % 10000000000000000000ULL);
            u /= 10000000000000000000ULL;
            for (j = 0; j < 19 && (part || u); j++) {
                tmp[n++] = (char)('0' + part % 10); part /= 10; }
        } while (u);
        if (n == 0) tmp[n++] = '0';
        while (n <= s) tmp[n++] = '0';
        for (k = n - 1; k >= 0; k--) { *p++ = tmp[k]; if (k == s && s > 0) *p++ = '.'; }
        *p = 0;
        return p - buf; }
    /* Parses [+-]digits[.digits] (no exponent, no blanks) with at most 38 digits in all into
       *m at scale *s (the written scale). 0 on success, 1 when the text is anything else. */
    static inline int vs_parse128(const char *p, Py_ssize_t n, vs_i128 *m, int *s) {
        Py_ssize_t i = 0; int neg = 0, digits = 0, seen = 0, frac = -1; vs_i128 v = 0;
        if (n > 0 && (p[0] == '-' || p[0] == '+')) { neg = p[0] == '-'; i = 1; }
        for (; i < n; i++) {
            char ch = p[i];
            if (ch >= '0' && ch <= '9') {
                seen = 1;
                if (digits || ch != '0') digits++;
                if (digits > 38) return 1;
                v = v * 10 + (ch - '0');
                if (frac >= 0) frac++;
            } else if (ch == '.' && frac < 0) frac = 0;
            else return 1;
        }
        if (!seen || frac == 0) return 1;
        if (frac > 38) return 1;
        *m = neg ? -v : v; *s = frac < 0 ? 0 : frac;
        return 0; }
    #endif
    """
    ctypedef long long vs_i128     # __int128: arithmetic in C helpers, never to Python directly
    const vs_i128* vs_p10t
    vs_i128 vs_ld128(const int64_t* w, Py_ssize_t i) noexcept nogil
    void vs_st128(int64_t* w, Py_ssize_t i, vs_i128 v) noexcept nogil
    int64_t vs_hi128(vs_i128 v) noexcept nogil
    uint64_t vs_lo128(vs_i128 v) noexcept nogil
    vs_i128 vs_mk128(int64_t hi, uint64_t lo) noexcept nogil
    bint vs_out38(vs_i128 v) noexcept nogil
    bint vs_fits64(vs_i128 v) noexcept nogil
    bint vs_up128(vs_i128 a, int k, vs_i128* r) noexcept nogil
    bint vs_align128(vs_i128 a, int k, vs_i128* r) noexcept nogil
    bint vs_addsub128(vs_i128 a, vs_i128 b, bint sub, vs_i128* r) noexcept nogil
    bint vs_mul128(vs_i128 a, vs_i128 b, vs_i128* r) noexcept nogil
    bint vs_round128(vs_i128 m, int drop, int back, int mode, vs_i128* r) noexcept nogil
    bint vs_div128(vs_i128 a, int e, vs_i128 b, vs_i128* r) noexcept nogil
    int vs_cmp128(vs_i128 a, int sa, vs_i128 b, int sb) noexcept nogil
    Py_ssize_t vs_fmt128(vs_i128 m, int cs, int s, char* buf) noexcept nogil
    int vs_parse128(const char* p, Py_ssize_t n, vs_i128* m, int* s) noexcept nogil

cdef enum ColumnType:
    T_NULL = 0          # every value NULL, type not known yet
    T_BOOL = 1
    T_INT64 = 2
    T_FLOAT64 = 3
    T_DECIMAL = 4
    T_STRING = 5
    T_TIMESTAMP = 6
    T_OBJECT = 7


cdef int64_t datetime_to_epoch_ms(object v) except? -1


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
    cdef readonly object wdata          # array('q'), two limbs per row (int128 storage), or None
    cdef int64_t* w                     # into wdata, or NULL
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
# An int128 DECIMAL column over ``wdata`` (array('q') of 2n limbs, mantissas at ``scale``, each
# |m| < 10**38), or the narrow column when every present mantissa fits int64.
cdef DecimalColumn make_decimal128(object wdata, object validity, Py_ssize_t n, int scale,
                                   object row_scales)
# None when every row scale in ``scales`` (array('B') of n, or None) is the column ``scale`` (the
# cheaper, equal form of a DecimalColumn), else ``scales``.
cdef object dec_uniform_scales(object scales, Py_ssize_t n, int scale)
# The ScaledInteger (None = NULL) of every row of a wide column (int128 rows boxed on first use).
cdef list dec_objects(DecimalColumn c)
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


cdef inline bint dec_is_wide(DecimalColumn c) noexcept:
    """Some mantissa of ``c`` leaves int64: int128 storage (``w``) or ScaledInteger objects."""
    return c.w != NULL or c.wide is not None


cdef inline bint dec_is_objects(DecimalColumn c) noexcept:
    """``c`` needs the exact object path: a mantissa past 38 digits (no int128 storage)."""
    return c.w == NULL and c.wide is not None


cdef inline vs_i128 dec_m128(DecimalColumn c, Py_ssize_t i) noexcept:
    """Row ``i``'s mantissa at the column scale as an int128 (narrow or int128 storage)."""
    if c.w != NULL:
        return vs_ld128(c.w, i)
    return <vs_i128>c.values[i]
