"""Application files: comment configuration attached to the statements of a .sql file."""

from __future__ import annotations

import pytest

from tests.corpus import CORPUS
from velostream.errors import SqlSyntaxError
from velostream.grammar import ast
from velostream.grammar.appfile import Application, Directive, parse_application

needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"corpus folder {CORPUS} not found (shared/ beside the repo)")


def load(name: str) -> Application:
    return parse_application((CORPUS / name).read_text(), name)


def only(items, what="diagnostic"):
    assert len(items) == 1, f"expected one {what}, got {[str(i) for i in items]}"
    return items[0]


def caret_at(err, column: int) -> None:
    """err.format() shows the source line and a caret under ``column``."""
    lines = err.format().splitlines()
    assert lines[0].startswith(f"{err.filename}:{err.line}:{column}: {err.severity}: ")
    assert lines[2] == "  " + " " * (column - 1) + "^", err.format()


# ---------------------------------------------------------------------------- the corpus

CORPUS_JOBS = {
    "operations-guide-04.sql": ["my_first_job", "my_second_job"],
    "operations-guide-05.sql": ["order_processor", "user_processor", "product_processor"],
    "operations-guide-06.sql": ["json_processor", "avro_processor", "protobuf_processor"],
    "operations-guide-09.sql": ["quick_processing", "slow_processing"],
    "operations-guide-10.sql": ["order_processor", "customer_segments", "inventory_monitor",
                                "fraud_detector"],
    "operations-guide-11.sql": ["price_monitor", "risk_calculator", "compliance_check"],
    "operations-guide-15.sql": ["ecommerce_orders", "financial_trades", "iot_sensors",
                                "user_analytics"],
    "deployment-summary-00.sql": ["safe_job"],
    "multi-source-sink-guide-29.sql": ["batch_optimized_transactions",
                                       "memory_optimized_large_records", "low_latency_alerts"],
}


@needs_corpus
@pytest.mark.parametrize("name", sorted(CORPUS_JOBS))
def test_corpus_file_loads_without_errors(name):
    app = load(name)
    assert app.errors == []
    assert [job.name for job in app.jobs] == CORPUS_JOBS[name]
    assert app.filename == name
    for job in app.jobs:
        if "JOB" in job.directives:
            assert job.directives["JOB"].value == job.name
            assert isinstance(job.statement, ast.StartJob)
            assert str(job.statement.name) == job.name
        assert job.line == job.statement.pos.line


@needs_corpus
def test_operations_guide_10_jobs_and_global_config():
    app = load("operations-guide-10.sql")
    assert app.warnings == []
    assert {k: d.value for k, d in app.config.items()} == {
        "max_memory_mb": "8192", "worker_threads": "16", "group_prefix": "ecommerce_",
        "financial_precision": "true", "metrics_enabled": "true"}
    orders = app.job("order_processor")
    values = {k: d.value for k, d in orders.directives.items()}
    assert values == {
        "JOB": "order_processor", "TOPIC": "orders", "FORMAT": "avro",
        "SCHEMA": "/app/schemas/orders.avsc", "MEMORY_LIMIT": "2048", "TIMEOUT": "15000",
        "OUTPUT_TOPIC": "processed_orders", "ENABLE_METRICS": "true"}
    assert orders.line == 23
    assert orders.directives["TOPIC"] == Directive("TOPIC", "orders", 16, 11)
    assert orders.window is None
    # group_prefix = "ecommerce_": the quotes are gone, the column points inside them.
    assert app.config["group_prefix"] == Directive("group_prefix", "ecommerce_", 8, 28)

    segments = app.job("customer_segments")
    assert segments.directives["SCHEMA"].value == "/app/schemas/orders.avsc"  # trailing blanks
    assert segments.window == ast.Window("TUMBLING", ast.Interval(1, "HOUR"))
    assert segments.setting("output_topic", app) == "customer_segments"
    inventory = app.job("inventory_monitor")
    assert inventory.directives["LOG_LEVEL"].value == "DEBUG"
    assert inventory.directives["FORMAT"].value == "json"
    fraud = app.job("fraud_detector")
    assert fraud.directives["LOG_LEVEL"].value == "WARN"
    assert fraud.setting("financial_precision", app) == "true"  # from CONFIG


@needs_corpus
def test_operations_guide_09_job_setting_overrides_global_config():
    app = load("operations-guide-09.sql")
    assert app.warnings == []
    quick, slow = app.jobs
    # "-- TIMEOUT: 5000   -- This job gets 5 second timeout": trailing comment stripped.
    assert quick.directives["TIMEOUT"] == Directive("TIMEOUT", "5000", 6, 13)
    assert quick.setting("TIMEOUT", app) == "5000"
    assert slow.directives["JOB"].value == "slow_processing"
    assert "TIMEOUT" not in slow.directives
    assert slow.setting("timeout_ms", app) == "60000"
    assert slow.setting("TIMEOUT_MS", app) == "60000"
    assert slow.setting("timeout", app) is None       # TIMEOUT and timeout_ms are not one key
    assert slow.setting("timeout_ms") is None         # without the application, no CONFIG


@needs_corpus
def test_operations_guide_04_template_job_has_no_statement():
    app = load("operations-guide-04.sql")
    warning = only(app.warnings, "warning")
    assert warning.severity == "warning"
    assert warning.message == "JOB job_name has no statement; its directives are ignored"
    assert (warning.line, warning.column) == (11, 9)
    caret_at(warning, 9)
    first, second = app.jobs
    assert {k: d.value for k, d in first.directives.items()} == {
        "JOB": "my_first_job", "TOPIC": "input_data", "MEMORY_LIMIT": "1024"}
    assert second.directives["FORMAT"].value == "avro"
    assert second.directives["SCHEMA"].value == "/app/schemas/users.avsc"
    assert {k: d.value for k, d in app.config.items()} == {
        "parameter_name": "value", "max_memory_mb": "4096", "worker_threads": "8"}


@needs_corpus
def test_operations_guide_05_and_06_schemas_and_formats():
    app = load("operations-guide-05.sql")
    assert app.warnings == []
    assert [j.directives["SCHEMA"].value for j in app.jobs] == [
        "/app/schemas/orders.avsc", "/app/schemas/users.avsc", "/app/schemas/products.avsc"]
    assert [j.directives["TOPIC"].value for j in app.jobs] == ["orders", "users", "products"]

    app = load("operations-guide-06.sql")
    assert app.warnings == []
    json_job, avro_job, proto_job = app.jobs
    # "-- FORMAT: json              -- No schema needed"
    assert json_job.directives["FORMAT"] == Directive("FORMAT", "json", 4, 12)
    assert avro_job.directives["SCHEMA"].value == "/app/schemas/structured_data.avsc"
    assert proto_job.directives["FORMAT"].value == "protobuf"
    assert proto_job.directives["PROTO"].value == "/app/schemas/trades.proto"


@needs_corpus
def test_operations_guide_11_and_15_windows():
    app = load("operations-guide-11.sql")
    assert app.warnings == []
    assert app.config["batch_size"].value == "10000"
    price, risk, compliance = app.jobs
    assert price.directives["BATCH_SIZE"].value == "50000"
    assert price.setting("batch_size", app) == "50000"         # job beats CONFIG
    assert compliance.setting("batch_size", app) == "10000"    # CONFIG
    assert risk.window == ast.Window("SLIDING", ast.Interval(5, "MINUTE"))
    assert risk.directives["FORMAT"].value == "protobuf"       # "protobuf  " trailing blanks
    assert compliance.directives["PROTO"].value == "/app/schemas/trades.proto"

    app = load("operations-guide-15.sql")
    assert app.warnings == []
    windows = {j.name: j.window for j in app.jobs}
    assert windows == {
        "ecommerce_orders": None,
        "financial_trades": None,
        "iot_sensors": ast.Window("TUMBLING", ast.Interval(5, "MINUTE")),
        "user_analytics": ast.Window("SESSION", ast.Interval(30, "MINUTE")),
    }
    assert app.job("financial_trades").directives["SCHEMA"].value == (
        "/app/schemas/financial/trades.avsc")
    assert app.job("user_events") is None


@needs_corpus
def test_deployment_summary_and_application_header():
    app = load("deployment-summary-00.sql")
    assert app.warnings == [] and app.name is None
    (job,) = app.jobs
    assert job.directives["TOPIC"].value == "user_input"

    app = load("multi-source-sink-guide-29.sql")
    assert app.warnings == []
    assert app.name == "HighThroughputBatchProcessing"
    assert all(job.directives == {} for job in app.jobs)
    assert all(isinstance(job.statement, ast.CreateStream) for job in app.jobs)
    assert [job.line for job in app.jobs] == [2, 80, 110]


# ---------------------------------------------------------------------------- malformed values

MALFORMED = [
    # (directive line, message fragment, column of the caret)
    ("-- MEMORY_LIMIT: 2GB", "MEMORY_LIMIT must be a positive integer, got '2GB'", 18),
    ("-- MEMORY_LIMIT: 0", "MEMORY_LIMIT must be a positive integer", 18),
    ("-- BATCH_SIZE: 0", "BATCH_SIZE must be a positive integer", 16),
    ("-- BUFFER_SIZE: lots", "BUFFER_SIZE must be a positive integer", 17),
    ("-- TIMEOUT: -5", "TIMEOUT must be a non-negative integer, got '-5'", 13),
    ("-- TIMEOUT:   1.5   -- seconds", "TIMEOUT must be a non-negative integer, got '1.5'", 15),
    ("-- PARTITION: first", "PARTITION must be a non-negative integer", 15),
    ("-- FORMAT: xml", "FORMAT must be one of json, avro, protobuf, csv, string; got 'xml'", 12),
    ("-- OUTPUT_FORMAT: parquet", "OUTPUT_FORMAT must be one of", 19),
    ("-- OFFSET_RESET: newest", "OFFSET_RESET must be one of earliest, latest", 18),
    ("-- ENABLE_METRICS: maybe", "ENABLE_METRICS must be a boolean", 20),
    ("-- LOG_LEVEL: TRACE", "LOG_LEVEL must be one of DEBUG, INFO, WARN, WARNING, ERROR", 15),
    ("-- JOB: my job", "JOB value must not contain spaces", 9),
    ("-- TOPIC: raw events", "TOPIC value must not contain spaces", 11),
    ("-- OUTPUT_TOPIC: a b", "OUTPUT_TOPIC value must not contain spaces", 18),
    ("-- TOPIC:", "TOPIC directive has an empty value", 10),
    ("-- SCHEMA:    -- to do", "SCHEMA directive has an empty value", 15),
    ("-- TOPIC: ''", "TOPIC directive has an empty value", 12),
    ("-- TOPIC: \"orders", "TOPIC value has a missing closing \"", 11),
    ("-- CONFIG: worker_threads 8", "missing '=' after 'worker_threads'", 27),
    ("-- CONFIG: = 8", "the key must start with a letter or '_'", 12),
    ("-- CONFIG: 9lives = 8", "the key must start with a letter or '_'", 12),
    ("-- CONFIG: retries =", "CONFIG retries has an empty value", 21),
    ("-- CONFIG:", "CONFIG directive has an empty value", 11),
]


@pytest.mark.parametrize("line, fragment, column", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_directive_is_an_error_with_line_and_column(line, fragment, column):
    text = f"-- header\n-- JOB: j\n{line}\nSELECT a FROM t;\n"
    app = parse_application(text, "app.sql")
    err = only(app.errors, "error")
    assert fragment in err.message
    assert err.severity == "error"
    assert (err.line, err.column) == (3, column)
    assert err.filename == "app.sql" and err.source == text
    caret_at(err, column)
    # The job is still there; the malformed directive is not.
    (job,) = app.jobs
    assert job.name == "j"
    assert [d.line for d in job.directives.values()] == [2]
    assert app.config == {}


def test_malformed_directive_hints():
    app = parse_application("-- FORMAT: jsn\n-- MEMORY_LIMIT: 1G\nSELECT a FROM t;\n")
    fmt, mem = app.errors
    assert fmt.hint == "did you mean json?"
    assert mem.hint == "MEMORY_LIMIT is in megabytes, e.g. 1024"
    assert "hint: did you mean json?" in fmt.format()


def test_window_directive_error_points_into_the_directive():
    text = "-- JOB: w\n-- WINDOW: TUMBLING (INTERVAL 5 FOO)\nSELECT a FROM t;\n"
    app = parse_application(text, "w.sql")
    err = only(app.errors, "error")
    assert err.message.startswith("in WINDOW directive: ")
    assert "FOO" in err.message
    # "TUMBLING (INTERVAL 5 FOO)" starts at column 12; FOO is its 22nd character.
    assert (err.line, err.column) == (2, 33)
    caret_at(err, 33)
    assert app.jobs[0].window is None and "WINDOW" not in app.jobs[0].directives


def test_window_directive_in_quotes_and_with_trailing_comment():
    text = "-- WINDOW: 'SLIDING (INTERVAL 10 MINUTES, INTERVAL 1 MINUTE)'  -- sliding\n" \
           "SELECT a FROM t;\n"
    app = parse_application(text)
    assert app.errors == []
    (job,) = app.jobs
    assert job.window == ast.Window("SLIDING", ast.Interval(10, "MINUTE"),
                                    advance=ast.Interval(1, "MINUTE"))
    assert job.directives["WINDOW"].column == 13


def test_values_are_normalised():
    text = ("-- FORMAT: AVRO\n-- SCHEMA: s.avsc\n-- OUTPUT_FORMAT: Json\n"
            "-- OFFSET_RESET: Earliest\n"
            "-- LOG_LEVEL: warning\n-- ENABLE_METRICS: yes\n-- PARTITION: 007\n"
            "SELECT a FROM t;\n")
    app = parse_application(text)
    assert app.errors == [] and app.warnings == []
    values = {k: d.value for k, d in app.jobs[0].directives.items()}
    assert values == {"FORMAT": "avro", "SCHEMA": "s.avsc", "OUTPUT_FORMAT": "json",
                      "OFFSET_RESET": "earliest", "LOG_LEVEL": "WARNING",
                      "ENABLE_METRICS": "true", "PARTITION": "7"}


def test_malformed_directives_do_not_stop_the_rest_of_the_file():
    text = ("-- CONFIG: a 1\n-- CONFIG: b = 2\n-- JOB: one\n-- TIMEOUT: x\n-- TOPIC: t1\n"
            "SELECT a FROM t;\n-- JOB: two\n-- FORMAT: yaml\nSELECT b FROM t;\n")
    app = parse_application(text)
    assert [(e.line, e.column) for e in app.errors] == [(1, 14), (4, 13), (8, 12)]
    assert [j.name for j in app.jobs] == ["one", "two"]
    assert app.jobs[0].directives["TOPIC"].value == "t1"
    assert app.config["b"].value == "2" and "a" not in app.config


# ---------------------------------------------------------------------------- warnings


def test_unknown_directive_is_a_warning_with_a_suggestion():
    text = "-- JOB: j\n-- TOPICS: orders\nSELECT a FROM t;\n"
    app = parse_application(text, "u.sql")
    assert app.errors == []
    warning = only(app.warnings, "warning")
    assert warning.message == "unknown directive TOPICS (ignored)"
    assert (warning.line, warning.column) == (2, 4)
    assert warning.hint.startswith("did you mean TOPIC? known directives: CONFIG, JOB, TOPIC")
    caret_at(warning, 4)
    assert "TOPICS" not in app.jobs[0].directives and "TOPIC" not in app.jobs[0].directives


def test_prose_comments_are_not_directives():
    text = ("-- Note: this is prose\n-- Job 1: Orders (uses orders schema)\n"
            "-- Example Structure:\n-- JOB 2: ORDER PROCESSING\n-- START JOB x AS\n"
            "-- SQL_QUERY;\n-- ====\n--\n-- 1. numbered: list\nSELECT a FROM t;\n")
    app = parse_application(text)
    assert app.errors == [] and app.warnings == []
    assert app.jobs[0].directives == {} and app.jobs[0].name == "job_1"


def test_mixed_case_directive_name_is_a_warning():
    app = parse_application("-- Topic: orders\nSELECT a FROM t;\n")
    warning = only(app.warnings, "warning")
    assert "'Topic:' is not a directive" in warning.message
    assert (warning.line, warning.column) == (1, 4)
    assert app.jobs[0].directives == {}


def test_directive_inside_a_statement_is_ignored_with_a_warning():
    text = ("-- JOB: j\nSELECT a\n  -- TOPIC: inner\nFROM t\n  -- CONFIG: inner_key = 1\n"
            "WHERE a > 1;\n")
    app = parse_application(text, "in.sql")
    warning = only(app.warnings, "warning")
    assert warning.message == "directive inside a statement is ignored: TOPIC"
    assert (warning.line, warning.column) == (3, 6)
    caret_at(warning, 6)
    assert app.jobs[0].directives.keys() == {"JOB"}
    # CONFIG is global wherever it is written.
    assert app.config["inner_key"] == Directive("inner_key", "1", 5, 26)


def test_comment_text_in_strings_and_block_comments_is_not_a_directive():
    text = ("/*\n-- JOB: in_block\n*/\nSELECT 'x\n-- TOPIC: in_string' AS s FROM t;\n"
            "SELECT a FROM t WHERE a = 1; -- FORMAT: xml\n")
    app = parse_application(text)
    assert app.errors == [] and app.warnings == []
    assert [j.name for j in app.jobs] == ["job_1", "job_2"]
    assert all(j.directives == {} for j in app.jobs)


def test_duplicate_directive_warns_and_the_last_one_wins():
    text = "-- TOPIC: a\n-- JOB: j\n-- TOPIC: b\nSELECT a FROM t;\n"
    app = parse_application(text)
    warning = only(app.warnings, "warning")
    assert "duplicate TOPIC directive" in warning.message and "line 1" in warning.message
    assert (warning.line, warning.column) == (3, 11)
    assert app.jobs[0].directives["TOPIC"] == Directive("TOPIC", "b", 3, 11)


def test_duplicate_config_warns_and_the_last_one_wins():
    app = parse_application("-- CONFIG: x = 1\n-- CONFIG: X = 2\nSELECT a FROM t;\n")
    warning = only(app.warnings, "warning")
    assert "CONFIG x is set again" in warning.message and warning.line == 2
    assert app.config["x"].value == "2"


def test_directives_before_the_first_job_line_apply_to_the_statement():
    text = "-- FORMAT: json\n-- JOB: j\n-- TOPIC: t\nSTART JOB j AS SELECT a FROM t;\n"
    app = parse_application(text)
    assert app.warnings == [] and app.errors == []
    assert {k: d.value for k, d in app.jobs[0].directives.items()} == {
        "FORMAT": "json", "JOB": "j", "TOPIC": "t"}


def test_job_without_statement_drops_its_directives():
    text = ("-- JOB: ghost\n-- TOPIC: ghost_topic\n-- FORMAT: csv\n\n-- JOB: real\n"
            "SELECT a FROM t;\n-- JOB: trailing\n-- TOPIC: x\n")
    app = parse_application(text)
    assert [(w.line, w.message) for w in app.warnings] == [
        (1, "JOB ghost has no statement; its directives are ignored"),
        (7, "JOB trailing has no statement; its directives are ignored"),
    ]
    (job,) = app.jobs
    assert job.name == "real" and job.directives.keys() == {"JOB"}


def test_directives_after_the_last_statement_warn():
    app = parse_application("SELECT a FROM t;\n-- TOPIC: late\n-- CONFIG: k = v\n")
    warning = only(app.warnings, "warning")
    assert warning.message == "directives after the last statement are ignored"
    assert warning.line == 2
    assert app.config["k"].value == "v"


def test_directives_before_a_command_warn_and_make_no_job():
    text = "-- JOB: j\n-- TOPIC: t\nSTOP JOB j;\n-- TOPIC: u\nSHOW JOBS;\nDESCRIBE x;\n"
    app = parse_application(text)
    assert app.jobs == []
    assert [(w.line, w.message) for w in app.warnings] == [
        (1, "directives before a STOP JOB statement are ignored (it is not a job)"),
        (4, "directives before a SHOW statement are ignored (it is not a job)"),
    ]


def test_avro_without_schema_and_protobuf_without_proto_warn():
    text = ("-- JOB: a\n-- FORMAT: avro\nSELECT a FROM t;\n"
            "-- JOB: p\n-- FORMAT: protobuf\nSELECT a FROM t;\n"
            "-- JOB: ok\n-- FORMAT: avro\n-- SCHEMA: x.avsc\nSELECT a FROM t;\n")
    app = parse_application(text)
    assert app.errors == []
    assert [(w.line, w.column, w.message) for w in app.warnings] == [
        (2, 12, "job a reads avro but has no SCHEMA directive"),
        (5, 12, "job p reads protobuf but has no PROTO directive"),
    ]
    # A global CONFIG schema is enough.
    app = parse_application("-- CONFIG: schema = s.avsc\n-- FORMAT: avro\nSELECT a FROM t;\n")
    assert app.warnings == []


# ---------------------------------------------------------------------------- names


def test_start_job_name_must_match_job_directive():
    text = "-- JOB: alpha\n-- TOPIC: t\n  START JOB beta AS SELECT a FROM t;\n"
    app = parse_application(text, "m.sql")
    err = only(app.errors, "error")
    assert err.message == "JOB directive names alpha but the statement starts job beta"
    assert (err.line, err.column) == (3, 3)
    caret_at(err, 3)
    assert app.jobs[0].name == "alpha"
    # Names compare case-insensitively.
    app = parse_application("-- JOB: Alpha\nSTART JOB alpha AS SELECT a FROM t;\n")
    assert app.errors == [] and app.jobs[0].name == "Alpha"


def test_duplicate_job_names_are_an_error_at_the_second():
    text = ("-- JOB: j\nSELECT a FROM t;\nSTART JOB J AS SELECT b FROM t;\n"
            "CREATE STREAM s AS SELECT a FROM t;\n-- JOB: s\nSELECT c FROM t;\n")
    app = parse_application(text)
    first, second = app.errors
    assert first.message == "duplicate job name J (first defined at line 2)"
    assert (first.line, first.column) == (3, 1)
    assert second.message == "duplicate job name s (first defined at line 4)"
    assert (second.line, second.column) == (5, 9)


def test_job_names_fall_back_to_statement_names_then_position():
    text = ("SELECT a FROM t;\nCREATE TABLE totals AS SELECT a FROM t;\n"
            "START JOB `my job` AS SELECT a FROM t;\nSELECT b FROM t;\n")
    app = parse_application(text)
    assert [j.name for j in app.jobs] == ["job_1", "totals", "my job", "job_4"]
    assert all(type(j.name) is str for j in app.jobs)
    assert [j.line for j in app.jobs] == [1, 2, 3, 4]


# ---------------------------------------------------------------------------- text handling


def test_trailing_comment_stripping_respects_quotes():
    text = ("-- CONFIG: restart_policy = \"on-failure\"  -- always/never/on-failure\n"
            "-- CONFIG: sep = '--'\n-- CONFIG: prefix = \"\"\n"
            "-- SCHEMA: /app/a--b.avsc   -- the schema\n-- GROUP: g--\nSELECT a FROM t;\n")
    app = parse_application(text)
    assert app.errors == [] and app.warnings == []
    assert app.config["restart_policy"] == Directive("restart_policy", "on-failure", 1, 30)
    assert app.config["sep"].value == "--"
    assert app.config["prefix"].value == ""
    assert app.jobs[0].directives["SCHEMA"].value == "/app/a--b.avsc"
    assert app.jobs[0].directives["GROUP"].value == "g--"


def test_quote_stripping():
    text = "-- TOPIC: \"orders\"\n-- OUTPUT_TOPIC: 'out'\n-- CONFIG: k = 'it''s'\n" \
           "SELECT a FROM t;\n"
    app = parse_application(text)
    assert app.errors == []
    job = app.jobs[0]
    assert job.directives["TOPIC"] == Directive("TOPIC", "orders", 1, 12)
    assert job.directives["OUTPUT_TOPIC"] == Directive("OUTPUT_TOPIC", "out", 2, 19)
    assert app.config["k"].value == "it''s"


def test_header_and_annotations():
    text = ("-- SQL Application: trading_app   -- the name\n"
            "-- @name: Trading\n-- @description: \"Real-time trading analytics\"\n"
            "-- @metric velo_trades_total\n-- @metric: velo_volume_total\n-- @Owner team-a\n"
            "-- CONFIG: k = v\nSELECT a FROM t;\n")
    app = parse_application(text)
    assert app.errors == [] and app.warnings == []
    assert app.name == "trading_app"
    assert app.annotations["name"] == Directive("name", "Trading", 2, 11)
    assert app.annotations["description"].value == "Real-time trading analytics"
    assert app.annotations["metric"].value == "velo_volume_total"       # last one wins
    assert app.annotations["owner"].value == "team-a"
    assert [a.value for a in app.annotation_list if a.key == "metric"] == [
        "velo_trades_total", "velo_volume_total"]
    assert app.jobs[0].directives == {}


def test_empty_header_is_an_error():
    app = parse_application("-- SQL Application:   \nSELECT a FROM t;\n")
    err = only(app.errors, "error")
    assert err.message == "SQL Application header has an empty name" and err.line == 1
    assert app.name is None


def test_header_is_case_insensitive_and_repeats_warn():
    app = parse_application("-- sql application: one\n-- SQL Application: two\nSELECT a FROM t;\n")
    assert app.name == "two"
    assert only(app.warnings, "warning").line == 2


def test_crlf_and_tabs():
    text = "-- JOB: j\r\n--\tTOPIC:\tt   \r\nSELECT a FROM t;\r\n"
    app = parse_application(text)
    assert app.errors == []
    assert app.jobs[0].directives["TOPIC"] == Directive("TOPIC", "t", 2, 11)


def test_syntax_errors_are_raised_with_the_file_name():
    with pytest.raises(SqlSyntaxError) as info:
        parse_application("-- JOB: j\nSELECT FROM;\n", "bad.sql")
    assert info.value.filename == "bad.sql" and info.value.line == 2


def test_empty_file():
    app = parse_application("", "empty.sql")
    assert (app.jobs, app.errors, app.warnings, app.name) == ([], [], [], None)


def test_diagnostics_are_sorted_by_position():
    text = ("SELECT a FROM t;\n-- FORMAT: x\n-- TOPICZ: y\n-- TIMEOUT: z\nSELECT a FROM t;\n"
            "-- NOPE: q\n")
    app = parse_application(text)
    assert [e.line for e in app.errors] == [2, 4]
    assert [w.line for w in app.warnings] == [3, 6]
