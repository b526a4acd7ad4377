"""plan.catalog: source/sink discovery, WITH property binding, and the endpoint checks."""

import json

import pytest

from tests.corpus import CORPUS, statement_names
from velostream.grammar import parse_sql, parse_statement
from velostream.plan import Endpoint, StatementInfo, check, describe_statement, validate_endpoints


def describe(sql) -> StatementInfo:
    return describe_statement(parse_statement(sql))


def endpoint_findings(sql):
    return validate_endpoints(parse_statement(sql))


def errors(sql):
    return [f for f in endpoint_findings(sql) if f.severity == "error"]


def at(finding):
    return finding.line, finding.column


def clean(sql):
    found = endpoint_findings(sql)
    assert found == [], [(f.severity, f.message) for f in found]


def with_(*props, query="SELECT * FROM src INTO out"):
    body = ", ".join(f"'{k}' = '{v}'" for k, v in props)
    return f"{query} WITH ({body})"


TYPED = (("src.type", "kafka_source"), ("out.type", "kafka_sink"))

# --------------------------------------------------------------------------- describe_statement


def test_describe_a_select_with_joins_window_and_properties():
    info = describe("""SELECT o.k, COUNT(*) AS n
FROM orders o
LEFT JOIN customers c ON o.k = c.k WITHIN INTERVAL '5' MINUTES
JOIN products ON products.id = o.pid
WINDOW TUMBLING(1m)
GROUP BY o.k
EMIT CHANGES
INTO out
WITH ('orders.type' = 'kafka_source', 'orders.topic' = 'orders',
      'customers.type' = 'file_source', 'out.type' = 'stdout_sink',
      'failure_strategy' = 'LogAndContinue', 'batch.size' = '100')""")
    assert info.kind == "select" and info.name is None
    assert [(e.name, e.alias, e.role) for e in info.sources] == [
        ("orders", "o", "source"), ("customers", "c", "source"), ("products", None, "source")]
    assert [(e.line, e.column) for e in info.sources] == [(2, 6), (3, 11), (4, 6)]
    orders = info.sources[0]
    assert orders.type == "kafka_source" and orders.properties == {"topic": "orders"}
    assert info.sources[2].type is None
    assert [(e.name, e.role, e.type, e.line, e.column) for e in info.sinks] == [
        ("out", "sink", "stdout_sink", 8, 6)]
    assert info.window == "TUMBLING(INTERVAL '1' MINUTE)"
    assert info.emit == "CHANGES" and info.grouped
    assert info.joins == [("LEFT", "customers", 300_000), ("INNER", "products", None)]
    assert info.job_properties == {"failure_strategy": "LogAndContinue", "batch.size": "100"}


def test_describe_plain_select_is_not_grouped_and_a_moving_average_does_not_group():
    assert not describe("SELECT a FROM t").grouped
    assert not describe("SELECT AVG(p) OVER (PARTITION BY s) AS m FROM t").grouped
    assert describe("SELECT COUNT(*) FROM t").grouped


def test_to_dict_is_json():
    info = describe(with_(*TYPED, ("src.topic", "in"), ("use_transactions", "true"),
                          query="SELECT * FROM src s JOIN dim ON s.k = dim.k WITHIN 30s INTO out"))
    data = json.loads(json.dumps(info.to_dict()))
    assert data["kind"] == "select"
    assert data["sources"][0] == {"name": "src", "alias": "s", "role": "source",
                                  "type": "kafka_source", "properties": {"topic": "in"},
                                  "line": 1, "column": 15}
    assert data["sinks"][0]["name"] == "out"
    assert data["joins"] == [{"kind": "INNER", "right": "dim", "within_ms": 30_000}]
    assert data["job_properties"] == {"use_transactions": "true"}
    assert set(data) == {"kind", "name", "sources", "sinks", "window", "emit", "grouped", "joins",
                         "job_properties"}


@pytest.mark.parametrize("sql, kind, name", [
    ("CREATE STREAM s AS SELECT a FROM t", "create_stream", "s"),
    ("CREATE TABLE tb AS SELECT k, COUNT(*) AS n FROM t GROUP BY k", "create_table", "tb"),
    ("START JOB j AS SELECT a FROM t", "start_job", "j"),
    ("START JOB j AS (CREATE STREAM s AS SELECT a FROM t)", "start_job", "j"),
    ("STOP JOB j", "command", "j"),
    ("DESCRIBE s", "command", "s"),
    ("SHOW JOBS", "command", None),
])
def test_statement_kinds_and_names(sql, kind, name):
    info = describe(sql)
    assert (info.kind, info.name) == (kind, name)
    if kind == "command":
        assert info.sources == [] and info.sinks == [] and info.to_dict()["kind"] == "command"
    else:
        assert [e.name for e in info.sources] == ["t"]


def test_a_source_named_twice_is_one_endpoint():
    info = describe("SELECT a.x, b.y FROM t a JOIN t b ON a.k = b.k")
    assert [(e.name, e.alias) for e in info.sources] == [("t", "a")]
    assert info.joins == [("INNER", "t", None)]


def test_properties_go_to_the_endpoint_with_the_longest_matching_name():
    info = describe("SELECT * FROM `orders.eu` JOIN orders ON a = b WITH ("
                    "'orders.eu.topic' = 'eu', 'ORDERS.topic' = 'all', 'orders.TYPE' = 'kafka')")
    eu, orders = info.sources
    assert eu.properties == {"topic": "eu"} and eu.type is None
    assert orders.properties == {"topic": "all"} and orders.type == "kafka"  # case-insensitive


def test_create_stream_without_into_writes_to_its_name_when_typed():
    info = describe("CREATE STREAM alerts AS SELECT a FROM t "
                    "WITH ('alerts.type' = 'kafka_sink', 'alerts.topic' = 'x')")
    assert [(e.name, e.type, e.properties) for e in info.sinks] == [
        ("alerts", "kafka_sink", {"topic": "x"})]
    assert (info.sinks[0].line, info.sinks[0].column) == (1, 1)
    assert describe("CREATE STREAM alerts AS SELECT a FROM t").sinks == []
    # with INTO, the stream name is not a sink
    info = describe("CREATE STREAM alerts AS SELECT a FROM t INTO k "
                    "WITH ('alerts.type' = 'kafka_sink')")
    assert [e.name for e in info.sinks] == ["k"]
    info = describe("START JOB j AS CREATE STREAM s AS SELECT a FROM t "
                    "WITH ('s.type' = 'stdout_sink')")
    assert [e.name for e in info.sinks] == ["s"]


def test_endpoint_dataclass_defaults():
    e = Endpoint("x")
    assert (e.role, e.type, e.properties, e.alias) == ("source", None, {}, None)


# --------------------------------------------------------------------------- endpoint types

@pytest.mark.parametrize("source_type", ["kafka_source", "file_source", "database_source", "kafka",
                                         "file", "database", "Kafka_Source"])
@pytest.mark.parametrize("sink_type", ["kafka_sink", "file_sink", "database_sink", "stdout_sink",
                                       "kafka", "file", "database", "stdout"])
def test_valid_types_pass(source_type, sink_type):
    clean(with_(("src.type", source_type), ("out.type", sink_type)))


def test_a_sink_type_in_from_is_an_error():
    err = errors(with_(("src.type", "kafka_sink"), ("out.type", "kafka_sink")))
    assert [e.message for e in err] == [
        "'src' is used as a source (FROM/JOIN) but its type 'kafka_sink' is a sink type"]
    assert err[0].hint == "use 'kafka_source'"
    err = errors(with_(("src.type", "kafka_source"), ("out.type", "file_source")))
    assert [e.message for e in err] == [
        "'out' is used as a sink (INTO) but its type 'file_source' is a source type"]
    err = errors(with_(("src.type", "stdout"), ("out.type", "stdout")))
    assert [e.message for e in err] == [
        "'src' is used as a source (FROM/JOIN) but its type 'stdout' is a sink type"]


@pytest.mark.parametrize("type_, role", [("s3_source", "src"), ("s3_sink", "out"),
                                         ("iceberg_sink", "out"), ("http_sink", "out")])
def test_documented_but_unavailable_types_are_warnings(type_, role):
    props = dict(TYPED)
    props[f"{role}.type"] = type_
    found = endpoint_findings(with_(*props.items()))
    assert [(f.severity, f.message) for f in found] == [
        ("warning", (f"type '{type_}' is documented but not available in this build; "
                    "the job will not start"))]


def test_unknown_type_lists_valid_values_and_suggests():
    err = errors(with_(("src.type", "kafak_source"), ("out.type", "kafka_sink")))
    assert len(err) == 1
    assert err[0].message == ("unknown type 'kafak_source' for source 'src'; expected one of "
                              "kafka_source, file_source, database_source, kafka, file, database")
    assert err[0].hint == "did you mean 'kafka_source'?"
    err = errors(with_(("src.type", "kafka"), ("out.type", "postgres")))
    assert err[0].message.startswith("unknown type 'postgres' for sink 'out'; expected one of "
                                     "kafka_sink, file_sink, database_sink, stdout_sink")


def test_missing_type_is_a_warning_at_the_name():
    found = endpoint_findings("SELECT *\nFROM orders\nINTO out WITH ('out.type' = 'stdout_sink')")
    assert [(f.severity, f.message) for f in found] == [
        ("warning", ("source 'orders' has no '.type'; it must come from a config file, a job "
                    "directive or the command line"))]
    assert at(found[0]) == (2, 6)
    found = endpoint_findings("SELECT * FROM src INTO\n  out WITH ('src.type' = 'file')")
    assert found[0].message.startswith("sink 'out' has no '.type'") and at(found[0]) == (2, 3)


def test_missing_type_with_a_config_file_is_fine():
    clean(with_(("src.config_file", "./configs/${ENV:-dev}_src.yaml"),
                ("out.config_file", "./out.yaml")))


# --------------------------------------------------------------------------- property prefixes

def test_property_for_an_unknown_endpoint_is_a_warning_with_a_suggestion():
    found = endpoint_findings(with_(*TYPED, ("scr.topic", "x")))
    assert [(f.severity, f.message) for f in found] == [
        ("warning", "property for unknown source/sink 'scr'")]
    assert found[0].hint == "did you mean 'src'?"


def test_property_addressed_by_alias_is_explained():
    found = endpoint_findings("SELECT * FROM orders o WITH ('orders.type' = 'kafka', "
                              "'o.topic' = 'x')")
    assert [f.message for f in found] == ["property for unknown source/sink 'o'"]
    assert found[0].hint == ("'o' is an alias; properties are addressed by the source name: "
                             "'orders.topic'")


def test_create_stream_name_without_type_is_explained():
    found = endpoint_findings("CREATE STREAM s AS SELECT * FROM t "
                              "WITH ('t.type' = 'kafka', 's.topic' = 'x')")
    assert [f.message for f in found] == ["property for unknown source/sink 's'"]
    assert found[0].hint == "CREATE STREAM s writes to a sink named 's' only when 's.type' is set"


def test_dotted_job_properties_are_not_endpoints():
    refused = ["batch.strategy", "batch.low_latency_wait", "dlq.topic",
               "source.buffer_size"]
    found = endpoint_findings(with_(
        *TYPED, ("batch.strategy", "low_latency"), ("batch.low_latency_wait", "10ms"),
        ("dlq.topic", "dead"), ("state.backend", "rocksdb"), ("state.dir", "/tmp/s"),
        ("checkpoint.interval", "10s"), ("late.data.strategy", "dead_letter"),
        ("allowed.lateness", "5s"), ("source.buffer_size", "1000"),
        ("use_transactions", "false"), ("max_batch_size", "10")))
    # Job properties, not endpoints: the refused ones are warned about by key (the job will
    # not start); use_transactions = false is what this build does, max_batch_size,
    # late.data.strategy and allowed.lateness are read.
    assert [(f.severity, f.message.split("'")[1]) for f in found] == [
        ("warning", key) for key in refused]
    assert all("is not supported by this build yet" in f.message for f in found)
    info = describe(with_(*TYPED, ("batch.size", "10"), ("src.batch.size", "5")))
    assert info.job_properties == {"batch.size": "10"}
    assert info.sources[0].properties == {"batch.size": "5"}


def test_duplicate_property_is_a_warning():
    found = endpoint_findings(with_(*TYPED, ("src.topic", "a"), ("SRC.topic", "b")))
    assert [f.message for f in found] == [
        "property 'SRC.topic' is set more than once; the last value wins"]


# --------------------------------------------------------------------------- job property values

@pytest.mark.parametrize("key, good, bad, message", [
    ("failure_strategy", ["LogAndContinue", "FailBatch", "RetryWithBackoff", "SendToDLQ",
                          "logandcontinue", "send_to_dlq"], "Retry",
     ("'failure_strategy' must be one of LogAndContinue, FailBatch, RetryWithBackoff, SendToDLQ; "
     "got 'Retry'")),
    ("batch.strategy", ["fixed_size", "time_window", "adaptive_size", "memory_based",
                        "low_latency", "FixedSize", "LowLatency", "MemoryBased", "AdaptiveSize",
                        "TimeWindow"], "huge",
     ("'batch.strategy' must be one of fixed_size, time_window, adaptive_size, memory_based, "
     "low_latency; got 'huge'")),
    ("state.backend", ["memory", "rocksdb", "sqlite", "RocksDB"], "redis",
     "'state.backend' must be one of memory, rocksdb, sqlite; got 'redis'"),
    ("use_transactions", ["true", "false", "TRUE", "yes", "off"], "maybe",
     "'use_transactions' must be true or false; got 'maybe'"),
    ("max_retries", ["0", "5"], "-1", "'max_retries' must be an integer ≥ 0; got '-1'"),
    ("batch.size", ["1", "500"], "big", "'batch.size' must be an integer ≥ 1; got 'big'"),
])
def test_job_property_values(key, good, bad, message):
    for value in good:  # (refused keys are warned about, not errors)
        assert errors(with_(*TYPED, (key, value))) == []
    err = errors(with_(*TYPED, (key, bad)))
    assert [e.message for e in err] == [message]


def test_job_property_suggestion_and_variables():
    err = errors(with_(*TYPED, ("failure_strategy", "FailBtch")))
    assert err[0].hint == "did you mean FailBatch?"
    clean(with_(*TYPED, ("failure_strategy", "${STRATEGY:-LogAndContinue}")))


def test_endpoint_level_failure_strategy_is_checked_too():
    found = endpoint_findings(with_(*TYPED, ("src.failure_strategy", "RetryWithBackoff"),
                                    ("src.max_retries", "3")))
    assert [(f.severity, f.message) for f in found] == [
        ("warning", "'src.failure_strategy' is not supported by this build yet"),
        ("warning", "'src.max_retries' is not supported by this build yet")]
    err = errors(with_(*TYPED, ("src.failure_strategy", "Sometimes")))
    assert err[0].message.startswith("'src.failure_strategy' must be one of LogAndContinue")


def test_property_findings_point_at_the_property():
    sql = ("SELECT * FROM src INTO out WITH (\n  'src.type' = 'kafka_sink',\n"
           "  'out.type' = 'kafka_sink')")
    assert [at(e) for e in errors(sql)] == [(2, 3)]
    sql = with_(*TYPED, ("batch.size", "x")).replace("'batch.size'", "\n    'batch.size'")
    assert [at(e) for e in errors(sql)] == [(2, 5)]


# --------------------------------------------------------------------------- check() and the corpus

def test_check_combines_both_validators_sorted_by_position():
    found = check(parse_statement("SELECT a,\n  NOPE(b) AS c FROM t"))
    assert [(f.severity, f.line) for f in found] == [("error", 2), ("warning", 2)]
    assert found[0].message == "unknown function NOPE"
    assert "has no '.type'" in found[1].message
    assert check(parse_statement("SHOW JOBS")) == []


@pytest.mark.parametrize("name", statement_names())
def test_corpus_endpoints_have_no_errors(name):
    text = (CORPUS / name).read_text()
    script = parse_sql(text, name)
    for stmt in script.statements:
        describe_statement(stmt).to_dict()
        found = [e.with_source(text, name).format() for e in validate_endpoints(stmt)
                 if e.severity == "error"]
        assert found == []


def test_corpus_documented_types_warn_and_bind():
    if not CORPUS.is_dir():
        pytest.skip("corpus not present")
    stmt = parse_sql((CORPUS / "multi-source-sink-guide-27.sql").read_text()).statements[0]
    messages = [f.message for f in validate_endpoints(stmt)]
    assert messages == [
        "type 's3_source' is documented but not available in this build; the job will not start",
        "type 's3_sink' is documented but not available in this build; the job will not start"]
    info = describe_statement(stmt)
    assert [(e.name, e.type) for e in info.sources] == [
        ("kafka_orders", "kafka_source"), ("customer_files", "s3_source"),
        ("product_catalog", "file_source")]
    assert info.sources[2].properties["source.has_headers"] == "true"
    assert info.job_properties["batch.strategy"] == "fixed_size"
    assert "use_transactions" in info.job_properties
