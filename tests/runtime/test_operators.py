"""Each stateless operator on its own, and the chain that runs them (runtime/operators.py)."""

from decimal import Decimal

from velostream import StreamApp
from velostream._core import batch as B
from velostream._core.batch import RecordBatch
from velostream.plan import physical as P
from velostream.runtime.build import operator_for
from velostream.runtime.event_time import EventTimeOperator
from velostream.runtime.operators import (
    DistinctOperator,
    LimitOperator,
    OperatorChain,
    ProjectOperator,
    SortOperator,
)

SRC = " WITH ('t.type' = 'file_source', 't.path' = 'in.jsonl')"


def node(sql, cls):
    plan = P.plan_job(StreamApp(sql + SRC).plan(default_sink="stdout_sink"))
    return next(n for n in plan.nodes() if isinstance(n, cls))


def batch(rows, lines=None):
    b = RecordBatch.from_pylist(rows)
    if lines is not None:
        b.meta["_line"] = B.int64_column(lines)
    return b


def rows_of(output):
    return [r for b in output.batches for r in b.to_pylist()]


def test_filter_keeps_true_rows_and_reports_failing_ones_with_their_line():
    op = operator_for(node("SELECT a FROM t WHERE 10 / a > 2", P.FilterNode))
    out = op.process(batch([{"a": 1}, {"a": 0}, {"a": 5}, {"a": None}], lines=[3, 4, 5, 6]))
    assert rows_of(out) == [{"a": 1}]
    assert [(f.line, f.kind, f.record) for f in out.failures] == [(4, "division by zero", {"a": 0})]


def test_project_drops_a_failing_row_once_with_its_first_reason():
    op = operator_for(node("SELECT a, 1 / a AS inv, 2 / (a - 1) AS other FROM t", P.ProjectNode))
    out = op.process(batch([{"a": 2}, {"a": 0}, {"a": 1}], lines=[1, 2, 3]))
    assert rows_of(out) == [{"a": 2, "inv": 0.5, "other": 2.0}]     # BIGINT / BIGINT is DOUBLE
    assert [(f.line, f.kind) for f in out.failures] == [(2, "division by zero"),
                                                         (3, "division by zero")]


def test_project_expands_star_per_input_schema():
    op = operator_for(node("SELECT *, a + 1 AS b1 FROM t", P.ProjectNode))
    first = op.process(batch([{"a": 1, "b": "x"}]))
    second = op.process(batch([{"a": 2, "c": True, "b": "y"}]))
    assert rows_of(first) == [{"a": 1, "b": "x", "b1": 2}]
    assert rows_of(second) == [{"a": 2, "c": True, "b": "y", "b1": 3}]


def test_distinct_remembers_across_batches_and_forgets_the_oldest_key():
    op = DistinctOperator(P.DistinctNode(max_keys=2))
    assert rows_of(op.process(batch([{"a": 1}, {"a": 1}, {"a": 2}]))) == [{"a": 1}, {"a": 2}]
    assert rows_of(op.process(batch([{"a": 2}, {"a": 3}]))) == [{"a": 3}]
    assert op.evictions == 1                       # 1 was forgotten when 3 came
    assert rows_of(op.process(batch([{"a": 1}]))) == [{"a": 1}]


def test_sort_holds_rows_until_finish_and_drops_hidden_keys():
    op = operator_for(node("SELECT a FROM t ORDER BY b DESC NULLS FIRST, a", P.SortNode))
    project = operator_for(node("SELECT a FROM t ORDER BY b DESC NULLS FIRST, a", P.ProjectNode))
    for rows in ([{"a": 1, "b": 5}, {"a": 2, "b": None}], [{"a": 3, "b": 5}, {"a": 0, "b": 9}]):
        for b in project.process(batch(rows)).batches:
            assert op.process(b).batches == []
    assert rows_of(op.finish()) == [{"a": 2}, {"a": 0}, {"a": 1}, {"a": 3}]
    assert op.finish().batches == []               # emptied: a second finish emits nothing


def test_limit_slices_and_says_done():
    op = LimitOperator(P.LimitNode(limit=3))
    assert rows_of(op.process(batch([{"a": 1}, {"a": 2}]))) == [{"a": 1}, {"a": 2}]
    assert not op.done
    assert rows_of(op.process(batch([{"a": 3}, {"a": 4}]))) == [{"a": 3}]
    assert op.done and op.process(batch([{"a": 5}])).batches == []


def test_a_chain_pushes_what_an_operator_emits_at_finish_through_the_rest():
    sql = "SELECT a FROM t ORDER BY a DESC LIMIT 2"
    chain = OperatorChain([operator_for(node(sql, cls))
                           for cls in (P.ProjectNode, P.SortNode, P.LimitNode)])
    assert chain.process(batch([{"a": 1}, {"a": 3}, {"a": 2}])).batches == []
    assert rows_of(chain.finish()) == [{"a": 3}, {"a": 2}]
    assert chain.done
    assert isinstance(chain.find(SortOperator), SortOperator)
    assert chain.find(ProjectOperator) is not None and chain.find(DistinctOperator) is None


def test_event_time_from_a_field_and_a_failure_for_an_unreadable_one():
    op = EventTimeOperator(P.EventTimeNode("t", "ts", "iso8601"))
    out = op.process(batch([{"ts": "2024-01-01T00:00:00Z"}, {"ts": "soon"}], lines=[1, 2]))
    (kept,) = out.batches
    assert kept.length == 1 and kept.meta["_event_time"].get(0) is not None
    assert [(f.line, f.kind) for f in out.failures] == [(2, "event-time error")]


def test_without_a_field_event_time_is_the_record_timestamp():
    b = batch([{"a": 1}])
    b.meta["_timestamp"] = B.int64_column([1_700_000_000_000], timestamp=True)
    (out,) = EventTimeOperator(P.EventTimeNode("t")).process(b).batches
    assert out.meta["_event_time"].get(0) == b.meta["_timestamp"].get(0)


def test_stateless_operators_have_no_state_to_snapshot():
    op = operator_for(node("SELECT a FROM t WHERE a > 1", P.FilterNode))
    store = {}
    op.snapshot(store)
    op.restore(store)
    assert store == {} and op.on_watermark(0).batches == [] and op.finish().batches == []


def test_distinct_state_survives_a_snapshot_and_restore():
    from velostream.state import MemoryStore

    op = DistinctOperator(P.DistinctNode(max_keys=10))
    op.process(batch([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]))
    store = MemoryStore()
    op.snapshot(store)
    again = DistinctOperator(P.DistinctNode(max_keys=10))
    again.restore(store)
    assert rows_of(again.process(batch([{"a": 2, "b": "y"}, {"a": 3, "b": "z"}]))) == [
        {"a": 3, "b": "z"}]


def test_a_distinct_checkpoint_writes_only_the_keys_changed_since_the_last_one():
    from velostream.runtime.operators import LOG_TABLE
    from velostream.state import MemoryStore

    class Recording(MemoryStore):
        def write(self, batch):
            self.sizes = {table: len(value or b"") for kind, table, key, value in batch.ops
                          if table == LOG_TABLE}
            super().write(batch)

    op = DistinctOperator(P.DistinctNode(max_keys=1000))
    store = Recording()
    op.process(batch([{"a": i} for i in range(1000)]))
    op.snapshot(store)
    whole = store.sizes[LOG_TABLE]
    for step in range(5):               # 3 rows a checkpoint: a small entry each, then a copy
        op.process(batch([{"a": 1000 + step}, {"a": 999 - step}, {"a": 1000 + step}]))
        op.snapshot(store)
        assert store.sizes[LOG_TABLE] < whole / 50
        again = DistinctOperator(P.DistinctNode(max_keys=1000))
        again.restore(store)
        assert again._filter.snapshot() == op._filter.snapshot()
        assert again.evictions == op.evictions == step + 1
    assert len(store.table(LOG_TABLE)) == 6
    op._logged = len(op._filter)        # the log would hold more keys than are remembered
    op.process(batch([{"a": 7}]))
    op.snapshot(store)
    assert len(store.table(LOG_TABLE)) == 1 and store.sizes[LOG_TABLE] >= whole
    again = DistinctOperator(P.DistinctNode(max_keys=1000))
    again.restore(store)
    assert again._filter.snapshot() == op._filter.snapshot()
    # the oldest key is forgotten by the next new one, so it is emitted again
    oldest = again._filter.snapshot()[0]
    assert rows_of(again.process(batch([{"a": -1}, {"a": 7}]))) == [{"a": -1}]
    assert oldest not in again._filter


def test_sort_across_batches_whose_column_types_differ():
    op = operator_for(node("SELECT a FROM t ORDER BY a DESC", P.SortNode))
    op.process(batch([{"a": 2}, {"a": None}]))
    op.process(batch([{"a": Decimal("2.50")}, {"a": 1}]))
    assert [r["a"] for r in rows_of(op.finish())] == [Decimal("2.50"), 2, 1, None]
