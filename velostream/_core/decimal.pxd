# cython: language_level=3
"""C-level API of ``ScaledInteger``, velostream's exact decimal (int64 mantissa, uint8 scale).

A value is ``m / 10**s`` with ``0 <= s <= SI_MAX_SCALE``. Other ``velostream._core`` modules
``cimport`` this file to run decimal arithmetic over plain ``si_t`` structs in typed loops,
without Python objects and without the GIL::

    from velostream._core.decimal cimport si_t, si_status, SI_OK, si_add, si_box, si_raise

    cdef si_t acc, x
    cdef si_status st = si_add(acc, x, &acc)
    if st != SI_OK:
        si_raise(st)        # DecimalOverflow / ValueError, with the GIL held

Contract of every ``si_*`` function below (except ``si_box``/``si_raise``):
- the result is written to ``*out`` and the return value is a ``si_status``; ``*out`` is only
  meaningful when the status is ``SI_OK``;
- results are exact or not produced: no silent wrap, no rounding (except ``si_rescale`` when it
  lowers the scale, which rounds half-even like ``CAST(x AS DECIMAL(p, s))``);
- ``noexcept nogil``: they never raise and never touch Python objects.

``si_parse``, ``si_format``, ``si_box`` and ``si_raise`` are real functions exported through the
module's ``__pyx_capi__`` capsule; everything else is ``inline`` and compiles into the caller.
The 128-bit intermediates need GCC or Clang on a 64-bit target (``__int128``).
"""

cimport cython
from libc.stdint cimport int64_t, uint8_t, uint64_t

cdef extern from *:
    """
    #ifndef VELOSTREAM_DECIMAL_C_H
    #define VELOSTREAM_DECIMAL_C_H
    #include <stdint.h>

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
    #endif
    """
    const uint64_t vs_upow10[20]
    bint vs_mul_i64(int64_t a, int64_t b, int64_t* r) noexcept nogil
    uint64_t vs_mag_i64(int64_t a) noexcept nogil
    bint vs_lin_i64(int64_t a, uint64_t pa, int64_t b, uint64_t pb, bint sub,
                    int64_t* r) noexcept nogil
    int vs_cmp_scaled(int64_t a, uint64_t pa, int64_t b) noexcept nogil
    int64_t vs_hash_scaled(int64_t m, int s) noexcept nogil


cdef enum:
    SI_MAX_SCALE = 38
    # Bytes si_format may write, NUL included: sign + 39 digits + point + NUL, rounded up.
    SI_FORMAT_BUFSIZE = 48

cdef enum si_status:
    SI_OK = 0
    SI_OVERFLOW = 1     # the int64 mantissa cannot hold the exact result
    SI_SCALE = 2        # the result's scale would exceed SI_MAX_SCALE
    SI_SYNTAX = 3       # si_parse only: not a decimal literal

ctypedef struct si_t:
    int64_t m
    uint8_t s


@cython.final
cdef class ScaledInteger:
    cdef readonly int64_t mantissa
    cdef readonly uint8_t scale


# --- exported functions (defined in decimal.pyx) -------------------------------------------------

# Parses ``[ws][+-]digits[.digits][(e|E)[+-]digits][ws]`` (or ``.5``, ``5.``) exactly, keeping the
# written scale ("123.4500" -> m=1234500, s=4). A positive exponent is folded into the mantissa
# (scale never goes below 0). ASCII only.
cdef si_status si_parse(const char* p, Py_ssize_t n, si_t* out) noexcept nogil

# Writes the plain (never scientific) text of ``a`` into ``buf`` (>= SI_FORMAT_BUFSIZE bytes),
# NUL-terminated; returns its length. Always ``scale`` digits after the point: "-0.05", "0.0000".
cdef Py_ssize_t si_format(si_t a, char* buf) noexcept nogil

# A new ScaledInteger holding ``v`` (the caller guarantees 0 <= v.s <= SI_MAX_SCALE).
cdef ScaledInteger si_box(si_t v)

# Raises the Python exception for a non-OK status: SI_OVERFLOW and SI_SCALE -> DecimalOverflow,
# SI_SYNTAX -> ValueError. Returns 0 for SI_OK.
cdef int si_raise(si_status st) except -1


# --- inline arithmetic ---------------------------------------------------------------------------

cdef inline si_t si_unbox(ScaledInteger x) noexcept:
    cdef si_t v
    v.m = x.mantissa
    v.s = x.scale
    return v


cdef inline si_status si_rescale(si_t a, int s, si_t* out) noexcept nogil:
    """``a`` at scale ``s``: exact when raising the scale, rounded half-even when lowering it."""
    cdef int d
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
        # |a.m| <= 2**63 < 10**d / 2: always rounds to zero.
        q = 0
    else:
        p = vs_upow10[d]
        q = mag // p
        r = mag % p
        half = p // 2
        if r > half or (r == half and (q & 1)):
            q += 1
    # q <= 2**63 / 10 + 1, so the cast back to int64 is exact.
    out.m = -<int64_t>q if a.m < 0 else <int64_t>q
    out.s = <uint8_t>s
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
