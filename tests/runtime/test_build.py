"""The job builder is the one place jobs are assembled: the CLI and every StreamApp entry point
go through it, and it wires the plan's nodes to operators, sources and sinks."""

import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from tests.runtime.conftest import W1, source, w1_oracle
from velostream import StreamApp
from velostream._core.batch import RecordBatch
from velostream.cli.main import cli
from velostream.connectors.memory import CollectingSink, MemorySource
from velostream.errors import ConfigError
from velostream.runtime import build
from velostream.runtime.build import RunOptions, build_job


@pytest.fixture
def built(monkeypatch):
    """Records every job build_job makes."""
    calls = []
    real = build.build_job

    def spy(plan, options=None, **kw):
        job = real(plan, options, **kw)
        calls.append(job)
        return job
    monkeypatch.setattr(build, "build_job", spy)
    return calls


def test_every_entry_point_builds_its_job_through_the_builder(built, trades):
    path, rows = trades
    sql = W1 + source(path)
    result = CliRunner().invoke(cli, ["execute", "--query", sql, "--format", "json-lines"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.output.splitlines()] == w1_oracle(rows)
    assert len(built) == 1

    app = StreamApp(sql)
    got = []
    app.on_output(got.extend)
    app.run()
    assert len(got) == len(w1_oracle(rows)) and len(built) == 2
    assert list(StreamApp(sql).results()) == got and len(built) == 3
    records = [{**r, "price": Decimal(r["price"])} for r in rows]
    assert StreamApp(sql).process(records) == got and len(built) == 4


def test_a_job_can_be_given_its_source_and_sink():
    app = StreamApp("SELECT a * 2 AS b FROM t WHERE a > 1 WITH ('t.type' = 'file_source', "
                    "'t.path' = 'never-opened.jsonl')")
    plan = app.plan(default_sink="stdout_sink")
    memory, collected = MemorySource("t"), CollectingSink()
    job = build_job(plan, RunOptions(), sources={"t": memory}, sinks={"stdout": collected})
    memory.put(RecordBatch.from_pylist([{"a": 1}, {"a": 2}, {"a": 3}]))
    job.step()
    assert collected.take().to_pylist() == [{"b": 4}, {"b": 6}]
    assert (job.metrics.records_in, job.metrics.records_out) == (3, 2)
    assert collected.take() is None


def test_a_query_without_from_runs_once():
    collected = CollectingSink()
    plan = StreamApp("SELECT 1 AS x, 'a' AS y").plan(default_sink="stdout_sink")
    job = build_job(plan, sinks={"stdout": collected})
    job.run()
    assert collected.take().to_pylist() == [{"x": 1, "y": "a"}]


def test_the_runs_limit_stops_reading(trades):
    path, _rows = trades
    plan = StreamApp(W1 + source(path)).plan(default_sink="stdout_sink")
    collected = CollectingSink()
    metrics = build_job(plan, RunOptions(limit=2), sinks={"stdout": collected}).run()
    assert collected.take().length == 2 and metrics.records_out == 2


def test_process_binds_the_job_settings_as_any_run_does(tmp_path):
    """StreamApp.process goes through the binder: a refused job key is refused there too, a
    -- CONFIG global and the caller's properties reach the run, and a source's file settings
    (for the file runs of the same SQL) are not read."""
    refused = StreamApp("SELECT a FROM t WITH ('t.type' = 'file_source', 't.path' = 'nowhere', "
                        "'use_transactions' = 'true')")
    with pytest.raises(ConfigError, match="'use_transactions' is not supported by this build"):
        refused.process([{"a": 1}])
    sql = tmp_path / "app.sql"
    sql.write_text("-- CONFIG: failure_strategy = FailBatch\n"
                   "SELECT 10 / a AS q FROM t;\n")
    with pytest.raises(Exception, match="division by zero"):
        StreamApp(file=sql).process([{"a": 1}, {"a": 0}])
    overridden = StreamApp(file=sql, properties={"failure_strategy": "LogAndContinue"})
    assert overridden.process([{"a": 5}, {"a": 0}]) == [{"q": 2.0}]
    assert overridden.metrics.records_failed == 1
