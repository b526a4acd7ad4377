"""Watermarks (DIALECT §5): per source, max event time − max_out_of_orderness; a window closes
when the watermark passes its end + allowed.lateness and emits exactly one final row; a record
whose windows are all closed is late — counted and dropped, or dead-lettered with the reason
"late"; lateness does not depend on batch boundaries; and an idle source's watermark advances
by processing time (``watermark.idle_timeout``) so `stream --continuous` still closes windows."""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tests.runtime.conftest import source
from tests.runtime.test_stream import _readline
from velostream.cli.main import cli

SQL = ("SELECT k, COUNT(*) AS n, SUM(v) AS sv, _window_start AS ws FROM t GROUP BY k "
       "WINDOW TUMBLING(1s) ")
# a@5000 moves the watermark to 5000: the window [0, 1000) closes, so a@100 after it is late.
EVENTS = [("a", 0, 1), ("a", 400, 2), ("a", 5000, 3), ("a", 100, 4), ("a", 5500, 5)]


def data(tmp_path, events=EVENTS):
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"k": k, "ts": ts, "v": v}) + "\n" for k, ts, v in events))
    return path


def run(sql, *extra):
    result = CliRunner().invoke(cli, ["execute", "--query", sql, "--format", "json-lines", *extra])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()], result.stderr


def props(path, extra=""):
    return source(path, "t", extra=", 't.event.time.field' = 'ts'" + extra)


@pytest.mark.parametrize("batch", ["1", "2", "1000"])
def test_a_late_record_is_counted_and_dropped_whatever_the_batch_size(tmp_path, batch):
    path = data(tmp_path)
    rows, err = run(SQL + props(path, f", 't.batch.size' = '{batch}'"))
    assert rows == [{"k": "a", "n": 2, "sv": 3, "ws": "1970-01-01T00:00:00.000Z"},
                    {"k": "a", "n": 2, "sv": 8, "ws": "1970-01-01T00:00:05.000Z"}]
    assert "late: 1" in err and "late record" in err


def test_max_out_of_orderness_keeps_the_window_open(tmp_path):
    path = data(tmp_path)
    rows, err = run(SQL + props(path, ", 't.watermark.max_out_of_orderness' = '5s'"))
    assert rows[0] == {"k": "a", "n": 3, "sv": 7, "ws": "1970-01-01T00:00:00.000Z"}
    assert "late" not in err


def test_allowed_lateness_closes_later_and_still_emits_one_final_row(tmp_path):
    path = data(tmp_path, EVENTS + [("a", 200, 6), ("a", 9000, 7), ("a", 300, 8)])
    rows, err = run(SQL + props(path)[:-1] + ", 'allowed.lateness' = '5s')")
    # a@100 and a@200 are within 1000 + 5000 of the watermark 5000; after a@9000 the watermark
    # 9000 passes 6000 and the window closes: a@300 is late. One row per window.
    first = [r for r in rows if r["ws"] == "1970-01-01T00:00:00.000Z"]
    assert first == [{"k": "a", "n": 4, "sv": 1 + 2 + 4 + 6, "ws": "1970-01-01T00:00:00.000Z"}]
    assert len(rows) == 3 and "late: 1" in err


def test_late_records_go_to_the_dead_letter_file_with_the_reason(tmp_path):
    path = data(tmp_path)
    dlq = tmp_path / "dlq.jsonl"
    rows, _ = run(SQL + props(path)[:-1] + f", 'late.data.strategy' = 'dead_letter', "
                  f"'dlq.path' = '{dlq}', 'failure_strategy' = 'FailBatch')")
    assert len(rows) == 2                      # FailBatch: a late record does not stop the job
    (entry,) = [json.loads(x) for x in dlq.read_text().splitlines()]
    assert entry["reason"] == "late" and entry["line"] == 4
    assert json.loads(entry["raw"]) == {"k": "a", "ts": 100, "v": 4}


def test_dead_letter_needs_a_dlq_path(tmp_path):
    path = data(tmp_path)
    result = CliRunner().invoke(cli, ["execute", "--query", SQL + props(path)[:-1] +
                                      ", 'late.data.strategy' = 'dead_letter')"])
    assert result.exit_code == 1 and "dlq.path" in result.stderr


def test_late_strategy_values_are_checked(tmp_path):
    path = data(tmp_path)
    result = CliRunner().invoke(cli, ["execute", "--query", SQL + props(path)[:-1] +
                                      ", 'late.data.strategy' = 'bin')"])
    assert result.exit_code == 1 and "late.data.strategy" in result.stderr


def test_the_watermark_operator_marks_each_row_and_advances_when_idle():
    from velostream._core import batch as B
    from velostream._core.windows import NO_WATERMARK
    from velostream.plan.physical import WatermarkNode
    from velostream.runtime.watermark import JobWatermark, WatermarkOperator

    now = [1000]
    op = WatermarkOperator(WatermarkNode("t", 100, 500), clock=lambda: now[0])
    job = JobWatermark([op])
    assert op.current() == NO_WATERMARK and job.advanced() is None
    batch = B.RecordBatch([], [], {"_event_time": B.int64_column([50, 400, 300], timestamp=True)})
    marked = op.process(batch).batches[0].meta["_watermark"]
    assert [marked.get(0) is None, marked.data[1], marked.data[2]] == [True, -50, 300]
    assert job.advanced() == 300 and job.advanced() is None
    now[0] += 499
    assert job.advanced(idle=True) is None        # not idle long enough
    now[0] += 1
    assert job.advanced() is None                 # a poll that found data: event time only
    assert job.advanced(idle=True) == 300 + 500   # idle: moves on with processing time


def test_idle_source_still_closes_its_windows_in_a_continuous_stream(tmp_path):
    path = tmp_path / "live.jsonl"
    path.write_text("".join(json.dumps({"k": "a", "ts": t, "v": 1}) + "\n" for t in (0, 300, 900)))
    sql = (SQL + source(path, "live", extra=", 'live.event.time.field' = 'ts', "
                        "'watermark.idle_timeout' = '200ms'")).replace("FROM t", "FROM live")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "velostream.cli.main", "stream", "--continuous", "--format",
         "json-lines", "--query", sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    try:
        # no record after ts 900: only the idle timeout can close [0, 1000)
        assert _readline(proc) == {"k": "a", "n": 3, "sv": 3, "ws": "1970-01-01T00:00:00.000Z"}
        with open(path, "a") as handle:
            handle.write(json.dumps({"k": "a", "ts": 1500, "v": 5}) + "\n")
        assert _readline(proc) == {"k": "a", "n": 1, "sv": 5, "ws": "1970-01-01T00:00:01.000Z"}
    finally:
        proc.kill()
        proc.wait(timeout=5)


# --------------------------------------------------------------------------- an oracle

def _windows_oracle(events, size, advance, ooo, lateness):
    """Tumbling/hopping in plain Python, record by record: (key, start) → values; late count."""
    top, groups, late = None, {}, 0
    for k, t, v in events:
        mark = None if top is None else top - ooo
        first = (t - size) // advance + 1
        starts = [j * advance for j in range(first, t // advance + 1)]
        open_ = [s for s in starts if mark is None or s + size + lateness > mark]
        if not open_:
            late += 1
        for s in open_:
            groups.setdefault((k, s), []).append(v)
        top = t if top is None else max(top, t)
    return sorted((k, s, len(vs), sum(vs)) for (k, s), vs in groups.items()), late


def _sessions_oracle(events, gap, ooo, lateness):
    top, sessions, late = None, {}, 0
    for k, t, v in events:
        mark = None if top is None else top - ooo
        mine = sessions.setdefault(k, [])
        hits = [s for s in mine if s[0] - gap < t < s[1] + gap and not (
            mark is not None and s[1] + gap + lateness <= mark)]
        if not hits:
            if mark is not None and t + gap + lateness <= mark:
                late += 1
            else:
                mine.append([t, t, [v]])
        else:
            first = hits[0]
            for other in hits[1:]:
                mine.remove(other)
                first[0], first[1] = min(first[0], other[0]), max(first[1], other[1])
                first[2].extend(other[2])
            first[0], first[1] = min(first[0], t), max(first[1], t)
            first[2].append(v)
        top = t if top is None else max(top, t)
    return sorted((k, s[0], len(s[2]), sum(s[2])) for k, ss in sessions.items() for s in ss), late


def _sliding_oracle(events, size, ooo, lateness):
    top, kept, out, late = None, [], [], 0
    for k, t, v in events:
        mark = None if top is None else top - ooo
        if mark is not None and t + lateness < mark:
            late += 1
        else:
            kept.append((k, t, v))
            inside = [x for kk, tt, x in kept if kk == k and t - size <= tt <= t]
            out.append((k, t - size, len(inside), sum(inside)))
        top = t if top is None else max(top, t)
    return sorted(out), late


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("window", ["TUMBLING(1s)", "HOPPING(1s, 250ms)", "SESSION(400ms)",
                                    "SLIDING(700ms)"])
def test_random_disorder_matches_the_record_by_record_oracle(tmp_path, seed, window):
    import random

    rng = random.Random(seed)
    events, clock = [], 0
    for i in range(300):
        clock += rng.randrange(0, 120)
        jitter = rng.choice([0, 0, 0, rng.randrange(0, 400), rng.randrange(0, 1500)])
        events.append((rng.choice("abc"), max(0, clock - jitter), i))
    ooo, lateness = rng.choice([0, 200]), rng.choice([0, 300])
    if window.startswith("SESSION"):
        want, late = _sessions_oracle(events, 400, ooo, lateness)
    elif window.startswith("SLIDING"):
        want, late = _sliding_oracle(events, 700, ooo, lateness)
    else:
        size, advance = (1000, 1000) if window.startswith("TUMBLING") else (1000, 250)
        want, late = _windows_oracle(events, size, advance, ooo, lateness)
    assert late > 0 and want
    path = data(tmp_path, events)
    sql = (f"SELECT k, COUNT(*) AS n, SUM(v) AS sv, "
           f"_window_start AS wst FROM t GROUP BY k WINDOW {window} ")
    for batch in ("1", "7", "100000"):
        rows, err = run(sql + props(path, f", 't.batch.size' = '{batch}', "
                                          f"'t.watermark.max_out_of_orderness' = '{ooo}ms'")[:-1]
                        + f", 'allowed.lateness' = '{lateness}ms')")
        got = sorted((r["k"], _ms(r["wst"]), r["n"], r["sv"]) for r in rows)
        assert got == want, f"batch.size={batch}"
        assert (f"late: {late}" in err), err


def _ms(text):
    import datetime

    moment = datetime.datetime.fromisoformat(text)
    return round(moment.timestamp() * 1000)
