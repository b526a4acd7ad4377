# cython: language_level=3
"""Window assignment kernels over typed timestamp columns (epoch milliseconds).

- ``assign_windows(times, size, advance, row_watermarks, watermark, lateness)``: the (row,
  window start) pairs of tumbling (``advance == size``) and hopping windows, ``[k*advance,
  k*advance + size)``, aligned to the epoch; pairs whose window is already closed for that row
  (``start + size + lateness <= watermark``) are left out, and a row left with no window is
  *late*;
- ``prefix_watermarks(times, running_max, max_out_of_orderness)``: the watermark before each row
  (the largest event time of the earlier rows minus the bound), so lateness is decided per
  record whatever the batch boundaries are;
- ``mark_new(ids, starts, seen)``: which group ids of a batch are new (not yet in ``seen``,
  a bytearray indexed by id), with their window start: the operator files them by window
  (``by_start(new_ids, new_starts)``); ``unmark(ids, seen)`` forgets released ids;
- ``SessionAssigner``: per key, the open sessions (start, last event time, session id); a record
  closer than the gap to a session joins it, and one that bridges two merges them.

Imports nothing from ``plan/`` or ``runtime/``.
"""

cimport cython
from cpython cimport array
from libc.stdint cimport INT64_MIN, int64_t

import array as _pyarray

from velostream._core.batch cimport Column, Int64Column, T_INT64, T_TIMESTAMP, make_int64

from velostream._core.rowkeys import sort_indices

cdef array.array _Q = _pyarray.array("q")

# The watermark before any record: no window is closed.
NO_WATERMARK = INT64_MIN


cdef inline int64_t _floor_div(int64_t a, int64_t b) noexcept:
    cdef int64_t q = a // b
    if (a % b != 0) and ((a < 0) != (b < 0)):
        q -= 1
    return q


cdef inline int64_t _row_mark(Int64Column w, Py_ssize_t i, int64_t watermark) noexcept:
    """The watermark before row ``i``: the job's, or the row's own mark when later."""
    if w is not None and w.is_valid(i) and w.values[i] > watermark:
        return w.values[i]
    return watermark


cdef inline int _push(array.array values, int64_t v) except -1:
    array.resize_smart(values, len(values) + 1)
    values.data.as_longlongs[len(values) - 1] = v
    return 0


cdef Int64Column _times(Column column):
    if column.type != T_INT64 and column.type != T_TIMESTAMP:
        raise TypeError(f"window time must be a TIMESTAMP or BIGINT (epoch ms) column, not "
                        f"{column.type_name}")
    return <Int64Column>column


@cython.boundscheck(False)
@cython.wraparound(False)
def assign_windows(Column times, int64_t size, int64_t advance, Column row_watermarks,
                   int64_t watermark, int64_t lateness):
    """``(rows, starts, late, missing)`` (``array('q')`` each): every open (row, window start)
    pair in row order (windows of a row by start), the rows whose windows are all closed, and
    the rows without a time (NULL)."""
    cdef Int64Column t = _times(times)
    cdef Int64Column w = None
    cdef Py_ssize_t i, n = t.length
    cdef int64_t ts, first, last, k, start, wm
    cdef bint any_open
    cdef array.array rows = array.clone(_Q, 0, False)
    cdef array.array starts = array.clone(_Q, 0, False)
    cdef array.array late = array.clone(_Q, 0, False)
    cdef array.array missing = array.clone(_Q, 0, False)
    if size <= 0 or advance <= 0:
        raise ValueError("window size and advance must be positive")
    if row_watermarks is not None:
        w = _times(row_watermarks)
    if size == advance:
        return _assign_tumbling(t, w, size, watermark, lateness, missing, late)
    for i in range(n):
        if not t.is_valid(i):
            _push(missing, i)
            continue
        ts = t.values[i]
        wm = _row_mark(w, i, watermark)
        last = _floor_div(ts, advance)
        first = _floor_div(ts - size, advance) + 1
        any_open = False
        for k in range(first, last + 1):
            start = k * advance
            if wm != INT64_MIN and start + size + lateness <= wm:
                continue
            any_open = True
            _push(rows, i)
            _push(starts, start)
        if not any_open:
            _push(late, i)
    return rows, starts, late, missing


cdef tuple _assign_tumbling(Int64Column t, Int64Column w, int64_t size, int64_t watermark,
                            int64_t lateness, array.array missing, array.array late):
    """assign_windows when windows do not overlap: one window per row, so the pairs are
    written into arrays of the batch's length and cut to the rows kept."""
    cdef Py_ssize_t i, m = 0, n = t.length
    cdef int64_t ts, start, wm
    cdef array.array rows = array.clone(_Q, n, False)
    cdef array.array starts = array.clone(_Q, n, False)
    cdef int64_t* r = <int64_t*>rows.data.as_voidptr
    cdef int64_t* s = <int64_t*>starts.data.as_voidptr
    for i in range(n):
        if not t.is_valid(i):
            _push(missing, i)
            continue
        ts = t.values[i]
        wm = _row_mark(w, i, watermark)
        start = _floor_div(ts, size) * size
        if wm != INT64_MIN and start + size + lateness <= wm:
            _push(late, i)
            continue
        r[m] = i
        s[m] = start
        m += 1
    array.resize(rows, m)
    array.resize(starts, m)
    return rows, starts, late, missing


@cython.boundscheck(False)
@cython.wraparound(False)
def prefix_watermarks(Column times, int64_t running_max, int64_t max_out_of_orderness):
    """``(watermarks, running_max)``: a TIMESTAMP column holding, for each row, the watermark
    before it (NULL while no time has been seen), and the largest time after the batch.
    ``running_max`` is INT64_MIN when no time has been seen yet."""
    cdef Int64Column t = _times(times)
    cdef Py_ssize_t i, n = t.length
    cdef array.array data = array.clone(_Q, n, False)
    cdef array.array valid = None
    cdef int64_t* out = <int64_t*>data.data.as_voidptr
    cdef Py_ssize_t k
    for i in range(n):
        if running_max == INT64_MIN:
            if valid is None:
                valid = array.clone(_pyarray.array("B"), n, False)
                for k in range(n):
                    valid.data.as_uchars[k] = 1
            valid.data.as_uchars[i] = 0
            out[i] = 0
        else:
            out[i] = running_max - max_out_of_orderness
        if t.is_valid(i) and t.values[i] > running_max:
            running_max = t.values[i]
    return make_int64(data, valid, n, T_TIMESTAMP), running_max


@cython.boundscheck(False)
@cython.wraparound(False)
def mark_new(const int64_t[::1] ids, const int64_t[::1] starts, bytearray seen):
    """``(new_ids, new_starts)`` of the ids not marked in ``seen`` (grown as needed), marking
    them; each new id once, with the start of its first row."""
    cdef Py_ssize_t i, n = ids.shape[0]
    cdef int64_t top = -1, g
    cdef array.array new_ids = array.clone(_Q, 0, False)
    cdef array.array new_starts = array.clone(_Q, 0, False)
    for i in range(n):
        if ids[i] > top:
            top = ids[i]
    if top >= len(seen):
        seen.extend(bytes(top + 1 - len(seen)))
    cdef unsigned char* marks = seen
    for i in range(n):
        g = ids[i]
        if not marks[g]:
            marks[g] = 1
            _push(new_ids, g)
            _push(new_starts, starts[i])
    return new_ids, new_starts


def by_start(const int64_t[::1] ids, const int64_t[::1] starts):
    """``[(start, array('q') of ids)]``: mark_new's new ids filed by window start, starts in
    the order of their first row and ids in row order (a dict lookup per run of one start, not
    per id)."""
    cdef Py_ssize_t i, n = ids.shape[0], b = -1, nb = 0
    cdef int64_t prev = 0
    cdef dict index = {}
    cdef list out = []
    cdef array.array bucket = array.clone(_Q, n, False)
    cdef int64_t* bk = <int64_t*>bucket.data.as_voidptr
    cdef array.array fill
    cdef int64_t* counts
    cdef array.array arr
    cdef Py_ssize_t k
    for i in range(n):
        if b < 0 or starts[i] != prev:
            prev = starts[i]
            got = index.get(prev)
            if got is None:
                got = index[prev] = nb
                nb += 1
                out.append(prev)
            b = got
        bk[i] = b
    fill = array.clone(_Q, nb, True)
    counts = <int64_t*>fill.data.as_voidptr
    for i in range(n):
        counts[bk[i]] += 1
    lists = [array.clone(_Q, counts[k], False) for k in range(nb)]
    heads = array.clone(_Q, nb, False)       # per start: where its next id goes
    cdef int64_t** at = <int64_t**>heads.data.as_voidptr
    for k in range(nb):
        arr = <array.array>lists[k]
        at[k] = <int64_t*>arr.data.as_voidptr
    for i in range(n):
        at[bk[i]][0] = ids[i]
        at[bk[i]] += 1
    return list(zip(out, lists))


def unmark(const int64_t[::1] ids, bytearray seen):
    cdef Py_ssize_t i
    cdef unsigned char* marks = seen
    for i in range(ids.shape[0]):
        if ids[i] < len(seen):
            marks[ids[i]] = 0


cdef class SessionAssigner:
    """Per key id, its open sessions ``[start, last, session id]``, sorted by start and never
    overlapping (a record that bridges two merges them). Session ids are dense and reused:
    ``release`` hands ids back once the caller has dropped their state. Each session also has
    a sequence number, given when it opens and kept (in checkpoints too): closing sessions
    with the same end come out in that order, which restarts do not change (ids they do)."""

    cdef readonly int64_t gap
    cdef readonly dict sessions          # key id -> list of [start, last, sid]
    cdef list free
    cdef int64_t next_sid
    cdef object first_of                 # array('q') by sid: the session's start
    cdef object last_of                  # ... and its last record's time
    cdef object seq_of                   # ... and its sequence number
    cdef public int64_t next_seq

    def __init__(self, int64_t gap):
        if gap <= 0:
            raise ValueError("session gap must be positive")
        self.gap = gap
        self.sessions = {}
        self.free = []
        self.next_sid = 0
        self.first_of = array.clone(_Q, 0, False)
        self.last_of = array.clone(_Q, 0, False)
        self.seq_of = array.clone(_Q, 0, False)
        self.next_seq = 0

    cdef int64_t _allocate(self, int64_t seq=-1):
        cdef int64_t sid
        if seq < 0:
            seq = self.next_seq
            self.next_seq += 1
        if self.free:
            sid = self.free.pop()
        else:
            self.next_sid += 1
            self.first_of.append(0)
            self.last_of.append(0)
            self.seq_of.append(0)
            sid = self.next_sid - 1
        (<int64_t*>(<array.array>self.seq_of).data.as_voidptr)[sid] = seq
        return sid

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def seqs(self, const int64_t[::1] sids):
        """The sequence numbers (``array('q')``) of the open sessions ``sids``."""
        cdef Py_ssize_t i, n = sids.shape[0]
        cdef array.array out = array.clone(_Q, n, False)
        cdef int64_t* q = <int64_t*>(<array.array>self.seq_of).data.as_voidptr
        for i in range(n):
            out.data.as_longlongs[i] = q[sids[i]]
        return out

    cdef inline void _note(self, list s):
        cdef int64_t sid = s[2]
        (<int64_t*>(<array.array>self.first_of).data.as_voidptr)[sid] = s[0]
        (<int64_t*>(<array.array>self.last_of).data.as_voidptr)[sid] = s[1]

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def bounds(self, const int64_t[::1] sids):
        """``(starts, lasts)`` (``array('q')``) of the open sessions ``sids``."""
        cdef Py_ssize_t i, n = sids.shape[0]
        cdef array.array starts = array.clone(_Q, n, False)
        cdef array.array lasts = array.clone(_Q, n, False)
        cdef int64_t* f = <int64_t*>(<array.array>self.first_of).data.as_voidptr
        cdef int64_t* e = <int64_t*>(<array.array>self.last_of).data.as_voidptr
        for i in range(n):
            starts.data.as_longlongs[i] = f[sids[i]]
            lasts.data.as_longlongs[i] = e[sids[i]]
        return starts, lasts

    def release(self, sids):
        self.free.extend(sids)

    def add(self, int64_t kid, int64_t start, int64_t last, int64_t seq=-1):
        """A restored session (``seq``: its sequence number; -1: the next): its new id."""
        cdef int64_t sid = self._allocate(seq)
        if seq >= self.next_seq:
            self.next_seq = seq + 1
        found = self.sessions.setdefault(kid, [])
        s = [start, last, sid]
        found.append(s)
        found.sort()
        self._note(s)
        return sid

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def assign(self, const int64_t[::1] keys, Column times, Column row_watermarks,
               int64_t watermark, int64_t lateness):
        """``(rows, sids, late, missing, merges)``: the session id of each row that is not late,
        the late rows (the session they would form is closed: t + gap + lateness <=
        watermark), the rows without a time, and ``merges``: ``(dst, src)`` pairs in order
        (src's state folds into dst; the caller releases src once it has done so)."""
        cdef Int64Column t = _times(times)
        cdef Int64Column w = None
        cdef Py_ssize_t i, j, n = t.length, first_hit, last_hit
        cdef int64_t ts, wm, gap = self.gap, s_start, s_last
        cdef list found, merges = [], s, other
        cdef array.array rows = array.clone(_Q, 0, False)
        cdef array.array sids = array.clone(_Q, 0, False)
        cdef array.array late = array.clone(_Q, 0, False)
        cdef array.array missing = array.clone(_Q, 0, False)
        cdef dict sessions = self.sessions
        if row_watermarks is not None:
            w = _times(row_watermarks)
        for i in range(n):
            if not t.is_valid(i):
                missing.append(i)
                continue
            ts = t.values[i]
            wm = _row_mark(w, i, watermark)
            key = keys[i]
            found = sessions.get(key)
            if found is None:
                found = sessions[key] = []
            # Sessions are sorted and disjoint: scan back from the latest while a session can
            # still be closer than the gap (in-order data looks at one session).
            first_hit = -1
            last_hit = -1
            j = len(found) - 1
            while j >= 0:
                s = <list>found[j]
                s_start = s[0]
                s_last = s[1]
                if s_last + gap <= ts:
                    break
                # a session the watermark before this row has closed takes no more rows (it
                # is emitted when the job delivers that watermark): batches never matter
                if ts > s_start - gap and not (
                        wm != INT64_MIN and s_last + gap + lateness <= wm):
                    if last_hit < 0:
                        last_hit = j
                    first_hit = j
                j -= 1
            if first_hit < 0:
                if wm != INT64_MIN and ts + gap + lateness <= wm:
                    late.append(i)
                    continue
                s = [ts, ts, self._allocate()]
                j = len(found)
                while j > 0 and (<list>found[j - 1])[0] > ts:
                    j -= 1
                found.insert(j, s)
            else:
                s = <list>found[first_hit]
                for j in range(last_hit, first_hit, -1):
                    other = <list>found[j]
                    # hits are contiguous unless a closed session sits between: merge only
                    # the open ones (a closed one stays as it is, to be emitted)
                    if other[1] + gap + lateness <= wm and wm != INT64_MIN:
                        continue
                    found.pop(j)
                    merges.append((s[2], other[2]))
                    if other[0] < s[0]:
                        s[0] = other[0]
                    if other[1] > s[1]:
                        s[1] = other[1]
                if ts < s[0]:
                    s[0] = ts
                if ts > s[1]:
                    s[1] = ts
            self._note(s)
            rows.append(i)
            sids.append(s[2])
        return rows, sids, late, missing, merges

    def closable(self, int64_t watermark, int64_t lateness):
        """Remove the sessions whose end (last + gap) + lateness <= watermark and return their
        ``(kids, starts, lasts, sids)`` (``array('q')`` each, by end then sequence number).
        Their ids are released: the caller drops their state before the next ``assign``."""
        cdef array.array kids = array.clone(_Q, 0, False)
        cdef array.array starts = array.clone(_Q, 0, False)
        cdef array.array lasts = array.clone(_Q, 0, False)
        cdef array.array sids = array.clone(_Q, 0, False)
        cdef list found, s
        cdef Py_ssize_t k, n
        cdef int64_t gap = self.gap
        cdef list gone = []
        for key, found in self.sessions.items():
            n = 0
            # sessions are sorted: the closed ones are a prefix
            while n < len(found) and (<int64_t>(<list>found[n])[1]) + gap + lateness <= watermark:
                n += 1
            for k in range(n):
                s = <list>found[k]
                kids.append(key)
                starts.append(s[0])
                lasts.append(s[1])
                sids.append(s[2])
            if n:
                del found[:n]
                if not found:
                    gone.append(key)
        for key in gone:
            del self.sessions[key]
        self.free.extend(sids)
        if len(sids) > 1:
            seqs = self.seqs(sids)
            order = sort_indices([make_int64(lasts, None, len(lasts), T_INT64),
                                  make_int64(seqs, None, len(seqs), T_INT64)],
                                 [False, False], [False, False])
            kids, starts, lasts, sids = [_take_q(a, order) for a in (kids, starts, lasts, sids)]
        return kids, starts, lasts, sids


@cython.boundscheck(False)
@cython.wraparound(False)
cdef array.array _take_q(array.array values, const int64_t[::1] order):
    cdef Py_ssize_t i, n = order.shape[0]
    cdef array.array out = array.clone(_Q, n, False)
    for i in range(n):
        out.data.as_longlongs[i] = values.data.as_longlongs[order[i]]
    return out


@cython.boundscheck(False)
@cython.wraparound(False)
def time_column(const int64_t[::1] values, int64_t delta=0):
    """A TIMESTAMP column of ``values + delta`` (window starts and ends of emitted rows)."""
    cdef Py_ssize_t i, n = values.shape[0]
    cdef array.array data = array.clone(_Q, n, False)
    cdef int64_t* out = <int64_t*>data.data.as_voidptr
    for i in range(n):
        out[i] = values[i] + delta
    return make_int64(data, None, n, T_TIMESTAMP)


cdef class SlidingBuffer:
    """The rows one-argument ``SLIDING(size)`` still needs: for each, its key id and time, and
    the position of the previous row of the same key (a chain per key), so the window
    ``[t - size, t]`` of a new row is found by walking its key's rows only. Positions are
    absolute (``base`` is the position of the first row held); ``trim`` drops old rows from the
    front."""

    cdef readonly object kids
    cdef readonly object times
    cdef object prev
    cdef object last
    cdef readonly int64_t base

    def __init__(self):
        self.kids = array.clone(_Q, 0, False)
        self.times = array.clone(_Q, 0, False)
        self.prev = array.clone(_Q, 0, False)
        self.last = array.clone(_Q, 0, False)
        self.base = 0

    def __len__(self):
        return len(self.kids)

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def append(self, const int64_t[::1] kids, Column times):
        """Add rows (key ids and times; every time present)."""
        cdef Int64Column t = _times(times)
        cdef Py_ssize_t i, n = kids.shape[0]
        cdef int64_t kid, top = -1
        cdef int64_t at = self.base + len(self.kids)
        for i in range(n):
            if kids[i] > top:
                top = kids[i]
        if top >= len(self.last):
            self.last.extend(array.array("q", [-1]) * (top + 1 - len(self.last)))
        cdef int64_t* last = <int64_t*>(<array.array>self.last).data.as_voidptr
        array.resize_smart(self.kids, len(self.kids) + n)
        array.resize_smart(self.times, len(self.times) + n)
        array.resize_smart(self.prev, len(self.prev) + n)
        cdef Py_ssize_t off = len(self.kids) - n
        cdef int64_t* ks = <int64_t*>(<array.array>self.kids).data.as_voidptr
        cdef int64_t* ts = <int64_t*>(<array.array>self.times).data.as_voidptr
        cdef int64_t* pv = <int64_t*>(<array.array>self.prev).data.as_voidptr
        for i in range(n):
            kid = kids[i]
            ks[off + i] = kid
            ts[off + i] = t.values[i]
            pv[off + i] = last[kid]
            last[kid] = at + i

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def pairs(self, Py_ssize_t first, int64_t size):
        """``(rows, held)``: for each held row from relative position ``first`` on, every held
        row of its key at or before it (in arrival order) whose time is within
        ``[t - size, t]``: ``rows`` counts from ``first``, ``held`` are relative positions."""
        cdef Py_ssize_t i, n = len(self.kids)
        cdef int64_t j, t
        cdef int64_t* ts = <int64_t*>(<array.array>self.times).data.as_voidptr
        cdef int64_t* pv = <int64_t*>(<array.array>self.prev).data.as_voidptr
        cdef array.array rows = array.clone(_Q, 0, False)
        cdef array.array held = array.clone(_Q, 0, False)
        for i in range(first, n):
            t = ts[i]
            j = i + self.base
            while j >= self.base:
                if t - size <= ts[j - self.base] <= t:
                    _push(rows, i - first)
                    _push(held, j - self.base)
                j = pv[j - self.base]
        return rows, held

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def trim(self, int64_t threshold):
        """Drop the rows at the front whose time is at or before ``threshold``; returns how
        many (the caller drops as many rows of its value columns)."""
        cdef Py_ssize_t k = 0, n = len(self.kids)
        cdef int64_t* ts = <int64_t*>(<array.array>self.times).data.as_voidptr
        while k < n and ts[k] <= threshold:
            k += 1
        if k:
            del self.kids[:k]
            del self.times[:k]
            del self.prev[:k]
            self.base += k
        return k


@cython.boundscheck(False)
@cython.wraparound(False)
def late_rows(Column times, Column row_watermarks, int64_t watermark, int64_t lateness):
    """``(keep, late, missing)`` for windows that end at their record (one-argument SLIDING):
    a record is late when ``t + lateness < watermark`` (its own window has closed)."""
    cdef Int64Column t = _times(times)
    cdef Int64Column w = None
    cdef Py_ssize_t i, n = t.length
    cdef int64_t wm
    cdef array.array keep = array.clone(_Q, 0, False)
    cdef array.array late = array.clone(_Q, 0, False)
    cdef array.array missing = array.clone(_Q, 0, False)
    if row_watermarks is not None:
        w = _times(row_watermarks)
    for i in range(n):
        if not t.is_valid(i):
            missing.append(i)
            continue
        wm = _row_mark(w, i, watermark)
        if wm != INT64_MIN and t.values[i] + lateness < wm:
            late.append(i)
        else:
            keep.append(i)
    return keep, late, missing
