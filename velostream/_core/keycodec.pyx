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

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.string cimport memcpy

import datetime as _dt
import decimal as _decimal

from velostream._core.batch import timestamp_to_datetime
from velostream._core.decimal cimport ScaledInteger

KEY_CODEC_VERSION = 1

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

cdef object _EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
cdef object _MS = _dt.timedelta(milliseconds=1)
cdef object _UTC = _dt.timezone.utc
cdef int64_t _INT64_MIN = -9223372036854775807 - 1
cdef int64_t _INT64_MAX = 9223372036854775807


cdef inline void _put_u64(bytearray out, uint64_t u):
    cdef char buf[8]
    cdef int i
    for i in range(8):
        buf[7 - i] = <char>(u & 0xFF)
        u >>= 8
    out += PyBytes_FromStringAndSize(buf, 8)


cdef inline uint64_t _get_u64(const uint8_t* p) noexcept:
    cdef uint64_t u = 0
    cdef int i
    for i in range(8):
        u = (u << 8) | p[i]
    return u


cdef inline void _put_int64(bytearray out, int64_t v):
    _put_u64(out, (<uint64_t>v) ^ 0x8000000000000000ULL)


cdef void _put_escaped(bytearray out, bytes data):
    cdef const char* p = PyBytes_AS_STRING(data)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data), i, start = 0
    for i in range(n):
        if p[i] == 0:
            out += data[start:i + 1]
            out.append(0xFF)
            start = i + 1
    out += data[start:] if start else data
    out.append(0x00)
    out.append(0x01)


cdef void _put_double(bytearray out, double d):
    cdef uint64_t u
    if d != d:
        d = float("nan")            # one NaN: the positive quiet NaN
    elif d == 0.0:
        d = 0.0                     # -0.0 ties 0.0
    memcpy(&u, &d, 8)
    if u >> 63:
        u = ~u
    else:
        u ^= 0x8000000000000000ULL
    out.append(T_FLOAT)
    _put_u64(out, u)


cdef void _put_bigint(bytearray out, object v):
    cdef bytes mag
    cdef Py_ssize_t n
    if v < 0:
        mag = (-v).to_bytes(((-v).bit_length() + 7) // 8, "big")
        n = len(mag)
        if n > 255:
            raise OverflowError("an integer key wider than 255 bytes")
        out.append(T_INT_NEG_BIG)
        out.append(255 - n)
        out += bytes([255 - b for b in mag])
    else:
        mag = v.to_bytes((v.bit_length() + 7) // 8, "big")
        n = len(mag)
        if n > 255:
            raise OverflowError("an integer key wider than 255 bytes")
        out.append(T_INT_POS_BIG)
        out.append(n)
        out += mag


cdef void _put_decimal(bytearray out, object mantissa, int scale):
    """``mantissa / 10**scale`` by value (see the module docstring)."""
    cdef bint negative
    cdef bytes digits
    cdef Py_ssize_t n, i
    cdef int exponent, pair
    cdef bytearray body
    if mantissa == 0:
        out.append(T_DEC_ZERO)
        return
    negative = mantissa < 0
    digits = str(-mantissa if negative else mantissa).encode("ascii")
    n = len(digits)
    exponent = <int>n - scale
    digits = digits.rstrip(b"0")
    if scale - (n - len(digits)) > 38:
        raise ValueError("a DECIMAL key has at most 38 digits after the point")
    n = len(digits)
    if not -0x8000 <= exponent < 0x8000:
        raise OverflowError("a DECIMAL key out of range")
    body = bytearray()
    body.append(((exponent + 0x8000) >> 8) & 0xFF)
    body.append((exponent + 0x8000) & 0xFF)
    i = 0
    while i < n:
        pair = (digits[i] - 48) * 10 + ((digits[i + 1] - 48) if i + 1 < n else 0)
        body.append(pair + 1)
        i += 2
    body.append(0)
    if negative:
        out.append(T_DEC_NEG)
        for i in range(len(body)):
            body[i] = 255 - body[i]
    else:
        out.append(T_DEC_POS)
    out += body


cdef int64_t _datetime_ms(object v) except? -1:
    if v.tzinfo is None:
        v = v.replace(tzinfo=_UTC)
    return (v - _EPOCH) // _MS


cdef void _put_value(bytearray out, object v):
    cdef type t = type(v)
    cdef ScaledInteger si
    if v is None:
        out.append(T_NULL)
    elif t is bool:
        out.append(T_TRUE if v else T_FALSE)
    elif t is int:
        if _INT64_MIN <= v <= _INT64_MAX:
            out.append(T_INT)
            _put_int64(out, <int64_t>v)
        else:
            _put_bigint(out, v)
    elif t is float:
        _put_double(out, <double>v)
    elif t is str:
        out.append(T_STRING)
        _put_escaped(out, (<str>v).encode("utf-8"))
    elif t is bytes or t is bytearray or t is memoryview:
        out.append(T_BYTES)
        _put_escaped(out, bytes(v))
    elif t is ScaledInteger:
        si = <ScaledInteger>v
        _put_decimal(out, si.mantissa, si.scale)
    elif isinstance(v, _decimal.Decimal):
        if not v.is_finite():
            raise ValueError(f"a DECIMAL key must be finite; got {v}")
        sign, digits, exp = v.as_tuple()
        m = int("".join(map(str, digits)) or "0")
        if exp > 0:
            m *= 10 ** exp
            exp = 0
        _put_decimal(out, -m if sign else m, -exp)
    elif isinstance(v, _dt.datetime):
        out.append(T_TIMESTAMP)
        _put_int64(out, _datetime_ms(v))
    elif isinstance(v, bool):
        out.append(T_TRUE if v else T_FALSE)
    elif isinstance(v, int):
        _put_value(out, int(v))
    elif isinstance(v, float):
        _put_double(out, <double>v)
    elif isinstance(v, str):
        out.append(T_STRING)
        _put_escaped(out, str(v).encode("utf-8"))
    else:
        raise TypeError(f"a state key cannot hold a {t.__name__} value ({v!r})")


def encode_key(values, bytes prefix=b""):
    """The order-preserving key of the tuple ``values`` (any iterable), after ``prefix``."""
    cdef bytearray out = bytearray(prefix)
    for v in values:
        _put_value(out, v)
    return bytes(out)


def encode_value(v, bytes prefix=b""):
    """The key of the one-field tuple ``(v,)``."""
    cdef bytearray out = bytearray(prefix)
    _put_value(out, v)
    return bytes(out)


def encode_int64(int64_t v, bytes prefix=b""):
    """``encode_key((v,))`` for a BIGINT without the Python dispatch."""
    cdef bytearray out = bytearray(prefix)
    out.append(T_INT)
    _put_int64(out, v)
    return bytes(out)


def encode_timestamp(int64_t ms, bytes prefix=b""):
    """The key field of a TIMESTAMP given as epoch milliseconds (window bounds)."""
    cdef bytearray out = bytearray(prefix)
    out.append(T_TIMESTAMP)
    _put_int64(out, ms)
    return bytes(out)


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
