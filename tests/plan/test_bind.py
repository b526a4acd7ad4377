"""The binder: settings read through the table's accessors, refused keys refused with key, file
and line, directives and -- CONFIG: globals applied, and the configuration priority of
spec/operations-guide.md (command line > job directives > WITH > YAML config_file > CONFIG
globals > defaults)."""

import pytest
from click.testing import CliRunner

from velostream.app import StreamApp
from velostream.cli.main import cli
from velostream.errors import ConfigError
from velostream.grammar import parse_sql
from velostream.plan.bind import EndpointConfig, JobPlan, bind_statement

FILE = "'t.type' = 'file_source', 't.path' = 'in.csv'"


def query(extra="", sink=""):
    into = " INTO out" if sink else ""
    props = FILE + (f", {sink}" if sink else "") + (f", {extra}" if extra else "")
    return f"SELECT a FROM t{into} WITH ({props})"


def bind(sql, overrides=None, **kw):
    return bind_statement(parse_sql(sql).statements[0], overrides, default_sink="stdout_sink",
                          **kw)


def app_plan(text, properties=None, job=None):
    return StreamApp(text, properties=properties, job=job, filename="app.sql").plan(
        default_sink="stdout_sink")


def refused(text, properties=None, job=None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        app_plan(text, properties, job)
    return info.value


# ------------------------------------------------------------------------------ accessors
def test_job_settings_are_typed_by_the_table_with_its_defaults():
    plan = bind(query())
    assert plan.setting("max_retries") == 3
    assert plan.setting("retry_backoff") == 1000
    assert plan.setting("failure_strategy") == "LogAndContinue"
    assert plan.setting("financial_precision") is True
    assert plan.setting("distinct.max_keys") == 1_000_000
    assert plan.setting("batch.size") is None
    plan = bind(query("'retry_backoff' = '2s', 'failure_strategy' = 'retry_with_backoff', "
                      "'financial_precision' = 'no', 'batch.timeout' = '250ms'"))
    assert plan.setting("retry_backoff") == 2000
    assert plan.setting("failure_strategy") == "RetryWithBackoff"
    assert plan.setting("financial_precision") is False
    assert plan.setting("batch.timeout") == 250


def test_a_bad_value_is_a_config_error_naming_the_key_and_line():
    with pytest.raises(ConfigError) as info:
        bind("SELECT a FROM t WITH (\n" + FILE + ",\n 'max_retries' = 'lots')", filename="q.sql")
    assert str(info.value) == "q.sql:3: max_retries: must be an integer ≥ 0; got 'lots'"
    with pytest.raises(KeyError):
        bind(query()).setting("no_such_setting")


def test_old_integer_and_flag_callers_keep_working():
    plan = bind(query("'max_retries' = '7'"))
    assert plan.integer("max_retries") == 7 and plan.integer("max_retries", 3) == 7
    assert plan.integer("retry_backoff") == 1000
    assert plan.flag("financial_precision") is True
    assert plan.flag("financial_precision", False) is False  # an explicit default still wins
    assert plan.integer("not_in_the_table", 9) == 9
    source = plan.sources[0]
    assert source.flag("has_headers") is True and source.flag("has_headers", True) is True
    assert source.integer("csv.max_record_bytes") == 1 << 20


def test_endpoint_settings_fall_back_to_the_job_and_use_the_table():
    plan = bind(query("'batch.size' = '100', 't.has_headers' = 'off'"))
    source = plan.sources[0]
    assert source.setting("batch.size") == 100            # the job's value
    assert source.setting("has_headers") is False
    assert source.setting("csv.max_record_bytes") == 1 << 20
    plan = bind(query("'batch.size' = '100', 't.batch.size' = '5'"))
    assert plan.sources[0].setting("batch.size") == 5     # the source's own wins
    bare = EndpointConfig("x", "source", "file_source", {"batch_size": "8"})
    assert bare.setting("batch.size") == 8
    with pytest.raises(ConfigError, match="x.watch: must be true or false"):
        EndpointConfig("x", "source", "file_source", {"watch": "sometimes"}).setting("watch")


def test_plan_built_by_hand_reads_any_case_and_alias():
    plan = JobPlan("j", None, None, [], [], {"Max_Retries": "4", "max_batch_size": "6"})
    assert plan.setting("max_retries") == 4 and plan.setting("batch.size") == 6


def test_aliases_are_stored_under_the_settings_key():
    plan = bind(query("'max_batch_size' = '10', 't.source.has_headers' = 'false', "
                      "'t.source.format' = 'csv'"))
    assert plan.properties["batch.size"] == "10" and "max_batch_size" not in plan.properties
    assert plan.sources[0].get("format") == "csv"         # a plain get sees it too
    assert plan.sources[0].setting("has_headers") is False
    with pytest.raises(ConfigError) as info:
        bind("SELECT a FROM t WITH (" + FILE + ",\n 'max_batch_size' = '0')", filename="q.sql")
    assert str(info.value).startswith("q.sql:2: max_batch_size: must be an integer ≥ 1")


# ------------------------------------------------------------------------------ refusals
def test_refused_keys_name_key_file_and_line():
    err = refused("SELECT a FROM t WITH (\n  " + FILE + ",\n  'use_transactions' = 'true')")
    assert str(err) == ("app.sql:3: use_transactions: 'use_transactions' is not supported by "
                        "this build yet (remove it, or set it to 'false', what this build does)")
    err = refused(query("'batch.memory_limit_mb' = '4'"))
    assert "'batch.memory_limit_mb' is not supported by this build yet" in str(err)
    err = refused(query("'decimal_places' = '4'"))
    assert str(err) == "app.sql:1: decimal_places: 'decimal_places' is not supported by this build yet"


def test_a_refused_key_set_to_what_the_build_does_is_accepted():
    plan = app_plan(query("'use_transactions' = 'false', 'state.backend' = 'MEMORY', "
                          "'batch.strategy' = 'FixedSize', 'batch.enable' = 'true', "
                          "'t.encoding' = 'UTF-8'"))
    assert plan.setting("use_transactions") is False
    assert plan.setting("state.backend") == "memory"


def test_endpoint_keys_are_checked_by_role_and_value():
    with pytest.raises(ConfigError, match="t.append: applies to sinks only; 't' is a source"):
        bind(query("'t.append' = 'true'"))
    sink = "'out.type' = 'file_sink', 'out.path' = 'o.csv'"
    with pytest.raises(ConfigError, match="out.watch: applies to sources only"):
        bind(query("'out.watch' = 'true'", sink=sink))
    with pytest.raises(ConfigError, match="'out.rotation' is not supported by this build yet"):
        bind(query("'out.rotation' = 'daily'", sink=sink))
    with pytest.raises(ConfigError, match="'t.compression' is not supported"):
        bind(query("'t.compression' = 'gzip'"))
    assert bind(query("'t.compression' = 'none'")).sources[0].get("compression") == "none"


def test_kafka_only_job_keys_are_refused_without_kafka_and_left_to_a_rebound_kafka_source():
    with pytest.raises(ConfigError, match="security.protocol: is a Kafka property"):
        bind(query("'security.protocol' = 'SSL'"))
    with pytest.raises(ConfigError, match="'group_prefix' is not supported"):
        app_plan("-- CONFIG: group_prefix = app_\n" + query())
    # The SQL is written for Kafka; -p reads the source from a file for a test.
    kafka = "SELECT a FROM t WITH ('t.type' = 'kafka_source', 't.topic' = 'x', " \
            "'security.protocol' = 'SSL', 'use_transactions' = 'true')"
    plan = bind(kafka, {"t.type": "file_source", "t.path": "in.csv"})
    assert plan.sources[0].type == "file_source"


# ------------------------------------------------------------------------------ directives
def test_job_directives_and_config_globals_reach_the_plan():
    text = ("-- CONFIG: max_retries = 5\n-- CONFIG: batch_size = 50\n"
            "-- JOB: a\n-- BATCH_SIZE: 7\n-- FORMAT: csv\n" + query() + ";\n"
            "-- JOB: b\n" + query() + ";\n")
    a, b = app_plan(text, job="a"), app_plan(text, job="b")
    assert a.setting("batch.size") == 7 and b.setting("batch.size") == 50
    assert a.setting("max_retries") == 5 == b.setting("max_retries")
    assert a.sources[0].get("format") == "csv" and b.sources[0].get("format") is None
    assert a.sources[0].setting("batch.size") == 7
    err = refused("-- JOB: j\n-- BATCH_SIZE: 5\n" + query(), {"batch.size": "0"})
    assert str(err) == "batch.size: must be an integer ≥ 1; got '0'"   # -p, not the directive


def test_output_format_directive_sets_the_sink_format():
    sink = "'out.type' = 'file_sink', 'out.path' = 'o.json'"
    plan = app_plan("-- OUTPUT_FORMAT: csv\n" + query(sink=sink))
    assert plan.sinks[0].get("format") == "csv"


@pytest.mark.parametrize(("directive", "key"), [
    ("TIMEOUT: 5000", "timeout_ms"), ("MEMORY_LIMIT: 512", "memory_limit_mb"),
    ("BUFFER_SIZE: 100", "source.buffer_size"), ("LOG_LEVEL: DEBUG", "log_level"),
    ("ENABLE_METRICS: false", "metrics_enabled"),
])
def test_directives_of_refused_settings_are_refused_at_their_line(directive, key):
    err = refused(f"-- JOB: j\n-- {directive}\n" + query())
    name = directive.split(":")[0]
    assert str(err) == f"app.sql:2: {key}: '{key}' is not supported by this build yet" + (
        " (remove it, or set it to 'true', what this build does)" if key == "metrics_enabled"
        else "") + f" (set by -- {name}:)"


def test_directives_of_kafka_keys_on_a_file_source_are_refused():
    err = refused("-- JOB: j\n-- GROUP: g1\n" + query())
    assert str(err) == ("app.sql:2: t.group.id: -- GROUP: sets 'group.id', which a file_source "
                        "does not have (Kafka is not supported by this build yet)")
    err = refused("-- JOB: j\n\n-- WINDOW: TUMBLING (INTERVAL 1 MINUTE)\n" + query())
    assert str(err) == ("app.sql:3: -- WINDOW: the directive is not supported by this build yet "
                        "(stateless queries only)")
    # Metrics are always counted: ENABLE_METRICS: true is what the build does.
    assert app_plan("-- ENABLE_METRICS: true\n" + query()).setting("metrics_enabled") is True


def test_kafka_directives_are_left_alone_when_the_command_line_rebinds_the_source():
    text = "-- JOB: j\n-- TOPIC: orders\n-- GROUP: g\n-- FORMAT: avro\nSELECT a FROM t"
    plan = app_plan(text, {"t.type": "file_source", "t.path": "in.csv"})
    assert plan.sources[0].type == "file_source" and plan.sources[0].get("format") is None
    # A source the file gives no type: the directives apply to the type -p gives it.
    plan = app_plan("-- FORMAT: csv\nSELECT a FROM t", {"t.type": "file_source", "t.path": "x"})
    assert plan.sources[0].get("format") == "csv"


# ------------------------------------------------------------------------------ priority
def test_job_priority_cli_over_directive_over_with_over_config_over_default():
    def size(config=True, with_=True, directive=True, cli=False):
        text = ("-- CONFIG: batch.size = 10\n" if config else "") + (
            "-- BATCH_SIZE: 30\n" if directive else "") + query(
            "'max_batch_size' = '20'" if with_ else "")
        return app_plan(text, {"batch_size": "40"} if cli else None).setting("batch.size")

    assert size(cli=True) == 40
    assert size() == 30
    assert size(directive=False) == 20
    assert size(directive=False, with_=False) == 10
    assert size(directive=False, with_=False, config=False) is None


def test_endpoint_priority_cli_over_directive_over_with_over_yaml_over_config(tmp_path):
    yaml = tmp_path / "t.yaml"
    yaml.write_text("delimiter: ';'\nformat: jsonl\nhas_headers: false\n")

    def source(config=True, yaml_file=True, with_=True, directive=True, cli=None):
        text = ("-- CONFIG: t.delimiter = |\n-- CONFIG: t.format = json\n"
                "-- CONFIG: t.csv.max_record_bytes = 99\n" if config else "") + (
            "-- FORMAT: csv\n" if directive else "") + query(", ".join(
                ([f"'t.config_file' = '{yaml}'"] if yaml_file else []) +
                (["'t.delimiter' = '\\t'", "'t.format' = 'json'"] if with_ else [])))
        return app_plan(text, cli).sources[0]

    assert source(cli={"t.format": "jsonl", "t.delimiter": ":"}).get("format") == "jsonl"
    assert source(cli={"t.delimiter": ":"}).get("delimiter") == ":"
    assert source().get("format") == "csv"                  # directive over WITH
    assert source().get("delimiter") == "\\t"                # WITH over YAML
    assert source(directive=False).get("format") == "json"
    assert source(with_=False, directive=False).get("format") == "jsonl"   # YAML over CONFIG
    assert source(with_=False).get("delimiter") == ";"
    assert source(with_=False, yaml_file=False).get("delimiter") == "|"    # CONFIG
    assert source().setting("has_headers") is False                       # YAML only
    assert source().setting("csv.max_record_bytes") == 99                  # CONFIG only
    assert source(config=False).setting("csv.max_record_bytes") == 1 << 20  # default


def test_config_file_given_on_the_command_line_stays_below_the_directives(tmp_path):
    yaml = tmp_path / "t.yaml"
    yaml.write_text("format: jsonl\ndelimiter: ';'\n")
    plan = app_plan("-- FORMAT: csv\n" + query(),
                    {"t.config_file": str(yaml), "t.delimiter": ":"})
    assert plan.sources[0].get("format") == "csv" and plan.sources[0].get("delimiter") == ":"
    plan = app_plan(query(), {"t.config_file": str(yaml), "t.format": "json"})
    assert plan.sources[0].get("format") == "json"


def test_a_config_error_from_a_lower_level_points_at_its_line(tmp_path):
    err = refused("-- CONFIG: max_retries = -1\n" + query())
    assert str(err) == "app.sql:1: max_retries: must be an integer ≥ 0; got '-1'"
    yaml = tmp_path / "t.yaml"
    yaml.write_text("watch: maybe\n")
    err = refused(query(f"'t.config_file' = '{yaml}'"))
    assert str(err).startswith(f"{yaml}: t.watch: must be true or false")


def test_cli_p_overrides_a_config_global(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("p\n1.50\n")
    app = tmp_path / "app.sql"
    app.write_text("-- CONFIG: financial_precision = false\n"
                   f"SELECT p FROM t WITH ('t.type' = 'file_source', 't.path' = '{data}');\n")
    run = CliRunner().invoke(cli, ["execute", "--format", "json-lines", "--file", str(app)])
    assert run.exit_code == 0 and run.output == '{"p":1.5}\n'
    run = CliRunner().invoke(cli, ["execute", "--format", "json-lines", "--file", str(app),
                                   "-p", "financial_precision=yes"])
    assert run.exit_code == 0 and run.output == '{"p":"1.50"}\n'
    run = CliRunner().invoke(cli, ["execute", "--file", str(app), "-p", "use_transactions=on"])
    assert run.exit_code == 1
    assert "use_transactions: 'use_transactions' is not supported by this build yet" in run.stderr
