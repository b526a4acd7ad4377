# cython: language_level=3
"""The compact binary encoding of state values: accumulator states and held rows.

``encode_values(values)`` writes a tuple of SQL values (and nested tuples / lists / dicts, for
accumulator states such as ``(count, mean, m2)`` or a window's buffered rows) as one ``bytes``;
``decode_values(data)`` gives the tuple back — exact: DECIMALs keep their scale and any width,
ints any size, doubles their bits, TIMESTAMPs their millisecond.

Format: a version byte (``VALUE_CODEC_VERSION``), then per value a tag byte and its payload:
NULL / FALSE / TRUE (none); an int64 as a zigzag varint (1 byte up to ±63); a wider int as
sign + varint length + magnitude; a DOUBLE as 8 bytes little-endian; a DECIMAL as its scale byte
+ a zigzag-varint mantissa (wider mantissas as sign + length + magnitude); a STRING / BYTES as
varint length + bytes; a TIMESTAMP as zigzag-varint epoch ms; a tuple / list / dict as a varint
count and its items (a dict's keys and values alternate).

Why not JSON (orjson): JSON has no DECIMAL (text it would then re-parse), no int past 64 bits in
orjson, no bytes, no timestamps and no tuples, so each of those would need a wrapper object and a
second pass; and for the numbers accumulators are made of the binary form is smaller (a count
of 1..63 is 2 bytes with its tag; a double is 9 bytes against up to 24 characters) and needs no
float parsing. ``perf/bench_state.py`` measures both.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.string cimport memcpy

import datetime as _dt

from velostream._core.batch import timestamp_to_datetime
from velostream._core.decimal cimport ScaledInteger

VALUE_CODEC_VERSION = 1

cdef enum:
    V_NULL = 0
    V_FALSE = 1
    V_TRUE = 2
    V_INT = 3
    V_BIGINT = 4
    V_FLOAT = 5
    V_DECIMAL = 6
    V_WIDE_DECIMAL = 7
    V_STRING = 8
    V_BYTES = 9
    V_TIMESTAMP = 10
    V_TUPLE = 11
    V_LIST = 12
    V_DICT = 13

cdef object _EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
cdef object _MS = _dt.timedelta(milliseconds=1)
cdef object _UTC = _dt.timezone.utc
cdef object _INT64_MIN = -(2 ** 63)
cdef object _INT64_MAX = 2 ** 63 - 1


cdef inline void _varint(bytearray out, uint64_t u):
    cdef char buf[10]
    cdef int n = 0
    while u >= 0x80:
        buf[n] = <char>((u & 0x7F) | 0x80)
        u >>= 7
        n += 1
    buf[n] = <char>u
    out += PyBytes_FromStringAndSize(buf, n + 1)


cdef inline void _zigzag(bytearray out, int64_t v):
    _varint(out, ((<uint64_t>v) << 1) ^ (<uint64_t>(v >> 63)))


cdef void _magnitude(bytearray out, object v):
    out.append(1 if v < 0 else 0)
    mag = -v if v < 0 else v
    data = mag.to_bytes((mag.bit_length() + 7) // 8, "little")
    _varint(out, len(data))
    out += data


cdef void _put(bytearray out, object v) except *:
    cdef type t = type(v)
    cdef double d
    cdef char buf[8]
    cdef ScaledInteger si
    cdef bytes raw
    if v is None:
        out.append(V_NULL)
    elif t is bool:
        out.append(V_TRUE if v else V_FALSE)
    elif t is int:
        if _INT64_MIN <= v <= _INT64_MAX:
            out.append(V_INT)
            _zigzag(out, <int64_t>v)
        else:
            out.append(V_BIGINT)
            _magnitude(out, v)
    elif t is float:
        d = v
        memcpy(buf, &d, 8)          # little-endian on every platform velostream builds for
        out.append(V_FLOAT)
        out += PyBytes_FromStringAndSize(buf, 8)
    elif t is str:
        raw = (<str>v).encode("utf-8")
        out.append(V_STRING)
        _varint(out, len(raw))
        out += raw
    elif t is ScaledInteger:
        si = <ScaledInteger>v
        m = si.mantissa
        if _INT64_MIN <= m <= _INT64_MAX:
            out.append(V_DECIMAL)
            out.append(si.scale)
            _zigzag(out, <int64_t>m)
        else:
            out.append(V_WIDE_DECIMAL)
            out.append(si.scale)
            _magnitude(out, m)
    elif t is tuple or t is list:
        out.append(V_TUPLE if t is tuple else V_LIST)
        _varint(out, len(v))
        for item in v:
            _put(out, item)
    elif t is dict:
        out.append(V_DICT)
        _varint(out, len(v))
        for key, item in (<dict>v).items():
            _put(out, key)
            _put(out, item)
    elif t is bytes or t is bytearray:
        out.append(V_BYTES)
        _varint(out, len(v))
        out += v
    elif isinstance(v, _dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=_UTC)
        out.append(V_TIMESTAMP)
        _zigzag(out, (v - _EPOCH) // _MS)
    else:
        raise TypeError(f"a state value cannot hold a {t.__name__} ({v!r})")


def encode_values(values):
    """The bytes of the tuple ``values`` (any sequence; decoded as a tuple)."""
    cdef bytearray out = bytearray()
    out.append(VALUE_CODEC_VERSION)
    for v in values:
        _put(out, v)
    return bytes(out)


cdef class _Reader:
    cdef const uint8_t* p
    cdef Py_ssize_t i, n
    cdef bytes data

    cdef inline uint8_t byte(self) except? 0:
        if self.i >= self.n:
            raise ValueError("a truncated state value")
        self.i += 1
        return self.p[self.i - 1]

    cdef uint64_t varint(self) except? 0:
        cdef uint64_t u = 0
        cdef int shift = 0
        cdef uint8_t b
        while True:
            b = self.byte()
            u |= (<uint64_t>(b & 0x7F)) << shift
            if b < 0x80:
                return u
            shift += 7
            if shift > 63:
                raise ValueError("a malformed state value (varint)")

    cdef int64_t zigzag(self) except? -1:
        cdef uint64_t u = self.varint()
        return <int64_t>((u >> 1) ^ (-(u & 1)))

    cdef bytes take(self, Py_ssize_t k):
        if k < 0 or self.i + k > self.n:
            raise ValueError("a truncated state value")
        self.i += k
        return self.data[self.i - k:self.i]

    cdef object magnitude(self):
        negative = self.byte()
        mag = int.from_bytes(self.take(<Py_ssize_t>self.varint()), "little")
        return -mag if negative else mag

    cdef object value(self):
        cdef uint8_t tag = self.byte()
        cdef double d
        cdef Py_ssize_t count
        cdef int scale
        if tag == V_NULL:
            return None
        if tag == V_FALSE:
            return False
        if tag == V_TRUE:
            return True
        if tag == V_INT:
            return self.zigzag()
        if tag == V_BIGINT:
            return self.magnitude()
        if tag == V_FLOAT:
            if self.i + 8 > self.n:
                raise ValueError("a truncated state value")
            memcpy(&d, self.p + self.i, 8)
            self.i += 8
            return d
        if tag == V_STRING:
            return self.take(<Py_ssize_t>self.varint()).decode("utf-8")
        if tag == V_BYTES:
            return self.take(<Py_ssize_t>self.varint())
        if tag == V_DECIMAL:
            scale = self.byte()
            return ScaledInteger.from_parts(self.zigzag(), scale)
        if tag == V_WIDE_DECIMAL:
            scale = self.byte()
            return ScaledInteger.from_parts(self.magnitude(), scale)
        if tag == V_TIMESTAMP:
            return timestamp_to_datetime(self.zigzag())
        if tag == V_TUPLE or tag == V_LIST:
            count = <Py_ssize_t>self.varint()
            items = [self.value() for _ in range(count)]
            return tuple(items) if tag == V_TUPLE else items
        if tag == V_DICT:
            count = <Py_ssize_t>self.varint()
            out = {}
            for _ in range(count):
                key = self.value()
                out[key] = self.value()
            return out
        raise ValueError(f"a malformed state value (tag {tag} at byte {self.i - 1})")


def decode_values(bytes data):
    """The tuple ``encode_values`` wrote (a ValueError when ``data`` is not one)."""
    cdef _Reader r = _Reader()
    r.data = data
    r.p = <const uint8_t*>PyBytes_AS_STRING(data)
    r.n = PyBytes_GET_SIZE(data)
    r.i = 0
    if r.n == 0 or r.p[0] != VALUE_CODEC_VERSION:
        raise ValueError(f"not a state value of codec version {VALUE_CODEC_VERSION}")
    r.i = 1
    out = []
    while r.i < r.n:
        out.append(r.value())
    return tuple(out)
