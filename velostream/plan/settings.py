"""The one table of configuration settings: every job, source and sink key, and its parsing.

Owns which keys exist, at which scope (the job, every endpoint, or one kind of endpoint), with a
type, a default, a one-line description and a status: *implemented* (the runtime reads it, through
:meth:`Setting.parse` by way of ``JobPlan.setting`` / ``EndpointConfig.setting``) or *refused*
("not supported by this build yet": ``validate`` warns, binding refuses with a ConfigError naming
the key, file and line). A refused key may name an *inert* value — what this build does anyway
(``use_transactions = 'false'``, ``batch.strategy = 'fixed_size'``) — which is accepted. Keys of a
connector this build does not have (Kafka, S3, HTTP, Iceberg) are refused with their
type. No key is accepted and then ignored.

Also owns the one parser of each setting type (boolean, integer, duration in ms, enum), the
mapping of application-file directives (``-- BATCH_SIZE:`` …) to settings (:data:`DIRECTIVES`),
the lookup that turns an unknown key into a message naming the closest valid one, and the
reference page generated from the table (:func:`reference`; ``velo-sql config-keys``).

Configuration priority, highest first (spec/operations-guide.md "Configuration Priority Order";
inline WITH over YAML as in spec/multi-source-sink-guide.md): the command line (``-p`` /
``StreamApp(properties=)``) > the job's directives > the statement's WITH > the endpoint's YAML
``config_file`` > the file's ``-- CONFIG:`` globals > the defaults of this table.

Kafka endpoints also take librdkafka's own properties, passed through unchanged (DIALECT §7);
their names are in :data:`LIBRDKAFKA_PROPERTIES`.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field

from velostream._core.textparse import FALSE_WORDS, TRUE_WORDS, parse_boolean_text  # noqa: F401 (the words, for the reference page and tests)
from velostream.errors import ConfigError

IMPLEMENTED = "implemented"
REFUSED = "refused"
NOT_SUPPORTED = "is not supported by this build yet"
# Integer settings are sizes, counts and durations: bounded so every one fits a C ssize_t.
MAX_INTEGER = 2 ** 62

JOB = "job"
ENDPOINT = "endpoint"
SOURCE, SINK = "source", "sink"
# Endpoint kinds this build has a connector for; the keys of the others are refused with the type.
AVAILABLE_KINDS = frozenset({"file", "stdout", "database"})


# ------------------------------------------------------------------------------ the type parsers
def parse_integer(raw, minimum: int = 0, maximum: int = MAX_INTEGER) -> int | None:
    """The one parser of integer settings: ASCII digits with an optional '-', within
    [minimum, maximum]; None when the text is not such a number."""
    text = str(raw).strip()
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def integer_problem(raw, minimum: int = 0, maximum: int = MAX_INTEGER) -> str:
    """What is wrong with ``raw`` as an integer setting (for the message of a refused value)."""
    text = str(raw).strip()
    digits = text.removeprefix("-")
    if digits.isascii() and digits.isdigit() and int(text) > maximum:
        return f"must be an integer ≤ {maximum}; got {raw!r}"
    return f"must be an integer ≥ {minimum}; got {raw!r}"


# The words of a boolean setting, in any case: the same words CAST('…' AS BOOLEAN) reads.
def parse_boolean(raw) -> bool | None:
    """Boolean settings (WITH, YAML, directives, -p) read as CAST(text AS BOOLEAN) reads text
    (``_core.textparse``: one set of words); None when not a boolean."""
    if isinstance(raw, bool):
        return raw
    return parse_boolean_text(str(raw))


_DURATION_UNITS = (("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000))


def parse_duration(raw, minimum: int = 0) -> int | None:
    """Milliseconds from ``'2000'``, ``'2000ms'``, ``'2s'``, ``'5m'`` or ``'1h'``; None when not
    such a duration."""
    text = str(raw).strip().lower()
    for suffix, factor in _DURATION_UNITS:
        if text.endswith(suffix):
            value = parse_integer(text[: -len(suffix)].strip(), minimum, MAX_INTEGER // factor)
            return None if value is None else value * factor
    return parse_integer(text, minimum)


def _fold(word: str) -> str:
    return str(word).replace("_", "").replace("-", "").strip().lower()


# ------------------------------------------------------------------------------ the table
@dataclass(frozen=True)
class Setting:
    """One key. ``key`` is written after the endpoint prefix for endpoint scopes; ``schema.*``
    matches a family. ``default`` is the typed value (milliseconds for a duration)."""

    key: str
    type: str           # string | boolean | integer | duration | enum | path | type
    default: object     # None: unset (or computed, see doc)
    scope: str          # JOB, ENDPOINT (every source and sink), or an endpoint kind
    doc: str
    status: str = IMPLEMENTED
    choices: tuple = ()
    minimum: int = 0
    # A refused key: the value that is what this build does anyway, accepted (None: no such value).
    inert: object = None
    # Another spelling of ``alias_of`` (same scope); the accessors read either.
    alias_of: str | None = None
    # SOURCE or SINK when only that role reads it (None: both).
    role: str | None = None
    # A job setting of one connector (``group_prefix``: Kafka): refused with that connector's
    # type, and left alone when ``-p`` rebinds the job's endpoints of that type to files.
    connector: str | None = None

    def matches(self, key: str) -> bool:
        key = key.lower()
        if self.key.endswith(".*"):
            return key.startswith(self.key[:-1]) and len(key) > len(self.key) - 1
        return key == self.key

    @property
    def implemented(self) -> bool:
        return self.status == IMPLEMENTED

    @property
    def canonical(self) -> str:
        return self.alias_of or self.key

    def problem(self, raw) -> tuple[str, str | None] | None:
        """(message, hint) when ``raw`` is not a value of this setting's type, else None."""
        return self._parsed(raw)[1]

    def parse(self, raw, name: str | None = None):
        """``raw`` (text from WITH, YAML, a directive or -p) as this setting's type; a
        ConfigError naming ``name`` (default: the key) when it is not one."""
        value, problem = self._parsed(raw)
        if problem:
            message, hint = problem
            raise ConfigError(message + (f" ({hint})" if hint else ""), key=name or self.key)
        return value

    def _parsed(self, raw):
        if self.type == "boolean":
            value = parse_boolean(raw)
            return value, None if value is not None else (
                f"must be true or false; got {raw!r}", None)
        if self.type == "integer":
            value = parse_integer(raw, self.minimum)
            return value, None if value is not None else (
                integer_problem(raw, self.minimum), None)
        if self.type == "duration":
            value = parse_duration(raw, self.minimum)
            return value, None if value is not None else (
                (f"must be a duration ≥ {self.minimum} (milliseconds, or with ms, s, m or h: "
                f"'2000ms', '2s'); got {raw!r}"), None)
        if self.type == "enum" and self.choices:
            value = {_fold(c): c for c in self.choices}.get(_fold(raw))
            if value is not None:
                return value, None
            close = difflib.get_close_matches(str(raw), list(self.choices), n=1, cutoff=0.5)
            return None, (f"must be one of {', '.join(self.choices)}; got {raw!r}",
                          f"did you mean {close[0]}?" if close else None)
        return str(raw), None

    def refusal(self, raw=None, name: str | None = None) -> str | None:
        """The message refusing this key set to ``raw``, or None when it is accepted."""
        if self.implemented:
            return None
        if self.inert is not None and raw is not None:
            try:
                if self.parse(raw) == self.inert:
                    return None
            except ConfigError:
                pass
        message = f"'{name or self.key}' {NOT_SUPPORTED}"
        if self.inert is not None:
            message += f" (remove it, or set it to {_show(self.inert, self.type)!r}, what this build does)"
        return message

    def shown_default(self) -> str:
        return "" if self.default is None else _show(self.default, self.type)


def _show(value, type_: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if type_ == "duration" and isinstance(value, int):
        return f"{value}ms"
    return str(value)


def _row(scope, key, type_, default, doc, **extra) -> Setting:
    if scope not in (JOB, ENDPOINT) and scope not in AVAILABLE_KINDS:
        extra.setdefault("status", REFUSED)
    return Setting(key, type_, default, scope, doc, **extra)


def _no(scope, key, type_, doc, **extra) -> Setting:
    """A documented key this build refuses."""
    return _row(scope, key, type_, extra.get("inert"), doc, status=REFUSED, **extra)


_STRATEGIES = ("LogAndContinue", "FailBatch", "RetryWithBackoff", "SendToDLQ")
_BATCH_STRATEGIES = ("fixed_size", "time_window", "adaptive_size", "memory_based", "low_latency")
_FORMATS = ("json", "avro", "protobuf", "csv", "string")

SETTINGS: list[Setting] = [
    # -- the job ---------------------------------------------------------------------------
    _row(JOB, "failure_strategy", "enum", "LogAndContinue",
         "what a failing record does: LogAndContinue, FailBatch, RetryWithBackoff, SendToDLQ",
         choices=_STRATEGIES),
    _row(JOB, "max_retries", "integer", 3, "RetryWithBackoff: retries of a failing batch"),
    _row(JOB, "retry_backoff", "duration", 1000, "RetryWithBackoff: first delay, doubled per retry"),
    _row(JOB, "dlq.path", "path", None, "SendToDLQ: the dead-letter file (one JSON line per record)"),
    _no(JOB, "dlq.topic", "string", "SendToDLQ: a dead-letter Kafka topic", connector="kafka"),
    _row(JOB, "financial_precision", "boolean", True,
         "decimals exactly from their text (DECIMAL), not DOUBLE"),
    _row(JOB, "distinct.max_keys", "integer", 1_000_000, "rows SELECT DISTINCT remembers", minimum=1),
    _row(JOB, "max_string_bytes", "integer", 16 << 20,
         "the longest string a function may build; longer fails the row", minimum=1),
    _row(JOB, "batch.size", "integer", None, "records per batch of a file source (default: the "
         "whole records of each 1 MiB block read)", minimum=1),
    _row(JOB, "max_batch_size", "integer", None, "the documents' spelling of batch.size",
         minimum=1, alias_of="batch.size"),
    _row(JOB, "batch_size", "integer", None, "the documents' spelling of batch.size (-- CONFIG:)",
         minimum=1, alias_of="batch.size"),
    _row(JOB, "batch.timeout", "duration", None, "--continuous: the longest a partial batch of a "
         "growing file waits before it is flushed (default: flushed when read)"),
    _row(JOB, "batch_timeout", "duration", None, "the documents' spelling of batch.timeout",
         alias_of="batch.timeout"),
    _no(JOB, "decimal_places", "integer", "default scale of decimal output"),
    _no(JOB, "use_transactions", "boolean", "exactly-once Kafka transactions", inert=False, connector="kafka"),
    _no(JOB, "batch.strategy", "enum", "how batches are formed (this build: fixed_size)",
        choices=_BATCH_STRATEGIES, inert="fixed_size"),
    _no(JOB, "batch.enable", "boolean", "batching on or off (this build always batches)",
        inert=True),
    _no(JOB, "batch.memory_limit_mb", "integer", "memory_based batches"),
    _no(JOB, "batch.memory_size", "integer", "memory_based batches"),
    _no(JOB, "batch.low_latency_wait", "duration", "low_latency batches"),
    _no(JOB, "batch.low_latency_max_size", "integer", "low_latency batches"),
    _no(JOB, "batch.eager_processing", "boolean", "low_latency batches", inert=False),
    _no(JOB, "batch.adaptive_max_size", "integer", "adaptive_size batches"),
    _no(JOB, "batch.min_size", "integer", "adaptive_size batches"),
    _no(JOB, "batch.max_size", "integer", "adaptive_size batches"),
    _no(JOB, "batch.target_latency", "duration", "adaptive_size batches"),
    _row(JOB, "state.backend", "enum", None, "where operator state is kept: memory, rocksdb or "
         "sqlite (default: rocksdb when 'state.dir' is set, else memory)",
         choices=("memory", "rocksdb", "sqlite")),
    _row(JOB, "state.dir", "path", None, "the directory job state is kept in (<dir>/<job name>/); "
         "with it the job checkpoints and resumes"),
    _row(JOB, "state.cache.max_bytes", "integer", 64 << 20, "bytes of operator state a job with "
         "a state.dir holds in memory (an estimate); colder state is spilled to the state "
         "store and read back when needed", minimum=1 << 20),
    _row(JOB, "checkpoint.interval", "duration", 5000, "how often a job with a state.dir makes "
         "its state, source positions and sink lengths durable", minimum=1),
    _row(JOB, "allowed.lateness", "duration", 0, "windows close this long after the watermark "
         "passes their end (each still emits one final row)"),
    _row(JOB, "late.data.strategy", "enum", "drop", "a record whose windows are all closed: "
         "drop (counted) or dead_letter (to dlq.path)", choices=("drop", "dead_letter")),
    _row(JOB, "watermark.idle_timeout", "duration", None, "a source without records this long "
         "has its watermark advanced by processing time, so windows still close (default: never)"),
    _no(JOB, "source.buffer_size", "integer", "read buffer of the sources (-- BUFFER_SIZE:)",
        minimum=1),
    # -- CONFIG: globals and directives of spec/operations-guide.md "Configuration Options"
    _no(JOB, "timeout_ms", "duration", "the job's timeout (-- TIMEOUT:)"),
    _no(JOB, "memory_limit_mb", "integer", "the job's memory limit (-- MEMORY_LIMIT:)",
        minimum=1),
    _no(JOB, "metrics_enabled", "boolean", "per-job metrics (-- ENABLE_METRICS:); this build "
        "always counts records in, out and failed", inert=True),
    _no(JOB, "log_level", "enum", "the job's log level (-- LOG_LEVEL:)",
        choices=("DEBUG", "INFO", "WARN", "WARNING", "ERROR")),
    _no(JOB, "max_memory_mb", "integer", "server: memory limit of all jobs"),
    _no(JOB, "worker_threads", "integer", "server: worker threads"),
    _no(JOB, "flush_interval_ms", "duration", "server: output flush interval"),
    _no(JOB, "group_prefix", "string", "Kafka: prefix of consumer group names", connector="kafka"),
    _no(JOB, "job_prefix", "string", "server: prefix of job names"),
    _no(JOB, "session_timeout_ms", "duration", "Kafka: consumer session timeout", connector="kafka"),
    _no(JOB, "heartbeat_interval_ms", "duration", "Kafka: consumer heartbeat interval", connector="kafka"),
    _no(JOB, "retry_attempts", "integer", "server: restarts of a failed job"),
    _no(JOB, "restart_policy", "enum", "server: always, never or on-failure",
        choices=("always", "never", "on-failure")),
    _no(JOB, "default_format", "enum", "server: the serialization format of Kafka topics",
        choices=_FORMATS),
    _no(JOB, "health_check_interval_ms", "duration", "server: health check period"),
    # -- every source and sink ------------------------------------------------------------
    _row(ENDPOINT, "type", "type", None,
         "the connector: file_source, file_sink, stdout_sink, database_source, "
         "database_sink (kafka_source, … are refused)"),
    _row(ENDPOINT, "config_file", "path", None,
         "YAML file of this endpoint's properties (extends, ${VAR}); inline WITH keys win"),
    _row(ENDPOINT, "schema.*", "string", None,
         "declared type of a field: DECIMAL(p,s), DOUBLE, BIGINT, STRING, BOOLEAN, TIMESTAMP",
         role=SOURCE),
    _row(ENDPOINT, "event.time.field", "string", None, "the field _event_time is read from",
         role=SOURCE),
    _row(ENDPOINT, "event.time.format", "string", "epoch_millis",
         "epoch_millis, epoch_seconds, iso8601 or a strftime pattern", role=SOURCE),
    _row(ENDPOINT, "watermark.max_out_of_orderness", "duration", 0, "watermark = the largest "
         "event time seen minus this", role=SOURCE),
    _row(ENDPOINT, "watermark.idle_timeout", "duration", None, "this source's idle timeout "
         "(default: the job's watermark.idle_timeout)", role=SOURCE),
    _row(ENDPOINT, "batch.size", "integer", None,
         "records per batch of this source (default: the job's batch.size)", minimum=1,
         role=SOURCE),
    _row(ENDPOINT, "batch_size", "integer", None, "the documents' spelling of batch.size",
         minimum=1, alias_of="batch.size", role=SOURCE),
    _row(ENDPOINT, "max_batch_size", "integer", None, "the documents' spelling of batch.size",
         minimum=1, alias_of="batch.size", role=SOURCE),
    _row(ENDPOINT, "batch.timeout", "duration", None,
         "--continuous flush of this source's partial batch (default: the job's batch.timeout)",
         role=SOURCE),
    _row(ENDPOINT, "batch_timeout", "duration", None, "the documents' spelling of batch.timeout",
         alias_of="batch.timeout", role=SOURCE),
    _no(ENDPOINT, "failure_strategy", "enum", "this endpoint's own failure strategy",
        choices=_STRATEGIES),
    _no(ENDPOINT, "max_retries", "integer", "this endpoint's own retries"),
    _no(ENDPOINT, "retry_backoff", "duration", "this endpoint's own retry delay"),
    _no(ENDPOINT, "source.buffer_size", "integer", "read buffer"),
    # -- files ----------------------------------------------------------------------------
    _row("file", "path", "path", None, "the file to read or write"),
    # The file formats are the format registry's (connectors/formats), not listed here.
    _row("file", "format", "string", None, "csv, json, jsonl or parquet (default: from the "
         "file's extension)"),
    _row("file", "source.format", "string", None, "the documents' spelling of format",
         alias_of="format", role=SOURCE),
    _row("file", "has_headers", "boolean", True, "CSV: the first record names the columns"),
    _row("file", "source.has_headers", "boolean", None, "the documents' spelling of has_headers",
         alias_of="has_headers", role=SOURCE),
    _row("file", "delimiter", "string", ",", "CSV: one single-byte character; \\t or tab for a tab"),
    _row("file", "watch", "boolean", False, "follow the growing file (tail)", role=SOURCE),
    _row("file", "append", "boolean", False, "append instead of truncating", role=SINK),
    _row("file", "decimals_as_numbers", "boolean", False, "DECIMAL as JSON numbers, not strings",
         role=SINK),
    _row("file", "csv.max_record_bytes", "integer", 1 << 20,
         "the longest CSV record (an open quote runs at most this far)", minimum=1, role=SOURCE),
    _row("file", "parquet.row_group_size", "integer", 65536,
         "Parquet: rows per row group", minimum=1, role=SINK),
    _row("file", "parquet.compression", "enum", "snappy", "Parquet: the column compression",
         choices=("none", "snappy", "gzip", "zstd", "lz4", "brotli"), role=SINK),
    _no("file", "encoding", "enum", "text encoding (this build: UTF-8)",
        choices=("utf-8", "latin-1", "utf-16", "ascii"),
        inert="utf-8"),
    _no("file", "compression", "enum", "compress the file", choices=("none", "gzip", "snappy",
                                                                      "lz4", "zstd"),
        inert="none"),
    _no("file", "rotation", "string", "start a new file by size or time", role=SINK),
    _no("file", "max_files", "integer", "rotated files kept", role=SINK),
    # -- standard output ------------------------------------------------------------------
    _row("stdout", "format", "string", None, "json, json-pretty, json-lines, csv or table"),
    _row("stdout", "delimiter", "string", ",", "csv: the delimiter"),
    _row("stdout", "decimals_as_numbers", "boolean", False, "DECIMAL as JSON numbers, not strings"),
    # -- connectors this build does not have: refused with their type ---------------------
    _row("kafka", "bootstrap.servers", "string", None, "the brokers, host:port,…"),
    _row("kafka", "brokers", "string", None, "alias of bootstrap.servers",
         alias_of="bootstrap.servers"),
    _row("kafka", "topic", "string", None, "the topic to read or write (-- TOPIC:, -- OUTPUT_TOPIC:)"),
    _row("kafka", "group.id", "string", None, "the consumer group (-- GROUP:)", role=SOURCE),
    _row("kafka", "partition", "integer", None, "read one partition (-- PARTITION:)", role=SOURCE),
    _row("kafka", "auto.offset.reset", "enum", "latest", "earliest or latest (-- OFFSET_RESET:)",
         choices=("earliest", "latest"), role=SOURCE),
    _row("kafka", "value.format", "enum", "json",
         "json, avro, protobuf, csv or string (-- FORMAT:, -- OUTPUT_FORMAT:)", choices=_FORMATS),
    _row("kafka", "key.format", "enum", None, "the message key's format", choices=_FORMATS),
    _row("kafka", "key.field", "string", None, "the field written as the message key "
         "(-- OUTPUT_PARTITION_KEY:)", role=SINK),
    _row("kafka", "avro.schema.file", "path", None, "Avro schema (.avsc; -- SCHEMA:)"),
    _row("kafka", "protobuf.schema.file", "path", None, "Protobuf schema (.proto; -- PROTO:)"),
    _row("kafka", "protobuf.message", "string", None, "the Protobuf message type"),
    _row("kafka", "schema.registry.url", "string", None, "Confluent schema registry"),
    # Java-client names the product documents use next to librdkafka's.
    _row("kafka", "max.poll.records", "integer", None, "records per poll", role=SOURCE),
    _row("kafka", "fetch.max.wait.ms", "integer", None, "longest fetch wait", role=SOURCE),
    # -- databases: SQLite (connectors.sqlite) ------------------------------------------
    _row("database", "url", "string", None, "sqlite:///path.db (sqlite:////abs/path.db)"),
    _row("database", "connection", "string", None, "the documents' spelling of url",
         alias_of="url"),
    _row("database", "connection.url", "string", None, "the documents' spelling of url",
         alias_of="url"),
    _no("database", "connection.username", "string", "user name (SQLite has none)"),
    _no("database", "connection.password", "string", "password (SQLite has none)"),
    _no("database", "connection.pool.max_size", "integer", "connection pool size"),
    _row("database", "table", "string", None, "the table to read (ORDER BY rowid) or write "
         "(created when missing)"),
    _row("database", "query", "string", None, "a query instead of a table (deterministic: a "
         "restart re-runs it and skips the rows read)", role=SOURCE),
    _no("database", "refresh_interval", "duration", "reload period of a table (this build "
        "reads a table once)", role=SOURCE),
    _row("database", "primary_key", "string", None, "col1,col2: upsert rows on this key "
         "(default: the GROUP BY keys of an EMIT CHANGES query)", role=SINK),
    _row("s3", "bucket", "string", None, "the bucket"),
    _row("s3", "prefix", "string", None, "key prefix of the objects"),
    _row("s3", "path", "string", None, "object path"),
    _row("s3", "format", "string", None, "json, csv, parquet, …"),
    _row("s3", "compression", "string", None, "object compression"),
    _row("s3", "encryption", "string", None, "server-side encryption"),
    _row("s3", "region", "string", None, "the AWS region"),
    _row("s3", "access_key_id", "string", None, "AWS access key"),
    _row("s3", "secret_access_key", "string", None, "AWS secret key"),
    _row("s3", "partition_columns", "string", None, "columns that name the object prefixes"),
    _row("http", "url", "string", None, "the endpoint to post to"),
    _row("http", "endpoint", "string", None, "the documents' spelling of url", alias_of="url"),
    _row("http", "method", "enum", "POST", "HTTP method", choices=("POST", "PUT")),
    _row("http", "auth_header", "string", None, "Authorization header"),
    _row("http", "auth_token", "string", None, "bearer token"),
    _row("http", "timeout", "duration", None, "request timeout"),
    _row("iceberg", "table", "string", None, "the table"),
    _row("iceberg", "catalog", "string", None, "the catalog"),
    _row("iceberg", "warehouse", "string", None, "warehouse location"),
]

# The endpoint kind of each type (short forms included).
_KINDS = {
    "kafka_source": "kafka", "kafka_sink": "kafka", "kafka": "kafka",
    "file_source": "file", "file_sink": "file", "file": "file",
    "database_source": "database", "database_sink": "database", "database": "database",
    "stdout_sink": "stdout", "stdout": "stdout",
    "s3_source": "s3", "s3_sink": "s3", "http_sink": "http", "iceberg_sink": "iceberg",
}

# librdkafka's configuration properties (CONFIGURATION.md: global and topic), passed through to
# Kafka endpoints unchanged. Callbacks and other C-API-only entries are left out.
LIBRDKAFKA_PROPERTIES = frozenset("""
    builtin.features client.id metadata.broker.list bootstrap.servers message.max.bytes
    message.copy.max.bytes receive.message.max.bytes max.in.flight.requests.per.connection
    max.in.flight metadata.recovery.strategy metadata.recovery.rebootstrap.trigger.ms
    topic.metadata.refresh.interval.ms metadata.max.age.ms topic.metadata.refresh.fast.interval.ms
    topic.metadata.refresh.fast.cnt topic.metadata.refresh.sparse topic.metadata.propagation.max.ms
    topic.blacklist debug socket.timeout.ms socket.blocking.max.ms socket.send.buffer.bytes
    socket.receive.buffer.bytes socket.keepalive.enable socket.nagle.disable socket.max.fails
    broker.address.ttl broker.address.family socket.connection.setup.timeout.ms
    connections.max.idle.ms reconnect.backoff.jitter.ms reconnect.backoff.ms
    reconnect.backoff.max.ms statistics.interval.ms enabled_events log_level log.queue
    log.thread.name enable.random.seed log.connection.close internal.termination.signal
    api.version.request api.version.request.timeout.ms api.version.fallback.ms
    broker.version.fallback allow.auto.create.topics security.protocol ssl.cipher.suites
    ssl.curves.list ssl.sigalgs.list ssl.key.location ssl.key.password ssl.key.pem
    ssl.certificate.location ssl.certificate.pem ssl.ca.location https.ca.location https.ca.pem
    ssl.ca.pem ssl.ca.certificate.stores ssl.crl.location ssl.keystore.location
    ssl.keystore.password ssl.providers ssl.engine.location ssl.engine.id
    enable.ssl.certificate.verification ssl.endpoint.identification.algorithm sasl.mechanisms
    sasl.mechanism sasl.kerberos.service.name sasl.kerberos.principal sasl.kerberos.kinit.cmd
    sasl.kerberos.keytab sasl.kerberos.min.time.before.relogin sasl.username sasl.password
    sasl.oauthbearer.config enable.sasl.oauthbearer.unsecure.jwt sasl.oauthbearer.method
    sasl.oauthbearer.client.id sasl.oauthbearer.client.credentials.client.id
    sasl.oauthbearer.client.credentials.client.secret sasl.oauthbearer.client.secret
    sasl.oauthbearer.scope sasl.oauthbearer.extensions sasl.oauthbearer.token.endpoint.url
    sasl.oauthbearer.grant.type sasl.oauthbearer.assertion.algorithm
    sasl.oauthbearer.assertion.private.key.file sasl.oauthbearer.assertion.private.key.passphrase
    sasl.oauthbearer.assertion.private.key.pem sasl.oauthbearer.assertion.file
    sasl.oauthbearer.assertion.claim.aud sasl.oauthbearer.assertion.claim.exp.seconds
    sasl.oauthbearer.assertion.claim.iss sasl.oauthbearer.assertion.claim.jti.include
    sasl.oauthbearer.assertion.claim.nbf.seconds sasl.oauthbearer.assertion.claim.sub
    sasl.oauthbearer.assertion.jwt.template.file sasl.oauthbearer.metadata.authentication.type
    plugin.library.paths group.id group.instance.id partition.assignment.strategy
    session.timeout.ms heartbeat.interval.ms group.protocol.type group.protocol
    group.remote.assignor coordinator.query.interval.ms max.poll.interval.ms enable.auto.commit
    auto.commit.interval.ms enable.auto.offset.store queued.min.messages
    queued.max.messages.kbytes fetch.wait.max.ms fetch.queue.backoff.ms fetch.message.max.bytes
    max.partition.fetch.bytes fetch.max.bytes fetch.min.bytes fetch.error.backoff.ms
    offset.store.method isolation.level enable.partition.eof check.crcs client.rack
    transactional.id transaction.timeout.ms enable.idempotence enable.gapless.guarantee
    queue.buffering.max.messages queue.buffering.max.kbytes queue.buffering.max.ms linger.ms
    message.send.max.retries retries retry.backoff.ms retry.backoff.max.ms
    queue.buffering.backpressure.threshold compression.codec compression.type
    batch.num.messages batch.size delivery.report.only.error sticky.partitioning.linger.ms
    client.dns.lookup enable.metrics.push request.required.acks acks request.timeout.ms
    message.timeout.ms delivery.timeout.ms queuing.strategy produce.offset.report partitioner
    compression.level auto.commit.enable auto.offset.reset offset.store.path
    offset.store.sync.interval.ms consume.callback.max.messages
""".split())

# ------------------------------------------------------------------------------ directives
@dataclass(frozen=True)
class DirectiveSetting:
    """An application-file directive (``-- BATCH_SIZE: 500``) and the setting it sets.

    ``target`` is JOB, SOURCE (every source of the job) or SINK (every sink); ``key`` the
    setting, ``by_kind`` another key for an endpoint kind (``-- FORMAT:`` is ``value.format`` of
    a Kafka source). ``key`` None: the directive is not a setting (JOB names the job, CONFIG
    holds globals, WINDOW is refused with the window queries)."""

    name: str
    target: str
    key: str | None
    doc: str
    by_kind: dict = field(default_factory=dict)

    def key_for(self, kind: str | None) -> str | None:
        return self.by_kind.get(kind, self.key)


DIRECTIVES: dict[str, DirectiveSetting] = {d.name: d for d in [
    DirectiveSetting("JOB", JOB, None, "the job's name"),
    DirectiveSetting("CONFIG", JOB, None, "'key = value': a setting of every job of the file"),
    DirectiveSetting("TOPIC", SOURCE, "topic", "the source topic; a source without a type is a "
                     "kafka_source"),
    DirectiveSetting("FORMAT", SOURCE, "format", "the source's format", {"kafka": "value.format"}),
    DirectiveSetting("SCHEMA", SOURCE, "avro.schema.file", "Avro schema of the source"),
    DirectiveSetting("PROTO", SOURCE, "protobuf.schema.file", "Protobuf schema of the source"),
    DirectiveSetting("GROUP", SOURCE, "group.id", "the consumer group (with CONFIG group_prefix)"),
    DirectiveSetting("PARTITION", SOURCE, "partition", "read one partition"),
    DirectiveSetting("OFFSET_RESET", SOURCE, "auto.offset.reset", "earliest or latest"),
    DirectiveSetting("MEMORY_LIMIT", JOB, "memory_limit_mb", "the job's memory limit, MB"),
    DirectiveSetting("TIMEOUT", JOB, "timeout_ms", "the job's timeout, ms"),
    DirectiveSetting("BATCH_SIZE", JOB, "batch.size", "records per batch"),
    DirectiveSetting("BUFFER_SIZE", JOB, "source.buffer_size", "read buffer of the sources"),
    DirectiveSetting("WINDOW", JOB, None, "the job's window (must agree with the query's)"),
    DirectiveSetting("OUTPUT_TOPIC", SINK, "topic", "the sink topic; a sink without a type is a "
                     "kafka_sink"),
    DirectiveSetting("OUTPUT_FORMAT", SINK, "format", "the sink's format", {"kafka": "value.format"}),
    DirectiveSetting("OUTPUT_PARTITION_KEY", SINK, "key.field", "the field keying output messages"),
    DirectiveSetting("ENABLE_METRICS", JOB, "metrics_enabled", "per-job metrics"),
    DirectiveSetting("LOG_LEVEL", JOB, "log_level", "the job's log level"),
]}


# ------------------------------------------------------------------------------ lookups
def endpoint_kind(type_name: str | None) -> str | None:
    """``kafka``, ``file``, … for a type name (any case); None when it is not a known type."""
    if type_name is None:
        return None
    return _KINDS.get(str(type_name).strip().lower())


def _endpoint_settings(kinds) -> list[Setting]:
    return [s for s in SETTINGS if s.scope == ENDPOINT or s.scope in kinds]


def job_setting(key: str) -> Setting | None:
    """The job setting ``key`` (any case), or None."""
    return next((s for s in SETTINGS if s.scope == JOB and s.matches(key)), None)


def endpoint_setting(key: str, type_name: str | None) -> Setting | None:
    """The setting ``key`` (without the endpoint prefix) of an endpoint of ``type_name``; a
    kind's own row wins over the row for every endpoint. None when there is none."""
    kind = endpoint_kind(type_name)
    rows = [s for s in SETTINGS if s.matches(key) and s.scope in (kind, ENDPOINT)]
    rows.sort(key=lambda s: s.scope == ENDPOINT)
    return rows[0] if rows else None


def canonical(setting: Setting) -> Setting:
    """The row an alias stands for (``max_batch_size`` → ``batch.size``); a row itself when it
    is no alias."""
    if setting.alias_of is None:
        return setting
    return next(s for s in SETTINGS if s.key == setting.alias_of and s.scope == setting.scope)


def spellings(setting: Setting) -> list[str]:
    """Every key that sets ``setting``: its canonical key first, then its aliases."""
    canonical = setting.canonical
    return [canonical] + [s.key for s in SETTINGS
                          if s.alias_of == canonical and s.scope == setting.scope]


def lookup(properties: dict, setting: Setting):
    """(key as written, raw value) of ``setting`` in ``properties`` (keys lower-cased), or
    (None, None) when unset."""
    for key in spellings(setting):
        if properties.get(key) is not None:
            return key, properties[key]
    return None, None


def is_endpoint_key(key: str, type_names) -> bool:
    """Is ``key`` (without the endpoint prefix) valid for an endpoint of any of ``type_names``?
    An endpoint whose type is unknown or unset accepts the keys of every kind."""
    kinds = {endpoint_kind(t) for t in type_names} - {None}
    if not kinds:
        kinds = set(_KINDS.values())
    low = key.lower()
    if any(s.matches(low) for s in _endpoint_settings(kinds)):
        return True
    return "kafka" in kinds and low in LIBRDKAFKA_PROPERTIES


def is_job_key(key: str) -> bool:
    """Job properties, and librdkafka's (set once for every Kafka endpoint of the job)."""
    low = key.lower()
    return job_setting(low) is not None or low in LIBRDKAFKA_PROPERTIES


def closest(key: str, candidates, cutoff: float = 0.6) -> str | None:
    found = difflib.get_close_matches(key.lower(), list(candidates), n=1, cutoff=cutoff)
    return found[0] if found else None


def endpoint_keys(type_names) -> list[str]:
    """The keys shown for an endpoint of ``type_names`` (families as ``schema.<field>``)."""
    kinds = {endpoint_kind(t) for t in type_names} - {None} or set(_KINDS.values())
    return sorted({s.key.replace("*", "<field>") for s in _endpoint_settings(kinds)})


def job_keys() -> list[str]:
    return sorted(s.key for s in SETTINGS if s.scope == JOB)


def unknown_endpoint_key(name: str, key: str, type_names) -> tuple[str, str] | None:
    """(message, hint) when ``'<name>.<key>'`` is not a key of its endpoint, else None; the
    message does not repeat the key (callers put it in front)."""
    if is_endpoint_key(key, type_names):
        return None
    shown = [t for t in type_names if t]
    what = f"a {shown[0]}" if shown else "a source or sink"
    keys = endpoint_keys(type_names)
    near = closest(key, keys)
    hint = f"did you mean '{name}.{near}'?" if near else (
        f"the closest is '{name}.{closest(key, keys, cutoff=0.0)}'; keys: " + ", ".join(keys))
    return f"unknown property for {what}", hint


def unknown_job_key(key: str, endpoint_names=()) -> tuple[str, str] | None:
    """(message, hint) when ``key`` is not a job property, else None (the message does not
    repeat the key). A dotted key whose first part is no job property's is taken as addressed
    to a source or sink that the query does not have."""
    if is_job_key(key):
        return None
    head, dot, rest = key.partition(".")
    if dot and not any(k.startswith(head.lower() + ".") for k in job_keys()):
        near_name = closest(head, endpoint_names)
        names = ", ".join(endpoint_names) or "none"
        message = (f"no source or sink of this query is named '{head}' (its sources and "
                   f"sinks: {names})")
        return message, f"did you mean '{near_name}.{rest}'?" if near_name else None
    near = closest(key, job_keys())
    if near:
        return "unknown job property", f"did you mean '{near}'?"
    nearest = closest(key, job_keys(), cutoff=0.0)
    return "unknown job property", (
        (f"the closest job property is '{nearest}'; " if nearest else "") +
        "a source's or sink's key is written '<name>.<key>'")


def value_problem(setting: Setting, raw, name: str | None = None) -> tuple[str, str | None] | None:
    """(message, hint) when ``raw`` is no value of ``setting`` or the key is refused at that
    value (the message names neither the key's prefix nor the file: callers add them)."""
    if "${" in str(raw):
        return None  # resolved at run time
    problem = setting.problem(raw)
    if problem:
        return problem
    refused = setting.refusal(raw, name)
    return (refused, None) if refused else None


# ------------------------------------------------------------------------------ the reference
_SCOPE_TITLES = {
    JOB: "Job settings (unprefixed, or `-- CONFIG: key = value`)",
    ENDPOINT: "Every source and sink (`'<name>.<key>'`)",
    "file": "File sources and sinks (`file_source`, `file_sink`)",
    "stdout": "Standard output (`stdout_sink`)",
    "kafka": "Kafka (`kafka_source`, `kafka_sink`): not in this build",
    "database": "Database (`database_source`, `database_sink`): SQLite",
    "s3": "S3 (`s3_source`, `s3_sink`): not in this build",
    "http": "HTTP (`http_sink`): not in this build",
    "iceberg": "Iceberg (`iceberg_sink`): not in this build",
}


def _status_text(setting: Setting) -> str:
    if setting.implemented:
        return "implemented"
    if setting.connector or (setting.scope not in (JOB, ENDPOINT)
                             and setting.scope not in AVAILABLE_KINDS):
        return "refused (connector not in this build)" + (
            f" unless {_show(setting.inert, setting.type)}" if setting.inert is not None else "")
    if setting.inert is not None:
        return f"refused unless {_show(setting.inert, setting.type)}"
    return "refused"


def reference_rows() -> list[dict]:
    """The table as plain rows (the JSON form of ``velo-sql config-keys``)."""
    rows = []
    for s in SETTINGS:
        directives = [d.name for d in DIRECTIVES.values() if d.key is not None and (
            s.key == d.key if s.scope == JOB else s.key in (d.key, *d.by_kind.values()))
            and (d.target == JOB) == (s.scope == JOB)]
        rows.append({"key": s.key, "scope": s.scope, "type": s.type,
                     "default": s.shown_default() or None, "status": s.status,
                     "status_text": _status_text(s), "role": s.role, "alias_of": s.alias_of,
                     "choices": list(s.choices), "directives": directives, "doc": s.doc})
    return rows


def _type_text(row: dict) -> str:
    if row["choices"]:
        return "enum: " + " \\| ".join(row["choices"])
    return row["type"]


def reference_markdown() -> str:
    """The reference page (docs/config-keys.md), generated from the table."""
    out = ["# Configuration keys", "",
           ("<!-- Generated by `velo-sql config-keys --format markdown > docs/config-keys.md` "
           "from velostream/plan/settings.py; do not edit by hand. -->"), "",
           ("Every job, source and sink setting velostream knows. *implemented* keys are read by "
           "the runtime; *refused* keys are documented by the product but not supported by this "
           "build yet: `validate` warns and the job refuses to start, naming the key, file and "
           "line (a refused key set to the value this build uses anyway is accepted). Keys of "
           "connectors this build does not have are refused with the connector's type."), "",
           ("Priority, highest first: the command line (`-p key=value`, "
           "`StreamApp(properties=…)`) > the job's directives (`-- BATCH_SIZE:` …) > the "
           "statement's `WITH (…)` > the endpoint's YAML `config_file` > the file's "
           "`-- CONFIG:` globals > the defaults below."), ""]
    rows = reference_rows()
    for scope, title in _SCOPE_TITLES.items():
        mine = [r for r in rows if r["scope"] == scope]
        if not mine:
            continue
        out += [f"## {title}", "", "| key | type | default | status | description |",
                "|---|---|---|---|---|"]
        for r in mine:
            doc = r["doc"] + (f" (alias of `{r['alias_of']}`)" if r["alias_of"] else "") + (
                f"; {r['role']}s only" if r["role"] else "") + "".join(
                f"; `-- {name}:`" for name in r["directives"] if f"-- {name}:" not in r["doc"])
            default = f"`{r['default']}`" if r["default"] else ""
            out.append(f"| `{r['key']}` | {_type_text(r)} | {default} | {r['status_text']} | "
                       f"{doc.replace('|', '/')} |")
        out.append("")
    out += ["## Application-file directives", "",
            "| directive | sets | on | description |", "|---|---|---|---|"]
    for d in DIRECTIVES.values():
        sets = f"`{d.key}`" if d.key else ""
        if d.by_kind:
            sets += "".join(f" (`{k}` on {kind})" for kind, k in d.by_kind.items())
        out.append(f"| `-- {d.name}:` | {sets} | {d.target} | {d.doc} |")
    out += ["", ("Kafka endpoints also take librdkafka's own properties, passed through "
            "unchanged."), ""]
    return "\n".join(out)


def reference_json() -> str:
    return json.dumps({"settings": reference_rows(),
                       "directives": [{"name": d.name, "target": d.target, "key": d.key,
                                       "by_kind": d.by_kind, "doc": d.doc}
                                      for d in DIRECTIVES.values()]}, indent=2) + "\n"


def reference_table(console=None) -> None:
    """The reference as rich tables on ``console`` (default: standard output)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    rows = reference_rows()
    for scope, title in _SCOPE_TITLES.items():
        table = Table(title=title.replace("`", ""), title_justify="left", expand=False)
        table.add_column("key", no_wrap=True)
        for column in ("type", "default", "status", "description"):
            table.add_column(column, overflow="fold")
        for r in (r for r in rows if r["scope"] == scope):
            style = None if r["status"] == IMPLEMENTED else "dim"
            doc = r["doc"] + (f" (alias of {r['alias_of']})" if r["alias_of"] else "")
            table.add_row(r["key"], _type_text(r).replace("\\|", "|"), r["default"] or "",
                          r["status_text"], doc, style=style)
        console.print(table)
    table = Table(title="Application-file directives", title_justify="left")
    table.add_column("directive", no_wrap=True)
    for column in ("sets", "on", "description"):
        table.add_column(column, overflow="fold")
    for d in DIRECTIVES.values():
        table.add_row(f"-- {d.name}:", d.key or "", d.target, d.doc)
    console.print(table)
