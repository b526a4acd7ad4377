# cython: language_level=3
"""Hash-join kernels: the index of a table's rows by key and the probe of a batch against it.

The keys themselves are hashed by ``aggregate.GroupTable`` (``assign`` gives each table row the
dense id of its key, ``lookup`` gives each probe row the id of its key or -1); these kernels
work on those ids only:

- ``build_index(ids, groups)``: the table's rows grouped by key id, as CSR (``offsets`` per id
  into ``rows``), table order kept within a key, so a key held by several rows matches each;
- ``probe(ids, offsets, rows, outer, pad)``: the (probe row, table row) index pairs of a batch,
  in probe-row order; with ``outer`` a probe row without a match is paired with ``pad`` (the
  table's all-NULL row);
- ``keep_pairs(left, right, keep, n, outer, pad)``: the pairs whose ``keep`` (the ON condition's
  non-equality part, a BOOLEAN column) is TRUE; with ``outer`` a probe row that kept none is
  paired with ``pad`` once, in its place.

Imports nothing from ``plan/`` or ``runtime/``.
"""

from cpython cimport array
from libc.stdint cimport int64_t, uint8_t

from velostream._core.batch cimport BoolColumn, new_int64_array


cdef inline int64_t* _data(object a) noexcept:
    return <int64_t*>(<array.array>a).data.as_voidptr


def build_index(ids, Py_ssize_t groups):
    """``(offsets, rows)``: the rows of key id ``g`` are ``rows[offsets[g]:offsets[g + 1]]``."""
    cdef const int64_t[::1] g = ids
    cdef Py_ssize_t n = g.shape[0], i
    cdef object offsets = new_int64_array(groups + 1)
    cdef object rows = new_int64_array(n)
    cdef int64_t* off = _data(offsets)
    cdef int64_t* dst = _data(rows)
    cdef int64_t k
    for i in range(groups + 1):
        off[i] = 0
    for i in range(n):
        k = g[i]
        if k < 0 or k >= groups:
            raise ValueError(f"key id {k} outside 0..{groups - 1}")
        off[k + 1] += 1
    for i in range(groups):
        off[i + 1] += off[i]
    for i in range(n):              # off[k] walks up to the start of k + 1, then is shifted back
        k = g[i]
        dst[off[k]] = i
        off[k] += 1
    for i in range(groups, 0, -1):
        off[i] = off[i - 1]
    off[0] = 0
    return offsets, rows


def probe(ids, offsets, rows, bint outer, int64_t pad):
    """``(left, right)`` index arrays: each probe row ``i`` with every table row of its key."""
    cdef const int64_t[::1] g = ids
    cdef const int64_t[::1] off = offsets
    cdef const int64_t[::1] r = rows
    cdef Py_ssize_t n = g.shape[0], i, total = 0, at = 0
    cdef int64_t k, j
    for i in range(n):
        k = g[i]
        if k >= 0:
            total += off[k + 1] - off[k]
        elif outer:
            total += 1
    cdef object left = new_int64_array(total)
    cdef object right = new_int64_array(total)
    cdef int64_t* lp = _data(left)
    cdef int64_t* rp = _data(right)
    for i in range(n):
        k = g[i]
        if k >= 0:
            for j in range(off[k], off[k + 1]):
                lp[at] = i
                rp[at] = r[j]
                at += 1
        elif outer:
            lp[at] = i
            rp[at] = pad
            at += 1
    return left, right


def keep_pairs(left, right, BoolColumn keep, Py_ssize_t n, bint outer, int64_t pad):
    """The pairs of ``probe`` (in probe-row order) where ``keep`` is TRUE; with ``outer`` each
    of the ``n`` probe rows without a kept pair gets one ``pad`` pair."""
    cdef const int64_t[::1] lp = left
    cdef const int64_t[::1] rp = right
    cdef Py_ssize_t m = lp.shape[0], i, at = 0
    cdef int64_t row
    cdef bint kept_any
    if keep.length != m:
        raise ValueError("keep mask length differs from the pairs")
    cdef const uint8_t* valid = keep.valid
    cdef const uint8_t* values = keep.values
    # Upper bound: every pair kept, plus one per probe row.
    cdef object lo = new_int64_array(m + (n if outer else 0))
    cdef object ro = new_int64_array(m + (n if outer else 0))
    cdef int64_t* lq = _data(lo)
    cdef int64_t* rq = _data(ro)
    i = 0
    for row in range(n):
        kept_any = False
        while i < m and lp[i] == row:
            if rp[i] != pad and values[i] and (valid == NULL or valid[i]):
                lq[at] = row
                rq[at] = rp[i]
                at += 1
                kept_any = True
            i += 1
        if outer and not kept_any:
            lq[at] = row
            rq[at] = pad
            at += 1
    array.resize(<array.array>lo, at)
    array.resize(<array.array>ro, at)
    return lo, ro
