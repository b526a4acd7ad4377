# cython: language_level=3
"""C-level API of the text decoders: column builders shared by the JSON and CSV scanners.

A ``colbuf_t`` collects one column of a batch while a scanner walks the input bytes. Every row
has a one-byte *tag* (what kind of value it holds, 0 = NULL, so a field missing from a record
costs nothing), an ``int64`` slot (integer, decimal mantissa, bool, epoch ms or the bits of a
double) and, for values whose text is kept (strings, numbers too big for 64 bits, every CSV
field), an end offset into the column's byte buffer ``sbuf``. Texts are appended in row order,
so a STRING column's Arrow offsets are rebuilt in one pass at the end.

Types are decided per batch by ``cb_finish`` (DIALECT §3): a column whose rows all have one kind
becomes the matching typed column; ints and decimals unify to DECIMAL at the largest scale;
anything that cannot be held exactly in one typed column becomes an OBJECT column (JSON) or a
STRING column of the original texts (CSV). Python objects are only built in those cases.

``cb_begin`` must precede each value written for ``row``; a second value for the same row (a
duplicate JSON key) replaces the first, and ``cb_undo_row`` forgets a row of a malformed record.
"""

from libc.stdint cimport int64_t, uint8_t, uint64_t

cdef enum:
    TG_NULL = 0
    TG_BOOL = 1
    TG_INT = 2
    TG_DEC = 3         # mantissa in vals, scale in scales
    TG_DBL = 4         # the double's bits in vals
    TG_STR = 5
    TG_BIGINT = 6      # an integer beyond int64: its text
    TG_BIGDEC = 7      # a decimal beyond an int64 mantissa or scale 38: its text
    TG_OBJ = 8         # a Python object (nested JSON value) in the column's objs dict
    TG_TS = 9          # epoch milliseconds (declared TIMESTAMP)
    TG_KIND = 0x7F
    TG_TEXT = 0x80     # flag: the row's text is in sbuf, ending at ends[row]

# Declared column types (``declared={"price": "DECIMAL(18,4)"}``).
cdef enum:
    D_NONE = 0
    D_DECIMAL = 1
    D_DOUBLE = 2
    D_BIGINT = 3
    D_STRING = 4
    D_BOOLEAN = 5
    D_TIMESTAMP = 6

# Results of the put functions (besides raising MemoryError).
cdef enum:
    P_OK = 0
    P_BAD = 1          # the value is not valid for the declared type
    P_RANGE = 2        # the value does not fit the declared type (precision, int64)
    P_LIMIT = 3        # beyond what Python can hold: an integer of more than INT_MAX_DIGITS

# Offset of the first byte of s[0:n] that is not valid UTF-8, or -1.
cdef Py_ssize_t utf8_error_at(const unsigned char* s, Py_ssize_t n) noexcept nogil
# An integer text longer than sys.get_int_max_str_digits() (at import), which int() refuses.
cdef bint too_many_digits(Py_ssize_t n, const char* text) noexcept nogil

ctypedef struct numinfo_t:
    uint64_t mag       # all digits (integer and fraction) as one integer, if not ovf
    bint neg
    bint ovf           # more than 2**63: does not fit an int64 mantissa
    bint has_frac
    bint has_exp
    int frac           # digits after the point

ctypedef struct colbuf_t:
    char* name         # spelling of the data (UTF-8), malloc'd
    Py_ssize_t name_len
    char* lname        # str.lower() of the name (UTF-8), malloc'd
    Py_ssize_t lname_len
    bint named         # name taken from the data (else the requested spelling)
    int declared       # D_*
    int dprec          # declared precision, -1 if none
    int dscale         # declared scale, -1 if none
    Py_ssize_t created_row
    Py_ssize_t cap
    uint8_t* tags      # cap bytes, zeroed: NULL
    int64_t* vals      # cap slots
    uint8_t* scales    # cap bytes, allocated on the first decimal
    int64_t* ends      # cap slots, allocated on the first text
    char* sbuf
    Py_ssize_t spos
    Py_ssize_t scap
    Py_ssize_t last_row
    Py_ssize_t prev_spos


cdef int cb_init(colbuf_t* c, Py_ssize_t cap, bytes name, bytes lname, int declared,
                 int dprec, int dscale) except -1
cdef void cb_free(colbuf_t* c) noexcept
cdef int cb_set_name(colbuf_t* c, const char* name, Py_ssize_t n) except -1
cdef int cb_grow_rows(colbuf_t* c, Py_ssize_t cap) except -1
cdef int cb_grow_text(colbuf_t* c, Py_ssize_t extra) except -1
cdef void cb_undo_row(colbuf_t* c, Py_ssize_t row) noexcept

# Strict JSON number grammar from p[pos]; returns the end position or -1.
cdef Py_ssize_t scan_number(const unsigned char* p, Py_ssize_t pos, Py_ssize_t end,
                            numinfo_t* ni) noexcept nogil

# A JSON number whose text is text[0:n] (already scanned into ni).
cdef int cb_put_number(colbuf_t* c, Py_ssize_t row, const char* text, Py_ssize_t n,
                       numinfo_t* ni, bint financial) except -1
# A text of n bytes already written at c.sbuf + c.spos. csv: typed by the number/boolean rules
# and kept as text; else (JSON) a string.
cdef int cb_put_text(colbuf_t* c, Py_ssize_t row, Py_ssize_t n, bint csv,
                     bint financial) except -1
cdef int cb_put_bool(colbuf_t* c, Py_ssize_t row, bint v) except -1

# The finished column of n rows. objs: row -> object for TG_OBJ rows (or None).
cdef object cb_finish(colbuf_t* c, Py_ssize_t n, dict objs, bint csv, bint financial)

# "YYYY-MM-DDTHH:MM:SS.mmmZ"; buf >= 40 bytes; returns the length.
cdef Py_ssize_t format_timestamp(int64_t ms, char* buf) noexcept nogil
# Python repr of a double (shortest round-trip) into buf (>= 32 bytes); returns the length.
cdef Py_ssize_t format_double(double v, char* buf) except -1
cdef Py_ssize_t format_int64(int64_t v, char* buf) noexcept nogil


cdef inline void cb_begin(colbuf_t* c, Py_ssize_t row) noexcept nogil:
    if c.last_row == row:
        c.spos = c.prev_spos        # a duplicate key: the last value wins
    else:
        c.last_row = row
        c.prev_spos = c.spos


cdef inline int cb_reserve(colbuf_t* c, Py_ssize_t extra) except -1:
    if c.spos + extra > c.scap:
        return cb_grow_text(c, extra)
    return 0


# --- output buffer shared by the JSON and CSV writers --------------------------------------------

ctypedef struct obuf_t:
    char* p
    Py_ssize_t n
    Py_ssize_t cap

cdef int ob_grow(obuf_t* o, Py_ssize_t extra) except -1


cdef inline int ob_reserve(obuf_t* o, Py_ssize_t extra) except -1:
    if o.n + extra > o.cap:
        return ob_grow(o, extra)
    return 0
