"""Kill -9 and restart: a checkpointed file → file job's output is byte-identical to one run.

Real subprocesses (``python -m velostream.cli.main execute``) run a query with state — SELECT
DISTINCT, and a windowed GROUP BY whose windows close as the watermark moves (its accumulators,
open windows and watermark are checkpointed) — over a file that takes a second or so, with
``checkpoint.interval`` = 50ms (so that a job on a quiet machine still reaches the first and
second checkpoints the kills are planned in before it ends), and are SIGKILLed at random
points: when the output has grown past a random fraction of its final size, and in the middle
of a checkpoint (the test-only pause hook of runtime.checkpoint: the sinks are committed, the
store is not; the process says so with a marker file and waits to be killed), including the
last checkpoint of the run (its output complete with the JSON array's ``]``, not committed).
After each kill the same command runs again; the last run ends by itself. Both state backends; the RocksDB run
writes a JSON array (an end marker), the SQLite run CSV (a header). The seed is printed on
failure and can be set with VELOSTREAM_KILL_SEED.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from velostream.runtime.checkpoint import PAUSE_AT_ENV, PAUSE_ENV

ROWS = 300_000
KILLS_AT_SIZE = 3
KILLS_IN_CHECKPOINT = 2
POLL = 0.005          # how often the test looks for the event it waits for


@pytest.fixture(scope="module")
def big_input(tmp_path_factory):
    path = tmp_path_factory.mktemp("kill") / "events.jsonl"
    rng = random.Random(7)
    with open(path, "w") as out:
        out.writelines(f'{{"user": {rng.randrange(150_000)}, "kind": "k{rng.randrange(4)}", '
                       f'"n": {i}, "ts": {1_700_000_000_000 + 10 * i}}}\n' for i in range(ROWS))
    return path


QUERIES = {
    "distinct": "SELECT DISTINCT user, kind FROM events",
    # 300 windows of 10 s, each closed (and written) once the watermark passes it.
    "window": ("SELECT kind, _window_start AS start, COUNT(*) AS events, SUM(n) AS total, "
               "AVG(n) AS mean, MIN(user) AS low, MAX(user) AS high, "
               "COUNT(DISTINCT user) AS users FROM events GROUP BY kind "
               "WINDOW TUMBLING(ts, 10s) EMIT FINAL"),
}


def _query(source, state_dir, backend, kind="distinct"):
    return (QUERIES[kind] + " WITH ("
            f"'events.type' = 'file_source', 'events.path' = '{source}', "
            "'events.batch.size' = '2000', "
            f"'state.dir' = '{state_dir}', 'state.backend' = '{backend}', "
            "'checkpoint.interval' = '50ms')")


def _command(query, output):
    return [sys.executable, "-m", "velostream.cli.main", "execute", "-q", query,
            "--output-file", str(output)]


def _start(query, output, env=None):
    return subprocess.Popen(_command(query, output), env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_until(proc, ready, what):
    """Polls for ``ready()`` (an event in the file system) while ``proc`` runs."""
    while not ready():
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"the job ended ({proc.returncode}) before {what}: "
                                 f"{err.decode()[-2000:]}")
        time.sleep(POLL)


def _kill(proc):
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, f"ended by itself ({proc.returncode}): {err!r}"


def run_kill_plan(query, output, plan, tmp_path) -> None:
    """Run ``query`` into ``output`` once per step of ``plan``, killing it at each step —
    ``("checkpoint", n)``: paused inside checkpoint ``n``; ``("size", b)``: once ``output``
    holds ``b`` bytes — then once more to its end."""
    for i, (when, at) in enumerate(plan):
        if when == "checkpoint":
            marker = tmp_path / f"paused{i}"
            proc = _start(query, output, {PAUSE_ENV: str(marker), PAUSE_AT_ENV: str(at)})
            _wait_until(proc, marker.exists, f"pausing in checkpoint {at}")
        else:
            proc = _start(query, output)
            _wait_until(proc, lambda at=at: output.exists() and
                        output.stat().st_size >= at, f"writing {at} bytes")
        _kill(proc)
    last = _start(query, output)
    _, err = last.communicate()
    assert last.returncode == 0, err.decode()


@pytest.fixture(scope="module")
def reference(big_input, tmp_path_factory):
    """The uninterrupted runs' outputs, by (query, output suffix) (with state, without kills)."""
    base = tmp_path_factory.mktemp("reference")
    found = {}
    for kind in QUERIES:
        for suffix in (".json", ".csv"):
            output = base / f"{kind}{suffix}"
            done = subprocess.run(_command(_query(big_input, base / f"state{kind}{suffix}",
                                                  "sqlite", kind), output),
                                  check=False, capture_output=True)
            assert done.returncode == 0, done.stderr.decode()
            found[kind, suffix] = output.read_bytes()
    assert found["window", ".csv"].count(b"\n") == 1 + 4 * 300     # header + kinds × windows
    # Without a state dir the job writes the same bytes (checkpointing changes nothing).
    plain = base / "plain.json"
    stateful = _query(big_input, "x", "rocksdb")
    query = stateful.replace(
        ", 'state.dir' = 'x', 'state.backend' = 'rocksdb', 'checkpoint.interval' = '50ms'", "")
    assert "state.dir" not in query
    done = subprocess.run(_command(query, plain), check=False, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    assert plain.read_bytes() == found["distinct", ".json"]
    return found


@pytest.mark.parametrize("kind", list(QUERIES))
@pytest.mark.parametrize("backend, suffix", [("rocksdb", ".json"), ("sqlite", ".csv")])
def test_output_after_kills_and_restarts_is_byte_identical(backend, suffix, kind, big_input,
                                                           reference, tmp_path):
    seed = int(os.environ.get("VELOSTREAM_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    expected = reference[kind, suffix]
    output, state = tmp_path / f"out{suffix}", tmp_path / "state"
    query = _query(big_input, state, backend, kind)
    # Early kills in a checkpoint (the job is sure to reach them), then at growing sizes.
    plan = [("checkpoint", rng.randint(1, 2)) for _ in range(KILLS_IN_CHECKPOINT)]
    fractions = sorted(rng.uniform(0.1, 0.8) for _ in range(KILLS_AT_SIZE))
    plan += [("size", int(f * len(expected))) for f in fractions]
    plan.append(("checkpoint", "final"))      # the end marker is written, not committed
    try:
        run_kill_plan(query, output, plan, tmp_path)
        got = output.read_bytes()
        assert len(got) == len(expected)
        assert got == expected
    except AssertionError as failure:
        raise AssertionError(f"kill plan {plan} (VELOSTREAM_KILL_SEED={seed}): "
                             f"{failure}") from None
