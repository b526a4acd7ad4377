# cython: language_level=3
"""A growable C byte buffer for the state codecs (``keycodec``, ``valuecodec``): encoders write
into it and make one ``bytes`` at the end, instead of one Python object per field."""

from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.stdlib cimport realloc
from libc.string cimport memcpy


cdef struct buf_t:
    char* data
    Py_ssize_t n
    Py_ssize_t cap


cdef inline int buf_reserve(buf_t* b, Py_ssize_t extra) except -1:
    cdef Py_ssize_t cap
    cdef char* grown
    if b.n + extra <= b.cap:
        return 0
    cap = b.cap * 2 if b.cap else 256
    while cap < b.n + extra:
        cap *= 2
    grown = <char*>realloc(b.data, cap)
    if grown == NULL:
        raise MemoryError()
    b.data, b.cap = grown, cap
    return 0


cdef inline int buf_byte(buf_t* b, unsigned char c) except -1:
    if b.n + 1 > b.cap:
        buf_reserve(b, 1)
    b.data[b.n] = <char>c
    b.n += 1
    return 0


cdef inline int buf_write(buf_t* b, const char* p, Py_ssize_t k) except -1:
    if b.n + k > b.cap:
        buf_reserve(b, k)
    memcpy(b.data + b.n, p, k)
    b.n += k
    return 0


cdef inline int buf_u64_be(buf_t* b, unsigned long long u) except -1:
    cdef int i
    if b.n + 8 > b.cap:
        buf_reserve(b, 8)
    for i in range(8):
        b.data[b.n + 7 - i] = <char>(u & 0xFF)
        u >>= 8
    b.n += 8
    return 0


cdef inline bytes buf_bytes(buf_t* b):
    return PyBytes_FromStringAndSize(b.data, b.n)
