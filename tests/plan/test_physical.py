"""The physical planner: which operators a query gets, in which order, and EXPLAIN's text."""

import pytest
from click.testing import CliRunner

from velostream import StreamApp
from velostream.cli.main import cli
from velostream.errors import SqlValidationError
from velostream.plan import physical as P

SRC = " WITH ('t.type' = 'file_source', 't.path' = 'in.jsonl')"


def planned(sql, **kw):
    return P.plan_job(StreamApp(sql + SRC).plan(default_sink="stdout_sink"), **kw)


def kinds(plan):
    return [node.kind for node in plan.nodes()]


def test_the_stateless_operators_in_data_flow_order():
    plan = planned("SELECT DISTINCT a, b FROM t WHERE a > 1 ORDER BY b LIMIT 5")
    assert kinds(plan) == ["Sink", "Limit", "Sort", "Distinct", "Project", "Filter", "EventTime",
                           "Scan"]


def test_only_the_operators_a_query_needs():
    assert kinds(planned("SELECT a FROM t")) == ["Sink", "Project", "EventTime", "Scan"]
    no_from = P.plan_job(StreamApp("SELECT 1 AS x").plan(default_sink="stdout_sink"))
    assert kinds(no_from) == ["Sink", "Project", "Values"]


def test_fields_are_pushed_down_to_the_scan_and_star_reads_everything():
    scan = planned("SELECT a, b * 2 AS c FROM t WHERE d > 0").scans[0]
    assert scan.fields == ["a", "b", "d"]
    assert planned("SELECT * FROM t").scans[0].fields is None


def test_the_event_time_field_is_read_even_when_not_selected():
    sql = ("SELECT a FROM t WITH ('t.type' = 'file_source', 't.path' = 'x.jsonl', "
           "'t.event.time.field' = 'ts', 't.event.time.format' = 'epoch_seconds')")
    plan = P.plan_job(StreamApp(sql).plan(default_sink="stdout_sink"))
    assert "ts" in plan.scans[0].fields
    stage = next(n for n in plan.nodes() if isinstance(n, P.EventTimeNode))
    assert (stage.field, stage.fmt) == ("ts", "epoch_seconds")


def test_the_smaller_limit_wins():
    assert next(n for n in planned("SELECT a FROM t LIMIT 10", limit=3).nodes()
                if isinstance(n, P.LimitNode)).limit == 3
    assert next(n for n in planned("SELECT a FROM t LIMIT 2", limit=30).nodes()
                if isinstance(n, P.LimitNode)).limit == 2


def test_order_by_keys_output_columns_positions_and_hidden_expressions():
    plan = planned("SELECT a, b AS bee FROM t ORDER BY bee DESC, 1, c + 1 NULLS FIRST")
    sort = next(n for n in plan.nodes() if isinstance(n, P.SortNode))
    assert [(k.position, k.hidden, k.descending, k.nulls_first) for k in sort.keys] == [
        (1, None, True, False), (0, None, False, False), (None, 0, False, True)]
    assert sort.hidden == 1
    project = next(n for n in plan.nodes() if isinstance(n, P.ProjectNode))
    assert [str(h) for h in project.projection.hidden] == ["c + 1"]


def test_order_by_on_an_unbounded_input_is_refused_with_its_position():
    with pytest.raises(SqlValidationError) as err:
        planned("SELECT a FROM t\nORDER BY a", bounded=False)
    assert "bounded input" in str(err.value) and err.value.line == 2


def test_distinct_with_order_by_on_a_non_output_expression_is_refused():
    with pytest.raises(SqlValidationError, match="must name output columns"):
        planned("SELECT DISTINCT a FROM t ORDER BY c")


def test_explain_is_a_tree_with_each_operators_settings():
    text = planned("SELECT DISTINCT a FROM t WHERE a > 1 ORDER BY a DESC LIMIT 5").explain()
    assert text.splitlines() == [
        "Sink: stdout (stdout_sink)",
        "  Limit: fetch=5",
        "    Sort: a DESC NULLS LAST",
        "      Distinct: key=all output columns, max_keys=1000000",
        "        Project: a",
        "          Filter: a > 1",
        "            EventTime: source=t, from=_timestamp",
        "              Scan: source=t, type=file_source, path=in.jsonl, fields=[a]",
    ]


def test_the_scan_reads_the_fields_an_order_by_on_an_alias_does_not_need():
    scan = planned("SELECT a * 2 AS notional FROM t ORDER BY notional, b").scans[0]
    assert scan.fields == ["a", "b"]      # notional is the output column, b a hidden key


def test_velo_sql_explain_prints_the_plan_of_every_job(tmp_path):
    app = tmp_path / "app.sql"
    app.write_text("-- JOB: one\nSELECT a FROM t WHERE a > 1" + SRC + ";\n"
                   "-- JOB: two\nSELECT b FROM t" + SRC + ";\n")
    result = CliRunner().invoke(cli, ["explain", "--file", str(app)])
    assert result.exit_code == 0, result.output
    assert "-- job one" in result.output and "-- job two" in result.output
    assert "Filter: a > 1" in result.output and "Project: b" in result.output
    only = CliRunner().invoke(cli, ["explain", "--file", str(app), "--job", "two"])
    assert "Filter" not in only.output and "Project: b" in only.output


def test_velo_sql_explain_reports_a_bad_query_with_a_caret():
    result = CliRunner().invoke(cli, ["explain", "--query", "SELECT a FROM t ORDER BY a" + SRC,
                                      "--continuous"])
    assert result.exit_code != 0
    assert "bounded input" in result.output and "^" in result.output


def test_output_file_is_bound_as_a_file_sink_and_shown_by_explain(tmp_path):
    from velostream.plan.bind import OutputOverride

    out = tmp_path / "o.json"
    app = StreamApp("SELECT a FROM t" + SRC)
    plan = app.plan(default_sink="stdout_sink", output=OutputOverride("json-pretty", str(out)))
    (sink,) = plan.sinks
    assert (sink.type, sink.get("path"), sink.context["format_override"]) == (
        "file_sink", str(out), "json-pretty")
    assert P.plan_job(plan).explain().startswith(f"Sink: output (file_sink, path={out})")
    stdout = app.plan(default_sink="stdout_sink", output=OutputOverride("csv"))
    assert stdout.sinks[0].context == {"format_override": "csv"}


def test_output_file_for_a_query_with_into_names_the_flag():
    from velostream.errors import ConfigError
    from velostream.plan.bind import OutputOverride

    sql = ("SELECT a FROM t INTO d WITH ('t.type' = 'file_source', 't.path' = 'in.jsonl', "
           "'d.type' = 'file_sink', 'd.path' = 'out.jsonl')")
    with pytest.raises(ConfigError) as err:
        StreamApp(sql).plan(output=OutputOverride(None, "x.jsonl"))
    assert err.value.key == "--output-file" and "writes INTO d" in str(err.value)


def test_explain_statement_prints_the_plan_and_runs_nothing(tmp_path):
    from velostream.errors import ConfigError

    missing = tmp_path / "never-read.jsonl"
    sql = f"EXPLAIN SELECT a FROM t WHERE a > 1 WITH ('t.type' = 'file_source', 't.path' = '{missing}')"
    result = CliRunner().invoke(cli, ["execute", "--query", sql])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Sink: stdout (stdout_sink)"
    assert "Filter: a > 1" in result.output
    app = StreamApp(sql)
    assert app.explain_only and "Filter: a > 1" in app.explain()
    with pytest.raises(ConfigError, match="EXPLAIN"):
        app.run()
    with pytest.raises(ConfigError, match="EXPLAIN"):
        app.process([{"a": 2}])


def test_a_plan_can_hold_several_sources():
    """Multi-source jobs are representable (the join issue plans them): a node reads any number
    of inputs, and the plan's scans and EXPLAIN show each source."""
    one = planned("SELECT a FROM t")
    other = planned("SELECT b FROM t")
    left, right = one.root.inputs[0], other.root.inputs[0]
    both = P.PhysicalPlan(P.SinkNode(one.root.endpoints, inputs=[P.PlanNode(inputs=[left, right])]))
    assert len(both.scans) == 2
    text = both.explain().splitlines()
    assert text[1] == "  node" and text[2].startswith("    Project: a") and any(
        line.startswith("    Project: b") for line in text)
