# cython: language_level=3
"""CSV (RFC 4180) decoding into typed columns and encoding from them.

One pass over the bytes: quoted fields (``""`` escapes, embedded delimiters and newlines) and
unquoted fields are copied straight into the column builders of ``jsoncodec.pxd``, which type
each field by the JSON text rules (strict JSON numbers: integers, exact decimals, doubles;
``true``/``false``; else strings) and keep its text, so a column whose values disagree becomes a
STRING column of the original texts. Unwanted columns are scanned but never copied.

Python-facing wrappers and documentation: ``velostream.formats.csv``.
"""

from cpython cimport array
from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport free, realloc
from libc.string cimport memchr, memcpy, memset

from velostream._core.batch cimport (
    T_BOOL, T_DECIMAL, T_FLOAT64, T_INT64, T_NULL, T_OBJECT, T_STRING, T_TIMESTAMP, BoolColumn,
    Column, DecimalColumn, Float64Column, Int64Column, RecordBatch, StringColumn, dec_is_wide,
    dec_row, make_int64, new_int64_array, vs_fmt128, vs_ld128,
)
from velostream._core.decimal cimport SI_FORMAT_BUFSIZE, si_format
from velostream._core.jsoncodec cimport (
    D_DECIMAL, D_NONE, P_OK, P_RANGE, TG_NULL, cb_begin, cb_finish, cb_free, cb_grow_rows,
    cb_init, cb_put_text, cb_reserve, cb_undo_row, colbuf_t, format_double, format_int64,
    format_timestamp, ob_grow, ob_reserve, obuf_t, utf8_error_at,
)

import datetime as _dt
from decimal import Decimal as _Decimal

import orjson as _orjson

from velostream._core.decimal import ScaledInteger as _ScaledInteger
from velostream._core.jsoncodec import CELL_BUDGET as _CELL_BUDGET
from velostream._core.jsoncodec import DECLARED_NAMES as _DECLARED_NAMES
from velostream._core.jsoncodec import declared_spec as _declared_spec

cdef enum:
    C_NL = 10
    C_CR = 13
    C_QUOTE = 34

# A quoted field may hold line breaks, so one stray quote could swallow the rest of the input:
# a record spans at most this many bytes while a quote is open (``max_record_bytes``).
MAX_RECORD_BYTES = 1 << 20

# Results of _record besides a field count >= 0.
cdef enum:
    R_ERROR = -1
    R_INCOMPLETE = -3


cdef Py_ssize_t _count_lines(const unsigned char* p, Py_ssize_t start,
                             Py_ssize_t end) noexcept nogil:
    cdef Py_ssize_t k = 0
    cdef const unsigned char* q
    while start < end:
        q = <const unsigned char*>memchr(p + start, C_NL, end - start)
        if q == NULL:
            break
        k += 1
        start = (q - p) + 1
    return k


cdef inline Py_ssize_t _line_break(const unsigned char* p, Py_ssize_t pos,
                                   Py_ssize_t n) noexcept nogil:
    """Length of the line break at p[pos] (1 for LF, 2 for CR LF), else 0."""
    if pos < n and p[pos] == C_NL:
        return 1
    if pos + 1 < n and p[pos] == C_CR and p[pos + 1] == C_NL:
        return 2
    if pos + 1 == n and p[pos] == C_CR:
        return 1        # CR LF cut at the end of the input: a blank line, not a field
    return 0


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
    if first < 4:
        first = 4
    return (n - pos) // first + (n - pos) // first // 4 + 16


cdef Py_ssize_t _char_column(const unsigned char* p, Py_ssize_t pos) noexcept nogil:
    cdef Py_ssize_t i = pos, col = 1
    while i > 0 and p[i - 1] != C_NL:
        i -= 1
    while i < pos:
        if (p[i] & 0xC0) != 0x80:
            col += 1
        i += 1
    return col


cdef class CsvScanner:
    """The decoding engine behind ``velostream.formats.csv.CsvDecoder``."""

    cdef unsigned char delim
    cdef uint8_t stop[256]          # bytes that end an unquoted field: delimiter, newline
    cdef bint has_headers, financial
    cdef object fields              # list of names or None
    cdef object names               # explicit column names or None
    cdef dict declared
    cdef public object header
    cdef public bytes remainder
    cdef public Py_ssize_t remainder_line
    cdef colbuf_t* cols
    cdef Py_ssize_t ncols
    cdef readonly Py_ssize_t cap    # rows allocated per column (kept after a decode)
    cdef Py_ssize_t* colmap         # input field index -> output column, or -1
    cdef Py_ssize_t nfields
    cdef str err
    cdef Py_ssize_t err_pos
    cdef bint busy
    cdef public Py_ssize_t max_record   # bytes a record may span while a quote is open

    def __cinit__(self):
        self.cols = NULL
        self.colmap = NULL
        self.ncols = 0

    def __init__(self, delimiter=",", has_headers=True, fields=None, financial_precision=True,
                 declared=None, names=None, max_record_bytes=MAX_RECORD_BYTES):
        d = delimiter.encode("utf-8") if isinstance(delimiter, str) else bytes(delimiter)
        if len(d) != 1 or d in (b'"', b"\n", b"\r"):
            raise ValueError(f"CSV delimiter must be one single-byte character, not {delimiter!r}")
        self.delim = d[0]
        memset(self.stop, 0, 256)
        self.stop[self.delim] = 1
        self.stop[C_NL] = 1
        self.has_headers = bool(has_headers)
        self.financial = bool(financial_precision)
        self.fields = None if fields is None else [str(f) for f in fields]
        self.names = None if names is None else [str(n) for n in names]
        self.declared = _declared_spec(declared)
        if max_record_bytes < 1:
            raise ValueError(f"max_record_bytes must be at least 1, not {max_record_bytes!r}")
        self.max_record = max_record_bytes
        self.header = None
        self.remainder = b""
        self.remainder_line = 0

    def __dealloc__(self):
        self._free()

    cdef void _free(self) noexcept:
        cdef Py_ssize_t i
        if self.cols != NULL:
            for i in range(self.ncols):
                cb_free(&self.cols[i])
            free(self.cols)
        free(self.colmap)
        self.cols = NULL
        self.colmap = NULL
        self.ncols = 0

    cdef list _setup(self, list in_names, Py_ssize_t cap):
        """Output columns and the field -> column map; returns the output names."""
        cdef Py_ssize_t i, j, k
        self._free()
        self.nfields = len(in_names)
        self.colmap = <Py_ssize_t*>realloc(NULL, (self.nfields + 1) * sizeof(Py_ssize_t))
        if self.colmap == NULL:
            raise MemoryError()
        for i in range(self.nfields):
            self.colmap[i] = -1
        lowered = [n.lower() for n in in_names]
        if self.fields is None:
            out = list(in_names)
            for i in range(self.nfields):
                self.colmap[i] = i
        else:
            out = []
            seen = set()
            for f in self.fields:
                low = f.lower()
                if low in seen:
                    continue
                seen.add(low)
                k = len(out)
                name = f
                for i in range(self.nfields):
                    if lowered[i] == low and self.colmap[i] < 0:
                        self.colmap[i] = k
                        name = in_names[i]
                        break
                out.append(name)
        self.ncols = 0
        self.cols = <colbuf_t*>realloc(NULL, (len(out) + 1) * sizeof(colbuf_t))
        if self.cols == NULL:
            raise MemoryError()
        if cap * len(out) > _CELL_BUDGET:
            cap = _CELL_BUDGET // len(out)      # a misleading first line: grow from a bound
        self.cap = cap if cap > 16 else 16
        for j, name in enumerate(out):
            low = name.lower()
            code, prec, scale = self.declared.get(low, (D_NONE, -1, -1))
            cb_init(&self.cols[j], self.cap, name.encode("utf-8"), low.encode("utf-8"), code,
                    prec, scale)
            self.ncols = j + 1
        return out

    cdef int _grow(self, Py_ssize_t need) except -1:
        cdef Py_ssize_t i, cap = self.cap
        if need <= cap:
            return 0
        while cap < need:
            cap *= 2
        for i in range(self.ncols):
            cb_grow_rows(&self.cols[i], cap)
        self.cap = cap
        return 0

    cdef Py_ssize_t _record(self, const unsigned char* p, Py_ssize_t* ppos, Py_ssize_t n,
                            Py_ssize_t row, Py_ssize_t* pline, bint put, bint final) except -2:
        """Scans one record from *ppos; returns its field count, R_ERROR or R_INCOMPLETE.
        *ppos ends after the record's line break; *pline counts the line breaks passed.

        This is the one definition of where a record ends: the file reader cuts its blocks
        where this scanner stopped (``remainder``). A quote left open past ``max_record``
        bytes (or at the end of the input when ``final``) fails this record only: scanning
        resumes at the line after the opening quote. R_INCOMPLETE (only when not final): the
        input ended inside a quoted field that may still close."""
        cdef Py_ssize_t pos = ppos[0], f = 0, ci, q, k, start = 0, seg, nn, field_start, bad
        cdef Py_ssize_t lim = n, qline
        cdef colbuf_t* c
        cdef const unsigned char* hit
        cdef int st
        cdef bint failed = False
        cdef unsigned char delim = self.delim
        if self.max_record < n - pos:
            lim = pos + self.max_record
        while True:
            ci = self.colmap[f] if (put and not failed and f < self.nfields) else -1
            c = &self.cols[ci] if ci >= 0 else NULL
            field_start = pos
            if pos < n and p[pos] == C_QUOTE:
                q = pos + 1
                qline = pline[0]
                if c != NULL:
                    cb_begin(c, row)
                    start = c.spos
                while True:
                    hit = <const unsigned char*>memchr(p + q, C_QUOTE, lim - q) if q < lim else NULL
                    if hit == NULL:
                        if lim == n and not final:
                            return R_INCOMPLETE
                        self.err = ("unterminated quoted field" if lim == n else
                                    f"no closing quote within {self.max_record} bytes "
                                    f"(max_record_bytes)")
                        self.err_pos = field_start
                        hit = <const unsigned char*>memchr(p + field_start, C_NL, n - field_start)
                        pline[0] = qline
                        if hit == NULL:
                            ppos[0] = n
                        else:
                            ppos[0] = (hit - p) + 1
                            pline[0] += 1
                        return R_ERROR
                    k = hit - p
                    seg = k - q
                    pline[0] += _count_lines(p, q, k)
                    if c != NULL:
                        cb_reserve(c, seg + 1)
                        memcpy(c.sbuf + c.spos, p + q, seg)
                        c.spos += seg
                    if k + 1 < n and p[k + 1] == C_QUOTE:
                        if c != NULL:
                            c.sbuf[c.spos] = C_QUOTE
                            c.spos += 1
                        q = k + 2
                        continue
                    pos = k + 1
                    break
                if c != NULL:
                    nn = c.spos - start
                    c.spos = start
                    if utf8_error_at(<const unsigned char*>c.sbuf + start, nn) >= 0:
                        failed = True
                        self._utf8_error(c, field_start)
                    else:
                        st = cb_put_text(c, row, nn, True, self.financial)
                        if st != P_OK:
                            failed = True
                            self._field_error(c, st, start, nn, pos)
                if pos < n and p[pos] != delim and p[pos] != C_NL and not (
                        p[pos] == C_CR and pos + 1 < n and p[pos + 1] == C_NL):
                    self.err = "unexpected character after a closing quote"
                    self.err_pos = pos
                    failed = True
                    # Resynchronise at the end of this physical line.
                    hit = <const unsigned char*>memchr(p + pos, C_NL, n - pos)
                    pos = (hit - p) if hit != NULL else n
                    f += 1
                    break
            else:
                q = pos
                while q < n and not self.stop[p[q]]:
                    q += 1
                k = q
                if k > pos and p[k - 1] == C_CR and (q >= n or p[q] == C_NL):
                    k -= 1
                if c != NULL:
                    cb_begin(c, row)
                    if k == pos:
                        c.tags[row] = TG_NULL       # an empty unquoted field is NULL
                    else:
                        cb_reserve(c, k - pos)
                        memcpy(c.sbuf + c.spos, p + pos, k - pos)
                        bad = utf8_error_at(p + pos, k - pos)
                        if bad >= 0:
                            failed = True
                            self._utf8_error(c, pos + bad)
                        else:
                            st = cb_put_text(c, row, k - pos, True, self.financial)
                            if st != P_OK:
                                failed = True
                                self._field_error(c, st, c.spos, k - pos, pos)
                pos = q
            f += 1
            if pos < n and p[pos] == delim:
                pos += 1
                continue
            break
        # The record's line break.
        if pos < n:
            if p[pos] == C_CR:
                pos += 1
            if pos < n and p[pos] == C_NL:
                pos += 1
                pline[0] += 1
        ppos[0] = pos
        if failed:
            return R_ERROR
        return f

    cdef void _utf8_error(self, colbuf_t* c, Py_ssize_t pos) noexcept:
        # As in JSON Lines: a text that is not UTF-8 is refused at decode, never passed on.
        try:
            self.err = f"field {c.name[:c.name_len].decode('utf-8')!r}: invalid UTF-8"
        except Exception:
            self.err = "invalid UTF-8"
        self.err_pos = pos

    cdef void _field_error(self, colbuf_t* c, int st, Py_ssize_t start, Py_ssize_t nn,
                           Py_ssize_t pos) noexcept:
        try:
            name = c.name[:c.name_len].decode("utf-8")
            text = c.sbuf[start:start + nn].decode("utf-8", "replace")
            kind = _DECLARED_NAMES[c.declared]
            if c.declared == D_DECIMAL and c.dprec >= 0:
                kind = f"DECIMAL({c.dprec},{c.dscale})"
            what = "does not fit" if st == P_RANGE else "is not a valid"
            self.err = f"field {name!r}: {text!r} {what} {kind}"
            self.err_pos = pos
        except Exception:
            self.err = "invalid field"
            self.err_pos = pos

    cdef list _header_fields(self, const unsigned char* p, Py_ssize_t* ppos, Py_ssize_t n,
                             Py_ssize_t* pline):
        """The fields of one record as str (for the header), or None if it is incomplete."""
        cdef Py_ssize_t pos = ppos[0], q, k
        cdef const unsigned char* hit
        out = []
        while True:
            if pos < n and p[pos] == C_QUOTE:
                parts = []
                q = pos + 1
                while True:
                    hit = <const unsigned char*>memchr(p + q, C_QUOTE, n - q) if q < n else NULL
                    if hit == NULL:
                        return None
                    k = hit - p
                    parts.append((<const char*>p)[q:k])
                    pline[0] += _count_lines(p, q, k)
                    if k + 1 < n and p[k + 1] == C_QUOTE:
                        parts.append(b'"')
                        q = k + 2
                        continue
                    pos = k + 1
                    break
                value = b"".join(parts)
                while pos < n and not self.stop[p[pos]]:
                    pos += 1
            else:
                q = pos
                while q < n and not self.stop[p[q]]:
                    q += 1
                k = q
                if k > pos and p[k - 1] == C_CR:
                    k -= 1
                value = (<const char*>p)[pos:k]
                pos = q
            out.append(value.decode("utf-8", "replace").strip("\r"))
            if pos < n and p[pos] == self.delim:
                pos += 1
                continue
            break
        if pos < n and p[pos] == C_NL:
            pos += 1
            pline[0] += 1
        ppos[0] = pos
        return out

    def decode(self, data, Py_ssize_t first_line=1, header=None, bint final=True):
        """Decodes whole lines of CSV (see ``_decode``)."""
        if self.busy:
            raise RuntimeError("this CsvDecoder is already decoding (another thread?): "
                               "use one decoder per thread")
        self.busy = True
        try:
            return self._decode(data, first_line, header, final)
        finally:
            self._free()
            self.busy = False

    def _decode(self, data, Py_ssize_t first_line=1, header=None, bint final=True):
        """Returns ``(names, columns, line_column, errors)``; errors are
        ``(line, column, message, raw bytes)``. With ``final=False`` a last record whose quoted
        field is not closed yet is kept in ``remainder`` (from line ``remainder_line``) instead
        of being reported."""
        cdef const unsigned char[::1] view = data
        cdef Py_ssize_t n = view.shape[0], pos = 0, line = first_line, row = 0, rec_start
        cdef Py_ssize_t rec_line, r, end, tmp, tmpline
        cdef const unsigned char* p = &view[0] if n else <const unsigned char*>b""
        cdef list errors = []
        cdef object lines
        cdef int64_t* lp
        cdef Py_ssize_t i
        self.remainder = b""
        self.remainder_line = 0
        if first_line == 1 and n >= 3 and p[0] == 0xEF and p[1] == 0xBB and p[2] == 0xBF:
            pos = 3
        # Blank lines before the header / first record of the file. Later chunks (header
        # given) leave them to the record loop: in a one-column file they are NULL rows.
        while header is None and _line_break(p, pos, n):
            pos += _line_break(p, pos, n)
            line += 1
        in_names = None
        header_pending = False
        if header is not None:
            in_names = [str(h) for h in header]
        elif self.has_headers:
            if pos < n:
                tmp = pos
                tmpline = line
                in_names = self._header_fields(p, &tmp, n, &tmpline)
                if in_names is None:
                    if not final and n - pos <= self.max_record:
                        self.remainder = bytes(view[pos:n])
                        self.remainder_line = line
                        in_names = []
                        header_pending = True
                        pos = n
                    else:
                        errors.append((line, 1, "unterminated quoted field in the header",
                                       bytes(view[pos:n])))
                        in_names = []
                        pos = n
                else:
                    pos = tmp
                    line = tmpline
                in_names = [h if h else f"column{i}" for i, h in enumerate(in_names)]
            else:
                in_names = []
        if self.names is not None:
            if in_names is None or len(in_names) <= len(self.names):
                in_names = list(self.names)
            else:
                in_names = list(self.names) + in_names[len(self.names):]
        if in_names is None:
            # No header and no names: the first record decides the number of columns.
            tmp = pos
            tmpline = line
            first = self._header_fields(p, &tmp, n, &tmpline) if pos < n else []
            in_names = [f"column{i}" for i in range(len(first or []))]
        # A header still open at the end of this chunk is read with the next one.
        self.header = list(header) if header is not None else (
            None if header_pending else in_names)
        out_names = self._setup(in_names, _estimate_rows(p, pos, n))
        lines = new_int64_array(self.cap)
        lp = <int64_t*>(<array.array>lines).data.as_voidptr
        try:
            while pos < n:
                # A blank line is no record — except in a one-column file, where it is the
                # record whose one field is NULL (as the encoder writes it; PostgreSQL's COPY
                # and DuckDB read it so too).
                if self.nfields != 1 and _line_break(p, pos, n):
                    pos += _line_break(p, pos, n)
                    line += 1
                    continue
                rec_start = pos
                rec_line = line
                if row >= self.cap:
                    self._grow(row + 1)
                    array.resize(<array.array>lines, self.cap)
                    lp = <int64_t*>(<array.array>lines).data.as_voidptr
                r = self._record(p, &pos, n, row, &line, True, final)
                if r == R_INCOMPLETE:
                    for i in range(self.ncols):
                        cb_undo_row(&self.cols[i], row)
                    self.remainder = bytes(view[rec_start:n])
                    self.remainder_line = rec_line
                    line = rec_line
                    break
                if r >= 0 and r != self.nfields:
                    self.err = f"expected {self.nfields} fields, found {r}"
                    self.err_pos = rec_start
                    r = R_ERROR
                if r >= 0:
                    lp[row] = rec_line
                    row += 1
                    continue
                for i in range(self.ncols):
                    cb_undo_row(&self.cols[i], row)
                end = pos
                while end > rec_start and (p[end - 1] == C_NL or p[end - 1] == C_CR):
                    end -= 1
                col = _char_column(p, self.err_pos)
                prefix = "" if self.err.startswith("field ") else "invalid CSV: "
                errors.append((rec_line, col, f"{prefix}{self.err} at column {col}",
                               bytes(view[rec_start:end])))
            columns = [cb_finish(&self.cols[i], row, None, True, self.financial)
                       for i in range(self.ncols)]
        finally:
            self._free()
        array.resize(<array.array>lines, row)
        return out_names, columns, make_int64(lines, None, row, T_INT64), errors


# =============================================================================== CSV writing

cdef inline int _put(obuf_t* o, const char* s, Py_ssize_t n) except -1:
    if o.n + n > o.cap:
        ob_grow(o, n)
    memcpy(o.p + o.n, s, n)
    o.n += n
    return 0


cdef int _write_field(obuf_t* o, const char* s, Py_ssize_t n, unsigned char delim) except -1:
    """RFC 4180: quoted (quotes doubled) when it holds the delimiter, a quote, CR or LF, or is
    empty (an empty quoted field is the empty string; an empty unquoted field is NULL)."""
    cdef Py_ssize_t i
    cdef bint quote = n == 0
    cdef unsigned char c
    cdef char* d
    for i in range(n):
        c = <unsigned char>s[i]
        if c == delim or c == C_QUOTE or c == C_NL or c == C_CR:
            quote = True
            break
    if not quote:
        return _put(o, s, n)
    ob_reserve(o, 2 * n + 2)
    d = o.p + o.n
    d[0] = C_QUOTE
    d += 1
    for i in range(n):
        d[0] = s[i]
        d += 1
        if s[i] == C_QUOTE:
            d[0] = C_QUOTE
            d += 1
    d[0] = C_QUOTE
    o.n = (d + 1) - o.p
    return 0


cdef bytes _object_text(object v):
    if v is True:
        return b"true"
    if v is False:
        return b"false"
    if isinstance(v, str):
        return (<str>v).encode("utf-8", "surrogatepass")
    if isinstance(v, float):
        return repr(v).encode("ascii")
    if isinstance(v, (int, _ScaledInteger, _Decimal)):
        return str(v).encode("ascii")
    if isinstance(v, _dt.datetime):
        return v.isoformat().encode("ascii")
    if isinstance(v, (dict, list, tuple)):
        try:
            return _orjson.dumps(v, default=str, option=_orjson.OPT_NON_STR_KEYS)
        except TypeError:
            import json
            return json.dumps(v, default=str, ensure_ascii=False,
                              separators=(",", ":")).encode("utf-8")
    return str(v).encode("utf-8")


cdef class CsvWriter:
    """The encoding engine behind ``velostream.formats.csv.CsvEncoder``."""

    cdef unsigned char delim

    def __init__(self, delimiter=","):
        d = delimiter.encode("utf-8") if isinstance(delimiter, str) else bytes(delimiter)
        if len(d) != 1 or d in (b'"', b"\n", b"\r"):
            raise ValueError(f"CSV delimiter must be one single-byte character, not {delimiter!r}")
        self.delim = d[0]

    def encode(self, RecordBatch batch, bint write_header):
        cdef obuf_t o
        cdef Py_ssize_t r, j, nrows = batch.length, ncols = len(batch.columns)
        cdef Column col
        cdef double d
        cdef bytes b
        cdef unsigned char delim = self.delim
        cdef const char* dl = <const char*>&self.delim
        cols = list(batch.columns)
        objects = [c.to_pylist() if c.type == T_OBJECT else None for c in cols]
        o.p = NULL
        o.n = 0
        o.cap = 0
        try:
            ob_grow(&o, nrows * (8 + 16 * ncols) + 64)
            if write_header:
                for j in range(ncols):
                    if j:
                        _put(&o, dl, 1)
                    b = batch.names[j].encode("utf-8")
                    _write_field(&o, b, len(b), delim)
                _put(&o, b"\n", 1)
            for r in range(nrows):
                for j in range(ncols):
                    if j:
                        _put(&o, dl, 1)
                    col = cols[j]
                    if not col.is_valid(r):
                        continue
                    ob_reserve(&o, SI_FORMAT_BUFSIZE)
                    if col.type == T_INT64:
                        o.n += format_int64((<Int64Column>col).values[r], o.p + o.n)
                    elif col.type == T_STRING:
                        _write_field(&o, (<StringColumn>col).chars + (<StringColumn>col).offs[r],
                                     (<StringColumn>col).offs[r + 1] - (<StringColumn>col).offs[r],
                                     delim)
                    elif col.type == T_DECIMAL and not dec_is_wide(<DecimalColumn>col):
                        o.n += si_format(dec_row(<DecimalColumn>col, r), o.p + o.n)
                    elif col.type == T_DECIMAL and (<DecimalColumn>col).w != NULL:
                        o.n += vs_fmt128(vs_ld128((<DecimalColumn>col).w, r),
                                         (<DecimalColumn>col).scale,
                                         (<DecimalColumn>col).row_scale(r), o.p + o.n)
                    elif col.type == T_FLOAT64:
                        d = (<Float64Column>col).values[r]
                        o.n += format_double(d, o.p + o.n)
                    elif col.type == T_BOOL:
                        if (<BoolColumn>col).values[r]:
                            _put(&o, b"true", 4)
                        else:
                            _put(&o, b"false", 5)
                    elif col.type == T_TIMESTAMP:
                        o.n += format_timestamp((<Int64Column>col).values[r], o.p + o.n)
                    elif col.type == T_OBJECT:
                        b = _object_text(objects[j][r])
                        _write_field(&o, b, len(b), delim)
                    elif col.type != T_NULL:
                        b = _object_text(col.get(r))
                        _write_field(&o, b, len(b), delim)
                _put(&o, b"\n", 1)
            return PyBytes_FromStringAndSize(o.p, o.n) if o.n else b""
        finally:
            free(o.p)
