# cython: language_level=3
"""Row keys, sort indices, bounded DISTINCT and typed concatenation (see rowkeys.pyx).

Declared here so Cython operators (GROUP BY, joins) can ``cimport`` them and call them without
the Python call overhead.
"""

from libc.stdint cimport int64_t

from velostream._core.batch cimport Column, RecordBatch


cdef class DistinctFilter:
    cdef object _seen                   # OrderedDict: key -> its state, oldest first
    cdef list _gone                     # reported keys forgotten since the last changes()
    cdef Py_ssize_t _dirty              # keys touched since: the newest ones of _seen
    cdef object _move
    cdef object _pop
    cdef readonly Py_ssize_t max_keys   # 0 = unbounded
    cdef readonly int64_t evictions

    cpdef object keep(self, list keys)


cpdef bytes value_key(object value)
cpdef list row_keys(object columns, bint nulls_equal=*)
cpdef object sort_indices(object columns, object descending=*, object nulls_first=*)
cpdef Column concat_columns(object columns)
cpdef RecordBatch concat_batches(object batches)
