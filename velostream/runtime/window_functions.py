"""The window-function operator: ``f(…) OVER (PARTITION BY … ORDER BY … [frame])`` on a stream.

Owns the streaming semantics of window functions (DIALECT.md §5, last bullet); the per-row work
is in ``_core.winfunc`` (per-partition rings, counters and sliding accumulators in C). One
operator runs the calls that share one PARTITION BY / ORDER BY; it appends one column per call
(``__wf_<i>``, which the projection reads and ``*`` does not show).

Semantics (where DIALECT.md is silent; what a Flink SQL user would expect of an OVER window):
- Rows are processed in **arrival order** within each partition. ORDER BY inside OVER is expected
  to follow arrival (normally the event-time column). It is not re-sorted: a row whose ORDER BY
  value is smaller than an earlier row's of its partition is processed where it arrived
  (``out_of_order`` counts such rows) — it is its partition's next ROW_NUMBER, LAG sees the row
  before it in arrival, and frame bounds never move backwards for it.
- Output: a row is emitted as soon as its values are final — at once for LAG, ROW_NUMBER, RANK,
  DENSE_RANK and frames ending at ``n PRECEDING`` / ``CURRENT ROW`` (ROWS); LEAD(x, n) and
  ``n FOLLOWING`` wait for n more rows of the partition; RANGE frames ending at CURRENT ROW (the
  default frame with ORDER BY) include the current row's peers, so a row waits for the first row
  of its partition with another ORDER BY value. At the end of a bounded input every held row is
  emitted (LEAD gives its default / NULL), in arrival order. Output order is the order rows
  become final; without waiting functions that is the input order.
- Frames: ``ROWS BETWEEN a PRECEDING|CURRENT ROW|b FOLLOWING AND …``; ``RANGE`` with
  UNBOUNDED PRECEDING / ``INTERVAL … PRECEDING`` / ``n PRECEDING`` / CURRENT ROW / ``… FOLLOWING``
  over one BIGINT or TIMESTAMP ORDER BY column (offsets in its units: epoch ms for intervals);
  UNBOUNDED FOLLOWING is refused (a stream has no last row). ``OVER (ROWS WINDOW BUFFER n ROWS)``
  is ``ROWS BETWEEN n-1 PRECEDING AND CURRENT ROW``. Without a frame: with ORDER BY the SQL
  default ``RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW``; without ORDER BY a running frame
  ``ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`` (SQL's whole partition needs the end).
- Aggregates over frames: COUNT(*), COUNT(x), SUM, AVG, MIN, MAX. SUM(BIGINT) is BIGINT (overflow
  is an error of the row), SUM(DECIMAL) exact DECIMAL at the input scale, AVG(DECIMAL) exact at
  scale + 4 (as ``/``), AVG of BIGINT/DOUBLE is DOUBLE; NULLs are skipped, an empty or all-NULL
  frame gives NULL (COUNT 0). MIN/MAX take any numeric or TIMESTAMP argument.
- State per partition is bounded by the frame: the retained rows are the frame's preceding rows
  (for RANGE: those within the offset of the newest row) plus the rows waiting for following rows;
  ROW_NUMBER / RANK / DENSE_RANK keep counters; UNBOUNDED PRECEDING keeps running sums (and the
  first n rows for FIRST_VALUE / NTH_VALUE).
- Retained rows live in segments; a batch copies only the retained rows of the partitions it
  touches (so a batch costs its rows plus those partitions' frames, not all partitions' state),
  and the segments are compacted when the rows no partition needs outnumber the live ones.
- Rows whose partition, order or argument expressions fail are RowFailures (left out); a value a
  function cannot compute (SUM overflow) fails its row when it is emitted.
"""

from __future__ import annotations

import hashlib
from array import array

from velostream.errors import SqlValidationError
from velostream.runtime.operators import Operator, Output, row_failures

STATE_TABLE = "window_functions"


def _codes():
    from velostream._core import winfunc as W

    return {"ROW_NUMBER": W.F_ROW_NUMBER, "RANK": W.F_RANK, "DENSE_RANK": W.F_DENSE_RANK,
            "LAG": W.F_LAG, "LEAD": W.F_LEAD, "FIRST_VALUE": W.F_FIRST,
            "LAST_VALUE": W.F_LAST, "NTH_VALUE": W.F_NTH, "COUNT*": W.F_COUNT_STAR,
            "COUNT": W.F_COUNT, "SUM": W.F_SUM, "AVG": W.F_AVG, "MIN": W.F_MIN, "MAX": W.F_MAX}


class WindowFunctionOperator(Operator):
    """Runs the window-function calls of one ``WindowFunctionNode``."""

    name = "WindowFunction"

    def __init__(self, node):
        from velostream._core.winfunc import WindowKernel

        self.node = node
        codes = _codes()
        self.specs = [(codes[c.function], c.offset, c.rows, c.start_unbounded, c.start, c.end)
                      for c in node.calls]
        self.kernel = WindowKernel(self.specs)
        self._segments: list = []       # retained rows, by global position
        self._starts: list = []
        self._size = 0
        self._keys: dict = {}           # canonical partition key -> partition id
        self.failures_seen = 0

    @property
    def out_of_order(self) -> int:
        return self.kernel.out_of_order

    # ------------------------------------------------------------------ per batch
    def process(self, batch) -> Output:
        from velostream._core.rowkeys import concat_batches

        out = Output()
        if not batch.length:
            return out
        work, pids, failures = self._prepare(batch)
        out.failures.extend(failures)
        if work is None:
            return out
        kernel = self.kernel
        needed = kernel.gather(pids)
        old = self._store_take(needed)
        kernel.localize(needed)
        combined = work if old is None else concat_batches([old, work])
        first = combined.length - work.length
        self._run(out, combined, lambda cols, okeys: kernel.push(pids, first, cols, okeys), pids)
        return out

    def finish(self) -> Output:
        out = Output()
        if not self.kernel.held:
            return out
        needed = self.kernel.gather(None)
        old = self._store_take(needed)
        self.kernel.localize(needed)
        self._run(out, old, lambda cols, okeys: self.kernel.flush(cols, okeys), None)
        return out

    # The retained rows: segments (batches) addressed by global positions, compacted when the
    # rows no partition needs any more outnumber the live ones.
    def _store_take(self, positions):
        from velostream._core.rowkeys import concat_batches
        from velostream._core.winfunc import split_positions

        if not len(positions):
            return None
        parts = [self._segments[seg].take(local)
                 for seg, local in split_positions(positions, array("q", self._starts))]
        return parts[0] if len(parts) == 1 else concat_batches(parts)

    def _append_segment(self, segment):
        if segment.length:
            self._segments.append(segment)
            self._starts.append(self._size)
            self._size += segment.length
        live = self.kernel.retained
        if self._size > 2 * live + 4096 or len(self._segments) > 16:
            keep = self.kernel.keep()
            whole = self._store_take(keep)
            self._segments, self._starts, self._size = [], [], 0
            if whole is not None:
                self._append_segment_raw(whole)

    def _append_segment_raw(self, segment):
        self._segments.append(segment)
        self._starts.append(self._size)
        self._size += segment.length

    def _run(self, out, combined, step, pids):
        from velostream._core.winfunc import take_or_null

        names = list(combined.names)
        index = {n: i for i, n in enumerate(names)}
        args = [combined.columns[index[f"__wk_a{i}"]] if f"__wk_a{i}" in index else None
                for i in range(len(self.specs))]
        okeys = combined.columns[index["__wk_okey"]].data if "__wk_okey" in index else None
        try:
            emit, results = step(args, okeys)
        except (TypeError, OverflowError) as e:
            call = self.node.calls[0]
            raise SqlValidationError(f"window function: {e}", *call.position) from None
        errors = self.kernel.errors
        keep = self.kernel.settle(pids, self._size)
        if len(emit):
            rows = combined.take(emit)
            visible = [i for i, n in enumerate(names) if not n.startswith("__wk_")]
            columns = [rows.columns[i] for i in visible]
            out_names = [names[i] for i in visible]
            for f, (kind, values, valid, _scales) in enumerate(results):
                out_names.append(self.node.calls[f].column)
                columns.append(self._column(f, kind, values, valid, _scales, combined, args,
                                            emit, index, take_or_null))
            result = rows.with_columns(out_names, columns)
            if errors:
                bad = {p for p, _ in errors}
                where = {p: i for i, p in enumerate(emit)}
                first: dict = {}
                for p, message in errors:
                    first.setdefault(where[p], message)
                out.failures.extend(row_failures(result, sorted(first.items())))
                result = result.take(array("q", [i for i, p in enumerate(emit) if p not in bad]))
            out.add(result)
        self._append_segment(combined.take(keep))

    def _column(self, f, kind, values, valid, scales, combined, args, emit, index, take_or_null):
        from velostream._core import winfunc as W
        from velostream._core.batch import column_from_buffers

        n = len(emit)
        validity = None if valid.count(0) == 0 else valid
        if kind == W.OUT_POS:
            source = args[f] if args[f] is not None else combined.columns[index[f"__wk_a{f}"]]
            default = index.get(f"__wk_d{f}")
            if default is None:
                return take_or_null(source, values)
            from velostream._core.rowkeys import concat_columns

            both = concat_columns([source, combined.columns[default]])
            at = array("q", (v if v >= 0 else combined.length + e for v, e in zip(values, emit)))
            return both.take(at)
        if kind == W.OUT_INT:
            return column_from_buffers(2, n, values, validity)
        if kind == W.OUT_DOUBLE:
            return column_from_buffers(3, n, values, validity)
        return column_from_buffers(4, n, values, validity, scales[0] if n else 0, wide=True)

    def _prepare(self, batch):
        """The batch with the evaluated arguments and order key appended (``__wk_*``), the
        partition id of each row, and the failures of rows that could not be evaluated."""
        node = self.node
        errors: list = []
        names, columns = list(batch.names), list(batch.columns)
        for i, call in enumerate(node.calls):
            if call.argument is not None:
                names.append(f"__wk_a{i}")
                columns.append(call.argument.evaluate(batch, errors))
            if call.default is not None:
                names.append(f"__wk_d{i}")
                columns.append(call.default.evaluate(batch, errors))
        parts = [p.evaluate(batch, errors) for p in node.partition_by]
        okey = self._order_key(batch, errors) if node.needs_order_key else None
        if okey is not None:
            names.append("__wk_okey")
            columns.append(okey)
        work = batch.with_columns(names, columns)
        failures = []
        if errors:
            bad = sorted({r for r, _ in errors})
            first: dict = {}
            for r, message in errors:
                first.setdefault(r, message)
            failures = row_failures(batch, sorted(first.items()))
            keep = array("q", [r for r in range(batch.length) if r not in first])
            if not keep:
                return None, None, failures
            work = work.take(keep)
            parts = [c.take(keep) for c in parts]
            del bad
        return work, self._partition_ids(parts, work.length), failures

    def _partition_ids(self, parts, n):
        if not parts:
            return array("q", bytes(8 * n))
        from velostream._core.rowkeys import row_keys
        from velostream._core.winfunc import partition_ids

        return partition_ids(row_keys(parts), self._keys)

    def _order_key(self, batch, errors):
        """An int64 per row that orders (for one BIGINT / TIMESTAMP key) or at least identifies
        (peers: equal keys) the row's ORDER BY values."""
        from velostream._core.batch import column_from_buffers, int64_column
        from velostream._core.rowkeys import row_keys

        node = self.node
        if not node.order_by:
            return column_from_buffers(2, batch.length, bytes(8 * batch.length))
        cols = [o.evaluate(batch, errors) for o, _ in node.order_by]
        if len(cols) == 1 and cols[0].type_name in ("BIGINT", "TIMESTAMP") and \
                not cols[0].null_count():
            if node.order_by[0][1]:             # DESC: larger values come first
                return int64_column([-v for v in cols[0].to_pylist()])
            return cols[0]
        if node.needs_numeric_order:
            o = node.order_by[0][0]
            pos = o.node.pos
            raise SqlValidationError(
                f"a RANGE frame with an offset needs one non-NULL BIGINT or TIMESTAMP ORDER BY "
                f"value; {o} is {cols[0].type_name}", pos.line if pos else 0,
                pos.column if pos else 0)
        # Any other key: a stable 64-bit digest of the canonical key (peers compare equal).
        return int64_column([int.from_bytes(hashlib.blake2b(k, digest_size=8).digest(),
                                            "little", signed=True) for k in row_keys(cols)])

    # ------------------------------------------------------------------ state
    def _compact(self):
        keep = self.kernel.keep()
        whole = self._store_take(keep)
        self._segments, self._starts, self._size = [], [], 0
        if whole is not None:
            self._append_segment_raw(whole)
        return whole

    def snapshot(self, store) -> None:
        """Under the ``window_functions`` table, keys prefixed per operator: the kernel state
        (``kernel``: int64s, ``sums``: doubles), the partition keys in id order (``keys``:
        length-prefixed canonical row keys) and the retained rows (``rows``: the value codec's
        encoding of the column names, and each column's type and values — exact; small:
        bounded by the frames)."""
        from velostream._core.valuecodec import encode_values
        from velostream.state.store import WriteBatch

        prefix = self.node.state_prefix
        rows = self._compact()
        ints, dbl = self.kernel.dump()
        keys = sorted(self._keys.items(), key=lambda kv: kv[1])
        packed = b"".join(len(k).to_bytes(4, "little") + k for k, _ in keys)
        saved = ([], [], {})
        if rows is not None:
            saved = (list(rows.names), [(c.type, c.to_pylist()) for c in rows.columns],
                     {k: (c.type, c.to_pylist()) for k, c in rows.meta.items()})
        batch = WriteBatch()
        batch.put(STATE_TABLE, prefix + b"kernel", ints)
        batch.put(STATE_TABLE, prefix + b"sums", dbl)
        batch.put(STATE_TABLE, prefix + b"keys", packed)
        batch.put(STATE_TABLE, prefix + b"rows", encode_values(saved))
        store.write(batch)

    def restore(self, store) -> None:
        from velostream._core.batch import RecordBatch
        from velostream._core.valuecodec import decode_values
        from velostream._core.winfunc import WindowKernel
        from velostream.runtime.aggregate import column_of

        table = store.table(STATE_TABLE)
        prefix = self.node.state_prefix
        ints = table.get(prefix + b"kernel")
        if ints is None:
            return
        self.kernel = WindowKernel(self.specs)
        self.kernel.load(ints, table.get(prefix + b"sums"))
        packed, keys, at = table.get(prefix + b"keys"), {}, 0
        while at < len(packed):
            size = int.from_bytes(packed[at:at + 4], "little")
            keys[packed[at + 4:at + 4 + size]] = len(keys)
            at += 4 + size
        self._keys = keys
        names, columns, meta = decode_values(table.get(prefix + b"rows"))
        self._segments, self._starts, self._size = [], [], 0
        if names:
            self._append_segment_raw(RecordBatch(
                list(names), [column_of(values, t) for t, values in columns],
                {k: column_of(values, t) for k, (t, values) in meta.items()}))
