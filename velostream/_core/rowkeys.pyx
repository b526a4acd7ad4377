# cython: language_level=3
"""Columnar kernels for the key-based operators: DISTINCT, ORDER BY, and (next) GROUP BY / joins.

- ``row_keys(columns)``: one ``bytes`` key per row such that two rows have equal keys exactly when
  their values are equal for DISTINCT / GROUP BY (SQL "not distinct": NULLs group together);
- ``sort_indices(columns, descending, nulls_first)``: a stable multi-key argsort in C;
- ``DistinctFilter``: the bounded "seen keys" set of DISTINCT on an unbounded stream;
- ``concat_columns`` / ``concat_batches``: one batch out of held batches whose column types
  differ (schema-on-read), widening as the decoders do.

Key equality (what DISTINCT and GROUP BY see; DuckDB where DIALECT.md is silent):
- NULL equals NULL, whatever the column's type in that batch;
- numbers compare by value across BIGINT, DECIMAL and DOUBLE, also when a column changes type
  between batches: ``1 = 1.0 = 1.00`` (DECIMAL) ``= 1.0e0`` (DOUBLE). A DOUBLE's value is its
  exact value when it is integral and otherwise the decimal it prints as (its shortest
  round-trip text), so DOUBLE ``0.1`` equals DECIMAL ``0.1`` as DuckDB's cast to DOUBLE gives;
  ``-0.0 = 0.0``; every NaN is one value; ``±inf`` are values;
- BOOLEAN, STRING, TIMESTAMP and nested values (lists, maps) are their own kinds: ``TRUE`` is not
  ``1`` and the string ``'1'`` is not ``1`` (the decoders never unify those types either; they
  make an OBJECT column), a TIMESTAMP is not its epoch-millisecond BIGINT;
- strings by their UTF-8 bytes; lists element by element, maps as sets of (key, value) pairs,
  with the same rules inside.

Key format: a concatenation of self-delimiting fields, one per column (a tag byte, then a fixed
width payload or a varint length), so multi-column keys cannot collide by concatenation. A value
has one canonical field: numbers are normalised to ``(m, s)`` with no trailing zero digit
(``m / 10**s``) and written as ``INT`` (8 bytes, an integer in int64), ``DEC`` (scale byte +
int128), or, past those, ``FLOAT`` (the IEEE bits: ±inf, NaN and doubles outside int128/scale
255) or ``BIG`` (text ``<hex mantissa>e<exponent>``, mantissa without trailing zero digits).
Numbers in typed columns are keyed in C; Python objects (OBJECT columns, DECIMALs past 38 digits)
by ``value_key``, which gives the same field for the same value. Keys are for equality only
(their byte order is not the SQL order) and are the same on every run (payloads in the machine's
byte order: little-endian on x86-64 and ARM64), so they can be checkpointed (``KEY_FORMAT``
versions them).

Sort order (ORDER BY): NULLS LAST in both directions unless NULLS FIRST (per key); DESC reverses
values, not NULL placement; DOUBLE NaN sorts above +inf (first in DESC, as DuckDB); ``-0.0`` ties
``0.0``; DECIMAL by value; strings by UTF-8 bytes (= code points); ties keep input order. OBJECT
columns (and DECIMALs past 38 digits) are ranked in Python first (booleans < numbers < strings
< timestamps < lists < maps < anything else), then sorted with the typed keys.
"""

from cpython cimport array
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.dict cimport PyDict_GetItem
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.mem cimport PyMem_Free
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from velostream._core.batch cimport (
    T_BOOL, T_DECIMAL, T_FLOAT64, T_INT64, T_NULL, T_OBJECT, T_STRING, T_TIMESTAMP, BoolColumn,
    Column, DecimalColumn, Float64Column, Int64Column, NullColumn, ObjectColumn, RecordBatch,
    StringColumn, dec_is_objects, dec_m128, dec_objects, dec_uniform_scales, make_bool,
    make_decimal128, make_decimal_values, make_float64, make_int64, make_string, new_byte_array,
    new_double_array, new_int64_array, vs_i128, vs_ld128, vs_mk128, vs_st128, vs_up128,
)
from velostream._core.decimal cimport ScaledInteger

import datetime as _dt
from array import array as _array
from collections import OrderedDict as _OrderedDict
from decimal import Decimal as _Decimal
from fractions import Fraction as _Fraction
from itertools import islice as _islice

from velostream._core.decimal import ScaledInteger as _ScaledInteger

cdef extern from "Python.h":
    char* PyOS_double_to_string(double val, char format_code, int precision, int flags,
                                int* ptype) except NULL

cdef extern from *:
    """
    #include <math.h>
    #define RK_NULL 0x00
    #define RK_FALSE 0x01
    #define RK_TRUE 0x02
    #define RK_INT 0x10
    #define RK_DEC 0x11
    #define RK_FLOAT 0x12
    #define RK_BIG 0x13
    #define RK_TS 0x20
    #define RK_STR 0x30
    #define RK_LIST 0x40
    #define RK_MAP 0x41
    #define RK_BYTES 0x42
    #define RK_OTHER 0x4f
    /* A number's canonical field: tag RK_INT (m in int64), RK_DEC (m / 10**s, no trailing
       zero digit, or an integer past int64) or RK_FLOAT (m holds the IEEE bits); RK_NULL. */
    typedef struct { vs_i128 m; uint8_t tag; uint8_t s; } rk_num;

    static inline int rk_fits64(vs_i128 m) {
        return m >= (vs_i128)INT64_MIN && m <= (vs_i128)INT64_MAX; }

    static inline void rk_canon(vs_i128 m, int s, rk_num *o) {
        while (s > 0) {
            if (rk_fits64(m)) {     /* 64-bit divisions: the common case, and cheaper */
                int64_t v = (int64_t)m;
                while (s > 0 && v % 10 == 0) { v /= 10; s--; }
                m = (vs_i128)v;
                break;
            }
            if (m % 10 != 0) break;
            m /= 10; s--;
        }
        o->m = m; o->s = (uint8_t)s;
        o->tag = (s == 0 && rk_fits64(m)) ? RK_INT : RK_DEC;
    }

    static inline void rk_float_bits(double x, rk_num *o) {
        int64_t b;
        if (x != x) b = (int64_t)0x7ff8000000000000LL;      /* every NaN is one value */
        else memcpy(&b, &x, sizeof b);
        o->tag = RK_FLOAT; o->s = 0; o->m = (vs_i128)b;
    }

    /* 1 when x is finite and not integral (its value is its shortest repr: the caller parses
       it with rk_parse_repr), else 0 with *o filled. */
    static inline int rk_canon_double(double x, rk_num *o) {
        const double p63 = 9223372036854775808.0, p127 = 170141183460469231731687303715884105728.0;
        if (x != x || x == HUGE_VAL || x == -HUGE_VAL) { rk_float_bits(x, o); return 0; }
        if (x == 0.0) { o->tag = RK_INT; o->s = 0; o->m = 0; return 0; }
        if (floor(x) != x) {
            /* Fast path: the fewest decimals s <= 15 whose m / 10**s (|m| < 10**15) converts
               back to x. m and 10**s are exact doubles, so m / 10**s is the correctly rounded
               conversion (Clinger's fast path); a decimal of at most 15 digits that converts
               back is unique (DBL_DIG) and is therefore the shortest repr. */
            double p = 1.0, y;
            int64_t m0, m;
            int s, d;
            for (s = 1; s <= 15; s++) {
                p *= 10.0;
                y = x * p;
                if (y >= 1e15 || y <= -1e15) break;
                m0 = llround(y);
                for (d = 0; d < 3; d++) {
                    m = m0 + (d == 0 ? 0 : d == 1 ? -1 : 1);
                    if (m < 1000000000000000LL && m > -1000000000000000LL && (double)m / p == x) {
                        rk_canon((vs_i128)m, s, o);
                        return 0;
                    }
                }
            }
            return 1;
        }
        o->s = 0;
        if (x >= -p63 && x < p63) { o->tag = RK_INT; o->m = (vs_i128)(int64_t)x; return 0; }
        if (x >= -p127 && x < p127) { o->tag = RK_DEC; o->m = (vs_i128)x; return 0; }
        rk_float_bits(x, o);
        return 0;
    }

    /* The shortest repr of a finite non-integral double ("0.1", "-2.5", "1.5e-07"; at most 17
       digits) as a decimal; 1 when its scale passes 255 (the caller keys the float bits). */
    static inline int rk_parse_repr(const char *p, rk_num *o) {
        int64_t v = 0; int neg = 0, frac = -1, e = 0, eneg = 0, s;
        if (*p == '-') { neg = 1; p++; }
        for (; *p; p++) {
            if (*p >= '0' && *p <= '9') { v = v * 10 + (*p - '0'); if (frac >= 0) frac++; }
            else if (*p == '.') frac = 0;
            else if (*p == 'e' || *p == 'E') {
                p++;
                if (*p == '-') { eneg = 1; p++; } else if (*p == '+') p++;
                for (; *p >= '0' && *p <= '9'; p++) e = e * 10 + (*p - '0');
                break;
            }
        }
        s = (frac < 0 ? 0 : frac) + (eneg ? e : -e);
        if (s < 0 || s > 255) return 1;
        rk_canon((vs_i128)(neg ? -v : v), s, o);
        return 0;
    }

    static inline Py_ssize_t rk_num_size(const rk_num *x) {
        return x->tag == RK_DEC ? 18 : x->tag == RK_NULL ? 1 : 9; }

    static inline char *rk_put_num(char *p, const rk_num *x) {
        int64_t v;
        *p++ = (char)x->tag;
        if (x->tag == RK_NULL) return p;
        if (x->tag == RK_DEC) { *p++ = (char)x->s; memcpy(p, &x->m, 16); return p + 16; }
        v = (int64_t)x->m; memcpy(p, &v, 8); return p + 8; }

    static inline char *rk_put_i64(char *p, int tag, int64_t v) {
        *p++ = (char)tag; memcpy(p, &v, 8); return p + 8; }

    static inline Py_ssize_t rk_varint_size(uint64_t n) {
        Py_ssize_t k = 1; while (n >= 0x80) { n >>= 7; k++; } return k; }

    static inline char *rk_put_varint(char *p, uint64_t n) {
        while (n >= 0x80) { *p++ = (char)(0x80 | (n & 0x7f)); n >>= 7; }
        *p++ = (char)n; return p; }

    /* ---- sorting ---- */
    enum { SK_NULL, SK_I64, SK_F64, SK_U8, SK_I128, SK_STR };
    typedef struct {
        int kind, desc, nulls_first;
        const uint8_t *valid;       /* NULL = every row present */
        const int64_t *i64;         /* SK_I64, SK_I128 (two limbs per row) */
        const double *f64;
        const uint8_t *u8;
        const char *chars;          /* SK_STR */
        const int64_t *offs;
    } rk_sortkey;

    static inline int rk_cmp(const rk_sortkey *keys, int nk, int64_t a, int64_t b) {
        int k, c, va, vb;
        for (k = 0; k < nk; k++) {
            const rk_sortkey *K = keys + k;
            va = K->valid == NULL || K->valid[a];
            vb = K->valid == NULL || K->valid[b];
            if (!va || !vb) {
                if (va == vb) continue;
                c = va ? -1 : 1;            /* NULLS LAST */
                return K->nulls_first ? -c : c;
            }
            switch (K->kind) {
            case SK_I64: c = (K->i64[a] > K->i64[b]) - (K->i64[a] < K->i64[b]); break;
            case SK_U8: c = (K->u8[a] > K->u8[b]) - (K->u8[a] < K->u8[b]); break;
            case SK_F64: {
                double x = K->f64[a], y = K->f64[b];
                int nx = x != x, ny = y != y;
                c = (nx || ny) ? nx - ny : (x > y) - (x < y);   /* NaN above +inf */
                break; }
            case SK_I128: {
                vs_i128 x = vs_ld128(K->i64, a), y = vs_ld128(K->i64, b);
                c = (x > y) - (x < y);
                break; }
            case SK_STR: {
                int64_t la = K->offs[a + 1] - K->offs[a], lb = K->offs[b + 1] - K->offs[b];
                int r = memcmp(K->chars + K->offs[a], K->chars + K->offs[b],
                               (size_t)(la < lb ? la : lb));
                c = r ? (r < 0 ? -1 : 1) : (la > lb) - (la < lb);
                break; }
            default: c = 0;
            }
            if (c) return K->desc ? -c : c;
        }
        return 0;
    }

    /* Stable bottom-up merge sort of idx[0..n) (insertion-sorted runs of 24, then merges that
       take the left element on ties); tmp has room for n. */
    static void rk_msort(int64_t *idx, int64_t *tmp, Py_ssize_t n, const rk_sortkey *keys,
                         int nk) {
        const Py_ssize_t RUN = 24;
        Py_ssize_t lo, hi, i, j, w, mid, o;
        int64_t *src = idx, *dst = tmp, *t, x;
        for (lo = 0; lo < n; lo += RUN) {
            hi = lo + RUN < n ? lo + RUN : n;
            for (i = lo + 1; i < hi; i++) {
                x = idx[i];
                for (j = i; j > lo && rk_cmp(keys, nk, idx[j - 1], x) > 0; j--) idx[j] = idx[j - 1];
                idx[j] = x;
            }
        }
        for (w = RUN; w < n; w *= 2) {
            for (lo = 0; lo < n; lo += 2 * w) {
                mid = lo + w < n ? lo + w : n;
                hi = lo + 2 * w < n ? lo + 2 * w : n;
                if (mid >= hi || rk_cmp(keys, nk, src[mid - 1], src[mid]) <= 0) {
                    memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(int64_t));
                    continue;
                }
                i = lo; j = mid; o = lo;
                while (i < mid && j < hi)
                    dst[o++] = rk_cmp(keys, nk, src[i], src[j]) <= 0 ? src[i++] : src[j++];
                while (i < mid) dst[o++] = src[i++];
                while (j < hi) dst[o++] = src[j++];
            }
            t = src; src = dst; dst = t;
        }
        if (src != idx) memcpy(idx, src, (size_t)n * sizeof(int64_t));
    }

    /* Words per row a key takes in the radix sort: a NULL flag when the column has a validity
       mask, then 2 for int128 and strings (8-byte prefix, length capped at 9), 1 otherwise. */
    static inline int rk_words(const rk_sortkey *K) {
        return (K->valid != NULL) + (K->kind == SK_I128 || K->kind == SK_STR ? 2
                                     : K->kind != SK_NULL); }

    /* Stable LSD radix sort of idx (the identity on entry): every key becomes unsigned words
       whose order is the key's order (a NULL-flag word when the column has a validity mask,
       then the value: int64 with the sign bit flipped, a double's bits made monotonic with
       -0.0 as 0.0 and NaN above +inf, int128 as two words, a string as its first 8 bytes
       big-endian and its length capped at 9; DESC complements the value words), then one
       counting pass per byte from the least significant, skipping the bytes where every row
       agrees (a quantity of 1..1000 sorts in two passes). Strings longer than 8 bytes that tie
       on those words are then merge-sorted with the full comparator, run by run. Returns -1
       when out of memory (the caller merge-sorts instead). */
    static int rk_radix(const rk_sortkey *keys, int nk, int64_t *idx, int64_t *tmp,
                        Py_ssize_t n) {
        int W = 0, k, w = 0, b, wk, last;
        Py_ssize_t i, j, *hist, *off, first;
        uint64_t *kw, u, flip, *a;
        int64_t *src = idx, *dst = tmp, *t;
        for (k = 0; k < nk; k++) W += rk_words(keys + k);
        if (W == 0 || n < 2) return 0;
        kw = (uint64_t *)malloc((size_t)n * W * sizeof(uint64_t));
        hist = (Py_ssize_t *)malloc(8 * 256 * sizeof(Py_ssize_t));
        if (kw == NULL || hist == NULL) { free(kw); free(hist); return -1; }
        for (k = 0; k < nk; k++) {
            const rk_sortkey *K = keys + k;
            flip = K->desc ? ~(uint64_t)0 : 0;
            if (K->valid != NULL) {
                for (i = 0; i < n; i++)
                    kw[i * W + w] = (uint64_t)((K->valid[i] == 0) != (K->nulls_first != 0));
                w++;
            }
            for (i = 0; i < n && K->kind != SK_NULL; i++) {
                uint64_t *row = kw + i * W + w;
                if (K->valid != NULL && !K->valid[i]) {         /* NULLs tie: one value */
                    row[0] = 0;
                    if (K->kind == SK_I128 || K->kind == SK_STR) row[1] = 0;
                    continue;
                }
                switch (K->kind) {
                case SK_I64: u = (uint64_t)K->i64[i] ^ ((uint64_t)1 << 63); break;
                case SK_U8: u = K->u8[i]; break;
                case SK_F64: {
                    double x = K->f64[i];
                    if (x != x) u = ~(uint64_t)0;
                    else {
                        if (x == 0.0) x = 0.0;
                        memcpy(&u, &x, sizeof u);
                        u = (u >> 63) ? ~u : u | ((uint64_t)1 << 63);
                    }
                    break; }
                case SK_I128: {
                    vs_i128 v = vs_ld128(K->i64, i);
                    u = (uint64_t)(v >> 64) ^ ((uint64_t)1 << 63);
                    row[1] = (uint64_t)v ^ flip;
                    break; }
                case SK_STR: {
                    int64_t len = K->offs[i + 1] - K->offs[i], q;
                    const unsigned char *p = (const unsigned char *)K->chars + K->offs[i];
                    u = 0;
                    for (q = 0; q < 8; q++) u = (u << 8) | (q < len ? p[q] : 0);
                    row[1] = (uint64_t)(len < 9 ? len : 9) ^ flip;
                    break; }
                default: u = 0;
                }
                row[0] = u ^ flip;
            }
            w += K->kind == SK_I128 || K->kind == SK_STR ? 2 : K->kind != SK_NULL;
        }
        for (w = W - 1; w >= 0; w--) {
            memset(hist, 0, 8 * 256 * sizeof(Py_ssize_t));
            for (i = 0; i < n; i++) {
                u = kw[i * W + w];
                for (b = 0; b < 8; b++) hist[b * 256 + ((u >> (8 * b)) & 255)]++;
            }
            for (b = 0; b < 8; b++) {
                off = hist + b * 256;
                if (off[(kw[w] >> (8 * b)) & 255] == n) continue;     /* every row agrees */
                for (first = 0, k = 0; k < 256; k++) {
                    Py_ssize_t cnt = off[k]; off[k] = first; first += cnt; }
                for (i = 0; i < n; i++) {
                    int64_t r = src[i];
                    dst[off[(kw[r * W + w] >> (8 * b)) & 255]++] = r;
                }
                t = src; src = dst; dst = t;
            }
        }
        if (src != idx) memcpy(idx, src, (size_t)n * sizeof(int64_t));
        /* A string longer than its 8-byte prefix may tie there with a different string: for
           each string key in order, rows equal on every word up to its length word (in order
           of the later keys, and in input order among full ties) are sorted again with the
           full comparator (stable) where that length is 9. A run sorted so is in its final
           order, so the later string keys' runs inside it stay as they are. */
        for (k = 0, wk = 0; k < nk; wk += rk_words(keys + k), k++) {
            const rk_sortkey *K = keys + k;
            if (K->kind != SK_STR) continue;
            last = wk + rk_words(K) - 1;
            flip = K->desc ? ~(uint64_t)0 : 0;
            for (i = 0; i < n; i = j) {
                a = kw + idx[i] * W;
                for (j = i + 1; j < n; j++)
                    if (memcmp(a, kw + idx[j] * W, (size_t)(last + 1) * sizeof(uint64_t))) break;
                if (j - i > 1 && (a[last] ^ flip) == 9) rk_msort(idx + i, tmp, j - i, keys, nk);
            }
        }
        free(kw);
        free(hist);
        return 0;
    }
    """
    int RK_NULL, RK_FALSE, RK_TRUE, RK_INT, RK_DEC, RK_FLOAT, RK_BIG, RK_TS, RK_STR
    int RK_LIST, RK_MAP, RK_BYTES, RK_OTHER
    ctypedef struct rk_num:
        vs_i128 m
        uint8_t tag
        uint8_t s
    void rk_canon(vs_i128 m, int s, rk_num* o) noexcept nogil
    bint rk_canon_double(double x, rk_num* o) noexcept nogil
    bint rk_parse_repr(const char* p, rk_num* o) noexcept nogil
    void rk_float_bits(double x, rk_num* o) noexcept nogil
    Py_ssize_t rk_num_size(const rk_num* x) noexcept nogil
    char* rk_put_num(char* p, const rk_num* x) noexcept nogil
    char* rk_put_i64(char* p, int tag, int64_t v) noexcept nogil
    Py_ssize_t rk_varint_size(uint64_t n) noexcept nogil
    char* rk_put_varint(char* p, uint64_t n) noexcept nogil
    int SK_NULL, SK_I64, SK_F64, SK_U8, SK_I128, SK_STR
    ctypedef struct rk_sortkey:
        int kind
        int desc
        int nulls_first
        const uint8_t* valid
        const int64_t* i64
        const double* f64
        const uint8_t* u8
        const char* chars
        const int64_t* offs
    void rk_msort(int64_t* idx, int64_t* tmp, Py_ssize_t n, const rk_sortkey* keys,
                  int nk) noexcept nogil
    int rk_radix(const rk_sortkey* keys, int nk, int64_t* idx, int64_t* tmp,
                 Py_ssize_t n) noexcept nogil


# Below this many rows the merge sort's insertion runs beat the radix passes' fixed cost.
cdef Py_ssize_t RADIX_MIN_ROWS = 64

KEY_FORMAT = 1      # bump when the bytes of a key change (checkpointed DISTINCT / GROUP BY state)

cdef array.array _Q = _array("q")
cdef object _EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
cdef object _MS = _dt.timedelta(milliseconds=1)
cdef object _I64_MIN = -(2 ** 63)
cdef object _I64_MAX = 2 ** 63 - 1
cdef object _I128_MIN = -(2 ** 127)
cdef object _I128_MAX = 2 ** 127 - 1
cdef object _MASK64 = 2 ** 64 - 1
cdef object _P16 = 10 ** 16


# --------------------------------------------------------------------------- numbers

cdef int _canon_double(double x, rk_num* o) except -1:
    """The canonical number of a DOUBLE (see the module docstring)."""
    cdef char* text
    if not rk_canon_double(x, o):
        return 0
    text = PyOS_double_to_string(x, c'r', 0, 0, NULL)
    try:
        if rk_parse_repr(text, o):
            rk_float_bits(x, o)
    finally:
        PyMem_Free(text)
    return 0


cdef bytes _num_bytes(rk_num* x):
    cdef bytes out = PyBytes_FromStringAndSize(NULL, rk_num_size(x))
    rk_put_num(PyBytes_AS_STRING(out), x)
    return out


cdef bytes _with_length(int tag, bytes payload):
    cdef Py_ssize_t n = len(payload)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 1 + rk_varint_size(n) + n)
    cdef char* p = PyBytes_AS_STRING(out)
    p[0] = <char>tag
    p = rk_put_varint(p + 1, n)
    memcpy(p, <const char*>payload, n)
    return out


cdef inline object _pow10(int s):
    return (<object>10) ** s      # a Python int: ``10 ** s`` of a C int is a C double


cdef tuple _canonical(object m, object e):
    """(m', e') with m * 10**e == m' * 10**e' and m' not a multiple of 10; (0, 0) for zero."""
    if m == 0:
        return 0, 0
    while m % _P16 == 0:
        m //= _P16
        e += 16
    while m % 10 == 0:
        m //= 10
        e += 1
    return m, e


cdef tuple _double_canonical(double x):
    """A finite DOUBLE's value as keys see it, as ``_canonical`` gives it: exact when integral,
    else the decimal of its shortest repr (at most 17 digits)."""
    if x == int(x):
        return _canonical(int(x), 0)
    sign, digits, exp = _Decimal(repr(x)).as_tuple()
    m = int("".join(map(str, digits)))
    return _canonical(-m if sign else m, exp)


cdef bytes _num_key(object m, object e):
    """The field of the number m * 10**e (Python ints; any size, any exponent)."""
    cdef rk_num x
    cdef double f
    m, e = _canonical(m, e)
    if 0 <= e <= 38:
        n = m * _pow10(e)
        if _I128_MIN <= n <= _I128_MAX:
            rk_canon(vs_mk128(<int64_t>(n >> 64), <uint64_t>(n & _MASK64)), 0, &x)
            return _num_bytes(&x)
    elif -255 <= e < 0 and _I128_MIN <= m <= _I128_MAX:
        rk_canon(vs_mk128(<int64_t>(m >> 64), <uint64_t>(m & _MASK64)), -e, &x)
        return _num_bytes(&x)
    # Past int128 or scale 255: the bits of the DOUBLE whose value this is (a finite double
    # has at most 1024 bits and an exponent within +-400), else exact text (hex digits: no
    # limit on the size of a Python int's text).
    if m.bit_length() <= 1100 and -400 <= e <= 400:
        f = float(_Decimal(f"{m}e{e}"))
        if f - f == 0 and f != 0 and _double_canonical(f) == (m, e):
            rk_float_bits(f, &x)
            return _num_bytes(&x)
    return _with_length(RK_BIG, f"{m:x}e{e}".encode("ascii"))


cdef bytes _float_key(double f):
    cdef rk_num x
    _canon_double(f, &x)
    return _num_bytes(&x)


cdef bytes _decimal_key(object d):
    """A Python ``decimal.Decimal`` (OBJECT columns of huge JSON numbers)."""
    if not d.is_finite():
        return _float_key(float("nan") if d.is_nan() else float(d))
    sign, digits, exp = d.as_tuple()
    # The integer of the digits through Decimal: exact, and no limit on the number of digits.
    return _num_key(int(_Decimal((sign, digits, 0))), exp)


cdef bytes _i64_key(int tag, int64_t v):
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 9)
    rk_put_i64(PyBytes_AS_STRING(out), tag, v)
    return out


cdef bytes _str_key(str s):
    return _with_length(RK_STR, s.encode("utf-8", "surrogatepass"))


cpdef bytes value_key(object v):
    """The key field of one Python value (what an OBJECT column's row contributes): equal to the
    field a typed column gives for the same SQL value (``value_key(1) == value_key(1.0) ==
    value_key(ScaledInteger("1.00"))``; ``row_keys([c])[i] == value_key(c[i])``)."""
    cdef ScaledInteger si
    if v is None:
        return b"\x00"
    t = type(v)
    if t is bool:
        return b"\x02" if v else b"\x01"
    if t is int:
        if _I64_MIN <= v <= _I64_MAX:
            return _i64_key(RK_INT, v)
        return _num_key(v, 0)
    if t is float:
        return _float_key(v)
    if t is str:
        return _str_key(v)
    if t is _ScaledInteger:
        si = v
        return _num_key(si.mantissa, -<int>si.scale)
    if isinstance(v, _dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=_dt.timezone.utc)
        return _i64_key(RK_TS, (v - _EPOCH) // _MS)
    if isinstance(v, dict):
        items = sorted([(value_key(k), value_key(x)) for k, x in v.items()])
        return _with_length(RK_MAP, b"".join([k + x for k, x in items]))
    if isinstance(v, (list, tuple)):
        return _with_length(RK_LIST, b"".join([value_key(x) for x in v]))
    if isinstance(v, int):
        return _num_key(int(v), 0)
    if isinstance(v, float):
        return _float_key(v)
    if isinstance(v, str):
        return _str_key(str(v))
    if isinstance(v, _Decimal):
        return _decimal_key(v)
    if isinstance(v, (bytes, bytearray)):
        return _with_length(RK_BYTES, bytes(v))
    return _with_length(RK_OTHER, f"{t.__module__}.{t.__qualname__}:{v!r}".encode(
        "utf-8", "surrogatepass"))


# --------------------------------------------------------------------------- row keys

cdef inline bint _null_at(Column c, Py_ssize_t i) noexcept:
    return c.valid != NULL and c.valid[i] == 0


cdef list _object_fields(Column c):
    """The field of every row of a column without typed storage (OBJECT, DECIMAL objects)."""
    cdef Py_ssize_t i
    cdef list values
    cdef list out = [b"\x00"] * c.length
    if c.type == T_OBJECT:
        values = (<ObjectColumn>c).values
    else:
        values = dec_objects(<DecimalColumn>c)
    for i in range(c.length):
        if not _null_at(c, i):
            out[i] = value_key(values[i])
    return out


cdef rk_num* _numbers(Column c) except NULL:
    """The canonical number of every row of a DOUBLE or typed DECIMAL column (malloc'd)."""
    cdef Py_ssize_t i, n = c.length
    cdef rk_num* out = <rk_num*>malloc((n if n else 1) * sizeof(rk_num))
    cdef Float64Column f
    cdef DecimalColumn d
    if out == NULL:
        raise MemoryError()
    try:
        if c.type == T_FLOAT64:
            f = <Float64Column>c
            for i in range(n):
                if _null_at(c, i):
                    out[i].tag = RK_NULL
                else:
                    _canon_double(f.values[i], &out[i])
        else:
            d = <DecimalColumn>c
            for i in range(n):
                if _null_at(c, i):
                    out[i].tag = RK_NULL
                elif d.w != NULL:
                    rk_canon(vs_ld128(d.w, i), d.scale, &out[i])
                else:
                    rk_canon(<vs_i128>d.values[i], d.scale, &out[i])
    except BaseException:
        free(out)
        raise
    return out


cdef inline bint _typed_numbers(Column c) noexcept:
    return c.type == T_FLOAT64 or (c.type == T_DECIMAL and not dec_is_objects(<DecimalColumn>c))


cpdef list row_keys(object columns, bint nulls_equal=True):
    """One ``bytes`` key per row of ``columns`` (a sequence of equal-length columns): equal keys
    ⇔ the rows are not distinct (see the module docstring). With ``nulls_equal=False`` a row
    with a NULL in any key column gets ``None`` instead (join keys: NULL matches nothing)."""
    cdef list cols = list(columns)
    cdef Py_ssize_t i, j, n, k = len(cols), size
    cdef Column c
    cdef StringColumn s
    cdef Int64Column iv
    cdef BoolColumn bv
    cdef rk_num* num
    cdef list fields
    cdef bytes b
    if k == 0:
        raise ValueError("row_keys needs at least one column")
    n = (<Column?>cols[0]).length
    for j in range(k):
        if (<Column?>cols[j]).length != n:
            raise ValueError(f"key columns of different lengths: {(<Column>cols[j]).length} "
                             f"and {n}")
    cdef int64_t* sizes = <int64_t*>malloc((n if n else 1) * sizeof(int64_t))
    cdef char** at = <char**>malloc((n if n else 1) * sizeof(char*))
    cdef rk_num** nums = <rk_num**>malloc(k * sizeof(rk_num*))
    cdef list objs = [None] * k
    cdef list out
    if sizes == NULL or at == NULL or nums == NULL:
        free(sizes)
        free(at)
        free(nums)
        raise MemoryError()
    for j in range(k):
        nums[j] = NULL
    try:
        for i in range(n):
            sizes[i] = 0
        # Sizes: numbers and object fields are computed once here and written below.
        for j in range(k):
            c = cols[j]
            if _typed_numbers(c):
                nums[j] = num = _numbers(c)
                for i in range(n):
                    sizes[i] += rk_num_size(&num[i])
            elif c.type == T_STRING:
                s = <StringColumn>c
                for i in range(n):
                    if _null_at(c, i):
                        sizes[i] += 1
                    else:
                        size = s.offs[i + 1] - s.offs[i]
                        sizes[i] += 1 + rk_varint_size(size) + size
            elif c.type == T_INT64 or c.type == T_TIMESTAMP:
                for i in range(n):
                    sizes[i] += 1 if _null_at(c, i) else 9
            elif c.type == T_BOOL or c.type == T_NULL:
                for i in range(n):
                    sizes[i] += 1
            else:
                objs[j] = fields = _object_fields(c)
                for i in range(n):
                    sizes[i] += len(<bytes>fields[i])
        out = PyList_New(n)
        for i in range(n):
            b = PyBytes_FromStringAndSize(NULL, sizes[i])
            at[i] = PyBytes_AS_STRING(b)
            Py_INCREF(b)
            PyList_SET_ITEM(out, i, b)
        for j in range(k):
            c = cols[j]
            if nums[j] != NULL:
                num = nums[j]
                for i in range(n):
                    at[i] = rk_put_num(at[i], &num[i])
            elif c.type == T_STRING:
                s = <StringColumn>c
                for i in range(n):
                    if _null_at(c, i):
                        at[i][0] = <char>RK_NULL
                        at[i] += 1
                    else:
                        size = s.offs[i + 1] - s.offs[i]
                        at[i][0] = <char>RK_STR
                        at[i] = rk_put_varint(at[i] + 1, size)
                        memcpy(at[i], s.chars + s.offs[i], size)
                        at[i] += size
            elif c.type == T_INT64 or c.type == T_TIMESTAMP:
                iv = <Int64Column>c
                for i in range(n):
                    if _null_at(c, i):
                        at[i][0] = <char>RK_NULL
                        at[i] += 1
                    else:
                        at[i] = rk_put_i64(at[i], RK_INT if c.type == T_INT64 else RK_TS,
                                           iv.values[i])
            elif c.type == T_BOOL:
                bv = <BoolColumn>c
                for i in range(n):
                    at[i][0] = <char>(RK_NULL if _null_at(c, i) else
                                      RK_TRUE if bv.values[i] else RK_FALSE)
                    at[i] += 1
            elif c.type == T_NULL:
                for i in range(n):
                    at[i][0] = <char>RK_NULL
                    at[i] += 1
            else:
                fields = objs[j]
                for i in range(n):
                    b = fields[i]
                    memcpy(at[i], <const char*>b, len(b))
                    at[i] += len(b)
    finally:
        for j in range(k):
            free(nums[j])
        free(nums)
        free(sizes)
        free(at)
    if not nulls_equal:
        for j in range(k):
            c = cols[j]
            if c.valid != NULL:
                for i in range(n):
                    if c.valid[i] == 0:
                        out[i] = None
    return out


# --------------------------------------------------------------------------- sorting

cdef object _sort_value(object v):
    """A Python value's place in the order of OBJECT columns (comparable across kinds)."""
    t = type(v)
    if t is bool:
        return (0, v)
    if t is int:
        return (1, 0, v)
    if t is float:
        if v != v:
            return (1, 1, 0)
        if v - v != 0 or v == int(v):
            return (1, 0, v)
        m, e = _double_canonical(v)
        return (1, 0, _Fraction(m) * _Fraction(10) ** e)
    if t is str:
        return (2, v)
    if t is _ScaledInteger:
        return (1, 0, _Fraction((<ScaledInteger>v).mantissa, _pow10((<ScaledInteger>v).scale)))
    if isinstance(v, bool):
        return (0, bool(v))
    if isinstance(v, int):
        return (1, 0, int(v))
    if isinstance(v, float):
        return _sort_value(float(v))
    if isinstance(v, _Decimal):
        if v.is_nan():
            return (1, 1, 0)
        # Exact within 1000 digits of exponent; past that (no DECIMAL or DOUBLE gets there)
        # the float's order, rather than a Fraction of a million digits.
        if v.is_finite() and -1000 <= v.as_tuple().exponent <= 1000:
            return (1, 0, _Fraction(v))
        return (1, 0, float(v))
    if isinstance(v, str):
        return (2, str(v))
    if isinstance(v, _dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=_dt.timezone.utc)
        return (3, (v - _EPOCH) // _MS)
    if isinstance(v, (list, tuple)):
        return (4, tuple([_sort_value(x) for x in v]))
    if isinstance(v, dict):
        return (5, tuple(sorted([(value_key(k), _sort_value(x)) for k, x in v.items()])))
    return (6, value_key(v))


cdef tuple _object_ranks(Column c):
    """(ranks, validity): the dense rank of every present row's value (ties share a rank)."""
    cdef Py_ssize_t i, n = c.length, r = 0
    cdef object ranks = new_int64_array(n)
    cdef int64_t* rk = <int64_t*>(<array.array>ranks).data.as_voidptr
    cdef object validity = new_byte_array(n, False)
    cdef uint8_t* ok = <uint8_t*>(<array.array>validity).data.as_voidptr
    values = (<ObjectColumn>c).values if c.type == T_OBJECT else dec_objects(<DecimalColumn>c)
    present = []
    keys = []
    for i in range(n):
        rk[i] = 0
        ok[i] = not _null_at(c, i) and values[i] is not None
        if ok[i]:
            present.append(i)
            keys.append(_sort_value(values[i]))
    prev = None
    for i in sorted(range(len(present)), key=keys.__getitem__):
        if r == 0 or keys[i] != prev:
            r += 1
            prev = keys[i]
        rk[<Py_ssize_t>present[i]] = r
    return ranks, validity


cpdef object sort_indices(object columns, object descending=None, object nulls_first=None):
    """Row positions (``array('q')``) that sort ``columns`` (equal lengths) by the first key,
    then the second …; stable. ``descending`` / ``nulls_first``: one flag per key (or None for
    all ASC / all NULLS LAST; a None flag is False). ``batch.take(sort_indices(...))`` sorts."""
    cdef list cols = list(columns)
    cdef Py_ssize_t i, j, n, k = len(cols)
    cdef list desc = [False] * k if descending is None else list(descending)
    cdef list nf = [False] * k if nulls_first is None else list(nulls_first)
    cdef Column c
    cdef list keep = []
    if k == 0:
        raise ValueError("sort_indices needs at least one column")
    if len(desc) != k or len(nf) != k:
        raise ValueError(f"{k} sort keys but {len(desc)} directions and {len(nf)} NULL orders")
    n = (<Column?>cols[0]).length
    for j in range(k):
        if (<Column?>cols[j]).length != n:
            raise ValueError(f"sort columns of different lengths: {(<Column>cols[j]).length} "
                             f"and {n}")
    cdef object out = new_int64_array(n)
    cdef int64_t* idx = <int64_t*>(<array.array>out).data.as_voidptr
    cdef int64_t* tmp = <int64_t*>malloc((n if n else 1) * sizeof(int64_t))
    cdef rk_sortkey* keys = <rk_sortkey*>malloc(k * sizeof(rk_sortkey))
    cdef rk_sortkey* K
    if tmp == NULL or keys == NULL:
        free(tmp)
        free(keys)
        raise MemoryError()
    try:
        for j in range(k):
            c = cols[j]
            K = &keys[j]
            K.desc = bool(desc[j])
            K.nulls_first = bool(nf[j])
            K.valid = c.valid
            if c.type == T_INT64 or c.type == T_TIMESTAMP:
                K.kind = SK_I64
                K.i64 = (<Int64Column>c).values
            elif c.type == T_FLOAT64:
                K.kind = SK_F64
                K.f64 = (<Float64Column>c).values
            elif c.type == T_BOOL:
                K.kind = SK_U8
                K.u8 = (<BoolColumn>c).values
            elif c.type == T_STRING:
                K.kind = SK_STR
                K.chars = (<StringColumn>c).chars
                K.offs = (<StringColumn>c).offs
            elif c.type == T_DECIMAL and not dec_is_objects(<DecimalColumn>c):
                # Mantissas at the column scale: their order is the values' order.
                if (<DecimalColumn>c).w != NULL:
                    K.kind = SK_I128
                    K.i64 = (<DecimalColumn>c).w
                else:
                    K.kind = SK_I64
                    K.i64 = (<DecimalColumn>c).values
            elif c.type == T_NULL:
                K.kind = SK_NULL
            else:
                ranks, validity = _object_ranks(c)
                keep.append((ranks, validity))
                K.kind = SK_I64
                K.i64 = <int64_t*>(<array.array>ranks).data.as_voidptr
                K.valid = <uint8_t*>(<array.array>validity).data.as_voidptr
        for i in range(n):
            idx[i] = i
        with nogil:
            if n < RADIX_MIN_ROWS or rk_radix(keys, <int>k, idx, tmp, n) != 0:
                rk_msort(idx, tmp, n, keys, <int>k)
    finally:
        free(tmp)
        free(keys)
    return out


# --------------------------------------------------------------------------- DISTINCT

# A remembered key's value: None (clean: as ``changes`` last reported it), or one of these.
cdef object _REFRESHED = 1            # reported, touched since
cdef object _NEW = 2                  # never reported (not in a checkpoint)

cdef class DistinctFilter:
    """The keys DISTINCT has seen, bounded: the most recent ``max_keys`` are remembered, a repeat
    refreshes its key, and the least recently seen key is forgotten first (counted in
    ``evictions``; a forgotten row is emitted again if it comes back). ``max_keys=None`` (or 0)
    remembers every key (bounded inputs).

    Incremental checkpoints: ``changes()`` says what changed since the last call — the keys
    added or refreshed, in LRU order, and the keys forgotten that the previous calls had
    reported — so a checkpoint writes only those (``apply`` replays them). It costs nothing per row
    beyond the LRU itself: every key carries its state as its value (clean: as last reported;
    refreshed: reported, touched since; new: never reported), the keys touched since are the
    newest ``_dirty`` ones (a touch moves a key to the end, an eviction takes the front), and a
    forgotten key is recorded only if it was reported (at most once each, so ``_gone`` never
    outgrows ``max_keys``, however long between checkpoints)."""

    def __init__(self, max_keys=None):
        if max_keys is not None and max_keys < 0:
            raise ValueError(f"max_keys must be positive, not {max_keys}")
        self.max_keys = max_keys or 0
        self.evictions = 0
        self._seen = _OrderedDict()
        self._move = self._seen.move_to_end
        self._pop = self._seen.popitem
        self._gone = []
        self._dirty = 0

    cpdef object keep(self, list keys):
        """Positions (``array('q')``) of the rows whose key was not seen (earlier rows of the
        same call included); every key is remembered or refreshed."""
        cdef Py_ssize_t i, n = len(keys), kept = 0
        cdef object out = new_int64_array(n)
        cdef int64_t* dst = <int64_t*>(<array.array>out).data.as_voidptr
        cdef object seen = self._seen
        cdef object move = self._move, pop = self._pop
        cdef Py_ssize_t limit = self.max_keys
        cdef PyObject* state
        for i in range(n):
            key = keys[i]
            state = PyDict_GetItem(seen, key)      # an OrderedDict is a dict: no method call
            if state != NULL:
                move(key)
                if <object>state is None:
                    seen[key] = _REFRESHED
                    self._dirty += 1
                continue
            seen[key] = _NEW
            self._dirty += 1
            dst[kept] = i
            kept += 1
            if limit and len(seen) > limit:
                old, was = pop(False)
                self.evictions += 1
                if was is not None:
                    self._dirty -= 1
                if was is not _NEW:
                    self._gone.append(old)
        array.resize(<array.array>out, kept)
        return out

    def __len__(self):
        return len(self._seen)

    def __contains__(self, key):
        return key in self._seen

    def snapshot(self):
        """The remembered keys, least recently seen first."""
        return list(self._seen)

    def changes(self):
        """``(gone, keys)`` since the last call (or ``restore``): the forgotten keys it had
        reported, and the keys added or refreshed, least recently seen first. ``apply(gone,
        keys)`` on the filter as it was at the last call gives the filter as it is now. Every
        key is clean afterwards (O(changed keys), never O(remembered))."""
        cdef Py_ssize_t i, n = self._dirty
        cdef object seen = self._seen
        cdef list keys = list(_islice(reversed(seen), n))
        keys.reverse()
        for i in range(n):
            seen[keys[i]] = None
        self._dirty = 0
        gone, self._gone = self._gone, []
        return gone, keys

    def apply(self, gone, keys):
        """Replay ``changes()`` (restoring a checkpoint): forget ``gone``, then move or add
        ``keys`` in order to the most recent end; every key is clean."""
        cdef object seen = self._seen
        for key in gone:
            seen.pop(key, None)
        for key in keys:
            if key in seen:
                self._move(key)
            else:
                seen[key] = None

    def restore(self, keys, evictions=0):
        """Remember ``keys`` (least recently seen first), clean (as if reported)."""
        self._seen.clear()
        for key in keys:
            self._seen[key] = None
        while self.max_keys and len(self._seen) > self.max_keys:
            self._gone.append(self._pop(False)[0])
        self.evictions = evictions
        self._dirty = 0


# --------------------------------------------------------------------------- concatenation

cdef object _concat_validity(list cols, Py_ssize_t n):
    cdef Column c
    cdef Py_ssize_t i, pos = 0
    cdef object out
    cdef uint8_t* ok
    for c in cols:
        if c.valid != NULL:
            break
    else:
        return None
    out = new_byte_array(n, False)
    ok = <uint8_t*>(<array.array>out).data.as_voidptr
    for c in cols:
        for i in range(c.length):
            ok[pos + i] = c.valid == NULL or c.valid[i] != 0
        pos += c.length
    return out


cdef Column _concat_decimal(list cols, Py_ssize_t n):
    """BIGINT and DECIMAL parts as one DECIMAL column at the largest scale; each value keeps its
    own scale (BIGINT rows scale 0, DIALECT §3). int128 mantissas (narrowed when they fit),
    exact objects past 38 digits."""
    cdef Column c
    cdef DecimalColumn d
    cdef Py_ssize_t i, pos = 0
    cdef int scale = 0, rs, prec = -1
    cdef bint objects = False, own = False
    cdef vs_i128 m
    for c in cols:
        if c.type == T_DECIMAL:
            d = <DecimalColumn>c
            scale = max(scale, d.scale)
            objects = objects or dec_is_objects(d)
            prec = d.precision if prec in (-1, d.precision) else 0
    for c in cols:
        if c.type == T_DECIMAL and (<DecimalColumn>c).scale != scale or c.type == T_INT64 or (
                c.type == T_DECIMAL and (<DecimalColumn>c).rscales != NULL):
            own = True
    cdef object validity = _concat_validity(cols, n)
    cdef object wdata = new_int64_array(2 * n)
    cdef int64_t* w = <int64_t*>(<array.array>wdata).data.as_voidptr
    cdef object scales = new_byte_array(n, False) if own else None
    cdef uint8_t* sp = <uint8_t*>(<array.array>scales).data.as_voidptr if own else NULL
    cdef DecimalColumn out
    if not objects:
        for c in cols:
            for i in range(c.length):
                m = 0
                rs = scale
                if not _null_at(c, i):
                    if c.type == T_INT64:
                        m = <vs_i128>(<Int64Column>c).values[i]
                        rs = 0
                        if vs_up128(m, scale, &m):
                            objects = True
                            break
                    elif c.type == T_DECIMAL:
                        d = <DecimalColumn>c
                        rs = d.row_scale(i)
                        if vs_up128(dec_m128(d, i), scale - d.scale, &m):
                            objects = True
                            break
                vs_st128(w, pos + i, m)
                if sp != NULL:
                    sp[pos + i] = <uint8_t>rs
            if objects:
                break
            pos += c.length
    if objects:
        values = []
        for c in cols:
            if c.type == T_DECIMAL:
                values.extend(dec_objects(<DecimalColumn>c) if dec_is_objects(<DecimalColumn>c)
                              else c.to_pylist())
            else:
                values.extend(c.to_pylist())
        out = make_decimal_values(values, n, scale, False)
    else:
        out = make_decimal128(wdata, validity, n, scale,
                              dec_uniform_scales(scales, n, scale) if own else None)
    out.precision = max(prec, 0)
    return out


cpdef Column concat_columns(object columns):
    """One column holding the rows of ``columns`` in order. Types are unified as the decoders
    widen within a batch: equal types stay typed (DECIMAL at the largest scale, each value
    keeping its own), NULL columns take the other type, BIGINT + DECIMAL → DECIMAL, BIGINT +
    DOUBLE → DOUBLE, anything else → OBJECT (the Python values)."""
    cdef list cols = list(columns)
    cdef Column c
    cdef Py_ssize_t i, n = 0, pos = 0, total
    cdef set kinds = set()
    cdef StringColumn s
    cdef bytearray buf
    for c in cols:
        n += c.length
        if c.type != T_NULL:
            kinds.add(c.type)
    if len(cols) == 1:
        return cols[0]
    if not kinds:
        return NullColumn(n)
    cdef object validity = _concat_validity(cols, n)
    cdef object data
    cdef int64_t* q
    cdef double* f
    cdef uint8_t* u
    if kinds == {T_INT64} or kinds == {T_TIMESTAMP}:
        data = new_int64_array(n)
        q = <int64_t*>(<array.array>data).data.as_voidptr
        for c in cols:
            for i in range(c.length):
                q[pos + i] = 0 if c.type == T_NULL or _null_at(c, i) else (<Int64Column>c).values[i]
            pos += c.length
        return make_int64(data, validity, n, kinds.pop())
    if kinds <= {T_INT64, T_FLOAT64}:
        data = new_double_array(n)
        f = <double*>(<array.array>data).data.as_voidptr
        for c in cols:
            for i in range(c.length):
                if c.type == T_NULL or _null_at(c, i):
                    f[pos + i] = 0.0
                elif c.type == T_INT64:
                    f[pos + i] = <double>(<Int64Column>c).values[i]
                else:
                    f[pos + i] = (<Float64Column>c).values[i]
            pos += c.length
        return make_float64(data, validity, n)
    if kinds == {T_BOOL}:
        data = new_byte_array(n, True)
        u = <uint8_t*>(<array.array>data).data.as_voidptr
        for c in cols:
            if c.type == T_BOOL:
                for i in range(c.length):
                    u[pos + i] = (<BoolColumn>c).values[i] and not _null_at(c, i)
            pos += c.length
        return make_bool(data, validity, n)
    if kinds <= {T_INT64, T_DECIMAL}:
        return _concat_decimal(cols, n)
    if kinds == {T_STRING}:
        total = 0
        for c in cols:
            if c.type == T_STRING:
                total += (<StringColumn>c).offs[c.length] - (<StringColumn>c).offs[0]
        buf = bytearray(total)
        data = new_int64_array(n + 1)
        q = <int64_t*>(<array.array>data).data.as_voidptr
        q[0] = 0
        total = 0
        for c in cols:
            if c.type == T_STRING:
                s = <StringColumn>c
                memcpy(<char*>buf + total, s.chars + s.offs[0], s.offs[c.length] - s.offs[0])
                for i in range(c.length):
                    q[pos + i + 1] = total + s.offs[i + 1] - s.offs[0]
                total += s.offs[c.length] - s.offs[0]
            else:
                for i in range(c.length):
                    q[pos + i + 1] = total
            pos += c.length
        return make_string(buf, data, validity, n)
    values = []
    for c in cols:
        values.extend(c.to_pylist())
    return ObjectColumn(values, validity)


cpdef RecordBatch concat_batches(object batches):
    """One batch with the rows of ``batches`` in order (e.g. the batches ORDER BY held). Columns
    are matched by name (case-insensitive, the first spelling kept, in order of first
    appearance); a batch without a column contributes NULLs; types are unified by
    ``concat_columns``. Pseudo-columns (``meta``) are kept when every batch has them."""
    cdef list parts = [b for b in batches]
    cdef RecordBatch b, out
    cdef Py_ssize_t n = 0, j
    if not parts:
        return RecordBatch((), ())
    if len(parts) == 1:
        return parts[0]
    names = []
    where = {}
    for b in parts:
        n += b.length
        for name in b.names:
            if name.lower() not in where:
                where[name.lower()] = len(names)
                names.append(name)
    columns = []
    for name in names:
        pieces = []
        for b in parts:
            j = b.index_of(name)
            pieces.append(b.columns[j] if j >= 0 else NullColumn(b.length))
        columns.append(concat_columns(pieces))
    meta = {}
    for key in parts[0].meta:
        if all([key in b.meta for b in parts]):
            meta[key] = concat_columns([b.meta[key] for b in parts])
    out = RecordBatch(names, columns, meta)
    out.length = n
    return out
