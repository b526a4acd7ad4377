"""Checkpoints in process: the fingerprint, positions, the file sink's commit and truncation,
resuming after a crash (a sink that raises), refusals and the CLI's --reset-state.

The kill -9 test with real processes is test_kill_restart.py."""

from __future__ import annotations

import json
import logging
import os
import threading
import time

import pytest
from click.testing import CliRunner

from velostream.app import StreamApp
from velostream.cli.main import cli
from velostream.connectors.base import FilePosition, Sink, SinkContext
from velostream.connectors.file import FileSink
from velostream.errors import ConfigError
from velostream.plan.bind import EndpointConfig, OutputOverride
from velostream.runtime import checkpoint as C
from velostream.runtime.build import RunOptions, build_job
from velostream.state.jobstate import StateDirError

BACKENDS = ["rocksdb", "sqlite"]
ROWS = 3000


@pytest.fixture
def events(tmp_path):
    path = tmp_path / "events.jsonl"
    with open(path, "w") as out:
        out.writelines(f'{{"user": {(i * 7919) % 1000}, "kind": "k{i % 3}", "n": {i}}}\n'
                       for i in range(ROWS))
    return path


def _sql(source, state_dir=None, backend="sqlite", extra="", select="DISTINCT user, kind"):
    state = (f", 'state.dir' = '{state_dir}', 'state.backend' = '{backend}', "
             "'checkpoint.interval' = '1ms'") if state_dir else ""
    return (f"SELECT {select} FROM events WITH ('events.type' = 'file_source', "
            f"'events.path' = '{source}', 'events.batch.size' = '100'{state}{extra})")


def _plan(sql, output, fmt=None):
    return StreamApp(sql).plan(default_sink="stdout_sink",
                               output=OutputOverride(fmt, str(output)))


def _run(sql, output, fmt=None, **options):
    return build_job(_plan(sql, output, fmt), RunOptions(**options)).run()


class Crash(Exception):
    pass


class CrashingSink(Sink):
    """Raises on its ``after``-th batch: the job dies mid-run (its finally still closes)."""

    name = "crash"

    def __init__(self, after):
        self.after, self.seen = after, 0

    def write(self, batch):
        self.seen += 1
        if self.seen >= self.after:
            raise Crash(f"crash at batch {self.seen}")


def _reference(events, tmp_path, fmt=None, suffix=".csv", **kw):
    output = tmp_path / f"reference{suffix}"
    _run(_sql(events, **kw), output, fmt)
    return output.read_bytes()


# ------------------------------------------------------------------------------ fingerprint
def _fingerprint(sql, output="out.csv"):
    return C.fingerprint(_plan(sql, output))


def test_fingerprint_ignores_spelling_and_operational_settings():
    base = _fingerprint(_sql("in.jsonl", "st"))
    respelled = _sql("in.jsonl", "st").replace("SELECT DISTINCT user, kind FROM",
                                               "select  distinct\n user,kind   from")
    assert _fingerprint(respelled) == base
    operational = _sql("in.jsonl", "other", backend="rocksdb").replace("'1ms'", "'5s'") \
        .replace("'100'", "'7'")
    assert _fingerprint(operational) == base


@pytest.mark.parametrize("change", [
    lambda s: s.replace("DISTINCT user, kind", "DISTINCT user"),
    lambda s: s.replace("FROM events WITH", "FROM events WHERE n > 3 WITH"),
    lambda s: s.replace("in.jsonl", "other.jsonl"),
    lambda s: s.replace(")", ", 'distinct.max_keys' = '10')"),
])
def test_fingerprint_changes_with_what_changes_results(change):
    sql = _sql("in.jsonl", "st")
    assert _fingerprint(change(sql)) != _fingerprint(sql)
    assert _fingerprint(sql, "elsewhere.csv") != _fingerprint(sql)


@pytest.mark.parametrize("position", [
    FilePosition(),
    FilePosition(1234, 56, 1, ("a", "b,c", "é"), 0, 0),      # a CSV header
    FilePosition(99, 3, 17, True, 4, 1),                    # inside a JSON document
    FilePosition(0, 1, 1, None, 70, 0),                     # a whole-file format's rows
])
def test_positions_round_trip_through_json(position):
    data = json.loads(json.dumps(C.encode_position(position)))
    assert C.decode_position(data) == position


def test_a_position_that_cannot_be_recorded_says_so():
    with pytest.raises(TypeError, match="holds a set"):
        C.encode_position(FilePosition(state={1}))


def test_checkpoint_interval_is_a_duration_setting(events, tmp_path):
    sql = _sql(events, tmp_path / "st")
    assert _plan(sql, tmp_path / "o.csv").setting("checkpoint.interval") == 1
    assert _plan(sql.replace("'1ms'", "'200ms'"), "o.csv").setting("checkpoint.interval") == 200
    assert _plan(sql.replace("'1ms'", "'1s'"), "o.csv").setting("checkpoint.interval") == 1000
    with pytest.raises(ConfigError, match="checkpoint.interval: must be a duration"):
        _plan(sql.replace("'1ms'", "'soon'"), "o.csv").setting("checkpoint.interval")
    assert StreamApp(_sql(events)).plan(default_sink="stdout_sink") \
        .setting("checkpoint.interval") == 5000


# ------------------------------------------------------------------------------ the file sink
def _sink(path, fmt, resume=None):
    endpoint = EndpointConfig("out", "sink", "file_sink", {"path": str(path)})
    return FileSink(endpoint, SinkContext(format_override=fmt, resume_length=resume))


def _batch(rows):
    from velostream._core.batch import RecordBatch

    return RecordBatch.from_pylist(rows)


@pytest.mark.parametrize("fmt, parse", [
    ("json", json.loads),
    ("json-pretty", json.loads),
    ("csv", lambda text: text.splitlines()),
    ("json-lines", lambda text: text.splitlines()),
])
def test_a_reopened_sink_cuts_back_to_its_commit_and_continues_the_format(tmp_path, fmt, parse):
    first, lost, second = [{"a": 1}, {"a": 2}], [{"a": 666}], [{"a": 3}]
    whole = tmp_path / "whole"
    sink = _sink(whole, fmt)
    for rows in (first, second):
        sink.write(_batch(rows))
    sink.close()

    path = tmp_path / "resumed"
    sink = _sink(path, fmt)
    sink.write(_batch(first))
    committed = sink.commit()
    assert committed == os.path.getsize(path) > 0
    sink.write(_batch(lost))              # written after the checkpoint: a crash loses it
    sink.close()                          # (and its end marker)
    resumed = _sink(path, fmt, resume=committed)
    resumed.write(_batch(second))
    assert resumed.commit(final=True) == os.path.getsize(path)
    resumed.close()
    assert path.read_bytes() == whole.read_bytes()
    assert b"666" not in path.read_bytes()
    parse(path.read_text())               # a valid document


def test_a_sink_file_shorter_than_its_commit_is_refused(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("a\n1\n")
    with pytest.raises(ConfigError, match=r"has 4 bytes, but the job's checkpoint committed 10 "
                                          r"bytes of it.*--reset-state"):
        _sink(path, "csv", resume=10)
    with pytest.raises(ConfigError, match="is missing"):
        _sink(tmp_path / "gone.csv", "csv", resume=10)


# ------------------------------------------------------------------------------ resuming
def _as_format(events, fmt):
    """The events file as CSV (a header: decoder state) or one JSON array (a document cut
    between elements: decoder state and rows to skip)."""
    rows = [json.loads(line) for line in events.read_text().splitlines()]
    if fmt == "csv":
        path = events.with_suffix(".csv")
        path.write_text("user,kind,n\n" + "".join(f"{r['user']},{r['kind']},{r['n']}\n"
                                                   for r in rows))
    else:
        path = events.with_suffix(".json")
        path.write_text("[\n" + ",\n".join(json.dumps(r) for r in rows) + "\n]\n")
    return path


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("input_format", ["csv", "json"])
def test_inputs_with_decoder_state_resume_exactly(events, tmp_path, backend, input_format):
    source = _as_format(events, input_format)
    expected = _reference(events, tmp_path)
    state, output = tmp_path / "state", tmp_path / "out.csv"
    sql = _sql(source, state, backend).replace(
        "'events.batch.size'", f"'events.format' = '{input_format}', 'events.batch.size'")
    for after in (4, 11):
        with pytest.raises(Crash):
            _run(sql, output, extra_sinks=[CrashingSink(after)])
    metrics = _run(sql, output)
    assert output.read_bytes() == expected
    assert 0 < metrics.records_in < ROWS


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fmt, suffix", [(None, ".csv"), ("json", ".json")])
def test_a_job_resumes_after_crashes_with_the_same_output(events, tmp_path, backend, fmt,
                                                          suffix):
    expected = _reference(events, tmp_path, fmt, suffix)
    state, output = tmp_path / "state", tmp_path / f"out{suffix}"
    sql = _sql(events, state, backend)
    for after in (3, 9, 14):
        with pytest.raises(Crash):
            _run(sql, output, fmt, extra_sinks=[CrashingSink(after)])
    metrics = _run(sql, output, fmt)
    assert output.read_bytes() == expected
    # It resumed: the last run read only what came after the last checkpoint.
    assert 0 < metrics.records_in < ROWS


@pytest.mark.parametrize("backend", BACKENDS)
def test_limit_is_restored(events, tmp_path, backend):
    expected = _reference(events, tmp_path, select="user, n").splitlines()[:1 + 450]
    state, output = tmp_path / "state", tmp_path / "out.csv"
    sql = _sql(events, state, backend, select="user, n").replace("FROM events WITH", "FROM events LIMIT 450 WITH")
    with pytest.raises(Crash):
        _run(sql, output, extra_sinks=[CrashingSink(3)])
    _run(sql, output)
    assert output.read_bytes().splitlines() == expected


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_finished_run_is_not_run_again(events, tmp_path, backend, caplog):
    state, output = tmp_path / "state", tmp_path / "out.csv"
    sql = _sql(events, state, backend)
    _run(sql, output)
    done = output.read_bytes()
    with caplog.at_level(logging.WARNING, logger="velostream"):
        metrics = _run(sql, output)
    assert metrics.records_in == 0 and output.read_bytes() == done
    assert "is of a run that finished; nothing to do (--reset-state runs it again)" in caplog.text


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_changed_query_is_refused_and_the_output_kept(events, tmp_path, backend):
    state, output = tmp_path / "state", tmp_path / "out.csv"
    with pytest.raises(Crash):
        _run(_sql(events, state, backend), output, extra_sinks=[CrashingSink(5)])
    before = output.read_bytes()
    with pytest.raises(StateDirError) as info:
        _run(_sql(events, state, backend, select="DISTINCT user"), output)
    message = str(info.value)
    assert f"state directory {state / 'job_1'}" in message
    assert "was written by a different query" in message and "--reset-state" in message
    assert output.read_bytes() == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_truncated_input_is_refused(events, tmp_path, backend):
    state, output = tmp_path / "state", tmp_path / "out.csv"
    sql = _sql(events, state, backend)
    with pytest.raises(Crash):
        _run(sql, output, extra_sinks=[CrashingSink(12)])
    data = events.read_bytes()
    events.write_bytes(data[:100])
    with pytest.raises(StateDirError, match=r"input .*events.jsonl is shorter \(100 bytes\) than "
                                           r"the checkpointed position"):
        _run(sql, output)


def test_reset_state_starts_over(events, tmp_path):
    expected = _reference(events, tmp_path)
    state, output = tmp_path / "state", tmp_path / "out.csv"
    sql = _sql(events, state, "sqlite")
    with pytest.raises(Crash):
        _run(sql, output, extra_sinks=[CrashingSink(9)])
    runner = CliRunner()
    changed = _sql(events, state, "sqlite", select="DISTINCT user")
    refused = runner.invoke(cli, ["execute", "-q", changed, "--output-file", str(output)])
    assert refused.exit_code == 1 and "--reset-state" in refused.output
    result = runner.invoke(cli, ["execute", "-q", sql, "--output-file", str(output),
                                 "--reset-state"])
    assert result.exit_code == 0, result.output
    assert output.read_bytes() == expected


def test_without_a_state_dir_there_are_no_checkpoints(events, tmp_path):
    job = build_job(_plan(_sql(events), tmp_path / "o.csv"), RunOptions())
    assert job.open_checkpoints is None
    job.run()
    assert not any(p.name.startswith("state") for p in tmp_path.iterdir())


def test_stdout_is_at_least_once_and_says_so(events, tmp_path, caplog, capsys):
    plan = StreamApp(_sql(events, tmp_path / "st")).plan(default_sink="stdout_sink")
    with caplog.at_level(logging.WARNING, logger="velostream"):
        build_job(plan, RunOptions()).run()
    assert "sink stdout is at-least-once" in caplog.text


def test_memory_state_is_refused_with_a_state_dir(events, tmp_path):
    with pytest.raises(ConfigError, match="'state.backend' = 'memory' keeps nothing"):
        build_job(_plan(_sql(events, tmp_path / "st", backend="memory"), tmp_path / "o.csv"),
                  RunOptions())


def test_order_by_resumes_its_held_rows_and_checkpoints_only_the_new_ones(tmp_path):
    from velostream._core import batch as B
    from velostream.plan.physical import SortNode, plan_job
    from velostream.runtime.operators import SortOperator
    from velostream.state.store import MemoryStore

    sql = ("SELECT k, v, d FROM t ORDER BY v DESC, k WITH ('t.type' = 'file_source', "
           "'t.path' = 'x.jsonl')")
    plan = StreamApp(sql).plan(default_sink="stdout_sink")
    node = next(n for n in plan_job(plan).nodes() if isinstance(n, SortNode))

    def batch(lo, hi):
        return B.RecordBatch(["k", "v", "d"], [
            B.string_column([f"k{i % 3}" for i in range(lo, hi)]),
            B.int64_column([i % 4 for i in range(lo, hi)]),
            B.decimal_column([f"{i}.50" for i in range(lo, hi)])],
            {"_line": B.int64_column(list(range(lo, hi)))})

    whole = SortOperator(node)
    for lo in range(0, 12, 3):
        whole.process(batch(lo, lo + 3))
    want = [b.to_pylist() for b in whole.finish().batches]
    store, first = MemoryStore(), SortOperator(node)
    first.process(batch(0, 3))
    first.process(batch(3, 6))
    first.snapshot(store)
    first.process(batch(6, 9))
    first.snapshot(store)
    assert len(store.table("sort")) == 3          # one entry per held batch, written once
    again = SortOperator(node)
    again.restore(store)
    again.process(batch(9, 12))
    got = [b.to_pylist() for b in again.finish().batches]
    assert got == want and str(got[0][0]["d"]) == "3.50"


def test_a_sink_that_is_not_a_regular_file_cannot_be_checkpointed(events, tmp_path):
    if not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null")
    with pytest.raises(ConfigError, match="is not a regular file"):
        _run(_sql(events, tmp_path / "st"), "/dev/null", "csv")


def _follow_until(sql, output, lines):
    """Runs ``sql`` as a follower until ``output`` has ``lines`` lines, then stops it."""
    stop = threading.Event()
    job = build_job(_plan(sql, output), RunOptions(continuous=True, stop_event=stop,
                                                   poll_timeout=0.01))
    result = []
    worker = threading.Thread(target=lambda: result.append(job.run()))
    worker.start()
    try:
        while not (output.exists() and output.read_bytes().count(b"\n") >= lines):
            assert worker.is_alive(), "the follower ended by itself"
            time.sleep(0.005)
    finally:
        stop.set()
        worker.join(30)
    assert result, "the follower failed"
    return result[0]


def test_a_stopped_follower_resumes_where_it_stopped(tmp_path):
    source, output, state = tmp_path / "in.jsonl", tmp_path / "out.csv", tmp_path / "state"
    rows = [f'{{"user": {i % 70}, "kind": "k{i % 2}", "n": {i}}}\n' for i in range(600)]
    source.write_text("".join(rows[:300]))
    sql = _sql(source, state, "sqlite")
    first = _follow_until(sql, output, 1 + 70)
    with open(source, "a") as more:
        more.write("".join(rows[300:]) + '{"user": 999, "kind": "new", "n": 600}\n')
    metrics = _follow_until(sql, output, 1 + 70 + 1)
    assert first.records_in + metrics.records_in == 601   # each record read once
    whole = tmp_path / "whole.jsonl"
    whole.write_bytes(source.read_bytes())
    assert output.read_bytes() == _reference(whole, tmp_path)


@pytest.mark.parametrize("backend", BACKENDS)
def test_dead_letters_are_written_once_across_crashes(events, tmp_path, backend):
    lines = events.read_text().splitlines(keepends=True)
    for i in range(50, ROWS, 200):
        lines[i] = '{"user": oops}\n'              # a record that does not decode
    events.write_text("".join(lines))

    def entries(path):
        found = [json.loads(line) for line in path.read_text().splitlines()]
        for entry in found:
            entry.pop("failed_at")                 # the wall clock of the run that wrote it
        return found

    dlq = ", 'failure_strategy' = 'SendToDLQ', 'dlq.path' = '{}'"
    expected = _reference(events, tmp_path, extra=dlq.format(tmp_path / "dead0.jsonl"))
    want = entries(tmp_path / "dead0.jsonl")
    assert len(want) == len(range(50, ROWS, 200))
    state, output, dead = tmp_path / "state", tmp_path / "out.csv", tmp_path / "dead.jsonl"
    sql = _sql(events, state, backend, extra=dlq.format(dead))
    for after in (5, 13):
        with pytest.raises(Crash):
            _run(sql, output, extra_sinks=[CrashingSink(after)])
    _run(sql, output)
    assert output.read_bytes() == expected
    assert entries(dead) == want


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_damaged_checkpoint_record_is_reported(events, tmp_path, backend):
    from velostream.state.jobstate import open_job_state

    state, output = tmp_path / "state", tmp_path / "out.csv"
    sql = _sql(events, state, backend)
    with pytest.raises(Crash):
        _run(sql, output, extra_sinks=[CrashingSink(5)])
    plan = _plan(sql, output)
    job_state = open_job_state(plan, C.fingerprint(plan))
    job_state.store.put(C.TABLE, C.META_KEY, b"{not json")
    job_state.store.commit()
    job_state.close()
    with pytest.raises(StateDirError, match=r"its checkpoint record cannot be read.*"
                                            r"--reset-state"):
        _run(sql, output)


def test_reset_state_without_a_state_dir_says_there_is_nothing_to_reset(events, tmp_path,
                                                                         caplog):
    with caplog.at_level(logging.WARNING, logger="velostream"):
        _run(_sql(events), tmp_path / "o.csv", reset_state=True)
    assert "--reset-state: the job has no 'state.dir'" in caplog.text
