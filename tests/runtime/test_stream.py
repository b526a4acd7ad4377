"""velo-sql stream --continuous follows a growing file and stops cleanly on Ctrl-C."""

import json
import os
import selectors
import signal
import subprocess
import sys
import time

from tests.runtime.conftest import source

ROW = '{"id": %d, "v": %d}\n'


_pending = {}


def _readline(proc, timeout=10.0):
    """The next stdout line, waiting for it as an event (no fixed sleeps).

    Reads the raw descriptor into our own buffer: a buffered readline would swallow several
    lines at once and leave select() waiting for data that already arrived."""
    fd = proc.stdout.fileno()
    buffer = _pending.setdefault(fd, bytearray())
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while b"\n" not in buffer:
            if time.monotonic() >= deadline:
                raise AssertionError("no output within the timeout")
            if selector.select(timeout=deadline - time.monotonic()):
                chunk = os.read(fd, 65536)
                assert chunk, f"stream exited early: {proc.stderr.read()}"
                buffer.extend(chunk)
        line, _, rest = bytes(buffer).partition(b"\n")
        buffer[:] = rest
        return json.loads(line)
    finally:
        selector.close()


def test_continuous_stream_tails_the_file_and_stops_on_ctrl_c(tmp_path):
    path = tmp_path / "live.jsonl"
    path.write_text(ROW % (1, 10) + ROW % (2, 20))
    sql = "SELECT id, v * 2 AS doubled FROM live WHERE v > 0 " + source(path, "live")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "velostream.cli.main", "stream", "--continuous", "--format",
         "json-lines", "--query", sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert _readline(proc) == {"id": 1, "doubled": 20}
        assert _readline(proc) == {"id": 2, "doubled": 40}
        with open(path, "a") as handle:          # the file grows while the job runs
            handle.write(ROW % (3, 30) + ROW % (4, -1) + ROW % (5, 50))
        assert _readline(proc) == {"id": 3, "doubled": 60}
        assert _readline(proc) == {"id": 5, "doubled": 100}
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=5)
        stopped_after = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, proc.stderr.read()
    assert stopped_after < 1.0, f"took {stopped_after:.2f}s to stop"


def test_order_by_is_refused_on_a_continuous_stream(tmp_path):
    path = tmp_path / "live.jsonl"
    path.write_text(ROW % (1, 10))
    sql = "SELECT id FROM live ORDER BY id " + source(path, "live")
    out = subprocess.run([sys.executable, "-m", "velostream.cli.main", "stream", "--continuous",
                          "--query", sql], capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 1
    assert "ORDER BY needs a bounded input" in out.stderr
