"""The aggregate operators: GROUP BY, global aggregates and windows on event time.

Owns the semantics of DIALECT §5 over the aggregate kernel (``velostream._core.aggregate``:
``GroupTable`` gives dense group ids to key tuples, an ``Accumulator`` per aggregate folds a
batch per group id) and the window kernels (``velostream._core.windows``): which group a row
updates, when a group is emitted, and what a late record is.

Output columns: the GROUP BY keys and the aggregates, named by their SQL text (``symbol``,
``SUM(quantity)``), plus the ``_window_start`` / ``_window_end`` pseudo-columns in windowed
queries; the plan's Filter (HAVING) and Project (the SELECT list) above read them.

- Non-windowed: EMIT CHANGES (default) emits, per input row, its group's row after that row;
  EMIT FINAL emits every group once at the end of the bounded input (``finish``).
- TUMBLING / HOPPING: the window start is the last key column, so a group is (keys, window).
  EMIT FINAL (default) emits each group once, when the watermark passes its window's end plus
  ``allowed.lateness`` (``on_watermark``) or at the end of the input; EMIT CHANGES emits the
  updated row per input row and forgets the window when it closes.
- SESSION: per key the open sessions (``SessionAssigner``); a record bridging two sessions merges
  them (``Accumulator.merge``); a session closes when the watermark passes its last record +
  gap + lateness.
- A record whose windows are all closed is a RowFailure of kind ``late``; a record whose keys or
  arguments cannot be computed fails with its reason; neither updates any group.

Choices where DIALECT.md is silent (what a ksqlDB / Flink SQL user would expect):
- a global aggregate (no GROUP BY, no WINDOW) follows the non-windowed rule: EMIT CHANGES (a
  running row per record) by default; EMIT FINAL gives one row, also over no rows (COUNT 0,
  the others NULL), as SQL does; EMIT FINAL without a WINDOW is refused on a followed input;
- GROUP BY alias / ordinal stands for the select item's expression; HAVING may name aliases;
- lateness is decided per record against the watermark before it (batch sizes never change a
  result); windows close at batch boundaries;
- a hopping record emits (EMIT CHANGES) one row per window it is in; a window's state is dropped
  when it closes, without a further row; windows are epoch-aligned, advance > size is refused;
- sessions: records strictly closer than the gap merge (exactly ``gap`` apart: two sessions);
  a record that joins an open session is never late; one that would open a session that is
  already closed (t + gap + lateness <= watermark) is;
- one-argument SLIDING(size): the window ``[t - size, t]`` (inclusive, as Flink's ``RANGE
  BETWEEN size PRECEDING AND CURRENT ROW``) over the key's records that arrived before the
  record or with it, emitted with each record whatever EMIT says; ``_window_start`` = t − size,
  ``_window_end`` = t; a record is late when t + lateness < watermark;
- a NULL window time is an event-time error of that record;
- groups are emitted in window order (by end), then in the order their keys were first seen.
"""

from __future__ import annotations

import datetime
from array import array

from velostream._core import batch as B
from velostream._core import windows as W
from velostream.runtime.failures import EVENT_TIME_ERROR, RowFailure
from velostream.runtime.operators import Operator, Output, row_failures

LATE = "late"
T_NULL, T_INT64, T_FLOAT64, T_DECIMAL, T_TIMESTAMP = 0, 2, 3, 4, 6   # batch.pxd tags
# Functions whose value summarises their input exactly: folding a group's value again gives it.
_REFOLDABLE = frozenset({"sum", "min", "max", "first_value", "last_value"})
_TYPE_NAMES = {1: "BOOLEAN", 2: "BIGINT", 3: "DOUBLE", 4: "DECIMAL", 5: "STRING",
               6: "TIMESTAMP", 7: "OBJECT"}
_END = 2 ** 63 - 1
_NOT_MADE = -1          # an accumulator not made yet (its input had no type so far)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _kernel():
    from velostream._core import aggregate

    return aggregate


def _ids(n: int, value: int = 0):
    return array("q", [value]) * n


class AggregateOperator(Operator):
    name = "Aggregate"

    def __init__(self, node):
        self.node = node
        self.names = node.output_names
        self.keys = node.keys
        self.calls = node.aggregates
        self.window = node.window
        self.emit = node.emit
        self.lateness = node.lateness
        self.watermark = W.NO_WATERMARK
        self._accs: list = [None] * len(self.calls)
        self._input_types: list = [_NOT_MADE] * len(self.calls)
        self._table = None
        self._seen = bytearray()
        self._order: list = []               # non-windowed: ids in first-seen order (arrays)
        self._open: dict = {}                # window start -> [array of group ids]
        self._sessions = None                # SESSION: the open sessions (SessionAssigner)
        self._session_keys = None            # GroupTable of the keys alone (sessions, SLIDING)
        self._buffer = None                  # SLIDING(size): the rows still in some window
        self._held: list = []                # SLIDING(size): their argument columns
        self._cache_bytes = node.cache_bytes
        self.groups = None                   # GROUP BY / TUMBLING / HOPPING: runtime.group_state
        if self.spillable:
            self._spillable_groups()
        self.session_state = None            # SESSION: runtime.session_state
        if self.window is not None and self.window.kind == "SESSION":
            from velostream.runtime.session_state import SessionCheckpoints

            self.session_state = SessionCheckpoints(self)

    @property
    def spillable(self) -> bool:
        """GROUP BY, TUMBLING and HOPPING keep their groups in the state store
        (``runtime.group_state``); SESSION and SLIDING(size) hold theirs in memory."""
        return self.window is None or self.window.kind not in ("SESSION", "SLIDING")

    def _spillable_groups(self):
        if self.groups is None:
            from velostream.runtime.group_state import SpillableGroups

            self.groups = SpillableGroups(self, self._cache_bytes)
        return self.groups

    def snapshot(self, store) -> None:
        """GROUP BY / TUMBLING / HOPPING: the groups changed since the last checkpoint and a
        header (``runtime.group_state``); SESSION: the sessions changed or dropped since
        (``runtime.session_state``); SLIDING: every held row, replacing what ``store`` held
        for this operator; in the checkpoint's write batch."""
        if self.spillable:
            self._spillable_groups().snapshot(store)
        elif self.session_state is not None:
            self.session_state.snapshot(store)
        else:
            _snapshot(self, store)

    def restore(self, store) -> None:
        if self.spillable:
            self._spillable_groups().restore(store)
            self.groups.store = store        # the restored groups are read back from it
        elif self.session_state is not None:
            self.session_state.restore(store)
        else:
            _restore(self, store)

    def attach(self, store) -> None:
        if self.spillable:
            self._spillable_groups().store = store

    # ------------------------------------------------------------------ inputs
    def _inputs(self, batch, out):
        """The key columns, argument columns and (windowed) times of ``batch``; rows that
        cannot be computed become failures and are left out."""
        errors: list = []
        keys = [k.evaluate(batch, errors) for k in self.keys]
        args = [c.argument.evaluate(batch, errors) if c.argument is not None else None
                for c in self.calls]
        times = None
        if self.window is not None:
            if self.window.time_column is not None:
                times = self.window.time_column.evaluate(batch, errors)
                if times.type not in (T_NULL, 2, T_TIMESTAMP):
                    times = _as_times(times, self.window.time_column)
            else:
                times = batch.meta.get("_event_time")
                if times is None:
                    times = B.null_column(batch.length)
        if errors:
            first: dict = {}
            for row, message in errors:
                first.setdefault(row, message)
            out.failures.extend(row_failures(batch, sorted(first.items())))
            keep = array("q", [i for i in range(batch.length) if i not in first])
            keys = [c.take(keep) for c in keys]
            args = [c.take(keep) if c is not None else None for c in args]
            if times is not None:
                times = times.take(keep)
            batch = batch.take(keep)
        if times is not None and times.type == T_NULL:
            times = B.int64_column([None] * batch.length, timestamp=True)
        return batch, keys, args, times

    def _conform(self, batch, args, out):
        """Arguments in the type each accumulator was made for. Sources are schema-on-read, so a
        field can be BIGINT in one batch and DECIMAL or DOUBLE in another: BIGINT widens
        exactly into a DECIMAL or DOUBLE accumulator; anything else fails the batch's rows with
        a message saying how to fix the type (None: no row is left)."""
        conformed = []
        for j, column in enumerate(args):
            want = self._input_types[j]
            function = self.calls[j].function
            if column is None or want in (_NOT_MADE, None) or column.type in (want, T_NULL) or (
                    function in ("count", "count_star")):
                conformed.append(column)
            elif want == T_INT64 and column.type in (T_DECIMAL, T_FLOAT64) and (
                    function in _REFOLDABLE):
                self._widen(j, column.type)
                conformed.append(column)
            elif column.type == T_INT64 and want == T_DECIMAL:
                conformed.append(B.column_from_buffers(T_DECIMAL, column.length, column.data,
                                                       column.validity))
            elif column.type == T_INT64 and want == T_FLOAT64:
                conformed.append(B.float64_column(column.to_pylist()))
            else:
                call = self.calls[j]
                why = (f"{call.text}: its argument is {column.type_name} here but was "
                       f"{_TYPE_NAMES.get(want, want)} in earlier records; declare the field's "
                       "type ('<source>.schema.<field>' = 'DECIMAL(18,4)') or CAST it")
                out.failures.extend(row_failures(batch, [(i, why) for i in range(batch.length)]))
                return None
        return conformed

    def _widen(self, j, type_):
        """Remake accumulator ``j`` for ``type_`` (DECIMAL or DOUBLE) from BIGINT: each live
        group's current value is folded into the new one, which is exact for the functions
        whose value is their own summary (SUM, MIN, MAX, FIRST_VALUE, LAST_VALUE)."""
        old = self._accs[j]
        new = self._new_accumulator(j, type_)
        ids = self._live_ids()
        if len(ids):
            values = old.result(ids)
            widened = (B.column_from_buffers(T_DECIMAL, values.length, values.data,
                                             values.validity) if type_ == T_DECIMAL
                       else B.float64_column(values.to_pylist()))
            new.update(ids, widened, len(ids))
        self._accs[j], self._input_types[j] = new, type_

    def _live_ids(self):
        if self.window is None:
            return _concat(self._order)
        if self.window.kind == "SESSION":
            return array("q", [s[2] for ss in (self._sessions.sessions.values()
                                                if self._sessions else ()) for s in ss])
        return _concat(ids for lists in self._open.values() for ids in lists)

    def _accumulator(self, j, column):
        acc = self._accs[j]
        if acc is None and (column is None or column.type != T_NULL):
            acc = self._make_accumulator(j, None if column is None else column.type)
        return acc

    def _new_accumulator(self, j, input_type):
        call = self.calls[j]
        return _kernel().Accumulator(call.function, input_type, distinct=call.distinct,
                                     options=call.options)

    def _make_accumulator(self, j, input_type):
        """Aggregate ``j``'s accumulator, made for ``input_type`` (its first typed input)."""
        acc = self._accs[j] = self._new_accumulator(j, input_type)
        self._input_types[j] = input_type
        return acc

    def _update(self, ids, args, n, running: bool):
        """Fold the rows into their groups; with ``running`` the value after each row."""
        out = []
        for j, column in enumerate(args):
            acc = self._accumulator(j, column)
            if acc is None:          # no value yet: every row NULL
                out.append(self._empty(j, ids, n) if running else None)
            elif column is not None and column.type == T_NULL:
                # a batch where the argument is NULL in every row changes no group
                out.append(acc.result(ids) if running else None)
            elif running:
                out.append(self._running(j, acc, ids, column, n))
            else:
                acc.update(ids, column, n)
        return out

    def _running(self, j, acc, ids, column, n):
        try:
            return acc.update_running(ids, column, n)
        except Exception as err:
            overflow = getattr(_kernel(), "AggregateOverflow", None)
            if overflow is None or not isinstance(err, overflow):
                raise
            # The group's running value has left its type for good (DIALECT §3: an error,
            # never a wrap): the job stops, saying how to get the exact value.
            from velostream.runtime.failures import JobFailed

            raise JobFailed(f"{self.calls[j].text}: {err}; CAST the argument to DECIMAL for an "
                            "exact sum of any size") from None

    def _results(self, ids):
        return [self._accs[j].result(ids) if self._accs[j] is not None else
                self._empty(j, ids, len(ids)) for j in range(len(self.calls))]

    def _empty(self, j, ids, n):
        acc = self._accs[j]
        if acc is not None:
            return acc.result(ids)
        if self.calls[j].function in ("count", "count_star", "approx_count_distinct"):
            return B.constant_int64_column(0, n)
        return B.null_column(n)

    def _names(self):
        return self.names

    def _table_for(self, key_count):
        if self._table is None:
            self._table = _kernel().GroupTable(key_count)
        return self._table

    # ------------------------------------------------------------------ protocol
    def process(self, batch) -> Output:
        out = Output()
        if not batch.length:
            return out
        batch, keys, args, times = self._inputs(batch, out)
        if not batch.length:
            return out
        args = self._conform(batch, args, out)
        if args is None:
            return out
        if self.groups is not None:
            self.groups.next_batch()
        elif self.session_state is not None:
            self.session_state.next_batch()
        if self.window is None:
            self._process_plain(batch, keys, args, out)
        elif self.window.kind == "SESSION":
            self._process_sessions(batch, keys, args, times, out)
        elif self.window.kind == "SLIDING":
            self._process_sliding(batch, keys, args, times, out)
        else:
            self._process_windows(batch, keys, args, times, out)
        if self.groups is not None:
            self.groups.maybe_spill()
        return out

    def on_watermark(self, ts: int) -> Output:
        out = Output()
        if self.window is None or ts <= self.watermark:
            return out
        self.watermark = ts
        self._close(ts, out)
        return out

    def finish(self) -> Output:
        out = Output()
        if self.window is None:
            if self.emit == "FINAL":
                out.batches = self._stream_closing([None], None, out)
            return out
        self._close(_END, out)
        return out

    # ------------------------------------------------------------------ non-windowed
    def _group_ids(self, keys, n):
        if not keys:
            return _ids(n)          # a global aggregate: one group, id 0
        return self._table_for(len(keys)).assign(keys, n)

    def _process_plain(self, batch, keys, args, out):
        n = batch.length
        ids = self._group_ids(keys, n)
        new, _ = W.mark_new(ids, ids, self._seen)
        if len(new):
            self._order.append(new)
        groups = self.groups
        if groups is not None:
            groups.admit(new, None)
        if self.emit == "FINAL":
            self._update(ids, args, n, running=False)
        else:
            values = self._update(ids, args, n, running=True)
            out.add(B.RecordBatch(self._names(), keys + values))
        if groups is not None:
            groups.touched(ids, n)

    def _emit_groups(self, ids, window_meta, out):
        if not len(ids):
            return
        columns = self._table.keys(ids) if self.keys else []
        meta = None
        if window_meta is not None:
            starts, ends = window_meta
            meta = {"_window_start": starts, "_window_end": ends}
        self._add_rows(list(columns[:len(self.keys)]), ids, meta, out)

    def _add_rows(self, key_columns, ids, meta, out):
        """Emit the groups ``ids`` (their keys and pseudo-columns given, row for row). A group
        whose value cannot be represented (SUM of BIGINT past int64) is a failure naming its
        keys, and the others are emitted."""
        keep = None
        overflow = getattr(_kernel(), "AggregateOverflow", None)
        while True:
            try:
                values = self._results(ids)
                break
            except Exception as err:
                if overflow is None or not isinstance(err, overflow) or not err.group_ids:
                    raise
                bad = set(err.group_ids)
                rows = range(len(ids)) if keep is None else keep
                for i, gid in zip(rows, ids):
                    if gid in bad:
                        record = {n: c.get(i) for n, c in zip(self.names, key_columns)}
                        out.failures.append(RowFailure(
                            f"{err} (group {record})" if record else str(err),
                            record=record, kind="overflow"))
                keep = array("q", [i for i, gid in zip(rows, ids) if gid not in bad])
                ids = array("q", [gid for gid in ids if gid not in bad])
                if not len(ids):
                    return
        if keep is not None:
            key_columns = [c.take(keep) for c in key_columns]
            meta = {k: c.take(keep) for k, c in meta.items()} if meta else meta
        out.add(B.RecordBatch(self.names, key_columns + values, meta))

    # ------------------------------------------------------------------ tumbling / hopping
    def _process_windows(self, batch, keys, args, times, out):
        w = self.window
        advance = w.advance or w.size
        rows, starts, late, missing = W.assign_windows(
            times, w.size, advance, batch.meta.get("_watermark"), self.watermark, self.lateness)
        self._fail_times(batch, times, late, missing, out)
        m = len(rows)
        if not m:
            return
        if m != batch.length or advance != w.size:
            keys = [c.take(rows) for c in keys]
            args = [c.take(rows) if c is not None else None for c in args]
        start_col = W.time_column(starts)
        ids = self._table_for(len(keys) + 1).assign(keys + [start_col], m)
        new_ids, new_starts = W.mark_new(ids, starts, self._seen)
        self._file(new_ids, new_starts)
        groups = self.groups
        if groups is not None:
            groups.admit(new_ids, new_starts)
        if self.emit == "FINAL":
            self._update(ids, args, m, running=False)
        else:
            values = self._update(ids, args, m, running=True)
            out.add(B.RecordBatch(self._names(), keys + values, {
                "_window_start": start_col, "_window_end": W.time_column(starts, w.size)}))
        if groups is not None:
            groups.touched(ids, m)

    def _file(self, new_ids, new_starts):
        if not len(new_ids):
            return
        first = new_starts[0]
        if new_starts.count(first) == len(new_starts):
            self._open.setdefault(first, []).append(new_ids)
            return
        for start, ids in W.by_start(new_ids, new_starts):
            self._open.setdefault(start, []).append(ids)

    def _close(self, ts, out):
        if self.window.kind == "SESSION":
            self._close_sessions(ts, out)
            return
        if self.window.kind == "SLIDING":
            self._trim_sliding(ts)
            return
        self._close_windows(ts, out)

    def _close_windows(self, ts, out):
        """Close the TUMBLING / HOPPING windows that are done, one at a time in window order
        (``runtime.group_state``: with a state store, held and spilled groups merged). The
        output batches are a generator: the chain writes each before the next is read back."""
        size = self.window.size
        windows = set(self._open) | self.groups.stored | self.groups.spilled
        closing = sorted(s for s in windows if ts == _END or s + size + self.lateness <= ts)
        if not closing:
            return
        if self.emit == "FINAL":
            out.batches = self._stream_closing(closing, size, out)
            return
        for start in closing:                      # EMIT CHANGES: forgotten, nothing emitted
            for _ in self.groups.close(start, emit=False):
                pass

    def _stream_closing(self, starts, size, out):
        """The rows of closing windows ``starts`` (size None: the plain GROUP BY's groups at
        the end of the input), a batch per chunk of groups; failures go to ``out``."""
        emitted = False
        for start in starts:
            for ids in self.groups.close(start, emit=True):
                part = Output()
                meta = None
                if size is not None:
                    begin = _ids(len(ids), start)
                    meta = (W.time_column(begin), W.time_column(begin, size))
                self._emit_groups(ids, meta, part)
                out.failures.extend(part.failures)
                emitted = True
                yield from part.batches
        if size is None and not self.keys and not emitted:
            part = Output()
            self._emit_groups(_ids(1), None, part)         # COUNT(*) = 0 over no rows
            yield from part.batches

    def _forget(self, ids, filed: bool = True):
        """Drop groups ``ids`` from memory (closed, or spilled to the store); ``filed``: also
        from the lists of held groups (``_order`` / ``_open``)."""
        for acc in self._accs:
            if acc is not None:
                acc.reset(ids)
        if self._table is not None:
            self._table.release(ids)
        W.unmark(ids, self._seen)
        if not filed:
            return
        gone = set(ids)
        if self.window is None:
            kept = array("q", [g for g in _concat(self._order) if g not in gone])
            self._order = [kept] if len(kept) else []
            return
        for start in list(self._open):
            kept = array("q", [g for g in _concat(self._open[start]) if g not in gone])
            if len(kept):
                self._open[start] = [kept]
            else:
                del self._open[start]

    def _held_of(self, start):
        """The held groups of window ``start`` (None: of the plain GROUP BY), no longer
        filed as held."""
        if self.window is None:
            ids, self._order = _concat(self._order), []
            return ids
        return _concat(self._open.pop(start, ()))

    def _fail_times(self, batch, times, late, missing, out):
        if len(late):
            marks = batch.meta.get("_watermark")
            reasons = []
            for row in late:
                mark = marks.get(row) if marks is not None else None
                mark = max(self.watermark, _epoch(mark) if mark is not None else W.NO_WATERMARK)
                why = (f"late record: event time {_epoch(times.get(row))} ms is behind the "
                       f"watermark {mark} ms by more than allowed.lateness ({self.lateness} "
                       "ms): its windows are closed")
                reasons.append((row, why))
            out.failures.extend(row_failures(batch, reasons, kind=LATE))
        if len(missing):
            what = (str(self.window.time_column) if self.window.time_column is not None
                    else "_event_time")
            reasons = [(row, f"the window time {what} is NULL") for row in missing]
            out.failures.extend(row_failures(batch, reasons, kind=EVENT_TIME_ERROR))

    # ------------------------------------------------------------------ SLIDING(size)
    def _process_sliding(self, batch, keys, args, times, out):
        """Each record emits the aggregate of its key's records in ``[t - size, t]`` that
        arrived before it (or with it): the held rows are walked per key (``SlidingBuffer``)
        and folded by fresh accumulators, one group per emitted row."""
        from velostream._core.rowkeys import concat_columns

        keep, late, missing = W.late_rows(times, batch.meta.get("_watermark"), self.watermark,
                                          self.lateness)
        self._fail_times(batch, times, late, missing, out)
        n = len(keep)
        if not n:
            return
        if n != batch.length:
            keys = [c.take(keep) for c in keys]
            args = [c.take(keep) if c is not None else None for c in args]
            times = times.take(keep)
        if self._buffer is None:
            self._buffer = W.SlidingBuffer()
            self._session_keys = _kernel().GroupTable(len(keys)) if keys else None
            self._held = [None] * len(self.calls)
        kids = self._session_keys.assign(keys, n) if keys else _ids(n)
        first = len(self._buffer)
        self._buffer.append(kids, times)
        self._held = [None if c is None else c if h is None else concat_columns([h, c])
                      for h, c in zip(self._held, args)]
        rows, held = self._buffer.pairs(first, self.window.size)
        ids = array("q", range(n))
        values = []
        for j, call in enumerate(self.calls):
            column = self._held[j]
            if column is not None and column.type == T_NULL:
                values.append(self._empty(j, ids, n))
                continue
            acc = self._new_accumulator(j, None if column is None else column.type)
            acc.update(rows, None if column is None else column.take(held), len(rows))
            values.append(acc.result(ids))
        ends = times if times.type == T_TIMESTAMP else W.time_column(_int_values(times))
        out.add(B.RecordBatch(self._names(), keys + values, {
            "_window_start": W.time_column(_int_values(times), -self.window.size),
            "_window_end": ends}))

    def _trim_sliding(self, ts):
        # A later record that is not late has t >= watermark - lateness: it needs no row
        # older than that minus the size. The held value columns are copied once per
        # watermark that drops rows (a cost in the rows held, not in the rows seen).
        if self._buffer is None:
            return
        held = len(self._buffer)
        threshold = ts - self.lateness - self.window.size - 1 if ts != _END else _END
        dropped = self._buffer.trim(threshold) if held else 0
        if dropped:
            rest = array("q", range(dropped, held))
            self._held = [None if h is None else h.take(rest) for h in self._held]

    # ------------------------------------------------------------------ sessions
    def _process_sessions(self, batch, keys, args, times, out):
        if self._sessions is None:
            self._sessions = W.SessionAssigner(self.window.size)
            self._session_keys = _kernel().GroupTable(len(keys)) if keys else None
        n = batch.length
        kids = self._session_keys.assign(keys, n) if keys else _ids(n)
        rows, sids, late, missing, merges = self._sessions.assign(
            kids, times, batch.meta.get("_watermark"), self.watermark, self.lateness)
        self._fail_times(batch, times, late, missing, out)
        if merges:
            # A record bridged two sessions: the later one's state folds into the earlier;
            # rows assigned to it before the merge go to the earlier one too.
            target: dict = {}
            for dst, src in merges:
                target[src] = dst
                for acc in self._accs:
                    if acc is not None:
                        acc.merge(dst, src)
                        acc.reset(array("q", [src]))

            def final(sid):
                while sid in target:
                    sid = target[sid]
                return sid
            sids = array("q", [final(s) for s in sids])
            self.session_state.dropped([src for _, src in merges])
            self._sessions.release([src for _, src in merges])
        m = len(rows)
        if not m:
            return
        if m != n:
            keys = [c.take(rows) for c in keys]
            args = [c.take(rows) if c is not None else None for c in args]
        self.session_state.touched(sids, m)
        if self.emit == "FINAL":
            self._update(sids, args, m, running=False)
            return
        values = self._update(sids, args, m, running=True)
        starts, lasts = self._sessions.bounds(sids)
        out.add(B.RecordBatch(self._names(), keys + values, {
            "_window_start": W.time_column(starts),
            "_window_end": W.time_column(lasts, self.window.size)}))

    def _close_sessions(self, ts, out):
        if self._sessions is None:
            return
        kids, starts, lasts, sids = self._sessions.closable(ts, self.lateness)
        if not len(sids):
            return
        self.session_state.dropped(sids)
        if self.emit == "FINAL":
            columns = self._session_keys.keys(kids) if self.keys else []
            self._add_rows(list(columns), sids, {
                "_window_start": W.time_column(starts),
                "_window_end": W.time_column(lasts, self.window.size)}, out)
        for acc in self._accs:
            if acc is not None:
                acc.reset(sids)
        if self.keys:
            open_ = self._sessions.sessions
            gone = array("q", {k for k in kids if k not in open_})
            if len(gone):
                self._session_keys.release(gone)


# ---------------------------------------------------------------------- SLIDING(size) snapshots
# GROUP BY / TUMBLING / HOPPING state: runtime.group_state; SESSION: runtime.session_state.
# SLIDING(size) holds the rows a later window can still need (a window's worth per key), all
# written at each checkpoint: table "aggregate", b"m" → valuecodec header (watermark, the
# accumulators' input types, key column types, argument column types); b"r" + sequence (keycodec
# int64) → one held row, oldest first: (key values, time, argument values).
_TABLE = "aggregate"


def _snapshot(op, store) -> None:
    from velostream._core.keycodec import encode_int64
    from velostream._core.valuecodec import encode_values
    from velostream.state.store import WriteBatch, prefix_end

    batch = WriteBatch()
    batch.delete_range(_TABLE, b"r", prefix_end(b"r"))
    key_types = arg_types = None
    if op._buffer is not None and len(op._buffer):
        columns = op._session_keys.keys(op._buffer.kids) if op.keys else []
        key_types = [c.type for c in columns]
        arg_types = [h.type if h is not None else None for h in op._held]
        keys = list(zip(*(c.to_pylist() for c in columns))) if columns else None
        held = [h.to_pylist() if h is not None else None for h in op._held]
        for i, t in enumerate(op._buffer.times):
            row = [h[i] if h is not None else None for h in held]
            batch.put(_TABLE, encode_int64(i, b"r"),
                      encode_values((keys[i] if keys else (), t, row)))
    header = (op.watermark, list(op._input_types), key_types, arg_types)
    batch.put(_TABLE, b"m", encode_values(header))
    store.write(batch)


def _restore(op, store) -> None:
    from velostream._core.valuecodec import decode_values

    table = store.table(_TABLE)
    header = table.get(b"m")
    if header is None:
        return
    op.watermark, types, key_types, arg_types = decode_values(header)
    op._input_types = list(types)
    entries = [decode_values(v) for _, v in table.scan(b"r")]
    if not entries:
        return
    n = len(entries)
    keys = [column_of([e[0][k] for e in entries], key_types[k]) for k in range(len(op.keys))]
    op._buffer = W.SlidingBuffer()
    op._session_keys = _kernel().GroupTable(len(keys)) if keys else None
    kids = op._session_keys.assign(keys, n) if keys else _ids(n)
    op._buffer.append(kids, B.int64_column([e[1] for e in entries], timestamp=True))
    op._held = [None if t is None else column_of([e[2][j] for e in entries], t)
                for j, t in enumerate(arg_types)]


def column_of(values, type_):
    """A column of type tag ``type_`` from the Python values of a restored state (``Column.
    to_pylist()`` values kept by the value codec)."""
    if type_ == T_TIMESTAMP:
        return B.int64_column([None if v is None else _epoch(v) for v in values], timestamp=True)
    makers = {1: B.bool_column, 2: B.int64_column, 3: B.float64_column, 4: B.decimal_column,
              5: B.string_column}
    maker = makers.get(type_)
    if maker is not None:
        try:
            return maker(values)
        except (TypeError, ValueError, OverflowError):
            pass        # schema-on-read: a key column whose type changed between batches
    return B.column_from_values(values)


def _int_values(column):
    """The int64 values of a BIGINT / TIMESTAMP column without NULLs, as a buffer."""
    return column.data


def _concat(arrays):
    out = array("q")
    for a in arrays:
        out.extend(a)
    return out


def _epoch(value) -> int:
    """Epoch milliseconds of a TIMESTAMP / BIGINT value as ``Column.get`` gives it."""
    if isinstance(value, int):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return (value - _EPOCH) // datetime.timedelta(milliseconds=1)


def _as_times(column, expr):
    from velostream.errors import SqlValidationError

    pos = expr.node.pos
    raise SqlValidationError(f"the window time {expr} must be a TIMESTAMP or BIGINT epoch "
                             f"milliseconds, not {column.type_name}",
                             pos.line if pos else 0, pos.column if pos else 0)
