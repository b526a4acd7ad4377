# cython: language_level=3
"""Per-group bookkeeping of spillable operator state: when each group was last updated, and
its store entries.

An operator whose groups can outgrow memory (``runtime.group_state``) stamps every group a
batch updates with the batch's number (``stamp``, per row in C). A stamp after the last
checkpoint's number means the group changed since (``changed``: what a checkpoint writes); the
smallest stamps are the least recently used groups (``oldest``: what is spilled first).
``entry_ops`` encodes the store entries of groups (the layout is ``runtime.group_state``'s).
"""

from cpython cimport array
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc

import array as _array

from velostream._core.keycodec import encode_int64, encode_key
from velostream._core.valuecodec import encode_values

cdef array.array _Q = _array.array("q")


def stamp(const int64_t[::1] ids, Py_ssize_t n, array.array stamps, int64_t value):
    """``stamps[ids[i]] = value`` for the first ``n`` ids (``stamps`` grows, with 0, to fit)."""
    cdef Py_ssize_t i
    cdef int64_t top = -1
    for i in range(n):
        if ids[i] > top:
            top = ids[i]
    if top >= len(stamps):
        array.resize_smart(stamps, top + 1)
    cdef int64_t* s = <int64_t*>stamps.data.as_voidptr
    for i in range(n):
        s[ids[i]] = value


def changed(const int64_t[::1] ids, const int64_t[::1] stamps, int64_t mark):
    """The ids (in their order) whose stamp is after ``mark``; ids past ``stamps`` have none."""
    cdef Py_ssize_t i, n = ids.shape[0], m = stamps.shape[0]
    cdef array.array out = array.clone(_Q, 0, False)
    for i in range(n):
        if ids[i] < m and stamps[ids[i]] > mark:
            out.append(ids[i])
    return out


def oldest(const int64_t[::1] ids, const int64_t[::1] stamps, Py_ssize_t count):
    """``count`` of ``ids`` with the smallest stamps (ties: the earlier in ``ids``), in their
    order in ``ids``. Stamps are batch numbers, so a count per distinct stamp finds the
    threshold in one pass."""
    cdef Py_ssize_t i, n = ids.shape[0], m = stamps.shape[0], span, below = 0, ties
    cdef int64_t lo = 0, hi = 0, s, threshold
    cdef array.array out = array.clone(_Q, 0, False)
    if count <= 0 or n == 0:
        return out
    if count >= n:
        return _array.array("q", ids)
    for i in range(n):
        s = stamps[ids[i]] if ids[i] < m else 0
        if i == 0 or s < lo:
            lo = s
        if i == 0 or s > hi:
            hi = s
    span = <Py_ssize_t>(hi - lo + 1)
    cdef Py_ssize_t* counts = <Py_ssize_t*>malloc(span * sizeof(Py_ssize_t))
    if counts == NULL:
        raise MemoryError()
    try:
        for i in range(span):
            counts[i] = 0
        for i in range(n):
            s = stamps[ids[i]] if ids[i] < m else 0
            counts[s - lo] += 1
        threshold = lo
        while below + counts[threshold - lo] < count:
            below += counts[threshold - lo]
            threshold += 1
    finally:
        free(counts)
    ties = count - below            # groups stamped exactly ``threshold`` that go too
    for i in range(n):
        s = stamps[ids[i]] if ids[i] < m else 0
        if s < threshold:
            out.append(ids[i])
        elif s == threshold and ties > 0:
            out.append(ids[i])
            ties -= 1
    return out


def number_new(const int64_t[::1] new_ids, new_starts, array.array seqs, array.array starts,
               bytearray indexed, int64_t first):
    """Groups first held now, none of them in the store: ``seqs[new_ids[i]] = first + i``,
    their window starts (``new_starts``; None: not windowed) and no index entry yet. The arrays
    must already fit every id. Returns the next sequence number."""
    cdef Py_ssize_t i, n = new_ids.shape[0]
    cdef int64_t* sq = <int64_t*>seqs.data.as_voidptr
    cdef int64_t* st = <int64_t*>starts.data.as_voidptr
    cdef const int64_t[::1] ns
    cdef unsigned char* ix = indexed
    for i in range(n):
        sq[new_ids[i]] = first + i
        ix[new_ids[i]] = 0
    if new_starts is not None and n:
        ns = new_starts
        for i in range(n):
            st[new_ids[i]] = ns[i]
    return first + n


def entry_ops(const int64_t[::1] ids, list keys, list types, list states, array.array seqs,
              starts, bytearray indexed, str groups, str index, list ops, int put):
    """Append to ``ops`` (a ``WriteBatch``'s) the store entries of groups ``ids``: under
    ``groups``, window start + sequence → (key values, ``types``, the accumulators' states
    ``states[j][i]``); under ``index``, window start + key values → sequence, for the groups
    not ``indexed`` yet (then marked). ``starts``: per group id its window start, or None.
    ``put``: the store's PUT operation code. Returns the window starts written (None: not
    windowed)."""
    cdef Py_ssize_t i, j, n = ids.shape[0], k = len(states)
    cdef int64_t gid, seq
    cdef const int64_t* sq = <const int64_t*>seqs.data.as_voidptr
    cdef const int64_t* st = NULL
    cdef unsigned char* ix = indexed
    cdef bytes prefix = b""
    cdef list cell
    cdef set written = set()
    if starts is not None:
        st = <const int64_t*>(<array.array>starts).data.as_voidptr
    for i in range(n):
        gid = ids[i]
        seq = sq[gid]
        if st != NULL:
            prefix = encode_int64(st[gid])
            written.add(st[gid])
        cell = [None] * k
        for j in range(k):
            if states[j] is not None:
                cell[j] = (<list>states[j])[i]
        ops.append((put, groups, encode_int64(seq, prefix),
                    encode_values((keys[i], types, cell))))
        if not ix[gid]:
            ops.append((put, index, encode_key(keys[i], prefix),
                        (<uint64_t>seq ^ (<uint64_t>1 << 63)).to_bytes(8, "big")))
            ix[gid] = 1
    if st == NULL and n:
        written.add(None)
    return written
