"""The operator protocol and the stateless operators: filter, project, distinct, sort, limit.

An operator takes batches and returns batches, a whole batch at a time (per-row work is in the
Cython kernels the planned expressions run):

- ``process(batch) -> Output``: output batches (zero or more) and the :class:`RowFailure`\\ s of
  rows it could not compute, which it leaves out of its output — never silently dropped;
- ``on_watermark(ts) -> Output``: event time passed ``ts`` (windows close; stateless: nothing);
- ``finish() -> Output``: the bounded input ended — emit what is held (ORDER BY);
- ``snapshot(store)`` / ``restore(store)``: write / read the operator's state to a state store
  (stateless operators have none); ``snapshot`` writes through ``store.write(batch)``, which the
  checkpoint gathers into its one atomic commit;
- ``attach(store)``: with a state dir, the job's live store (after ``restore``): an operator
  whose state outgrows memory spills to and reads back from its tables between checkpoints —
  the store discards every write after the last commit on a crash, so a spill never gets ahead
  of the committed source positions;
- ``done``: it will emit nothing more (LIMIT reached), so the job can stop reading.

An :class:`OperatorChain` runs a list of operators, each one's output into the next. Operators
are built from the physical plan's nodes by ``velostream.runtime.build``.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from velostream.errors import SqlValidationError
from velostream.runtime.failures import RowFailure


@dataclass
class Output:
    batches: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    def add(self, batch) -> None:
        if batch is not None and batch.length:
            self.batches.append(batch)


class Operator:
    """Base of the operators: stateless, passes batches through unchanged."""

    name = "operator"

    def process(self, batch) -> Output:
        out = Output()
        out.add(batch)
        return out

    def on_watermark(self, ts: int) -> Output:
        return Output()

    def finish(self) -> Output:
        return Output()

    def snapshot(self, store) -> None:
        """Stateless operators keep nothing."""

    def restore(self, store) -> None:
        """Stateless operators keep nothing."""

    def attach(self, store) -> None:
        """Operators whose state fits in memory need no live store."""

    @property
    def done(self) -> bool:
        return False


def row_failures(batch, errors, kind: str = "") -> list[RowFailure]:
    """A RowFailure per ``(row, message)`` of ``errors``, with the row's input line and the
    fields it had (``batch`` is the operator's input)."""
    if not errors:
        return []
    lines = batch.meta.get("_line")
    failures = []
    for row, message in errors:
        line = lines.get(row) if lines is not None else None
        record = {name: column.get(row) for name, column in zip(batch.names, batch.columns)}
        failures.append(RowFailure(message, line=line, record=record, kind=kind))
    return failures


class FilterOperator(Operator):
    """WHERE: keeps the rows whose predicate is TRUE."""

    name = "Filter"

    def __init__(self, node):
        self.predicate = node.predicate

    def process(self, batch) -> Output:
        out = Output()
        errors: list = []
        mask = self.predicate.evaluate(batch, errors)
        out.failures = row_failures(batch, errors)
        out.add(batch.filter(mask))
        return out


class ProjectOperator(Operator):
    """The SELECT list. A row with any failing column fails once, with its first reason (in
    SELECT order), so records in = rows out + failed."""

    name = "Project"

    def __init__(self, node):
        self.projection = node.projection

    def process(self, batch) -> Output:
        out = Output()
        names, columns, errors = [], [], []
        for name, target in self.projection.resolve(batch):
            names.append(name)
            columns.append(batch.columns[target] if isinstance(target, int)
                           else target.evaluate(batch, errors))
        result = batch.with_columns(names, columns)
        if errors:
            first: dict = {}
            for row, message in errors:
                first.setdefault(row, message)
            out.failures = row_failures(batch, sorted(first.items()))
            result = result.take(array("q", [i for i in range(result.length) if i not in first]))
        out.add(result)
        return out


class DistinctOperator(Operator):
    """SELECT DISTINCT on a stream: remembers the most recent ``max_keys`` rows (a repeat
    refreshes its row), so memory stays bounded; ``evictions`` counts rows forgotten. Rows are
    compared by their canonical keys (``_core.rowkeys``: one bytes key per row, built in C)."""

    name = "Distinct"

    def __init__(self, node):
        from velostream._core.rowkeys import DistinctFilter

        self.max_keys = node.max_keys
        self._filter = DistinctFilter(node.max_keys)
        self._entry = 0          # the number of the next entry of the log (snapshot)
        self._logged = 0         # keys in the log's entries since its last whole copy

    @property
    def evictions(self) -> int:
        return self._filter.evictions

    def process(self, batch) -> Output:
        from velostream._core.rowkeys import row_keys

        out = Output()
        if not batch.columns:
            out.add(batch)
            return out
        keep = self._filter.keep(row_keys(batch.columns))
        out.add(batch if len(keep) == batch.length else batch.take(keep))
        return out

    def snapshot(self, store) -> None:
        """What changed since the last checkpoint (``DistinctFilter.changes``: the keys added
        or refreshed, the keys forgotten), as one entry appended to the ``distinct_log`` table
        of ``store``, so a checkpoint costs the rows since the last one, not the keys
        remembered. When the entries since the last whole copy would hold more keys than are
        remembered, the log is replaced by a whole copy instead (so a restore reads at most
        about twice the remembered keys). Entries: 8-byte big-endian numbers → ``B`` + the
        keys, least recently seen first (a whole copy) or ``D`` + the forgotten keys + the
        changed keys; ``distinct_meta``: the eviction count."""
        from velostream.state.store import WriteBatch

        gone, keys = self._filter.changes()
        batch = WriteBatch()
        changed = len(gone) + len(keys)
        if changed and self._entry == 0:
            # The first entry: every key is new, so the changed keys are a whole copy.
            batch.put(LOG_TABLE, self._entry.to_bytes(8, "big"), b"B" + _pack_keys(keys))
            self._entry += 1
        elif changed and self._logged + changed > len(self._filter):
            batch.delete_range(LOG_TABLE)
            batch.put(LOG_TABLE, self._entry.to_bytes(8, "big"),
                      b"B" + _pack_keys(self._filter.snapshot()))
            self._logged = 0
            self._entry += 1
        elif changed:
            batch.put(LOG_TABLE, self._entry.to_bytes(8, "big"),
                      b"D" + _pack_keys(gone) + _pack_keys(keys))
            self._logged += changed
            self._entry += 1
        batch.put(META_TABLE, b"evictions", self._filter.evictions.to_bytes(8, "big"))
        store.write(batch)

    def restore(self, store) -> None:
        from velostream.state.jobstate import StateDirError

        if "distinct" in store.tables():
            where = getattr(getattr(store, "store", store), "path", "")   # the job's store
            raise StateDirError(where, "its DISTINCT state was written in a former format",
                                "run with --reset-state to start over")
        evictions = store.table(META_TABLE).get(b"evictions")
        self._filter.restore([], int.from_bytes(evictions, "big") if evictions else 0)
        for key, value in store.table(LOG_TABLE).range():
            if value[:1] == b"B":
                keys, _ = _unpack_keys(value, 1)
                self._filter.apply((), keys)
                self._logged = 0
            else:
                gone, end = _unpack_keys(value, 1)
                keys, _ = _unpack_keys(value, end)
                self._filter.apply(gone, keys)
                self._logged += len(gone) + len(keys)
            self._entry = int.from_bytes(key, "big") + 1


# The DISTINCT operator's tables: its log of changes; the eviction count.
LOG_TABLE, META_TABLE = "distinct_log", "distinct_meta"


def _pack_keys(keys) -> bytes:
    """``keys`` (bytes) as one value: the count, every length (u32, little-endian), the keys
    (C-level joins, not a Python loop per key)."""
    import struct
    import sys

    lengths = array("I", map(len, keys))
    if sys.byteorder == "big":
        lengths.byteswap()
    return struct.pack("<I", len(keys)) + lengths.tobytes() + b"".join(keys)


def _unpack_keys(value: bytes, start: int) -> tuple[list, int]:
    """The keys ``_pack_keys`` wrote at ``start`` of ``value``, and where they end."""
    import struct
    import sys
    from itertools import accumulate, pairwise

    (count,) = struct.unpack_from("<I", value, start)
    lengths = array("I")
    lengths.frombytes(value[start + 4:start + 4 + 4 * count])
    if sys.byteorder == "big":
        lengths.byteswap()
    ends = list(accumulate(lengths, initial=start + 4 + 4 * count))
    return [value[a:b] for a, b in pairwise(ends)], ends[-1]


class SortOperator(Operator):
    """ORDER BY: holds the batches until the input ends, then emits them as one batch in order
    (a stable argsort over the typed key columns, in C) without the hidden key columns.

    Checkpoints append: each writes the batches held since the last one, under the ``sort``
    table (keycodec int64 batch number → the value codec's encoding of the names and each
    column's type and values, and the same of its meta columns), so a checkpoint costs the rows
    that arrived since, not all the held ones."""

    name = "Sort"

    def __init__(self, node):
        self.keys = node.keys
        self.hidden = node.hidden
        self._held: list = []
        self._saved = 0              # held batches already in the store

    def process(self, batch) -> Output:
        if batch.length:
            self._held.append(batch)
        return Output()

    def snapshot(self, store) -> None:
        from velostream._core.keycodec import encode_int64
        from velostream._core.valuecodec import encode_values
        from velostream.state.store import WriteBatch

        batch = WriteBatch()
        for i in range(self._saved, len(self._held)):
            held = self._held[i]
            batch.put("sort", encode_int64(i), encode_values((
                list(held.names), [(c.type, c.to_pylist()) for c in held.columns],
                {k: (c.type, c.to_pylist()) for k, c in held.meta.items()})))
        self._saved = len(self._held)
        store.write(batch)

    def restore(self, store) -> None:
        from velostream._core.batch import RecordBatch
        from velostream._core.valuecodec import decode_values
        from velostream.runtime.aggregate import column_of

        self._held = []
        for _, value in store.table("sort").scan(b""):
            names, columns, meta = decode_values(value)
            self._held.append(RecordBatch(
                list(names), [column_of(values, t) for t, values in columns],
                {k: column_of(values, t) for k, (t, values) in meta.items()}))
        self._saved = len(self._held)

    def finish(self) -> Output:
        from velostream._core.rowkeys import concat_batches, sort_indices

        out = Output()
        held, self._held = self._held, []
        if not held:
            return out
        whole = held[0] if len(held) == 1 else concat_batches(held)
        names = list(whole.names)
        visible = len(names) - self.hidden
        positions = [self._position(key, names, visible) for key in self.keys]
        order = sort_indices([whole.columns[p] for p in positions],
                             [k.descending for k in self.keys], [k.nulls_first for k in self.keys])
        ordered = whole.take(order)
        if self.hidden:
            ordered = ordered.select(list(range(visible)))
        out.add(ordered)
        return out

    @staticmethod
    def _position(key, names, visible) -> int:
        if key.hidden is not None:
            return visible + key.hidden
        if key.name is not None:
            low = key.name.lower()
            for i, name in enumerate(names[:visible]):
                if name.lower() == low:
                    return i
            pos = key.pos
            raise SqlValidationError(f"ORDER BY {key.text}: no output column has this name",
                                     pos.line if pos else 0, pos.column if pos else 0)
        if key.position >= visible:
            pos = key.pos
            raise SqlValidationError(f"ORDER BY {key.text}: the query has {visible} output "
                                     "columns", pos.line if pos else 0, pos.column if pos else 0)
        return key.position


class LimitOperator(Operator):
    """LIMIT n: passes the first n rows, then is ``done``."""

    name = "Limit"

    def __init__(self, node):
        self.limit = node.limit
        self.emitted = 0

    def process(self, batch) -> Output:
        out = Output()
        room = self.limit - self.emitted
        if room <= 0:
            return out
        if batch.length > room:
            batch = batch.slice_rows(0, room)
        self.emitted += batch.length
        out.add(batch)
        return out

    def snapshot(self, store) -> None:
        store.put("limit", b"emitted", self.emitted.to_bytes(8, "big"))

    def restore(self, store) -> None:
        value = store.table("limit").get(b"emitted")
        if value is not None:
            self.emitted = int.from_bytes(value, "big")

    @property
    def done(self) -> bool:
        return self.emitted >= self.limit


class OperatorChain:
    """Operators in a row: each one's output batches go into the next."""

    def __init__(self, operators):
        self.operators = list(operators)

    def process(self, batch) -> Output:
        return self._push(0, [batch], Output())

    def _push(self, start: int, batches, total: Output) -> Output:
        for op in self.operators[start:]:
            produced = []
            for batch in batches:
                out = op.process(batch)
                total.failures.extend(out.failures)
                produced.extend(out.batches)
            batches = produced
            if not batches:
                break
        total.batches.extend(batches)
        return total

    def on_watermark(self, ts: int, emit=None) -> Output:
        """Event time passed ``ts``; ``emit``: see ``finish``."""
        total = Output()
        for i, op in enumerate(self.operators):
            self._drain(i, op.on_watermark(ts), total, emit)
        return total

    def finish(self, emit=None) -> Output:
        """End of a bounded input: each operator emits what it holds, through the rest.
        ``emit(Output)``: called with each part as it is made (a closing window's groups come
        back from the state store a chunk at a time: ``batches`` may be a generator), so the
        caller writes them out before the next; else everything is returned at once."""
        total = Output()
        for i, op in enumerate(self.operators):
            self._drain(i, op.finish(), total, emit)
        return total

    def _drain(self, i: int, out: Output, total: Output, emit) -> None:
        for batch in out.batches:
            if emit is None:
                self._push(i + 1, [batch], total)
            else:
                emit(self._push(i + 1, [batch], Output()))
        total.failures.extend(out.failures)       # a generator adds them as it runs

    @property
    def done(self) -> bool:
        return any(op.done for op in self.operators)

    def find(self, cls):
        return next((op for op in self.operators if isinstance(op, cls)), None)
