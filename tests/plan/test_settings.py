"""The settings table: unknown keys (`validate` warns with the closest valid key,
`execute`/`stream` refuse; librdkafka properties pass on Kafka endpoints; -- TOPIC: jobs are Kafka
jobs), the one parser of each type, the rows themselves, every implemented key read by the
runtime, every refused key refused at bind, and every key the product documents (spec/, DIALECT
§7, the corpus) in the table."""

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from velostream.cli.main import cli
from velostream.errors import ConfigError
from velostream.grammar import parse_sql
from velostream.plan import settings as S
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


# ------------------------------------------------------------------------------ the table itself

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
TYPES = {"string", "boolean", "integer", "duration", "enum", "path", "type"}


@pytest.mark.parametrize(("text", "value"), [
    ("true", True), ("TRUE", True), ("yes", True), ("on", True), ("1", True), (" t ", True),
    ("false", False), ("No", False), ("off", False), ("0", False), ("f", False),
    ("maybe", None), ("", None), ("2", None), ("truee", None),
])
def test_one_boolean_parser(text, value):
    assert S.parse_boolean(text) is value
    setting = S.job_setting("financial_precision")
    if value is None:
        with pytest.raises(ConfigError, match="financial_precision: must be true or false"):
            setting.parse(text)
    else:
        assert setting.parse(text) is value


def test_boolean_words_agree_with_cast_as_boolean():
    """Settings read booleans with the words CAST('…' AS BOOLEAN) reads (one parser)."""
    from velostream import StreamApp

    words = [*S.TRUE_WORDS, *S.FALSE_WORDS, " Yes ", "OFF", "maybe", "2", "", "truee", "oui"]
    cast = StreamApp("SELECT CAST(w AS BOOLEAN) AS b FROM t")
    for word in words:
        got = cast.process([{"w": word}])       # a text that is no boolean fails its row
        assert S.parse_boolean(word) is (got[0]["b"] if got else None), word


def test_one_boolean_parser_in_the_application_file_too():
    from velostream.grammar.appfile import parse_application

    app = parse_application("-- JOB: j\n-- ENABLE_METRICS: on\nSELECT a FROM t;\n")
    assert not app.errors and app.jobs[0].directives["ENABLE_METRICS"].value == "true"


@pytest.mark.parametrize(("type_", "text", "value"), [
    ("duration", "2000", 2000), ("duration", "2000ms", 2000), ("duration", "2s", 2000),
    ("duration", "5m", 300_000), ("duration", "1h", 3_600_000), ("duration", "2 s", 2000),
    ("integer", " 42 ", 42),
])
def test_typed_parsers(type_, text, value):
    assert S.Setting("k", type_, None, S.JOB, "").parse(text) == value


@pytest.mark.parametrize(("type_", "text"), [
    ("duration", "soon"), ("duration", "-1s"), ("duration", "2d"), ("integer", "1.5"),
])
def test_typed_parsers_refuse(type_, text):
    with pytest.raises(ConfigError) as info:
        S.Setting("k", type_, None, S.JOB, "").parse(text, "src.k")
    assert info.value.key == "src.k"


def test_enums_are_case_and_underscore_insensitive_and_canonical():
    strategy = S.job_setting("batch.strategy")
    assert strategy.parse("AdaptiveSize") == "adaptive_size"
    assert S.job_setting("failure_strategy").parse("send_to_dlq") == "SendToDLQ"
    assert S.job_setting("failure_strategy").problem("FailBtch") == (
        "must be one of LogAndContinue, FailBatch, RetryWithBackoff, SendToDLQ; got 'FailBtch'",
        "did you mean FailBatch?")


def test_every_row_is_well_formed():
    for s in S.SETTINGS:
        assert s.type in TYPES, s
        assert s.status in (S.IMPLEMENTED, S.REFUSED), s
        assert s.role in (None, S.SOURCE, S.SINK), s
        assert s.type != "enum" or s.choices, s
        if s.alias_of is not None:
            assert S.canonical(s).key == s.alias_of and S.canonical(s).alias_of is None, s
            assert s.status == S.canonical(s).status, s
        if s.inert is not None:
            assert s.status == S.REFUSED and s.parse(S._show(s.inert, s.type)) == s.inert, s
            assert s.default == s.inert, s
        if s.default is not None:
            # the default written as text parses back to itself
            assert s.parse(S._show(s.default, s.type)) == s.default, s
        if s.scope not in (S.JOB, S.ENDPOINT, *S.AVAILABLE_KINDS):
            assert s.status == S.REFUSED, s   # a connector this build does not have


def test_directives_map_to_rows_of_the_table():
    from velostream.grammar.appfile import KNOWN_DIRECTIVES

    assert set(S.DIRECTIVES) == set(KNOWN_DIRECTIVES)
    for d in S.DIRECTIVES.values():
        keys = [d.key, *d.by_kind.values()] if d.key else []
        for key in keys:
            if d.target == S.JOB:
                assert S.job_setting(key) is not None, d
            else:
                assert any(s.key == key and s.scope != S.JOB for s in S.SETTINGS), d
    assert S.DIRECTIVES["BATCH_SIZE"].key == "batch.size"
    assert S.DIRECTIVES["TIMEOUT"].key == "timeout_ms"
    assert S.DIRECTIVES["GROUP"].key == "group.id"


def test_defaults_are_the_runtime_constants_that_remain_elsewhere():
    # Code below the planner (kernels, codecs) keeps a default of its own for callers without a
    # plan; the table's must be the same number.
    from velostream._core.kernels_py import DEFAULT_MAX_STRING_BYTES
    from velostream.formats.csv import MAX_RECORD_BYTES
    from velostream.plan.physical import DEFAULT_DISTINCT_MAX_KEYS

    assert S.job_setting("max_string_bytes").default == DEFAULT_MAX_STRING_BYTES
    assert S.job_setting("distinct.max_keys").default == DEFAULT_DISTINCT_MAX_KEYS
    assert S.endpoint_setting("csv.max_record_bytes", "file_source").default == MAX_RECORD_BYTES


# Implemented keys the runtime reads other than through an accessor call with the key literal.
READ_ELSEWHERE = {
    "type": "plan/bind.py resolves it",
    "config_file": "plan/bind.py loads the YAML file",
    "schema.*": "runtime/job.py and connectors/file.py read every 'schema.<field>'",
}
# Implemented for file sources by the connector work of this issue (the lead wires the source to
# endpoint.setting("batch.size") / ("batch.timeout")); drop them from here when that lands.
PENDING_WIRING = {"batch.size", "batch.timeout"}


def _runtime_source() -> str:
    files = [p for p in (ROOT / "velostream").rglob("*.py*") if p.suffix in (".py", ".pyx")
             and p.name != "settings.py"]
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


def test_every_implemented_key_is_read_by_the_runtime():
    source = _runtime_source()
    unread = []
    for s in S.SETTINGS:
        if not s.implemented or s.alias_of or s.key in READ_ELSEWHERE or s.key in PENDING_WIRING:
            continue
        if s.scope not in (S.JOB, S.ENDPOINT, *S.AVAILABLE_KINDS):
            continue
        call = re.compile(r"""\.(setting|flag|integer|get)\(\s*["']""" + re.escape(s.key) + "[\"']")
        if not call.search(source):
            unread.append(f"{s.scope}:{s.key}")
    assert unread == [], "implemented in the table but read nowhere: " + ", ".join(unread)


def _refused_value(s) -> str:
    if s.type == "boolean":
        return "false" if s.inert is True else "true"
    if s.type == "enum":
        return next(c for c in s.choices if s.inert is None or s.parse(c) != s.inert)
    return {"integer": "5", "duration": "5s"}.get(s.type, "x")


_CONNECTOR_TYPES = {"kafka": ("kafka_source", "kafka_sink"), "database": ("database_source",
                    "database_sink"), "s3": ("s3_source", "s3_sink"),
                    "http": (None, "http_sink"), "iceberg": (None, "iceberg_sink")}


def _bind_with(s, value):
    key = s.key.replace("*", "price")
    sink_types = ("file_sink", "file_sink")
    if s.scope in _CONNECTOR_TYPES:
        source_type, sink_type = _CONNECTOR_TYPES[s.scope]
        on_sink = s.role == S.SINK or source_type is None
        types = ("file_source", sink_type) if on_sink else (source_type, "file_sink")
    else:
        on_sink = s.role == S.SINK
        types = ("file_source", sink_types[1])
    name = "" if s.scope == S.JOB else ("out." if on_sink else "t.")

    def where(endpoint, type_, path):
        # A runnable database endpoint names a SQLite file and table, not a path.
        if type_.startswith("database"):
            return f"'{endpoint}.url' = 'sqlite:///x.db', '{endpoint}.table' = 'x'"
        return f"'{endpoint}.path' = '{path}'"

    sql = (f"SELECT a FROM t INTO out WITH ('t.type' = '{types[0]}', "
           f"{where('t', types[0], 'in.csv')}, 'out.type' = '{types[1]}', "
           f"{where('out', types[1], 'o.csv')}, '{name}{key}' = '{value}')")
    return bind_statement(parse_sql(sql).statements[0], filename="q.sql")


@pytest.mark.parametrize("setting", [s for s in S.SETTINGS if not s.implemented],
                         ids=lambda s: f"{s.scope}:{s.key}")
def test_every_refused_key_is_refused_at_bind(setting):
    with pytest.raises(ConfigError) as info:
        _bind_with(setting, _refused_value(setting))
    message = str(info.value)
    assert "not supported by this build yet" in message or "not available in this build" in (
        message), message
    assert info.value.filename == "q.sql" and info.value.line == 1
    if setting.scope in (S.JOB, S.ENDPOINT, *S.AVAILABLE_KINDS):
        assert setting.key.replace("*", "price") in info.value.key
    if setting.inert is not None and setting.scope in (S.JOB, S.ENDPOINT, *S.AVAILABLE_KINDS):
        _bind_with(setting, S._show(setting.inert, setting.type))  # what the build does: accepted


def test_table_size_is_reported_by_the_reference():
    implemented = [s for s in S.SETTINGS if s.implemented]
    assert len(implemented) + len([s for s in S.SETTINGS if not s.implemented]) == len(S.SETTINGS)
    assert S.reference_markdown().count("| implemented |") == len(implemented)


# ------------------------------------------------------------------------------ the spec's keys
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
_WITH_KEY = re.compile(r"'([A-Za-z_][A-Za-z0-9_.\-]*)'\s*=\s*")
_CONFIG = re.compile(r"^--\s*CONFIG:\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=", re.MULTILINE)
_DIRECTIVE = re.compile(r"^--\s*([A-Z][A-Z_]+):", re.MULTILINE)
# Illustrations of the syntax, not keys.
NOT_KEYS = {"parameter_name": "operations-guide.md shows '-- CONFIG: parameter_name = value'"}


def _spec_blocks():
    spec = SHARED / "spec"
    if not spec.is_dir():
        pytest.skip("shared/spec is not beside the checkout")
    for md in sorted(spec.glob("*.md")):
        for match in _FENCE.finditer(md.read_text(encoding="utf-8")):
            yield md.name, match.group(1), match.group(2)


def _flat(data, prefix=""):
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def _documented(key: str) -> bool:
    """A key of the table: a job key, or '<endpoint>.<key>' of any endpoint kind."""
    if is_job_key(key):
        return True
    _, dot, sub = key.partition(".")
    return bool(dot) and is_endpoint_key(sub, [])


def test_every_key_of_the_spec_is_in_the_table():
    missing = []
    for name, lang, body in _spec_blocks():
        for match in _WITH_KEY.finditer(body):
            if not _documented(match.group(1)):
                missing.append((name, "WITH", match.group(1)))
        for match in _CONFIG.finditer(body):
            key = match.group(1)
            if key not in NOT_KEYS and S.job_setting(key) is None:
                missing.append((name, "CONFIG", key))
        for match in _DIRECTIVE.finditer(body):
            if match.group(1) not in S.DIRECTIVES:
                missing.append((name, "directive", match.group(1)))
        head = body.splitlines()[:3]
        if lang in ("yaml", "yml") and any(line.startswith(("# configs/", "extends:"))
                                           for line in head):
            for key in _flat(yaml.safe_load(body)):
                if key != "extends" and not is_endpoint_key(key, []):
                    missing.append((name, "YAML", key))
    assert missing == []


def test_every_key_of_dialect_section_7_is_in_the_table():
    from velostream.formats.registry import _FORMATS
    from velostream.plan.catalog import ENDPOINT_TYPES, UNAVAILABLE_TYPES

    dialect = SHARED / "DIALECT.md"
    if not dialect.is_file():
        pytest.skip("shared/DIALECT.md is not beside the checkout")
    text = dialect.read_text(encoding="utf-8")
    section = text[text.index("## 7."):text.index("## 8.")]
    values = {c.lower() for s in S.SETTINGS for c in s.choices} | {n for spec in _FORMATS.values() for n in (spec.name, *spec.aliases)} | set(
        ENDPOINT_TYPES) | set(UNAVAILABLE_TYPES)
    tokens = [t for t in re.findall(r"`([a-z_][a-z0-9_.]*)`", section)]
    assert len(tokens) > 30
    missing = [t for t in tokens if t.lower() not in values and S.job_setting(t) is None
               and not is_endpoint_key(t, [])]
    assert missing == []


def test_every_key_of_the_corpus_statements_is_in_the_table():
    from tests.corpus import CORPUS, statement_names
    from velostream.plan.catalog import describe_statement

    names = statement_names()
    if not names:
        pytest.skip("shared/corpus is not beside the checkout")
    missing = []
    for name in names:
        for stmt in parse_sql((CORPUS / name).read_text(), name).statements:
            info = describe_statement(stmt)
            missing += [(name, k) for k in info.job_properties if not is_job_key(k)]
            for ep in info.sources + info.sinks:
                missing += [(name, f"{ep.name}.{k}") for k in ep.properties
                            if not is_endpoint_key(k, [ep.type])]
    assert missing == []


def test_validate_warns_about_refused_config_globals_and_directives():
    text = ("-- CONFIG: timeout_ms = 60000\n-- CONFIG: financial_precision = maybe\n"
            "-- CONFIG: worker_thread = 3\n-- CONFIG: metrics_enabled = true\n"
            "-- JOB: j\n-- TIMEOUT: 5000\n-- GROUP: g\n-- BATCH_SIZE: 50\n"
            "SELECT a FROM t WITH ('t.type' = 'file_source', 't.path' = 'x.csv');\n")
    report = check_sql_file(text, "app.sql")
    assert [(e.line, e.message) for e in report.errors] == [
        (2, "CONFIG financial_precision must be true or false; got 'maybe'")]
    assert [(w.line, w.message) for w in report.warnings] == [
        (1, "CONFIG 'timeout_ms' is not supported by this build yet"),
        (3, "CONFIG worker_thread: unknown job property"),
        (6, "-- TIMEOUT: 'timeout_ms' is not supported by this build yet"),
        (7, "-- GROUP: sets 'group.id', which source 't' (file_source) does not have")]
    assert report.warnings[1].hint == "did you mean 'worker_threads'?"


def test_a_kafka_sinks_producer_batch_size_survives_rebinding_to_a_file(data, tmp_path):
    stmt = parse_sql("SELECT a FROM t INTO k WITH ('t.type' = 'file_source', "
                     f"'t.path' = '{data}', 'k.type' = 'kafka_sink', 'k.topic' = 'x', "
                     "'k.batch.size' = '16384')").statements[0]
    plan = bind_statement(stmt, {"k.type": "file_sink", "k.path": str(tmp_path / "o.jsonl")})
    assert plan.sinks[0].type == "file_sink"
