# cython: language_level=3
"""C API of ``textparse``: the one timestamp parser, for decoders that hold the text as bytes.

A status is ``TS_OK`` or the reason the text is not a timestamp (``ts_reason`` words it).
"""

from libc.stdint cimport int64_t

cdef enum:
    TS_OK = 0
    TS_SYNTAX = 1      # not one of the accepted ISO-8601 forms (nor, for ts_parse_text, an integer)
    TS_DATE = 2        # the date does not exist (2023-02-29, month 13)
    TS_TIME = 3        # the time of day does not exist (25:00, 10:61)
    TS_ZONE = 4        # the UTC offset does not exist (+24:00)
    TS_YEARS = 5       # outside years 1..9999 (MIN_EPOCH_MS .. MAX_EPOCH_MS)
    TS_OVERFLOW = 6    # an integer text past int64 milliseconds

# ISO-8601 text s[0:n] → epoch milliseconds in *out (UTC unless an offset is written; fraction
# digits past milliseconds truncated). Surrounding ASCII blanks are ignored.
cdef int ts_parse_iso(const char* s, Py_ssize_t n, int64_t* out) noexcept nogil
# As ts_parse_iso, or else an integer text ([+-]digits) taken as epoch milliseconds.
cdef int ts_parse_text(const char* s, Py_ssize_t n, int64_t* out) noexcept nogil
# The reason of a status, as a Python str ("" for TS_OK).
cdef str ts_reason(int status)
