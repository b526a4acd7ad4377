"""The cost of checkpoints: a file → file SELECT DISTINCT with no state dir (the baseline)
against the same job checkpointing every second to RocksDB and to SQLite.

Records: VELOSTREAM_PERF_RECORDS (default 1,000,000); about a third of them are distinct, so
the DISTINCT state grows to a few hundred thousand keys (each checkpoint writes it whole: the
DISTINCT operator snapshots its key set as one value). Ratios are printed by perf/conftest.py.
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
