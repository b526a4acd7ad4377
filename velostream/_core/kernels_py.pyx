# cython: language_level=3
"""Per-row Python functions behind ``expr.PyFunc`` and the slow paths of ``expr.Cast``.

String, JSON, header, nested-value (OBJECT) and formatting functions work on Python values one
row at a time; this module holds them, compiled by Cython, so the kernels module stays about
typed loops. Values arrive as the kernels hand them over: int (BIGINT, and TIMESTAMP as epoch
milliseconds), float, bool, ``ScaledInteger`` (DECIMAL), str, and anything for OBJECT columns.

Factories (``substring()``, ``json_value(path)`` …) take the compile-time constants of a call
and return the per-row function, so a pattern or a JSON path is compiled once per query.
A row that cannot be computed raises :class:`RowError`.
"""

import datetime as _dt
import math
import re
import unicodedata
from decimal import (
    MAX_EMAX, MIN_EMIN, ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Context,
    Decimal, InvalidOperation,
)

import orjson
import re2

from libc.stdint cimport int64_t

from velostream._core.jsoncodec cimport format_timestamp as _format_ts

from velostream._core.batch import MAX_EPOCH_MS, MIN_EPOCH_MS
from velostream._core.decimal import MAX_DIGITS, DecimalOverflow, ScaledInteger
from velostream._core.textparse import DECIMAL_TEXT as _DEC_TEXT
from velostream._core.textparse import FLOAT_TEXT as _FLOAT_TEXT
from velostream._core.textparse import INTEGER_TEXT as _INT_TEXT
from velostream._core.textparse import TimestampError, parse_boolean_text, parse_timestamp_text

T_NULL, T_BOOL, T_INT64, T_FLOAT64, T_DECIMAL, T_STRING, T_TIMESTAMP, T_OBJECT = range(8)
_INT64_MIN = -0x8000000000000000
_INT64_MAX = 0x7FFFFFFFFFFFFFFF
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_MS = _dt.timedelta(milliseconds=1)
_CTX = Context(prec=80, rounding=ROUND_HALF_EVEN)
_MISSING = object()


class RowError(ValueError):
    """The value of one row cannot be computed; the message says why."""


# --------------------------------------------------------------------------- value helpers

def format_timestamp(int64_t ms):
    """ISO-8601 UTC text of an epoch-millisecond TIMESTAMP: ``2024-01-15T10:30:00.000Z``, the
    text the JSON and CSV encoders write (any year: ``10000-01-01T00:00:00.000Z``)."""
    cdef char buf[48]
    return buf[:_format_ts(ms, buf)].decode("ascii")


def _time_text(ms):
    t = ms % 86_400_000
    return f"{t // 3_600_000:02d}:{t // 60_000 % 60:02d}:{t // 1000 % 60:02d}.{t % 1000:03d}"


def to_datetime(int64_t ms):
    """A TIMESTAMP as a Python datetime, which holds years 1..9999 only (else a row error)."""
    if not MIN_EPOCH_MS <= ms <= MAX_EPOCH_MS:
        raise RowError(f"TIMESTAMP {format_timestamp(ms)} is outside years 1..9999, the years "
                       "a date format can show")
    return _EPOCH + ms * _MS


def _datetime_ms(value):
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    return (value - _EPOCH) // _MS


def double_text(x):
    """DOUBLE as text: the shortest repr that reads back (``0.1``, ``1e+20``, ``inf``)."""
    return repr(x)


def _json_default(value):
    if isinstance(value, (ScaledInteger, Decimal)):
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    if isinstance(value, _dt.datetime):
        return format_timestamp(_datetime_ms(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def json_text(value):
    """JSON text of a nested value (DECIMAL values as strings, keeping their digits)."""
    return orjson.dumps(value, default=_json_default).decode("utf-8")


def text_of(value, int src=T_OBJECT):
    """A value as STRING (CAST … AS VARCHAR)."""
    if value is None:
        return None
    if src == T_TIMESTAMP:
        return format_timestamp(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return double_text(value)
    if isinstance(value, ScaledInteger):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, _dt.datetime):
        return format_timestamp(_datetime_ms(value))
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (dict, list, tuple)):
        return json_text(value)
    return str(value)


def _number(value):
    """A Python number for exact arithmetic: int, float or Decimal (bool is not a number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, ScaledInteger):
        return value.to_decimal()
    return None


def _half_away(d):
    return int(d.to_integral_value(rounding="ROUND_HALF_UP"))


def brief(str text):
    """``text`` as an error message shows it: a long value is cut, saying how long it was."""
    if len(text) <= 60:
        return text
    return f"{text[:40]}… ({len(text):,} characters)"


def _int_text(value):
    # str() of an int past 4,300 digits raises (CPython's limit); no message needs them all
    if value.bit_length() > 14_000:
        return "an integer of over 4,000 digits"
    return brief(str(value))


def _int64(value, what="BIGINT"):
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise RowError(f"{_int_text(value)} is out of range for {what}")
    return value


def _cannot(value, str target, str why=""):
    shown = brief(repr(value)) if isinstance(value, str) else f"a {type(value).__name__}"
    return RowError(f"cannot CAST {shown} to {target}{': ' if why else ''}{why}")


def _integer_of_text(str value, str target):
    """The int of a text ``_INT_TEXT`` matched, refusing more digits than ``target`` holds
    before converting (a 5,000-digit text would hit CPython's digit limit)."""
    if len(value.strip().lstrip("+-").lstrip("0")) > 19:
        raise _cannot(value, target, "out of range")
    return _int64(int(value), target)


# --------------------------------------------------------------------------- casts

def _to_bigint(value, str target="BIGINT"):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return _int64(value, target)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RowError(f"cannot CAST {value!r} to {target}")
        return _int64(round(value), target)
    if isinstance(value, (ScaledInteger, Decimal)):
        d = Decimal(str(value))
        if not d.is_finite():
            raise RowError(f"cannot CAST {d} to {target}")
        if d.adjusted() >= 19:      # no int() of a 10**999999999
            raise RowError(f"{brief(str(value))} is out of range for {target}")
        return _int64(_half_away(d), target)
    if isinstance(value, str):
        if _INT_TEXT.match(value):
            return _integer_of_text(value, target)
        if _DEC_TEXT.match(value):
            d = Decimal(value.strip())
            if d.adjusted() >= 19:
                raise _cannot(value, target, "out of range")
            return _int64(_half_away(d), target)
        raise _cannot(value, target)
    if isinstance(value, _dt.datetime):
        return _datetime_ms(value)
    raise _cannot(value, target)


def _to_double(value):
    if isinstance(value, (bool, int, float)):
        try:
            return float(value)
        except OverflowError:
            raise RowError(f"{_int_text(value)} is out of DOUBLE range") from None
    if isinstance(value, (ScaledInteger, Decimal)):
        result = float(value)
        if math.isinf(result) and not (isinstance(value, Decimal) and value.is_infinite()):
            raise RowError(f"{brief(str(value))} is out of DOUBLE range")
        return result
    if isinstance(value, str):
        if _FLOAT_TEXT.match(value):
            result = float(value)
            # 'inf' / 'infinity' are the only texts meant as infinite; 1e99999 overflows
            if math.isinf(result) and "inf" not in value.lower():
                raise _cannot(value, "DOUBLE", "out of DOUBLE range")
            return result
        raise _cannot(value, "DOUBLE")
    if isinstance(value, _dt.datetime):
        return float(_datetime_ms(value))
    raise _cannot(value, "DOUBLE")


def _to_decimal(value, int scale, precision):
    """CAST to DECIMAL(precision, scale), half-even; an implicit coercion (``precision`` None)
    only bounds the scale: an exact value keeps its own scale when it is at most ``scale``."""
    target = "DECIMAL" if precision is None else f"DECIMAL({precision},{scale})"
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise RowError(f"cannot CAST {value!r} to {target}")
    if isinstance(value, str) and not _DEC_TEXT.match(value):
        raise RowError(f"cannot CAST {brief(repr(value))} to {target}")
    if not isinstance(value, (float, str, int, ScaledInteger, Decimal)):
        raise RowError(f"cannot CAST a {type(value).__name__} to {target}")
    try:
        if isinstance(value, float):
            result = ScaledInteger(Decimal(value), scale)
        elif isinstance(value, str):
            result = ScaledInteger(value.strip(), scale)
        else:
            result = ScaledInteger(value)
            if precision is not None or result.scale > scale:
                result = result.rescale(scale)
    except (DecimalOverflow, OverflowError, ValueError):
        raise RowError(f"{brief(text_of(value))} is out of range for {target}") from None
    if precision is not None and abs(result.mantissa) >= 10 ** precision:
        raise RowError(f"{brief(text_of(value))} is out of range for {target}")
    return result


def _to_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return value != 0
    if isinstance(value, ScaledInteger):
        return value.mantissa != 0
    if isinstance(value, str):
        parsed = parse_boolean_text(value)
        if parsed is None:
            raise _cannot(value, "BOOLEAN")
        return parsed
    raise _cannot(value, "BOOLEAN")


def _to_timestamp(value):
    if isinstance(value, _dt.datetime):
        return _datetime_ms(value)
    if isinstance(value, str):
        try:
            return parse_timestamp_text(value)
        except TimestampError as err:
            raise _cannot(value, "TIMESTAMP", str(err)) from None
    return _to_bigint(value, "TIMESTAMP")


def converter(int src, int dst, int scale=0, precision=None, length=None, bint date=False,
              bint time=False):
    """The per-row function of ``CAST`` from physical type ``src`` to ``dst``."""
    if dst == T_INT64:
        return _to_bigint
    if dst == T_FLOAT64:
        return _to_double
    if dst == T_BOOL:
        return _to_bool
    if dst == T_DECIMAL:
        return lambda v: _to_decimal(v, scale, precision)
    if dst == T_TIMESTAMP:
        if date:
            return lambda v: _to_timestamp(v) // 86_400_000 * 86_400_000
        return _to_timestamp
    if dst == T_STRING:
        if time:
            if src == T_TIMESTAMP:
                return _time_text
            return lambda v: _time_text(_to_timestamp(v))
        if length is not None:
            return lambda v: text_of(v, src)[:length]
        return lambda v: text_of(v, src)
    return lambda v: v


# --------------------------------------------------------------------------- OBJECT operators

def _kind(value):
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, (int, float, Decimal, ScaledInteger)):
        return "number"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, _dt.datetime):
        return "TIMESTAMP"
    return type(value).__name__


def _comparable(value):
    if isinstance(value, ScaledInteger):
        return value.to_decimal()
    if isinstance(value, _dt.datetime):
        return _datetime_ms(value)
    return value


def compare_values(int op, a, b):
    """``a op b`` for two Python values (OBJECT columns): numbers with numbers (exactly), text
    with text, BOOLEAN with BOOLEAN, timestamps with timestamps; any other pair is a row error."""
    ka, kb = _kind(a), _kind(b)
    if ka != kb and not ({ka, kb} <= {"number", "TIMESTAMP"}):
        raise RowError(f"cannot compare {ka} with {kb}")
    x, y = _comparable(a), _comparable(b)
    if isinstance(x, (list, dict)) or isinstance(y, (list, dict)):
        if op == 0:
            return x == y
        if op == 1:
            return x != y
        raise RowError(f"cannot order {ka} values")
    c = (x > y) - (x < y)
    return (c == 0, c != 0, c < 0, c <= 0, c > 0, c >= 0)[op]


def comparer(int op):
    return lambda a, b: compare_values(op, a, b)


def _dec_scale(value):
    if isinstance(value, ScaledInteger):
        return value.scale
    if isinstance(value, Decimal):
        return max(-value.as_tuple().exponent, 0)
    return 0


def arith_values(int op, a, b):
    """``a op b`` (+ - * / %) for two Python values by DIALECT §3: BIGINT overflow and division
    by zero are row errors, DECIMAL stays exact with the scale rules, DOUBLE wins."""
    x, y = _number(a), _number(b)
    if x is None or y is None:
        raise RowError(f"cannot apply {'+-*/%'[op]} to {_kind(a)} and {_kind(b)}")
    if isinstance(x, float) or isinstance(y, float):
        x, y = float(x), float(y)
        if op >= 3 and y == 0:
            raise RowError("division by zero")
        if op == 3:
            r = x / y
        elif op == 4:
            r = math.fmod(x, y)
        else:
            r = (x + y, x - y, x * y)[op]
        if not math.isfinite(r) and math.isfinite(x) and math.isfinite(y):
            raise RowError("DOUBLE overflow")
        return r
    if isinstance(x, int) and isinstance(y, int):
        if op == 3:
            if y == 0:
                raise RowError("division by zero")
            return x / y
        if op == 4:
            if y == 0:
                raise RowError("division by zero")
            r = abs(x) % abs(y)
            return -r if x < 0 else r
        r = (x + y, x - y, x * y)[op]
        return _int64(r)
    sa, sb = _dec_scale(a), _dec_scale(b)
    dx, dy = Decimal(x), Decimal(y)
    if op == 0:
        r, s = _CTX.add(dx, dy), max(sa, sb)
    elif op == 1:
        r, s = _CTX.subtract(dx, dy), max(sa, sb)
    elif op == 2:
        r, s = _CTX.multiply(dx, dy), sa + sb
    else:
        if dy == 0:
            raise RowError("division by zero")
        if op == 3:
            r, s = _CTX.divide(dx, dy), max(sa, sb) + 4
        else:
            r, s = _CTX.remainder(dx, dy), max(sa, sb)
    try:
        return ScaledInteger(r, s)
    except (DecimalOverflow, OverflowError, ValueError):
        raise RowError(f"DECIMAL overflow: {a} {'+-*/%'[op]} {b}") from None


def arithmetic(int op):
    return lambda a, b: arith_values(op, a, b)


# Decimal work on OBJECT numbers: room for every digit (quantize traps rather than round past it).
_WIDE = Context(prec=MAX_DIGITS + 50, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation])
_ROUNDING_OF = {"ROUND": ROUND_HALF_UP, "FLOOR": ROUND_FLOOR, "CEIL": ROUND_CEILING}


def object_rounding(str name, int digits=0):
    """ABS, ROUND(x, digits) (half away from zero), FLOOR or CEIL of an OBJECT value: exact for
    integers and decimals of any size (an integer stays an int, a decimal a ScaledInteger when
    it fits one), the nearest double for a float."""
    mode = _ROUNDING_OF.get(name)

    def fn(v):
        if isinstance(v, bool) or not isinstance(v, (int, float, Decimal, ScaledInteger)):
            raise RowError(f"expects a number, got {_kind(v)}")
        if isinstance(v, float) and not math.isfinite(v):
            return v
        d = v.to_decimal() if isinstance(v, ScaledInteger) else Decimal(v)
        try:
            if mode is None:
                r = d.copy_abs()
            elif -d.as_tuple().exponent <= digits:
                r = d
            elif digits >= 0:
                r = d.quantize(Decimal(1).scaleb(-digits), rounding=mode, context=_WIDE)
            else:
                r = d.scaleb(digits, _WIDE).quantize(Decimal(1), rounding=mode, context=_WIDE)
                r = r.scaleb(-digits, _WIDE).quantize(Decimal(1), context=_WIDE)
        except ArithmeticError:
            raise RowError(f"{brief(text_of(v))} has more than {MAX_DIGITS} digits") from None
        if isinstance(v, float):
            return float(r)
        if isinstance(v, int):
            return int(r)
        try:
            return ScaledInteger(r)
        except (ValueError, ArithmeticError):
            return r
    return fn


# --------------------------------------------------------------------------- strings

# Job property ``max_string_bytes``: the longest string (UTF-8 bytes) a function may build. A
# function that would build a longer one fails the row, checked before the memory is taken.
DEFAULT_MAX_STRING_BYTES = 16 << 20


cdef inline Py_ssize_t _size(str s):
    """UTF-8 bytes of ``s`` (without encoding it when it is ASCII)."""
    return len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass"))


def _too_long(size, limit, bint partial=False):
    return (f"result would be {'over ' if partial else ''}{size:,} bytes, more than "
            f"max_string_bytes ({limit:,})")


cdef inline _check_size(size, Py_ssize_t limit):
    if size > limit:
        raise RowError(_too_long(size, limit))


def upper(s):
    return s.upper()


def lower(s):
    return s.lower()


def substring(s, start, length=None):
    """SUBSTRING with DuckDB's rules: 1-based; start 0 begins one before the first character;
    a negative start counts from the end; a negative length takes characters before start."""
    size = len(s)
    if length is None:
        length = 1 << 32
    if length == 0:
        return ""
    if start > 0:
        first = min(size, start - 1)
    elif start < 0:
        first = max(size + start, 0)
    else:
        first = 0
        length -= 1
        if length <= 0:
            return ""
    if length > 0:
        last = min(size, first + length)
    else:
        last = first
        first = max(0, first + length)
    return s[first:last] if first < last else ""


cdef _check_total(list parts, Py_ssize_t extra, Py_ssize_t limit):
    """Refuse a result of ``parts`` plus ``extra`` bytes over ``limit`` (before joining)."""
    cdef Py_ssize_t chars = extra
    for p in parts:
        chars += len(<str>p)
    if chars * 4 <= limit:          # a character is at most 4 bytes: surely fits
        return
    _check_size(sum([_size(p) for p in parts]) + extra, limit)


def concatenation(Py_ssize_t limit=DEFAULT_MAX_STRING_BYTES):
    """CONCAT: NULL arguments are skipped (DuckDB's concat)."""
    def concat(*parts):
        kept = [p for p in parts if p is not None]
        _check_total(kept, 0, limit)
        return "".join(kept)
    return concat


def concatenation_ws(Py_ssize_t limit=DEFAULT_MAX_STRING_BYTES):
    def concat_ws(sep, *parts):
        if sep is None:
            return None
        kept = [p for p in parts if p is not None]
        if len(kept) > 1:
            _check_total(kept, _size(sep) * (len(kept) - 1), limit)
        return sep.join(kept)
    return concat_ws


def concatenation2(Py_ssize_t limit=DEFAULT_MAX_STRING_BYTES):
    """``a || b``."""
    def concat2(a, b):
        _check_total([a, b], 0, limit)
        return a + b
    return concat2


# Unicode space separators (category Zs): what DuckDB's TRIM removes by default.
_SPACES = "".join(chr(c) for c in range(0x3001) if unicodedata.category(chr(c)) == "Zs")


def trimmer(int which):
    """TRIM (0), LTRIM (1), RTRIM (2) of spaces or of the characters given."""
    def trim(s, chars=_SPACES):
        if which == 0:
            return s.strip(chars)
        if which == 1:
            return s.lstrip(chars)
        return s.rstrip(chars)
    return trim


def replacer(Py_ssize_t limit=DEFAULT_MAX_STRING_BYTES):
    """REPLACE(s, old, new): every occurrence; the result's size is known before it is built."""
    def replace(s, old, new):
        if old == "":
            return s
        if len(new) > len(old):
            grow = _size(new) - _size(old)
            if grow > 0:
                _check_size(_size(s) + s.count(old) * grow, limit)
        return s.replace(old, new)
    return replace


def padder(bint left, Py_ssize_t limit=DEFAULT_MAX_STRING_BYTES):
    def pad(s, count, fill=" "):
        if count <= 0:
            return ""
        if len(s) >= count:
            return s[:count]
        need = count - len(s)
        if fill == "":
            raise RowError(f"insufficient padding in {'LPAD' if left else 'RPAD'}")
        if count > limit:           # every character is at least one byte
            raise RowError(_too_long(count, limit))
        q, r = divmod(need, len(fill))
        _check_size(_size(s) + q * _size(fill) + _size(fill[:r]), limit)
        padding = fill * q + fill[:r]
        return padding + s if left else s + padding
    return pad


def split_part(s, delim, index):
    parts = s.split(delim) if delim else list(s)
    if index > 0 and index <= len(parts):
        return parts[index - 1]
    if index < 0 and -index <= len(parts):
        return parts[index]
    return ""


def position(needle, s):
    return s.find(needle) + 1


def left(s, n):
    return s[:n] if n >= 0 else s[:max(len(s) + n, 0)]


def right(s, n):
    if n >= 0:
        return s[max(len(s) - n, 0):] if n else ""
    return s[-n:]


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False     # a bad pattern is reported as a row or validation error
_PATTERN_CACHE_SIZE = 64            # per REGEXP_REPLACE call site, for patterns read from rows


def _unsupported_hint(str reason):
    if re.search(r"invalid escape sequence: \\[1-9]", reason):
        return "; backreferences (\\1) are not supported in a pattern"
    if re.search(r"invalid perl operator: \(\?<?[=!]", reason):
        return "; lookahead and lookbehind are not supported"
    return ""


def compile_regex(str pattern):
    """``pattern`` compiled by RE2: matching is linear in the text, whatever the pattern (so a
    pattern read from the data cannot hang a job). RE2 syntax is Perl's without backreferences
    and lookaround; a pattern it refuses raises :class:`RowError` saying why."""
    try:
        return re2.compile(pattern.encode("utf-8", "surrogatepass"), _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "rejected"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise RowError(f"invalid regular expression {pattern!r}: {reason}"
                       f"{_unsupported_hint(reason)} (RE2 syntax)") from None


def parse_replacement(str repl, int groups=-1):
    """REGEXP_REPLACE replacement text (RE2's rewrite syntax, as DuckDB): ``\\0`` is the whole
    match, ``\\1``..``\\9`` a group, ``\\\\`` a backslash; anything else (``$1`` too) is literal.
    Pieces are UTF-8 bytes or group numbers; a group the pattern does not have (when
    ``groups`` >= 0) raises :class:`RowError`."""
    cdef list pieces = []
    cdef list literal = []
    cdef Py_ssize_t i = 0, n = len(repl)
    while i < n:
        c = repl[i]
        if c == "\\" and i + 1 < n and (repl[i + 1] == "\\" or "0" <= repl[i + 1] <= "9"):
            nxt = repl[i + 1]
            if nxt == "\\":
                literal.append("\\")
            else:
                if groups >= 0 and int(nxt) > groups:
                    raise RowError(f"replacement {repl!r} refers to group \\{nxt} but the "
                                   f"pattern has {groups} group{'s' if groups != 1 else ''}")
                if literal:
                    pieces.append("".join(literal).encode("utf-8", "surrogatepass"))
                    literal = []
                pieces.append(int(nxt))
            i += 2
        else:
            literal.append(c)
            i += 1
    if literal:
        pieces.append("".join(literal).encode("utf-8", "surrogatepass"))
    return pieces


cdef inline Py_ssize_t _u8len(unsigned char c):
    return 1 if c < 0xC0 else 2 if c < 0xE0 else 3 if c < 0xF0 else 4


def _replace_all(rx, list pieces, str s, Py_ssize_t limit):
    """Every non-overlapping match of ``rx`` in ``s`` replaced (as ksqlDB and Flink do), left to
    right; an empty match steps over one character. Works on the UTF-8 bytes so that RE2's
    offsets need no translation; the result is refused once it passes ``limit`` bytes, before
    it is built."""
    cdef bytes data = s.encode("utf-8", "surrogatepass")
    cdef Py_ssize_t n = len(data), pos = 0, last = 0, size = 0, st, en, k
    cdef list out = []
    while pos <= n:
        m = rx.search(data, pos)
        if m is None:
            break
        st, en = m.span()
        out.append(data[last:st])
        size += st - last
        for p in pieces:
            if type(p) is bytes:
                out.append(p)
                size += len(<bytes>p)
            else:
                g = m.group(p)
                if g is not None:
                    out.append(g)
                    size += len(<bytes>g)
        if size > limit:
            raise RowError(_too_long(size, limit, True))
        if en > st:
            last = pos = en
        elif st >= n:
            last = n
            break
        else:
            k = _u8len(data[st])
            last, pos = st, st + k
    out.append(data[last:])
    size += n - last
    if size > limit:
        raise RowError(_too_long(size, limit))
    return b"".join(out).decode("utf-8", "surrogatepass")


def _max_group(list pieces):
    return max([p for p in pieces if type(p) is int], default=0)


def regexp_replacer(pattern=None, repl=None, Py_ssize_t limit=DEFAULT_MAX_STRING_BYTES):
    """REGEXP_REPLACE(s, pattern, replacement): every match replaced (RE2, linear time); see
    :func:`parse_replacement` for ``\\1``. A constant pattern or replacement is compiled once;
    patterns read from rows are compiled once per distinct pattern (a small cache)."""
    compiled = compile_regex(pattern) if pattern is not None else None
    pieces = (parse_replacement(repl, compiled.groups if compiled is not None else -1)
              if repl is not None else None)
    wanted = _max_group(pieces) if pieces is not None else 0
    cache = {}

    def regexp_replace(s, *rest):
        rx, rp, k = compiled, pieces, 0
        if rx is None:
            rx = cache.get(rest[0])
            if rx is None:
                if len(cache) >= _PATTERN_CACHE_SIZE:
                    cache.clear()
                rx = cache[rest[0]] = compile_regex(rest[0])
            if wanted > rx.groups:
                parse_replacement(repl, rx.groups)   # raises, naming the missing group
            k = 1
        if rp is None:
            rp = parse_replacement(rest[k], rx.groups)
        return _replace_all(rx, rp, s, limit)
    return regexp_replace


# --------------------------------------------------------------------------- time

def date_format(ms, fmt):
    """DATE_FORMAT(ts, fmt) with strftime directives, in UTC."""
    return to_datetime(ms).strftime(fmt)


# --------------------------------------------------------------------------- JSON

_PATH_KEY = re.compile(r"[^.\[\]]+")


def parse_json_path(path):
    """``$.a.b[0]['c d']`` into steps (str keys, int array positions, 0-based)."""
    if not path.startswith("$"):
        raise ValueError(f"JSON path {path!r} must start with '$'")
    steps, i, n = [], 1, len(path)
    while i < n:
        c = path[i]
        if c == ".":
            i += 1
            if i < n and path[i] in "\"'":
                end = path.find(path[i], i + 1)
                if end < 0:
                    raise ValueError(f"unterminated quoted key in JSON path {path!r}")
                steps.append(path[i + 1:end])
                i = end + 1
                continue
            m = _PATH_KEY.match(path, i)
            if m is None or m.group() == "*":
                raise ValueError(f"bad key at position {i + 1} of JSON path {path!r}")
            steps.append(m.group())
            i = m.end()
        elif c == "[":
            end = path.find("]", i)
            if end < 0:
                raise ValueError(f"unterminated '[' in JSON path {path!r}")
            inner = path[i + 1:end].strip()
            # No negative indices: the module is compiled with wraparound=False.
            if len(inner) >= 2 and inner[0] in ("'", '"') and inner.endswith(inner[0]):
                steps.append(inner[1:len(inner) - 1])
            else:
                try:
                    steps.append(int(inner))
                except ValueError:
                    raise ValueError(f"bad array index {inner!r} in JSON path {path!r}") from None
            i = end + 1
        else:
            raise ValueError(f"unexpected {c!r} at position {i + 1} of JSON path {path!r}")
    return steps


def _json_root(doc):
    if isinstance(doc, (str, bytes)):
        try:
            return orjson.loads(doc)
        except orjson.JSONDecodeError:
            return _MISSING
    return doc


def _walk(value, steps):
    for step in steps:
        if isinstance(step, int):
            if isinstance(value, (list, tuple)) and -len(value) <= step < len(value):
                value = value[step]
            else:
                return _MISSING
        elif isinstance(value, dict):
            value = value.get(step, _MISSING)
            if value is _MISSING:
                return _MISSING
        else:
            return _MISSING
    return value


def json_value(path):
    """JSON_VALUE(doc, path): the scalar at ``path`` as text; NULL for a missing path, an
    object or array, JSON null, or a document that is not JSON (NULL ON ERROR)."""
    steps = parse_json_path(path)

    def fn(doc):
        value = _walk(_json_root(doc), steps)
        if value is _MISSING or value is None or isinstance(value, (dict, list, tuple)):
            return None
        return text_of(value)
    return fn


def json_extract(path):
    """JSON_EXTRACT / JSON_QUERY(doc, path): the JSON text of the value at ``path``."""
    steps = parse_json_path(path)

    def fn(doc):
        value = _walk(_json_root(doc), steps)
        if value is _MISSING:
            return None
        return json_text(value)
    return fn


def json_exists(path):
    steps = parse_json_path(path)

    def fn(doc):
        return _walk(_json_root(doc), steps) is not _MISSING
    return fn


# --------------------------------------------------------------------------- Kafka, nested

def header_value(headers, key):
    """HEADER('k'): the (last) value of header ``k`` as text, or None."""
    if headers is None:
        return None
    found = None
    if isinstance(headers, dict):
        found = headers.get(key)
    else:
        for item in headers:
            if item[0] == key:
                found = item[1]
    if found is None:
        return None
    if isinstance(found, (bytes, bytearray, memoryview)):
        return bytes(found).decode("utf-8", "replace")
    return text_of(found)


def subscript(container, index):
    """``a[i]`` (1-based; negative counts from the end) on arrays and text, ``m['k']`` on maps."""
    if isinstance(container, dict):
        if index in container:
            return container[index]
        return container.get(str(index)) if not isinstance(index, str) else None
    if isinstance(container, (list, tuple, str)):
        if isinstance(index, bool) or not isinstance(index, int):
            raise RowError(f"array index must be an integer, not {_kind(index)}")
        size = len(container)
        if 1 <= index <= size:
            return container[index - 1]
        if -size <= index <= -1:
            return container[index]
        return None
    raise RowError(f"cannot subscript a {_kind(container)} value")


def field(name):
    """``s.field`` on a map/struct value: exact key, else a case-insensitive match; NULL when
    absent or when the value is not a map."""
    lowered = name.lower()

    def fn(container):
        if not isinstance(container, dict):
            return None
        if name in container:
            return container[name]
        for key, value in container.items():
            if isinstance(key, str) and key.lower() == lowered:
                return value
        return None
    return fn


def identity(value):
    return value


__all__ = [
    "RowError",
    "arith_values",
    "compare_values",
    "converter",
    "format_timestamp",
    "parse_json_path",
    "text_of",
]
