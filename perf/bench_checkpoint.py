"""The cost of checkpoints: a file → file SELECT DISTINCT with no state dir (the baseline)
against the same job checkpointing every second to RocksDB and to SQLite.

Records: VELOSTREAM_PERF_RECORDS (default 1,000,000); about a third of them are distinct, so
the DISTINCT state grows to a few hundred thousand keys (each checkpoint writes the keys changed
since the last one: nearly all of them on this stream). Ratios are printed by perf/conftest.py.
"""

from __future__ import annotations

import os
import random
import shutil

import pytest

RECORDS = int(os.environ.get("VELOSTREAM_PERF_RECORDS", "1000000"))
ROUNDS = 3


@pytest.fixture(scope="module")
def events_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("checkpoint") / "events.jsonl"
    rng = random.Random(7)
    with open(path, "w") as out:
        out.writelines(f'{{"user": {rng.randrange(RECORDS // 4)}, "kind": "k{rng.randrange(4)}", '
                       f'"n": {i}}}\n' for i in range(RECORDS))
    return path


def _sql(source, out, state=""):
    return ("SELECT DISTINCT user, kind FROM events INTO out WITH ("
            f"'events.type' = 'file_source', 'events.path' = '{source}', "
            f"'out.type' = 'file_sink', 'out.path' = '{out}', 'out.format' = 'csv'{state})")


@pytest.mark.benchmark(group="DISTINCT file->file, checkpoints")
@pytest.mark.parametrize("backend", [None, "rocksdb", "sqlite"])
def test_distinct_file_to_file(benchmark, events_file, tmp_path, backend):
    from velostream import StreamApp

    out, state = tmp_path / "out.csv", tmp_path / "state"
    extra = "" if backend is None else (f", 'state.dir' = '{state}', 'state.backend' = "
                                        f"'{backend}', 'checkpoint.interval' = '1s'")
    sql = _sql(events_file, out, extra)

    def run():
        shutil.rmtree(state, ignore_errors=True)
        StreamApp(sql).run()

    benchmark.extra_info["ops"] = RECORDS
    if backend is None:
        benchmark.extra_info["baseline"] = True
    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    assert out.stat().st_size > 0


# ------------------------------------------------------------------ one checkpoint, 1M keys
REMEMBERED = int(os.environ.get("VELOSTREAM_PERF_DISTINCT_KEYS", "1000000"))
CHANGED = 1000


@pytest.mark.benchmark(group="one DISTINCT checkpoint, 1M keys remembered, 1000 rows since")
@pytest.mark.parametrize("backend", ["rocksdb", "sqlite"])
def test_one_distinct_checkpoint(benchmark, tmp_path, backend):
    """The DISTINCT operator's snapshot of ``REMEMBERED`` keys after ``CHANGED`` rows (half new
    keys, half repeats) since the last one, written and committed like a checkpoint."""
    from velostream._core import batch as B
    from velostream.plan.physical import DistinctNode
    from velostream.runtime.checkpoint import _OperatorView
    from velostream.runtime.operators import DistinctOperator
    from velostream.state.jobstate import _open_store
    from velostream.state.store import WriteBatch

    store = _open_store(backend, str(tmp_path / "store"))
    op = DistinctOperator(DistinctNode(max_keys=2 * REMEMBERED))
    op.process(B.RecordBatch(["n"], [B.int64_column(list(range(REMEMBERED)))]))
    rng = random.Random(11)
    fresh = iter(range(REMEMBERED, 1 << 62))

    def checkpoint():
        view = _OperatorView(store, "bench.0.")
        view.batch = WriteBatch()
        op.snapshot(view)
        store.commit(view.batch)

    def changes():
        rows = [next(fresh) if i % 2 else rng.randrange(REMEMBERED) for i in range(CHANGED)]
        op.process(B.RecordBatch(["n"], [B.int64_column(rows)]))
        return (), {}

    checkpoint()
    benchmark.extra_info["ops"] = 1
    benchmark.pedantic(checkpoint, setup=changes, rounds=5, iterations=1)
    store.close()
