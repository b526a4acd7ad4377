# cython: language_level=3
"""``ScaledInteger``, velostream's exact DECIMAL value: an int64 mantissa and a uint8 scale.

This module owns the Python-facing class, its exception ``DecimalOverflow``, and the exported
C functions declared in ``decimal.pxd`` (parse, format, box, raise). The arithmetic itself lives
in the ``.pxd`` as inline ``nogil`` functions so that operator modules compile it into their loops.

A result that does not fit raises ``DecimalOverflow``: never a silent wrap, never a float.
"""

cimport cython
from cpython.object cimport Py_EQ, Py_GT, Py_LE, Py_LT, Py_NE, PyObject_RichCompare
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdint cimport INT64_MAX, int64_t, uint8_t, uint64_t

import decimal as _pydecimal
from fractions import Fraction

from velostream.errors import VelostreamError

__all__ = ["DecimalOverflow", "MAX_SCALE", "ScaledInteger"]

MAX_SCALE = SI_MAX_SCALE


class DecimalOverflow(VelostreamError, OverflowError):
    """A DECIMAL value or result does not fit (64-bit mantissa, scale at most 38).

    Raised instead of wrapping around or turning the value into a float.
    """


cdef object _Decimal = _pydecimal.Decimal
cdef object _InvalidOperation = _pydecimal.InvalidOperation
# Other numbers compare with a ScaledInteger through Decimal, which compares exactly with each.
cdef tuple _VIA_DECIMAL = (_pydecimal.Decimal, float, Fraction, int)
# Rounding to a requested scale: half-even like CAST(x AS DECIMAL(p, s)). A precision of 60
# digits is far past what an int64 mantissa can hold, so a quantize that fails is an overflow.
cdef object _QUANTIZE_CTX = _pydecimal.Context(
    prec=60, rounding=_pydecimal.ROUND_HALF_EVEN, Emax=_pydecimal.MAX_EMAX,
    Emin=_pydecimal.MIN_EMIN, traps=[_pydecimal.InvalidOperation])
cdef list _QUANTUM = [_Decimal((0, (1,), -s)) for s in range(SI_MAX_SCALE + 1)]

# 10.0**k for k <= 22 are exact doubles, so m / 10**k with |m| <= 2**53 rounds once, correctly.
cdef double _DPOW10[23]
_DPOW10[0] = 1.0
for _k in range(1, 23):
    _DPOW10[_k] = _DPOW10[_k - 1] * 10.0
del _k


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
    r.mantissa = v.m
    r.scale = v.s
    return r


cdef int si_raise(si_status st) except -1:
    if st == SI_OK:
        return 0
    if st == SI_OVERFLOW:
        raise DecimalOverflow("DECIMAL result does not fit a 64-bit mantissa")
    if st == SI_SCALE:
        raise DecimalOverflow(f"DECIMAL result scale exceeds {SI_MAX_SCALE}")
    raise ValueError("invalid DECIMAL literal")


# --- conversions from Python values ---------------------------------------------------------------

cdef int _check_scale(object scale) except -2:
    if isinstance(scale, bool) or not isinstance(scale, int):
        raise TypeError(f"scale must be an int, not {type(scale).__name__}")
    if not 0 <= scale <= SI_MAX_SCALE:
        raise ValueError(f"scale must be between 0 and {SI_MAX_SCALE}, got {scale}")
    return scale


cdef int _from_decimal(object d, int target, object shown, si_t* out) except -1:
    """Exact conversion of a ``decimal.Decimal`` (rounded half-even when ``target`` >= 0)."""
    if not d.is_finite():
        raise ValueError(f"DECIMAL cannot hold {shown!r}")
    if target >= 0:
        try:
            d = d.quantize(_QUANTUM[target], context=_QUANTIZE_CTX)
        except _InvalidOperation:
            raise DecimalOverflow(
                f"{shown!r} does not fit a DECIMAL of scale {target} in a 64-bit mantissa"
            ) from None
    sign, digits, exp = d.as_tuple()
    if -exp > SI_MAX_SCALE:
        raise ValueError(f"{shown!r} has scale {-exp}; DECIMAL allows at most {SI_MAX_SCALE}")
    if digits == (0,):
        out.m = 0
    else:
        # No leading zeros in a Decimal's digits: more than 19 of them cannot fit int64, and
        # checking first keeps int() away from huge digit strings.
        if len(digits) + max(exp, 0) > 19:
            raise DecimalOverflow(f"{shown!r} does not fit a 64-bit DECIMAL mantissa")
        coef = int("".join(map(str, digits))) * 10 ** max(exp, 0)
        if sign:
            coef = -coef
        try:
            out.m = coef
        except OverflowError:
            raise DecimalOverflow(f"{shown!r} does not fit a 64-bit DECIMAL mantissa") from None
    out.s = <uint8_t>max(-exp, 0)
    return 0


cdef int _from_object(object value, int target, si_t* out) except -1:
    """``value`` as a si_t, exact; at scale ``target`` (half-even) when ``target`` >= 0."""
    cdef si_t v
    cdef si_status st
    cdef const char* p
    cdef Py_ssize_t n
    if type(value) is ScaledInteger:
        v = si_unbox(<ScaledInteger>value)
    elif isinstance(value, str):
        p = PyUnicode_AsUTF8AndSize(value, &n)
        st = si_parse(p, n, &v)
        if st == SI_SYNTAX:
            raise ValueError(f"invalid DECIMAL literal: {value!r}")
        if st != SI_OK:
            # More digits than the fast path holds: decide exactly (a target scale may round
            # them away, and the error messages come from one place).
            return _from_decimal(_Decimal(value), target, value, out)
    elif isinstance(value, float):
        raise TypeError(
            "ScaledInteger does not take a float (it is not exact): pass str(x) or Decimal(x)")
    elif isinstance(value, int):
        try:
            v.m = value
        except OverflowError:
            raise DecimalOverflow(f"{value} does not fit a 64-bit DECIMAL mantissa") from None
        v.s = 0
    elif isinstance(value, _Decimal):
        return _from_decimal(value, target, value, out)
    else:
        raise TypeError(f"cannot make a ScaledInteger from {type(value).__name__}")
    if target < 0:
        out[0] = v
        return 0
    st = si_rescale(v, target, out)
    if st != SI_OK:
        raise DecimalOverflow(f"{value!r} does not fit a DECIMAL of scale {target}")
    return 0


cdef inline bint _operand(object x, si_t* out) except -1:
    """Load an arithmetic operand; False for types ScaledInteger does not mix with."""
    if type(x) is ScaledInteger:
        out[0] = si_unbox(<ScaledInteger>x)
        return True
    if isinstance(x, int):
        try:
            out.m = x
        except OverflowError:
            raise DecimalOverflow(f"integer operand {x} does not fit a 64-bit mantissa") from None
        out.s = 0
        return True
    return False


cdef int _arith_error(si_status st, str op, object a, object b) except -1:
    if st == SI_SCALE:
        raise DecimalOverflow(
            f"DECIMAL overflow: {a} {op} {b} needs a scale above {SI_MAX_SCALE}")
    raise DecimalOverflow(f"DECIMAL overflow: {a} {op} {b} does not fit a 64-bit mantissa")


# --- the Python type ------------------------------------------------------------------------------

@cython.freelist(64)
cdef class ScaledInteger:
    """An exact decimal: ``mantissa / 10**scale`` with an int64 mantissa and 0 <= scale <= 38.

    ``ScaledInteger(value, scale=None)`` takes a ``str`` ("123.4500" keeps scale 4), an ``int``,
    a ``decimal.Decimal`` or another ``ScaledInteger``, exactly. With ``scale`` the value is
    brought to that scale, rounding half-even when digits are dropped. Floats are refused.

    ``+`` and ``-`` give the larger of the two scales, ``*`` the sum of the scales; ``int``
    operands count as scale 0. Comparison and hashing are by value (12.5 == 12.50) and agree
    with ``Decimal``, ``int``, ``float`` and ``Fraction``.
    """

    def __init__(self, value, scale=None):
        cdef si_t v
        cdef int target = -1 if scale is None else _check_scale(scale)
        _from_object(value, target, &v)
        self.mantissa = v.m
        self.scale = v.s

    @classmethod
    def from_parts(cls, mantissa, scale):
        """The value ``mantissa / 10**scale``."""
        cdef si_t v
        v.s = <uint8_t>_check_scale(scale)
        if isinstance(mantissa, bool) or not isinstance(mantissa, int):
            raise TypeError(f"mantissa must be an int, not {type(mantissa).__name__}")
        try:
            v.m = mantissa
        except OverflowError:
            raise DecimalOverflow(f"mantissa {mantissa} does not fit 64 bits") from None
        return si_box(v)

    def to_decimal(self):
        """The same value as a ``decimal.Decimal``, with the same scale (exponent -scale)."""
        return _Decimal(str(self))

    def __str__(self):
        cdef char buf[SI_FORMAT_BUFSIZE]
        cdef Py_ssize_t n = si_format(si_unbox(self), buf)
        return buf[:n].decode("ascii")

    def __repr__(self):
        return f"ScaledInteger('{self}')"

    def __reduce__(self):
        return (ScaledInteger.from_parts, (self.mantissa, self.scale))

    def __hash__(self):
        return si_hash(si_unbox(self))

    def __richcmp__(self, other, int op):
        cdef si_t b
        cdef int c
        if type(other) is ScaledInteger:
            b = si_unbox(<ScaledInteger>other)
        elif isinstance(other, int) and -0x8000000000000000 <= other <= 0x7FFFFFFFFFFFFFFF:
            b.m = other
            b.s = 0
        elif isinstance(other, _VIA_DECIMAL):
            return PyObject_RichCompare(self.to_decimal(), other, op)
        else:
            return NotImplemented
        c = si_cmp(si_unbox(self), b)
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

    def __add__(self, other):
        cdef si_t b, r
        cdef si_status st
        if not _operand(other, &b):
            return NotImplemented
        st = si_add(si_unbox(self), b, &r)
        if st != SI_OK:
            _arith_error(st, "+", self, other)
        return si_box(r)

    def __radd__(self, other):
        cdef si_t a, r
        cdef si_status st
        if not _operand(other, &a):
            return NotImplemented
        st = si_add(a, si_unbox(self), &r)
        if st != SI_OK:
            _arith_error(st, "+", other, self)
        return si_box(r)

    def __sub__(self, other):
        cdef si_t b, r
        cdef si_status st
        if not _operand(other, &b):
            return NotImplemented
        st = si_sub(si_unbox(self), b, &r)
        if st != SI_OK:
            _arith_error(st, "-", self, other)
        return si_box(r)

    def __rsub__(self, other):
        cdef si_t a, r
        cdef si_status st
        if not _operand(other, &a):
            return NotImplemented
        st = si_sub(a, si_unbox(self), &r)
        if st != SI_OK:
            _arith_error(st, "-", other, self)
        return si_box(r)

    def __mul__(self, other):
        cdef si_t b, r
        cdef si_status st
        if not _operand(other, &b):
            return NotImplemented
        st = si_mul(si_unbox(self), b, &r)
        if st != SI_OK:
            _arith_error(st, "*", self, other)
        return si_box(r)

    def __rmul__(self, other):
        cdef si_t a, r
        cdef si_status st
        if not _operand(other, &a):
            return NotImplemented
        st = si_mul(a, si_unbox(self), &r)
        if st != SI_OK:
            _arith_error(st, "*", other, self)
        return si_box(r)

    def __neg__(self):
        cdef si_t r
        if si_neg(si_unbox(self), &r) != SI_OK:
            raise DecimalOverflow(f"DECIMAL overflow: -({self}) does not fit a 64-bit mantissa")
        return si_box(r)

    def __pos__(self):
        return self

    def __abs__(self):
        return -self if self.mantissa < 0 else self

    def __bool__(self):
        return self.mantissa != 0

    def __float__(self):
        """The nearest double (correctly rounded)."""
        if self.scale <= 22 and vs_mag_i64(self.mantissa) <= (<uint64_t>1) << 53:
            return <double>self.mantissa / _DPOW10[self.scale]
        return float(str(self))

    def __int__(self):
        """Truncates toward zero, like ``int(Decimal)``."""
        cdef uint64_t q
        if self.scale == 0:
            return self.mantissa
        if self.scale > 19:
            return 0
        # On the magnitude, so C's and Python's division conventions cannot differ.
        q = vs_mag_i64(self.mantissa) // vs_upow10[self.scale]
        return -<int64_t>q if self.mantissa < 0 else <int64_t>q
