# cython: language_level=3
"""Expression kernels: a tree of typed operators, each evaluating a whole batch at a time.

``plan.compile`` builds the tree once per (expression, input schema); the runtime calls
``eval`` once per batch and gets one typed column. Other ``_core`` modules ``cimport`` this file
to add kernels of their own (``kernels_*.pyx``).

Contract of ``Kernel.eval(b, errors)``:
- returns a column of ``b.length`` rows whose ``type`` is ``self.type`` (and, for DECIMAL,
  whose ``scale`` is ``self.scale``); an all-NULL result is still a column of that type;
- a row whose value cannot be computed (division by zero, overflow, bad cast …) is NULL in the
  result and ``(row, message)`` is appended to ``errors``;
- ``eval_any`` may instead return a single-row column standing for every row (constants):
  callers that loop with a stride use it to compare a column with a C scalar, others call
  ``eval`` which broadcasts.
"""

from velostream._core.batch cimport Column, RecordBatch


cdef class Kernel:
    cdef readonly int type          # ColumnType (batch.pxd) of the result
    cdef readonly int scale         # DECIMAL result scale
    cdef Column eval(self, RecordBatch b, list errors)
    cdef Column eval_any(self, RecordBatch b, list errors)


cdef class Const(Kernel):
    cdef readonly Column value      # one row
    cdef Column _cached             # the last broadcast, reused while the batch size repeats


cdef class Slot(Kernel):
    cdef Column value


# Helpers for kernels in other modules.
cdef Column typed_nulls(int type, int scale, Py_ssize_t n)
cdef Column broadcast(Column c, Py_ssize_t n)
cdef list column_pyvalues(Column c, Py_ssize_t n, bint ts_as_ms)
cdef Column column_from_pyvalues(list values, int type, int scale)
