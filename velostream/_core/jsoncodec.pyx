# cython: language_level=3
"""JSON Lines / JSON document decoding into typed columns, and JSON encoding from them.

The decoder is a single-pass scanner over the input bytes (no Python object per record or per
field): object keys are compared as bytes against the columns being built (first the column the
key at the same position of the previous records was, or the key projection skipped there, so
records with a stable key order cost one compare per key), the
values of wanted keys are written straight into the column builders of ``jsoncodec.pxd``
(integers and decimal mantissas into int64 slots, string bytes into the column's Arrow buffer),
and everything else is validated and skipped without building a value. Only nested objects and
arrays become Python objects (parsed by orjson, or ``json`` when they hold integers beyond 64
bits). The writer formats rows from the typed buffers into one byte buffer.

Python-facing wrappers and documentation: ``velostream.formats.json``.
"""

cimport cython
from cpython cimport array
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.mem cimport PyMem_Free
from cpython.object cimport PyObject
from libc.math cimport isfinite
from libc.stdint cimport INT64_MAX, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memchr, memcmp, memcpy, memset

from velostream._core.batch cimport (
    T_BOOL, T_DECIMAL, T_FLOAT64, T_INT64, T_NULL, T_OBJECT, T_STRING, T_TIMESTAMP, BoolColumn,
    Column, DecimalColumn, Float64Column, Int64Column, ObjectColumn, RecordBatch, StringColumn,
    dec_at, dec_is_objects, dec_uniform_scales, make_bool, make_decimal, make_decimal128,
    make_decimal_rs, make_float64, make_int64, make_string, new_byte_array, new_double_array,
    new_int64_array, vs_align128, vs_fmt128, vs_i128, vs_ld128, vs_p10t, vs_parse128, vs_st128,
    vs_up128,
)
from velostream._core.decimal cimport (
    SI_FORMAT_BUFSIZE, SI_MAX_SCALE, SI_OK, SI_SYNTAX, ScaledInteger, si_box, si_format,
    si_parse, si_rescale, si_status, si_t, si_unbox_checked, vs_upow10,
)
from velostream._core.textparse cimport TS_OK, TS_OVERFLOW, TS_YEARS, ts_parse_text

import datetime as _dt
import json as _json
import re as _re
import sys as _sys
from decimal import Decimal as _Decimal

import orjson as _orjson

from velostream._core.batch import NullColumn as _NullColumn
from velostream._core.batch import decimal_column as _decimal_column_of
from velostream._core.batch import timestamp_to_datetime as _ts_to_datetime
from velostream._core.decimal import ScaledInteger as _ScaledInteger

cdef extern from *:
    """
    #include <string.h>
    /* Offset of the first byte of p[0:8] that ends the plain run of a JSON string (a quote, a
       backslash, a control character or a non-ASCII byte), or 8: eight bytes per step, as the
       byte table would find it (the lowest flagged byte of each test is exact). */
    static inline int js_special8(const unsigned char *p) {
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__GNUC__)
        const unsigned long long ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
        unsigned long long w, q, b, m;
        memcpy(&w, p, 8);
        q = w ^ (ones * 0x22);
        b = w ^ (ones * 0x5C);
        m = ((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w) | w;
        m &= high;
        return m ? __builtin_ctzll(m) >> 3 : 8;
    #else
        int i;
        for (i = 0; i < 8; i++)
            if (p[i] < 0x20 || p[i] == 0x22 || p[i] == 0x5C || p[i] >= 0x80) return i;
        return 8;
    #endif
    }
    """
    int js_special8(const unsigned char* p) noexcept nogil

cdef extern from "Python.h":
    double PyOS_string_to_double(const char* s, char** endptr,
                                 PyObject* overflow_exception) except? -1.0
    char* PyOS_double_to_string(double val, char format_code, int precision, int flags,
                                int* ptype) except NULL
    int Py_DTSF_ADD_DOT_0


cdef enum:
    C_TAB = 9
    C_NL = 10
    C_CR = 13
    C_SPACE = 32
    C_QUOTE = 34
    C_PLUS = 43
    C_COMMA = 44
    C_MINUS = 45
    C_DOT = 46
    C_SLASH = 47
    C_0 = 48
    C_9 = 57
    C_COLON = 58
    C_LBRACK = 91
    C_BSLASH = 92
    C_RBRACK = 93
    C_LBRACE = 123
    C_RBRACE = 125
    MAX_DEPTH = 512
    KEY_MEMO = 32          # key positions of a record remembered (JsonScanner._lookup)
    KEY_MEMO_BYTES = 32    # longest skipped key remembered

# Errors of scan_string (returned negated).
cdef enum:
    E_UNTERMINATED = 1
    E_CONTROL = 2
    E_ESCAPE = 3
    E_SURROGATE = 4
    E_UTF8 = 5

_STRING_ERRORS = {
    E_UNTERMINATED: "unterminated string",
    E_CONTROL: "unescaped control character in a string",
    E_ESCAPE: "invalid escape sequence in a string",
    E_SURROGATE: "unpaired \\u surrogate in a string",
    E_UTF8: "invalid UTF-8 in a string",
}

DECLARED_NAMES = {
    D_DECIMAL: "DECIMAL", D_DOUBLE: "DOUBLE", D_BIGINT: "BIGINT", D_STRING: "STRING",
    D_BOOLEAN: "BOOLEAN", D_TIMESTAMP: "TIMESTAMP",
}

# Bytes that end the fast copy loop inside a JSON string: quote, backslash, control, non-ASCII.
cdef uint8_t _SPECIAL[256]
# Bytes a JSON string must escape on output: quote, backslash, control characters.
cdef uint8_t _ESCAPE[256]
cdef uint8_t _LOWER[256]
cdef int _HEX[256]
cdef const char* _HEXDIGITS = b"0123456789abcdef"
for _i in range(256):
    _SPECIAL[_i] = 1 if (_i < 0x20 or _i == C_QUOTE or _i == C_BSLASH or _i >= 0x80) else 0
    _ESCAPE[_i] = 1 if (_i < 0x20 or _i == C_QUOTE or _i == C_BSLASH) else 0
    _LOWER[_i] = _i + 32 if 65 <= _i <= 90 else _i
    _HEX[_i] = -1
for _i in range(10):
    _HEX[48 + _i] = _i
for _i in range(6):
    _HEX[97 + _i] = 10 + _i
    _HEX[65 + _i] = 10 + _i
del _i

# Python refuses int() of longer texts (0: no limit); such integers become record errors.
cdef Py_ssize_t INT_MAX_DIGITS = (_sys.get_int_max_str_digits()
                                  if hasattr(_sys, "get_int_max_str_digits") else 0)


cdef bint too_many_digits(Py_ssize_t n, const char* text) noexcept nogil:
    """An integer text of n bytes (maybe signed) that int() would refuse."""
    if n > 0 and (text[0] == C_MINUS or text[0] == C_PLUS):
        n -= 1
    return INT_MAX_DIGITS > 0 and n > INT_MAX_DIGITS


cdef str _limit_text(str name, const unsigned char* p, Py_ssize_t pos, Py_ssize_t q):
    """The record error of an integer too long for Python's int() (P_LIMIT)."""
    if p[pos] == C_MINUS or C_0 <= p[pos] <= C_9:
        return (f"field {name!r}: an integer of {q - pos - (p[pos] == C_MINUS)} digits is "
                f"beyond the limit of {INT_MAX_DIGITS} digits")
    return (f"field {name!r}: a nested value holds an integer of more than {INT_MAX_DIGITS} "
            f"digits")


# 10.0**k for k <= 22 are exact doubles: m / 10**k with m <= 2**53 rounds once, correctly.
cdef double _DPOW10[23]
_DPOW10[0] = 1.0
for _k in range(1, 23):
    _DPOW10[_k] = _DPOW10[_k - 1] * 10.0
del _k


# =============================================================================== declared types

_DECLARED_RE = _re.compile(
    r"^\s*(DECIMAL|NUMERIC|DOUBLE|FLOAT|REAL|BIGINT|INTEGER|INT|STRING|VARCHAR|TEXT|BOOLEAN|BOOL"
    r"|TIMESTAMP)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$", _re.I)
_DECLARED_CODES = {
    "DECIMAL": D_DECIMAL, "NUMERIC": D_DECIMAL, "DOUBLE": D_DOUBLE, "FLOAT": D_DOUBLE,
    "REAL": D_DOUBLE, "BIGINT": D_BIGINT, "INTEGER": D_BIGINT, "INT": D_BIGINT,
    "STRING": D_STRING, "VARCHAR": D_STRING, "TEXT": D_STRING, "BOOLEAN": D_BOOLEAN,
    "BOOL": D_BOOLEAN, "TIMESTAMP": D_TIMESTAMP,
}


def declared_spec(declared):
    """``{name: "DECIMAL(18,4)", ...}`` as ``{lower name: (code, precision, scale)}``.

    Precision and scale are -1 when not given; ``DECIMAL(p)`` has scale 0. A type the decoders do
    not know raises ValueError naming the field.
    """
    out = {}
    if not declared:
        return out
    for name, text in dict(declared).items():
        m = _DECLARED_RE.match(str(text))
        if m is None:
            raise ValueError(f"field {name!r}: unsupported declared type {text!r}")
        code = _DECLARED_CODES[m.group(1).upper()]
        prec = int(m.group(2)) if m.group(2) else -1
        scale = int(m.group(3)) if m.group(3) else (0 if prec >= 0 else -1)
        if code != D_DECIMAL:
            prec = scale = -1   # VARCHAR(20), FLOAT(53): the length is not enforced
        elif scale > SI_MAX_SCALE or (prec >= 0 and (prec < 1 or scale > prec)):
            raise ValueError(f"field {name!r}: invalid {text!r}")
        out[str(name).lower()] = (code, prec, scale)
    return out


# =============================================================================== column builders

cdef char* _dup(bytes b) except NULL:
    cdef Py_ssize_t n = len(b)
    cdef char* p = <char*>malloc(n + 1)
    if p == NULL:
        raise MemoryError()
    memcpy(p, <const char*>b, n)
    p[n] = 0
    return p


cdef int cb_init(colbuf_t* c, Py_ssize_t cap, bytes name, bytes lname, int declared,
                 int dprec, int dscale) except -1:
    memset(c, 0, sizeof(colbuf_t))
    if cap < 16:
        cap = 16
    c.cap = cap
    c.last_row = -1
    c.declared = declared
    c.dprec = dprec
    c.dscale = dscale
    c.tags = <uint8_t*>calloc(cap, 1)
    c.vals = <int64_t*>malloc(cap * sizeof(int64_t))
    if c.tags == NULL or c.vals == NULL:
        raise MemoryError()
    c.name = _dup(name)
    c.name_len = len(name)
    c.lname = _dup(lname)
    c.lname_len = len(lname)
    return 0


cdef void cb_free(colbuf_t* c) noexcept:
    free(c.name)
    free(c.lname)
    free(c.tags)
    free(c.vals)
    free(c.scales)
    free(c.ends)
    free(c.sbuf)
    memset(c, 0, sizeof(colbuf_t))


cdef int cb_set_name(colbuf_t* c, const char* name, Py_ssize_t n) except -1:
    cdef char* p = <char*>malloc(n + 1)
    if p == NULL:
        raise MemoryError()
    memcpy(p, name, n)
    p[n] = 0
    free(c.name)
    c.name = p
    c.name_len = n
    c.named = True
    return 0


cdef void* _grow(void* p, Py_ssize_t old, Py_ssize_t new, Py_ssize_t size, bint zero) noexcept:
    cdef char* q = <char*>realloc(p, new * size)
    if q != NULL and zero:
        memset(q + old * size, 0, (new - old) * size)
    return q


cdef void* _shrunk(void* p, size_t size) noexcept:
    """realloc to a smaller size; the old block if the allocator declines (it stays valid)."""
    cdef void* q = realloc(p, size)
    return q if q != NULL else p


cdef int cb_grow_rows(colbuf_t* c, Py_ssize_t cap) except -1:
    cdef void* q
    if cap <= c.cap:
        return 0
    q = _grow(c.tags, c.cap, cap, 1, True)
    if q == NULL:
        raise MemoryError()
    c.tags = <uint8_t*>q
    q = _grow(c.vals, c.cap, cap, sizeof(int64_t), False)
    if q == NULL:
        raise MemoryError()
    c.vals = <int64_t*>q
    if c.scales != NULL:
        q = _grow(c.scales, c.cap, cap, 1, True)
        if q == NULL:
            raise MemoryError()
        c.scales = <uint8_t*>q
    if c.ends != NULL:
        q = _grow(c.ends, c.cap, cap, sizeof(int64_t), False)
        if q == NULL:
            raise MemoryError()
        c.ends = <int64_t*>q
    c.cap = cap
    return 0


cdef int cb_grow_text(colbuf_t* c, Py_ssize_t extra) except -1:
    cdef Py_ssize_t cap = c.scap * 2
    if cap < c.spos + extra:
        cap = c.spos + extra
    if cap < 256:
        cap = 256
    cdef char* q = <char*>realloc(c.sbuf, cap)
    if q == NULL:
        raise MemoryError()
    c.sbuf = q
    c.scap = cap
    return 0


cdef void cb_undo_row(colbuf_t* c, Py_ssize_t row) noexcept:
    if c.last_row == row:
        c.tags[row] = TG_NULL
        c.spos = c.prev_spos
        c.last_row = -1


cdef inline int _need_scales(colbuf_t* c) except -1:
    if c.scales == NULL:
        c.scales = <uint8_t*>calloc(c.cap, 1)
        if c.scales == NULL:
            raise MemoryError()
    return 0


cdef inline int _commit_text(colbuf_t* c, Py_ssize_t row, Py_ssize_t n) except -1:
    """Keeps the n bytes at sbuf + spos as the row's text (tag gets TG_TEXT)."""
    if c.ends == NULL:
        c.ends = <int64_t*>malloc(c.cap * sizeof(int64_t))
        if c.ends == NULL:
            raise MemoryError()
    c.spos += n
    c.ends[row] = c.spos
    c.tags[row] |= TG_TEXT
    return 0


# =============================================================================== numbers and text

cdef inline uint64_t _acc_digit(uint64_t mag, unsigned int d, bint* ovf) noexcept nogil:
    """mag * 10 + d while it stays <= 2**63 (an int64 magnitude), else sets *ovf."""
    # 2**63 = 922337203685477580 * 10 + 8: no division per digit.
    if ovf[0] or mag > 922337203685477580ULL or (mag == 922337203685477580ULL and d > 8):
        ovf[0] = True
        return mag
    return mag * 10 + d


cdef Py_ssize_t scan_number(const unsigned char* p, Py_ssize_t pos, Py_ssize_t end,
                            numinfo_t* ni) noexcept nogil:
    # At most 18 digits (integer and fraction together: < 10**18 < 2**63) cannot overflow the
    # mantissa, so they are accumulated without a check, in locals (a store through ni could
    # alias p for the compiler); longer numbers are scanned again by the checked loop.
    cdef Py_ssize_t start = pos, digits = 0, first
    cdef uint64_t mag = 0
    cdef unsigned int d
    cdef bint neg = False
    cdef int frac = 0
    if pos < end and p[pos] == C_MINUS:
        neg = True
        pos += 1
    if pos >= end:
        return -1
    d = <unsigned int>p[pos] - <unsigned int>C_0
    if d == 0:
        pos += 1
        if pos < end and <unsigned int>p[pos] - <unsigned int>C_0 <= 9:
            return -1           # leading zeros are not JSON
    elif d <= 9:
        first = pos
        while True:
            mag = mag * 10 + d
            pos += 1
            if pos >= end:
                break
            d = <unsigned int>p[pos] - <unsigned int>C_0
            if d > 9:
                break
        digits = pos - first
    else:
        return -1
    if pos < end and p[pos] == C_DOT:
        pos += 1
        first = pos
        while pos < end:
            d = <unsigned int>p[pos] - <unsigned int>C_0
            if d > 9:
                break
            mag = mag * 10 + d
            pos += 1
        frac = <int>(pos - first)
        if frac == 0:
            return -1
        digits += frac
    if digits > 18:
        return _scan_number_checked(p, start, end, ni)
    pos = _scan_exponent(p, pos, end, ni)
    if pos < 0:
        return -1
    ni.mag = mag
    ni.neg = neg
    ni.ovf = False
    ni.has_frac = frac > 0
    ni.frac = frac
    return pos


cdef Py_ssize_t _scan_number_checked(const unsigned char* p, Py_ssize_t pos, Py_ssize_t end,
                                     numinfo_t* ni) noexcept nogil:
    """scan_number for any number of digits: the mantissa is checked digit by digit."""
    cdef uint64_t mag = 0
    cdef bint ovf = False
    ni.neg = False
    ni.has_frac = False
    ni.frac = 0
    if pos < end and p[pos] == C_MINUS:
        ni.neg = True
        pos += 1
    if pos >= end:
        return -1
    if p[pos] == C_0:
        pos += 1
        if pos < end and C_0 <= p[pos] <= C_9:
            return -1           # leading zeros are not JSON
    elif C_0 < p[pos] <= C_9:
        while pos < end and C_0 <= p[pos] <= C_9:
            mag = _acc_digit(mag, p[pos] - C_0, &ovf)
            pos += 1
    else:
        return -1
    if pos < end and p[pos] == C_DOT:
        pos += 1
        if pos >= end or not (C_0 <= p[pos] <= C_9):
            return -1
        ni.has_frac = True
        while pos < end and C_0 <= p[pos] <= C_9:
            mag = _acc_digit(mag, p[pos] - C_0, &ovf)
            ni.frac += 1
            pos += 1
    pos = _scan_exponent(p, pos, end, ni)
    if pos < 0:
        return -1
    ni.mag = mag
    ni.ovf = ovf
    return pos


cdef inline Py_ssize_t _scan_exponent(const unsigned char* p, Py_ssize_t pos, Py_ssize_t end,
                                      numinfo_t* ni) noexcept nogil:
    """After a number's digits: its exponent (``e``/``E``, a sign, digits), if any, setting
    ``ni.has_exp``; the position after it, -1 for an exponent without digits."""
    ni.has_exp = False
    if pos < end and (p[pos] | 0x20) == 101:          # e E
        pos += 1
        if pos < end and (p[pos] == C_PLUS or p[pos] == C_MINUS):
            pos += 1
        if pos >= end or not (C_0 <= p[pos] <= C_9):
            return -1
        ni.has_exp = True
        while pos < end and C_0 <= p[pos] <= C_9:
            pos += 1
    return pos


cdef inline bint _fits_int64(numinfo_t* ni) noexcept nogil:
    if ni.ovf:
        return False
    return ni.mag <= <uint64_t>INT64_MAX or (ni.neg and ni.mag == (<uint64_t>1) << 63)


cdef inline int64_t _signed(numinfo_t* ni) noexcept nogil:
    if ni.neg and ni.mag != 0:
        return -<int64_t>(ni.mag - 1) - 1
    return <int64_t>ni.mag


cdef int _text_to_double(const char* s, Py_ssize_t n, double* out) except -1:
    """float(s) for a number text (Python's correctly rounded parser); 1 if not a number."""
    cdef char local[64]
    cdef char* buf = local
    cdef char* endp = NULL
    while n > 0 and (s[0] == C_SPACE or s[0] == C_TAB):
        s += 1
        n -= 1
    while n > 0 and (s[n - 1] == C_SPACE or s[n - 1] == C_TAB):
        n -= 1
    if n == 0:
        return 1
    if n >= 64:
        buf = <char*>malloc(n + 1)
        if buf == NULL:
            raise MemoryError()
    memcpy(buf, s, n)
    buf[n] = 0
    try:
        out[0] = PyOS_string_to_double(buf, &endp, NULL)
    except ValueError:
        return 1
    finally:
        if buf != local:
            free(buf)
    return 0 if endp == buf + n else 1


cdef int _number_to_double(const char* text, Py_ssize_t n, numinfo_t* ni,
                           double* out) except -1:
    cdef double d
    if not ni.has_exp and not ni.ovf and ni.mag <= ((<uint64_t>1) << 53) and ni.frac <= 22:
        d = <double>ni.mag / _DPOW10[ni.frac]
        out[0] = -d if ni.neg else d
        return 0
    return _text_to_double(text, n, out)


cdef inline void _set_double(colbuf_t* c, Py_ssize_t row, double d) noexcept:
    memcpy(&c.vals[row], &d, sizeof(double))
    c.tags[row] = TG_DBL


cdef int _num_inferred(colbuf_t* c, Py_ssize_t row, const char* text, Py_ssize_t n,
                       numinfo_t* ni, bint financial) except -1:
    """DIALECT §3 for an undeclared number: sets the row, returns its kind (TG_BIGINT and
    TG_BIGDEC rows still need their text kept by the caller)."""
    cdef double d
    if not ni.has_frac and not ni.has_exp:
        if not _fits_int64(ni):
            c.tags[row] = TG_BIGINT
            return TG_BIGINT
        c.vals[row] = _signed(ni)
        c.tags[row] = TG_INT
        return TG_INT
    if ni.has_exp or not financial:
        _number_to_double(text, n, ni, &d)
        _set_double(c, row, d)
        return TG_DBL
    if not _fits_int64(ni) or ni.frac > SI_MAX_SCALE:
        c.tags[row] = TG_BIGDEC
        return TG_BIGDEC
    _need_scales(c)
    c.vals[row] = _signed(ni)
    c.scales[row] = <uint8_t>ni.frac
    c.tags[row] = TG_DEC
    return TG_DEC


class _NotFinite(ValueError):
    """A nested JSON number beyond DOUBLE range (1e400): a record error, as at top level."""


def _nested_float(str text):
    value = float(text)
    if not isfinite(value):
        raise _NotFinite(text)
    return value


def _nested_fraction(str text):
    if "e" in text or "E" in text:
        return _nested_float(text)  # an exponent makes a FLOAT (DIALECT §1)
    try:
        return _ScaledInteger(text)
    except (ValueError, ArithmeticError):
        # Beyond an int64 mantissa or scale 38: exact all the same, as at top level (TG_BIGDEC).
        return _Decimal(text)


cdef int _put_wide_decimal(colbuf_t* c, Py_ssize_t row, const char* text,
                           Py_ssize_t n) except -1:
    """A declared DECIMAL value the int64 fast path does not take (past an int64 mantissa, or
    more than 38 decimals that the declared scale rounds away): parsed exactly now, so a record
    error names this row; kept narrow when it then fits, else as text (TG_BIGDEC) for the wide
    column cb_finish builds."""
    cdef ScaledInteger v
    cdef si_t r
    cdef vs_i128 m
    cdef int s
    if vs_parse128(text, n, &m, &s) == 0 and not (
            c.dscale >= 0 and (s > c.dscale or vs_align128(m, c.dscale - s, &m))):
        # Plain digits, at most 38 at the declared scale: checked here in int128, parsed again
        # into the int128 column at the end (no object per value).
        if 0 < c.dprec <= 38 and (m >= vs_p10t[c.dprec] or m <= -vs_p10t[c.dprec]):
            return P_RANGE
    else:
        try:
            v = _ScaledInteger(text[:n].decode("ascii").strip(),
                               None if c.dscale < 0 else c.dscale)
        except (ValueError, ArithmeticError):
            return P_RANGE
        if c.dprec > 0 and not -10 ** c.dprec < v.mantissa < 10 ** c.dprec:
            return P_RANGE
        if si_unbox_checked(v, &r) == SI_OK:
            _need_scales(c)
            c.vals[row] = r.m
            c.scales[row] = r.s
            c.tags[row] = TG_DEC
            return P_OK
    if text != c.sbuf + c.spos:     # a JSON number: copy it in (a string or CSV field is there)
        cb_reserve(c, n)
        memcpy(c.sbuf + c.spos, text, n)
    c.tags[row] = TG_BIGDEC
    _commit_text(c, row, n)
    return P_OK


cdef int _put_decimal(colbuf_t* c, Py_ssize_t row, const char* text, Py_ssize_t n) except -1:
    cdef si_t v
    cdef si_status st = si_parse(text, n, &v)
    if st == SI_SYNTAX:
        return P_BAD
    if st == SI_OK and c.dscale >= 0 and v.s != c.dscale:
        st = si_rescale(v, c.dscale, &v)
    if st != SI_OK:
        return _put_wide_decimal(c, row, text, n)      # exact, the slow way
    if 0 < c.dprec <= 18 and (v.m >= <int64_t>vs_upow10[c.dprec]
                              or v.m <= -<int64_t>vs_upow10[c.dprec]):
        return P_RANGE
    _need_scales(c)
    c.vals[row] = v.m
    c.scales[row] = v.s
    c.tags[row] = TG_DEC
    return P_OK


cdef int _put_bigint(colbuf_t* c, Py_ssize_t row, const char* text, Py_ssize_t n) except -1:
    cdef si_t v
    cdef si_status st = si_parse(text, n, &v)
    cdef int64_t p
    if st == SI_SYNTAX:
        return P_BAD
    if st != SI_OK:
        return P_RANGE
    if v.s > 0:
        if v.s > 18:
            # 10**s > 2**63 > |m|: only a zero mantissa is an integer (0.000…0 is 0).
            if v.m != 0:
                return P_BAD
            v.m = 0
        else:
            p = <int64_t>vs_upow10[v.s]
            if v.m % p != 0:
                return P_BAD
            v.m = v.m // p
    c.vals[row] = v.m
    c.tags[row] = TG_INT
    return P_OK


cdef int _bool_text(const char* s, Py_ssize_t n) noexcept nogil:
    """1 for true, 0 for false (ASCII case-insensitive), -1 otherwise."""
    if n == 4 and (_LOWER[<uint8_t>s[0]] == 116 and _LOWER[<uint8_t>s[1]] == 114
                   and _LOWER[<uint8_t>s[2]] == 117 and _LOWER[<uint8_t>s[3]] == 101):
        return 1
    if n == 5 and (_LOWER[<uint8_t>s[0]] == 102 and _LOWER[<uint8_t>s[1]] == 97
                   and _LOWER[<uint8_t>s[2]] == 108 and _LOWER[<uint8_t>s[3]] == 115
                   and _LOWER[<uint8_t>s[4]] == 101):
        return 0
    return -1


cdef int _put_declared_text(colbuf_t* c, Py_ssize_t row, const char* s, Py_ssize_t n) except -1:
    cdef double d
    cdef int b, st
    cdef int64_t ms
    cdef int dt = c.declared
    if dt == D_DECIMAL:
        return _put_decimal(c, row, s, n)
    if dt == D_DOUBLE:
        if _text_to_double(s, n, &d):
            return P_BAD
        if not isfinite(d):
            return P_RANGE
        _set_double(c, row, d)
        return P_OK
    if dt == D_BIGINT:
        return _put_bigint(c, row, s, n)
    if dt == D_BOOLEAN:
        b = _bool_text(s, n)
        if b < 0:
            return P_BAD
        c.vals[row] = b
        c.tags[row] = TG_BOOL
        return P_OK
    if dt == D_TIMESTAMP:
        st = ts_parse_text(s, n, &ms)
        if st == TS_OK:
            c.vals[row] = ms
            c.tags[row] = TG_TS
            return P_OK
        return P_RANGE if st == TS_YEARS or st == TS_OVERFLOW else P_BAD
    return P_BAD


cdef inline bint _row_not_finite(colbuf_t* c, Py_ssize_t row) noexcept:
    cdef double d
    memcpy(&d, &c.vals[row], sizeof(double))
    return not isfinite(d)


cdef int cb_put_number(colbuf_t* c, Py_ssize_t row, const char* text, Py_ssize_t n,
                       numinfo_t* ni, bint financial) except -1:
    cdef int kind, dt = c.declared
    if dt == D_NONE:
        kind = _num_inferred(c, row, text, n, ni, financial)
        if kind == TG_DBL and _row_not_finite(c, row):
            return P_RANGE      # 1e400: a record error, not an infinity no JSON can carry
        if kind == TG_BIGINT or kind == TG_BIGDEC:
            if kind == TG_BIGINT and too_many_digits(n, text):
                return P_LIMIT
            cb_reserve(c, n)
            memcpy(c.sbuf + c.spos, text, n)
            _commit_text(c, row, n)
        return P_OK
    if dt == D_STRING:
        cb_reserve(c, n)
        memcpy(c.sbuf + c.spos, text, n)
        c.tags[row] = TG_STR
        _commit_text(c, row, n)
        return P_OK
    if dt == D_DOUBLE:
        kind = _num_inferred(c, row, text, n, ni, False)
        if kind == TG_INT:
            # -0 is the double -0.0, as float("-0") and the same text in a string or CSV field.
            _set_double(c, row, -0.0 if ni.neg and ni.mag == 0 else <double>c.vals[row])
        elif kind == TG_BIGINT:
            return _put_declared_text(c, row, text, n)
        elif _row_not_finite(c, row):
            return P_RANGE
        return P_OK
    if dt == D_BOOLEAN:
        return P_BAD
    if dt == D_TIMESTAMP:
        if ni.has_frac or ni.has_exp:
            return P_BAD
        if not _fits_int64(ni):
            return P_RANGE
        c.vals[row] = _signed(ni)
        c.tags[row] = TG_TS
        return P_OK
    return _put_declared_text(c, row, text, n)


cdef int cb_put_text(colbuf_t* c, Py_ssize_t row, Py_ssize_t n, bint csv,
                     bint financial) except -1:
    cdef const char* s = c.sbuf + c.spos
    cdef int st, b, kind
    cdef numinfo_t ni
    if c.declared == D_NONE:
        c.tags[row] = TG_STR
        if csv and n > 0:
            b = _bool_text(s, n)
            if b >= 0:
                c.vals[row] = b
                c.tags[row] = TG_BOOL
            elif (s[0] == C_MINUS or C_0 <= s[0] <= C_9) and scan_number(
                    <const unsigned char*>s, 0, n, &ni) == n:
                kind = _num_inferred(c, row, s, n, &ni, financial)
                if (kind == TG_DBL and _row_not_finite(c, row)) or (
                        kind == TG_BIGINT and too_many_digits(n, s)):
                    c.tags[row] = TG_STR    # 1e400, 5000 digits: kept as the text they are
        return _commit_text(c, row, n)
    if c.declared == D_STRING:
        c.tags[row] = TG_STR
        return _commit_text(c, row, n)
    st = _put_declared_text(c, row, s, n)
    if st == P_OK and csv and not (c.tags[row] & TG_TEXT):     # (a wide DECIMAL kept it)
        _commit_text(c, row, n)
    return st


cdef int cb_put_bool(colbuf_t* c, Py_ssize_t row, bint v) except -1:
    if c.declared == D_NONE or c.declared == D_BOOLEAN:
        c.vals[row] = v
        c.tags[row] = TG_BOOL
        return P_OK
    if c.declared == D_STRING:
        cb_reserve(c, 5)
        if v:
            memcpy(c.sbuf + c.spos, b"true", 4)
        else:
            memcpy(c.sbuf + c.spos, b"false", 5)
        c.tags[row] = TG_STR
        _commit_text(c, row, 4 if v else 5)
        return P_OK
    return P_BAD


# =============================================================================== timestamps
# (text → timestamp is textparse's: the one parser; writing one is here, beside the encoders.)

cdef inline char* _put2(char* b, int v) noexcept nogil:
    b[0] = <char>(C_0 + v // 10)
    b[1] = <char>(C_0 + v % 10)
    return b + 2


cdef Py_ssize_t format_timestamp(int64_t ms, char* buf) noexcept nogil:
    cdef int64_t days = ms // 86400000, rem = ms % 86400000
    cdef int64_t z, era, doe, yoe, y, doy, mp, d, m
    cdef char* b = buf
    cdef int secs
    if rem < 0:
        rem += 86400000
        days -= 1
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    if 0 <= y <= 9999:
        b = _put2(b, <int>(y // 100))
        b = _put2(b, <int>(y % 100))
    else:
        b += format_int64(y, b)
    b[0] = C_MINUS
    b = _put2(b + 1, <int>m)
    b[0] = C_MINUS
    b = _put2(b + 1, <int>d)
    secs = <int>(rem // 1000)
    b[0] = 84          # T
    b = _put2(b + 1, secs // 3600)
    b[0] = C_COLON
    b = _put2(b + 1, (secs // 60) % 60)
    b[0] = C_COLON
    b = _put2(b + 1, secs % 60)
    b[0] = C_DOT
    b[1] = <char>(C_0 + (rem % 1000) // 100)
    b[2] = <char>(C_0 + (rem % 100) // 10)
    b[3] = <char>(C_0 + rem % 10)
    b[4] = 90          # Z
    return (b + 5) - buf


cdef Py_ssize_t format_int64(int64_t v, char* buf) noexcept nogil:
    cdef char tmp[24]
    cdef int k = 0
    cdef Py_ssize_t i = 0
    cdef uint64_t mag = (<uint64_t>0) - <uint64_t>v if v < 0 else <uint64_t>v
    while True:
        tmp[k] = <char>(C_0 + <int>(mag % 10))
        k += 1
        mag //= 10
        if mag == 0:
            break
    if v < 0:
        buf[0] = C_MINUS
        i = 1
    while k > 0:
        k -= 1
        buf[i] = tmp[k]
        i += 1
    return i


cdef Py_ssize_t format_double(double v, char* buf) except -1:
    cdef char* s = PyOS_double_to_string(v, c'r', 0, Py_DTSF_ADD_DOT_0, NULL)
    cdef Py_ssize_t n = 0
    while s[n] != 0 and n < 31:
        buf[n] = s[n]
        n += 1
    PyMem_Free(s)
    return n


# =============================================================================== finishing

cdef inline uint32_t _bit(int tag) noexcept nogil:
    return (<uint32_t>1) << tag


cdef object _zeros_int64(Py_ssize_t n):
    cdef object a = new_int64_array(n)
    if n:
        memset((<array.array>a).data.as_voidptr, 0, n * sizeof(int64_t))
    return a


cdef object _typed_nulls(colbuf_t* c, Py_ssize_t n, object validity):
    cdef int dt = c.declared
    if dt == D_NONE:
        return _NullColumn(n)
    if dt == D_DECIMAL:
        return make_decimal(_zeros_int64(n), validity, n, c.dscale if c.dscale >= 0 else 0)
    if dt == D_DOUBLE:
        a = new_double_array(n)
        if n:
            memset((<array.array>a).data.as_voidptr, 0, n * sizeof(double))
        return make_float64(a, validity, n)
    if dt == D_BIGINT:
        return make_int64(_zeros_int64(n), validity, n, T_INT64)
    if dt == D_TIMESTAMP:
        return make_int64(_zeros_int64(n), validity, n, T_TIMESTAMP)
    if dt == D_BOOLEAN:
        return make_bool(new_byte_array(n, True), validity, n)
    return make_string(b"", _zeros_int64(n + 1), validity, n)


cdef object _decimal_column(colbuf_t* c, Py_ssize_t n, object validity, int scale, bint own):
    """A DECIMAL column at ``scale``, or None when some value cannot be held at that scale.
    ``own``: each value keeps the scale of its text (integers 0) as its row scale (DIALECT §3),
    else (a declared type) every row has ``scale``."""
    cdef object data = new_int64_array(n)
    cdef int64_t* dst = <int64_t*>(<array.array>data).data.as_voidptr
    cdef object scales = None
    cdef uint8_t* rs = NULL
    cdef Py_ssize_t i
    cdef int t
    cdef si_t v
    for i in range(n):
        t = c.tags[i] & TG_KIND
        if t == TG_NULL:
            dst[i] = 0
            if rs != NULL:
                rs[i] = <uint8_t>scale
            continue
        v.m = c.vals[i]
        v.s = c.scales[i] if t == TG_DEC else 0
        if v.s != scale:
            if own and rs == NULL:
                scales = new_byte_array(n, False)
                rs = <uint8_t*>(<array.array>scales).data.as_voidptr
                memset(rs, scale, i)
            if si_rescale(v, scale, &v) != SI_OK:
                return None
        if rs != NULL:
            rs[i] = (c.scales[i] if t == TG_DEC else 0) if own else <uint8_t>scale
        dst[i] = v.m
    return make_decimal_rs(data, validity, n, scale, scales)


cdef object _reparse_decimal(colbuf_t* c, Py_ssize_t n, object validity):
    """CSV numbers mixing decimals and exponent forms: every text parsed exactly, or None."""
    cdef object data = new_int64_array(n)
    cdef int64_t* dst = <int64_t*>(<array.array>data).data.as_voidptr
    cdef uint8_t* sc = <uint8_t*>calloc(n if n else 1, 1)
    cdef Py_ssize_t i, off = 0, start
    cdef int scale = 0
    cdef si_t v
    cdef object scales = None
    cdef uint8_t* rs
    if sc == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            start = off
            if c.tags[i] & TG_TEXT:
                off = c.ends[i]
            if (c.tags[i] & TG_KIND) == TG_NULL:
                dst[i] = 0
                continue
            if si_parse(c.sbuf + start, off - start, &v) != SI_OK:
                return None
            dst[i] = v.m
            sc[i] = v.s
            if v.s > scale:
                scale = v.s
        for i in range(n):
            if (c.tags[i] & TG_KIND) != TG_NULL and sc[i] != scale:
                v.m = dst[i]
                v.s = sc[i]
                if si_rescale(v, scale, &v) != SI_OK:
                    return None
                dst[i] = v.m
                if scales is None:
                    # Each value keeps the scale of its text (DIALECT §3).
                    scales = new_byte_array(n, False)
                    rs = <uint8_t*>(<array.array>scales).data.as_voidptr
                    memcpy(rs, sc, n)
    finally:
        free(sc)
    return make_decimal_rs(data, validity, n, scale, scales)


cdef object _decimal128_column(colbuf_t* c, Py_ssize_t n, object validity, int dscale):
    """Decimals past an int64 mantissa parsed straight into int128 mantissas (no object per
    row): each row keeps the scale of its text, or every row has the declared ``dscale``. None
    when some value is not plain digits of at most 38 in all at the column scale (an exponent,
    blanks, a declared scale that rounds): the exact object path takes those."""
    cdef object wdata = new_int64_array(2 * n)
    cdef int64_t* w = <int64_t*>(<array.array>wdata).data.as_voidptr
    cdef object own = new_byte_array(n, False)
    cdef uint8_t* sc = <uint8_t*>(<array.array>own).data.as_voidptr
    cdef Py_ssize_t i, start, off = 0
    cdef int t, s, scale = 0
    cdef vs_i128 m
    for i in range(n):
        start = off
        t = c.tags[i]
        if t & TG_TEXT:
            off = c.ends[i]
        t &= TG_KIND
        m = 0
        s = 0
        if t == TG_INT:
            m = <vs_i128>c.vals[i]
        elif t == TG_DEC:
            m = <vs_i128>c.vals[i]
            s = c.scales[i]
        elif t == TG_BIGINT or t == TG_BIGDEC:
            if vs_parse128(c.sbuf + start, off - start, &m, &s):
                return None
        vs_st128(w, i, m)
        sc[i] = <uint8_t>s
        if t != TG_NULL and s > scale:
            scale = s
    if dscale >= 0:
        if scale > dscale:
            return None
        scale = dscale
    for i in range(n):
        if sc[i] != scale:
            if vs_up128(vs_ld128(w, i), scale - sc[i], &m):
                return None
            vs_st128(w, i, m)
        if (c.tags[i] & TG_KIND) == TG_NULL:
            sc[i] = <uint8_t>scale
    return make_decimal128(wdata, validity, n, scale,
                           None if dscale >= 0 else dec_uniform_scales(own, n, scale))


cdef object _wide_decimal_column(ObjectColumn objects, int scale):
    """A wide DECIMAL column of exact numbers (each keeps its own scale, or every one ``scale``
    when declared), or None when a value cannot be a DECIMAL (a scale past 38)."""
    try:
        return _decimal_column_of(objects.to_pylist(), None if scale < 0 else scale)
    except (ValueError, ArithmeticError):
        return None


cdef object _string_column(colbuf_t* c, Py_ssize_t n, object validity):
    cdef object offsets = new_int64_array(n + 1)
    cdef int64_t* offs = <int64_t*>(<array.array>offsets).data.as_voidptr
    cdef int64_t off = 0
    cdef Py_ssize_t i
    offs[0] = 0
    for i in range(n):
        if c.tags[i] & TG_TEXT:
            off = c.ends[i]
        offs[i + 1] = off
    buf = PyBytes_FromStringAndSize(c.sbuf, off) if off else b""
    return make_string(buf, offsets, validity, n)


cdef object _object_column(colbuf_t* c, Py_ssize_t n, object validity, dict objs):
    cdef list values = [None] * n
    cdef Py_ssize_t i, start, off = 0
    cdef int t
    cdef si_t v
    cdef double d
    for i in range(n):
        start = off
        t = c.tags[i]
        if t & TG_TEXT:
            off = c.ends[i]
        t &= TG_KIND
        if t == TG_NULL:
            continue
        if t == TG_BOOL:
            values[i] = c.vals[i] != 0
        elif t == TG_INT:
            values[i] = c.vals[i]
        elif t == TG_DEC:
            v.m = c.vals[i]
            v.s = c.scales[i]
            values[i] = si_box(v)
        elif t == TG_DBL:
            memcpy(&d, &c.vals[i], sizeof(double))
            values[i] = d
        elif t == TG_STR:
            values[i] = c.sbuf[start:off].decode("utf-8")
        elif t == TG_BIGINT:
            values[i] = int(c.sbuf[start:off])
        elif t == TG_BIGDEC:
            values[i] = _Decimal(c.sbuf[start:off].decode("ascii"))
        elif t == TG_TS:
            values[i] = _ts_to_datetime(c.vals[i])
        elif t == TG_OBJ:
            values[i] = objs[i]
    return ObjectColumn(values, validity)


cdef object cb_finish(colbuf_t* c, Py_ssize_t n, dict objs, bint csv, bint financial):
    cdef object col = _cb_finish(c, n, objs, csv, financial)
    if c.dprec > 0 and type(col) is DecimalColumn:
        (<DecimalColumn>col).precision = c.dprec    # named in messages as declared
    return col


cdef object _cb_finish(colbuf_t* c, Py_ssize_t n, dict objs, bint csv, bint financial):
    cdef Py_ssize_t i
    cdef uint32_t mask = 0, kinds
    cdef int t, maxs = 0
    cdef uint8_t* vp
    cdef object validity = None, data, col
    cdef uint8_t* bp
    cdef double* dp
    cdef double d
    for i in range(n):
        t = c.tags[i] & TG_KIND
        mask |= _bit(t)
        if t == TG_DEC and c.scales[i] > maxs:
            maxs = c.scales[i]
    if mask & 1:
        # Validity from the kind alone (a NULL row may still carry TG_TEXT), and a NULL row's
        # slot zeroed: no kernel ever reads an unwritten value under a NULL.
        validity = new_byte_array(n, False)
        vp = <uint8_t*>(<array.array>validity).data.as_voidptr
        for i in range(n):
            vp[i] = (c.tags[i] & TG_KIND) != TG_NULL
            if not vp[i]:
                c.vals[i] = 0
    kinds = mask & ~_bit(TG_NULL)
    if kinds == 0:
        return _typed_nulls(c, n, validity)
    if kinds == _bit(TG_INT) or kinds == _bit(TG_TS):
        data = new_int64_array(n)
        memcpy((<array.array>data).data.as_voidptr, c.vals, n * sizeof(int64_t))
        return make_int64(data, validity, n, T_INT64 if kinds == _bit(TG_INT) else T_TIMESTAMP)
    if kinds == _bit(TG_BOOL):
        data = new_byte_array(n, False)
        bp = <uint8_t*>(<array.array>data).data.as_voidptr
        for i in range(n):
            bp[i] = (c.tags[i] & TG_KIND) == TG_BOOL and c.vals[i] != 0
        return make_bool(data, validity, n)
    if (kinds & ~(_bit(TG_INT) | _bit(TG_DEC))) == 0:
        col = _decimal_column(c, n, validity, c.dscale if c.dscale >= 0 else maxs,
                              c.dscale < 0)
        if col is not None:
            return col
    elif (kinds & ~(_bit(TG_INT) | _bit(TG_DBL))) == 0:
        data = new_double_array(n)
        dp = <double*>(<array.array>data).data.as_voidptr
        for i in range(n):
            t = c.tags[i] & TG_KIND
            if t == TG_INT:
                dp[i] = <double>c.vals[i]
            elif t == TG_DBL:
                memcpy(&d, &c.vals[i], sizeof(double))
                dp[i] = d
            else:
                dp[i] = 0.0
        return make_float64(data, validity, n)
    if (kinds & ~(_bit(TG_INT) | _bit(TG_DEC) | _bit(TG_BIGINT) | _bit(TG_BIGDEC))) == 0 and (
            kinds & (_bit(TG_DEC) | _bit(TG_BIGDEC))) and (financial or c.declared == D_DECIMAL):
        # Decimals past an int64 mantissa: int128 mantissas up to 38 digits, else exact objects.
        col = _decimal128_column(c, n, validity, c.dscale)
        if col is None:
            col = _wide_decimal_column(_object_column(c, n, validity, objs), c.dscale)
        if col is not None:
            return col
    elif csv and financial and (
            kinds & ~(_bit(TG_INT) | _bit(TG_DEC) | _bit(TG_DBL))) == 0:
        col = _reparse_decimal(c, n, validity)
        if col is not None:
            return col
    if kinds == _bit(TG_STR) or (
            csv and c.declared == D_NONE and (kinds & (_bit(TG_STR) | _bit(TG_BOOL)))):
        return _string_column(c, n, validity)
    return _object_column(c, n, validity, objs)


# =============================================================================== JSON scanning

cdef inline Py_ssize_t _ws(const unsigned char* p, Py_ssize_t pos, Py_ssize_t end) noexcept nogil:
    cdef unsigned char c
    while pos < end:
        c = p[pos]
        if c != C_SPACE and c != C_NL and c != C_CR and c != C_TAB:
            break
        pos += 1
    return pos


cdef uint8_t _WS_DOC[256]      # JSON whitespace
cdef uint8_t _WS_LINE[256]     # JSON Lines: a line feed ends the record, it is not whitespace
memset(_WS_DOC, 0, 256)
memset(_WS_LINE, 0, 256)
_WS_DOC[C_SPACE] = _WS_DOC[C_TAB] = _WS_DOC[C_CR] = _WS_DOC[C_NL] = 1
_WS_LINE[C_SPACE] = _WS_LINE[C_TAB] = _WS_LINE[C_CR] = 1


cdef inline Py_ssize_t _wst(const unsigned char* p, Py_ssize_t pos, Py_ssize_t end,
                            const uint8_t* table) noexcept nogil:
    while pos < end and table[p[pos]]:
        pos += 1
    return pos


cdef inline int _hex4(const unsigned char* p, Py_ssize_t i, Py_ssize_t end) noexcept nogil:
    cdef int a, b, c, d
    if i + 4 > end:
        return -1
    a = _HEX[p[i]]
    b = _HEX[p[i + 1]]
    c = _HEX[p[i + 2]]
    d = _HEX[p[i + 3]]
    if (a | b | c | d) < 0:
        return -1
    return (a << 12) | (b << 8) | (c << 4) | d


cdef inline Py_ssize_t _utf8_len(const unsigned char* p, Py_ssize_t q,
                                 Py_ssize_t end) noexcept nogil:
    """Length of the valid UTF-8 sequence at p[q] (>= 0x80), or 0."""
    cdef unsigned char c = p[q], lo = 0x80, hi = 0xBF
    cdef Py_ssize_t k, i
    if c < 0xC2:
        return 0
    if c < 0xE0:
        k = 2
    elif c < 0xF0:
        k = 3
        if c == 0xE0:
            lo = 0xA0
        elif c == 0xED:
            hi = 0x9F
    elif c < 0xF5:
        k = 4
        if c == 0xF0:
            lo = 0x90
        elif c == 0xF4:
            hi = 0x8F
    else:
        return 0
    if q + k > end or not (lo <= p[q + 1] <= hi):
        return 0
    for i in range(2, k):
        if not (0x80 <= p[q + i] <= 0xBF):
            return 0
    return k


cdef Py_ssize_t utf8_error_at(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i = 0, k
    cdef uint64_t w
    while i < n:
        if i + 8 <= n:
            memcpy(&w, s + i, 8)
            if (w & 0x8080808080808080ULL) == 0:
                i += 8
                continue
        if s[i] < 0x80:
            i += 1
            continue
        k = _utf8_len(s, i, n)
        if k == 0:
            return i
        i += k
    return -1


cdef Py_ssize_t scan_string(const unsigned char* p, Py_ssize_t pos, Py_ssize_t end, bint* esc,
                            Py_ssize_t* errpos) noexcept nogil:
    """Validates the JSON string at p[pos] == '"'; returns the position after its closing quote,
    or -E_* with *errpos set. *esc is set when it holds escapes."""
    cdef Py_ssize_t q = pos + 1, k
    cdef unsigned char c
    cdef int cp, lo
    while True:
        while q + 8 <= end:
            k = js_special8(p + q)
            q += k
            if k < 8:
                break
        else:
            while q < end and not _SPECIAL[p[q]]:
                q += 1
        if q >= end:
            errpos[0] = pos
            return -E_UNTERMINATED
        c = p[q]
        if c == C_QUOTE:
            return q + 1
        if c == C_BSLASH:
            esc[0] = True
            if q + 1 >= end:
                errpos[0] = q
                return -E_ESCAPE
            c = p[q + 1]
            if c == 117:        # \uXXXX
                cp = _hex4(p, q + 2, end)
                if cp < 0:
                    errpos[0] = q
                    return -E_ESCAPE
                if 0xD800 <= cp < 0xDC00:
                    lo = -1
                    if q + 7 < end and p[q + 6] == C_BSLASH and p[q + 7] == 117:
                        lo = _hex4(p, q + 8, end)
                    if not (0xDC00 <= lo < 0xE000):
                        errpos[0] = q
                        return -E_SURROGATE
                    q += 12
                elif 0xDC00 <= cp < 0xE000:
                    errpos[0] = q
                    return -E_SURROGATE
                else:
                    q += 6
            elif (c == C_QUOTE or c == C_BSLASH or c == C_SLASH or c == 98 or c == 102
                  or c == 110 or c == 114 or c == 116):
                q += 2
            else:
                errpos[0] = q
                return -E_ESCAPE
        elif c < 0x20:
            errpos[0] = q
            return -E_CONTROL
        else:
            k = _utf8_len(p, q, end)
            if k == 0:
                errpos[0] = q
                return -E_UTF8
            q += k


cdef Py_ssize_t unescape(const unsigned char* s, Py_ssize_t n, char* dst) noexcept nogil:
    """The UTF-8 bytes of a validated JSON string body s[0:n]; returns their length (<= n)."""
    cdef Py_ssize_t i = 0, k = 0
    cdef unsigned char c
    cdef int cp, lo
    while i < n:
        c = s[i]
        if c != C_BSLASH:
            dst[k] = <char>c
            k += 1
            i += 1
            continue
        c = s[i + 1]
        i += 2
        if c == 117:
            cp = _hex4(s, i, n)
            i += 4
            if 0xD800 <= cp < 0xDC00:
                lo = _hex4(s, i + 2, n)
                i += 6
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
            if cp < 0x80:
                dst[k] = <char>cp
                k += 1
            elif cp < 0x800:
                dst[k] = <char>(0xC0 | (cp >> 6))
                dst[k + 1] = <char>(0x80 | (cp & 0x3F))
                k += 2
            elif cp < 0x10000:
                dst[k] = <char>(0xE0 | (cp >> 12))
                dst[k + 1] = <char>(0x80 | ((cp >> 6) & 0x3F))
                dst[k + 2] = <char>(0x80 | (cp & 0x3F))
                k += 3
            else:
                dst[k] = <char>(0xF0 | (cp >> 18))
                dst[k + 1] = <char>(0x80 | ((cp >> 12) & 0x3F))
                dst[k + 2] = <char>(0x80 | ((cp >> 6) & 0x3F))
                dst[k + 3] = <char>(0x80 | (cp & 0x3F))
                k += 4
        else:
            if c == 98:
                c = 8
            elif c == 102:
                c = 12
            elif c == 110:
                c = 10
            elif c == 114:
                c = 13
            elif c == 116:
                c = 9
            dst[k] = <char>c
            k += 1
    return k


cdef inline bint _same(const char* a, const char* b, Py_ssize_t n) noexcept nogil:
    """a[0:n] == b[0:n] for short keys, without a libc call."""
    cdef uint64_t x, y
    while n >= 8:
        memcpy(&x, a, 8)
        memcpy(&y, b, 8)
        if x != y:
            return False
        a += 8
        b += 8
        n -= 8
    while n > 0:
        if a[0] != b[0]:
            return False
        a += 1
        b += 1
        n -= 1
    return True


cdef inline bint _lit(const unsigned char* p, Py_ssize_t pos, Py_ssize_t end, const char* word,
                      Py_ssize_t n) noexcept nogil:
    return pos + n <= end and memcmp(p + pos, word, n) == 0


cdef Py_ssize_t char_column(const unsigned char* p, Py_ssize_t line_start,
                            Py_ssize_t pos) noexcept nogil:
    """1-based column of p[pos] counted in characters (UTF-8 lead bytes) from line_start."""
    cdef Py_ssize_t i, col = 1
    for i in range(line_start, pos):
        if (p[i] & 0xC0) != 0x80:
            col += 1
    return col


cdef Py_ssize_t _estimate_rows(const unsigned char* p, Py_ssize_t pos,
                               Py_ssize_t n) noexcept nogil:
    """Rows to allocate for: data length over the first line's, plus a margin (columns grow
    geometrically when the guess is short)."""
    cdef const unsigned char* nl
    cdef Py_ssize_t first
    if n - pos <= 0:
        return 16
    nl = <const unsigned char*>memchr(p + pos, C_NL, n - pos)
    first = ((nl - p) if nl != NULL else n) - pos + 1
    if first < 8:
        first = 8
    return (n - pos) // first + (n - pos) // first // 4 + 16


# Column slots allocated at once (rows x columns): the row guess comes from the first line's
# length, which says nothing about a pretty-printed or very wide record; past this budget the
# guess is cut back to the rows actually used, and columns grow geometrically from there.
CELL_BUDGET = 1 << 22


@cython.final
cdef class JsonScanner:
    """The decoding engine behind ``velostream.formats.json.JsonDecoder``.

    ``decode_lines``/``decode_document`` return ``(names, columns, line_column, errors)`` with
    errors as ``(line, column, message, raw bytes)`` tuples.
    """

    cdef bint financial
    cdef bint project
    cdef list want            # (requested spelling, lower) in order, when projecting
    cdef dict declared        # lower name -> (code, prec, scale)
    cdef colbuf_t* cols
    cdef Py_ssize_t ncols, capcols
    cdef readonly Py_ssize_t cap  # rows allocated per column (kept after a decode, for tests)
    cdef list objs            # per column: dict row -> object, or None
    cdef public bint lost     # decode_document: a syntax error ended the array
    cdef Py_ssize_t col0      # characters before the data on its first line (a later block)
    cdef Py_ssize_t guess
    cdef bint saw_bigint
    cdef str err
    cdef Py_ssize_t err_pos
    cdef char* kbuf
    cdef Py_ssize_t kcap
    cdef set misses           # non-ASCII keys known not to be wanted (projection)
    cdef bint busy            # decoding state lives here: one call at a time
    cdef const uint8_t* wst   # whitespace table: _WS_LINE or _WS_DOC
    cdef readonly Py_ssize_t next_line  # decode_lines: the line after the last one it read
    # Per key position in a record: the column its key was (-1 skipped, -2 not known), and a
    # skipped key's bytes. Records of one source repeat their keys in one order.
    cdef Py_ssize_t memo_ci[KEY_MEMO]
    cdef Py_ssize_t memo_len[KEY_MEMO]
    cdef char memo_key[KEY_MEMO * KEY_MEMO_BYTES]

    def __cinit__(self):
        cdef Py_ssize_t i
        self.cols = NULL
        self.ncols = 0
        self.capcols = 0
        self.kbuf = NULL
        self.kcap = 0
        self.wst = _WS_DOC
        for i in range(KEY_MEMO):
            self.memo_ci[i] = -2

    def __init__(self, fields=None, financial_precision=True, declared=None):
        self.financial = bool(financial_precision)
        self.declared = declared_spec(declared)
        self.project = fields is not None
        self.want = []
        if fields is not None:
            seen = set()
            for name in fields:
                name = str(name)
                low = name.lower()
                if low not in seen:
                    seen.add(low)
                    self.want.append((name, low))
        self.misses = set()

    def __dealloc__(self):
        self._free_cols()
        free(self.kbuf)

    @property
    def fields(self):
        return [name for name, _ in self.want] if self.project else None

    cdef void _free_cols(self) noexcept:
        cdef Py_ssize_t i
        if self.cols != NULL:
            for i in range(self.ncols):
                cb_free(&self.cols[i])
            free(self.cols)
        self.cols = NULL
        self.ncols = 0
        self.capcols = 0

    cdef int _add_col(self, str name, Py_ssize_t row, bint named) except -1:
        cdef colbuf_t* q
        cdef Py_ssize_t newcap
        if self.ncols == self.capcols:
            newcap = self.capcols * 2 if self.capcols else 16
            q = <colbuf_t*>realloc(self.cols, newcap * sizeof(colbuf_t))
            if q == NULL:
                raise MemoryError()
            self.cols = q
            self.capcols = newcap
        if (self.ncols + 1) * self.cap > CELL_BUDGET and self.cap > 2 * row + 32:
            self._shrink_rows(max(row + 16, CELL_BUDGET // (self.ncols + 1)))
        low = name.lower()
        code, prec, scale = self.declared.get(low, (D_NONE, -1, -1))
        cb_init(&self.cols[self.ncols], self.cap, name.encode("utf-8"), low.encode("utf-8"),
                code, prec, scale)
        self.cols[self.ncols].created_row = row
        self.cols[self.ncols].named = named
        self.ncols += 1
        self.objs.append(None)
        return 0

    cdef int _reset(self, Py_ssize_t cap) except -1:
        cdef Py_ssize_t i
        self._free_cols()
        self.cap = cap if cap > 16 else 16
        self.objs = []
        for i in range(KEY_MEMO):
            self.memo_ci[i] = -2
        for name, _ in self.want:
            self._add_col(name, -1, False)
        return 0

    cdef int _shrink_rows(self, Py_ssize_t cap) except -1:
        """Gives back the slots of a row guess that was too generous (rows < cap are kept)."""
        cdef Py_ssize_t i
        cdef colbuf_t* c
        for i in range(self.ncols):
            c = &self.cols[i]
            c.tags = <uint8_t*>_shrunk(c.tags, cap)
            c.vals = <int64_t*>_shrunk(c.vals, cap * sizeof(int64_t))
            if c.scales != NULL:
                c.scales = <uint8_t*>_shrunk(c.scales, cap)
            if c.ends != NULL:
                c.ends = <int64_t*>_shrunk(c.ends, cap * sizeof(int64_t))
            c.cap = cap
        self.cap = cap
        return 0

    cdef int _grow_rows(self, Py_ssize_t need) except -1:
        cdef Py_ssize_t i, cap = self.cap
        if need <= cap:
            return 0
        while cap < need:
            cap *= 2
        for i in range(self.ncols):
            cb_grow_rows(&self.cols[i], cap)
        self.cap = cap
        return 0

    cdef void _undo(self, Py_ssize_t row) noexcept:
        cdef Py_ssize_t i
        for i in range(self.ncols):
            cb_undo_row(&self.cols[i], row)
        # Columns first seen in a malformed record disappear with it.
        while self.ncols and self.cols[self.ncols - 1].created_row == row:
            self.ncols -= 1
            cb_free(&self.cols[self.ncols])
            del self.objs[self.ncols]

    cdef Py_ssize_t _string_fail(self, Py_ssize_t code, Py_ssize_t errpos) except -2:
        return self._fail(_STRING_ERRORS[-code], errpos)

    cdef Py_ssize_t _fail(self, str message, Py_ssize_t pos) except -2:
        self.err = message
        self.err_pos = pos
        return -1

    cdef Py_ssize_t _find(self, const char* k, Py_ssize_t kl, Py_ssize_t row) except -2:
        """Index of the column for key k[0:kl], -1 to skip it; adds columns when not projecting."""
        cdef Py_ssize_t i, j, g = self.guess
        cdef colbuf_t* c
        cdef bint ascii = True
        if g < self.ncols:
            c = &self.cols[g]
            if c.name_len == kl and _same(c.name, k, kl):
                c.named = True
                return g
        for i in range(self.ncols):
            c = &self.cols[i]
            if c.name_len == kl and _same(c.name, k, kl):
                c.named = True
                return i
        for i in range(self.ncols):
            c = &self.cols[i]
            if c.lname_len == kl:
                for j in range(kl):
                    if _LOWER[<uint8_t>k[j]] != <uint8_t>c.lname[j]:
                        break
                else:
                    return self._matched(i, k, kl)
        for j in range(kl):
            if <uint8_t>k[j] >= 0x80:
                ascii = False
                break
        if not ascii or not self.project:
            return self._find_slow(k, kl, row, ascii)
        return -1

    cdef inline Py_ssize_t _lookup(self, const char* k, Py_ssize_t kl, Py_ssize_t row,
                                   Py_ssize_t at) except -2:
        """_find for the ``at``-th key of a record, answered from the memo when the key is
        the one that position had before: a column's exact name (columns only change names
        before their first exact match), or a key projection skips (the wanted columns are
        fixed for a decode)."""
        cdef Py_ssize_t ci
        cdef colbuf_t* c
        if at >= KEY_MEMO:
            return self._find(k, kl, row)
        ci = self.memo_ci[at]
        if 0 <= ci < self.ncols:
            c = &self.cols[ci]
            if c.name_len == kl and _same(c.name, k, kl):
                c.named = True
                return ci
        elif ci == -1 and self.memo_len[at] == kl and \
                _same(&self.memo_key[at * KEY_MEMO_BYTES], k, kl):
            return -1
        ci = self._find(k, kl, row)
        if ci >= 0:
            c = &self.cols[ci]
            if c.name_len == kl and _same(c.name, k, kl):
                self.memo_ci[at] = ci
        elif self.project and kl <= KEY_MEMO_BYTES:
            self.memo_ci[at] = -1
            self.memo_len[at] = kl
            memcpy(&self.memo_key[at * KEY_MEMO_BYTES], k, kl)
        return ci

    cdef Py_ssize_t _find_slow(self, const char* k, Py_ssize_t kl, Py_ssize_t row,
                               bint ascii) except -2:
        """Keys with non-ASCII characters (Unicode case folding), and new columns."""
        cdef Py_ssize_t i
        cdef colbuf_t* c
        if not ascii:
            key = k[:kl]
            if key in self.misses:
                return -1
            low = key.decode("utf-8").lower().encode("utf-8")
            for i in range(self.ncols):
                c = &self.cols[i]
                if c.lname[:c.lname_len] == low:
                    return self._matched(i, k, kl)
            if self.project:
                if len(self.misses) < 256:
                    self.misses.add(key)
                return -1
        if self.project:
            return -1
        self._add_col(k[:kl].decode("utf-8"), row, True)
        return self.ncols - 1

    cdef Py_ssize_t _matched(self, Py_ssize_t i, const char* k, Py_ssize_t kl) except -2:
        if not self.cols[i].named:
            cb_set_name(&self.cols[i], k, kl)
        return i

    cdef Py_ssize_t _skip(self, const unsigned char* p, Py_ssize_t pos, Py_ssize_t end,
                          int depth) except -2:
        """Validates the JSON value at p[pos] without building it; returns its end or -1."""
        cdef unsigned char ch
        cdef Py_ssize_t q, errpos
        cdef bint esc = False
        cdef numinfo_t ni
        if pos >= end:
            return self._fail("truncated record: expected a value", pos)
        ch = p[pos]
        if ch == C_QUOTE:
            q = scan_string(p, pos, end, &esc, &errpos)
            if q < 0:
                return self._fail(_STRING_ERRORS[-q], errpos)
            return q
        if ch == C_MINUS or C_0 <= ch <= C_9:
            q = scan_number(p, pos, end, &ni)
            if q < 0:
                return self._fail("invalid number", pos)
            if not ni.has_frac and not ni.has_exp and not _fits_int64(&ni):
                self.saw_bigint = True
            return q
        if ch == C_LBRACE or ch == C_LBRACK:
            if depth >= MAX_DEPTH:
                return self._fail("nesting too deep", pos)
            pos = _wst(p, pos + 1, end, self.wst)
            if pos < end and p[pos] == (C_RBRACE if ch == C_LBRACE else C_RBRACK):
                return pos + 1
            while True:
                if ch == C_LBRACE:
                    if pos >= end or p[pos] != C_QUOTE:
                        return self._fail("expected a string key", pos)
                    q = scan_string(p, pos, end, &esc, &errpos)
                    if q < 0:
                        return self._fail(_STRING_ERRORS[-q], errpos)
                    pos = _wst(p, q, end, self.wst)
                    if pos >= end or p[pos] != C_COLON:
                        return self._fail("expected ':' after a key", pos)
                    pos = _wst(p, pos + 1, end, self.wst)
                pos = self._skip(p, pos, end, depth + 1)
                if pos < 0:
                    return -1
                pos = _wst(p, pos, end, self.wst)
                if pos < end and p[pos] == C_COMMA:
                    pos = _wst(p, pos + 1, end, self.wst)
                    continue
                if ch == C_LBRACE:
                    if pos < end and p[pos] == C_RBRACE:
                        return pos + 1
                    return self._fail("expected ',' or '}'", pos)
                if pos < end and p[pos] == C_RBRACK:
                    return pos + 1
                return self._fail("expected ',' or ']'", pos)
        if ch == 116 and _lit(p, pos, end, b"true", 4):
            return pos + 4
        if ch == 102 and _lit(p, pos, end, b"false", 5):
            return pos + 5
        if ch == 110 and _lit(p, pos, end, b"null", 4):
            return pos + 4
        return self._fail("expected a value", pos)

    cdef int _put_nested(self, Py_ssize_t ci, const unsigned char* p, Py_ssize_t pos,
                         Py_ssize_t q, Py_ssize_t row) except -1:
        cdef colbuf_t* c = &self.cols[ci]
        cdef dict objs
        if c.declared == D_STRING:
            cb_reserve(c, q - pos)
            memcpy(c.sbuf + c.spos, p + pos, q - pos)
            c.tags[row] = TG_STR
            _commit_text(c, row, q - pos)
            return P_OK
        if c.declared != D_NONE:
            return P_BAD
        text = PyBytes_FromStringAndSize(<const char*>p + pos, q - pos)
        try:
            if self.financial and b"." in text:
                # DIALECT §3 holds inside nesting too: fractions are exact decimals from their text.
                value = _json.loads(text, parse_float=_nested_fraction)
            elif self.saw_bigint:
                value = _json.loads(text, parse_float=_nested_float)
            else:
                try:
                    value = _orjson.loads(text)
                except _orjson.JSONDecodeError:
                    # numbers orjson refuses: long integers, or 1e400 (refused below)
                    value = _json.loads(text, parse_float=_nested_float)
        except _NotFinite:
            return P_RANGE
        except ValueError:
            # The text is valid JSON (the scanner checked it): only an integer longer than
            # INT_MAX_DIGITS makes json refuse it.
            return P_LIMIT
        objs = self.objs[ci]
        if objs is None:
            objs = self.objs[ci] = {}
        objs[row] = value
        c.tags[row] = TG_OBJ
        return P_OK

    cdef Py_ssize_t _value(self, Py_ssize_t ci, const unsigned char* p, Py_ssize_t pos,
                           Py_ssize_t end, Py_ssize_t row) except -2:
        cdef colbuf_t* c = &self.cols[ci]
        cdef unsigned char ch = p[pos]
        cdef Py_ssize_t q, n, errpos
        cdef bint esc = False
        cdef numinfo_t ni
        cdef int st
        if ch == C_QUOTE:
            q = scan_string(p, pos, end, &esc, &errpos)
            if q < 0:
                return self._string_fail(q, errpos)
            cb_begin(c, row)
            n = q - pos - 2
            cb_reserve(c, n)
            if esc:
                n = unescape(p + pos + 1, n, c.sbuf + c.spos)
            elif n:
                memcpy(c.sbuf + c.spos, p + pos + 1, n)
            st = cb_put_text(c, row, n, False, self.financial)
        elif ch == C_MINUS or C_0 <= ch <= C_9:
            q = scan_number(p, pos, end, &ni)
            if q < 0:
                return self._fail("invalid number", pos)
            cb_begin(c, row)
            st = cb_put_number(c, row, <const char*>p + pos, q - pos, &ni, self.financial)
        elif ch == 116 and _lit(p, pos, end, b"true", 4):
            q = pos + 4
            cb_begin(c, row)
            st = cb_put_bool(c, row, True)
        elif ch == 102 and _lit(p, pos, end, b"false", 5):
            q = pos + 5
            cb_begin(c, row)
            st = cb_put_bool(c, row, False)
        elif ch == 110 and _lit(p, pos, end, b"null", 4):
            q = pos + 4
            cb_begin(c, row)
            c.tags[row] = TG_NULL
            st = P_OK
        elif ch == C_LBRACE or ch == C_LBRACK:
            self.saw_bigint = False
            q = self._skip(p, pos, end, 1)
            if q < 0:
                return -1
            cb_begin(c, row)
            st = self._put_nested(ci, p, pos, q, row)
        else:
            return self._fail("expected a value", pos)
        if st != P_OK:
            return self._declared_fail(ci, st, p, pos, q)
        return q

    cdef Py_ssize_t _declared_fail(self, Py_ssize_t ci, int st, const unsigned char* p,
                                   Py_ssize_t pos, Py_ssize_t q) except -2:
        cdef colbuf_t* c = &self.cols[ci]
        name = c.name[:c.name_len].decode("utf-8")
        if st == P_LIMIT:
            return self._fail(_limit_text(name, p, pos, q), pos)
        text = (<const char*>p)[pos:q].decode("utf-8", "replace")
        if len(text) > 80:          # a nested value holding the number: its start is enough
            text = text[:77] + "…"
        kind = DECLARED_NAMES.get(c.declared, "DOUBLE")  # undeclared: only a double overflows
        if c.declared == D_DECIMAL and c.dprec >= 0:
            kind = f"DECIMAL({c.dprec},{c.dscale})"
        what = "does not fit" if st == P_RANGE else "is not a valid"
        if st == P_RANGE and text[:1] in "{[":
            what = "holds a number that does not fit"
        return self._fail(f"field {name!r}: {text} {what} {kind}", pos)

    cdef Py_ssize_t _object(self, const unsigned char* p, Py_ssize_t pos, Py_ssize_t end,
                            Py_ssize_t row) except -2:
        """Decodes the object at p[pos] == '{' into row; returns its end or -1."""
        cdef Py_ssize_t q, kl, ci, errpos, at = 0
        cdef const char* kp
        cdef bint esc
        cdef char* nk
        pos = _wst(p, pos + 1, end, self.wst)
        self.guess = 0
        if pos < end and p[pos] == C_RBRACE:
            return pos + 1
        while True:
            if pos >= end:
                return self._fail("truncated record: expected a key", pos)
            if p[pos] != C_QUOTE:
                return self._fail("expected a string key", pos)
            esc = False
            q = scan_string(p, pos, end, &esc, &errpos)
            if q < 0:
                return self._string_fail(q, errpos)
            kl = q - pos - 2
            if esc:
                if kl > self.kcap:
                    nk = <char*>realloc(self.kbuf, kl)
                    if nk == NULL:
                        raise MemoryError()
                    self.kbuf = nk
                    self.kcap = kl
                kl = unescape(p + pos + 1, kl, self.kbuf)
                kp = self.kbuf
            else:
                kp = <const char*>p + pos + 1
            pos = _wst(p, q, end, self.wst)
            if pos >= end or p[pos] != C_COLON:
                return self._fail("expected ':' after a key", pos)
            pos = _wst(p, pos + 1, end, self.wst)
            if pos >= end:
                return self._fail("truncated record: expected a value", pos)
            ci = self._lookup(kp, kl, row, at)
            at += 1
            if ci >= 0:
                self.guess = ci + 1
                pos = self._value(ci, p, pos, end, row)
            else:
                pos = self._skip(p, pos, end, 1)
            if pos < 0:
                return -1
            pos = _wst(p, pos, end, self.wst)
            if pos < end:
                if p[pos] == C_COMMA:
                    pos = _wst(p, pos + 1, end, self.wst)
                    continue
                if p[pos] == C_RBRACE:
                    return pos + 1
                return self._fail("expected ',' or '}'", pos)
            return self._fail("truncated record: expected ',' or '}'", pos)

    cdef tuple _finish(self, Py_ssize_t n, object lines):
        cdef Py_ssize_t i
        cdef colbuf_t* c
        names = []
        columns = []
        try:
            for i in range(self.ncols):
                c = &self.cols[i]
                names.append(c.name[:c.name_len].decode("utf-8"))
                columns.append(cb_finish(c, n, self.objs[i], False, self.financial))
        finally:
            self._free_cols()
            self.objs = None
        array.resize(<array.array>lines, n)
        return names, columns, make_int64(lines, None, n, T_INT64)

    def decode_lines(self, data, Py_ssize_t first_line=1):
        """JSON Lines: one object per line; blank lines are skipped."""
        self._enter()
        try:
            return self._decode_lines(data, first_line)
        finally:
            self._release()

    def decode_document(self, data, Py_ssize_t first_line=1, Py_ssize_t first_column=1,
                        bint in_array=False):
        """A JSON array of objects, or objects one after another (JSON Lines, or pretty-printed
        objects separated by whitespace). A streaming reader passes a document in blocks cut
        by ``JsonSplitter``: a later block starts at ``first_line``/``first_column`` and, when
        ``in_array``, continues the array after a comma. ``lost`` is set when a syntax error
        ended the array (later blocks are not to be decoded)."""
        self._enter()
        try:
            return self._decode_document(data, first_line, first_column, in_array)
        finally:
            self._release()

    cdef int _enter(self) except -1:
        if self.busy:
            raise RuntimeError("this JsonDecoder is already decoding (another thread?): "
                               "use one decoder per thread")
        self.busy = True
        return 0

    cdef void _release(self) noexcept:
        self._free_cols()
        self.objs = None
        self.busy = False

    cdef Py_ssize_t _col(self, const unsigned char* p, Py_ssize_t line_start,
                         Py_ssize_t pos) noexcept:
        return char_column(p, line_start, pos) + (self.col0 if line_start == 0 else 0)

    cdef str _message(self, const unsigned char* p, Py_ssize_t line_start):
        col = self._col(p, line_start, self.err_pos)
        prefix = "" if self.err.startswith("field ") else "invalid JSON: "
        return f"{prefix}{self.err} at column {col}"

    def _decode_lines(self, data, Py_ssize_t first_line=1):
        self.col0 = 0
        cdef const unsigned char[::1] view = data
        cdef Py_ssize_t n = view.shape[0], pos = 0, le, s, q, row = 0, line = first_line
        cdef const unsigned char* p = &view[0] if n else <const unsigned char*>b""
        cdef const unsigned char* nl
        cdef int64_t* lp
        cdef object lines
        cdef list errors = []
        if first_line == 1 and n >= 3 and p[0] == 0xEF and p[1] == 0xBB and p[2] == 0xBF:
            pos = 3
        self._reset(_estimate_rows(p, pos, n))
        self.wst = _WS_LINE
        lines = new_int64_array(self.cap)
        lp = <int64_t*>(<array.array>lines).data.as_voidptr
        # A record never spans a line feed (JSON strings cannot hold one raw, and the scanner
        # does not take it for whitespace), so records are parsed straight from the buffer and
        # the end of a line is only looked for when a record is malformed.
        while pos < n:
            s = _wst(p, pos, n, _WS_LINE)
            if s >= n:
                break
            if p[s] == C_NL:                # a blank line
                pos = s + 1
                line += 1
                continue
            if row >= self.cap:
                self._grow_rows(row + 1)
                array.resize(<array.array>lines, self.cap)
                lp = <int64_t*>(<array.array>lines).data.as_voidptr
            if p[s] == C_LBRACE:
                q = self._object(p, s, n, row)
                if q >= 0:
                    q = _wst(p, q, n, _WS_LINE)
                    if q < n and p[q] != C_NL:
                        q = self._fail("unexpected data after the object", q)
            else:
                q = self._fail("expected a JSON object", s)
            if q >= 0:
                lp[row] = line
                row += 1
                pos = q + 1
                line += 1
                continue
            self._undo(row)
            nl = <const unsigned char*>memchr(p + pos, C_NL, n - pos)
            le = (nl - p) if nl != NULL else n
            if self.err_pos >= le:
                # The line ended inside the record.
                self.err_pos = le
                if self.err == _STRING_ERRORS[E_CONTROL]:
                    self.err = "truncated record: unterminated string"
                elif not self.err.startswith("truncated"):
                    self.err = "truncated record: " + self.err
            q = le
            if le > pos and p[le - 1] == C_CR:
                le -= 1
            errors.append((line, char_column(p, pos, self.err_pos), self._message(p, pos),
                           bytes(view[pos:le])))
            pos = q + 1
            line += 1
        self.next_line = line
        names, columns, line_col = self._finish(row, lines)
        return names, columns, line_col, errors

    def _decode_document(self, data, Py_ssize_t first_line=1, Py_ssize_t first_column=1,
                         bint in_array=False):
        self.wst = _WS_DOC
        self.lost = False
        self.col0 = first_column - 1
        cdef const unsigned char[::1] view = data
        cdef Py_ssize_t n = view.shape[0], pos = 0, q, row = 0, k, rec_line
        cdef const unsigned char* p = &view[0] if n else <const unsigned char*>b""
        cdef const unsigned char* nl
        cdef Py_ssize_t frontier = 0, line = first_line, line_start = 0
        cdef object lines
        cdef list errors = []
        cdef bint array_mode, fatal
        self._reset(_estimate_rows(p, 0, n))
        lines = new_int64_array(self.cap)
        if first_line == 1 and n >= 3 and p[0] == 0xEF and p[1] == 0xBB and p[2] == 0xBF:
            pos = 3
        pos = _ws(p, pos, n)
        array_mode = in_array or (pos < n and p[pos] == C_LBRACK)
        if array_mode and not in_array:
            pos = _ws(p, pos + 1, n)
            if pos < n and p[pos] == C_RBRACK:
                pos = _ws(p, pos + 1, n)
                if pos < n:
                    self._fail("unexpected data after the array", pos)
                    pos = self._document_error(p, view, pos, pos, 1, 0, errors, True)
                pos = n
        while pos < n:
            # Line bookkeeping: newlines up to the record start.
            while frontier < pos:
                nl = <const unsigned char*>memchr(p + frontier, C_NL, pos - frontier)
                if nl == NULL:
                    frontier = pos
                    break
                line += 1
                frontier = (nl - p) + 1
                line_start = frontier
            rec_line = line
            if row >= self.cap:
                self._grow_rows(row + 1)
                array.resize(<array.array>lines, self.cap)
            fatal = False
            if p[pos] == C_LBRACE:
                q = self._object(p, pos, n, row)
                if q >= 0:
                    (<int64_t*>(<array.array>lines).data.as_voidptr)[row] = rec_line
                    row += 1
            elif array_mode:
                q = self._skip(p, pos, n, 0)
                if q >= 0:
                    k = self._col(p, line_start, pos)
                    errors.append((rec_line, k, f"array element is not a JSON object at column {k}",
                                   bytes(view[pos:q])))
            else:
                q = self._fail("expected a JSON object", pos)
            if q >= 0:
                pos = _ws(p, q, n)
                if not array_mode:
                    continue
                if pos < n and p[pos] == C_COMMA:
                    pos = _ws(p, pos + 1, n)
                    continue
                if pos < n and p[pos] == C_RBRACK:
                    pos = _ws(p, pos + 1, n)
                    if pos >= n:
                        break
                    q = self._fail("unexpected data after the array", pos)
                else:
                    q = self._fail("expected ',' or ']'" if pos < n else
                                   "truncated document: expected ',' or ']'", pos)
                fatal = True
            self._undo(row)
            pos = self._document_error(p, view, pos, frontier, line, line_start, errors,
                                       array_mode or fatal)
        names, columns, line_col = self._finish(row, lines)
        return names, columns, line_col, errors

    cdef Py_ssize_t _document_error(self, const unsigned char* p, const unsigned char[::1] view,
                                    Py_ssize_t pos, Py_ssize_t frontier, Py_ssize_t line,
                                    Py_ssize_t line_start, list errors, bint fatal) except -1:
        """Records the error of the record starting at pos; returns where decoding resumes
        (the end of the data when the document's structure is lost)."""
        cdef Py_ssize_t n = view.shape[0], k = self.err_pos if self.err_pos < n else n
        cdef Py_ssize_t e = frontier, e_line = line, e_start = line_start, raw_end
        cdef const unsigned char* nl
        while e < k:
            nl = <const unsigned char*>memchr(p + e, C_NL, k - e)
            if nl == NULL:
                break
            e_line += 1
            e = (nl - p) + 1
            e_start = e
        col = self._col(p, e_start, k)
        msg = self._message(p, e_start)
        if fatal:
            # An array's structure is lost: nothing after this point can be trusted.
            self.lost = True
            errors.append((e_line, col, msg + "; the rest of the document was not decoded",
                           bytes(view[pos:n])))
            return n
        # Objects one after another: resume at the next line that starts with an object.
        nl = <const unsigned char*>memchr(p + k, C_NL, n - k) if k < n else NULL
        e = (nl - p) if nl != NULL else n
        while e < n:
            k = _ws(p, e + 1, n)
            nl = <const unsigned char*>memchr(p + e + 1, C_NL, n - e - 1) if e + 1 < n else NULL
            if k < n and p[k] == C_LBRACE and (nl == NULL or k < nl - p):
                break
            e = (nl - p) if nl != NULL else n
        raw_end = e
        while raw_end > pos and (p[raw_end - 1] == C_NL or p[raw_end - 1] == C_CR):
            raw_end -= 1
        errors.append((e_line, col, msg, bytes(view[pos:raw_end])))
        return _ws(p, e, n)


@cython.final
cdef class JsonSplitter:
    """Where a JSON document read in blocks can be cut between records, in one pass over each
    byte (the state carries over from block to block).

    In an array (the first byte other than whitespace or a BOM is ``[``) a cut falls after a
    comma between elements; otherwise after each top-level value closed by ``}`` or ``]``
    (objects one after another). Only strings and nesting are followed: the document itself is
    validated by ``JsonScanner.decode_document``, which each block is handed to; for valid JSON
    the cuts are exact, and in an array the first syntax error ends decoding, so a cut after it
    never matters. ``line`` and
    ``column`` (1-based, in characters) are where the last cut fell.
    """

    cdef int mode            # 0: not started, 1: array, 2: values one after another
    cdef Py_ssize_t depth
    cdef bint in_string, escape
    cdef readonly Py_ssize_t line, column
    cdef Py_ssize_t cur_line, cur_col

    def __init__(self):
        self.mode = 0
        self.depth = 0
        self.in_string = False
        self.escape = False
        self.line = self.cur_line = 1
        self.column = self.cur_col = 1

    @property
    def in_array(self):
        return self.mode == 1

    def feed(self, data):
        """Scans the next block; returns the offset in it just after its last cut, or -1."""
        cdef const unsigned char[::1] view = data
        cdef Py_ssize_t n = view.shape[0], i, cut = -1
        cdef const unsigned char* p = &view[0] if n else <const unsigned char*>b""
        cdef unsigned char ch
        cdef int mode = self.mode
        cdef Py_ssize_t depth = self.depth, line = self.cur_line, col = self.cur_col
        cdef bint in_string = self.in_string, escape = self.escape
        with nogil:
            for i in range(n):
                ch = p[i]
                if ch == C_NL:
                    line += 1
                    col = 1
                    # A JSON string cannot hold a raw line feed (the decoder fails it there),
                    # so an unterminated one never shifts the cuts past its line.
                    in_string = False
                    escape = False
                elif (ch & 0xC0) != 0x80:
                    col += 1
                if in_string:
                    if escape:
                        escape = False
                    elif ch == C_BSLASH:
                        escape = True
                    elif ch == C_QUOTE:
                        in_string = False
                    continue
                if ch == C_QUOTE:
                    in_string = True
                elif ch == C_LBRACE or ch == C_LBRACK:
                    if mode == 0:
                        mode = 1 if ch == C_LBRACK else 2
                    depth += 1
                elif ch == C_RBRACE or ch == C_RBRACK:
                    if depth > 0:
                        depth -= 1
                    if mode == 2 and depth == 0:
                        cut = i + 1
                        self.line = line
                        self.column = col
                elif ch == C_COMMA and mode == 1 and depth == 1:
                    cut = i + 1
                    self.line = line
                    self.column = col
                elif mode == 0 and not _WS_DOC[ch] and ch != 0xEF and ch != 0xBB and ch != 0xBF:
                    mode = 2
        self.mode = mode
        self.depth = depth
        self.in_string = in_string
        self.escape = escape
        self.cur_line = line
        self.cur_col = col
        return cut


# =============================================================================== JSON writing

cdef int ob_grow(obuf_t* o, Py_ssize_t extra) except -1:
    cdef Py_ssize_t cap = o.cap * 2
    if cap < o.n + extra:
        cap = o.n + extra
    if cap < 4096:
        cap = 4096
    cdef char* q = <char*>realloc(o.p, cap)
    if q == NULL:
        raise MemoryError()
    o.p = q
    o.cap = cap
    return 0


cdef inline int _ob_put(obuf_t* o, const char* s, Py_ssize_t n) except -1:
    if o.n + n > o.cap:
        ob_grow(o, n)
    memcpy(o.p + o.n, s, n)
    o.n += n
    return 0


cdef int write_json_string(obuf_t* o, const char* s, Py_ssize_t n) except -1:
    """s[0:n] (UTF-8) as a JSON string: quote, backslash and control characters escaped."""
    cdef Py_ssize_t i = 0, start
    cdef unsigned char c
    cdef char* d
    while i < n and not _ESCAPE[<uint8_t>s[i]]:
        i += 1
    if i == n:
        ob_reserve(o, n + 2)
        d = o.p + o.n
        d[0] = C_QUOTE
        memcpy(d + 1, s, n)
        d[n + 1] = C_QUOTE
        o.n += n + 2
        return 0
    ob_reserve(o, 6 * n + 2)
    d = o.p + o.n
    d[0] = C_QUOTE
    d += 1
    memcpy(d, s, i)
    d += i
    while i < n:
        start = i
        while i < n and not _ESCAPE[<uint8_t>s[i]]:
            i += 1
        if i > start:
            memcpy(d, s + start, i - start)
            d += i - start
        if i >= n:
            break
        c = <uint8_t>s[i]
        d[0] = C_BSLASH
        if c == C_QUOTE or c == C_BSLASH:
            d[1] = <char>c
            d += 2
        elif c == C_NL:
            d[1] = 110
            d += 2
        elif c == C_CR:
            d[1] = 114
            d += 2
        elif c == C_TAB:
            d[1] = 116
            d += 2
        elif c == 8:
            d[1] = 98
            d += 2
        elif c == 12:
            d[1] = 102
            d += 2
        else:
            d[1] = 117
            d[2] = C_0
            d[3] = C_0
            d[4] = _HEXDIGITS[c >> 4]
            d[5] = _HEXDIGITS[c & 15]
            d += 6
        i += 1
    d[0] = C_QUOTE
    o.n = (d + 1) - o.p
    return 0


def _json_default(obj):
    if isinstance(obj, (_ScaledInteger, _Decimal)):
        return str(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).decode("utf-8", "replace")
    return str(obj)


cdef int _write_pyvalue(obuf_t* o, object v, bint dec_numbers, bint pretty) except -1:
    """One Python value (an OBJECT column cell) as JSON."""
    cdef char buf[SI_FORMAT_BUFSIZE]
    cdef Py_ssize_t k
    cdef bytes b
    cdef double d
    if v is None:
        return _ob_put(o, b"null", 4)
    if v is True:
        return _ob_put(o, b"true", 4)
    if v is False:
        return _ob_put(o, b"false", 5)
    if isinstance(v, str):
        b = (<str>v).encode("utf-8", "surrogatepass")
        return write_json_string(o, b, len(b))
    if isinstance(v, int):
        b = str(int(v)).encode("ascii")
        return _ob_put(o, b, len(b))
    if isinstance(v, float):
        d = v
        if not isfinite(d):
            return _ob_put(o, b"null", 4)
        k = format_double(d, buf)
        return _ob_put(o, buf, k)
    if isinstance(v, (_ScaledInteger, _Decimal)):
        b = str(v).encode("ascii")
        if dec_numbers and (isinstance(v, _ScaledInteger) or v.is_finite()):
            return _ob_put(o, b, len(b))
        return write_json_string(o, b, len(b))
    if isinstance(v, _dt.datetime):
        b = v.isoformat().encode("ascii")
        return write_json_string(o, b, len(b))
    try:
        b = _orjson.dumps(v, default=_json_default,
                          option=_orjson.OPT_NON_STR_KEYS | (_orjson.OPT_INDENT_2 if pretty else 0))
    except TypeError:      # integers beyond 64 bits
        b = _json.dumps(v, default=_json_default, ensure_ascii=False,
                        separators=(",", ": ") if pretty else (",", ":"),
                        indent=2 if pretty else None).encode("utf-8")
    if pretty:
        b = b.replace(b"\n", b"\n  ")
    return _ob_put(o, b, len(b))


ctypedef struct wcol_t:
    int type
    const uint8_t* valid
    const int64_t* i64
    const double* f64
    const uint8_t* b8
    const char* chars
    const int64_t* offs
    int scale
    const uint8_t* rscales      # DECIMAL row scales, or NULL
    const int64_t* w128         # DECIMAL int128 limbs (two per row), or NULL: int64 in i64
    Py_ssize_t kpos
    Py_ssize_t klen


cdef class _Columns:
    """Raw pointers into a batch's columns (the batch stays referenced while they are used)."""
    cdef wcol_t* w
    cdef Py_ssize_t n
    cdef object batch
    cdef list objects

    def __cinit__(self):
        self.w = NULL

    def __dealloc__(self):
        free(self.w)

    cdef int load(self, RecordBatch batch) except -1:
        cdef Py_ssize_t j
        cdef Column col
        cdef wcol_t* w
        self.batch = batch
        self.n = len(batch.columns)
        self.w = <wcol_t*>calloc(self.n if self.n else 1, sizeof(wcol_t))
        if self.w == NULL:
            raise MemoryError()
        self.objects = [None] * self.n
        for j in range(self.n):
            col = batch.columns[j]
            w = &self.w[j]
            w.type = col.type
            w.valid = col.valid
            if col.type == T_INT64 or col.type == T_TIMESTAMP:
                w.i64 = (<Int64Column>col).values
            elif col.type == T_DECIMAL and dec_is_objects(<DecimalColumn>col):
                self.objects[j] = col.to_pylist()      # exact ScaledInteger objects
                w.type = T_OBJECT
            elif col.type == T_DECIMAL:
                w.i64 = (<DecimalColumn>col).values
                w.w128 = (<DecimalColumn>col).w
                w.scale = (<DecimalColumn>col).scale
                w.rscales = (<DecimalColumn>col).rscales
            elif col.type == T_FLOAT64:
                w.f64 = (<Float64Column>col).values
            elif col.type == T_BOOL:
                w.b8 = (<BoolColumn>col).values
            elif col.type == T_STRING:
                w.chars = (<StringColumn>col).chars
                w.offs = (<StringColumn>col).offs
            elif col.type == T_OBJECT:
                self.objects[j] = (<ObjectColumn>col).values
            elif col.type != T_NULL:
                self.objects[j] = col.to_pylist()
                w.type = T_OBJECT
        return 0


cdef class JsonWriter:
    """The encoding engine behind ``velostream.formats.json.JsonEncoder``."""

    cdef bint dec_numbers
    cdef bint pretty

    def __init__(self, decimals_as_numbers=False, pretty=False):
        self.dec_numbers = bool(decimals_as_numbers)
        self.pretty = bool(pretty)

    def encode(self, RecordBatch batch, bint rows=False):
        """The batch as JSON objects: one bytes per row (rows=True), else all rows each followed
        by a newline."""
        cdef _Columns cols = _Columns()
        cdef obuf_t o
        cdef Py_ssize_t r, j, k, nrows = batch.length, start
        cdef wcol_t* w
        cdef si_t v
        cdef const char* keys
        cdef list out = [] if rows else None
        cdef bint dec_numbers = self.dec_numbers, pretty = self.pretty
        cdef double d
        cols.load(batch)
        parts = []
        pos = 0
        for j in range(cols.n):
            key = _orjson.dumps(batch.names[j])
            if pretty:
                key = (b"\n  " if j == 0 else b",\n  ") + key + b": "
            else:
                key = (b"" if j == 0 else b",") + key + b":"
            cols.w[j].kpos = pos
            cols.w[j].klen = len(key)
            pos += len(key)
            parts.append(key)
        keyblob = b"".join(parts)
        keys = keyblob
        close = b"\n}" if (pretty and cols.n) else b"}"
        o.p = NULL
        o.n = 0
        o.cap = 0
        try:
            ob_grow(&o, nrows * (16 + 24 * cols.n) if nrows else 64)
            for r in range(nrows):
                start = o.n
                _ob_put(&o, b"{", 1)
                for j in range(cols.n):
                    w = &cols.w[j]
                    _ob_put(&o, keys + w.kpos, w.klen)
                    if w.valid != NULL and w.valid[r] == 0:
                        _ob_put(&o, b"null", 4)
                        continue
                    ob_reserve(&o, SI_FORMAT_BUFSIZE + 2)
                    if w.type == T_INT64:
                        o.n += format_int64(w.i64[r], o.p + o.n)
                    elif w.type == T_STRING:
                        write_json_string(&o, w.chars + w.offs[r], w.offs[r + 1] - w.offs[r])
                    elif w.type == T_DECIMAL and w.w128 != NULL:
                        k = 0 if dec_numbers else 1
                        k += vs_fmt128(vs_ld128(w.w128, r), w.scale,
                                       w.scale if w.rscales == NULL else w.rscales[r],
                                       o.p + o.n + k)
                        if not dec_numbers:
                            o.p[o.n] = C_QUOTE
                            o.p[o.n + k] = C_QUOTE
                            k += 1
                        o.n += k
                    elif w.type == T_DECIMAL:
                        v = dec_at(w.i64, w.rscales, w.scale, r)
                        if dec_numbers:
                            o.n += si_format(v, o.p + o.n)
                        else:
                            o.p[o.n] = C_QUOTE
                            k = si_format(v, o.p + o.n + 1)
                            o.p[o.n + 1 + k] = C_QUOTE
                            o.n += k + 2
                    elif w.type == T_FLOAT64:
                        d = w.f64[r]
                        if isfinite(d):
                            o.n += format_double(d, o.p + o.n)
                        else:
                            _ob_put(&o, b"null", 4)
                    elif w.type == T_BOOL:
                        if w.b8[r]:
                            _ob_put(&o, b"true", 4)
                        else:
                            _ob_put(&o, b"false", 5)
                    elif w.type == T_TIMESTAMP:
                        o.p[o.n] = C_QUOTE
                        k = format_timestamp(w.i64[r], o.p + o.n + 1)
                        o.p[o.n + 1 + k] = C_QUOTE
                        o.n += k + 2
                    elif w.type == T_OBJECT:
                        _write_pyvalue(&o, cols.objects[j][r], dec_numbers, pretty)
                    else:
                        _ob_put(&o, b"null", 4)
                _ob_put(&o, close, len(close))
                if rows:
                    out.append(PyBytes_FromStringAndSize(o.p + start, o.n - start))
                    o.n = start
                else:
                    _ob_put(&o, b"\n", 1)
            if rows:
                return out
            return PyBytes_FromStringAndSize(o.p, o.n) if o.n else b""
        finally:
            free(o.p)
