# cython: language_level=3
"""Order-preserving state keys: tuples of SQL values encoded so that byte order is value order.

A state table's range scans come back in key byte order (``state/store.py``); operators encode
their keys here so that scans are in value order — all windows of a group key in window order,
every group in group-key order. ``encode_key(values, prefix=b"")`` encodes a tuple,
``decode_key(key, start=0)`` gives it back; the encoding of a tuple is the concatenation of its
fields' encodings, so ``encode_key(t[:k])`` is a prefix of ``encode_key(t)`` (a prefix scan finds
every key extending a partial tuple) and a shorter tuple sorts before its extensions, as Python
tuples do. ``prefix`` (an operator or table prefix, raw bytes) is prepended unchanged.

Layout: each field is a tag byte and a payload; fields of different kinds sort by tag.

=====  =====================================================================================
tag    payload
=====  =====================================================================================
0x01   NULL (no payload): sorts first
0x02   FALSE, 0x03 TRUE (no payload)
0x10   an int below int64: ``~len`` (1 byte) + the complemented big-endian magnitude
0x11   an int64 (BIGINT): 8 bytes big-endian, sign bit flipped
0x12   an int above int64: ``len`` (1 byte) + the big-endian magnitude
0x20   a negative DECIMAL, 0x21 DECIMAL zero, 0x22 a positive DECIMAL (see below)
0x30   a DOUBLE: the IEEE bits big-endian, all flipped for negatives, sign flipped for the
       rest; -0.0 is written as 0.0 and every NaN as one NaN (above +inf)
0x40   a TIMESTAMP: epoch milliseconds as an int64 (aware datetimes by their UTC instant,
       naive ones read as UTC; decoded as the datetime ``batch.timestamp_to_datetime`` gives)
0x50   a STRING: UTF-8 with 0x00 escaped as 0x00 0xFF, then the terminator 0x00 0x01
0x51   BYTES, escaped and terminated the same way
=====  =====================================================================================

A DECIMAL (``ScaledInteger`` of any width, ``decimal.Decimal``) is written by value, so equal
values at different scales encode alike (``12.5`` = ``12.50``; it decodes at its smallest scale,
as a ``ScaledInteger``). With the trailing zeros stripped the value is ``0.d1d2…dn × 10**E``
(``d1`` ≠ 0): ``E`` is 2 bytes big-endian (+0x8000), then the digits two per byte (``pair + 1``,
a last odd digit padded with 0) and a 0x00 terminator, so a longer digit string with the same
start is larger. A negative DECIMAL writes the same bytes complemented (the terminator becomes
0xFF), which reverses their order. Wide values are exact: ``E`` covers 1,000-digit mantissas.

Ints, DECIMALs and DOUBLEs are different kinds here (a key column has one type); within a kind
the order is the SQL order. ``KEY_CODEC_VERSION`` versions the layout (checkpoint manifests).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.string cimport memcpy

import datetime as _dt
import decimal as _decimal

from velostream._core.batch cimport datetime_to_epoch_ms
from velostream._core.batch import timestamp_to_datetime
from velostream._core.decimal cimport ScaledInteger
from velostream._core.keycodec cimport buf_byte, buf_bytes, buf_t, buf_u64_be, buf_write

KEY_CODEC_VERSION = 1

cdef enum:
    T_NULL = 0x01
    T_FALSE = 0x02
    T_TRUE = 0x03
    T_INT_NEG_BIG = 0x10
    T_INT = 0x11
    T_INT_POS_BIG = 0x12
    T_DEC_NEG = 0x20
    T_DEC_ZERO = 0x21
    T_DEC_POS = 0x22
    T_FLOAT = 0x30
    T_TIMESTAMP = 0x40
    T_STRING = 0x50
    T_BYTES = 0x51


cdef buf_t _buf          # reused by every encode (the GIL serialises them)


cdef inline uint64_t _get_u64(const uint8_t* p) noexcept:
    cdef uint64_t u = 0
    cdef int i
    for i in range(8):
        u = (u << 8) | p[i]
    return u


cdef inline int _put_int64(buf_t* out, uint8_t tag, int64_t v) except -1:
    buf_byte(out, tag)
    return buf_u64_be(out, (<uint64_t>v) ^ 0x8000000000000000ULL)


cdef int _put_escaped(buf_t* out, uint8_t tag, const char* p, Py_ssize_t n) except -1:
    cdef Py_ssize_t i, start = 0
    buf_byte(out, tag)
    for i in range(n):
        if p[i] == 0:
            buf_write(out, p + start, i + 1 - start)
            buf_byte(out, 0xFF)
            start = i + 1
    buf_write(out, p + start, n - start)
    buf_byte(out, 0x00)
    return buf_byte(out, 0x01)


cdef int _put_double(buf_t* out, double d) except -1:
    cdef uint64_t u
    if d != d:
        u = 0x7FF8000000000000ULL       # one NaN: the positive quiet NaN
    elif d == 0.0:
        u = 0                           # -0.0 ties 0.0
    else:
        memcpy(&u, &d, 8)
    if u >> 63:
        u = ~u
    else:
        u ^= 0x8000000000000000ULL
    buf_byte(out, T_FLOAT)
    return buf_u64_be(out, u)


cdef int _put_bigint(buf_t* out, object v) except -1:
    cdef bytes mag
    cdef Py_ssize_t n, i
    cdef bint negative = v < 0
    if negative:
        v = -v
    mag = v.to_bytes((v.bit_length() + 7) // 8, "big")
    n = len(mag)
    if n > 255:
        raise OverflowError("an integer key wider than 255 bytes")
    if negative:
        buf_byte(out, T_INT_NEG_BIG)
        buf_byte(out, 255 - n)
        for i in range(n):
            buf_byte(out, 255 - <uint8_t>mag[i])
    else:
        buf_byte(out, T_INT_POS_BIG)
        buf_byte(out, n)
        buf_write(out, PyBytes_AS_STRING(mag), n)
    return 0


cdef int _put_decimal(buf_t* out, object mantissa, int scale) except -1:
    """``mantissa / 10**scale`` by value (see the module docstring)."""
    cdef bint negative
    cdef bytes digits
    cdef const char* d
    cdef Py_ssize_t n, i, stripped
    cdef int exponent, pair
    cdef uint8_t flip
    if mantissa == 0:
        return buf_byte(out, T_DEC_ZERO)
    negative = mantissa < 0
    digits = str(-mantissa if negative else mantissa).encode("ascii")
    d = PyBytes_AS_STRING(digits)
    n = len(digits)
    exponent = <int>n - scale
    stripped = n
    while d[stripped - 1] == 48:
        stripped -= 1
    if scale - (n - stripped) > 38:
        raise ValueError("a DECIMAL key has at most 38 digits after the point")
    if not -0x8000 <= exponent < 0x8000:
        raise OverflowError("a DECIMAL key out of range")
    flip = 0xFF if negative else 0
    buf_byte(out, T_DEC_NEG if negative else T_DEC_POS)
    buf_byte(out, (((exponent + 0x8000) >> 8) & 0xFF) ^ flip)
    buf_byte(out, ((exponent + 0x8000) & 0xFF) ^ flip)
    i = 0
    while i < stripped:
        pair = (d[i] - 48) * 10 + ((d[i + 1] - 48) if i + 1 < stripped else 0)
        buf_byte(out, (pair + 1) ^ flip)
        i += 2
    return buf_byte(out, flip)


cdef int _put_value(buf_t* out, object v) except -1:
    cdef type t = type(v)
    cdef ScaledInteger si
    cdef int overflow = 0
    cdef long long x
    cdef const char* p
    cdef Py_ssize_t n
    if v is None:
        return buf_byte(out, T_NULL)
    if t is str:
        p = PyUnicode_AsUTF8AndSize(v, &n)
        return _put_escaped(out, T_STRING, p, n)
    if t is int:
        x = PyLong_AsLongLongAndOverflow(v, &overflow)
        if overflow:
            return _put_bigint(out, v)
        return _put_int64(out, T_INT, x)
    if t is float:
        return _put_double(out, PyFloat_AS_DOUBLE(v))
    if t is bool:
        return buf_byte(out, T_TRUE if v else T_FALSE)
    if t is ScaledInteger:
        si = <ScaledInteger>v
        return _put_decimal(out, si.mantissa, si.scale)
    if t is bytes:
        return _put_escaped(out, T_BYTES, PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v))
    if t is bytearray or t is memoryview:
        v = bytes(v)
        return _put_escaped(out, T_BYTES, PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v))
    if isinstance(v, _decimal.Decimal):
        if not v.is_finite():
            raise ValueError(f"a DECIMAL key must be finite; got {v}")
        sign, digits, exp = v.as_tuple()
        m = int("".join(map(str, digits)) or "0")
        if exp > 0:
            m *= 10 ** exp
            exp = 0
        return _put_decimal(out, -m if sign else m, -exp)
    if isinstance(v, _dt.datetime):
        return _put_int64(out, T_TIMESTAMP, datetime_to_epoch_ms(v))
    if isinstance(v, bool):
        return buf_byte(out, T_TRUE if v else T_FALSE)
    if isinstance(v, int):
        return _put_value(out, int(v))
    if isinstance(v, float):
        return _put_double(out, <double>v)
    if isinstance(v, str):
        return _put_value(out, str(v))
    raise TypeError(f"a state key cannot hold a {t.__name__} value ({v!r})")


cdef inline int _start(bytes prefix) except -1:
    _buf.n = 0
    return buf_write(&_buf, PyBytes_AS_STRING(prefix), PyBytes_GET_SIZE(prefix))


def encode_key(values, bytes prefix=b""):
    """The order-preserving key of the tuple ``values`` (any iterable), after ``prefix``."""
    _start(prefix)
    if type(values) is tuple:
        for v in <tuple>values:
            _put_value(&_buf, v)
    else:
        for v in values:
            _put_value(&_buf, v)
    return buf_bytes(&_buf)


def encode_value(v, bytes prefix=b""):
    """The key of the one-field tuple ``(v,)``."""
    _start(prefix)
    _put_value(&_buf, v)
    return buf_bytes(&_buf)


def encode_int64(int64_t v, bytes prefix=b""):
    """``encode_key((v,))`` for a BIGINT without the Python dispatch."""
    _start(prefix)
    _put_int64(&_buf, T_INT, v)
    return buf_bytes(&_buf)


def encode_timestamp(int64_t ms, bytes prefix=b""):
    """The key field of a TIMESTAMP given as epoch milliseconds (window bounds)."""
    _start(prefix)
    _put_int64(&_buf, T_TIMESTAMP, ms)
    return buf_bytes(&_buf)


# ---------------------------------------------------------------------------------- decoding
cdef Py_ssize_t _end_of_escaped(const uint8_t* p, Py_ssize_t i, Py_ssize_t n) except -1:
    while i + 1 < n:
        if p[i] == 0:
            if p[i + 1] == 1:
                return i
            i += 2
        else:
            i += 1
    raise ValueError("a state key string is not terminated")


cdef bytes _unescape(bytes key, Py_ssize_t start, Py_ssize_t end):
    return key[start:end].replace(b"\x00\xff", b"\x00")


def decode_key(bytes key, Py_ssize_t start=0):
    """The tuple ``encode_key`` wrote at ``key[start:]`` (a ValueError when it is malformed)."""
    cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(key)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(key), i = start, end, length, j
    cdef uint8_t tag
    cdef uint64_t u
    cdef double d
    cdef int exponent
    cdef list out = []
    cdef bytearray body
    while i < n:
        tag = p[i]
        i += 1
        if tag == T_NULL:
            out.append(None)
        elif tag == T_FALSE or tag == T_TRUE:
            out.append(tag == T_TRUE)
        elif tag == T_INT or tag == T_TIMESTAMP:
            if i + 8 > n:
                raise ValueError("a truncated state key")
            v = <int64_t>(_get_u64(p + i) ^ 0x8000000000000000ULL)
            out.append(timestamp_to_datetime(v) if tag == T_TIMESTAMP else v)
            i += 8
        elif tag == T_FLOAT:
            if i + 8 > n:
                raise ValueError("a truncated state key")
            u = _get_u64(p + i)
            u = u ^ 0x8000000000000000ULL if u >> 63 else ~u
            memcpy(&d, &u, 8)
            out.append(d)
            i += 8
        elif tag == T_INT_POS_BIG or tag == T_INT_NEG_BIG:
            if i >= n:
                raise ValueError("a truncated state key")
            length = p[i] if tag == T_INT_POS_BIG else 255 - p[i]
            i += 1
            if i + length > n:
                raise ValueError("a truncated state key")
            mag = key[i:i + length]
            if tag == T_INT_NEG_BIG:
                out.append(-int.from_bytes(bytes([255 - b for b in mag]), "big"))
            else:
                out.append(int.from_bytes(mag, "big"))
            i += length
        elif tag == T_DEC_ZERO:
            out.append(ScaledInteger.from_parts(0, 0))
        elif tag == T_DEC_POS or tag == T_DEC_NEG:
            terminator = 0 if tag == T_DEC_POS else 255
            j = i + 2
            while j < n and p[j] != terminator:
                j += 1
            if j >= n:
                raise ValueError("a truncated state key")
            body = bytearray(key[i:j])
            if tag == T_DEC_NEG:
                for k in range(len(body)):
                    body[k] = 255 - body[k]
            exponent = ((body[0] << 8) | body[1]) - 0x8000
            digits = "".join("%02d" % (b - 1) for b in body[2:]).rstrip("0")
            mantissa = int(digits)
            scale = len(digits) - exponent
            if scale < 0:
                mantissa *= 10 ** (-scale)
                scale = 0
            out.append(ScaledInteger.from_parts(-mantissa if tag == T_DEC_NEG else mantissa,
                                                scale))
            i = j + 1
        elif tag == T_STRING or tag == T_BYTES:
            end = _end_of_escaped(p, i, n)
            raw = _unescape(key, i, end)
            out.append(raw.decode("utf-8") if tag == T_STRING else raw)
            i = end + 2
        else:
            raise ValueError(f"not a state key: tag 0x{tag:02x} at byte {i - 1}")
    return tuple(out)
