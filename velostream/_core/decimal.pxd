# cython: language_level=3
"""C-level API of ``ScaledInteger``, velostream's exact decimal (int64 mantissa, uint8 scale).

A value is ``m / 10**s`` with ``0 <= s <= SI_MAX_SCALE``. Other ``velostream._core`` modules
``cimport`` this file to run decimal arithmetic over plain ``si_t`` structs in typed loops,
without Python objects and without the GIL::

    from velostream._core.decimal cimport si_t, si_status, SI_OK, SI_OVERFLOW, si_add, si_box, \
        si_raise

    cdef si_t acc, x
    cdef si_status st = si_add(acc, x, &acc)
    if st == SI_OVERFLOW:
        ...                 # leave the typed loop: finish with ScaledInteger objects (they widen)
    elif st != SI_OK:
        si_raise(st)        # DecimalOverflow / DecimalDivisionByZero / ValueError, GIL held

Contract of every ``si_*`` function below (except the exported ``si_box*``/``si_raise``):
- the result is written to ``*out`` and the return value is a ``si_status``; ``*out`` is only
  meaningful when the status is ``SI_OK``;
- results are exact or not produced: no silent wrap, no rounding (except where a function says
  it rounds: ``si_rescale*``/``si_cast`` when they lower the scale, ``si_div``);
- ``SI_OVERFLOW`` means only "the exact result does not fit an int64 mantissa": the same
  operation on ``ScaledInteger`` objects gives the exact, *wide* result (a Python-int mantissa),
  so a typed loop that meets it falls back to the Python path for the rest of its work;
- ``noexcept nogil``: they never raise and never touch Python objects.

Wide values: a ``ScaledInteger`` whose mantissa does not fit int64 keeps it as a Python int in
``_big`` (``None`` otherwise; a result that fits int64 is always stored narrow). ``si_unbox`` is
only meaningful for narrow values: check ``si_is_wide`` first, or use ``si_unbox_checked``. The
Python attribute ``.mantissa`` is always the exact Python int.

``si_parse``, ``si_format``, ``si_box``, ``si_box_parts`` and ``si_raise`` are real functions
exported through the module's ``__pyx_capi__`` capsule; everything else is ``inline`` and
compiles into the caller. The 128-bit intermediates need GCC or Clang on a 64-bit target
(``__int128``).
"""

cimport cython
from libc.stdint cimport int64_t, uint8_t, uint64_t

cdef extern from *:
    """
    #ifndef VELOSTREAM_DECIMAL_C_H
    #define VELOSTREAM_DECIMAL_C_H
    #include <stdint.h>
    #include <stddef.h>

    /* 10**k for k = 0..19; 10**19 fits uint64 (not int64), 10**20 fits neither. */
    static const uint64_t vs_upow10[20] = {
        1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
        100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
        10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
        100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL};

    static inline int vs_mul_i64(int64_t a, int64_t b, int64_t *r) {
        return __builtin_mul_overflow(a, b, r);
    }

    /* |a| without the undefined behaviour of -INT64_MIN. */
    static inline uint64_t vs_mag_i64(int64_t a) {
        return a < 0 ? (uint64_t)0 - (uint64_t)a : (uint64_t)a;
    }

    /* The int64 with magnitude q and the given sign; the caller ensures it fits
       (q <= 2**63 when neg, q <= 2**63 - 1 otherwise). */
    static inline int64_t vs_signed_i64(uint64_t q, int neg) {
        if (!neg || q == 0) return (int64_t)q;
        return -(int64_t)(q - 1) - 1;
    }

    /* r = a*pa + b*pb (or a*pa - b*pb when sub) computed in 128 bits so that an intermediate
       that leaves int64 but whose result fits is not reported as overflow. Callers keep one of
       pa, pb at 1 and the other <= 10**19, so |a*pa| <= 2**63 * 10**19 < 2**127. */
    static inline int vs_lin_i64(int64_t a, uint64_t pa, int64_t b, uint64_t pb, int sub,
                                 int64_t *r) {
        __int128 x = (__int128)a * (__int128)pa;
        __int128 y = (__int128)b * (__int128)pb;
        __int128 t = sub ? x - y : x + y;
        if (t > (__int128)INT64_MAX || t < (__int128)INT64_MIN) return 1;
        *r = (int64_t)t;
        return 0;
    }

    /* sign(a*pa - b) for pa <= 10**19, exact. */
    static inline int vs_cmp_scaled(int64_t a, uint64_t pa, int64_t b) {
        __int128 x = (__int128)a * (__int128)pa;
        return (x > (__int128)b) - (x < (__int128)b);
    }

    /* Python's numeric hash of m / 10**s: the same value hash(Decimal) and hash(Fraction) give,
       so equal ScaledInteger, Decimal, int and float values hash alike (modulus 2**61 - 1). */
    static inline int64_t vs_hash_scaled(int64_t m, int s) {
        const uint64_t P = ((uint64_t)1 << 61) - 1;
        const uint64_t INV10 = 2075258708292324556ULL;  /* pow(10, P - 2, P) */
        uint64_t h = vs_mag_i64(m) % P, e = 1;
        int i;
        for (i = 0; i < s; i++) e = (uint64_t)(((unsigned __int128)e * INV10) % P);
        h = (uint64_t)(((unsigned __int128)h * e) % P);
        int64_t r = m < 0 ? -(int64_t)h : (int64_t)h;
        return r == -1 ? -2 : r;
    }

    /* Whether a magnitude truncated toward zero moves one unit away from zero under rounding
       mode `mode` (the si_rounding values). `odd`: the truncated magnitude is odd; `cmp`: the
       sign of (dropped part - half a unit); `inexact`: the dropped part is not zero. */
    static inline int vs_round_away(int mode, int neg, int odd, int cmp, int inexact) {
        if (!inexact) return 0;
        switch (mode) {
        case 0: return cmp > 0 || (cmp == 0 && odd);   /* half even */
        case 1: return cmp >= 0;                        /* half up: ties away from zero */
        case 2: return cmp > 0;                         /* half down: ties toward zero */
        case 3: return 0;                               /* down: toward zero */
        case 4: return 1;                               /* up: away from zero */
        case 5: return neg;                             /* floor: toward -infinity */
        case 6: return !neg;                            /* ceiling: toward +infinity */
        }
        return 0;
    }

    /* q = a * 10**e / b rounded half-even, for b != 0 and 0 <= e. Returns 1 when q does not
       fit int64. Exact decision: if |q| fits int64 then |a| * 10**e < (2**63 + 1) * |b| <
       2**127, so a numerator that leaves 128 bits proves the overflow. */
    static inline int vs_div_scaled(int64_t a, int e, int64_t b, int64_t *r) {
        unsigned __int128 n = vs_mag_i64(a), d = vs_mag_i64(b), q, rem;
        int neg = (a < 0) != (b < 0), k;
        while (e > 0 && n != 0) {
            k = e > 19 ? 19 : e;
            if (__builtin_mul_overflow(n, (unsigned __int128)vs_upow10[k], &n)) return 1;
            e -= k;
        }
        if ((n >> 64) == 0) {
            /* The common case: one 64-bit division. */
            uint64_t n64 = (uint64_t)n, d64 = (uint64_t)d;
            q = n64 / d64;
            rem = n64 % d64;
        } else {
            q = n / d;
            rem = n - q * d;
        }
        /* rem < d <= 2**63, so 2 * rem cannot overflow. */
        if (vs_round_away(0, neg, (int)(q & 1), (2 * rem > d) - (2 * rem < d), rem != 0)) q++;
        if (q > (unsigned __int128)INT64_MAX + (neg ? 1 : 0)) return 1;
        *r = vs_signed_i64((uint64_t)q, neg);
        return 0;
    }

    /* SQL a % b for a and b brought to one scale (one of ea, eb is 0) and b != 0:
       sign(a) * ((|a| * 10**ea) mod (|b| * 10**eb)). Its magnitude is below |b| * 10**eb and
       at most |a| * 10**ea, so it always fits int64. */
    static inline int64_t vs_mod_scaled(int64_t a, int ea, int64_t b, int eb) {
        uint64_t x = vs_mag_i64(a), d = vs_mag_i64(b), p, r;
        unsigned __int128 big = d;
        int k, over = 0;
        if (ea > 0) {
            /* (x * 10**ea) mod d == ((x mod d) * (10**ea mod d)) mod d; products < 2**126. */
            p = 1 % d;
            while (ea > 0) {
                k = ea > 19 ? 19 : ea;
                p = (uint64_t)(((unsigned __int128)p * (vs_upow10[k] % d)) % d);
                ea -= k;
            }
            r = (uint64_t)(((unsigned __int128)(x % d) * p) % d);
        } else {
            while (eb > 0) {
                k = eb > 19 ? 19 : eb;
                if (__builtin_mul_overflow(big, (unsigned __int128)vs_upow10[k], &big)) {
                    over = 1;
                    break;
                }
                eb -= k;
            }
            r = (over || big > x) ? x : x % (uint64_t)big;
        }
        return vs_signed_i64(r, a < 0);
    }

    /* sum(a[i] * b[i]) exactly in 128 bits: *hi:*lo is the two's complement sum. Returns 1
       when a partial sum leaves int128 (each product fits: |a*b| <= 2**126). */
    static inline int vs_dot_i64(const int64_t *a, const int64_t *b, ptrdiff_t n,
                                 int64_t *hi, uint64_t *lo) {
        __int128 acc = 0;
        ptrdiff_t i;
        for (i = 0; i < n; i++) {
            if (__builtin_add_overflow(acc, (__int128)a[i] * (__int128)b[i], &acc)) return 1;
        }
        *hi = (int64_t)(acc >> 64);
        *lo = (uint64_t)acc;
        return 0;
    }
    #endif
    """
    const uint64_t vs_upow10[20]
    bint vs_mul_i64(int64_t a, int64_t b, int64_t* r) noexcept nogil
    uint64_t vs_mag_i64(int64_t a) noexcept nogil
    int64_t vs_signed_i64(uint64_t q, bint neg) noexcept nogil
    bint vs_lin_i64(int64_t a, uint64_t pa, int64_t b, uint64_t pb, bint sub,
                    int64_t* r) noexcept nogil
    int vs_cmp_scaled(int64_t a, uint64_t pa, int64_t b) noexcept nogil
    int64_t vs_hash_scaled(int64_t m, int s) noexcept nogil
    bint vs_round_away(int mode, bint neg, bint odd, int cmp, bint inexact) noexcept nogil
    bint vs_div_scaled(int64_t a, int e, int64_t b, int64_t* r) noexcept nogil
    int64_t vs_mod_scaled(int64_t a, int ea, int64_t b, int eb) noexcept nogil
    bint vs_dot_i64(const int64_t* a, const int64_t* b, Py_ssize_t n,
                    int64_t* hi, uint64_t* lo) noexcept nogil


cdef enum:
    SI_MAX_SCALE = 38
    # Bytes si_format may write, NUL included: sign + 39 digits + point + NUL, rounded up.
    SI_FORMAT_BUFSIZE = 48
    # Digits a wide (Python int) mantissa may have; more is DecimalOverflow. Far past any
    # DECIMAL(38) value and any product of two of them, and below Python's 4300-digit limit on
    # int/str conversion, so str() of every value works.
    SI_MAX_DIGITS = 1000

cdef enum si_status:
    SI_OK = 0
    SI_OVERFLOW = 1     # the int64 mantissa cannot hold the exact result (the Python path widens)
    SI_SCALE = 2        # the result's scale would exceed SI_MAX_SCALE (or a bad scale argument)
    SI_SYNTAX = 3       # si_parse only: not a decimal literal
    SI_DIVZERO = 4      # si_div / si_mod: the divisor is zero
    SI_PRECISION = 5    # si_cast: more integer digits than DECIMAL(p, s) allows

# Rounding modes, named like decimal.ROUND_*: si_rescale_mode, si_cast, ScaledInteger.rescale.
cdef enum si_rounding:
    SI_ROUND_HALF_EVEN = 0      # ties to the even neighbour (SQL CAST, Python round)
    SI_ROUND_HALF_UP = 1        # ties away from zero (SQL ROUND in most engines)
    SI_ROUND_HALF_DOWN = 2      # ties toward zero
    SI_ROUND_DOWN = 3           # truncate toward zero
    SI_ROUND_UP = 4             # away from zero
    SI_ROUND_FLOOR = 5          # toward -infinity (FLOOR)
    SI_ROUND_CEILING = 6        # toward +infinity (CEIL)

ctypedef struct si_t:
    int64_t m
    uint8_t s


@cython.final
cdef class ScaledInteger:
    # The mantissa when it fits int64 (then _big is None); 0 when the value is wide.
    cdef int64_t _m
    cdef readonly uint8_t scale
    # The exact mantissa as a Python int when it does not fit int64, else None.
    cdef object _big


# --- exported functions (defined in decimal.pyx) -------------------------------------------------

# Parses ``[ws][+-]digits[.digits][(e|E)[+-]digits][ws]`` (or ``.5``, ``5.``) exactly, keeping the
# written scale ("123.4500" -> m=1234500, s=4). A positive exponent is folded into the mantissa
# (scale never goes below 0). ASCII only. SI_OVERFLOW: exact, but needs a wide mantissa (the
# ScaledInteger constructor takes such text); SI_SCALE: more than 38 digits after the point.
cdef si_status si_parse(const char* p, Py_ssize_t n, si_t* out) noexcept nogil

# Writes the plain (never scientific) text of ``a`` into ``buf`` (>= SI_FORMAT_BUFSIZE bytes),
# NUL-terminated; returns its length. Always ``scale`` digits after the point: "-0.05", "0.0000".
cdef Py_ssize_t si_format(si_t a, char* buf) noexcept nogil

# A new (narrow) ScaledInteger holding ``v`` (the caller guarantees 0 <= v.s <= SI_MAX_SCALE).
cdef ScaledInteger si_box(si_t v)

# A new ScaledInteger ``mantissa / 10**scale`` for any Python int mantissa: narrow when it fits
# int64, else wide. DecimalOverflow past SI_MAX_DIGITS digits or for a scale above 38.
cdef ScaledInteger si_box_parts(object mantissa, int scale)

# Raises the Python exception for a non-OK status: SI_OVERFLOW, SI_SCALE and SI_PRECISION ->
# DecimalOverflow, SI_DIVZERO -> DecimalDivisionByZero, SI_SYNTAX -> ValueError. Returns 0 for
# SI_OK. (For SI_OVERFLOW prefer the Python path, which widens instead of raising.)
cdef int si_raise(si_status st) except -1


# --- boxes ---------------------------------------------------------------------------------------

cdef inline bint si_is_wide(ScaledInteger x) noexcept:
    """True when ``x``'s mantissa does not fit int64 (``si_unbox`` would not hold it)."""
    return x._big is not None


cdef inline si_t si_unbox(ScaledInteger x) noexcept:
    """The si_t of a narrow ``x`` (for a wide one the mantissa reads 0: check si_is_wide)."""
    cdef si_t v
    v.m = x._m
    v.s = x.scale
    return v


cdef inline si_status si_unbox_checked(ScaledInteger x, si_t* out) noexcept:
    """``x`` as a si_t, or SI_OVERFLOW when it is wide."""
    if x._big is not None:
        return SI_OVERFLOW
    out.m = x._m
    out.s = x.scale
    return SI_OK


# --- inline arithmetic ---------------------------------------------------------------------------

cdef inline si_status si_rescale_mode(si_t a, int s, si_rounding mode, si_t* out) noexcept nogil:
    """``a`` at scale ``s``: exact when raising the scale, rounded by ``mode`` when lowering it."""
    cdef int d, cmp
    cdef bint inexact
    cdef uint64_t mag, p, q, r, half
    if s < 0 or s > SI_MAX_SCALE:
        return SI_SCALE
    if s >= a.s:
        d = s - a.s
        if a.m == 0:
            out.m = 0
        elif d > 18 or vs_mul_i64(a.m, <int64_t>vs_upow10[d], &out.m):
            return SI_OVERFLOW
        out.s = <uint8_t>s
        return SI_OK
    d = a.s - s
    mag = vs_mag_i64(a.m)
    if d > 19:
        # |a.m| <= 2**63 < 10**d / 2: all digits are dropped and they are below half a unit.
        q = 0
        cmp = -1
        inexact = mag != 0
    else:
        p = vs_upow10[d]
        q = mag // p
        r = mag % p
        half = p // 2      # p is a power of ten >= 10: even
        cmp = (r > half) - (r < half)
        inexact = r != 0
    if vs_round_away(mode, a.m < 0, q & 1, cmp, inexact):
        q += 1
    # q <= 2**63 / 10 + 1, so the conversion back to int64 is exact.
    out.m = vs_signed_i64(q, a.m < 0)
    out.s = <uint8_t>s
    return SI_OK


cdef inline si_status si_rescale(si_t a, int s, si_t* out) noexcept nogil:
    """``a`` at scale ``s``: exact when raising the scale, rounded half-even when lowering it."""
    return si_rescale_mode(a, s, SI_ROUND_HALF_EVEN, out)


cdef inline si_status si_cast(si_t a, int precision, int scale, si_rounding mode,
                              si_t* out) noexcept nogil:
    """SQL ``CAST(a AS DECIMAL(precision, scale))``: rescale by ``mode``, then SI_PRECISION when
    more than ``precision - scale`` integer digits remain. SI_SCALE for a precision outside
    1..38 or a scale outside 0..precision. SI_OVERFLOW only when the value fits the type but
    not an int64 mantissa (precision >= 19): the Python path gives it, wide."""
    cdef si_status st
    cdef int k
    if precision < 1 or precision > SI_MAX_SCALE or scale < 0 or scale > precision:
        return SI_SCALE
    st = si_rescale_mode(a, scale, mode, out)
    if st == SI_OVERFLOW:
        # Only raising the scale overflows, and that is exact: the value fits the type iff
        # |a.m| * 10**(scale - a.s) < 10**precision, i.e. |a.m| < 10**k.
        k = precision - scale + a.s
        if k < 19 and vs_mag_i64(a.m) >= vs_upow10[k]:
            return SI_PRECISION
        return SI_OVERFLOW
    if st != SI_OK:
        return st
    if precision <= 18 and vs_mag_i64(out.m) >= vs_upow10[precision]:
        return SI_PRECISION
    return SI_OK


cdef inline si_status _si_addsub(si_t a, si_t b, bint sub, si_t* out) noexcept nogil:
    cdef int d
    cdef uint64_t p
    if a.s >= b.s:
        d = a.s - b.s
        if d > 19:
            # b.m * 10**d would be >= 10**20 unless b is zero: no int64 result is possible.
            if b.m != 0:
                return SI_OVERFLOW
            p = 0
        else:
            p = vs_upow10[d]
        if vs_lin_i64(a.m, 1, b.m, p, sub, &out.m):
            return SI_OVERFLOW
        out.s = a.s
    else:
        d = b.s - a.s
        if d > 19:
            if a.m != 0:
                return SI_OVERFLOW
            p = 0
        else:
            p = vs_upow10[d]
        if vs_lin_i64(a.m, p, b.m, 1, sub, &out.m):
            return SI_OVERFLOW
        out.s = b.s
    return SI_OK


cdef inline si_status si_add(si_t a, si_t b, si_t* out) noexcept nogil:
    """a + b at scale max(a.s, b.s)."""
    return _si_addsub(a, b, False, out)


cdef inline si_status si_sub(si_t a, si_t b, si_t* out) noexcept nogil:
    """a - b at scale max(a.s, b.s)."""
    return _si_addsub(a, b, True, out)


cdef inline si_status si_mul(si_t a, si_t b, si_t* out) noexcept nogil:
    """a * b at scale a.s + b.s."""
    cdef int s = a.s + b.s
    if s > SI_MAX_SCALE:
        return SI_SCALE
    if vs_mul_i64(a.m, b.m, &out.m):
        return SI_OVERFLOW
    out.s = <uint8_t>s
    return SI_OK


cdef inline si_status si_neg(si_t a, si_t* out) noexcept nogil:
    """-a at the same scale (overflows only for the int64 minimum)."""
    if vs_lin_i64(0, 1, a.m, 1, True, &out.m):
        return SI_OVERFLOW
    out.s = a.s
    return SI_OK


cdef inline int si_cmp(si_t a, si_t b) noexcept nogil:
    """-1, 0 or 1 as a <, ==, > b; exact across scales, never fails."""
    cdef int d
    if a.s == b.s:
        return (a.m > b.m) - (a.m < b.m)
    if a.s < b.s:
        d = b.s - a.s
        if d > 19:
            # A non-zero a has |a| >= 10**-a.s > |b|, so a's sign decides.
            if a.m != 0:
                return 1 if a.m > 0 else -1
            return (b.m < 0) - (b.m > 0)
        return vs_cmp_scaled(a.m, vs_upow10[d], b.m)
    d = a.s - b.s
    if d > 19:
        if b.m != 0:
            return -1 if b.m > 0 else 1
        return (a.m > 0) - (a.m < 0)
    return -vs_cmp_scaled(b.m, vs_upow10[d], a.m)


cdef inline int64_t si_hash(si_t a) noexcept nogil:
    """hash(Decimal(a)): equal values at different scales hash alike, and alike with int/float."""
    return vs_hash_scaled(a.m, a.s)


cdef inline si_status si_div(si_t a, si_t b, si_t* out) noexcept nogil:
    """a / b at scale min(max(a.s, b.s) + 4, 38), rounded half-even (DIALECT §3).

    SI_DIVZERO when b is zero; SI_OVERFLOW only when the rounded quotient does not fit int64.
    """
    cdef int s
    if b.m == 0:
        return SI_DIVZERO
    s = (a.s if a.s > b.s else b.s) + 4
    if s > SI_MAX_SCALE:
        s = SI_MAX_SCALE
    # q = a.m * 10**(s - a.s + b.s) / b.m; s >= a.s, so the exponent is >= 0 (and <= 76).
    if vs_div_scaled(a.m, s - a.s + b.s, b.m, &out.m):
        return SI_OVERFLOW
    out.s = <uint8_t>s
    return SI_OK


cdef inline si_status si_mod(si_t a, si_t b, si_t* out) noexcept nogil:
    """SQL ``a % b``: a - b * trunc(a / b) at scale max(a.s, b.s), with the sign of ``a``.

    Exact and never overflows; SI_DIVZERO when b is zero.
    """
    if b.m == 0:
        return SI_DIVZERO
    if a.s >= b.s:
        out.m = vs_mod_scaled(a.m, 0, b.m, a.s - b.s)
        out.s = a.s
    else:
        out.m = vs_mod_scaled(a.m, b.s - a.s, b.m, 0)
        out.s = b.s
    return SI_OK
