# cython: language_level=3
"""``ScaledInteger``, velostream's exact DECIMAL value: a mantissa and a uint8 scale.

This module owns the Python-facing class, its exceptions ``DecimalOverflow`` and
``DecimalDivisionByZero``, the exported C functions declared in ``decimal.pxd`` (parse, format,
box, raise) and ``dot_scaled``, a typed batch kernel. The int64 arithmetic itself lives in the
``.pxd`` as inline ``nogil`` functions so that operator modules compile it into their loops.

Two representations, one value type:

- *narrow* (the common case): an int64 mantissa in a C field, arithmetic in C with 128-bit
  intermediates;
- *wide*: when an exact result does not fit int64 the mantissa is kept as a Python int and the
  operation is redone with Python ints. Never a silent wrap, never a float. A wide result that
  fits int64 again is stored narrow, so the representation of a value is unique.

``DecimalOverflow`` remains for what no representation holds: a scale above 38, a mantissa of
more than ``MAX_DIGITS`` digits, or a value that does not fit the ``DECIMAL(p, s)`` of ``cast``.
"""

cimport cython
from cpython.object cimport Py_EQ, Py_GT, Py_LE, Py_LT, Py_NE, PyObject_RichCompare
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdint cimport INT64_MAX, int64_t, uint8_t, uint64_t

import decimal as _pydecimal
import math as _math
import sys as _sys
from fractions import Fraction
from operator import index as _index

from velostream.errors import VelostreamError

__all__ = [
    "DecimalDivisionByZero", "DecimalOverflow", "MAX_DIGITS", "MAX_SCALE", "ROUNDING_MODES",
    "ScaledInteger", "dot_scaled",
]

MAX_SCALE = SI_MAX_SCALE
MAX_DIGITS = SI_MAX_DIGITS


class DecimalOverflow(VelostreamError, OverflowError):
    """A DECIMAL value or result cannot be represented: a scale above 38, a mantissa of more
    than ``MAX_DIGITS`` digits, or more integer digits than a ``DECIMAL(p, s)`` target allows.

    Raised instead of wrapping around or turning the value into a float. (A result that merely
    leaves the 64-bit mantissa is not an overflow: it widens.)
    """


class DecimalDivisionByZero(VelostreamError, ZeroDivisionError):
    """DECIMAL ``/`` or ``%`` by zero (an error of the record, DIALECT §3)."""


cdef object _Decimal = _pydecimal.Decimal
cdef object _InvalidOperation = _pydecimal.InvalidOperation
# Other numbers compare with a ScaledInteger through Decimal, which compares exactly with each.
cdef tuple _VIA_DECIMAL = (_pydecimal.Decimal, float, Fraction)
# Exact Decimal work on at most SI_MAX_DIGITS digits (plus room): quantize to a scale traps
# (InvalidOperation) instead of rounding when the result has more digits than that.
cdef object _QUANTIZE_CTX = _pydecimal.Context(
    prec=SI_MAX_DIGITS, rounding=_pydecimal.ROUND_HALF_EVEN, Emax=_pydecimal.MAX_EMAX,
    Emin=_pydecimal.MIN_EMIN, traps=[_pydecimal.InvalidOperation])
cdef object _EXACT_CTX = _pydecimal.Context(
    prec=SI_MAX_DIGITS + 2, Emax=_pydecimal.MAX_EMAX, Emin=_pydecimal.MIN_EMIN,
    traps=[_pydecimal.InvalidOperation, _pydecimal.Inexact])
cdef list _QUANTUM = [_Decimal((0, (1,), -s)) for s in range(SI_MAX_SCALE + 1)]

# Python-int powers of ten for the wide path (scale differences reach 2 * 38 in division).
cdef list _PY_POW10 = [(<object>10) ** k for k in range(2 * SI_MAX_SCALE + 8)]
# (<object>: a C int power would overflow.)
cdef object _BIG_LIMIT = (<object>10) ** SI_MAX_DIGITS
cdef object _INT64_MIN = -((<object>2) ** 63)
cdef object _INT64_MAX = (<object>2) ** 63 - 1
cdef object _HASH_P = _sys.hash_info.modulus
cdef object _HASH_INV10 = pow(10, _HASH_P - 2, _HASH_P)

# 10.0**k for k <= 22 are exact doubles, so m / 10**k with |m| <= 2**53 rounds once, correctly.
cdef double _DPOW10[23]
_DPOW10[0] = 1.0
for _k in range(1, 23):
    _DPOW10[_k] = _DPOW10[_k - 1] * 10.0
del _k

# Names accepted for ``rounding=``: ours, and the decimal module's ROUND_* constants.
ROUNDING_MODES = {
    "half_even": SI_ROUND_HALF_EVEN,
    "half_up": SI_ROUND_HALF_UP,
    "half_down": SI_ROUND_HALF_DOWN,
    "down": SI_ROUND_DOWN,
    "up": SI_ROUND_UP,
    "floor": SI_ROUND_FLOOR,
    "ceiling": SI_ROUND_CEILING,
}
cdef dict _ROUNDING = dict(ROUNDING_MODES)
_ROUNDING.update({
    _pydecimal.ROUND_HALF_EVEN: SI_ROUND_HALF_EVEN,
    _pydecimal.ROUND_HALF_UP: SI_ROUND_HALF_UP,
    _pydecimal.ROUND_HALF_DOWN: SI_ROUND_HALF_DOWN,
    _pydecimal.ROUND_DOWN: SI_ROUND_DOWN,
    _pydecimal.ROUND_UP: SI_ROUND_UP,
    _pydecimal.ROUND_FLOOR: SI_ROUND_FLOOR,
    _pydecimal.ROUND_CEILING: SI_ROUND_CEILING,
})


# --- exported C API (see decimal.pxd) ------------------------------------------------------------

cdef inline bint _is_space(char c) noexcept nogil:
    return c == c' ' or c == c'\t' or c == c'\n' or c == c'\r' or c == c'\f' or c == c'\v'


cdef si_status si_parse(const char* p, Py_ssize_t n, si_t* out) noexcept nogil:
    cdef Py_ssize_t i = 0
    cdef bint neg = False, point = False, too_big = False, eneg = False
    # Magnitudes up to 2**63 are accepted while reading; the sign decides at the end.
    cdef uint64_t mag = 0, limit = (<uint64_t>1) << 63
    cdef int ndigits = 0, frac = 0, edigits = 0, dig
    cdef int64_t exp = 0, scale
    cdef char c
    while n > 0 and _is_space(p[n - 1]):
        n -= 1
    while i < n and _is_space(p[i]):
        i += 1
    if i < n and (p[i] == c'+' or p[i] == c'-'):
        neg = p[i] == c'-'
        i += 1
    while i < n:
        c = p[i]
        if c'0' <= c <= c'9':
            dig = c - c'0'
            if not too_big:
                if mag > (limit - <uint64_t>dig) // 10:
                    too_big = True
                else:
                    mag = mag * 10 + <uint64_t>dig
            ndigits += 1
            if point:
                frac += 1
        elif c == c'.' and not point:
            point = True
        else:
            break
        i += 1
    if ndigits == 0:
        return SI_SYNTAX
    if i < n and (p[i] == c'e' or p[i] == c'E'):
        i += 1
        if i < n and (p[i] == c'+' or p[i] == c'-'):
            eneg = p[i] == c'-'
            i += 1
        while i < n and c'0' <= p[i] <= c'9':
            # Saturate: any exponent this large is an overflow or a scale error anyway.
            if exp < 1000000:
                exp = exp * 10 + (p[i] - c'0')
            edigits += 1
            i += 1
        if edigits == 0:
            return SI_SYNTAX
        if eneg:
            exp = -exp
    if i != n:
        return SI_SYNTAX
    if too_big or (not neg and mag > <uint64_t>INT64_MAX):
        return SI_OVERFLOW
    if neg and mag != 0:
        out.m = -<int64_t>(mag - 1) - 1     # reaches INT64_MIN without overflowing
    else:
        out.m = <int64_t>mag
    scale = frac - exp
    if scale < 0:
        if out.m != 0 and (scale < -18 or vs_mul_i64(out.m, <int64_t>vs_upow10[-scale], &out.m)):
            return SI_OVERFLOW
        scale = 0
    if scale > SI_MAX_SCALE:
        return SI_SCALE
    out.s = <uint8_t>scale
    return SI_OK


cdef Py_ssize_t si_format(si_t a, char* buf) noexcept nogil:
    # Digits least significant first; at least scale + 1 of them so "0." precedes fractions.
    cdef char digits[SI_MAX_SCALE + 2]
    cdef uint64_t mag = vs_mag_i64(a.m)
    cdef int nd = 0, i
    cdef Py_ssize_t k = 0
    while True:
        digits[nd] = <char>(c'0' + <int>(mag % 10))
        nd += 1
        mag //= 10
        if mag == 0:
            break
    while nd <= a.s:
        digits[nd] = c'0'
        nd += 1
    if a.m < 0:
        buf[k] = c'-'
        k += 1
    i = nd - 1
    while i >= a.s:
        buf[k] = digits[i]
        k += 1
        i -= 1
    if a.s > 0:
        buf[k] = c'.'
        k += 1
        while i >= 0:
            buf[k] = digits[i]
            k += 1
            i -= 1
    buf[k] = 0
    return k


cdef ScaledInteger si_box(si_t v):
    # __new__ skips __init__: no argument parsing on the arithmetic path.
    cdef ScaledInteger r = ScaledInteger.__new__(ScaledInteger)
    r._m = v.m
    r.scale = v.s
    return r


cdef ScaledInteger si_box_parts(object mantissa, int scale):
    cdef ScaledInteger r
    if scale < 0 or scale > SI_MAX_SCALE:
        raise DecimalOverflow(f"DECIMAL scale {scale} is outside 0..{SI_MAX_SCALE}")
    r = ScaledInteger.__new__(ScaledInteger)
    r.scale = <uint8_t>scale
    if _INT64_MIN <= mantissa <= _INT64_MAX:
        r._m = mantissa
    else:
        if not -_BIG_LIMIT < mantissa < _BIG_LIMIT:
            raise DecimalOverflow(f"DECIMAL value has more than {SI_MAX_DIGITS} digits")
        r._big = int(mantissa)
    return r


cdef int si_raise(si_status st) except -1:
    if st == SI_OK:
        return 0
    if st == SI_OVERFLOW:
        raise DecimalOverflow("DECIMAL result does not fit a 64-bit mantissa")
    if st == SI_SCALE:
        raise DecimalOverflow(f"DECIMAL result scale exceeds {SI_MAX_SCALE}")
    if st == SI_DIVZERO:
        raise DecimalDivisionByZero("DECIMAL division by zero")
    if st == SI_PRECISION:
        raise DecimalOverflow("DECIMAL value has more integer digits than its type allows")
    raise ValueError("invalid DECIMAL literal")


# --- the wide (Python int) path -------------------------------------------------------------------

cdef inline object _pow10(int k):
    return _PY_POW10[k] if k < len(_PY_POW10) else (<object>10) ** k


cdef inline object _mantissa(ScaledInteger x):
    return x._m if x._big is None else x._big


cdef object _round_div(object n, object d, int mode):
    """``n / d`` rounded by ``mode`` (Python ints, ``d`` > 0)."""
    cdef bint neg = n < 0
    cdef int cmp
    q, r = divmod(-n if neg else n, d)
    if r:
        twice = r * 2
        cmp = (twice > d) - (twice < d)
        if vs_round_away(mode, neg, q & 1, cmp, True):
            q += 1
    return -q if neg else q


cdef ScaledInteger _rescale(ScaledInteger x, int s, int mode):
    """``x`` at scale ``s`` (0..38), rounded by ``mode`` when digits are dropped; widens."""
    cdef si_t r
    if s == x.scale:
        return x
    if x._big is None and si_rescale_mode(si_unbox(x), s, <si_rounding>mode, &r) == SI_OK:
        return si_box(r)
    m = _mantissa(x)
    if s > x.scale:
        return si_box_parts(m * _pow10(s - x.scale), s)
    return si_box_parts(_round_div(m, _pow10(x.scale - s), mode), s)


cdef enum _Op:
    _ADD, _SUB, _MUL, _DIV, _MOD

cdef tuple _OP_TEXT = ("+", "-", "*", "/", "%")


cdef ScaledInteger _wide_op(int op, object a, object b):
    """``a op b`` with Python-int mantissas; ``a`` and ``b`` are ScaledInteger or int."""
    if type(a) is ScaledInteger:
        ma = _mantissa(<ScaledInteger>a)
        sa = (<ScaledInteger>a).scale
    else:
        ma = int(a)
        sa = 0
    if type(b) is ScaledInteger:
        mb = _mantissa(<ScaledInteger>b)
        sb = (<ScaledInteger>b).scale
    else:
        mb = int(b)
        sb = 0
    if op == _MUL:
        if sa + sb > SI_MAX_SCALE:
            raise DecimalOverflow(
                f"DECIMAL overflow: {a} * {b} needs a scale above {SI_MAX_SCALE}")
        return si_box_parts(ma * mb, sa + sb)
    if (op == _DIV or op == _MOD) and mb == 0:
        raise DecimalDivisionByZero(f"DECIMAL division by zero: {a} {_OP_TEXT[op]} {b}")
    if op == _DIV:
        s = min(max(sa, sb) + 4, SI_MAX_SCALE)
        n = ma * _pow10(s - sa + sb)
        if mb < 0:
            n = -n
            mb = -mb
        return si_box_parts(_round_div(n, mb, SI_ROUND_HALF_EVEN), s)
    s = max(sa, sb)
    ma = ma * _pow10(s - sa)
    mb = mb * _pow10(s - sb)
    if op == _ADD:
        return si_box_parts(ma + mb, s)
    if op == _SUB:
        return si_box_parts(ma - mb, s)
    r = abs(ma) % abs(mb)
    return si_box_parts(-r if ma < 0 else r, s)


cdef int _wide_cmp(object a, object b) except -2:
    """sign(a - b) for ScaledInteger / int operands, with Python ints."""
    if type(a) is ScaledInteger:
        ma = _mantissa(<ScaledInteger>a)
        sa = (<ScaledInteger>a).scale
    else:
        ma = int(a)
        sa = 0
    if type(b) is ScaledInteger:
        mb = _mantissa(<ScaledInteger>b)
        sb = (<ScaledInteger>b).scale
    else:
        mb = int(b)
        sb = 0
    if sa < sb:
        ma = ma * _pow10(sb - sa)
    elif sb < sa:
        mb = mb * _pow10(sa - sb)
    return (ma > mb) - (ma < mb)


cdef str _format_wide(object m, int s):
    digits = str(-m if m < 0 else m)
    if s:
        digits = digits.rjust(s + 1, "0")
        digits = digits[:-s] + "." + digits[-s:]
    return "-" + digits if m < 0 else digits


# --- conversions from Python values ---------------------------------------------------------------

cdef int _check_scale(object scale, str what="scale") except -2:
    if isinstance(scale, bool) or not isinstance(scale, int):
        raise TypeError(f"{what} must be an int, not {type(scale).__name__}")
    if not 0 <= scale <= SI_MAX_SCALE:
        raise ValueError(f"{what} must be between 0 and {SI_MAX_SCALE}, got {scale}")
    return scale


cdef int _rounding_mode(object rounding) except -1:
    try:
        return _ROUNDING[rounding]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown rounding {rounding!r}; use one of {', '.join(ROUNDING_MODES)}") from None


cdef ScaledInteger _from_decimal(object d, int target, object shown):
    """A ``decimal.Decimal``, exactly; at scale ``target`` (half-even) when ``target`` >= 0."""
    if not d.is_finite():
        raise ValueError(f"DECIMAL cannot hold {shown!r}")
    if target >= 0:
        try:
            d = d.quantize(_QUANTUM[target], context=_QUANTIZE_CTX)
        except _InvalidOperation:
            raise DecimalOverflow(
                f"{shown!r} at scale {target} has more than {SI_MAX_DIGITS} digits") from None
    _sign, digits, exp = d.as_tuple()
    scale = -exp if exp < 0 else 0
    if scale > SI_MAX_SCALE:
        raise ValueError(f"{shown!r} has scale {scale}; DECIMAL allows at most {SI_MAX_SCALE}")
    # Decimal digits have no leading zeros: the digit count bounds the size before any int().
    if digits != (0,) and len(digits) + max(exp, 0) > SI_MAX_DIGITS:
        raise DecimalOverflow(f"{shown!r} has more than {SI_MAX_DIGITS} digits")
    return si_box_parts(int(d.scaleb(scale, context=_EXACT_CTX)) if scale else int(d), scale)


cdef ScaledInteger _from_text(str text, int target, object shown):
    cdef si_t v
    cdef Py_ssize_t n
    cdef const char* p = PyUnicode_AsUTF8AndSize(text, &n)
    cdef si_status st = si_parse(p, n, &v)
    if st == SI_OK:
        return si_box(v) if target < 0 else _rescale(si_box(v), target, SI_ROUND_HALF_EVEN)
    if st == SI_SYNTAX:
        raise ValueError(f"invalid DECIMAL literal: {shown!r}")
    # Valid ASCII syntax with more digits than int64 holds, or a scale above 38 (which a target
    # scale may round away): Decimal decides exactly, and the error messages come from one place.
    try:
        d = _Decimal(text)
    except _InvalidOperation:
        # An exponent past what Decimal itself can hold (8E29044444400000000000004): far
        # beyond any DECIMAL, and Decimal's own message names only its exception class.
        raise DecimalOverflow(f"{shown!r} is out of DECIMAL range") from None
    return _from_decimal(d, target, shown)


cdef ScaledInteger _coerce(object value, int target):
    """``value`` as a ScaledInteger, exact; at scale ``target`` (half-even) when >= 0."""
    cdef si_t v
    cdef ScaledInteger r
    if type(value) is ScaledInteger:
        r = value
    elif isinstance(value, str):
        return _from_text(value, target, value)
    elif isinstance(value, float):
        # Documented rule: the shortest repr that round-trips (repr(0.1) == "0.1"), so the
        # DECIMAL is the number the float prints as, not its binary expansion.
        if not _math.isfinite(value):
            raise ValueError(f"DECIMAL cannot hold the float {value!r}")
        return _from_text(float.__repr__(value), target, value)
    elif isinstance(value, int):
        try:
            v.m = value
            v.s = 0
            r = si_box(v)
        except OverflowError:
            r = si_box_parts(int(value), 0)
    elif isinstance(value, _Decimal):
        return _from_decimal(value, target, value)
    else:
        raise TypeError(f"cannot make a ScaledInteger from {type(value).__name__}")
    if target < 0:
        return r
    return _rescale(r, target, SI_ROUND_HALF_EVEN)


cdef inline int _operand(object x, si_t* out) except -1:
    """Load an arithmetic operand: 1 when it is narrow (in ``*out``), 2 when it needs the wide
    path, 0 for types ScaledInteger does not mix with (floats are not exact)."""
    if type(x) is ScaledInteger:
        if (<ScaledInteger>x)._big is not None:
            return 2
        out[0] = si_unbox(<ScaledInteger>x)
        return 1
    if isinstance(x, int):
        try:
            out.m = x
        except OverflowError:
            return 2
        out.s = 0
        return 1
    return 0


cdef object _binary(int op, object a, object b):
    """``a op b`` where one of them is a ScaledInteger: C fast path, wide fallback."""
    cdef si_t x, y, r
    cdef si_status st
    cdef int ka = _operand(a, &x)
    cdef int kb = _operand(b, &y)
    if ka == 0 or kb == 0:
        return NotImplemented
    if ka == 1 and kb == 1:
        if op == _ADD:
            st = si_add(x, y, &r)
        elif op == _SUB:
            st = si_sub(x, y, &r)
        elif op == _MUL:
            st = si_mul(x, y, &r)
        elif op == _DIV:
            st = si_div(x, y, &r)
        else:
            st = si_mod(x, y, &r)
        if st == SI_OK:
            return si_box(r)
        # Overflow widens; scale and zero-division errors are raised by the wide path too,
        # with the operands in the message.
    return _wide_op(op, a, b)


# --- the Python type ------------------------------------------------------------------------------

@cython.freelist(64)
@cython.no_gc
cdef class ScaledInteger:
    """An exact decimal ``mantissa / 10**scale`` with 0 <= scale <= 38.

    ``ScaledInteger(value, scale=None)`` takes a ``str`` ("123.4500" keeps scale 4), an
    ``int``, a ``decimal.Decimal`` or another ``ScaledInteger``, exactly, or a ``float`` by its
    shortest repr (``ScaledInteger(0.1) == ScaledInteger("0.1")``; NaN and infinities are
    refused). With ``scale`` the value is brought to that scale, rounding half-even when digits
    are dropped.

    ``+`` and ``-`` give the larger of the two scales, ``*`` the sum of the scales, ``/`` the
    larger scale + 4 (at most 38) rounded half-even, ``%`` (SQL: sign of the dividend) the larger
    scale; ``int`` operands count as scale 0, floats do not mix. Results are exact: a mantissa
    that leaves int64 is kept as a Python int (up to ``MAX_DIGITS`` digits). Comparison and
    hashing are by value (12.5 == 12.50) and agree with ``Decimal``, ``int``, ``float`` and
    ``Fraction``.
    """

    def __init__(self, value, scale=None):
        cdef int target = -1 if scale is None else _check_scale(scale)
        cdef ScaledInteger v = _coerce(value, target)
        self._m = v._m
        self._big = v._big
        self.scale = v.scale

    @classmethod
    def from_parts(cls, mantissa, scale):
        """The value ``mantissa / 10**scale`` (any int mantissa)."""
        cdef int s = _check_scale(scale)
        if isinstance(mantissa, bool) or not isinstance(mantissa, int):
            raise TypeError(f"mantissa must be an int, not {type(mantissa).__name__}")
        return si_box_parts(mantissa, s)

    @property
    def mantissa(self):
        """The exact integer mantissa (a Python int: wide values included)."""
        return self._m if self._big is None else self._big

    @property
    def is_wide(self):
        """Whether the mantissa is held as a Python int (it does not fit int64)."""
        return self._big is not None

    # --- conversions ------------------------------------------------------------------------------

    def to_decimal(self):
        """The same value as a ``decimal.Decimal``, with the same scale (exponent -scale)."""
        return _Decimal(str(self))

    def as_integer_ratio(self):
        """``(numerator, denominator)`` in lowest terms, denominator positive."""
        m = self.mantissa
        d = _pow10(self.scale)
        g = _math.gcd(m, d)
        return (m // g, d // g)

    def __str__(self):
        cdef char buf[SI_FORMAT_BUFSIZE]
        cdef Py_ssize_t n
        if self._big is not None:
            return _format_wide(self._big, self.scale)
        n = si_format(si_unbox(self), buf)
        return buf[:n].decode("ascii")

    def __repr__(self):
        return f"ScaledInteger('{self}')"

    def __format__(self, spec):
        return str(self) if not spec else format(self.to_decimal(), spec)

    def __reduce__(self):
        return (ScaledInteger.from_parts, (self.mantissa, self.scale))

    def __float__(self):
        """The nearest double (correctly rounded)."""
        if (self._big is None and self.scale <= 22
                and vs_mag_i64(self._m) <= (<uint64_t>1) << 53):
            return <double>self._m / _DPOW10[self.scale]
        return float(str(self))

    def __int__(self):
        """Truncates toward zero, like ``int(Decimal)``."""
        cdef uint64_t q
        if self._big is not None:
            m = self._big
            q_big = (-m if m < 0 else m) // _pow10(self.scale)
            return -q_big if m < 0 else q_big
        if self.scale == 0:
            return self._m
        if self.scale > 19:
            return 0
        # On the magnitude, so C's and Python's division conventions cannot differ.
        q = vs_mag_i64(self._m) // vs_upow10[self.scale]
        return -<int64_t>q if self._m < 0 else <int64_t>q

    def __trunc__(self):
        return self.__int__()

    def __floor__(self):
        return _rescale(self, 0, SI_ROUND_FLOOR).mantissa

    def __ceil__(self):
        return _rescale(self, 0, SI_ROUND_CEILING).mantissa

    def __bool__(self):
        return self._big is not None or self._m != 0

    # --- rounding ---------------------------------------------------------------------------------

    def rescale(self, scale, rounding="half_even"):
        """This value at ``scale`` (0..38): exact when raising the scale, rounded by
        ``rounding`` ("half_even", "half_up", "half_down", "down", "up", "floor", "ceiling" or
        a ``decimal.ROUND_*`` constant) when lowering it. Widens rather than overflows."""
        return _rescale(self, _check_scale(scale), _rounding_mode(rounding))

    def cast(self, precision, scale, rounding="half_even"):
        """SQL ``CAST(self AS DECIMAL(precision, scale))``: rescale (half-even by default), then
        DecimalOverflow when more than ``precision - scale`` integer digits remain."""
        cdef si_t r
        cdef si_status st
        cdef int p = _check_scale(precision, "precision")
        cdef int s = _check_scale(scale, "scale")
        cdef int mode = _rounding_mode(rounding)
        if p < 1 or s > p:
            raise ValueError(f"DECIMAL({precision}, {scale}): need 1 <= precision <= "
                             f"{SI_MAX_SCALE} and 0 <= scale <= precision")
        if self._big is None:
            st = si_cast(si_unbox(self), p, s, <si_rounding>mode, &r)
            if st == SI_OK:
                return si_box(r)
            if st != SI_OVERFLOW:
                raise DecimalOverflow(f"{self} does not fit DECIMAL({p}, {s})")
        result = _rescale(self, s, mode)
        if not -_pow10(p) < result.mantissa < _pow10(p):
            raise DecimalOverflow(f"{self} does not fit DECIMAL({p}, {s})")
        return result

    def __round__(self, ndigits=None):
        """Python's ``round``, half-even: an int without ``ndigits``; else a ScaledInteger at
        scale ``ndigits`` (0..38), or for negative ``ndigits`` rounded to a multiple of
        10**-ndigits at scale 0, like ``round(Decimal)``."""
        if ndigits is None:
            return _rescale(self, 0, SI_ROUND_HALF_EVEN).mantissa
        n = _index(ndigits)
        if n >= 0:
            return _rescale(self, _check_scale(n, "ndigits"), SI_ROUND_HALF_EVEN)
        unit = 10 ** -n
        return si_box_parts(
            _round_div(self.mantissa, _pow10(self.scale) * unit, SI_ROUND_HALF_EVEN) * unit, 0)

    # --- comparison and hashing -------------------------------------------------------------------

    def __hash__(self):
        if self._big is None:
            return si_hash(si_unbox(self))
        m = self._big
        # Python's numeric hash, as hash(Decimal) computes it.
        h = (-m if m < 0 else m) % _HASH_P * pow(_HASH_INV10, self.scale, _HASH_P) % _HASH_P
        if m < 0:
            h = -h
        return -2 if h == -1 else h

    def __richcmp__(self, other, int op):
        cdef si_t b
        cdef int c
        if self._big is None and _operand(other, &b) == 1:
            c = si_cmp(si_unbox(self), b)
        elif isinstance(other, (ScaledInteger, int)):
            c = _wide_cmp(self, other)
        elif isinstance(other, _VIA_DECIMAL):
            return PyObject_RichCompare(self.to_decimal(), other, op)
        else:
            return NotImplemented
        if op == Py_EQ:
            return c == 0
        if op == Py_NE:
            return c != 0
        if op == Py_LT:
            return c < 0
        if op == Py_LE:
            return c <= 0
        if op == Py_GT:
            return c > 0
        return c >= 0   # Py_GE

    # --- arithmetic -------------------------------------------------------------------------------

    # Each operator inlines its narrow fast path (the per-row cost of expressions that still
    # run on objects); _binary handles everything else: wide values, errors, foreign types.

    def __add__(self, other):
        cdef si_t b, r
        if (self._big is None and _operand(other, &b) == 1
                and si_add(si_unbox(self), b, &r) == SI_OK):
            return si_box(r)
        return _binary(_ADD, self, other)

    def __radd__(self, other):
        cdef si_t b, r
        if (self._big is None and _operand(other, &b) == 1
                and si_add(b, si_unbox(self), &r) == SI_OK):
            return si_box(r)
        return _binary(_ADD, other, self)

    def __sub__(self, other):
        cdef si_t b, r
        if (self._big is None and _operand(other, &b) == 1
                and si_sub(si_unbox(self), b, &r) == SI_OK):
            return si_box(r)
        return _binary(_SUB, self, other)

    def __rsub__(self, other):
        cdef si_t b, r
        if (self._big is None and _operand(other, &b) == 1
                and si_sub(b, si_unbox(self), &r) == SI_OK):
            return si_box(r)
        return _binary(_SUB, other, self)

    def __mul__(self, other):
        cdef si_t b, r
        if (self._big is None and _operand(other, &b) == 1
                and si_mul(si_unbox(self), b, &r) == SI_OK):
            return si_box(r)
        return _binary(_MUL, self, other)

    def __rmul__(self, other):
        cdef si_t b, r
        if (self._big is None and _operand(other, &b) == 1
                and si_mul(b, si_unbox(self), &r) == SI_OK):
            return si_box(r)
        return _binary(_MUL, other, self)

    def __truediv__(self, other):
        cdef si_t b, r
        if (self._big is None and _operand(other, &b) == 1
                and si_div(si_unbox(self), b, &r) == SI_OK):
            return si_box(r)
        return _binary(_DIV, self, other)

    def __rtruediv__(self, other):
        cdef si_t b, r
        if (self._big is None and _operand(other, &b) == 1
                and si_div(b, si_unbox(self), &r) == SI_OK):
            return si_box(r)
        return _binary(_DIV, other, self)

    def __mod__(self, other):
        cdef si_t b, r
        if (self._big is None and _operand(other, &b) == 1
                and si_mod(si_unbox(self), b, &r) == SI_OK):
            return si_box(r)
        return _binary(_MOD, self, other)

    def __rmod__(self, other):
        cdef si_t b, r
        if (self._big is None and _operand(other, &b) == 1
                and si_mod(b, si_unbox(self), &r) == SI_OK):
            return si_box(r)
        return _binary(_MOD, other, self)

    def __neg__(self):
        cdef si_t r
        if self._big is None and si_neg(si_unbox(self), &r) == SI_OK:
            return si_box(r)
        return si_box_parts(-self.mantissa, self.scale)

    def __pos__(self):
        return self

    def __abs__(self):
        if self._big is None:
            return -self if self._m < 0 else self
        return -self if self._big < 0 else self


# --- batch kernels --------------------------------------------------------------------------------

def dot_scaled(const int64_t[::1] m1, int s1, const int64_t[::1] m2, int s2):
    """``sum(m1[i] * m2[i]) / 10**(s1 + s2)`` exactly: the SUM(price * quantity) of two DECIMAL
    columns held as int64 mantissas at scales ``s1`` and ``s2`` (any buffer of int64, e.g.
    ``array('q')``). One typed loop with a 128-bit accumulator and no Python objects; if even
    that overflows it finishes with Python ints. The result has scale ``s1 + s2``."""
    cdef Py_ssize_t i, n = m1.shape[0]
    cdef int64_t hi
    cdef uint64_t lo
    cdef bint over = False
    if m2.shape[0] != n:
        raise ValueError(f"dot_scaled: lengths differ ({n} and {m2.shape[0]})")
    _check_scale(s1, "s1")
    _check_scale(s2, "s2")
    if s1 + s2 > SI_MAX_SCALE:
        raise DecimalOverflow(f"DECIMAL product scale {s1 + s2} exceeds {SI_MAX_SCALE}")
    if n == 0:
        return si_box_parts(0, s1 + s2)
    with nogil:
        over = vs_dot_i64(&m1[0], &m2[0], n, &hi, &lo)
    if not over:
        if (hi == 0 and lo <= <uint64_t>INT64_MAX) or (hi == -1 and lo > <uint64_t>INT64_MAX):
            return si_box(si_t(<int64_t>lo, <uint8_t>(s1 + s2)))
        return si_box_parts((<object>hi << 64) | <object>lo, s1 + s2)
    total = 0
    for i in range(n):
        total += <object>m1[i] * <object>m2[i]
    return si_box_parts(total, s1 + s2)
