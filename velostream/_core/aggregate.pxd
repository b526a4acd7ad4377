# cython: language_level=3
"""Group ids and aggregate accumulators (see aggregate.pyx), declared for Cython operators."""

from libc.stdint cimport int64_t, uint64_t

from libc.stdint cimport uint8_t

from velostream._core.batch cimport Column, vs_i128


ctypedef struct gt_slot:
    uint64_t h
    int64_t gid                         # -1 empty, -2 deleted


cdef class GroupTable:
    cdef readonly int key_count
    cdef readonly Py_ssize_t live       # groups currently held
    cdef readonly Py_ssize_t id_bound   # every id ever handed out is < id_bound
    cdef gt_slot* slots                 # open addressing, linear probing
    cdef Py_ssize_t nslots, used        # used = live + deleted slots
    cdef char* kdata                    # the keys of all groups back to back
    cdef Py_ssize_t kused, kcap, kdead  # kdead: bytes of released keys (compacted away)
    cdef int64_t* koff                  # per group id: its key in kdata
    cdef Py_ssize_t* klen               # -1 once released
    cdef Py_ssize_t idcap
    cdef int64_t* freeids
    cdef Py_ssize_t nfree
    cdef list _kv                       # key values (tuple) per group id, None once released
    cdef list _kinds                    # column type per key column (last non-NULL seen)
    cdef char* buf                      # one batch's keys
    cdef Py_ssize_t bufcap
    cdef int64_t* rofs                  # one batch's key offsets into buf, and hashes
    cdef uint64_t* rh
    cdef Py_ssize_t rcap
    cdef readonly object new_ids        # array('q'): ids created by the last assign

    cdef int64_t _find(self, uint64_t h, const char* key, Py_ssize_t n) noexcept
    cdef int64_t _insert(self, uint64_t h, const char* key, Py_ssize_t n,
                         tuple values) except -1
    cdef int _rehash(self, Py_ssize_t nslots) except -1
    cdef int _compact(self) except -1
    cdef object _probe(self, key_columns, Py_ssize_t n, bint insert)


cdef class Aggregate:
    cdef readonly str function
    cdef readonly object input_type
    cdef readonly int result_type
    cdef readonly bint distinct
    cdef readonly dict options
    cdef Py_ssize_t cap

    cdef int _grow(self, Py_ssize_t cap) except -1
    cdef int _ensure(self, const int64_t* g, Py_ssize_t n) except -1
    cdef int _fold(self, const int64_t* g, Column c, Py_ssize_t lo, Py_ssize_t hi) except -1
    cdef object _value(self, int64_t gid)
    cdef Column _result(self, const int64_t* g, Py_ssize_t n)
    cdef int _merge(self, int64_t dst, int64_t src) except -1
    cdef int _reset1(self, int64_t gid) except -1
    cdef bytes _snap(self, int64_t gid)
    cdef int _load(self, int64_t gid, bytes state) except -1
    cdef Column _input(self, object column, Py_ssize_t n)
    cdef int _running_kind(self) noexcept
    cdef int _cell_i(self, int64_t gid, int64_t* out) except -1
    cdef int _cell_d(self, int64_t gid, double* out) except -1
    cdef int _cell_m(self, int64_t gid, vs_i128* m, uint8_t* sc) except -1
