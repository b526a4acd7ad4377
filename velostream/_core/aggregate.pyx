# cython: language_level=3
"""The aggregate kernel: dense group ids for key tuples, and one accumulator per aggregate.

- ``GroupTable``: a C open-addressing hash table from a row's key to a dense int64 group id
  (``assign`` adds new keys; ``lookup`` only finds them, -1 for a missing key or one with a
  NULL part: a join's probe, where SQL equality never matches NULL).
  Keys are the canonical fields of ``rowkeys.row_keys`` (so GROUP BY sees exactly DISTINCT's
  equality: NULL is a key value, ``1 = 1.0 = 1.00``, DECIMALs equal at different scales are one
  key). BIGINT, TIMESTAMP, STRING, BOOLEAN and all-NULL key columns are encoded here in C, row by
  row into one scratch buffer, with no Python object per row; DOUBLE, DECIMAL and OBJECT columns
  take their fields from ``row_keys`` (the same bytes). A Python object exists per *group*: its
  key bytes and key values (for ``keys``). ``release`` forgets groups (closed windows) and their
  ids are handed out again: the operator resets the accumulators of released ids.
- ``Accumulator(function, input_type, ...)``: an ``Aggregate`` subclass per function holding one
  state per group id in C arrays (grown on demand), folded by typed loops over a whole batch.
  ``update_running`` gives the value after each row (EMIT CHANGES), ``merge`` folds one group
  into another (session windows), ``snapshot``/``restore`` give compact bytes per group.

Semantics (DIALECT §3, §5; DuckDB / Flink where they are silent):
- NULLs are skipped; COUNT(*) counts rows; COUNT of no rows is 0, every other aggregate of no
  (non-NULL) rows is NULL.
- SUM(BIGINT) is BIGINT, accumulated in int128, so only the final value can overflow: a group
  whose sum leaves int64 raises ``AggregateOverflow`` naming the groups (DIALECT: integer
  overflow is an error, never a wrap; the operator turns it into failures of those groups).
- SUM(DECIMAL) is exact at any size: an int128 mantissa per group that spills into a Python int
  only past 38 digits; the result has the largest row scale of its rows and comes out as a
  narrow, int128 or object DecimalColumn (``make_decimal_values`` / ``make_decimal128``).
- AVG(DECIMAL) is SUM / COUNT under §3's division rule: scale = the sum's scale + 4, rounded
  half-even, exact otherwise. AVG of BIGINT and DOUBLE is DOUBLE.
- MIN/MAX keep the input type (numbers, DECIMAL at the winning row's own scale, strings by UTF-8
  bytes = code points, timestamps, booleans); DOUBLE NaN is the largest value (as ORDER BY).
- STDDEV_SAMP/STDDEV_POP/VAR_SAMP/VAR_POP are DOUBLE: Welford on values shifted by the group's
  first value, merged with Chan's formula; VAR_SAMP of one row is NULL, VAR_POP of one row 0.
- FIRST_VALUE/LAST_VALUE: the first/last non-NULL value in arrival order, of the input type.
- LISTAGG/STRING_AGG: non-NULL values as text joined by ``options["separator"]`` (default
  ``,``) in arrival order; the result is a STRING.
- MEDIAN is exact: BIGINT/DOUBLE give DOUBLE (the mean of the two middle values for an even
  count), TIMESTAMP a TIMESTAMP (floored), DECIMAL a DECIMAL (one more decimal when needed).
- COUNT(DISTINCT x) uses DISTINCT's equality (``row_keys``); APPROX_COUNT_DISTINCT is the same
  exact count (error 0; memory grows with the distinct values, as COUNT(DISTINCT)'s does).
  ``distinct=True`` on SUM/AVG/LISTAGG/... folds each group's distinct values once.
- The state of the numeric accumulators is C arrays (no Python object per row); COUNT(DISTINCT)
  probes a GroupTable of (group, value) pairs (an object per distinct pair, not per row);
  MEDIAN(DECIMAL) and the other DISTINCT forms hold Python objects per row / distinct value.
"""

from cpython cimport array
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.string cimport memcmp, memcpy, memset

from velostream._core.batch cimport (
    T_BOOL, T_DECIMAL, T_FLOAT64, T_INT64, T_NULL, T_OBJECT, T_STRING, T_TIMESTAMP, BoolColumn,
    Column, DecimalColumn, Float64Column, Int64Column, StringColumn, datetime_to_epoch_ms,
    dec_is_objects, dec_m128, dec_objects, make_decimal128, make_float64, make_int64, make_string,
    new_byte_array, new_double_array, new_int64_array, vs_align128, vs_cmp128,
    vs_div128, vs_fits64, vs_hi128, vs_i128, vs_lo128, vs_mk128, vs_p10t, vs_st128,
)
from velostream._core.decimal cimport ScaledInteger

import struct as _struct
from array import array as _array

from velostream._core.batch import (
    bool_column as _bool_column,
    column_from_values as _column_from_values,
    decimal_column as _decimal_column,
    float64_column as _float64_column,
    int64_column as _int64_column,
    object_column as _object_column,
    string_column as _string_column,
)
from velostream._core.decimal import ScaledInteger as _ScaledInteger
from velostream._core.rowkeys import row_keys as _row_keys
from velostream.errors import VelostreamError

cdef extern from *:
    """
    #include <string.h>
    static inline uint64_t ag_hash(const char *p, Py_ssize_t n) {
        uint64_t h = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)n * 0xff51afd7ed558ccdULL), k;
        while (n >= 8) {
            memcpy(&k, p, 8);
            k *= 0x87c37b91114253d5ULL; k = (k << 31) | (k >> 33); k *= 0x4cf5ad432745937fULL;
            h ^= k; h = ((h << 27) | (h >> 37)) * 5 + 0x52dce729;
            p += 8; n -= 8;
        }
        /* The last 0..7 bytes without a variable-length copy: two overlapping loads cover
           4..7 bytes, three single bytes 1..3 (n is in h, so each length is its own map). */
        if (n >= 4) {
            uint32_t a, b; memcpy(&a, p, 4); memcpy(&b, p + n - 4, 4);
            k = (uint64_t)a | ((uint64_t)b << 32);
        } else if (n > 0) {
            k = (uint64_t)(unsigned char)p[0] | ((uint64_t)(unsigned char)p[n >> 1] << 8) |
                ((uint64_t)(unsigned char)p[n - 1] << 16);
        } else {
            k = 0;
        }
        k *= 0x87c37b91114253d5ULL; k = (k << 31) | (k >> 33); k *= 0x4cf5ad432745937fULL;
        h ^= k;
        h ^= h >> 33; h *= 0xff51afd7ed558ccdULL; h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 33;
        return h; }
    static inline Py_ssize_t ag_varint_size(uint64_t n) {
        Py_ssize_t k = 1; while (n >= 0x80) { n >>= 7; k++; } return k; }
    static inline char *ag_put_varint(char *p, uint64_t n) {
        while (n >= 0x80) { *p++ = (char)(0x80 | (n & 0x7f)); n >>= 7; }
        *p++ = (char)n; return p; }
    /* The same tags as rowkeys.pyx (RK_*): keys built here equal row_keys' bytes. */
    #define AG_NULL 0x00
    #define AG_FALSE 0x01
    #define AG_TRUE 0x02
    #define AG_INT 0x10
    #define AG_TS 0x20
    #define AG_STR 0x30
    #define AG_AHEAD 8
    #define ag_prefetch(p) __builtin_prefetch((const void *)(p))
    static inline int ag_add_ovf(vs_i128 a, vs_i128 b, vs_i128 *r) {
        return __builtin_add_overflow(a, b, r); }
    """
    uint64_t ag_hash(const char* p, Py_ssize_t n) noexcept nogil
    Py_ssize_t ag_varint_size(uint64_t n) noexcept nogil
    char* ag_put_varint(char* p, uint64_t n) noexcept nogil
    int AG_NULL, AG_FALSE, AG_TRUE, AG_INT, AG_TS, AG_STR
    bint ag_add_ovf(vs_i128 a, vs_i128 b, vs_i128* r) noexcept nogil
    int AG_AHEAD
    void ag_prefetch(const void* p) noexcept nogil


class AggregateOverflow(VelostreamError, OverflowError):
    """An aggregate's value cannot be represented in its result type (SUM of BIGINT past int64:
    DIALECT §3, integer overflow is an error). ``group_ids`` lists the groups concerned."""

    def __init__(self, message, group_ids=()):
        super().__init__(message)
        self.group_ids = list(group_ids)


cdef object _MASK64 = (1 << 64) - 1
cdef object _I64_MIN = -(1 << 63)
cdef object _I64_MAX = (1 << 63) - 1


cdef inline object _py128(vs_i128 v):
    return (<object>vs_hi128(v) << 64) | <object>vs_lo128(v)


cdef inline vs_i128 _to128(object m):
    return vs_mk128(<int64_t>(m >> 64), <uint64_t>(m & _MASK64))


cdef inline bint _fits128(object m):
    return -(1 << 127) <= m < (1 << 127)


cdef void* _grow_buf(void* p, Py_ssize_t old, Py_ssize_t new, Py_ssize_t item) except NULL:
    """``p`` reallocated from ``old`` to ``new`` items of ``item`` bytes, the new ones zero."""
    cdef void* q = PyMem_Realloc(p, (new if new else 1) * item)
    if q == NULL:
        raise MemoryError()
    memset(<char*>q + old * item, 0, (new - old) * item)
    return q


cdef const int64_t[::1] _ids(object group_ids, Py_ssize_t n):
    """``n`` int64 group ids (array('q') or any C-contiguous int64 buffer) as a memoryview."""
    cdef const int64_t[::1] view = _EMPTY_Q if n == 0 and len(group_ids) == 0 else group_ids
    if n and view.shape[0] < n:
        raise ValueError(f"{view.shape[0]} group ids for {n} rows")
    return view


cdef int64_t[::1] _EMPTY_Q = _array("q", [0])


# --------------------------------------------------------------------------- GroupTable

cdef enum:
    K_INT = 0       # BIGINT / TIMESTAMP: tag + 8 bytes
    K_STR = 1
    K_BOOL = 2
    K_NULL = 3
    K_FIELDS = 4    # bytes fields from row_keys (DOUBLE, DECIMAL, OBJECT)


ctypedef struct kcol:
    int kind
    int tag
    const uint8_t* valid
    const int64_t* i64
    const uint8_t* u8
    const char* chars
    const int64_t* offs


cdef tuple _key_values(list cols, const kcol* kc, Py_ssize_t i, list last, int64_t* last_row):
    """The key values of row ``i`` (``Column.get``) for a new group. A BIGINT/TIMESTAMP
    key holding the value of the previous new group's row shares its (immutable) object:
    a window start is one datetime per window, not one per group."""
    cdef Py_ssize_t j, r, k = len(cols)
    cdef const kcol* q
    values = [None] * k
    for j in range(k):
        q = &kc[j]
        r = last_row[j]
        if q.kind == K_INT and r >= 0 and (q.valid == NULL or (q.valid[i] and q.valid[r])) \
                and q.i64[r] == q.i64[i]:
            values[j] = last[j]
        else:
            values[j] = last[j] = (<Column>cols[j]).get(i)
        last_row[j] = i
    return tuple(values)


cdef class GroupTable:
    """Dense int64 group ids for tuples of ``key_count`` key columns (see the module docstring).

    Layout, for the cache: the slots hold (hash, id) pairs so a probe touches one slot line
    before it compares a key; keys live back to back in one arena (``koff``/``klen`` per id).
    ``assign`` encodes and hashes a whole batch first, then probes with the slots of rows a
    few ahead prefetched (many groups: memory latency, not hashing, is the cost).
    """

    def __cinit__(self, int key_count):
        if key_count < 0:
            raise ValueError("key_count must be >= 0")
        self.key_count = key_count
        self.nslots = 64
        self.slots = <gt_slot*>_grow_buf(NULL, 0, self.nslots, sizeof(gt_slot))
        memset(self.slots, 0xff, self.nslots * sizeof(gt_slot))     # gid -1: empty
        self._kv = []
        self._kinds = [T_NULL] * key_count
        self.new_ids = _array("q")

    def __dealloc__(self):
        PyMem_Free(self.slots)
        PyMem_Free(self.kdata)
        PyMem_Free(self.koff)
        PyMem_Free(self.klen)
        PyMem_Free(self.freeids)
        PyMem_Free(self.buf)
        PyMem_Free(self.rofs)
        PyMem_Free(self.rh)

    cdef int64_t _find(self, uint64_t h, const char* key, Py_ssize_t n) noexcept:
        cdef Py_ssize_t mask = self.nslots - 1, at = <Py_ssize_t>(h & <uint64_t>mask)
        cdef int64_t gid
        while True:
            gid = self.slots[at].gid
            if gid == -1:
                return -1
            if gid >= 0 and self.slots[at].h == h and self.klen[gid] == n and \
                    memcmp(self.kdata + self.koff[gid], key, n) == 0:
                return gid
            at = (at + 1) & mask

    cdef int _rehash(self, Py_ssize_t nslots) except -1:
        cdef gt_slot* slots = <gt_slot*>_grow_buf(NULL, 0, nslots, sizeof(gt_slot))
        cdef Py_ssize_t i, at, mask = nslots - 1
        memset(slots, 0xff, nslots * sizeof(gt_slot))
        for i in range(self.nslots):
            if self.slots[i].gid >= 0:
                at = <Py_ssize_t>(self.slots[i].h & <uint64_t>mask)
                while slots[at].gid != -1:
                    at = (at + 1) & mask
                slots[at] = self.slots[i]
        PyMem_Free(self.slots)
        self.slots = slots
        self.nslots = nslots
        self.used = self.live
        return 0

    cdef int64_t _insert(self, uint64_t h, const char* key, Py_ssize_t n,
                         tuple values) except -1:
        cdef int64_t gid
        cdef Py_ssize_t at, mask, cap
        if (self.used + 1) * 10 > self.nslots * 7:
            self._rehash(self.nslots * 2 if (self.live + 1) * 10 > self.nslots * 4
                         else self.nslots)
        if self.kused + n > self.kcap:
            cap = max(4096, 2 * self.kcap, self.kused + n)
            self.kdata = <char*>_grow_buf(self.kdata, self.kcap, cap, 1)
            self.kcap = cap
        if self.nfree:
            self.nfree -= 1
            gid = self.freeids[self.nfree]
            self._kv[gid] = values
        else:
            gid = self.id_bound
            if gid >= self.idcap:
                cap = max(64, 2 * self.idcap)
                self.koff = <int64_t*>_grow_buf(self.koff, self.idcap, cap, sizeof(int64_t))
                self.klen = <Py_ssize_t*>_grow_buf(self.klen, self.idcap, cap, sizeof(Py_ssize_t))
                # at most every id is free at once
                self.freeids = <int64_t*>_grow_buf(self.freeids, self.idcap, cap, sizeof(int64_t))
                self.idcap = cap
            self.id_bound += 1
            self._kv.append(values)
        memcpy(self.kdata + self.kused, key, n)
        self.koff[gid] = self.kused
        self.klen[gid] = n
        self.kused += n
        mask = self.nslots - 1
        at = <Py_ssize_t>(h & <uint64_t>mask)
        while self.slots[at].gid >= 0:
            at = (at + 1) & mask
        if self.slots[at].gid == -1:
            self.used += 1
        self.slots[at].h = h
        self.slots[at].gid = gid
        self.live += 1
        return gid

    def assign(self, key_columns, Py_ssize_t n):
        """The group id of each of the ``n`` rows of ``key_columns`` (array('q')); rows whose
        key is new get new ids (also listed in ``new_ids``)."""
        return self._probe(key_columns, n, True)

    def lookup(self, key_columns, Py_ssize_t n):
        """The group id of each of the ``n`` rows of ``key_columns`` (array('q')), -1 for a
        key the table does not hold and for a key with a NULL part (SQL equality: a NULL key
        matches nothing); inserts nothing (a join's probe side)."""
        return self._probe(key_columns, n, False)

    cdef object _probe(self, key_columns, Py_ssize_t n, bint insert):
        cdef list cols = list(key_columns)
        cdef Py_ssize_t k = len(cols), i, j, size, sl, mask, at
        cdef Column c
        cdef kcol* kc
        cdef kcol* q
        cdef list fields = [None] * k
        cdef object out = new_int64_array(n)
        cdef int64_t* dst = <int64_t*>(<array.array>out).data.as_voidptr
        cdef char* p
        cdef int64_t gid
        cdef int64_t* rofs
        cdef uint64_t* rh
        cdef bytes f
        cdef object created = _array("q")
        # Per key column: the values of the last new group's row (see _key_values).
        cdef list last = [None] * k
        cdef int64_t* last_row = NULL
        cdef uint8_t* nulls = NULL          # lookup: rows with a NULL key part
        cdef bint nullkey = False
        if k != self.key_count:
            raise ValueError(f"{k} key columns for a table of {self.key_count}")
        for j in range(k):
            c = <Column?>cols[j]
            if c.length < n:
                raise ValueError(f"key column {j} has {c.length} rows, not {n}")
            if c.type != T_NULL:
                self._kinds[j] = c.type
        if n + 1 > self.rcap:
            self.rofs = <int64_t*>_grow_buf(self.rofs, 0, n + 1, sizeof(int64_t))
            self.rh = <uint64_t*>_grow_buf(self.rh, 0, n + 1, sizeof(uint64_t))
            self.rcap = n + 1
        rofs = self.rofs
        rh = self.rh
        kc = <kcol*>_grow_buf(NULL, 0, k, sizeof(kcol))
        try:
            last_row = <int64_t*>_grow_buf(NULL, 0, k if k else 1, sizeof(int64_t))
            for j in range(k):
                last_row[j] = -1
            if not insert:
                nulls = <uint8_t*>_grow_buf(NULL, 0, n if n else 1, 1)
            for j in range(k):
                c = cols[j]
                q = &kc[j]
                q.valid = c.valid
                if c.type == T_INT64 or c.type == T_TIMESTAMP:
                    q.kind = K_INT
                    q.tag = AG_INT if c.type == T_INT64 else AG_TS
                    q.i64 = (<Int64Column>c).values
                elif c.type == T_STRING:
                    q.kind = K_STR
                    q.chars = (<StringColumn>c).chars
                    q.offs = (<StringColumn>c).offs
                elif c.type == T_BOOL:
                    q.kind = K_BOOL
                    q.u8 = (<BoolColumn>c).values
                elif c.type == T_NULL:
                    q.kind = K_NULL
                else:
                    q.kind = K_FIELDS
                    fields[j] = _row_keys([c])
            # pass 1: every row's key, back to back in buf, and its hash. buf gets an upper
            # bound first (a string field is at most 11 bytes + its text), so one pass encodes.
            size = 0
            for j in range(k):
                q = &kc[j]
                if q.kind == K_FIELDS:
                    for i in range(n):
                        size += PyBytes_GET_SIZE(fields[j][i])
                elif q.kind == K_STR:
                    size += q.offs[n] - q.offs[0] + 11 * n
                else:
                    size += 9 * n
            if size > self.bufcap:
                PyMem_Free(self.buf)
                self.buf = NULL
                self.buf = <char*>_grow_buf(NULL, 0, size * 2, 1)
                self.bufcap = size * 2
            p = self.buf
            rofs[0] = 0
            for i in range(n):
                for j in range(k):
                    q = &kc[j]
                    if q.kind == K_STR and (q.valid == NULL or q.valid[i]):
                        sl = q.offs[i + 1] - q.offs[i]
                        p[0] = <char>AG_STR
                        p = ag_put_varint(p + 1, sl)
                        memcpy(p, q.chars + q.offs[i], sl)
                        p += sl
                    elif q.kind == K_INT and (q.valid == NULL or q.valid[i]):
                        p[0] = <char>q.tag
                        memcpy(p + 1, &q.i64[i], 8)
                        p += 9
                    elif q.kind == K_FIELDS:
                        f = fields[j][i]
                        memcpy(p, PyBytes_AS_STRING(f), PyBytes_GET_SIZE(f))
                        p += PyBytes_GET_SIZE(f)
                    elif q.kind == K_BOOL and (q.valid == NULL or q.valid[i]):
                        p[0] = <char>(AG_TRUE if q.u8[i] else AG_FALSE)
                        p += 1
                    else:
                        p[0] = <char>AG_NULL
                        p += 1
                        nullkey = True
                    if q.kind == K_FIELDS and q.valid != NULL and not q.valid[i]:
                        nullkey = True
                rofs[i + 1] = p - self.buf
                if nulls != NULL:
                    nulls[i] = nullkey
                nullkey = False
            # Hashed in a pass of their own: loading a key's words right after its bytes were
            # stored would wait on the stores (no forwarding from narrower writes).
            for i in range(n):
                rh[i] = ag_hash(self.buf + rofs[i], rofs[i + 1] - rofs[i])
            # pass 2: probe, the slot of a row AG_AHEAD rows on already on its way to the cache
            for i in range(n):
                if i + AG_AHEAD < n:
                    mask = self.nslots - 1
                    ag_prefetch(&self.slots[<Py_ssize_t>(rh[i + AG_AHEAD] & <uint64_t>mask)])
                size = rofs[i + 1] - rofs[i]
                # _find, inlined: the hot loop of GROUP BY
                mask = self.nslots - 1
                at = <Py_ssize_t>(rh[i] & <uint64_t>mask)
                while True:
                    gid = self.slots[at].gid
                    if gid == -1 or (gid >= 0 and self.slots[at].h == rh[i] and
                                     self.klen[gid] == size and
                                     memcmp(self.kdata + self.koff[gid], self.buf + rofs[i],
                                            size) == 0):
                        break
                    at = (at + 1) & mask
                if not insert:
                    dst[i] = -1 if gid < 0 or nulls[i] else gid
                    continue
                if gid < 0:
                    gid = self._insert(rh[i], self.buf + rofs[i], size,
                                       _key_values(cols, kc, i, last, last_row))
                    created.append(gid)
                dst[i] = gid
        finally:
            PyMem_Free(kc)
            PyMem_Free(last_row)
            PyMem_Free(nulls)
        if insert:
            self.new_ids = created
        return out

    def keys(self, group_ids):
        """The key columns of ``group_ids`` (one column per key column, typed as the input)."""
        cdef const int64_t[::1] ids
        cdef Py_ssize_t n = len(group_ids), i, j
        ids = _ids(group_ids, n)
        cdef const int64_t* g = &ids[0]
        cdef list out = []
        cdef list values
        for i in range(n):
            if not 0 <= g[i] < self.id_bound or self._kv[g[i]] is None:
                raise KeyError(f"group {g[i]} is not held")
        for j in range(self.key_count):
            values = [(<tuple>self._kv[g[i]])[j] for i in range(n)]
            col = _timestamp_column(values) if self._kinds[j] == T_TIMESTAMP else None
            out.append(col if col is not None else _typed_column(values, self._kinds[j]))
        return out

    def release(self, group_ids):
        """Forget ``group_ids`` (closed windows); their ids are handed out again by ``assign``."""
        cdef const int64_t[::1] ids
        cdef Py_ssize_t n = len(group_ids), i, at, mask = self.nslots - 1
        ids = _ids(group_ids, n)
        cdef const int64_t* g = &ids[0]
        cdef int64_t gid
        cdef uint64_t h
        for i in range(n):
            gid = g[i]
            if not 0 <= gid < self.id_bound or self.klen[gid] < 0:
                continue
            h = ag_hash(self.kdata + self.koff[gid], self.klen[gid])
            at = <Py_ssize_t>(h & <uint64_t>mask)
            while self.slots[at].gid != gid:
                at = (at + 1) & mask
            self.slots[at].gid = -2
            self.kdead += self.klen[gid]
            self.klen[gid] = -1
            self._kv[gid] = None
            self.freeids[self.nfree] = gid
            self.nfree += 1
            self.live -= 1
        if self.kdead > 65536 and self.kdead * 2 > self.kused:
            self._compact()

    cdef int _compact(self) except -1:
        """Drops released keys from the arena."""
        cdef char* data = <char*>_grow_buf(NULL, 0, self.kused - self.kdead, 1)
        cdef Py_ssize_t g, at = 0
        for g in range(self.id_bound):
            if self.klen[g] >= 0:
                memcpy(data + at, self.kdata + self.koff[g], self.klen[g])
                self.koff[g] = at
                at += self.klen[g]
        PyMem_Free(self.kdata)
        self.kdata = data
        self.kcap = self.kused = at
        self.kdead = 0
        return 0

    def key_bytes(self, int64_t group_id):
        """The canonical key of a held group (``rowkeys.row_keys`` bytes): stable across runs,
        for state stores."""
        if not 0 <= group_id < self.id_bound or self.klen[group_id] < 0:
            raise KeyError(f"group {group_id} is not held")
        return PyBytes_FromStringAndSize(self.kdata + self.koff[group_id], self.klen[group_id])


cdef object _timestamp_column(list values):
    """``int64_column(values, timestamp=True)`` converting each run of one object once (the
    groups of a window share its start, see ``GroupTable._key_values``); None when a value
    does not convert (``_typed_column`` then decides, as for any other column)."""
    cdef Py_ssize_t i, n = len(values)
    cdef object data = new_int64_array(n)
    cdef int64_t* dst = <int64_t*>(<array.array>data).data.as_voidptr
    cdef int64_t ms = 0
    cdef object prev = None
    cdef bint nulls = False
    cdef object validity = None
    cdef uint8_t* vp
    try:
        for i in range(n):
            v = values[i]
            if v is None:
                dst[i] = 0
                nulls = True
                continue
            if v is not prev:
                ms = datetime_to_epoch_ms(v)
                prev = v
            dst[i] = ms
    except (TypeError, ValueError, OverflowError, AttributeError):
        return None
    if nulls:
        validity = new_byte_array(n, False)
        vp = <uint8_t*>(<array.array>validity).data.as_voidptr
        for i in range(n):
            vp[i] = values[i] is not None
    return make_int64(data, validity, n, T_TIMESTAMP)


cdef object _typed_column(list values, int kind):
    """A column of ``kind`` from Python values (None = NULL); any mix the kind cannot hold
    exactly becomes the narrowest column that can (``column_from_values``)."""
    try:
        if kind == T_INT64:
            return _int64_column(values)
        if kind == T_TIMESTAMP:
            return _int64_column(values, timestamp=True)
        if kind == T_FLOAT64:
            return _float64_column(values)
        if kind == T_DECIMAL:
            return _decimal_column(values)
        if kind == T_STRING:
            return _string_column(values)
        if kind == T_BOOL:
            return _bool_column(values)
    except (TypeError, ValueError, OverflowError, AttributeError):
        pass
    if kind == T_OBJECT:
        return _object_column(values)
    return _column_from_values(values)


# --------------------------------------------------------------------------- accumulators

cdef class Aggregate:
    """One aggregate's state for every group id (see ``Accumulator``). Subclasses keep C
    arrays indexed by group id, zero = no input yet, and fold rows ``lo .. hi`` in ``_fold``."""

    cdef int _grow(self, Py_ssize_t cap) except -1:
        return 0

    cdef int _ensure(self, const int64_t* g, Py_ssize_t n) except -1:
        cdef Py_ssize_t i
        cdef int64_t top = -1
        for i in range(n):
            if g[i] > top:
                top = g[i]
            if g[i] < 0:
                raise ValueError(f"negative group id {g[i]}")
        if top >= self.cap:
            cap = max(16, 2 * self.cap, top + 1)
            self._grow(cap)
            self.cap = cap
        return 0

    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1:
        raise NotImplementedError

    cdef object _value(self, int64_t gid):
        raise NotImplementedError

    cdef Column _result(self, const int64_t* g, Py_ssize_t n):
        cdef Py_ssize_t i
        return _typed_column([self._value(g[i]) if g[i] < self.cap else None for i in range(n)],
                             self.result_type)

    cdef int _merge(self, int64_t dst, int64_t src) except -1:
        raise NotImplementedError

    cdef int _reset1(self, int64_t gid) except -1:
        raise NotImplementedError

    cdef bytes _snap(self, int64_t gid):
        raise NotImplementedError

    cdef int _load(self, int64_t gid, bytes state) except -1:
        raise NotImplementedError

    cdef Column _input(self, object column, Py_ssize_t n):
        cdef Column c
        if column is None:
            if self.input_type is not None:
                raise TypeError(f"{self.function} needs an input column")
            return None
        c = <Column?>column
        if c.length < n:
            raise ValueError(f"input column has {c.length} rows, not {n}")
        return c

    def update(self, group_ids, column, Py_ssize_t n):
        """Fold ``n`` rows of ``column`` (None for count_star) into their groups."""
        cdef const int64_t[::1] ids
        ids = _ids(group_ids, n)
        cdef const int64_t* g = &ids[0]
        cdef Column c = self._input(column, n)
        self._ensure(g, n)
        self._fold(g, c, 0, n)

    cdef int _running_kind(self) noexcept:
        """How ``update_running`` writes each row's value: RUN_OBJECT (``_value``), RUN_INT64
        (``_cell_i``), RUN_DOUBLE (``_cell_d``) or RUN_DECIMAL (``_cell_m``)."""
        return RUN_OBJECT

    cdef int _cell_i(self, int64_t gid, int64_t* out) except -1:
        raise NotImplementedError

    cdef int _cell_d(self, int64_t gid, double* out) except -1:
        raise NotImplementedError

    cdef int _cell_m(self, int64_t gid, vs_i128* m, uint8_t* sc) except -1:
        raise NotImplementedError

    def update_running(self, group_ids, column, Py_ssize_t n):
        """Fold ``n`` rows and give each row's group value right after that row (EMIT CHANGES).
        Typed accumulators write each value into a typed column (no object per row)."""
        cdef const int64_t[::1] ids
        ids = _ids(group_ids, n)
        cdef const int64_t* g = &ids[0]
        cdef Column c = self._input(column, n)
        cdef Py_ssize_t i, j
        cdef list values
        cdef int kind = self._running_kind(), st
        cdef object data = None, sbuf, okbuf = new_byte_array(n, False)
        cdef uint8_t* ok = <uint8_t*>(<array.array>okbuf).data.as_voidptr
        cdef uint8_t* sc = NULL
        cdef bint nulls = False
        cdef Column out = None
        self._ensure(g, n)
        if kind == RUN_OBJECT:
            values = [None] * n
            for i in range(n):
                self._fold(g, c, i, i + 1)
                values[i] = self._value(g[i])
            return _typed_column(values, self.result_type)
        if kind == RUN_DOUBLE:
            data = new_double_array(n)
        else:
            data = new_int64_array(2 * n if kind == RUN_DECIMAL else n)
        if kind == RUN_DECIMAL:
            sbuf = new_byte_array(n, False)
            sc = <uint8_t*>(<array.array>sbuf).data.as_voidptr
        for i in range(n):
            self._fold(g, c, i, i + 1)
            if kind == RUN_INT64:
                st = self._cell_i(g[i], <int64_t*>(<array.array>data).data.as_voidptr + i)
            elif kind == RUN_DOUBLE:
                st = self._cell_d(g[i], <double*>(<array.array>data).data.as_voidptr + i)
            else:
                st = self._cell_m(g[i], <vs_i128*>(<array.array>data).data.as_voidptr + i,
                                  sc + i)
            if st == 2:         # a decimal past int128: this batch's values as objects
                values = [_ScaledInteger.from_parts(
                    _py128((<vs_i128*>(<array.array>data).data.as_voidptr)[j]), sc[j])
                    if ok[j] else None for j in range(i)]
                values.append(self._value(g[i]))
                for j in range(i + 1, n):
                    self._fold(g, c, j, j + 1)
                    values.append(self._value(g[j]))
                return _decimal_column(values)
            ok[i] = st
            if not st:
                nulls = True
                if kind == RUN_DECIMAL:
                    (<vs_i128*>(<array.array>data).data.as_voidptr)[i] = 0
                    sc[i] = 0
                elif kind == RUN_DOUBLE:
                    (<double*>(<array.array>data).data.as_voidptr)[i] = 0.0
                else:
                    (<int64_t*>(<array.array>data).data.as_voidptr)[i] = 0
        if kind == RUN_INT64:
            return make_int64(data, okbuf if nulls else None, n, self.result_type)
        if kind == RUN_DOUBLE:
            return make_float64(data, okbuf if nulls else None, n)
        out = _decimal_result(<vs_i128*>(<array.array>data).data.as_voidptr, sc, ok, n)
        if out is None:     # past 38 digits at the column scale
            out = _decimal_column([_ScaledInteger.from_parts(
                _py128((<vs_i128*>(<array.array>data).data.as_voidptr)[j]), sc[j])
                if ok[j] else None for j in range(n)])
        return out

    def result(self, group_ids):
        """The current value of each group (NULL where it had no input; COUNT gives 0)."""
        cdef const int64_t[::1] ids
        cdef Py_ssize_t n = len(group_ids)
        ids = _ids(group_ids, n)
        cdef const int64_t* g = &ids[0]
        self._ensure(g, n)
        return self._result(g, n)

    def value(self, int64_t group_id):
        """The current value of one group as a Python value (None = NULL)."""
        self._ensure(&group_id, 1)
        return self._value(group_id)

    def merge(self, int64_t dst_id, int64_t src_id):
        """Fold group ``src_id``'s state into ``dst_id`` (``src_id`` keeps its state)."""
        cdef int64_t ids[2]
        ids[0] = dst_id
        ids[1] = src_id
        self._ensure(ids, 2)
        self._merge(dst_id, src_id)

    def reset(self, group_ids):
        """Forget the state of ``group_ids`` (as if they had no input)."""
        cdef const int64_t[::1] ids
        cdef Py_ssize_t n = len(group_ids), i
        ids = _ids(group_ids, n)
        cdef const int64_t* g = &ids[0]
        self._ensure(g, n)
        for i in range(n):
            self._reset1(g[i])

    def snapshot(self, group_ids):
        """Each group's state as compact bytes (``restore`` reads them back)."""
        cdef const int64_t[::1] ids
        cdef Py_ssize_t n = len(group_ids), i
        ids = _ids(group_ids, n)
        cdef const int64_t* g = &ids[0]
        self._ensure(g, n)
        return [self._snap(g[i]) for i in range(n)]

    def restore(self, group_ids, states):
        """Set each group's state from ``snapshot`` bytes."""
        cdef const int64_t[::1] ids
        cdef Py_ssize_t n = len(group_ids), i
        ids = _ids(group_ids, n)
        cdef const int64_t* g = &ids[0]
        cdef list st = list(states)
        if len(st) != n:
            raise ValueError(f"{len(st)} states for {n} groups")
        self._ensure(g, n)
        for i in range(n):
            self._reset1(g[i])
            self._load(g[i], <bytes?>st[i])

    def __repr__(self):
        return (f"Accumulator({self.function!r}, {TYPE_TAGS.get(self.input_type)}"
                f"{', distinct' if self.distinct else ''})")


# The ColumnType tags as Python ints, for callers that do not cimport batch.pxd.
TAG_NULL, TAG_BOOL, TAG_INT64, TAG_FLOAT64 = T_NULL, T_BOOL, T_INT64, T_FLOAT64
TAG_DECIMAL, TAG_STRING, TAG_TIMESTAMP, TAG_OBJECT = T_DECIMAL, T_STRING, T_TIMESTAMP, T_OBJECT

TYPE_TAGS = {None: None, T_NULL: "NULL", T_BOOL: "BOOLEAN", T_INT64: "BIGINT",
             T_FLOAT64: "DOUBLE", T_DECIMAL: "DECIMAL", T_STRING: "STRING",
             T_TIMESTAMP: "TIMESTAMP", T_OBJECT: "OBJECT"}

cdef object _Q8 = _struct.Struct("<q")
cdef object _QQQ = _struct.Struct("<qQq")
cdef object _DQ = _struct.Struct("<dq")


cdef enum:
    RUN_OBJECT = 0
    RUN_INT64 = 1
    RUN_DOUBLE = 2
    RUN_DECIMAL = 3


cdef inline bint _skip(Column c, Py_ssize_t i) noexcept:
    return c.valid != NULL and c.valid[i] == 0


# ---- COUNT(*) / COUNT(x)

cdef class _Count(Aggregate):
    cdef int64_t* n
    cdef bint star

    def __dealloc__(self):
        PyMem_Free(self.n)

    cdef int _grow(self, Py_ssize_t cap) except -1:
        self.n = <int64_t*>_grow_buf(self.n, self.cap, cap, sizeof(int64_t))
        return 0

    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1:
        cdef Py_ssize_t i
        if self.star or (c.valid == NULL and c.type != T_NULL):
            for i in range(lo, hi):
                self.n[g[i]] += 1
        elif c.type != T_NULL:
            for i in range(lo, hi):
                self.n[g[i]] += c.valid[i] != 0
        return 0

    cdef object _value(self, int64_t gid):
        return self.n[gid]

    cdef Column _result(self, const int64_t* g, Py_ssize_t n):
        cdef object data = new_int64_array(n)
        cdef int64_t* d = <int64_t*>(<array.array>data).data.as_voidptr
        cdef Py_ssize_t i
        for i in range(n):
            d[i] = self.n[g[i]]
        return make_int64(data, None, n, T_INT64)

    def update_running(self, group_ids, column, Py_ssize_t n):
        cdef const int64_t[::1] ids
        ids = _ids(group_ids, n)
        cdef const int64_t* g = &ids[0]
        cdef Column c = self._input(column, n)
        cdef object data = new_int64_array(n)
        cdef int64_t* d = <int64_t*>(<array.array>data).data.as_voidptr
        cdef Py_ssize_t i
        self._ensure(g, n)
        for i in range(n):
            if self.star or (c.type != T_NULL and not _skip(c, i)):
                self.n[g[i]] += 1
            d[i] = self.n[g[i]]
        return make_int64(data, None, n, T_INT64)

    cdef int _merge(self, int64_t dst, int64_t src) except -1:
        self.n[dst] += self.n[src]
        return 0

    cdef int _reset1(self, int64_t gid) except -1:
        self.n[gid] = 0
        return 0

    cdef bytes _snap(self, int64_t gid):
        return _Q8.pack(self.n[gid])

    cdef int _load(self, int64_t gid, bytes state) except -1:
        self.n[gid] = _Q8.unpack(state)[0]
        return 0


# ---- SUM / AVG of BIGINT (int128 sum) and DOUBLE

cdef class _SumInt(Aggregate):
    cdef vs_i128* s
    cdef int64_t* n
    cdef bint avg

    def __dealloc__(self):
        PyMem_Free(self.s)
        PyMem_Free(self.n)

    cdef int _grow(self, Py_ssize_t cap) except -1:
        self.s = <vs_i128*>_grow_buf(self.s, self.cap, cap, sizeof(vs_i128))
        self.n = <int64_t*>_grow_buf(self.n, self.cap, cap, sizeof(int64_t))
        return 0

    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1:
        cdef Py_ssize_t i
        cdef const int64_t* v
        cdef const uint8_t* b
        if c.type == T_NULL:
            return 0
        if c.type == T_BOOL:
            b = (<BoolColumn>c).values
            for i in range(lo, hi):
                if not _skip(c, i):
                    self.s[g[i]] += b[i]
                    self.n[g[i]] += 1
            return 0
        if c.type != T_INT64:
            raise TypeError(f"{self.function.upper()} of BIGINT got a {TYPE_TAGS[c.type]} column")
        v = (<Int64Column>c).values
        # int128 cannot overflow: 2**63 rows of int64 would be needed
        if c.valid == NULL:
            for i in range(lo, hi):
                self.s[g[i]] += v[i]
                self.n[g[i]] += 1
        else:
            for i in range(lo, hi):
                if c.valid[i]:
                    self.s[g[i]] += v[i]
                    self.n[g[i]] += 1
        return 0

    cdef object _value(self, int64_t gid):
        if self.n[gid] == 0:
            return None
        if self.avg:
            return _py128(self.s[gid]) / self.n[gid]
        if not vs_fits64(self.s[gid]):
            raise AggregateOverflow(f"SUM of BIGINT overflows: {_py128(self.s[gid])}", [gid])
        return <int64_t>self.s[gid]

    cdef Column _result(self, const int64_t* g, Py_ssize_t n):
        cdef object data
        cdef object ok = None
        cdef uint8_t* okp = NULL
        cdef int64_t* d
        cdef double* f
        cdef Py_ssize_t i
        cdef list bad
        for i in range(n):
            if self.n[g[i]] == 0:
                ok = new_byte_array(n, True)
                okp = <uint8_t*>(<array.array>ok).data.as_voidptr
                break
        if self.avg:
            data = new_double_array(n)
            f = <double*>(<array.array>data).data.as_voidptr
            for i in range(n):
                f[i] = 0.0
                if self.n[g[i]]:
                    if okp != NULL:
                        okp[i] = 1
                    if -(<vs_i128>1 << 53) <= self.s[g[i]] <= (<vs_i128>1 << 53):
                        f[i] = <double>self.s[g[i]] / <double>self.n[g[i]]
                    else:   # correctly rounded, as Python's int / int
                        f[i] = _py128(self.s[g[i]]) / self.n[g[i]]
            return make_float64(data, ok, n)
        data = new_int64_array(n)
        d = <int64_t*>(<array.array>data).data.as_voidptr
        bad = []
        for i in range(n):
            d[i] = 0
            if self.n[g[i]]:
                if okp != NULL:
                    okp[i] = 1
                if not vs_fits64(self.s[g[i]]):
                    bad.append(g[i])
                d[i] = <int64_t>self.s[g[i]]
        if bad:
            raise AggregateOverflow(f"SUM of BIGINT overflows in {len(bad)} group(s): "
                                    f"{_py128(self.s[bad[0]])}", bad)
        return make_int64(data, ok, n, T_INT64)

    cdef int _running_kind(self) noexcept:
        return RUN_DOUBLE if self.avg else RUN_INT64

    cdef int _cell_i(self, int64_t gid, int64_t* out) except -1:
        if self.n[gid] == 0:
            return 0
        if not vs_fits64(self.s[gid]):
            raise AggregateOverflow(f"SUM of BIGINT overflows: {_py128(self.s[gid])}", [gid])
        out[0] = <int64_t>self.s[gid]
        return 1

    cdef int _cell_d(self, int64_t gid, double* out) except -1:
        if self.n[gid] == 0:
            return 0
        out[0] = self._value(gid) if not -(<vs_i128>1 << 53) <= self.s[gid] <= (<vs_i128>1 << 53) \
            else <double>self.s[gid] / <double>self.n[gid]
        return 1

    cdef int _merge(self, int64_t dst, int64_t src) except -1:
        self.s[dst] += self.s[src]
        self.n[dst] += self.n[src]
        return 0

    cdef int _reset1(self, int64_t gid) except -1:
        self.s[gid] = 0
        self.n[gid] = 0
        return 0

    cdef bytes _snap(self, int64_t gid):
        return _QQQ.pack(vs_hi128(self.s[gid]), vs_lo128(self.s[gid]), self.n[gid])

    cdef int _load(self, int64_t gid, bytes state) except -1:
        hi, lo, n = _QQQ.unpack(state)
        self.s[gid] = vs_mk128(hi, lo)
        self.n[gid] = n
        return 0


cdef double _as_double(Column c, Py_ssize_t i):
    """Row ``i`` of a numeric column as a double (DECIMAL: the nearest double)."""
    cdef DecimalColumn d
    if c.type == T_FLOAT64:
        return (<Float64Column>c).values[i]
    if c.type == T_INT64:
        return <double>(<Int64Column>c).values[i]
    if c.type == T_BOOL:
        return <double>(<BoolColumn>c).values[i]
    if c.type == T_DECIMAL:
        d = <DecimalColumn>c
        if dec_is_objects(d):
            return float(dec_objects(d)[i])
        if d.w == NULL and -(1 << 53) <= d.values[i] <= (1 << 53) and d.scale <= 22:
            return <double>d.values[i] / <double>vs_p10t[d.scale]   # both exact: rounded once
        return float(d.get(i))
    raise TypeError(f"a number was expected, not a {TYPE_TAGS[c.type]} column")


cdef class _SumFloat(Aggregate):
    cdef double* s
    cdef int64_t* n
    cdef bint avg

    def __dealloc__(self):
        PyMem_Free(self.s)
        PyMem_Free(self.n)

    cdef int _grow(self, Py_ssize_t cap) except -1:
        self.s = <double*>_grow_buf(self.s, self.cap, cap, sizeof(double))
        self.n = <int64_t*>_grow_buf(self.n, self.cap, cap, sizeof(int64_t))
        return 0

    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1:
        cdef Py_ssize_t i
        cdef const double* v
        if c.type == T_NULL:
            return 0
        if c.type == T_FLOAT64:
            v = (<Float64Column>c).values
            if c.valid == NULL:
                for i in range(lo, hi):
                    self.s[g[i]] += v[i]
                    self.n[g[i]] += 1
            else:
                for i in range(lo, hi):
                    if c.valid[i]:
                        self.s[g[i]] += v[i]
                        self.n[g[i]] += 1
            return 0
        for i in range(lo, hi):
            if not _skip(c, i):
                self.s[g[i]] += _as_double(c, i)
                self.n[g[i]] += 1
        return 0

    cdef object _value(self, int64_t gid):
        if self.n[gid] == 0:
            return None
        return self.s[gid] / self.n[gid] if self.avg else self.s[gid]

    cdef Column _result(self, const int64_t* g, Py_ssize_t n):
        cdef object data = new_double_array(n)
        cdef double* f = <double*>(<array.array>data).data.as_voidptr
        cdef object ok = None
        cdef uint8_t* okp = NULL
        cdef Py_ssize_t i
        for i in range(n):
            if self.n[g[i]] == 0 and okp == NULL:
                ok = new_byte_array(n, False)
                okp = <uint8_t*>(<array.array>ok).data.as_voidptr
                memset(okp, 1, n)
            if self.n[g[i]] == 0:
                okp[i] = 0
                f[i] = 0.0
            else:
                f[i] = self.s[g[i]] / self.n[g[i]] if self.avg else self.s[g[i]]
        return make_float64(data, ok, n)

    cdef int _running_kind(self) noexcept:
        return RUN_DOUBLE

    cdef int _cell_d(self, int64_t gid, double* out) except -1:
        if self.n[gid] == 0:
            return 0
        out[0] = self.s[gid] / self.n[gid] if self.avg else self.s[gid]
        return 1

    cdef int _merge(self, int64_t dst, int64_t src) except -1:
        self.s[dst] += self.s[src]
        self.n[dst] += self.n[src]
        return 0

    cdef int _reset1(self, int64_t gid) except -1:
        self.s[gid] = 0.0
        self.n[gid] = 0
        return 0

    cdef bytes _snap(self, int64_t gid):
        return _DQ.pack(self.s[gid], self.n[gid])

    cdef int _load(self, int64_t gid, bytes state) except -1:
        self.s[gid], self.n[gid] = _DQ.unpack(state)
        return 0


# ---- exact DECIMAL: SUM / AVG, and the column builder shared with MIN / MAX

cdef object _P10 = tuple(10 ** k for k in range(80))


cdef inline object _p10(int k):
    return _P10[k] if k < 80 else 10 ** k


cdef object _half_even_div(object num, object den):
    """num / den (den > 0) rounded half-even to an integer."""
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q & 1):
        q += 1
    return q


cdef Column _decimal_result(vs_i128* m, uint8_t* sc, uint8_t* ok, Py_ssize_t n):
    """A DECIMAL column of row ``i`` = ``m[i] / 10**sc[i]`` (``ok[i]`` 0 = NULL), or None when
    some mantissa at the column scale leaves 38 digits (the caller builds it from objects)."""
    cdef Py_ssize_t i
    cdef int top = 0
    cdef bint nulls = False, uniform = True
    cdef vs_i128 v
    for i in range(n):
        if ok[i]:
            if sc[i] > top:
                top = sc[i]
        else:
            nulls = True
    cdef object wdata = new_int64_array(2 * n)
    cdef int64_t* w = <int64_t*>(<array.array>wdata).data.as_voidptr
    cdef object scales = new_byte_array(n, False)
    cdef uint8_t* rs = <uint8_t*>(<array.array>scales).data.as_voidptr
    cdef object validity = None
    for i in range(n):
        rs[i] = <uint8_t>top
        if not ok[i]:
            vs_st128(w, i, 0)
            continue
        rs[i] = sc[i]
        uniform = uniform and sc[i] == top
        if vs_align128(m[i], top - sc[i], &v) or v >= vs_p10t[38] or v <= -vs_p10t[38]:
            return None
        vs_st128(w, i, v)
    if nulls:
        validity = new_byte_array(n, False)
        memcpy((<array.array>validity).data.as_voidptr, ok, n)
    return make_decimal128(wdata, validity, n, top, None if uniform else scales)


cdef class _SumDec(Aggregate):
    cdef vs_i128* s         # the sum at scale gs (unless big)
    cdef uint8_t* gs
    cdef uint8_t* rs        # the largest row scale seen: the result's scale
    cdef uint8_t* isbig     # 1: the sum is the Python int in _big (past int128)
    cdef int64_t* n
    cdef dict _big
    cdef bint avg

    def __cinit__(self):
        self._big = {}

    def __dealloc__(self):
        PyMem_Free(self.s)
        PyMem_Free(self.gs)
        PyMem_Free(self.rs)
        PyMem_Free(self.isbig)
        PyMem_Free(self.n)

    cdef int _grow(self, Py_ssize_t cap) except -1:
        self.s = <vs_i128*>_grow_buf(self.s, self.cap, cap, sizeof(vs_i128))
        self.gs = <uint8_t*>_grow_buf(self.gs, self.cap, cap, 1)
        self.rs = <uint8_t*>_grow_buf(self.rs, self.cap, cap, 1)
        self.isbig = <uint8_t*>_grow_buf(self.isbig, self.cap, cap, 1)
        self.n = <int64_t*>_grow_buf(self.n, self.cap, cap, sizeof(int64_t))
        return 0

    cdef object _exact(self, int64_t gid):
        """The sum's mantissa at scale gs as a Python int."""
        return self._big[gid] if self.isbig[gid] else _py128(self.s[gid])

    cdef int _set(self, int64_t gid, object m, int scale) except -1:
        self.gs[gid] = <uint8_t>scale
        if _fits128(m):
            self.s[gid] = _to128(m)
            if self.isbig[gid]:
                self.isbig[gid] = 0
                del self._big[gid]
        else:
            self.isbig[gid] = 1
            self._big[gid] = m
        return 0

    cdef int _add_py(self, int64_t gid, object m, int scale) except -1:
        """Adds ``m / 10**scale`` to the group exactly (the rare path past int128)."""
        cdef int top = max(scale, self.gs[gid])
        self._set(gid, self._exact(gid) * _p10(top - self.gs[gid]) + m * _p10(top - scale), top)
        return 0

    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1:
        cdef Py_ssize_t i
        cdef int64_t gid
        cdef int cs, own
        cdef vs_i128 m, t
        cdef DecimalColumn d = None
        cdef const int64_t* iv = NULL
        cdef list objs = None
        cdef ScaledInteger box
        if c.type == T_NULL:
            return 0
        if c.type == T_DECIMAL:
            d = <DecimalColumn>c
            cs = d.scale
            if dec_is_objects(d):
                objs = dec_objects(d)
        elif c.type == T_INT64:
            iv = (<Int64Column>c).values
            cs = 0
        else:
            raise TypeError(f"{self.function.upper()} of DECIMAL got a {TYPE_TAGS[c.type]} "
                            f"column")
        for i in range(lo, hi):
            if _skip(c, i):
                continue
            gid = g[i]
            self.n[gid] += 1
            if objs is not None:
                box = <ScaledInteger>objs[i]
                if box.scale > self.rs[gid]:
                    self.rs[gid] = box.scale
                self._add_py(gid, box.mantissa, box.scale)
                continue
            if iv != NULL:
                m = iv[i]
                own = 0
            else:
                m = dec_m128(d, i)
                own = d.row_scale(i)
            if own > self.rs[gid]:
                self.rs[gid] = <uint8_t>own
            if self.isbig[gid]:
                self._add_py(gid, _py128(m), cs)
                continue
            if self.gs[gid] < cs:
                if vs_align128(self.s[gid], cs - self.gs[gid], &t):
                    self._add_py(gid, _py128(m), cs)
                    continue
                self.s[gid] = t
                self.gs[gid] = <uint8_t>cs
            elif self.gs[gid] > cs:
                if vs_align128(m, self.gs[gid] - cs, &t):
                    self._add_py(gid, _py128(m), cs)
                    continue
                m = t
            if ag_add_ovf(self.s[gid], m, &t):
                self._add_py(gid, _py128(m), self.gs[gid])
                continue
            self.s[gid] = t
        return 0

    cdef object _value(self, int64_t gid):
        cdef int r = self.rs[gid], out
        if self.n[gid] == 0:
            return None
        m = self._exact(gid) // _p10(self.gs[gid] - r)     # exact: no row has a larger scale
        if not self.avg:
            return _ScaledInteger.from_parts(m, r)
        out = min(r + 4, 38)
        return _ScaledInteger.from_parts(_half_even_div(m * _p10(out), _p10(r) * self.n[gid]),
                                         out)

    cdef Column _result(self, const int64_t* g, Py_ssize_t n):
        cdef object mbuf = new_int64_array(2 * n)
        cdef vs_i128* m = <vs_i128*>(<array.array>mbuf).data.as_voidptr
        cdef object sbuf = new_byte_array(n, False)
        cdef uint8_t* sc = <uint8_t*>(<array.array>sbuf).data.as_voidptr
        cdef object okbuf = new_byte_array(n, False)
        cdef uint8_t* ok = <uint8_t*>(<array.array>okbuf).data.as_voidptr
        cdef Py_ssize_t i
        cdef int64_t gid
        cdef vs_i128 v
        cdef Column out = None
        cdef bint typed = True
        for i in range(n):
            gid = g[i]
            ok[i] = self.n[gid] != 0
            m[i] = 0
            sc[i] = 0
            if not ok[i]:
                continue
            if self.isbig[gid]:
                typed = False
                break
            # exact: the sum is a multiple of 10**(gs - rs)
            v = self.s[gid] // vs_p10t[self.gs[gid] - self.rs[gid]]
            if self.avg:
                if self.rs[gid] + 4 > 38 or vs_div128(v, 4, <vs_i128>self.n[gid], &v):
                    typed = False
                    break
                sc[i] = self.rs[gid] + 4
            else:
                sc[i] = self.rs[gid]
            m[i] = v
        if typed:
            out = _decimal_result(m, sc, ok, n)
        if out is None:
            out = _decimal_column([self._value(g[i]) for i in range(n)])
        return out

    cdef int _running_kind(self) noexcept:
        return RUN_DECIMAL

    cdef int _cell_m(self, int64_t gid, vs_i128* m, uint8_t* sc) except -1:
        """1 with the value in m / sc, 0 for NULL, 2 when it needs the object path."""
        cdef vs_i128 v
        if self.n[gid] == 0:
            return 0
        if self.isbig[gid]:
            return 2
        v = self.s[gid] // vs_p10t[self.gs[gid] - self.rs[gid]]
        if self.avg:
            if self.rs[gid] + 4 > 38 or vs_div128(v, 4, <vs_i128>self.n[gid], &v):
                return 2
            sc[0] = self.rs[gid] + 4
        else:
            sc[0] = self.rs[gid]
        m[0] = v
        return 1

    cdef int _merge(self, int64_t dst, int64_t src) except -1:
        if self.n[src] == 0:
            return 0
        self.n[dst] += self.n[src]
        if self.rs[src] > self.rs[dst]:
            self.rs[dst] = self.rs[src]
        self._add_py(dst, self._exact(src), self.gs[src])
        return 0

    cdef int _reset1(self, int64_t gid) except -1:
        self.s[gid] = 0
        self.gs[gid] = 0
        self.rs[gid] = 0
        self.n[gid] = 0
        if self.isbig[gid]:
            self.isbig[gid] = 0
            del self._big[gid]
        return 0

    cdef bytes _snap(self, int64_t gid):
        m = self._exact(gid)
        return _BBQ.pack(self.gs[gid], self.rs[gid], self.n[gid]) + \
            m.to_bytes((m.bit_length() + 8) // 8, "little", signed=True)

    cdef int _load(self, int64_t gid, bytes state) except -1:
        gs, rs, n = _BBQ.unpack_from(state)
        self.rs[gid] = rs
        self.n[gid] = n
        self._set(gid, int.from_bytes(state[_BBQ.size:], "little", signed=True), gs)
        return 0


cdef object _BBQ = _struct.Struct("<BBq")


# ---- MIN / MAX

cdef class _MinMaxInt(Aggregate):
    """BIGINT, TIMESTAMP and BOOLEAN (as 0/1)."""
    cdef int64_t* v
    cdef uint8_t* has
    cdef bint ismax

    def __dealloc__(self):
        PyMem_Free(self.v)
        PyMem_Free(self.has)

    cdef int _grow(self, Py_ssize_t cap) except -1:
        self.v = <int64_t*>_grow_buf(self.v, self.cap, cap, sizeof(int64_t))
        self.has = <uint8_t*>_grow_buf(self.has, self.cap, cap, 1)
        return 0

    cdef inline void _put(self, int64_t gid, int64_t x) noexcept:
        if not self.has[gid]:
            self.has[gid] = 1
            self.v[gid] = x
        elif (x > self.v[gid]) if self.ismax else (x < self.v[gid]):
            self.v[gid] = x

    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1:
        cdef Py_ssize_t i
        cdef const int64_t* iv
        cdef const uint8_t* bv
        if c.type == T_NULL:
            return 0
        if c.type == T_BOOL and self.input_type == T_BOOL:
            bv = (<BoolColumn>c).values
            for i in range(lo, hi):
                if not _skip(c, i):
                    self._put(g[i], bv[i])
            return 0
        if c.type != self.input_type:
            raise TypeError(f"{self.function.upper()} of {TYPE_TAGS[self.input_type]} got a "
                            f"{TYPE_TAGS[c.type]} column")
        iv = (<Int64Column>c).values
        if c.valid == NULL:
            for i in range(lo, hi):
                self._put(g[i], iv[i])
        else:
            for i in range(lo, hi):
                if c.valid[i]:
                    self._put(g[i], iv[i])
        return 0

    cdef object _value(self, int64_t gid):
        if not self.has[gid]:
            return None
        if self.input_type == T_BOOL:
            return self.v[gid] != 0
        if self.input_type == T_TIMESTAMP:
            return _int64_column([self.v[gid]], timestamp=True).get(0)
        return self.v[gid]

    cdef Column _result(self, const int64_t* g, Py_ssize_t n):
        cdef object data = new_int64_array(n)
        cdef int64_t* d = <int64_t*>(<array.array>data).data.as_voidptr
        cdef object ok = new_byte_array(n, False)
        cdef uint8_t* okp = <uint8_t*>(<array.array>ok).data.as_voidptr
        cdef Py_ssize_t i
        cdef bint nulls = False
        for i in range(n):
            okp[i] = self.has[g[i]]
            d[i] = self.v[g[i]] if okp[i] else 0
            nulls = nulls or not okp[i]
        if self.input_type == T_BOOL:
            return _bool_column([self._value(g[i]) for i in range(n)])
        return make_int64(data, ok if nulls else None, n, self.input_type)

    cdef int _running_kind(self) noexcept:
        return RUN_OBJECT if self.input_type == T_BOOL else RUN_INT64

    cdef int _cell_i(self, int64_t gid, int64_t* out) except -1:
        if not self.has[gid]:
            return 0
        out[0] = self.v[gid]
        return 1

    cdef int _merge(self, int64_t dst, int64_t src) except -1:
        if self.has[src]:
            self._put(dst, self.v[src])
        return 0

    cdef int _reset1(self, int64_t gid) except -1:
        self.has[gid] = 0
        self.v[gid] = 0
        return 0

    cdef bytes _snap(self, int64_t gid):
        return b"" if not self.has[gid] else _Q8.pack(self.v[gid])

    cdef int _load(self, int64_t gid, bytes state) except -1:
        if state:
            self.has[gid] = 1
            self.v[gid] = _Q8.unpack(state)[0]
        return 0


cdef inline bint _dgt(double a, double b) noexcept nogil:
    """a > b with NaN the largest value (ORDER BY's order)."""
    if a != a:
        return b == b
    if b != b:
        return False
    return a > b


cdef object _D8 = _struct.Struct("<d")


cdef class _MinMaxFloat(Aggregate):
    cdef double* v
    cdef uint8_t* has
    cdef bint ismax

    def __dealloc__(self):
        PyMem_Free(self.v)
        PyMem_Free(self.has)

    cdef int _grow(self, Py_ssize_t cap) except -1:
        self.v = <double*>_grow_buf(self.v, self.cap, cap, sizeof(double))
        self.has = <uint8_t*>_grow_buf(self.has, self.cap, cap, 1)
        return 0

    cdef inline void _put(self, int64_t gid, double x) noexcept:
        if not self.has[gid]:
            self.has[gid] = 1
            self.v[gid] = x
        elif _dgt(x, self.v[gid]) if self.ismax else _dgt(self.v[gid], x):
            self.v[gid] = x

    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1:
        cdef Py_ssize_t i
        cdef const double* fv
        if c.type == T_NULL:
            return 0
        if c.type != T_FLOAT64:
            for i in range(lo, hi):
                if not _skip(c, i):
                    self._put(g[i], _as_double(c, i))
            return 0
        fv = (<Float64Column>c).values
        for i in range(lo, hi):
            if not _skip(c, i):
                self._put(g[i], fv[i])
        return 0

    cdef object _value(self, int64_t gid):
        return self.v[gid] if self.has[gid] else None

    cdef Column _result(self, const int64_t* g, Py_ssize_t n):
        cdef object data = new_double_array(n)
        cdef double* d = <double*>(<array.array>data).data.as_voidptr
        cdef object ok = new_byte_array(n, False)
        cdef uint8_t* okp = <uint8_t*>(<array.array>ok).data.as_voidptr
        cdef Py_ssize_t i
        cdef bint nulls = False
        for i in range(n):
            okp[i] = self.has[g[i]]
            d[i] = self.v[g[i]] if okp[i] else 0.0
            nulls = nulls or not okp[i]
        return make_float64(data, ok if nulls else None, n)

    cdef int _running_kind(self) noexcept:
        return RUN_DOUBLE

    cdef int _cell_d(self, int64_t gid, double* out) except -1:
        if not self.has[gid]:
            return 0
        out[0] = self.v[gid]
        return 1

    cdef int _merge(self, int64_t dst, int64_t src) except -1:
        if self.has[src]:
            self._put(dst, self.v[src])
        return 0

    cdef int _reset1(self, int64_t gid) except -1:
        self.has[gid] = 0
        self.v[gid] = 0.0
        return 0

    cdef bytes _snap(self, int64_t gid):
        return b"" if not self.has[gid] else _D8.pack(self.v[gid])

    cdef int _load(self, int64_t gid, bytes state) except -1:
        if state:
            self.has[gid] = 1
            self.v[gid] = _D8.unpack(state)[0]
        return 0


cdef class _MinMaxDec(Aggregate):
    """DECIMAL by value; the winner keeps its own scale (the first of equal values wins)."""
    cdef vs_i128* m         # at scale sc
    cdef uint8_t* sc
    cdef uint8_t* has       # 1 typed, 2 the ScaledInteger in _obj (past 38 digits)
    cdef dict _obj
    cdef bint ismax

    def __cinit__(self):
        self._obj = {}

    def __dealloc__(self):
        PyMem_Free(self.m)
        PyMem_Free(self.sc)
        PyMem_Free(self.has)

    cdef int _grow(self, Py_ssize_t cap) except -1:
        self.m = <vs_i128*>_grow_buf(self.m, self.cap, cap, sizeof(vs_i128))
        self.sc = <uint8_t*>_grow_buf(self.sc, self.cap, cap, 1)
        self.has = <uint8_t*>_grow_buf(self.has, self.cap, cap, 1)
        return 0

    cdef int _put_py(self, int64_t gid, object v) except -1:
        cur = self._value(gid)
        if cur is not None and not ((v > cur) if self.ismax else (v < cur)):
            return 0
        m = v.mantissa
        self._obj.pop(gid, None)
        if -(10 ** 38) < m < 10 ** 38:
            self.has[gid] = 1
            self.m[gid] = _to128(m)
            self.sc[gid] = v.scale
        else:
            self.has[gid] = 2
            self._obj[gid] = v
        return 0

    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1:
        cdef Py_ssize_t i
        cdef int64_t gid
        cdef int cs, own, cmp
        cdef vs_i128 x
        cdef DecimalColumn d
        cdef list objs = None
        if c.type == T_NULL:
            return 0
        if c.type == T_INT64:
            for i in range(lo, hi):
                if not _skip(c, i):
                    self._put_py(g[i], _ScaledInteger((<Int64Column>c).values[i]))
            return 0
        if c.type != T_DECIMAL:
            raise TypeError(f"{self.function.upper()} of DECIMAL got a {TYPE_TAGS[c.type]} column")
        d = <DecimalColumn>c
        cs = d.scale
        if dec_is_objects(d):
            objs = dec_objects(d)
        for i in range(lo, hi):
            if _skip(c, i):
                continue
            gid = g[i]
            if objs is not None or self.has[gid] == 2:
                self._put_py(gid, d.get(i))
                continue
            x = dec_m128(d, i)
            if self.has[gid]:
                cmp = vs_cmp128(x, cs, self.m[gid], self.sc[gid])
                if not (cmp > 0 if self.ismax else cmp < 0):
                    continue
            own = d.row_scale(i)
            self.has[gid] = 1
            self.m[gid] = x // vs_p10t[cs - own]
            self.sc[gid] = <uint8_t>own
        return 0

    cdef object _value(self, int64_t gid):
        if self.has[gid] == 0:
            return None
        if self.has[gid] == 2:
            return self._obj[gid]
        return _ScaledInteger.from_parts(_py128(self.m[gid]), self.sc[gid])

    cdef Column _result(self, const int64_t* g, Py_ssize_t n):
        cdef object mbuf = new_int64_array(2 * n)
        cdef vs_i128* m = <vs_i128*>(<array.array>mbuf).data.as_voidptr
        cdef object sbuf = new_byte_array(n, False)
        cdef uint8_t* sc = <uint8_t*>(<array.array>sbuf).data.as_voidptr
        cdef object okbuf = new_byte_array(n, False)
        cdef uint8_t* ok = <uint8_t*>(<array.array>okbuf).data.as_voidptr
        cdef Py_ssize_t i
        cdef Column out = None
        cdef bint typed = True
        for i in range(n):
            ok[i] = self.has[g[i]] != 0
            typed = typed and self.has[g[i]] != 2
            m[i] = self.m[g[i]] if ok[i] else 0
            sc[i] = self.sc[g[i]] if ok[i] else 0
        if typed:
            out = _decimal_result(m, sc, ok, n)
        if out is None:
            out = _decimal_column([self._value(g[i]) for i in range(n)])
        return out

    cdef int _running_kind(self) noexcept:
        return RUN_DECIMAL

    cdef int _cell_m(self, int64_t gid, vs_i128* m, uint8_t* sc) except -1:
        if self.has[gid] == 0:
            return 0
        if self.has[gid] == 2:
            return 2
        m[0] = self.m[gid]
        sc[0] = self.sc[gid]
        return 1

    cdef int _merge(self, int64_t dst, int64_t src) except -1:
        v = self._value(src)
        if v is not None:
            self._put_py(dst, v)
        return 0

    cdef int _reset1(self, int64_t gid) except -1:
        self.has[gid] = 0
        self.m[gid] = 0
        self._obj.pop(gid, None)
        return 0

    cdef bytes _snap(self, int64_t gid):
        return _enc_value(self._value(gid))

    cdef int _load(self, int64_t gid, bytes state) except -1:
        v = _dec_value(state)
        if v is not None:
            self._put_py(gid, v)
        return 0


cdef class _MinMaxStr(Aggregate):
    """STRING by UTF-8 bytes (= code points). Each batch first finds its winning row per group
    in C; only a row that beats the group's value becomes a Python ``bytes``."""
    cdef list _v            # bytes or None per group
    cdef int64_t* best      # per group, the batch's winning row (-1 none)
    cdef bint ismax

    def __cinit__(self):
        self._v = []

    def __dealloc__(self):
        PyMem_Free(self.best)

    cdef int _grow(self, Py_ssize_t cap) except -1:
        self.best = <int64_t*>_grow_buf(self.best, self.cap, cap, sizeof(int64_t))
        memset(self.best + self.cap, 0xff, (cap - self.cap) * sizeof(int64_t))
        self._v.extend([None] * (cap - self.cap))
        return 0

    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1:
        cdef Py_ssize_t i, la, lb, r
        cdef int64_t gid, b
        cdef int cmp
        cdef StringColumn s
        cdef const char* chars
        cdef const int64_t* offs
        cdef object touched
        cdef bytes cur
        if c.type == T_NULL:
            return 0
        if c.type != T_STRING:
            raise TypeError(f"{self.function.upper()} of STRING got a {TYPE_TAGS[c.type]} column")
        s = <StringColumn>c
        chars = s.chars
        offs = s.offs
        touched = _array("q")
        for i in range(lo, hi):
            if _skip(c, i):
                continue
            gid = g[i]
            b = self.best[gid]
            if b < 0:
                self.best[gid] = i
                touched.append(gid)
                continue
            la = offs[i + 1] - offs[i]
            lb = offs[b + 1] - offs[b]
            r = memcmp(chars + offs[i], chars + offs[b], la if la < lb else lb)
            cmp = (r > 0) - (r < 0) if r else (la > lb) - (la < lb)
            if cmp > 0 if self.ismax else cmp < 0:
                self.best[gid] = i
        for gid in touched:
            b = self.best[gid]
            self.best[gid] = -1
            la = offs[b + 1] - offs[b]
            cur = self._v[gid]
            if cur is not None:
                lb = PyBytes_GET_SIZE(cur)
                r = memcmp(chars + offs[b], PyBytes_AS_STRING(cur), la if la < lb else lb)
                cmp = (r > 0) - (r < 0) if r else (la > lb) - (la < lb)
                if not (cmp > 0 if self.ismax else cmp < 0):
                    continue
            self._v[gid] = PyBytes_FromStringAndSize(chars + offs[b], la)
        return 0

    cdef object _value(self, int64_t gid):
        v = self._v[gid]
        return None if v is None else (<bytes>v).decode("utf-8")

    cdef Column _result(self, const int64_t* g, Py_ssize_t n):
        return _bytes_column([self._v[g[i]] for i in range(n)])

    cdef int _merge(self, int64_t dst, int64_t src) except -1:
        a, b = self._v[dst], self._v[src]
        if b is not None and (a is None or ((b > a) if self.ismax else (b < a))):
            self._v[dst] = b
        return 0

    cdef int _reset1(self, int64_t gid) except -1:
        self._v[gid] = None
        return 0

    cdef bytes _snap(self, int64_t gid):
        v = self._v[gid]
        return b"" if v is None else b"\x01" + v

    cdef int _load(self, int64_t gid, bytes state) except -1:
        self._v[gid] = state[1:] if state else None
        return 0


cdef StringColumn _bytes_column(list values):
    """A STRING column of UTF-8 ``bytes`` (None = NULL)."""
    cdef Py_ssize_t i, n = len(values)
    cdef object offsets = new_int64_array(n + 1)
    cdef int64_t* offs = <int64_t*>(<array.array>offsets).data.as_voidptr
    cdef object validity = None
    cdef uint8_t* ok = NULL
    offs[0] = 0
    for i in range(n):
        v = values[i]
        if v is None:
            if ok == NULL:
                validity = new_byte_array(n, False)
                ok = <uint8_t*>(<array.array>validity).data.as_voidptr
                memset(ok, 1, n)
            ok[i] = 0
            offs[i + 1] = offs[i]
        else:
            offs[i + 1] = offs[i] + PyBytes_GET_SIZE(v)
    return make_string(b"".join([v for v in values if v is not None]), offsets, validity, n)


cdef class _MinMaxObj(Aggregate):
    """Any other input (OBJECT columns): Python comparisons per row."""
    cdef list _v
    cdef bint ismax

    def __cinit__(self):
        self._v = []

    cdef int _grow(self, Py_ssize_t cap) except -1:
        self._v.extend([None] * (cap - self.cap))
        return 0

    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1:
        cdef Py_ssize_t i
        for i in range(lo, hi):
            if _skip(c, i) or c.type == T_NULL:
                continue
            v = c.get(i)
            if v is None:
                continue
            cur = self._v[g[i]]
            try:
                if cur is None or ((v > cur) if self.ismax else (v < cur)):
                    self._v[g[i]] = v
            except TypeError:
                raise TypeError(f"{self.function.upper()} cannot compare {type(v).__name__} "
                                f"with {type(cur).__name__}") from None
        return 0

    cdef object _value(self, int64_t gid):
        return self._v[gid]

    cdef int _merge(self, int64_t dst, int64_t src) except -1:
        a, b = self._v[dst], self._v[src]
        if b is not None and (a is None or ((b > a) if self.ismax else (b < a))):
            self._v[dst] = b
        return 0

    cdef int _reset1(self, int64_t gid) except -1:
        self._v[gid] = None
        return 0

    cdef bytes _snap(self, int64_t gid):
        return _enc_value(self._v[gid])

    cdef int _load(self, int64_t gid, bytes state) except -1:
        self._v[gid] = _dec_value(state)
        return 0


# ---- compact value codec for snapshots of Python-held state

cdef object _pickle = None


cdef bytes _enc_value(object v):
    """One value as bytes: a tag, then a fixed or self-delimited payload."""
    if v is None:
        return b""
    if isinstance(v, bool):
        return b"b" + (b"\x01" if v else b"\x00")
    if isinstance(v, int):
        return b"i" + v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
    if isinstance(v, float):
        return b"f" + _D8.pack(v)
    if isinstance(v, _ScaledInteger):
        m = v.mantissa
        return b"d" + bytes([v.scale]) + m.to_bytes((m.bit_length() + 8) // 8, "little",
                                                    signed=True)
    if isinstance(v, str):
        return b"s" + v.encode("utf-8")
    ms = _timestamp_ms(v)
    if ms is not None:
        return b"t" + _Q8.pack(ms)
    global _pickle
    if _pickle is None:
        import pickle as _p
        _pickle = _p
    return b"p" + _pickle.dumps(v, protocol=5)   # nested values (lists, maps): rare in state


cdef object _timestamp_ms(object v):
    import datetime as _dt
    if isinstance(v, _dt.datetime):
        return datetime_to_epoch_ms(v)
    return None


cdef object _dec_value(bytes b):
    if not b:
        return None
    tag = b[0]
    if tag == 0x62:
        return b[1] != 0
    if tag == 0x69:
        return int.from_bytes(b[1:], "little", signed=True)
    if tag == 0x66:
        return _D8.unpack_from(b, 1)[0]
    if tag == 0x64:
        return _ScaledInteger.from_parts(int.from_bytes(b[2:], "little", signed=True), b[1])
    if tag == 0x73:
        return b[1:].decode("utf-8")
    if tag == 0x74:
        return _int64_column([_Q8.unpack_from(b, 1)[0]], timestamp=True).get(0)
    if tag == 0x70:
        global _pickle
        if _pickle is None:
            import pickle as _p
            _pickle = _p
        return _pickle.loads(b[1:])
    raise ValueError(f"unknown state value tag {tag:#x}")


# --------------------------------------------------------------------------- factory

FUNCTIONS = ("count_star", "count", "sum", "avg", "min", "max", "stddev_samp", "stddev_pop",
             "var_samp", "var_pop", "first_value", "last_value", "listagg", "median",
             "approx_count_distinct")

_ALIASES = {"stddev": "stddev_samp", "variance": "var_samp", "string_agg": "listagg"}


def Accumulator(str function, input_type=None, *, bint distinct=False, dict options=None):
    """The accumulator of one aggregate over one input type (a ``batch`` ColumnType tag; None for
    count_star). ``result_type`` is its output type (DIALECT §3, §5)."""
    cdef Aggregate acc
    fn = _ALIASES.get(function.lower(), function.lower())
    if fn not in FUNCTIONS:
        raise ValueError(f"unknown aggregate {function!r}")
    if fn != "count_star" and input_type is None:
        raise TypeError(f"{fn} needs an input type")
    t = input_type
    if fn == "count_star":
        acc = _Count.__new__(_Count)
        (<_Count>acc).star = True
        rt = T_INT64
    elif fn == "count" and not distinct:
        acc = _Count.__new__(_Count)
        rt = T_INT64
    elif fn in ("sum", "avg") and not distinct:
        if t == T_INT64 or t == T_BOOL:
            acc = _SumInt.__new__(_SumInt)
            (<_SumInt>acc).avg = fn == "avg"
            rt = T_FLOAT64 if fn == "avg" else T_INT64
        elif t == T_FLOAT64:
            acc = _SumFloat.__new__(_SumFloat)
            (<_SumFloat>acc).avg = fn == "avg"
            rt = T_FLOAT64
        elif t == T_DECIMAL:
            acc = _SumDec.__new__(_SumDec)
            (<_SumDec>acc).avg = fn == "avg"
            rt = T_DECIMAL
        else:
            raise TypeError(f"{fn.upper()} needs a number, not {TYPE_TAGS.get(t, t)}")
    elif fn in ("min", "max"):
        if t == T_INT64 or t == T_TIMESTAMP or t == T_BOOL:
            acc = _MinMaxInt.__new__(_MinMaxInt)
            (<_MinMaxInt>acc).ismax = fn == "max"
        elif t == T_FLOAT64:
            acc = _MinMaxFloat.__new__(_MinMaxFloat)
            (<_MinMaxFloat>acc).ismax = fn == "max"
        elif t == T_DECIMAL:
            acc = _MinMaxDec.__new__(_MinMaxDec)
            (<_MinMaxDec>acc).ismax = fn == "max"
        elif t == T_STRING:
            acc = _MinMaxStr.__new__(_MinMaxStr)
            (<_MinMaxStr>acc).ismax = fn == "max"
        else:
            acc = _MinMaxObj.__new__(_MinMaxObj)
            (<_MinMaxObj>acc).ismax = fn == "max"
        rt = t
    else:
        acc, rt = _more(fn, t, distinct, options or {})
    acc.function = fn
    acc.input_type = t
    acc.result_type = rt
    acc.distinct = distinct
    acc.options = dict(options or {})
    return acc


cdef tuple _more(str fn, object t, bint distinct, dict options):
    """The accumulators past COUNT/SUM/AVG/MIN/MAX, and the DISTINCT forms."""
    cdef Aggregate acc
    if fn in ("count", "approx_count_distinct"):
        return _CountDistinct.__new__(_CountDistinct), T_INT64
    if distinct and fn not in ("min", "max"):
        inner = Accumulator(fn, t, options=options)
        acc = _Distinct.__new__(_Distinct)
        (<_Distinct>acc).inner = inner
        return acc, (<Aggregate>inner).result_type
    if fn in ("stddev_samp", "stddev_pop", "var_samp", "var_pop"):
        if t not in (T_INT64, T_FLOAT64, T_DECIMAL, T_BOOL, T_NULL):
            raise TypeError(f"{fn.upper()} needs a number, not {TYPE_TAGS.get(t, t)}")
        acc = _Welford.__new__(_Welford)
        (<_Welford>acc).sample = fn.endswith("samp")
        (<_Welford>acc).root = fn.startswith("stddev")
        return acc, T_FLOAT64
    if fn in ("first_value", "last_value"):
        acc = _FirstLast.__new__(_FirstLast)
        (<_FirstLast>acc).last = fn == "last_value"
        return acc, t
    if fn == "listagg":
        sep = options.get("separator", ",")
        if not isinstance(sep, str):
            raise TypeError(f"LISTAGG separator must be a string, not {type(sep).__name__}")
        acc = _Listagg.__new__(_Listagg)
        (<_Listagg>acc).sep = sep.encode("utf-8")
        return acc, T_STRING
    if fn == "median":
        if t in (T_INT64, T_BOOL, T_FLOAT64):
            acc = _Median.__new__(_Median)
            (<_Median>acc).floats = t == T_FLOAT64
            return acc, T_FLOAT64
        if t == T_TIMESTAMP:
            return _Median.__new__(_Median), T_TIMESTAMP
        if t == T_DECIMAL:
            return _MedianDec.__new__(_MedianDec), T_DECIMAL
        raise TypeError(f"MEDIAN needs a number or a timestamp, not {TYPE_TAGS.get(t, t)}")
    raise ValueError(f"unknown aggregate {fn!r}")


# ---- STDDEV / VARIANCE

cdef extern from "math.h":
    double sqrt(double x) nogil


cdef class _Welford(Aggregate):
    """Welford's update on values shifted by the group's first value (``k``): the shift is
    exact for nearby doubles (Sterbenz), so a large offset with a tiny spread loses nothing to
    the offset; groups merge by Chan et al.'s pairwise formula."""
    cdef int64_t* n
    cdef double* k
    cdef double* mean      # of x - k
    cdef double* m2
    cdef bint sample, root

    def __dealloc__(self):
        PyMem_Free(self.n)
        PyMem_Free(self.k)
        PyMem_Free(self.mean)
        PyMem_Free(self.m2)

    cdef int _grow(self, Py_ssize_t cap) except -1:
        self.n = <int64_t*>_grow_buf(self.n, self.cap, cap, sizeof(int64_t))
        self.k = <double*>_grow_buf(self.k, self.cap, cap, sizeof(double))
        self.mean = <double*>_grow_buf(self.mean, self.cap, cap, sizeof(double))
        self.m2 = <double*>_grow_buf(self.m2, self.cap, cap, sizeof(double))
        return 0

    cdef inline void _put(self, int64_t gid, double x) noexcept:
        cdef double d
        if self.n[gid] == 0:
            self.k[gid] = x
        x -= self.k[gid]
        self.n[gid] += 1
        d = x - self.mean[gid]
        self.mean[gid] += d / self.n[gid]
        self.m2[gid] += d * (x - self.mean[gid])

    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1:
        cdef Py_ssize_t i
        cdef const double* fv
        cdef const int64_t* iv
        if c.type == T_NULL:
            return 0
        if c.type == T_FLOAT64:
            fv = (<Float64Column>c).values
            for i in range(lo, hi):
                if not _skip(c, i):
                    self._put(g[i], fv[i])
        elif c.type == T_INT64:
            iv = (<Int64Column>c).values
            for i in range(lo, hi):
                if not _skip(c, i):
                    self._put(g[i], <double>iv[i])
        else:
            for i in range(lo, hi):
                if not _skip(c, i):
                    self._put(g[i], _as_double(c, i))
        return 0

    cdef inline double _get(self, int64_t gid) noexcept:
        cdef double v = self.m2[gid] / (self.n[gid] - 1 if self.sample else self.n[gid])
        if v < 0.0:
            v = 0.0
        return sqrt(v) if self.root else v

    cdef object _value(self, int64_t gid):
        if self.n[gid] == 0 or (self.sample and self.n[gid] < 2):
            return None
        return self._get(gid)

    cdef Column _result(self, const int64_t* g, Py_ssize_t n):
        cdef object data = new_double_array(n)
        cdef double* d = <double*>(<array.array>data).data.as_voidptr
        cdef object ok = new_byte_array(n, False)
        cdef uint8_t* okp = <uint8_t*>(<array.array>ok).data.as_voidptr
        cdef Py_ssize_t i
        cdef bint nulls = False
        for i in range(n):
            okp[i] = self.n[g[i]] > (1 if self.sample else 0)
            d[i] = self._get(g[i]) if okp[i] else 0.0
            nulls = nulls or not okp[i]
        return make_float64(data, ok if nulls else None, n)

    cdef int _running_kind(self) noexcept:
        return RUN_DOUBLE

    cdef int _cell_d(self, int64_t gid, double* out) except -1:
        if self.n[gid] == 0 or (self.sample and self.n[gid] < 2):
            return 0
        out[0] = self._get(gid)
        return 1

    cdef int _merge(self, int64_t dst, int64_t src) except -1:
        cdef int64_t na = self.n[dst], nb = self.n[src], nt
        cdef double mb, d
        if nb == 0:
            return 0
        if na == 0:
            self.n[dst], self.k[dst] = nb, self.k[src]
            self.mean[dst], self.m2[dst] = self.mean[src], self.m2[src]
            return 0
        mb = self.mean[src] + (self.k[src] - self.k[dst])   # src's mean in dst's shift
        nt = na + nb
        d = mb - self.mean[dst]
        self.mean[dst] += d * nb / nt
        self.m2[dst] += self.m2[src] + d * d * (<double>na * nb / nt)
        self.n[dst] = nt
        return 0

    cdef int _reset1(self, int64_t gid) except -1:
        self.n[gid] = 0
        self.k[gid] = self.mean[gid] = self.m2[gid] = 0.0
        return 0

    cdef bytes _snap(self, int64_t gid):
        return _QDDD.pack(self.n[gid], self.k[gid], self.mean[gid], self.m2[gid])

    cdef int _load(self, int64_t gid, bytes state) except -1:
        self.n[gid], self.k[gid], self.mean[gid], self.m2[gid] = _QDDD.unpack(state)
        return 0


cdef object _QDDD = _struct.Struct("<qddd")
cdef object _QQ = _struct.Struct("<qq")


# ---- FIRST_VALUE / LAST_VALUE

cdef class _FirstLast(Aggregate):
    """The first / last non-NULL value in arrival order. Each batch finds its row per group in
    C; one Python value per group and batch. ``seq`` (the row's arrival number) lets ``merge``
    keep the earlier / later of two groups whichever way round they are merged."""
    cdef list _v
    cdef int64_t* seq
    cdef int64_t* best
    cdef int64_t rows
    cdef bint last

    def __cinit__(self):
        self._v = []

    def __dealloc__(self):
        PyMem_Free(self.seq)
        PyMem_Free(self.best)

    cdef int _grow(self, Py_ssize_t cap) except -1:
        self.seq = <int64_t*>_grow_buf(self.seq, self.cap, cap, sizeof(int64_t))
        self.best = <int64_t*>_grow_buf(self.best, self.cap, cap, sizeof(int64_t))
        memset(self.best + self.cap, 0xff, (cap - self.cap) * sizeof(int64_t))
        self._v.extend([None] * (cap - self.cap))
        return 0

    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1:
        cdef Py_ssize_t i
        cdef int64_t gid, b
        cdef object touched = _array("q")
        if c.type == T_NULL:
            self.rows += hi - lo
            return 0
        for i in range(lo, hi):
            if _skip(c, i):
                continue
            gid = g[i]
            if self.best[gid] < 0:
                if not self.last and self._v[gid] is not None:
                    continue
                touched.append(gid)
                self.best[gid] = i
            elif self.last:
                self.best[gid] = i
        for gid in touched:
            b = self.best[gid]
            self.best[gid] = -1
            v = c.get(b)
            if v is not None:
                self._v[gid] = v
                self.seq[gid] = self.rows + b - lo
        self.rows += hi - lo
        return 0

    cdef object _value(self, int64_t gid):
        return self._v[gid]

    cdef int _merge(self, int64_t dst, int64_t src) except -1:
        if self._v[src] is None:
            return 0
        if self._v[dst] is None or \
                ((self.seq[src] > self.seq[dst]) if self.last else (self.seq[src] < self.seq[dst])):
            self._v[dst] = self._v[src]
            self.seq[dst] = self.seq[src]
        return 0

    cdef int _reset1(self, int64_t gid) except -1:
        self._v[gid] = None
        self.seq[gid] = 0
        return 0

    cdef bytes _snap(self, int64_t gid):
        if self._v[gid] is None:
            return b""
        return _QQ.pack(self.seq[gid], self.rows) + _enc_value(self._v[gid])

    cdef int _load(self, int64_t gid, bytes state) except -1:
        if state:
            seq, rows = _QQ.unpack_from(state)
            self.seq[gid] = seq
            self.rows = max(self.rows, rows)
            self._v[gid] = _dec_value(state[_QQ.size:])
        return 0


# ---- LISTAGG / STRING_AGG

cdef extern from "Python.h":
    int PyByteArray_Resize(object ba, Py_ssize_t n) except -1
    char* PyByteArray_AS_STRING(object ba)
    Py_ssize_t PyByteArray_GET_SIZE(object ba)


cdef inline void _ba_append(object ba, const char* p, Py_ssize_t n) except *:
    cdef Py_ssize_t at = PyByteArray_GET_SIZE(ba)
    PyByteArray_Resize(ba, at + n)
    memcpy(PyByteArray_AS_STRING(ba) + at, p, n)


cdef class _Listagg(Aggregate):
    """Non-NULL values joined by the separator in arrival order (``merge`` appends src after
    dst). STRING rows are copied byte for byte into one ``bytearray`` per group; other types
    are cast to text (DECIMAL at its scale, TIMESTAMP as ISO-8601 with ``Z``)."""
    cdef list _v
    cdef bytes sep

    def __cinit__(self):
        self._v = []

    cdef int _grow(self, Py_ssize_t cap) except -1:
        self._v.extend([None] * (cap - self.cap))
        return 0

    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1:
        cdef Py_ssize_t i
        cdef StringColumn s = None
        cdef bytes text
        if c.type == T_NULL:
            return 0
        if c.type == T_STRING:
            s = <StringColumn>c
        for i in range(lo, hi):
            if _skip(c, i):
                continue
            ba = self._v[g[i]]
            if ba is None:
                ba = self._v[g[i]] = bytearray()
            else:
                _ba_append(ba, PyBytes_AS_STRING(self.sep), PyBytes_GET_SIZE(self.sep))
            if s is not None:
                _ba_append(ba, s.chars + s.offs[i], s.offs[i + 1] - s.offs[i])
            else:
                text = _text(c, i).encode("utf-8")
                _ba_append(ba, PyBytes_AS_STRING(text), PyBytes_GET_SIZE(text))
        return 0

    cdef object _value(self, int64_t gid):
        v = self._v[gid]
        return None if v is None else (<bytearray>v).decode("utf-8")

    cdef Column _result(self, const int64_t* g, Py_ssize_t n):
        cdef Py_ssize_t i
        return _bytes_column([None if self._v[g[i]] is None else bytes(self._v[g[i]])
                              for i in range(n)])

    cdef int _merge(self, int64_t dst, int64_t src) except -1:
        if self._v[src] is None:
            return 0
        if self._v[dst] is None:
            self._v[dst] = bytearray(self._v[src])
        else:
            self._v[dst] += self.sep + self._v[src]
        return 0

    cdef int _reset1(self, int64_t gid) except -1:
        self._v[gid] = None
        return 0

    cdef bytes _snap(self, int64_t gid):
        return b"" if self._v[gid] is None else b"\x01" + bytes(self._v[gid])

    cdef int _load(self, int64_t gid, bytes state) except -1:
        self._v[gid] = bytearray(state[1:]) if state else None
        return 0


cdef str _text(Column c, Py_ssize_t i):
    """Row ``i`` as SQL text (CAST(x AS STRING))."""
    v = c.get(i)
    if c.type == T_TIMESTAMP:
        return v.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if c.type == T_BOOL:
        return "true" if v else "false"
    return str(v)


# ---- MEDIAN (exact)

cdef extern from "stdlib.h":
    void qsort(void* base, size_t n, size_t size,
               int (*cmp)(const void*, const void*) noexcept nogil) nogil


cdef int _cmp_q(const void* a, const void* b) noexcept nogil:
    cdef int64_t x = (<const int64_t*>a)[0], y = (<const int64_t*>b)[0]
    return (x > y) - (x < y)


cdef int _cmp_d(const void* a, const void* b) noexcept nogil:
    cdef double x = (<const double*>a)[0], y = (<const double*>b)[0]
    return 1 if _dgt(x, y) else (-1 if _dgt(y, x) else 0)


cdef class _Median(Aggregate):
    """Every non-NULL value per group in a typed array (BIGINT/TIMESTAMP as int64, DOUBLE as
    double), sorted in C when the result is asked for. The median of an even count is the mean
    of the two middle values (DOUBLE; a TIMESTAMP's is floored to the millisecond)."""
    cdef list _v            # array('q') / array('d') or None per group
    cdef bint floats

    def __cinit__(self):
        self._v = []

    cdef int _grow(self, Py_ssize_t cap) except -1:
        self._v.extend([None] * (cap - self.cap))
        return 0

    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1:
        cdef Py_ssize_t i, at
        cdef array.array a
        cdef const int64_t* iv = NULL
        cdef const double* fv = NULL
        cdef const uint8_t* bv = NULL
        if c.type == T_NULL:
            return 0
        if self.input_type == T_FLOAT64:
            self.floats = True
            if c.type == T_FLOAT64:
                fv = (<Float64Column>c).values
        elif c.type == T_INT64 or c.type == T_TIMESTAMP:
            iv = (<Int64Column>c).values
        elif c.type == T_BOOL:
            bv = (<BoolColumn>c).values
        else:
            raise TypeError(f"MEDIAN of {TYPE_TAGS[self.input_type]} got a "
                            f"{TYPE_TAGS[c.type]} column")
        for i in range(lo, hi):
            if _skip(c, i):
                continue
            a = self._v[g[i]]
            if a is None:
                a = self._v[g[i]] = _array("d" if self.floats else "q")
            at = len(a)
            array.resize_smart(a, at + 1)
            if self.floats:
                a.data.as_doubles[at] = fv[i] if fv != NULL else _as_double(c, i)
            else:
                a.data.as_longlongs[at] = iv[i] if iv != NULL else bv[i]
        return 0

    cdef object _value(self, int64_t gid):
        cdef array.array a = self._v[gid]
        cdef Py_ssize_t n, h
        if a is None or len(a) == 0:
            return None
        n = len(a)
        h = n // 2
        if self.floats:
            qsort(a.data.as_voidptr, n, sizeof(double), _cmp_d)
            x = a.data.as_doubles[h]
            return x if n & 1 else (a.data.as_doubles[h - 1] + x) / 2.0
        qsort(a.data.as_voidptr, n, sizeof(int64_t), _cmp_q)
        lo_v, hi_v = a.data.as_longlongs[h - 1 if n % 2 == 0 else h], a.data.as_longlongs[h]
        if self.input_type == T_TIMESTAMP:
            return _int64_column([(lo_v + hi_v) // 2], timestamp=True).get(0)
        return (lo_v + hi_v) / 2      # Python ints: exact sum, correctly rounded

    cdef int _merge(self, int64_t dst, int64_t src) except -1:
        if self._v[src] is not None:
            if self._v[dst] is None:
                self._v[dst] = _array("d" if self.floats else "q")
            self._v[dst].extend(self._v[src])
        return 0

    cdef int _reset1(self, int64_t gid) except -1:
        self._v[gid] = None
        return 0

    cdef bytes _snap(self, int64_t gid):
        return b"" if self._v[gid] is None else self._v[gid].tobytes()

    cdef int _load(self, int64_t gid, bytes state) except -1:
        self.floats = self.input_type == T_FLOAT64
        if state:
            a = _array("d" if self.floats else "q")
            a.frombytes(state)
            self._v[gid] = a
        return 0


cdef class _MedianDec(Aggregate):
    """DECIMAL median, exact: the middle value, or the exact mean of the two middle values (at
    one more decimal when the sum is odd)."""
    cdef list _v            # list of ScaledInteger per group

    def __cinit__(self):
        self._v = []

    cdef int _grow(self, Py_ssize_t cap) except -1:
        self._v.extend([None] * (cap - self.cap))
        return 0

    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1:
        cdef Py_ssize_t i
        if c.type == T_NULL:
            return 0
        if c.type != T_DECIMAL and c.type != T_INT64:
            raise TypeError(f"MEDIAN of DECIMAL got a {TYPE_TAGS[c.type]} column")
        for i in range(lo, hi):
            if _skip(c, i):
                continue
            if self._v[g[i]] is None:
                self._v[g[i]] = []
            v = c.get(i)
            (<list>self._v[g[i]]).append(v if c.type == T_DECIMAL else _ScaledInteger(v))
        return 0

    cdef object _value(self, int64_t gid):
        cdef list v = self._v[gid]
        if not v:
            return None
        v.sort()
        h = len(v) // 2
        if len(v) & 1:
            return v[h]
        a, b = v[h - 1], v[h]
        s = max(a.scale, b.scale)
        m = a.mantissa * _p10(s - a.scale) + b.mantissa * _p10(s - b.scale)
        if m % 2 == 0:
            return _ScaledInteger.from_parts(m // 2, s)
        if s < 38:
            return _ScaledInteger.from_parts(m * 5, s + 1)
        return _ScaledInteger.from_parts(_half_even_div(m, 2), s)

    cdef int _merge(self, int64_t dst, int64_t src) except -1:
        if self._v[src]:
            if self._v[dst] is None:
                self._v[dst] = []
            self._v[dst].extend(self._v[src])
        return 0

    cdef int _reset1(self, int64_t gid) except -1:
        self._v[gid] = None
        return 0

    cdef bytes _snap(self, int64_t gid):
        return _pack_values(self._v[gid] or [])

    cdef int _load(self, int64_t gid, bytes state) except -1:
        self._v[gid] = _unpack_values(state) or None
        return 0


cdef bytes _pack_values(list values):
    """Length-prefixed ``_enc_value`` fields (None values are not stored)."""
    cdef list parts = []
    for v in values:
        b = _enc_value(v)
        parts.append(_varint(len(b)))
        parts.append(b)
    return b"".join(parts)


cdef bytes _varint(Py_ssize_t n):
    cdef char buf[10]
    cdef char* end = ag_put_varint(buf, n)
    return PyBytes_FromStringAndSize(buf, end - buf)


cdef list _unpack_fields(bytes state):
    cdef list out = []
    cdef Py_ssize_t at = 0, n = len(state), size, shift
    while at < n:
        size = 0
        shift = 0
        while True:
            byte = state[at]
            at += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        out.append(state[at:at + size])
        at += size
    return out


cdef list _unpack_values(bytes state):
    return [_dec_value(b) for b in _unpack_fields(state)]


# ---- COUNT(DISTINCT x), APPROX_COUNT_DISTINCT (exact), and f(DISTINCT x)

cdef class _CountDistinct(Aggregate):
    """Distinct (group, value) pairs in a ``GroupTable`` of two key columns (the group id and
    the value: DISTINCT's equality, ``1 = 1.0``), so a row costs a typed hash probe and only a
    new pair allocates. APPROX_COUNT_DISTINCT is this exact count too (error 0)."""
    cdef GroupTable pairs
    cdef int64_t* cnt
    cdef list _members      # array('q') of pair ids or None, per group

    def __cinit__(self):
        self.pairs = GroupTable(2)
        self._members = []

    def __dealloc__(self):
        PyMem_Free(self.cnt)

    cdef int _grow(self, Py_ssize_t cap) except -1:
        self.cnt = <int64_t*>_grow_buf(self.cnt, self.cap, cap, sizeof(int64_t))
        self._members.extend([None] * (cap - self.cap))
        return 0

    cdef int _add_pair(self, int64_t gid, int64_t pid) except -1:
        if self._members[gid] is None:
            self._members[gid] = _array("q")
        self._members[gid].append(pid)
        self.cnt[gid] += 1
        return 0

    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1:
        cdef Py_ssize_t i, m = 0
        cdef object rows = new_int64_array(hi - lo)
        cdef int64_t* r = <int64_t*>(<array.array>rows).data.as_voidptr
        cdef object gids = new_int64_array(hi - lo)
        cdef int64_t* gp = <int64_t*>(<array.array>gids).data.as_voidptr
        if c.type == T_NULL:
            return 0
        for i in range(lo, hi):
            if not _skip(c, i):
                r[m] = i
                gp[m] = g[i]
                m += 1
        if m == 0:
            return 0
        col = c if m == c.length else c.take(rows[:m])
        self.pairs.assign([make_int64(gids, None, m, T_INT64), col], m)
        for pid in self.pairs.new_ids:
            self._add_pair((<tuple>self.pairs._kv[pid])[0], pid)
        return 0

    cdef object _value(self, int64_t gid):
        return self.cnt[gid]

    cdef int _running_kind(self) noexcept:
        return RUN_INT64

    cdef int _cell_i(self, int64_t gid, int64_t* out) except -1:
        out[0] = self.cnt[gid]
        return 1

    cdef Column _result(self, const int64_t* g, Py_ssize_t n):
        cdef object data = new_int64_array(n)
        cdef int64_t* d = <int64_t*>(<array.array>data).data.as_voidptr
        cdef Py_ssize_t i
        for i in range(n):
            d[i] = self.cnt[g[i]]
        return make_int64(data, None, n, T_INT64)

    cdef bytes _pair_key(self, int64_t gid, bytes value_field):
        return bytes([AG_INT]) + _Q8.pack(gid) + value_field

    cdef int _intern(self, int64_t gid, bytes value_field) except -1:
        cdef bytes key = self._pair_key(gid, value_field)
        cdef uint64_t h = ag_hash(PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key))
        if self.pairs._find(h, PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key)) < 0:
            self._add_pair(gid, self.pairs._insert(h, PyBytes_AS_STRING(key),
                                                   PyBytes_GET_SIZE(key), (gid, None)))
        return 0

    cdef list _fields(self, int64_t gid):
        """The value fields (``row_keys`` bytes) of a group's distinct values."""
        if self._members[gid] is None:
            return []
        return [self.pairs.key_bytes(pid)[9:] for pid in self._members[gid]]

    cdef int _merge(self, int64_t dst, int64_t src) except -1:
        for f in self._fields(src):
            self._intern(dst, f)
        return 0

    cdef int _reset1(self, int64_t gid) except -1:
        if self._members[gid] is not None:
            self.pairs.release(self._members[gid])
            self._members[gid] = None
        self.cnt[gid] = 0
        return 0

    cdef bytes _snap(self, int64_t gid):
        cdef list parts = []
        for k in sorted(self._fields(gid)):     # sorted: the same bytes on every run
            parts.append(_varint(len(k)))
            parts.append(k)
        return b"".join(parts)

    cdef int _load(self, int64_t gid, bytes state) except -1:
        for f in _unpack_fields(state):
            self._intern(gid, f)
        return 0


cdef class _Distinct(Aggregate):
    """f(DISTINCT x): folds a row into ``inner`` only when its value is new for its group.
    Keeps each group's distinct values (key -> value) so merge and restore can refold them."""
    cdef Aggregate inner
    cdef list _v            # dict key bytes -> value, or None, per group

    def __cinit__(self):
        self._v = []

    cdef int _grow(self, Py_ssize_t cap) except -1:
        self._v.extend([None] * (cap - self.cap))
        self.inner._grow(cap)
        self.inner.cap = cap
        return 0

    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1:
        cdef Py_ssize_t i
        cdef list keys
        cdef object rows = _array("q")
        cdef object gids = _array("q")
        cdef const int64_t[::1] view
        if c.type == T_NULL:
            return 0
        keys = _row_keys([c.take(_array("q", range(lo, hi)))]) if (lo, hi) != (0, c.length) \
            else _row_keys([c])
        for i in range(lo, hi):
            if _skip(c, i):
                continue
            seen = self._v[g[i]]
            if seen is None:
                seen = self._v[g[i]] = {}
            k = keys[i - lo]
            if k not in <dict>seen:
                (<dict>seen)[k] = c.get(i)
                rows.append(i)
                gids.append(g[i])
        if len(rows):
            view = gids
            self.inner._fold(&view[0], c.take(rows), 0, len(rows))
        return 0

    cdef object _value(self, int64_t gid):
        return self.inner._value(gid)

    cdef Column _result(self, const int64_t* g, Py_ssize_t n):
        return self.inner._result(g, n)

    cdef int _refold(self, int64_t gid, list values) except -1:
        cdef object gids = _array("q", [gid] * len(values))
        cdef const int64_t[::1] view = gids
        if values:
            self.inner._fold(&view[0], _typed_column(values, self.input_type), 0, len(values))
        return 0

    cdef int _merge(self, int64_t dst, int64_t src) except -1:
        cdef dict a, b = self._v[src]
        cdef list fresh = []
        if not b:
            return 0
        if self._v[dst] is None:
            self._v[dst] = {}
        a = self._v[dst]
        for k, v in b.items():
            if k not in a:
                a[k] = v
                fresh.append(v)
        return self._refold(dst, fresh)

    cdef int _reset1(self, int64_t gid) except -1:
        self._v[gid] = None
        self.inner._reset1(gid)
        return 0

    cdef bytes _snap(self, int64_t gid):
        cdef dict seen = self._v[gid]
        if not seen:
            return b""
        return _pack_values(list(seen.values()))     # arrival order (LISTAGG)

    cdef int _load(self, int64_t gid, bytes state) except -1:
        cdef list values = _unpack_values(state)
        cdef dict seen
        if not values:
            return 0
        col = _typed_column(values, self.input_type)
        seen = self._v[gid] = {}
        for k, v in zip(_row_keys([col]), values):
            seen[k] = v
        return self._refold(gid, values)
