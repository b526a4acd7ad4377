"""The table of known configuration keys: job properties and the keys of each endpoint type.

Owns which keys exist, at which level (the job, every endpoint, or one kind of endpoint), with a
type, a default and a one-line description, and the lookup that turns an unknown key into a
message naming the closest valid one (``validate`` warns; ``execute``/``stream`` refuse). Kafka
endpoints also take librdkafka's own properties, passed through unchanged (DIALECT §7); their
names are in :data:`LIBRDKAFKA_PROPERTIES`.

Keys the product documents use for features this build does not have yet (S3, HTTP, batching
strategies, state backends) are listed too, so documented applications validate; what the
engine really reads is marked in the description as "(not used by this build yet)" where it is
not.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

NOT_YET = " (not used by this build yet)"
# Integer settings are sizes, counts and durations: bounded so every one fits a C ssize_t.
MAX_INTEGER = 2 ** 62


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


@dataclass(frozen=True)
class Setting:
    key: str            # as written after the endpoint prefix; "schema.*" matches a family
    type: str           # string | boolean | integer | duration | enum | path | type
    default: object     # None: unset (or computed, see doc)
    scope: str          # "job", "endpoint" (every source and sink), or an endpoint kind
    doc: str

    def matches(self, key: str) -> bool:
        if self.key.endswith(".*"):
            return key.startswith(self.key[:-1]) and len(key) > len(self.key) - 1
        return key == self.key


def _rows(scope, rows):
    return [Setting(key, type_, default, scope, doc) for key, type_, default, doc in rows]


JOB = "job"
ENDPOINT = "endpoint"

SETTINGS: list[Setting] = [
    *_rows(JOB, [
        ("failure_strategy", "enum", "LogAndContinue",
         "what a failing record does: LogAndContinue, FailBatch, RetryWithBackoff, SendToDLQ"),
        ("max_retries", "integer", 3, "RetryWithBackoff: retries of a failing sink write"),
        ("retry_backoff", "duration", "1000ms", "RetryWithBackoff: first delay, doubled per retry"),
        ("dlq.path", "path", None, "SendToDLQ: the dead-letter file (one JSON line per record)"),
        ("dlq.topic", "string", None, "SendToDLQ: a dead-letter Kafka topic" + NOT_YET),
        ("financial_precision", "boolean", True,
         "decimals exactly from their text (DECIMAL), not DOUBLE"),
        ("decimal_places", "integer", None, "default scale of decimal output" + NOT_YET),
        ("use_transactions", "boolean", False, "exactly-once Kafka transactions" + NOT_YET),
        ("distinct.max_keys", "integer", 1_000_000, "rows SELECT DISTINCT remembers"),
        ("max_string_bytes", "integer", 16 << 20,
         "the longest string a function may build; longer fails the row"),
        ("batch.strategy", "enum", "fixed_size",
         "fixed_size, time_window, adaptive_size, memory_based or low_latency" + NOT_YET),
        ("batch.size", "integer", None, "records per batch" + NOT_YET),
        ("batch.timeout", "duration", None, "longest wait to fill a batch" + NOT_YET),
        ("batch.enable", "boolean", True, "batching on or off" + NOT_YET),
        ("batch.memory_limit_mb", "integer", None, "memory_based batches" + NOT_YET),
        ("batch.memory_size", "integer", None, "memory_based batches" + NOT_YET),
        ("batch.low_latency_wait", "duration", None, "low_latency batches" + NOT_YET),
        ("batch.low_latency_max_size", "integer", None, "low_latency batches" + NOT_YET),
        ("batch.eager_processing", "boolean", False, "low_latency batches" + NOT_YET),
        ("batch.adaptive_max_size", "integer", None, "adaptive_size batches" + NOT_YET),
        ("batch.min_size", "integer", None, "adaptive_size batches" + NOT_YET),
        ("batch.max_size", "integer", None, "adaptive_size batches" + NOT_YET),
        ("batch.target_latency", "duration", None, "adaptive_size batches" + NOT_YET),
        ("max_batch_size", "integer", None, "the documents' spelling of batch.size" + NOT_YET),
        ("batch_timeout", "duration", None, "the documents' spelling of batch.timeout" + NOT_YET),
        ("state.backend", "enum", "memory", "memory, rocksdb or sqlite" + NOT_YET),
        ("state.dir", "path", None, "where state is kept" + NOT_YET),
        ("checkpoint.interval", "duration", None, "checkpoint period" + NOT_YET),
        ("allowed.lateness", "duration", None, "how late an event may be" + NOT_YET),
        ("late.data.strategy", "enum", None, "what a too-late event does" + NOT_YET),
        ("source.buffer_size", "integer", None, "read buffer of the sources" + NOT_YET),
    ]),
    *_rows(ENDPOINT, [
        ("type", "type", None, "the connector: file_source, file_sink, stdout_sink, kafka_source, …"),
        ("config_file", "path", None, "YAML file of this endpoint's properties (extends, ${VAR})"),
        ("schema.*", "string", None,
         "declared type of a field: DECIMAL(p,s), DOUBLE, BIGINT, STRING, BOOLEAN, TIMESTAMP"),
        ("event.time.field", "string", None, "the field _event_time is read from"),
        ("event.time.format", "enum", "epoch_millis",
         "epoch_millis, epoch_seconds, iso8601 or a strftime pattern"),
        ("failure_strategy", "enum", None, "this endpoint's failure strategy" + NOT_YET),
        ("max_retries", "integer", None, "this endpoint's retries" + NOT_YET),
        ("retry_backoff", "duration", None, "this endpoint's retry delay" + NOT_YET),
        ("batch.size", "integer", None, "records per batch (producer bytes for Kafka)" + NOT_YET),
        ("batch_size", "integer", None, "the documents' spelling of batch.size" + NOT_YET),
        ("source.format", "enum", None, "the documents' spelling of format / value.format" + NOT_YET),
        ("source.has_headers", "boolean", None, "the documents' spelling of has_headers" + NOT_YET),
        ("source.buffer_size", "integer", None, "read buffer" + NOT_YET),
    ]),
    *_rows("file", [
        ("path", "path", None, "the file to read or write"),
        ("format", "enum", None, "csv, json or jsonl (default: from the file's extension)"),
        ("has_headers", "boolean", True, "CSV: the first record names the columns"),
        ("delimiter", "string", ",", "CSV: one single-byte character; \\t or tab for a tab"),
        ("watch", "boolean", False, "source: follow the growing file (tail)"),
        ("append", "boolean", False, "sink: append instead of truncating"),
        ("decimals_as_numbers", "boolean", False, "sink: DECIMAL as JSON numbers, not strings"),
        ("csv.max_record_bytes", "integer", 1 << 20, "the longest CSV record (an open quote)"),
        ("compression", "enum", None, "sink: compress the file" + NOT_YET),
        ("rotation", "string", None, "sink: start a new file by size or time" + NOT_YET),
    ]),
    *_rows("stdout", [
        ("format", "enum", None, "json, json-pretty, json-lines, csv or table"),
        ("delimiter", "string", ",", "csv: the delimiter"),
        ("decimals_as_numbers", "boolean", False, "DECIMAL as JSON numbers, not strings"),
    ]),
    *_rows("kafka", [
        ("bootstrap.servers", "string", None, "the brokers, host:port,…"),
        ("brokers", "string", None, "alias of bootstrap.servers"),
        ("topic", "string", None, "the topic to read or write"),
        ("group.id", "string", None, "source: the consumer group"),
        ("auto.offset.reset", "enum", "latest", "source: earliest or latest"),
        ("value.format", "enum", "json", "json, avro, protobuf, csv or string"),
        ("key.format", "enum", None, "the message key's format"),
        ("key.field", "string", None, "sink: the field written as the message key"),
        ("avro.schema.file", "path", None, "Avro schema (.avsc)"),
        ("protobuf.schema.file", "path", None, "Protobuf schema (.proto)"),
        ("protobuf.message", "string", None, "the Protobuf message type"),
        ("schema.registry.url", "string", None, "Confluent schema registry"),
        # Java-client names the product documents use next to librdkafka's.
        ("max.poll.records", "integer", None, "source: records per poll"),
        ("fetch.max.wait.ms", "integer", None, "source: longest fetch wait"),
    ]),
    *_rows("database", [
        ("url", "string", None, "sqlite:///path.db"),
        ("table", "string", None, "the table to read or write"),
        ("query", "string", None, "source: a query instead of a table"),
        ("refresh_interval", "duration", None, "source: reload period of a table"),
        ("connection", "string", None, "the documents' spelling of url"),
    ]),
    *_rows("s3", [
        ("bucket", "string", None, "the bucket"),
        ("prefix", "string", None, "key prefix of the objects"),
        ("path", "string", None, "object path"),
        ("format", "enum", None, "json, csv, parquet, …"),
        ("compression", "enum", None, "object compression"),
        ("encryption", "string", None, "server-side encryption"),
        ("region", "string", None, "the AWS region"),
    ]),
    *_rows("http", [
        ("url", "string", None, "the endpoint to post to"),
        ("endpoint", "string", None, "the documents' spelling of url"),
        ("method", "enum", "POST", "HTTP method"),
        ("auth_header", "string", None, "Authorization header"),
        ("auth_token", "string", None, "bearer token"),
        ("timeout", "duration", None, "request timeout"),
    ]),
    *_rows("iceberg", [
        ("table", "string", None, "the table"),
        ("catalog", "string", None, "the catalog"),
        ("warehouse", "string", None, "warehouse location"),
    ]),
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


def endpoint_kind(type_name: str | None) -> str | None:
    """``kafka``, ``file``, … for a type name (any case); None when it is not a known type."""
    if type_name is None:
        return None
    return _KINDS.get(str(type_name).strip().lower())


def _endpoint_settings(kinds) -> list[Setting]:
    return [s for s in SETTINGS if s.scope == ENDPOINT or s.scope in kinds]


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
    return any(s.matches(low) for s in SETTINGS if s.scope == JOB) or low in LIBRDKAFKA_PROPERTIES


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
