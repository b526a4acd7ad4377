# cython: language_level=3
"""Values read from text on the ground floor: timestamps, epoch numbers, number and boolean texts.

One implementation of each rule, shared by every layer that reads them: the JSON and CSV decoders
(declared TIMESTAMP fields, through the C API in textparse.pxd), the run-time CAST (kernels_py),
the planner (string literals compared with typed columns, ``plan.types``) and event-time
extraction (:func:`parse_event_times`). The planner imports from here, never the reverse.

The timestamp rules (one set, DIALECT §3/§5):

- ISO-8601 text: ``YYYY-MM-DD[(T|t| )H[H]:MM[:SS[(.|,)fraction]]][ ][Z|UTC|±HH[[:]MM]]`` with a
  1- or 2-digit month, day and hour; no zone means UTC; fraction digits past milliseconds are
  truncated; blanks around the text are ignored. It names years 1..9999 only
  (``MIN_EPOCH_MS`` .. ``MAX_EPOCH_MS``, an offset included): anything else is refused with a
  reason (no such date, no such time of day, no such offset, out of range).
- An integer text (``[+-]digits``) is epoch milliseconds, as a BIGINT is: any int64.
- Event time additionally requires years 1..9999 of every value, whatever its format.
"""

import datetime as _dt
import re
from decimal import Decimal, InvalidOperation

from cpython cimport array
from libc.math cimport fabs, isfinite, nearbyint, trunc
from libc.stdint cimport INT64_MAX, int64_t, uint8_t, uint64_t

from velostream._core.batch cimport (
    T_DECIMAL, T_FLOAT64, T_INT64, T_STRING, T_TIMESTAMP, Column, DecimalColumn, Float64Column,
    Int64Column, StringColumn, dec_is_wide, make_int64, new_byte_array, new_int64_array,
)
from velostream._core.decimal cimport vs_mul_i64, vs_upow10

from velostream._core.batch import MAX_EPOCH_MS, MIN_EPOCH_MS

cdef int64_t _MIN_MS = MIN_EPOCH_MS
cdef int64_t _MAX_MS = MAX_EPOCH_MS

# --------------------------------------------------------------------------- number/boolean text

# ASCII digits only: Python's \d and float() also take other scripts' digits ('١٢٣'), which are
# no number at compile time (plan.types) nor at run time (kernels_py).
INTEGER_TEXT = re.compile(r"\s*[+-]?\d+\s*\Z", re.ASCII)
DECIMAL_TEXT = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*\Z", re.ASCII)
FLOAT_TEXT = re.compile(
    r"\s*[+-]?((\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|inf|infinity|nan)\s*\Z",
    re.IGNORECASE | re.ASCII)

# The one set of boolean words: CAST(text AS BOOLEAN) and boolean settings (plan.settings).
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "on"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "off"})


def parse_boolean_text(str text):
    """True / False of a text a CAST to BOOLEAN reads (``'yes'``, ``'off'`` …), else None."""
    low = text.strip().lower()
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    return None


# --------------------------------------------------------------------------- timestamps (C)

ISO_FORMS = "YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|±HH:MM]"
_REASONS = (
    "",
    "not an ISO-8601 date or timestamp",
    "no such date",
    "no such time of day",
    "no such UTC offset",
    "out of range (years 1..9999)",
    "out of range for TIMESTAMP",
)


cdef str ts_reason(int status):
    return _REASONS[status] if 0 <= status < len(_REASONS) else _REASONS[TS_SYNTAX]


cdef inline bint _blank(char ch) noexcept nogil:
    return ch == 32 or 9 <= ch <= 13


cdef inline bint _digit(char ch) noexcept nogil:
    return 48 <= ch <= 57


cdef inline int _number(const char* s, Py_ssize_t n, Py_ssize_t* i, int least,
                        int most) noexcept nogil:
    """``least`` to ``most`` digits at s[*i] as a number (advancing *i), or -1."""
    cdef int v = 0, k = 0
    while k < most and i[0] < n and _digit(s[i[0]]):
        v = v * 10 + (s[i[0]] - 48)
        i[0] += 1
        k += 1
    return v if k >= least else -1


cdef inline int64_t _days_from_civil(int64_t y, int m, int d) noexcept nogil:
    cdef int64_t era, yoe, doy, doe
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef inline int _month_days(int y, int m) noexcept nogil:
    if m == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    if m == 4 or m == 6 or m == 9 or m == 11:
        return 30
    return 31


cdef int ts_parse_iso(const char* s, Py_ssize_t n, int64_t* out) noexcept nogil:
    cdef Py_ssize_t i = 0
    cdef int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, k = 0, tzh = 0, tzm = 0, sign = 0
    cdef int64_t total
    while n > 0 and _blank(s[n - 1]):
        n -= 1
    while i < n and _blank(s[i]):
        i += 1
    y = _number(s, n, &i, 4, 4)
    if y < 0 or i >= n or s[i] != 45:                       # -
        return TS_SYNTAX
    i += 1
    mo = _number(s, n, &i, 1, 2)
    if mo < 0 or i >= n or s[i] != 45:
        return TS_SYNTAX
    i += 1
    d = _number(s, n, &i, 1, 2)
    if d < 0:
        return TS_SYNTAX
    if i + 1 < n and (s[i] == 84 or s[i] == 116 or s[i] == 32) and _digit(s[i + 1]):  # T t ' '
        i += 1
        h = _number(s, n, &i, 1, 2)
        if i >= n or s[i] != 58:                            # :
            return TS_SYNTAX
        i += 1
        mi = _number(s, n, &i, 2, 2)
        if mi < 0:
            return TS_SYNTAX
        if i < n and s[i] == 58:
            i += 1
            sec = _number(s, n, &i, 2, 2)
            if sec < 0:
                return TS_SYNTAX
            if i < n and (s[i] == 46 or s[i] == 44):        # . ,
                i += 1
                while i < n and _digit(s[i]):
                    if k < 3:
                        ms = ms * 10 + (s[i] - 48)
                    k += 1
                    i += 1
                if k == 0:
                    return TS_SYNTAX
                while k < 3:
                    ms *= 10
                    k += 1
    while i < n and _blank(s[i]):
        i += 1
    if i < n:
        if (s[i] == 90 or s[i] == 122) and i + 1 == n:      # Z z
            pass
        elif (i + 3 == n and (s[i] | 32) == 117 and (s[i + 1] | 32) == 116
              and (s[i + 2] | 32) == 99):                   # UTC
            pass
        elif s[i] == 43 or s[i] == 45:                      # + -
            sign = -1 if s[i] == 45 else 1
            i += 1
            tzh = _number(s, n, &i, 2, 2)
            if tzh < 0:
                return TS_SYNTAX
            if i < n and s[i] == 58:
                i += 1
                if i == n:
                    return TS_SYNTAX
            if i < n:
                tzm = _number(s, n, &i, 2, 2)
                if tzm < 0 or i != n:
                    return TS_SYNTAX
        else:
            return TS_SYNTAX
    if mo < 1 or mo > 12 or d < 1 or d > _month_days(y, mo):
        return TS_DATE
    if h > 23 or mi > 59 or sec > 59:
        return TS_TIME
    if tzh > 23 or tzm > 59:
        return TS_ZONE
    if y == 0:
        return TS_YEARS
    total = ((_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * <int64_t>1000
             + ms - sign * (tzh * 3600 + tzm * 60) * <int64_t>1000)
    if total < _MIN_MS or total > _MAX_MS:
        return TS_YEARS
    out[0] = total
    return TS_OK


cdef int _parse_integer(const char* s, Py_ssize_t n, int64_t* out) noexcept nogil:
    """An integer text ``[+-]digits`` (blanks around) as int64: TS_OK, TS_OVERFLOW or TS_SYNTAX."""
    cdef Py_ssize_t i = 0, digits = 0
    cdef bint neg = False, over = False
    cdef uint64_t mag = 0, limit, digit
    while n > 0 and _blank(s[n - 1]):
        n -= 1
    while i < n and _blank(s[i]):
        i += 1
    if i < n and (s[i] == 43 or s[i] == 45):
        neg = s[i] == 45
        i += 1
    limit = <uint64_t>INT64_MAX + (1 if neg else 0)
    while i < n and _digit(s[i]):
        digit = <uint64_t>(s[i] - 48)
        if mag > (limit - digit) // 10:
            over = True         # keep scanning: a long "12…x" is a syntax error, not an overflow
        elif not over:
            mag = mag * 10 + digit
        digits += 1
        i += 1
    if i != n or digits == 0:
        return TS_SYNTAX
    if over:
        return TS_OVERFLOW
    out[0] = <int64_t>((<uint64_t>0) - mag) if neg else <int64_t>mag
    return TS_OK


cdef int ts_parse_text(const char* s, Py_ssize_t n, int64_t* out) noexcept nogil:
    cdef int st = ts_parse_iso(s, n, out)
    if st != TS_SYNTAX:
        return st
    return _parse_integer(s, n, out)


# --------------------------------------------------------------------------- timestamps (Python)

class TimestampError(ValueError):
    """A text or value is not a timestamp; the message is the reason."""


def parse_timestamp_text(str text):
    """Epoch milliseconds of an ISO-8601 date/timestamp or an integer (epoch-ms) text.

    Raises :class:`TimestampError` whose message says why the text is not one."""
    cdef bytes raw = text.encode("utf-8", "replace")
    cdef int64_t ms = 0
    cdef int st = ts_parse_text(raw, len(raw), &ms)
    if st != TS_OK:
        raise TimestampError(ts_reason(st))
    return ms


def parse_iso_timestamp(str text):
    """Epoch milliseconds of ISO-8601 text only (no integer form); TimestampError otherwise."""
    cdef bytes raw = text.encode("utf-8", "replace")
    cdef int64_t ms = 0
    cdef int st = ts_parse_iso(raw, len(raw), &ms)
    if st != TS_OK:
        raise TimestampError(ts_reason(st))
    return ms


# --------------------------------------------------------------------------- event time

EVENT_TIME_FORMATS = ("epoch_millis", "epoch_seconds", "iso8601")
NULL_REASON = "missing or NULL"
RANGE_REASON = _REASONS[TS_YEARS]
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_MS = _dt.timedelta(milliseconds=1)


cdef inline bint _in_years(int64_t ms) noexcept nogil:
    return _MIN_MS <= ms <= _MAX_MS


cdef enum:
    _K_VALUE = 0            # per value, in Python
    _K_TIMESTAMP = 1
    _K_INT = 2
    _K_DOUBLE = 3
    _K_DECIMAL = 4
    _K_ISO_TEXT = 5
    _K_INTEGER_TEXT = 6


cdef inline int _scaled_ms(int64_t units, int64_t factor, int64_t* out) noexcept nogil:
    """``units`` epoch units of ``factor`` ms each as ms, in years 1..9999."""
    if vs_mul_i64(units, factor, out):
        return TS_YEARS
    return TS_OK if _in_years(out[0]) else TS_YEARS


cdef int _double_ms(double d, int64_t factor, int64_t* out) noexcept nogil:
    """A DOUBLE of epoch units (``factor`` ms each) as ms, truncated toward zero as its decimal
    text would be: a product within a few ulps of an integer is that integer (1.7e9 * 1000).
    -1 for NaN and infinities (the per-value path words them)."""
    cdef double x
    cdef double r
    if not isfinite(d):
        return -1               # the per-value path words it
    x = d * <double>factor
    if not (<double>_MIN_MS - 1.0 < x < <double>_MAX_MS + 1.0):
        return TS_YEARS
    r = nearbyint(x)
    if fabs(x - r) <= 4.0 * 2.220446049250313e-16 * fabs(x):
        x = r
    else:
        x = trunc(x)
    out[0] = <int64_t>x
    return TS_OK if _in_years(out[0]) else TS_YEARS


cdef int _decimal_ms(int64_t m, int scale, int64_t factor, int64_t* out) noexcept nogil:
    """m / 10**scale epoch units (``factor`` = 1 or 1000 ms each) as ms, truncated toward zero."""
    cdef int e = (3 if factor == 1000 else 0) - scale
    if e >= 0:
        if e > 18 or vs_mul_i64(m, <int64_t>vs_upow10[e], out):
            return TS_YEARS
    else:
        out[0] = m // <int64_t>vs_upow10[-e] if -e <= 18 else 0
    return TS_OK if _in_years(out[0]) else TS_YEARS


def _value_ms(value, str fmt):
    """Epoch ms of one event-time value in ``fmt`` (the per-value path); ValueError(reason)."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        ms = (value - _EPOCH) // _MS
    elif fmt == "epoch_millis" or fmt == "epoch_seconds":
        if isinstance(value, (bool, list, dict)):
            raise TimestampError("not a number")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise TimestampError("not a number") from None
        if not number.is_finite():
            raise TimestampError("not a finite number")
        if number.adjusted() > 18:
            raise TimestampError(RANGE_REASON)
        ms = int(number * 1000) if fmt == "epoch_seconds" else int(number)
    elif fmt == "iso8601":
        if not isinstance(value, str):
            raise TimestampError(f"a {type(value).__name__} is not ISO-8601 text")
        ms = parse_iso_timestamp(value)
    else:
        parsed = _dt.datetime.strptime(str(value), fmt)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=_dt.timezone.utc)
        ms = (parsed - _EPOCH) // _MS
    if not MIN_EPOCH_MS <= ms <= MAX_EPOCH_MS:
        raise TimestampError(RANGE_REASON)
    return ms


def parse_event_times(Column column, str fmt):
    """The event time of every row of ``column`` read in ``fmt``.

    ``fmt`` is ``epoch_millis``, ``epoch_seconds``, ``iso8601`` or a strftime pattern (DIALECT
    §5). Returns ``(times, problems)``: ``times`` a TIMESTAMP ``Int64Column`` (NULL where there
    is a problem) and ``problems`` a dict row → reason (``NULL_REASON`` for a missing value).

    Typed loops, no Python object per row, for BIGINT, TIMESTAMP, DOUBLE and narrow DECIMAL
    columns in the epoch formats, STRING columns of integer text in the epoch formats and of
    ISO-8601 text in ``iso8601``. A TIMESTAMP column is taken as it is in every format. The rest
    (OBJECT values, wide decimals, decimal or exponent texts in the epoch formats, strftime
    patterns through ``datetime.strptime``) goes value by value.
    """
    cdef Py_ssize_t i, n = column.length
    cdef dict problems = {}
    cdef object data = new_int64_array(n)
    cdef object validity = new_byte_array(n, False)
    cdef int64_t* dst = <int64_t*>(<array.array>data).data.as_voidptr
    cdef uint8_t* ok = <uint8_t*>(<array.array>validity).data.as_voidptr
    cdef int t = column.type, st, kind = _K_VALUE, scale = 0
    cdef int64_t factor = 1000 if fmt == "epoch_seconds" else 1, v
    cdef bint epoch = fmt == "epoch_millis" or fmt == "epoch_seconds"
    cdef const int64_t* i64 = NULL
    cdef const double* f64 = NULL
    cdef const char* chars = NULL
    cdef const int64_t* offs = NULL
    # One typed loop per column layout, chosen once; the rest goes value by value.
    if t == T_TIMESTAMP:
        kind, i64 = _K_TIMESTAMP, (<Int64Column>column).values
    elif epoch and t == T_INT64:
        kind, i64 = _K_INT, (<Int64Column>column).values
    elif epoch and t == T_FLOAT64:
        kind, f64 = _K_DOUBLE, (<Float64Column>column).values
    elif epoch and t == T_DECIMAL and not dec_is_wide(<DecimalColumn>column):
        kind, i64, scale = _K_DECIMAL, (<DecimalColumn>column).values, (<DecimalColumn>column).scale
    elif t == T_STRING and (epoch or fmt == "iso8601"):
        kind = _K_INTEGER_TEXT if epoch else _K_ISO_TEXT
        chars, offs = (<StringColumn>column).chars, (<StringColumn>column).offs
    for i in range(n):
        dst[i] = 0
        ok[i] = 0
        if not column.is_valid(i):
            problems[i] = NULL_REASON
            continue
        st = -1                 # -1: this row takes the per-value path
        if kind == _K_TIMESTAMP:
            dst[i] = i64[i]
            st = TS_OK if _in_years(dst[i]) else TS_YEARS
        elif kind == _K_INT:
            st = _scaled_ms(i64[i], factor, &dst[i])
        elif kind == _K_DOUBLE:
            st = _double_ms(f64[i], factor, &dst[i])
        elif kind == _K_DECIMAL:
            st = _decimal_ms(i64[i], scale, factor, &dst[i])
        elif kind == _K_ISO_TEXT:
            st = ts_parse_iso(chars + offs[i], offs[i + 1] - offs[i], &dst[i])
        elif kind == _K_INTEGER_TEXT:
            # '1.7e12' and other number texts are read by the per-value path
            if _parse_integer(chars + offs[i], offs[i + 1] - offs[i], &v) == TS_OK:
                st = _scaled_ms(v, factor, &dst[i])
        if st == TS_OK:
            ok[i] = 1
            continue
        if st > 0:
            dst[i] = 0
            problems[i] = ts_reason(st)
            continue
        try:
            dst[i] = _value_ms(column.get(i), fmt)
            ok[i] = 1
        except (TypeError, ValueError, ArithmeticError) as err:
            dst[i] = 0
            problems[i] = str(err)
    return make_int64(data, validity if problems else None, n, T_TIMESTAMP), problems


__all__ = [
    "DECIMAL_TEXT",
    "EVENT_TIME_FORMATS",
    "FLOAT_TEXT",
    "INTEGER_TEXT",
    "ISO_FORMS",
    "NULL_REASON",
    "RANGE_REASON",
    "TimestampError",
    "parse_boolean_text",
    "parse_event_times",
    "parse_iso_timestamp",
    "parse_timestamp_text",
]
