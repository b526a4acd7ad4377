"""Aggregate state in the store: spilled groups (runtime.group_state) read back, incremental
checkpoints (groups and sessions, runtime.session_state) and restarts give exactly the rows of a
run that held everything in memory."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from velostream._core import batch as B
from velostream.state.store import MemoryStore

from .test_windows import _operator

SHAPES = [
    "GROUP BY k EMIT FINAL", "GROUP BY k", "GROUP BY k WINDOW TUMBLING(1s)",
    "GROUP BY k WINDOW TUMBLING(1s) EMIT CHANGES", "GROUP BY k WINDOW HOPPING(2s, 500ms)",
    "GROUP BY k, g WINDOW TUMBLING(3s)", "EMIT FINAL", "WINDOW TUMBLING(1s)",
]
AGGREGATES = ("COUNT(*) AS n, SUM(v) AS sv, AVG(d) AS ad, MIN(s) AS lo, MAX(d) AS hi, "
              "COUNT(DISTINCT g) AS dg, STDDEV(d) AS sd")


def _sql(shape):
    keys = "k, g, " if "k, g" in shape else "k, " if "GROUP BY" in shape else ""
    return f"SELECT {keys}{AGGREGATES} FROM t {shape}"


def _batches(seed, rows=900, keys=120, size=37):
    """Trades-like rows in event-time order with jitter; ``v`` is BIGINT for the first half
    and DECIMAL after (the SUM accumulator widens while groups are spilled)."""
    rng = random.Random(seed)
    t, out = 0, []
    for lo in range(0, rows, size):
        n = min(size, rows - lo)
        ks, gs, vs, ds, ss, ts = [], [], [], [], [], []
        for i in range(lo, lo + n):
            t += rng.randint(0, 40)
            ks.append(f"k{rng.randrange(keys):03d}")
            gs.append(rng.randrange(3))
            vs.append(rng.randint(-50, 50))
            ds.append(f"{rng.randint(0, 9999)}.{rng.randint(0, 99):02d}")
            ss.append(rng.choice(["x", "yy", "zzz", None]))
            ts.append(max(0, t - rng.randint(0, 60)))
        values = (B.int64_column(vs) if lo < rows // 2
                  else B.decimal_column([f"{v}.25" for v in vs]))
        out.append((B.RecordBatch(["k", "g", "v", "d", "s"], [
            B.string_column(ks), B.int64_column(gs), values, B.decimal_column(ds),
            B.string_column(ss)], {"_event_time": B.int64_column(ts, timestamp=True)}),
            max(ts)))
    return out


def _rows(outputs):
    return [r for out in outputs for b in out.batches for r in b.to_pylist()]


def _step(op, item):
    batch, top = item
    return [op.process(batch), op.on_watermark(top - 80)]


def _reference(sql, batches):
    op = _operator(sql)
    out = []
    for b in batches:
        out += _step(op, b)
    return _rows(out + [op.finish()])


def _spilling(sql, capacity):
    op = _operator(sql)
    if op.groups is not None:          # SESSION / SLIDING hold their state in memory
        op.groups.capacity = capacity
    return op


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_spilled_groups_give_the_rows_of_a_run_that_held_them_all(shape, seed):
    sql = _sql(shape)
    batches = _batches(seed)
    want = _reference(sql, batches)
    op = _spilling(sql, capacity=8)
    store = MemoryStore()
    op.attach(store)
    out = []
    for b in batches:
        out += _step(op, b)
    got = _rows(out + [op.finish()])
    assert got == want and len(want) > (20 if "GROUP BY" in shape else 0)
    if "GROUP BY" in shape:
        assert op.groups.spills > 0
    if "GROUP BY" in shape and "WINDOW" not in shape:
        assert op.groups.reloads > 0


@pytest.mark.parametrize("shape", SHAPES + [
    "GROUP BY k WINDOW SESSION(150ms)", "GROUP BY k WINDOW SESSION(400ms) EMIT CHANGES",
    "GROUP BY k WINDOW SLIDING(300ms)"])
@pytest.mark.parametrize("seed", [4, 5, 6, 7])
def test_checkpoints_and_crashes_while_spilling_change_no_row(shape, seed):
    """Checkpoints at random batches; crashes at random later batches go back to the last
    checkpoint's store (spills after it are lost, as the store contract says) and replay."""
    sql = _sql(shape)
    batches = _batches(seed)
    want = _reference(sql, batches)
    rng = random.Random(seed)
    store, committed = MemoryStore(), None
    op = _spilling(sql, capacity=rng.choice([4, 16, 64]))
    op.attach(store)
    emitted: list = []           # rows made durable by checkpoints
    pending: list = []           # rows since the last checkpoint
    at, position, crashes = 0, 0, 0
    while position < len(batches):
        pending += _rows(_step(op, batches[position]))
        position += 1
        if rng.random() < 0.25:                   # a checkpoint: state and output together
            op.snapshot(store)
            committed = (store.snapshot(), position)
            emitted += pending
            pending = []
        elif committed is not None and crashes < 3 and rng.random() < 0.15:
            crashes += 1                          # kill -9: back to the last checkpoint
            store = MemoryStore()
            store.restore(committed[0])
            op = _spilling(sql, capacity=rng.choice([4, 16, 64]))
            op.restore(store)
            op.attach(store)
            position, pending = committed[1], []
        at += 1
    got = emitted + pending + _rows([op.finish()])
    assert got == want
    assert crashes > 0


def test_a_checkpoint_writes_only_the_groups_changed_since_the_last():
    sql = _sql("GROUP BY k EMIT FINAL")
    batches = _batches(8, rows=400, keys=400, size=50)
    op = _operator(sql)
    store = MemoryStore()
    op.attach(store)
    sizes = []
    for b, _ in batches:
        op.process(b)
        view = _Recording(store)
        op.snapshot(view)
        sizes.append(sum(1 for kind, table, *_ in view.ops if table == "groups"))
    distinct_per_batch = [len(set(b.columns[0].to_pylist())) for b, _ in batches]
    assert sizes == distinct_per_batch


def test_a_session_checkpoint_writes_the_sessions_changed_and_deletes_the_dropped():
    sql = _sql("GROUP BY k WINDOW SESSION(150ms)")
    op = _operator(sql)
    store = MemoryStore()
    written = []
    for b, top in _batches(9, rows=600, keys=200, size=60):
        op.process(b)
        op.on_watermark(top - 80)
        view = _Recording(store)
        op.snapshot(view)
        puts = sum(1 for kind, table, *_ in view.ops if table == "sessions" and kind == 0)
        written.append((puts, len(store.table("sessions")),
                        sum(len(v) for v in op._sessions.sessions.values())))
    # each checkpoint writes at most the batch's rows' sessions; the store holds exactly the
    # open ones (merged and closed ones deleted)
    assert all(puts <= 60 for puts, _, _ in written)
    assert all(stored == held for _, stored, held in written)
    assert sum(puts for puts, _, _ in written) < 600


class _Recording:
    def __init__(self, store):
        self.store, self.ops = store, []

    def table(self, name):
        return self.store.table(name)

    def write(self, batch):
        self.ops += batch.ops
        self.store.write(batch)


def test_a_window_of_many_spilled_groups_closes_in_bounded_chunks():
    """A window's spilled groups come back from the store a chunk at a time (CHUNK): the
    held groups never exceed the capacity plus one chunk."""
    from velostream.runtime import group_state

    sql = _sql("GROUP BY k WINDOW TUMBLING(1h)")
    op = _spilling(sql, capacity=100)
    store = MemoryStore()
    op.attach(store)
    peak = []
    original = group_state.SpillableGroups._emit_chunk

    def watch(self, *args):
        peak.append(self.op._table.live)
        return original(self, *args)

    group_state.CHUNK, old_chunk = 50, group_state.CHUNK
    group_state.SpillableGroups._emit_chunk = watch
    try:
        for lo in range(0, 2000, 200):
            keys = [f"k{i:05d}" for i in range(lo, lo + 200)]
            op.process(B.RecordBatch(["k", "g", "v", "d", "s"], [
                B.string_column(keys), B.int64_column([1] * 200), B.int64_column([2] * 200),
                B.decimal_column(["1.5"] * 200), B.string_column(["x"] * 200)],
                {"_event_time": B.int64_column([lo] * 200, timestamp=True)}))
        rows = _rows([op.finish()])
    finally:
        group_state.CHUNK = old_chunk
        group_state.SpillableGroups._emit_chunk = original
    assert [r["k"] for r in rows] == [f"k{i:05d}" for i in range(2000)]
    assert {r["SUM(v)"] for r in rows} == {2} and {r["AVG(d)"] for r in rows} == {Decimal("1.5")}
    assert peak and max(peak) <= 100 + 50
