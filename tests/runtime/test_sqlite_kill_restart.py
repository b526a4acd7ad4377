"""Kill -9 and restart: a checkpointed file → SQLite job's table equals one uninterrupted run.

The jobs of tests/runtime/test_kill_restart.py's input (its fixture and helpers), written into a
SQLite table by ``database_sink``: SIGKILLed when the table has committed a random share of its
final rows and in the middle of checkpoints (the pause hook: the SQLite transaction is committed,
the checkpoint store is not), the last kill in the final checkpoint; then run again until one
ends by itself. The insert-only job (SELECT DISTINCT) must leave exactly the rows of an
uninterrupted run with the same rowids (the restart deletes the rows past the committed count);
the upsert job (GROUP BY … EMIT CHANGES, one row per group) must converge to the same table.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys

import pytest

from tests.runtime.test_kill_restart import _kill, _wait_until, big_input  # noqa: F401 (fixture)
from velostream.runtime.checkpoint import PAUSE_AT_ENV, PAUSE_ENV

QUERIES = {
    "insert": "SELECT DISTINCT user, kind, n % 7 AS r FROM events",
    "upsert": ("SELECT kind, user % 100 AS bucket, COUNT(*) AS events, SUM(n) AS total, "
               "MAX(ts) AS last FROM events GROUP BY kind, user % 100 EMIT CHANGES"),
}


def _query(kind, source, db, state_dir):
    return (QUERIES[kind] + " INTO out WITH ("
            f"'events.type' = 'file_source', 'events.path' = '{source}', "
            "'events.batch.size' = '2000', "
            f"'out.type' = 'database_sink', 'out.url' = 'sqlite:///{db}', 'out.table' = 'out', "
            f"'state.dir' = '{state_dir}', 'checkpoint.interval' = '50ms')")


def _start(query, env=None):
    return subprocess.Popen([sys.executable, "-m", "velostream.cli.main", "execute", "-q", query],
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _table(db):
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT rowid, * FROM out ORDER BY rowid").fetchall()
    finally:
        conn.close()


def _committed_rows(db) -> int:
    if not os.path.exists(db):
        return 0
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT COUNT(*) FROM out").fetchone()[0]
    except sqlite3.OperationalError:      # not created yet
        return 0
    finally:
        conn.close()


@pytest.fixture(scope="module")
def reference(big_input, tmp_path_factory):  # noqa: F811 (the imported fixture)
    base = tmp_path_factory.mktemp("sqlite_reference")
    found = {}
    for kind in QUERIES:
        db = base / f"{kind}.db"
        done = _start(_query(kind, big_input, db, base / f"state_{kind}"))
        _, err = done.communicate()
        assert done.returncode == 0, err.decode()
        found[kind] = _table(db)
    assert len(found["upsert"]) == 4 * 100             # one current row per group
    assert len(found["insert"]) > 100_000
    return found


@pytest.mark.parametrize("kind", list(QUERIES))
def test_table_after_kills_and_restarts_equals_an_uninterrupted_run(kind, big_input,  # noqa: F811
                                                                    reference, tmp_path):
    seed = int(os.environ.get("VELOSTREAM_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    expected = reference[kind]
    db, state = tmp_path / "out.db", tmp_path / "state"
    query = _query(kind, big_input, db, state)
    plan = [("checkpoint", rng.randint(1, 2)), ("checkpoint", rng.randint(1, 3))]
    if kind == "insert":
        plan += [("rows", int(f * len(expected)))
                 for f in sorted(rng.uniform(0.1, 0.8) for _ in range(2))]
    else:
        plan += [("checkpoint", rng.randint(2, 4))]
    plan.append(("checkpoint", "final"))      # every row committed to SQLite, not checkpointed
    try:
        for i, (when, at) in enumerate(plan):
            if when == "checkpoint":
                marker = tmp_path / f"paused{i}"
                proc = _start(query, {PAUSE_ENV: str(marker), PAUSE_AT_ENV: str(at)})
                _wait_until(proc, marker.exists, f"pausing in checkpoint {at}")
            else:
                proc = _start(query)
                _wait_until(proc, lambda at=at: _committed_rows(db) >= at,
                            f"committing {at} rows")
            _kill(proc)
        last = _start(query)
        _, err = last.communicate()
        assert last.returncode == 0, err.decode()
        got = _table(db)
        assert len(got) == len(expected)
        # Upserts keep a row's rowid, and a group is first inserted in the same order in
        # every run: the upsert table is equal with its rowids too.
        assert got == expected
    except AssertionError as failure:
        raise AssertionError(f"kill plan {plan} (VELOSTREAM_KILL_SEED={seed}): "
                             f"{failure}") from None
