# cython: language_level=3, boundscheck=False, wraparound=False
"""Per-partition kernels of the window-function operator (``runtime.window_functions``).

The operator keeps the rows it still needs (the *retained* rows: the frame's preceding rows and
the rows waiting for their following rows) in segments addressed by global positions. For each
batch it copies the retained rows of the partitions the batch touches (``gather`` /
``localize``) in front of the new rows and calls :meth:`WindowKernel.push` with the partition id
of every new row. The kernel walks the new rows in arrival order, keeps per partition a ring of
the positions of its retained rows (partition-local row ``k`` is the partition's ``k``-th row),
emits every row whose frame is complete, and says which rows those partitions keep (``settle``);
``keep`` compacts all partitions when dead rows pile up. Per emitted
row and function it gives either a *source position* (LAG, LEAD, FIRST/LAST/NTH_VALUE, and
MIN/MAX as the row holding the extremum: the operator takes the value from the argument column,
so every type works and DECIMAL rows keep their own scale), a BIGINT (ROW_NUMBER, RANK,
DENSE_RANK, COUNT), a DOUBLE or an exact int128 DECIMAL mantissa (SUM, AVG).

Frames: ``ROWS`` frames are row offsets ``[k + start, k + end]``; ``RANGE`` frames are order-value
offsets (``end = 0``: the current row's peers). Frame bounds never move backwards (a row that
arrives with a smaller order value than earlier rows of its partition keeps the frame where it
was). Aggregates slide incrementally: the rows entering the frame are added, the rows leaving it
are subtracted (DOUBLE sums with Neumaier compensation; integer and DECIMAL sums exact in int128);
MIN/MAX keep the row of the extremum and rescan the frame only when that row leaves it.

State per partition is bounded by the frame: the ring holds at most (rows preceding the frame
start) + (rows the emission waits for); UNBOUNDED PRECEDING keeps running sums and pins only the
rows FIRST_VALUE / NTH_VALUE / running MIN/MAX need. ROW_NUMBER / RANK / DENSE_RANK are counters.
"""

from cpython cimport array
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.stdint cimport int64_t, uint8_t
from libc.math cimport fabs
from libc.stdlib cimport qsort
from libc.string cimport memset

from velostream._core.batch cimport (
    Column,
    DecimalColumn,
    Float64Column,
    Int64Column,
    T_DECIMAL,
    T_FLOAT64,
    T_INT64,
    T_NULL,
    T_TIMESTAMP,
    dec_is_objects,
    dec_m128,
    vs_div128,
    vs_i128,
    vs_ld128,
    vs_out38,
    vs_p10t,
    vs_st128,
)

from array import array as _array

# Function codes (the operator maps names to these).
F_ROW_NUMBER = 1
F_RANK = 2
F_DENSE_RANK = 3
F_LAG = 4
F_LEAD = 5
F_FIRST = 6
F_LAST = 7
F_NTH = 8
F_COUNT_STAR = 9
F_COUNT = 10
F_SUM = 11
F_AVG = 12
F_MIN = 13
F_MAX = 14

# Result kinds of a function's output.
OUT_POS = 0       # source positions (-1: NULL / the default)
OUT_INT = 1       # BIGINT
OUT_DOUBLE = 2
OUT_DEC = 3       # int128 mantissas (two int64 limbs per row), a scale per row

cdef enum:
    MAXF = 64
    IN_NONE = 0
    IN_INT = 1        # BIGINT, TIMESTAMP
    IN_DOUBLE = 2
    IN_DEC = 3        # DECIMAL: int128 mantissas at ``scale``


cdef struct Part:
    int64_t arrived      # rows seen
    int64_t nemit        # next partition-local row to emit
    int64_t base         # local index of ring[head]
    int64_t head
    int64_t count        # rows in the ring
    int64_t cap
    int64_t* ring        # positions of local rows base .. base + count - 1
    int64_t* pinned      # positions of local rows 0 .. npin - 1 (UNBOUNDED PRECEDING values)
    int64_t rank
    int64_t dense
    int64_t last_okey    # order key of the last emitted row (RANK / DENSE_RANK)
    int64_t run_start    # local index where the trailing run of equal order keys starts
    int64_t run_okey
    int64_t vmax         # largest order value seen (RANGE ... FOLLOWING readiness)
    int64_t stamp        # the gather() that last touched this partition


cdef struct FState:
    int64_t alo          # aggregated rows: local [alo, ahi)
    int64_t ahi
    int64_t lo           # frame of the last emitted row (frames never move backwards)
    int64_t hi
    int64_t nn           # non-NULL rows aggregated
    vs_i128 isum
    double fsum
    double fcomp
    int scale            # of isum
    int64_t best         # local index of the MIN/MAX row, -1 none
    int64_t best_pos     # its position (running extremum with UNBOUNDED PRECEDING)


cdef inline int64_t _imax(int64_t a, int64_t b) noexcept nogil:
    return a if a > b else b


cdef inline int64_t _imin(int64_t a, int64_t b) noexcept nogil:
    return a if a < b else b


cdef int _cmp_i64(const void* a, const void* b) noexcept nogil:
    cdef int64_t x = (<const int64_t*>a)[0], y = (<const int64_t*>b)[0]
    return (x > y) - (x < y)


cdef inline int64_t _bsearch(const int64_t[::1] a, int64_t v) noexcept:
    """Index of ``v`` in the sorted array ``a`` (present)."""
    cdef int64_t lo = 0, hi = a.shape[0] - 1, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef class WindowKernel:
    """Window-function state of every partition. ``specs``: per function a tuple
    ``(code, offset, rows_unit, start_unbounded, start, end)`` — ``offset`` is LAG/LEAD's offset
    or NTH_VALUE's n; ``start`` / ``end`` are frame offsets relative to the current row (rows, or
    order-value units for RANGE; ``end`` may not be unbounded)."""

    cdef int nf
    cdef int64_t[:] code, offset, start, end
    cdef uint8_t[:] rows_unit, s_unb
    cdef int64_t npin, lookahead, range_e, maxlag
    cdef bint peer_wait, need_okey
    cdef Part* parts
    cdef FState* fst
    cdef int64_t nparts, pcap
    cdef int64_t pending            # rows arrived but not emitted, all partitions
    cdef readonly int64_t out_of_order   # rows whose order key is smaller than the previous
    cdef int64_t epoch
    cdef int64_t nlive                # rows in all rings
    cdef object _touched              # array('q'): partitions of the current gather()
    # Per push: typed views of the aggregate inputs over the combined rows.
    cdef int in_kind[MAXF]
    cdef int in_scale[MAXF]
    cdef int64_t* in_i64[MAXF]       # BIGINT / TIMESTAMP values, or NULL
    cdef int64_t* in_i128[MAXF]      # DECIMAL mantissas (two limbs per row), or NULL
    cdef double* in_dbl[MAXF]
    cdef uint8_t* in_valid[MAXF]     # NULL: every row present
    cdef list _keep_alive
    # Outputs of the current push (capacity: rows held + rows pushed).
    cdef object _emit
    cdef int64_t* emit_p
    cdef list _out, _out_valid, _dec_scales
    cdef int64_t* out_i[MAXF]
    cdef double* out_d[MAXF]
    cdef uint8_t* out_v[MAXF]
    cdef uint8_t* out_s[MAXF]
    cdef int out_kind[MAXF]
    cdef int64_t _nout
    cdef readonly list errors        # (position, message) of rows with a failing value

    def __init__(self, specs):
        cdef int f
        self.nf = len(specs)
        self.code = _array("q", [s[0] for s in specs])
        self.offset = _array("q", [s[1] for s in specs])
        self.rows_unit = _array("B", [1 if s[2] else 0 for s in specs])
        self.s_unb = _array("B", [1 if s[3] else 0 for s in specs])
        self.start = _array("q", [s[4] for s in specs])
        self.end = _array("q", [s[5] for s in specs])
        self.npin = 0
        self.lookahead = 0
        self.range_e = -1
        self.maxlag = 0
        self.peer_wait = False
        self.need_okey = False
        for f in range(self.nf):
            c = self.code[f]
            if c == F_LEAD:
                self.lookahead = max(self.lookahead, self.offset[f])
            elif c == F_LAG:
                self.maxlag = max(self.maxlag, self.offset[f])
            elif c == F_RANK or c == F_DENSE_RANK:
                self.need_okey = True
            if c >= F_FIRST:
                if self.rows_unit[f]:
                    self.lookahead = max(self.lookahead, self.end[f])
                else:
                    self.need_okey = True
                    self.range_e = max(self.range_e, self.end[f])
                    if self.end[f] == 0:
                        self.peer_wait = True
                if self.s_unb[f] and c == F_FIRST:
                    self.npin = max(self.npin, 1)
                if self.s_unb[f] and c == F_NTH:
                    self.npin = max(self.npin, self.offset[f])
        self.parts = NULL
        self.fst = NULL
        self.nparts = 0
        self.pcap = 0
        self.pending = 0
        self.out_of_order = 0
        self.errors = []
        self.epoch = 0
        self.nlive = 0
        self._touched = _array("q")
        if self.nf > MAXF:
            raise ValueError(f"at most {MAXF} window functions in one query")

    def __dealloc__(self):
        cdef int64_t p
        if self.parts != NULL:
            for p in range(self.nparts):
                PyMem_Free(self.parts[p].ring)
                PyMem_Free(self.parts[p].pinned)
            PyMem_Free(self.parts)
        PyMem_Free(self.fst)

    @property
    def partitions(self):
        return self.nparts

    @property
    def retained(self):
        """Rows held in the rings of all partitions (the state bound tests check)."""
        return self.nlive

    @property
    def held(self):
        """Rows arrived and not yet emitted."""
        return self.pending

    cdef void _grow_parts(self, int64_t n) except *:
        cdef int64_t cap = self.pcap
        cdef int64_t p
        cdef int f
        cdef void* mem
        if n <= cap:
            return
        while cap < n:
            cap = cap * 2 if cap else 16
        mem = PyMem_Realloc(self.parts, cap * sizeof(Part))
        if mem == NULL:
            raise MemoryError()
        self.parts = <Part*>mem
        mem = PyMem_Realloc(self.fst, cap * (self.nf if self.nf else 1) * sizeof(FState))
        if mem == NULL:
            raise MemoryError()
        self.fst = <FState*>mem
        for p in range(self.pcap, cap):
            memset(&self.parts[p], 0, sizeof(Part))
            for f in range(self.nf):
                memset(&self.fst[p * self.nf + f], 0, sizeof(FState))
                self.fst[p * self.nf + f].best = -1
                self.fst[p * self.nf + f].best_pos = -1
        self.pcap = cap

    cdef inline int64_t _at(self, Part* pt, int64_t k) noexcept:
        """Position of partition-local row ``k`` (retained), or -1."""
        if k < pt.base or k >= pt.base + pt.count:
            if k < self.npin and pt.pinned != NULL and k < pt.arrived:
                return pt.pinned[k]
            return -1
        return pt.ring[(pt.head + k - pt.base) % pt.cap]

    cdef void _append(self, Part* pt, int64_t pos) except *:
        cdef int64_t i, newcap
        cdef int64_t* ring
        if pt.count == pt.cap:
            newcap = pt.cap * 2 if pt.cap else 4
            ring = <int64_t*>PyMem_Malloc(newcap * sizeof(int64_t))
            if ring == NULL:
                raise MemoryError()
            for i in range(pt.count):
                ring[i] = pt.ring[(pt.head + i) % pt.cap]
            PyMem_Free(pt.ring)
            pt.ring = ring
            pt.head = 0
            pt.cap = newcap
        pt.ring[(pt.head + pt.count) % pt.cap] = pos
        pt.count += 1
        self.nlive += 1
        if pt.arrived < self.npin:
            if pt.pinned == NULL:
                pt.pinned = <int64_t*>PyMem_Malloc(self.npin * sizeof(int64_t))
                if pt.pinned == NULL:
                    raise MemoryError()
            pt.pinned[pt.arrived] = pos
        pt.arrived += 1

    # ---------------------------------------------------------------- aggregate inputs
    cdef void _bind_inputs(self, list columns) except *:
        """Typed views of each aggregate's argument over the combined rows (None: no arg)."""
        cdef int f
        cdef Column c
        cdef DecimalColumn d
        cdef Py_ssize_t i, n
        cdef int64_t* w
        self._keep_alive = list(columns)
        for f in range(self.nf):
            c = columns[f]
            self.in_kind[f] = IN_NONE
            self.in_scale[f] = 0
            self.in_i64[f] = NULL
            self.in_i128[f] = NULL
            self.in_dbl[f] = NULL
            self.in_valid[f] = NULL
            if c is None or self.code[f] < F_COUNT or c.type == T_NULL:
                continue
            self.in_valid[f] = c.valid
            if c.type == T_INT64 or c.type == T_TIMESTAMP:
                self.in_kind[f] = IN_INT
                self.in_i64[f] = (<Int64Column>c).values
            elif c.type == T_FLOAT64:
                self.in_kind[f] = IN_DOUBLE
                self.in_dbl[f] = (<Float64Column>c).values
            elif c.type == T_DECIMAL:
                d = <DecimalColumn>c
                if dec_is_objects(d):
                    raise OverflowError("a DECIMAL value past 38 digits in a window aggregate")
                n = d.length
                wide = _array("q", bytes(16 * n)) if n else _array("q", [0, 0])
                w = <int64_t*>(<array.array>wide).data.as_voidptr
                for i in range(n):
                    vs_st128(w, i, dec_m128(d, i) if d.is_valid(i) else 0)
                self._keep_alive.append(wide)
                self.in_kind[f] = IN_DEC
                self.in_scale[f] = d.scale
                self.in_i128[f] = w
            else:
                raise TypeError(f"cannot aggregate a {c.type_name} value in a window frame")

    cdef inline bint _valid(self, int f, int64_t pos) noexcept:
        return self.in_kind[f] != IN_NONE and (self.in_valid[f] == NULL or
                                               self.in_valid[f][pos] != 0)

    cdef inline vs_i128 _ival(self, int f, int64_t pos) noexcept:
        if self.in_i64[f] != NULL:
            return <vs_i128>self.in_i64[f][pos]
        return vs_ld128(self.in_i128[f], pos)

    cdef inline double _dval(self, int f, int64_t pos) noexcept:
        if self.in_kind[f] == IN_DOUBLE:
            return self.in_dbl[f][pos]
        return <double>self._ival(f, pos) / <double>vs_p10t[self.in_scale[f]]

    cdef void _add(self, FState* st, int f, int64_t pos, int sign) except *:
        cdef double x, t
        cdef vs_i128 v
        cdef int kind = self.in_kind[f]
        if not self._valid(f, pos):
            return
        st.nn += sign
        if self.code[f] == F_COUNT:
            return
        if kind == IN_DOUBLE:
            x = self.in_dbl[f][pos] * sign
            t = st.fsum + x                     # Neumaier: the compensation keeps the low bits
            if fabs(st.fsum) >= fabs(x):
                st.fcomp += (st.fsum - t) + x
            else:
                st.fcomp += (x - t) + st.fsum
            st.fsum = t
            if st.nn == 0:
                st.fsum = 0.0
                st.fcomp = 0.0
            return
        if self.in_scale[f] > st.scale:
            st.isum = st.isum * vs_p10t[self.in_scale[f] - st.scale]
            st.scale = self.in_scale[f]
        v = self._ival(f, pos)
        if st.scale > self.in_scale[f]:
            v = v * vs_p10t[st.scale - self.in_scale[f]]
        st.isum = st.isum + v if sign > 0 else st.isum - v
        if vs_out38(st.isum):
            raise OverflowError("a window SUM passed 38 digits")

    cdef bint _better(self, int f, int64_t pos, int64_t than_pos):
        """Is row ``pos`` a strictly better MIN/MAX than row ``than_pos``?"""
        cdef bint is_min = self.code[f] == F_MIN
        cdef double a, b
        cdef vs_i128 x, y
        if self.in_kind[f] == IN_DOUBLE:
            a = self._dval(f, pos)
            b = self._dval(f, than_pos)
            return a < b if is_min else a > b
        x = self._ival(f, pos)
        y = self._ival(f, than_pos)
        return x < y if is_min else x > y

    # ---------------------------------------------------------------- emission
    cdef bint _ready(self, Part* pt, const int64_t* okey, bint final):
        cdef int64_t k = pt.nemit
        cdef int64_t v
        if k >= pt.arrived:
            return False
        if final:
            return True
        if pt.arrived <= k + self.lookahead:
            return False
        if self.range_e >= 0:
            if self.peer_wait and k >= pt.run_start:
                return False
            if self.range_e > 0:
                v = okey[self._at(pt, k)]
                if pt.vmax <= v + self.range_e:
                    return False
        return True

    cdef void _frame(self, Part* pt, FState* st, int f, int64_t k, const int64_t* okey,
                     bint final, int64_t* lo, int64_t* hi) except *:
        """Frame of local row ``k`` for function ``f``: local rows [lo, hi) (may be empty)."""
        cdef int64_t fl, h, v, last = pt.arrived
        if self.rows_unit[f]:
            fl = 0 if self.s_unb[f] else k + self.start[f]
            h = k + self.end[f] + 1
        else:
            v = okey[self._at(pt, k)]
            if self.s_unb[f]:
                fl = 0
            else:
                fl = _imax(st.lo, 0)
                while fl < k:
                    if self.start[f] == 0:
                        if okey[self._at(pt, fl)] == v:
                            break
                    elif okey[self._at(pt, fl)] >= v + self.start[f]:
                        break
                    fl += 1
            h = _imax(st.hi, k + 1)
            while h < last:
                if self.end[f] == 0:
                    if okey[self._at(pt, h)] != v:
                        break
                elif okey[self._at(pt, h)] > v + self.end[f]:
                    break
                h += 1
            fl = _imax(fl, st.lo)
            h = _imax(h, st.hi)
        fl = _imax(fl, 0)
        h = _imin(h, last)
        st.lo = fl
        st.hi = h
        lo[0] = fl
        hi[0] = h

    cdef void _slide(self, Part* pt, FState* st, int f, int64_t lo, int64_t hi,
                     bint running) except *:
        cdef int64_t pos, j
        cdef bint minmax = self.code[f] == F_MIN or self.code[f] == F_MAX
        while st.ahi < hi:
            if st.ahi >= st.alo:
                pos = self._at(pt, st.ahi)
                if minmax:
                    if self._valid(f, pos) and (st.best < 0 or self._better(
                            f, pos, st.best_pos)):
                        st.best = st.ahi
                        st.best_pos = pos
                else:
                    self._add(st, f, pos, 1)
            st.ahi += 1
        if running:
            return
        while st.alo < lo:
            if st.alo < st.ahi and not minmax:
                self._add(st, f, self._at(pt, st.alo), -1)
            st.alo += 1
        if st.ahi < st.alo:
            st.ahi = st.alo
        if minmax and st.best >= 0 and st.best < st.alo:
            st.best = -1
            st.best_pos = -1
            for j in range(st.alo, st.ahi):
                pos = self._at(pt, j)
                if self._valid(f, pos) and (st.best < 0 or self._better(f, pos, st.best_pos)):
                    st.best = j
                    st.best_pos = pos
        if minmax and st.best >= 0:
            st.best_pos = self._at(pt, st.best)

    cdef void _emit_row(self, int64_t p, const int64_t* okey, bint final) except *:
        cdef Part* pt = &self.parts[p]
        cdef FState* st
        cdef int64_t k = pt.nemit
        cdef int64_t pos = self._at(pt, k)
        cdef int64_t i = self._nout, lo, hi, src, ok
        cdef int f, c, kind, scale
        cdef bint valid
        cdef vs_i128 q
        self.emit_p[i] = pos
        if self.need_okey and okey != NULL:
            ok = okey[pos]
            if k == 0 or ok != pt.last_okey:
                pt.rank = k + 1
                pt.dense += 1
            pt.last_okey = ok
        for f in range(self.nf):
            c = self.code[f]
            valid = True
            if c == F_ROW_NUMBER:
                self.out_i[f][i] = k + 1
            elif c == F_RANK:
                self.out_i[f][i] = pt.rank
            elif c == F_DENSE_RANK:
                self.out_i[f][i] = pt.dense
            elif c == F_LAG:
                self.out_i[f][i] = self._at(pt, k - self.offset[f]) if k >= self.offset[f] else -1
            elif c == F_LEAD:
                src = k + self.offset[f]
                self.out_i[f][i] = self._at(pt, src) if src < pt.arrived else -1
            else:
                st = &self.fst[p * self.nf + f]
                self._frame(pt, st, f, k, okey, final, &lo, &hi)
                if c == F_FIRST:
                    self.out_i[f][i] = self._at(pt, lo) if lo < hi else -1
                elif c == F_LAST:
                    self.out_i[f][i] = self._at(pt, hi - 1) if lo < hi else -1
                elif c == F_NTH:
                    src = lo + self.offset[f] - 1
                    self.out_i[f][i] = self._at(pt, src) if src < hi else -1
                elif c == F_COUNT_STAR:
                    self.out_i[f][i] = hi - lo if hi > lo else 0
                else:
                    try:
                        self._slide(pt, st, f, lo, hi, self.s_unb[f])
                    except OverflowError as e:
                        self.errors.append((pos, str(e)))
                        valid = False
                    kind = self.out_kind[f]
                    if c == F_COUNT:
                        self.out_i[f][i] = st.nn
                    elif c == F_MIN or c == F_MAX:
                        self.out_i[f][i] = st.best_pos if st.best >= 0 else -1
                    elif st.nn == 0 or not valid:
                        valid = False
                    elif kind == OUT_DOUBLE:
                        if self.in_kind[f] == IN_DOUBLE:
                            self.out_d[f][i] = st.fsum + st.fcomp
                        else:
                            self.out_d[f][i] = <double>st.isum / <double>vs_p10t[st.scale]
                        if c == F_AVG:
                            self.out_d[f][i] /= st.nn
                    elif kind == OUT_INT:
                        if st.isum > <vs_i128>9223372036854775807 or \
                                st.isum < -<vs_i128>9223372036854775807 - 1:
                            self.errors.append((pos, "BIGINT overflow in a window SUM"))
                            valid = False
                        else:
                            self.out_i[f][i] = <int64_t>st.isum
                    else:
                        q = st.isum
                        scale = st.scale
                        if c == F_AVG:
                            scale += 4
                            if vs_div128(st.isum, 4, <vs_i128>st.nn, &q):
                                self.errors.append((pos, "a window AVG passed 38 digits"))
                                valid = False
                        vs_st128(self.out_i[f], i, q)
                        self.out_s[f][i] = scale
            self.out_v[f][i] = valid
        self._nout += 1
        pt.nemit += 1
        self.pending -= 1

    cdef void _trim(self, Part* pt) except *:
        """Drop ring rows no function needs any more."""
        cdef int64_t keep = pt.nemit - self.maxlag
        cdef int f
        cdef FState* st
        cdef int64_t p = pt - self.parts
        for f in range(self.nf):
            c = self.code[f]
            if c >= F_FIRST and not self.s_unb[f]:
                st = &self.fst[p * self.nf + f]
                if self.rows_unit[f]:
                    keep = _imin(keep, pt.nemit + self.start[f])
                else:
                    keep = _imin(keep, st.lo)
                if c >= F_COUNT:
                    keep = _imin(keep, st.alo)
            elif c == F_RANK or c == F_DENSE_RANK or c == F_ROW_NUMBER or c == F_LEAD:
                keep = _imin(keep, pt.nemit)
            elif c >= F_FIRST:
                keep = _imin(keep, pt.nemit)
        keep = _imin(_imax(keep, 0), pt.nemit)
        while pt.base < keep and pt.count > 0:
            pt.head = (pt.head + 1) % pt.cap
            pt.base += 1
            pt.count -= 1
            self.nlive -= 1

    # ---------------------------------------------------------------- API
    cdef void _start(self, list agg_columns, int64_t n) except *:
        cdef int f, c, ik, kind
        cdef int64_t cap = self.pending + n + 1
        self._bind_inputs(agg_columns)
        self._emit = _array("q", bytes(8 * cap))
        self.emit_p = <int64_t*>(<array.array>self._emit).data.as_voidptr
        self._out, self._out_valid, self._dec_scales = [], [], []
        for f in range(self.nf):
            c = self.code[f]
            ik = self.in_kind[f]
            if c in (F_ROW_NUMBER, F_RANK, F_DENSE_RANK, F_COUNT_STAR, F_COUNT):
                kind = OUT_INT
            elif c == F_SUM:
                kind = OUT_DOUBLE if ik == IN_DOUBLE else OUT_DEC if ik == IN_DEC else OUT_INT
            elif c == F_AVG:
                kind = OUT_DEC if ik == IN_DEC else OUT_DOUBLE
            else:
                kind = OUT_POS
            self.out_kind[f] = kind
            values = _array("d", bytes(8 * cap)) if kind == OUT_DOUBLE else _array(
                "q", bytes(8 * cap * (2 if kind == OUT_DEC else 1)))
            valid = _array("B", bytes(cap))
            scales = _array("B", bytes(cap))
            self._out.append(values)
            self._out_valid.append(valid)
            self._dec_scales.append(scales)
            self.out_i[f] = <int64_t*>(<array.array>values).data.as_voidptr
            self.out_d[f] = <double*>(<array.array>values).data.as_voidptr
            self.out_v[f] = <uint8_t*>(<array.array>valid).data.as_voidptr
            self.out_s[f] = <uint8_t*>(<array.array>scales).data.as_voidptr
        self._nout = 0
        self.errors = []

    cdef tuple _results(self):
        """``(emitted positions, per function (kind, values, validity, row scales))``, each
        cut to the emitted rows."""
        cdef int f, top
        cdef int64_t i, n = self._nout
        emit = self._emit[:n]
        outs = []
        for f in range(self.nf):
            kind = self.out_kind[f]
            if kind == OUT_DEC:
                # one column scale: the largest row scale, the others scaled up (exact)
                top = 0
                for i in range(n):
                    if self.out_v[f][i] and self.out_s[f][i] > top:
                        top = self.out_s[f][i]
                for i in range(n):
                    if not self.out_v[f][i]:
                        vs_st128(self.out_i[f], i, 0)
                    elif self.out_s[f][i] < top:
                        vs_st128(self.out_i[f], i, vs_ld128(self.out_i[f], i) *
                                 vs_p10t[top - self.out_s[f][i]])
                    self.out_s[f][i] = top
            elif kind != OUT_POS:
                for i in range(n):
                    if not self.out_v[f][i]:
                        if kind == OUT_DOUBLE:
                            self.out_d[f][i] = 0.0
                        else:
                            self.out_i[f][i] = 0
            outs.append((kind, self._out[f][:n * (2 if kind == OUT_DEC else 1)],
                         self._out_valid[f][:n], self._dec_scales[f][:n]))
        self._keep_alive = None
        return emit, outs

    def push(self, const int64_t[::1] pids, int64_t first, agg_columns, okeys=None):
        """New rows at positions ``first ..`` (``pids[i]`` the partition of row ``first + i``);
        ``agg_columns``: per function its argument over all combined rows (or None);
        ``okeys``: int64 order key of every combined row (or None). Returns ``(emitted
        positions, per function (kind, values, valid, decimal scales))``."""
        cdef int64_t i, p, n = pids.shape[0], pos, ok
        cdef Part* pt
        cdef const int64_t* okey = NULL
        cdef int64_t[::1] okv
        if okeys is not None:
            okv = okeys
            okey = &okv[0] if okv.shape[0] else NULL
        self._start(list(agg_columns), n)
        for i in range(n):
            p = pids[i]
            if p >= self.nparts:
                self._grow_parts(p + 1)
                self.nparts = p + 1
            pt = &self.parts[p]
            pos = first + i
            if okey != NULL:
                ok = okey[pos]
                if pt.arrived == 0:
                    pt.run_start = 0
                    pt.run_okey = ok
                    pt.vmax = ok
                else:
                    if ok != pt.run_okey:
                        pt.run_start = pt.arrived
                        pt.run_okey = ok
                    if ok < pt.vmax:
                        self.out_of_order += 1
                    else:
                        pt.vmax = ok
            self._append(pt, pos)
            self.pending += 1
            while self._ready(pt, okey, False):
                self._emit_row(p, okey, False)
            self._trim(pt)
        return self._results()

    def flush(self, agg_columns, okeys=None):
        """End of input: emit every held row (in arrival order across partitions)."""
        cdef int64_t p, k, j
        cdef Part* pt
        cdef const int64_t* okey = NULL
        cdef int64_t[::1] okv
        if okeys is not None:
            okv = okeys
            okey = &okv[0] if okv.shape[0] else NULL
        self._start(list(agg_columns), 0)
        order = []
        for p in range(self.nparts):
            pt = &self.parts[p]
            for k in range(pt.nemit, pt.arrived):
                order.append((self._at(pt, k), p))
        order.sort()
        for j in range(len(order)):
            self._emit_row(order[j][1], okey, True)
        for p in range(self.nparts):
            self._trim(&self.parts[p])
        return self._results()

    # ---------------------------------------------------------------- retained-row storage
    # The operator stores retained rows in segments addressed by global positions. A batch only
    # moves the rows of the partitions it touches: gather() lists them (the operator copies them
    # in front of the new rows), localize() renumbers those partitions to that copy, and after
    # push()/flush() settle() renumbers them to the segment the operator appends. Untouched
    # partitions keep their positions, so a batch costs O(its rows + their partitions' rows),
    # not O(all retained rows); keep() compacts everything when dead rows pile up.
    cdef int64_t _npositions(self, int64_t p) noexcept:
        cdef Part* pt = &self.parts[p]
        cdef int64_t n = pt.count + (_imin(pt.arrived, self.npin) if pt.pinned != NULL else 0)
        cdef int f
        for f in range(self.nf):
            n += self.fst[p * self.nf + f].best_pos >= 0
        return n

    cdef int64_t _positions(self, int64_t p, int64_t* out) noexcept:
        cdef Part* pt = &self.parts[p]
        cdef int64_t i, n = 0
        cdef int f
        for i in range(pt.count):
            out[n] = pt.ring[(pt.head + i) % pt.cap]
            n += 1
        if pt.pinned != NULL:
            for i in range(_imin(pt.arrived, self.npin)):
                out[n] = pt.pinned[i]
                n += 1
        for f in range(self.nf):
            if self.fst[p * self.nf + f].best_pos >= 0:
                out[n] = self.fst[p * self.nf + f].best_pos
                n += 1
        return n

    cdef object _sorted_positions(self, const int64_t[::1] touched):
        """Sorted unique positions of the partitions ``touched``."""
        cdef int64_t i, n = 0, m = 0
        for i in range(touched.shape[0]):
            n += self._npositions(touched[i])
        out = _array("q", bytes(8 * n))
        cdef int64_t* o = <int64_t*>(<array.array>out).data.as_voidptr
        for i in range(touched.shape[0]):
            m += self._positions(touched[i], o + m)
        qsort(o, n, sizeof(int64_t), _cmp_i64)
        m = 0
        for i in range(n):
            if i == 0 or o[i] != o[m - 1]:
                o[m] = o[i]
                m += 1
        del out[m:]
        return out

    cdef object _touch(self, pids):
        cdef const int64_t[::1] ids
        cdef int64_t i, p, n = 0
        self.epoch += 1
        if pids is None:
            return _array("q", range(self.nparts))
        ids = pids
        touched = _array("q", bytes(8 * ids.shape[0]))
        cdef int64_t* t = <int64_t*>(<array.array>touched).data.as_voidptr
        for i in range(ids.shape[0]):
            p = ids[i]
            if p < self.nparts and self.parts[p].stamp != self.epoch:
                self.parts[p].stamp = self.epoch
                t[n] = p
                n += 1
        del touched[n:]
        return touched

    cdef void _map(self, int64_t p, const int64_t[::1] sorted_from, int64_t offset) except *:
        """Renumber partition ``p``'s positions to their index in ``sorted_from`` + offset."""
        cdef Part* pt = &self.parts[p]
        cdef int64_t i, j
        cdef int f
        cdef FState* st
        for i in range(pt.count):
            j = (pt.head + i) % pt.cap
            pt.ring[j] = _bsearch(sorted_from, pt.ring[j]) + offset
        if pt.pinned != NULL:
            for i in range(_imin(pt.arrived, self.npin)):
                pt.pinned[i] = _bsearch(sorted_from, pt.pinned[i]) + offset
        for f in range(self.nf):
            st = &self.fst[p * self.nf + f]
            if st.best_pos >= 0:
                st.best_pos = _bsearch(sorted_from, st.best_pos) + offset

    def gather(self, pids=None):
        """Sorted positions of the retained rows of the partitions in ``pids`` (None: all);
        remembers those partitions for localize()."""
        self._touched = self._touch(pids)
        return self._sorted_positions(self._touched)

    def localize(self, needed):
        """Renumber the gathered partitions to indexes into ``needed`` (the copied rows)."""
        cdef const int64_t[::1] nd = needed
        cdef const int64_t[::1] t = self._touched
        cdef int64_t i
        for i in range(t.shape[0]):
            self._map(t[i], nd, 0)

    def settle(self, pids, int64_t base):
        """After push/flush: the positions (ascending, into the combined rows) the partitions
        of ``pids`` (None: all) keep, which they now address as ``base``, ``base + 1``, …"""
        cdef int64_t i
        touched = self._touch(pids)
        cdef const int64_t[::1] t = touched
        keep = self._sorted_positions(t)
        cdef const int64_t[::1] kp = keep
        for i in range(t.shape[0]):
            self._map(t[i], kp, base)
        return keep

    def keep(self):
        """Positions (ascending) of every row the partitions still need; renumbers them to
        0, 1, … (the operator keeps ``combined.take(keep())``)."""
        cdef int64_t p, i, m = 0
        cdef Part* pt
        cdef FState* st
        cdef int f
        cdef int64_t hi = -1
        for p in range(self.nparts):
            pt = &self.parts[p]
            for i in range(pt.count):
                hi = _imax(hi, pt.ring[(pt.head + i) % pt.cap])
            if pt.pinned != NULL:
                for i in range(_imin(pt.arrived, self.npin)):
                    hi = _imax(hi, pt.pinned[i])
            for f in range(self.nf):
                hi = _imax(hi, self.fst[p * self.nf + f].best_pos)
        if hi < 0:
            return _array("q")
        mark = _array("q", bytes(8 * (hi + 1)))
        cdef int64_t[::1] mk = mark
        for p in range(self.nparts):
            pt = &self.parts[p]
            for i in range(pt.count):
                mk[pt.ring[(pt.head + i) % pt.cap]] = 1
            if pt.pinned != NULL:
                for i in range(_imin(pt.arrived, self.npin)):
                    mk[pt.pinned[i]] = 1
            for f in range(self.nf):
                if self.fst[p * self.nf + f].best_pos >= 0:
                    mk[self.fst[p * self.nf + f].best_pos] = 1
        keep = _array("q")
        for i in range(hi + 1):
            if mk[i]:
                keep.append(i)
                mk[i] = m
                m += 1
            else:
                mk[i] = -1
        for p in range(self.nparts):
            pt = &self.parts[p]
            for i in range(pt.count):
                pt.ring[(pt.head + i) % pt.cap] = mk[pt.ring[(pt.head + i) % pt.cap]]
            if pt.pinned != NULL:
                for i in range(_imin(pt.arrived, self.npin)):
                    pt.pinned[i] = mk[pt.pinned[i]]
            for f in range(self.nf):
                st = &self.fst[p * self.nf + f]
                if st.best_pos >= 0:
                    st.best_pos = mk[st.best_pos]
        return keep

    # ---------------------------------------------------------------- snapshot
    def dump(self):
        """The partition state as ``(ints, doubles)`` bytes (positions refer to the rows
        ``keep()`` renumbered): call after ``keep()``."""
        cdef int64_t p, i
        cdef int f
        cdef Part* pt
        cdef FState* st
        ints = _array("q", [self.nparts, self.nf, self.npin, self.out_of_order])
        dbl = _array("d")
        for p in range(self.nparts):
            pt = &self.parts[p]
            ints.extend([pt.arrived, pt.nemit, pt.base, pt.count, pt.rank, pt.dense,
                         pt.last_okey, pt.run_start, pt.run_okey, pt.vmax])
            ints.extend([pt.ring[(pt.head + i) % pt.cap] for i in range(pt.count)])
            ints.extend([pt.pinned[i] if pt.pinned != NULL else -1
                         for i in range(_imin(pt.arrived, self.npin))])
            for f in range(self.nf):
                st = &self.fst[p * self.nf + f]
                ints.extend([st.alo, st.ahi, st.lo, st.hi, st.nn,
                             <int64_t>(<unsigned long long>(st.isum & 0xFFFFFFFFFFFFFFFF)),
                             <int64_t>(st.isum >> 64), st.scale, st.best, st.best_pos])
                dbl.append(st.fsum)
                dbl.append(st.fcomp)
        return ints.tobytes(), dbl.tobytes()

    def load(self, ints_bytes, dbl_bytes):
        """Restore the state :meth:`dump` gave (into a fresh kernel of the same query)."""
        cdef int64_t p, i, n, m, at = 4, d = 0, arrived
        cdef int f
        cdef Part* pt
        cdef FState* st
        cdef vs_i128 lo64, hi64
        cdef int64_t[::1] v
        ints = _array("q")
        ints.frombytes(ints_bytes)
        dbl = _array("d")
        dbl.frombytes(dbl_bytes)
        v = ints
        if v[1] != self.nf or v[2] != self.npin:
            raise ValueError("window-function state of a different query")
        self.out_of_order = v[3]
        self._grow_parts(v[0])
        self.nparts = v[0]
        self.pending = 0
        self.nlive = 0
        for p in range(self.nparts):
            pt = &self.parts[p]
            arrived = v[at]
            pt.nemit = v[at + 1]
            pt.base = v[at + 2]
            n = v[at + 3]
            pt.rank = v[at + 4]
            pt.dense = v[at + 5]
            pt.last_okey = v[at + 6]
            pt.run_start = v[at + 7]
            pt.run_okey = v[at + 8]
            pt.vmax = v[at + 9]
            at += 10
            pt.count = 0
            pt.head = 0
            pt.arrived = self.npin       # no pinning while the ring is refilled
            for i in range(n):
                self._append(pt, v[at + i])
            at += n
            pt.arrived = arrived
            self.pending += arrived - pt.nemit
            m = _imin(arrived, self.npin)
            if m and pt.pinned == NULL:
                pt.pinned = <int64_t*>PyMem_Malloc(self.npin * sizeof(int64_t))
                if pt.pinned == NULL:
                    raise MemoryError()
            for i in range(m):
                pt.pinned[i] = v[at + i]
            at += m
            for f in range(self.nf):
                st = &self.fst[p * self.nf + f]
                st.alo = v[at]
                st.ahi = v[at + 1]
                st.lo = v[at + 2]
                st.hi = v[at + 3]
                st.nn = v[at + 4]
                lo64 = <vs_i128>(<unsigned long long>v[at + 5])
                hi64 = <vs_i128>v[at + 6]
                st.isum = (hi64 << 64) | lo64
                st.scale = <int>v[at + 7]
                st.best = v[at + 8]
                st.best_pos = v[at + 9]
                st.fsum = dbl[d]
                st.fcomp = dbl[d + 1]
                d += 2
                at += 10


def take_or_null(Column column, positions):
    """Rows ``positions`` of ``column``; a position of -1 gives NULL."""
    cdef const int64_t[::1] pos = positions
    cdef Py_ssize_t i, n = pos.shape[0]
    cdef bint any_null = False
    for i in range(n):
        if pos[i] < 0:
            any_null = True
            break
    if not any_null:
        return column.take(pos)
    if column.type == T_NULL or column.length == 0:
        from velostream._core.batch import null_column
        return null_column(n)
    fixed = _array("q", pos)
    cdef int64_t[::1] fx = fixed
    for i in range(n):
        if fx[i] < 0:
            fx[i] = 0
    cdef Column out = column.take(fx)
    valid = _array("B", bytes(n))
    cdef uint8_t[::1] vv = valid
    for i in range(n):
        vv[i] = pos[i] >= 0 and out.is_valid(i)
    out.validity = valid
    out.valid = &vv[0] if n else NULL
    return out


def partition_ids(list keys, dict ids):
    """The partition id of each canonical key (new keys get the next ids, in ``ids``)."""
    cdef Py_ssize_t i, n = len(keys)
    out = _array("q", bytes(8 * n))
    cdef int64_t[::1] o = out
    cdef object found
    for i in range(n):
        found = ids.get(keys[i])
        if found is None:
            found = len(ids)
            ids[keys[i]] = found
        o[i] = found
    return out


def split_positions(positions, starts):
    """``[(segment, local positions)]`` for sorted global ``positions`` over segments that start
    at the sorted ``starts``."""
    cdef const int64_t[::1] pos = positions
    cdef const int64_t[::1] st = starts
    cdef Py_ssize_t i = 0, j, k, n = pos.shape[0], seg, nseg = st.shape[0]
    cdef int64_t base, end
    cdef int64_t[::1] lv
    out = []
    seg = 0
    while i < n:
        while seg + 1 < nseg and st[seg + 1] <= pos[i]:
            seg += 1
        base = st[seg]
        end = st[seg + 1] if seg + 1 < nseg else pos[n - 1] + 1
        j = i
        while j < n and pos[j] < end:
            j += 1
        local = _array("q", bytes(8 * (j - i)))
        lv = local
        for k in range(i, j):
            lv[k - i] = pos[k] - base
        out.append((seg, local))
        i = j
    return out
