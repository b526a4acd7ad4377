"""Kill -9 and restart while aggregate state is spilled to the store (runtime.group_state),
and of the other stateful operators: ORDER BY (held rows checkpointed incrementally), SESSION
windows, window functions (LAG, a moving average), HOPPING windows.

A 1 MiB ``'state.cache.max_bytes'`` holds about a thousand groups; the queries keep five to
twenty thousand, so groups are spilled, read back, checkpointed incrementally and (after a
kill) restored from the store alone. The output after SIGKILLs — at random sizes and inside
checkpoints — and restarts is byte-identical to an uninterrupted run without a state dir, for
RocksDB and SQLite. Same subprocess helpers as test_kill_restart; the seed is printed on
failure and can be set with VELOSTREAM_KILL_SEED.
"""

from __future__ import annotations

import os
import random
import subprocess

import pytest

from .test_kill_restart import _command, run_kill_plan

ROWS = 100_000
QUERIES = {
    # a running row per record; the group of most records was spilled since its last one
    "changes": ("SELECT user % 20000 AS u, COUNT(*) AS events, SUM(n) AS total, "
                "MAX(kind) AS top FROM events GROUP BY user % 20000"),
    # 4 windows of 5,000 groups, each closed by the watermark and read back from the store
    "windows": ("SELECT user % 5000 AS u, _window_start AS start, COUNT(*) AS events, "
                "AVG(n) AS mean, COUNT(DISTINCT kind) AS kinds FROM events "
                "GROUP BY user % 5000 WINDOW TUMBLING(ts, 300s) EMIT FINAL"),
    # ORDER BY holds every row until the end; its checkpoints append the rows since the last
    "ordered": "SELECT user, kind, n FROM events ORDER BY user DESC, n",
    # sessions (runtime.session_state): merged, closed and checkpointed incrementally
    "sessions": ("SELECT user % 500 AS u, _window_start AS start, _window_end AS stop, "
                 "COUNT(*) AS events, SUM(n) AS total FROM events "
                 "GROUP BY user % 500 WINDOW SESSION(ts, 3s) EMIT FINAL"),
    # window functions: LAG and a moving average per partition
    "lag": ("SELECT kind, n, LAG(n) OVER (PARTITION BY kind ORDER BY ts) AS prev, "
            "AVG(n) OVER (PARTITION BY kind ORDER BY ts ROWS BETWEEN 4 PRECEDING AND "
            "CURRENT ROW) AS moving FROM events"),
    "hopping": ("SELECT kind, _window_start AS start, COUNT(*) AS events, MAX(user) AS top "
                "FROM events GROUP BY kind WINDOW HOPPING(ts, 60s, 20s) EMIT FINAL"),
}


@pytest.fixture(scope="module")
def events(tmp_path_factory):
    path = tmp_path_factory.mktemp("spill") / "events.jsonl"
    rng = random.Random(11)
    with open(path, "w") as out:
        out.writelines(f'{{"user": {rng.randrange(150_000)}, "kind": "k{rng.randrange(4)}", '
                       f'"n": {i}, "ts": {1_700_000_000_000 + 10 * i}}}\n' for i in range(ROWS))
    return path


def _query(kind, source, state_dir=None, backend=None):
    settings = (f", 'state.dir' = '{state_dir}', 'state.backend' = '{backend}', "
                "'state.cache.max_bytes' = '1048576', 'checkpoint.interval' = '50ms'"
                if state_dir else "")
    # ORDER BY and HOPPING by kind run fast and write little: small batches, so that the run takes
    # the checkpoints the kills are planned in
    size = 100 if kind in ("ordered", "hopping") else 1000
    return (QUERIES[kind] + " WITH ('events.type' = 'file_source', "
            f"'events.path' = '{source}', 'events.batch.size' = '{size}'{settings})")


@pytest.fixture(scope="module")
def reference(events, tmp_path_factory):
    base = tmp_path_factory.mktemp("spill_reference")
    found = {}
    for kind in QUERIES:
        for suffix in (".json", ".csv"):
            output = base / f"{kind}{suffix}"
            done = subprocess.run(_command(_query(kind, events), output), check=False,
                                  capture_output=True)
            assert done.returncode == 0, done.stderr.decode()
            found[kind, suffix] = output.read_bytes()
    assert found["windows", ".csv"].count(b"\n") > 4 * 4000
    assert found["changes", ".csv"].count(b"\n") == 1 + ROWS
    return found


@pytest.mark.parametrize("kind", list(QUERIES))
@pytest.mark.parametrize("backend, suffix", [("rocksdb", ".json"), ("sqlite", ".csv")])
def test_spilled_state_survives_kills_byte_for_byte(kind, backend, suffix, events, reference,
                                                    tmp_path):
    seed = int(os.environ.get("VELOSTREAM_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    expected = reference[kind, suffix]
    output = tmp_path / f"out{suffix}"
    query = _query(kind, events, tmp_path / "state", backend)
    # the first periodic checkpoint: every job here runs past it (the fast ones barely)
    plan = [("checkpoint", 1)]
    plan += [("size", int(f * len(expected))) for f in sorted(rng.uniform(0.1, 0.9)
                                                                for _ in range(3))]
    try:
        run_kill_plan(query, output, plan, tmp_path)
        assert output.read_bytes() == expected
    except AssertionError as failure:
        raise AssertionError(f"kill plan {plan} (VELOSTREAM_KILL_SEED={seed}): "
                             f"{failure}") from None
