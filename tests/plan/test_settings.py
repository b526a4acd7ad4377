"""Unknown configuration keys: `validate` warns with the closest valid key, `execute`/`stream`
refuse; librdkafka properties pass on Kafka endpoints; -- TOPIC: jobs are Kafka jobs."""

import pytest
from click.testing import CliRunner

from velostream.cli.main import cli
from velostream.errors import ConfigError
from velostream.grammar import parse_sql
from velostream.plan.bind import bind_statement
from velostream.plan.catalog import validate_endpoints
from velostream.plan.file_check import check_sql_file
from velostream.plan.settings import SETTINGS, is_endpoint_key, is_job_key


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"a": 1}\n')
    return path


def execute(*args):
    return CliRunner().invoke(cli, ["execute", "--format", "json-lines", *args])


def with_file(path, extra=""):
    return f"WITH ('t.type' = 'file_source', 't.path' = '{path}'{extra})"


def test_every_setting_has_a_type_scope_and_doc():
    assert all(s.type and s.scope and s.doc for s in SETTINGS)
    assert len({(s.scope, s.key) for s in SETTINGS}) == len(SETTINGS)


@pytest.mark.parametrize(("extra", "key", "hint"), [
    (", 't.pathh' = 'x'", "t.pathh", "did you mean 't.path'?"),
    (", 'failure_stratgy' = 'FailBatch'", "failure_stratgy", "did you mean 'failure_strategy'?"),
    (", 'foo' = '1'", "foo", "the closest job property is"),
])
def test_unknown_with_keys_are_errors_at_run_time(data, extra, key, hint):
    result = execute("--query", "SELECT a FROM t " + with_file(data, extra))
    assert result.exit_code == 1
    assert f"{key}: unknown" in result.stderr and hint in result.stderr
    assert "Traceback" not in result.output


def test_unknown_with_keys_are_warnings_in_validate(data):
    sql = "SELECT a FROM t " + with_file(data, ", 't.pathh' = 'x', 'foo' = '1'")
    report = check_sql_file(sql, "q.sql")
    assert not report.errors
    assert [(w.message, w.hint) for w in report.warnings] == [
        ("'t.pathh': unknown property for a file_source", "did you mean 't.path'?"),
        ("'foo': unknown job property", report.warnings[1].hint)]
    assert "closest job property" in report.warnings[1].hint
    result = CliRunner().invoke(cli, ["validate", "-"], input=sql)
    assert "0 errors, 2 warnings" in result.output and result.exit_code == 0


def test_property_for_a_source_that_does_not_exist_is_refused(data):
    result = execute("--query", "SELECT a FROM t " + with_file(data), "-p", "tt.path=x")
    assert result.exit_code == 1
    assert "tt.path: no source or sink of this query is named 'tt'" in result.stderr
    assert "did you mean 't.path'?" in result.stderr
    result = execute("--query", "SELECT a FROM t " + with_file(data), "-p", "t.pth=x")
    assert result.exit_code == 1 and "did you mean 't.path'?" in result.stderr


def test_known_keys_and_librdkafka_pass_through():
    assert is_endpoint_key("path", ["file_source"]) and not is_endpoint_key("pathh", ["file_source"])
    assert is_endpoint_key("schema.price", ["file_source"])
    assert is_endpoint_key("linger.ms", ["kafka_sink"])
    assert is_endpoint_key("ssl.ca.location", ["kafka_source"])
    assert not is_endpoint_key("linger.ms", ["file_sink"])     # librdkafka only on Kafka
    assert not is_endpoint_key("lingr.ms", ["kafka_sink"])
    assert is_job_key("dlq.path") and is_job_key("security.protocol")
    stmt = parse_sql("SELECT a FROM k WITH ('k.type' = 'kafka_source', 'k.topic' = 'x', "
                     "'k.enable.auto.commit' = 'false', 'k.topicc' = 'y')").statements[0]
    assert [f.message for f in validate_endpoints(stmt)] == [
        "'k.topicc': unknown property for a kafka_source"]


def test_keys_written_for_the_sql_type_survive_a_command_line_rebinding(data):
    stmt = parse_sql("SELECT a FROM t WITH ('t.type' = 'kafka_source', 't.topic' = 'x', "
                     "'t.group.id' = 'g')").statements[0]
    plan = bind_statement(stmt, {"t.type": "file_source", "t.path": str(data)},
                          default_sink="stdout_sink")
    assert plan.sources[0].type == "file_source"
    with pytest.raises(ConfigError, match="t.topik: unknown property"):
        bind_statement(stmt, {"t.type": "file_source", "t.topik": "x"}, default_sink="stdout_sink")


def test_topic_directive_jobs_are_refused_as_kafka_and_validate_counts_match(tmp_path):
    path = tmp_path / "app.sql"
    path.write_text("-- JOB: j\n-- TOPIC: orders\nSELECT a FROM orders;\n")
    result = execute("--file", str(path))
    assert result.exit_code == 1
    assert "has no type" not in result.stderr
    assert "Kafka is not supported by this build yet" in result.stderr
    assert "-- TOPIC:" in result.stderr
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert "0 warnings" in result.output
    assert "type not set" not in result.output and "orders (kafka_source" in result.output
    # A sink without a type is still reported, and listed as such.
    path.write_text("-- JOB: j\n-- TOPIC: orders\nSELECT a FROM orders INTO out;\n")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert "1 warning" in result.output and "out (type not set)" in result.output
    assert "sink 'out' has no '.type'" in result.stderr


def test_output_topic_directive_makes_an_untyped_sink_kafka(data, tmp_path):
    path = tmp_path / "app.sql"
    path.write_text(f"-- JOB: j\n-- OUTPUT_TOPIC: alerts\nSELECT a FROM t INTO out "
                    f"{with_file(data)};\n")
    result = execute("--file", str(path))
    assert result.exit_code == 1
    assert "the -- OUTPUT_TOPIC: directive makes sink 'out' a kafka_sink" in result.stderr
    report = check_sql_file(path.read_text(), str(path))
    assert report.warnings == [] and report.jobs[0].info.sinks[0].type == "kafka_sink"


@pytest.mark.parametrize("key", ["max_string_bytes", "batch.size", "t.csv.max_record_bytes"])
@pytest.mark.parametrize("value, problem", [
    ("²", "must be an integer ≥ 1"),                  # isdigit() but not int()
    ("100000000000000000000", "must be an integer ≤ 4611686018427387904"),  # past a C ssize_t
    ("0", "must be an integer ≥ 1"),
])
def test_integer_settings_refuse_what_int_or_c_cannot_take(tmp_path, key, value, problem):
    path = tmp_path / "t.csv"
    path.write_text("a\n1\n")
    result = execute("--query", "SELECT a FROM t " + with_file(path, f", '{key}' = '{value}'"))
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output
    assert f"{key}: {problem}; got '{value}'" in result.output
