"""The spillable groups of the aggregate operator: GROUP BY and TUMBLING / HOPPING windows whose
state lives in the job's state store, with only the recently used groups in memory.

The aggregate operator (``runtime.aggregate``) holds its groups in a ``GroupTable`` and one
``Accumulator`` per aggregate, indexed by group id. With a ``'state.dir'`` this module keeps the
store in step with them, so that a job's state is bounded by disk, not RAM:

- every group has a **sequence number**, given when its key is first seen (in a window: first
  seen in that window) and kept for its life, in the store too; groups are emitted in sequence
  order, so the output never depends on what was in memory when (nor on restarts);
- a batch **stamps** the groups it updates with its number (``_core.groupstate``); a stamp after
  the last checkpoint's means changed since, and a **checkpoint** writes exactly those groups
  into its atomic write batch (incremental: unchanged groups cost nothing);
- past ``'state.cache.max_bytes'`` (an estimate per held group: :func:`group_bytes`), the least
  recently stamped groups are **spilled**: the changed ones written to the store directly (the
  store discards writes after the last commit on a crash, so a spill never gets ahead of the
  committed source positions), then dropped from memory. A spilled group seen again is read
  back (index lookup, then its entry) before the batch updates it;
- a window that **closes** streams its spilled groups back from the store in sequence order,
  merged with the held ones, a chunk at a time, and the operator's output is a generator the
  chain writes out chunk by chunk (memory stays bounded even when one window holds a million
  groups); its entries are deleted in the next checkpoint's write batch;
- on **restore** only the header is read: every group is in the store, read back when needed.

Store layout (tables of the operator's view; ``_core.keycodec`` encodings, so scans come back in
order; the window start is first so that a closing window is one prefix scan and one range
delete — for plain GROUP BY it is left out)::

    groups   window start (int64) + sequence (int64)   → valuecodec (key values, the
                                                          accumulators' input types, their states)
    index    window start (int64) + key values          → sequence (8 bytes big-endian)
    aggregate  b"s"                                     → valuecodec header: watermark, input
                                                          types, key column types, next sequence,
                                                          the windows with entries in the store

Key values are stored as they were first seen (a DECIMAL key keeps its scale); the index key
encodes them by value, as the GroupTable compares them (12.5 and 12.50 are one group).
"""

from __future__ import annotations

from array import array

from velostream._core import batch as B
from velostream._core import groupstate as G
from velostream._core import windows as W
from velostream._core.keycodec import encode_int64, encode_key
from velostream._core.valuecodec import decode_values, encode_values
from velostream.state.store import PUT, WriteBatch, prefix_end

GROUPS, INDEX, META = "groups", "index", "aggregate"
HEADER_KEY = b"s"
CHUNK = 8192            # groups read back from the store at a time when a window closes
_NOT_MADE = -1          # as runtime.aggregate: an accumulator not made yet


def group_bytes(key_count: int, aggregate_count: int) -> int:
    """Bytes one held group costs, estimated: the GroupTable's slot, key bytes and key tuple,
    a few C cells per aggregate, this module's per-group arrays, and its share of the write
    batch a checkpoint or a spill builds (measured as the peak RSS per held group of the
    million-key W2 job, perf/bench_w2.py: about 1 KB for two keys and three aggregates;
    strings longer than a symbol and DISTINCT sets cost more)."""
    return 640 + 96 * key_count + 48 * aggregate_count


def _window_prefix(start) -> bytes:
    return b"" if start is None else encode_int64(start)


class SpillableGroups:
    """The store side of one AggregateOperator's groups (plain GROUP BY, TUMBLING, HOPPING)."""

    def __init__(self, op, budget: int):
        self.op = op
        self.windowed = op.window is not None
        self.per_group = group_bytes(len(op.keys) + self.windowed, len(op.calls))
        self.capacity = max(1024, budget // self.per_group)   # groups held before a spill
        self.store = None            # the live view (Operator.attach); None: memory only
        self.stamps = array("q")     # per group id: the number of the batch that updated it
        self.seqs = array("q")       # per group id: its sequence number
        self.starts = array("q")     # per group id: its window start (windowed)
        self.indexed = bytearray()   # per group id: 1 when the store has its index entry
        self.key_types: list | None = None
        self.next_seq = 0
        self.batch_no = 0
        self.mark = 0                # batch number at the last checkpoint
        self.spilled: set = set()    # windows (None: plain) with groups in the store not held
        self.stored: set = set()     # windows with entries in the store
        self.closed: list = []       # windows closed since the last checkpoint
        self.spills = 0              # groups written out between checkpoints (metrics)
        self.reloads = 0             # groups read back from the store

    # ------------------------------------------------------------------ per batch
    def admit(self, new_ids, new_starts) -> None:
        """Give the groups first held now their sequence numbers; the ones the store has
        (spilled, or held before a restart) get their number and state back."""
        n = len(new_ids)
        if not n:
            return
        self._grow()
        found: dict = {}
        if self.store is not None and self.spilled:
            found = self._lookup(new_ids, new_starts)
        if not found:
            self.next_seq = G.number_new(new_ids, new_starts if self.windowed else None,
                                         self.seqs, self.starts, self.indexed, self.next_seq)
            return
        seqs, entries = self.seqs, []
        for i in range(n):
            gid = new_ids[i]
            if self.windowed:
                self.starts[gid] = new_starts[i]
            hit = found.get(gid)
            if hit is None:
                seqs[gid] = self.next_seq
                self.next_seq += 1
                self.indexed[gid] = 0
            else:
                seqs[gid] = hit[0]
                self.indexed[gid] = 1
                entries.append((gid, hit[1]))
        self._load_states(array("q", [g for g, _ in entries]), [e for _, e in entries])
        self.reloads += len(entries)

    def touched(self, ids, n: int) -> None:
        """The batch updated ``ids`` (its rows' groups)."""
        G.stamp(ids, n, self.stamps, self.batch_no)

    def next_batch(self) -> None:
        self.batch_no += 1

    def maybe_spill(self) -> None:
        """Past the budget, spill the least recently used quarter of the held groups."""
        table = self.op._table
        if self.store is None or table is None or table.live <= self.capacity:
            return
        held = self.op._live_ids()
        victims = G.oldest(held, self.stamps, len(held) - (self.capacity * 3) // 4)
        if not len(victims):
            return
        changed = G.changed(victims, self.stamps, self.mark)
        if len(changed):
            spill = WriteBatch()
            self._write(changed, spill)
            self.store.write(spill)
            self.spills += len(changed)
        self.spilled.update(self._window_of(victims))
        self.op._forget(victims)

    # ------------------------------------------------------------------ checkpoints
    def snapshot(self, view) -> None:
        batch = WriteBatch()
        for start in self.closed:
            prefix = _window_prefix(start)
            batch.delete_range(GROUPS, prefix, prefix_end(prefix))
            batch.delete_range(INDEX, prefix, prefix_end(prefix))
        self.closed = []
        held = self.op._live_ids()
        changed = G.changed(held, self.stamps, self.mark) if len(held) else held
        if len(changed):
            self._write(changed, batch)
        op = self.op
        header = (op.watermark, list(op._input_types), self.key_types, self.next_seq,
                  sorted(self.stored, key=lambda s: -1 if s is None else s))
        batch.put(META, HEADER_KEY, encode_values(header))
        view.write(batch)
        self.mark = self.batch_no

    def restore(self, view) -> bool:
        """Read the header (False: nothing was checkpointed). Every group stays in the store
        until a record or a closing window needs it."""
        raw = view.table(META).get(HEADER_KEY)
        if raw is None:
            return False
        watermark, types, key_types, next_seq, stored = decode_values(raw)
        op = self.op
        op.watermark = watermark
        op._input_types = list(types)
        for j, t in enumerate(types):
            if t != _NOT_MADE:
                op._make_accumulator(j, t)
        self.key_types = None if key_types is None else list(key_types)
        self.next_seq = next_seq
        self.stored = set(stored)
        self.spilled = set(stored)
        return True

    # ------------------------------------------------------------------ closing
    def close(self, start, emit: bool):
        """Window ``start`` (None: the plain GROUP BY's one set of groups, at the end of the
        input) is done: a generator that yields (``emit``) the ids of its groups in sequence
        order, a chunk at a time — spilled ones are read back while the caller consumes, so
        memory holds one chunk — and forgets every group of the window once consumed."""
        op = self.op
        held = op._held_of(start)
        if emit and start in self.spilled and self.store is not None:
            yield from self._close_merged(start, held)
        elif emit and len(held):
            yield held
        if len(held):
            op._forget(held, filed=False)
        if start in self.stored:
            self.closed.append(start)
        self.stored.discard(start)
        self.spilled.discard(start)

    def _close_merged(self, start, held):
        seqs = self.seqs
        held = sorted(held, key=seqs.__getitem__)
        held_seqs = {seqs[g] for g in held}
        at = 0                  # held groups emitted so far
        chunk: list = []
        width = len(_window_prefix(start))
        for key, value in self.store.table(GROUPS).scan(_window_prefix(start)):
            seq = int.from_bytes(key[width + 1:], "big") - (1 << 63)
            if seq in held_seqs:
                continue        # held: the held state is the newer one
            chunk.append((seq, value))
            if len(chunk) >= CHUNK:
                at = yield from self._emit_chunk(start, chunk, held, at)
                chunk = []
        if chunk:
            at = yield from self._emit_chunk(start, chunk, held, at)
        if at < len(held):
            yield array("q", held[at:])

    def _emit_chunk(self, start, chunk, held, at):
        """Read ``chunk`` (sequence, entry) back, yield it merged with the held groups
        numbered before its last, forget it; returns the new count of held groups emitted."""
        loaded = self._load(start, chunk)
        last = chunk[-1][0]
        seqs = self.seqs
        until = at
        while until < len(held) and seqs[held[until]] < last:
            until += 1
        yield array("q", sorted(list(loaded) + held[at:until], key=seqs.__getitem__))
        self.op._forget(loaded, filed=False)
        return until

    # ------------------------------------------------------------------ store entries
    def _write(self, ids, out) -> None:
        """Put the entries (and missing index entries) of held groups ``ids`` into ``out``."""
        op = self.op
        keys = self._key_values(ids)
        types = list(op._input_types)
        states = [acc.snapshot(ids) if acc is not None else None for acc in op._accs]
        self.stored |= G.entry_ops(ids, keys, types, states, self.seqs,
                                   self.starts if self.windowed else None, self.indexed,
                                   GROUPS, INDEX, out.ops, PUT)

    def _lookup(self, new_ids, new_starts) -> dict:
        """gid → (sequence, entry) of the new groups that the store has."""
        picks = [i for i in range(len(new_ids))
                 if (new_starts[i] if self.windowed else None) in self.spilled]
        if not picks:
            return {}
        ids = array("q", [new_ids[i] for i in picks])
        keys = self._key_values(ids)
        index, groups = self.store.table(INDEX), self.store.table(GROUPS)
        prefixes = [_window_prefix(new_starts[i] if self.windowed else None) for i in picks]
        raws = index.get_many([encode_key(key, prefix) for key, prefix in zip(keys, prefixes)])
        hits = [(gid, prefix, int.from_bytes(raw, "big") - (1 << 63))
                for gid, prefix, raw in zip(ids, prefixes, raws) if raw is not None]
        if not hits:
            return {}
        entries = groups.get_many([encode_int64(seq, prefix) for _, prefix, seq in hits])
        return {gid: (seq, entry) for (gid, _, seq), entry in zip(hits, entries)
                if entry is not None}

    def _key_values(self, ids) -> list:
        """The key values (a tuple per group) of held groups ``ids``."""
        op = self.op
        if not op.keys or not len(ids):
            return [()] * len(ids)
        columns = op._table.keys(ids)[:len(op.keys)]
        if self.key_types is None:
            self.key_types = [c.type for c in columns]
        return list(zip(*(c.to_pylist() for c in columns)))

    def _load(self, start, chunk):
        """Hold the groups of store entries ``chunk`` ((sequence, entry) of window ``start``)
        again: their ids, in the order given."""
        from velostream.runtime.aggregate import column_of

        op = self.op
        decoded = [decode_values(v) for _, v in chunk]
        n = len(decoded)
        columns = [column_of([d[0][k] for d in decoded], self.key_types[k])
                   for k in range(len(op.keys))]
        if self.windowed:
            columns.append(W.time_column(array("q", [start]) * n))
        ids = op._table_for(len(columns)).assign(columns, n) if columns else array("q", [0])
        self._grow()
        for gid, (seq, _) in zip(ids, chunk):
            if self.windowed:
                self.starts[gid] = start
            self.seqs[gid] = seq
            self.indexed[gid] = 1
            self.stamps[gid] = self.mark      # as stored: unchanged since the checkpoint
        self._load_states(ids, None, decoded)
        self.reloads += n
        return ids

    def _load_states(self, ids, values, decoded=None) -> None:
        """Set the accumulators of groups ``ids`` from their store entries."""
        if decoded is None:
            decoded = [decode_values(v) for v in values]
        load_states(self.op, ids, [d[1] for d in decoded], [d[2] for d in decoded])

    def _window_of(self, ids):
        if not self.windowed:
            return {None}
        return {self.starts[g] for g in ids}

    def _grow(self) -> None:
        table = self.op._table
        bound = table.id_bound if table is not None else 1
        for arr in (self.seqs, self.starts, self.stamps):
            if len(arr) < bound:
                arr.extend(array("q", bytes(8 * (bound - len(arr)))))
        if len(self.indexed) < bound:
            self.indexed.extend(bytes(bound - len(self.indexed)))


def load_states(op, ids, types, states) -> None:
    """Set the accumulators of ``op``'s groups ``ids`` from stored states: per group the
    accumulators' input types when stored (``types[i]``) and their states (``states[i]``,
    None: no input yet). A state stored before its accumulator widened (BIGINT → DECIMAL /
    DOUBLE) is folded into the wider one, as the widening did for the held groups."""
    from velostream.runtime.aggregate import T_DECIMAL

    for j in range(len(op.calls)):
        column = [st[j] for st in states]
        acc, now = op._accs[j], op._input_types[j]
        if acc is not None and None not in column and all(t[j] == now for t in types):
            acc.restore(ids, column)           # the usual case: one type, every state
            continue
        by_type: dict = {}
        for i, st in enumerate(column):
            if st is not None:
                by_type.setdefault(types[i][j], []).append(i)
        for t, rows in by_type.items():
            acc = op._accs[j]
            if acc is None:
                acc = op._make_accumulator(j, t)
            sub = array("q", [ids[i] for i in rows])
            sub_states = [column[i] for i in rows]
            if t == op._input_types[j]:
                acc.restore(sub, sub_states)
                continue
            old = op._new_accumulator(j, t)
            old.restore(sub, sub_states)
            result = old.result(sub)
            widened = (B.column_from_buffers(T_DECIMAL, result.length, result.data,
                                             result.validity)
                       if op._input_types[j] == T_DECIMAL
                       else B.float64_column(result.to_pylist()))
            acc.reset(sub)
            acc.update(sub, widened, len(sub))
