"""Binds a parsed statement to runnable configuration: a :class:`JobPlan`.

Owns the step between "the SQL is valid" and "the job can start": endpoint types resolved to
their role (``kafka`` in FROM means ``kafka_source``), command-line/API property overrides
applied, job properties typed, and the checks that static validation cannot make — a source or
sink that still has no type is an error here, naming the key to set. It also refuses, with a
clear message, query shapes this build cannot run yet instead of running them wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from velostream.errors import ConfigError, SqlValidationError
from velostream.grammar import ast as A
from velostream.plan.catalog import (
    ENDPOINT_PROPERTY_CHECKS,
    ENDPOINT_TYPES,
    JOB_PROPERTY_CHECKS,
    SINK,
    SOURCE,
    UNAVAILABLE_TYPES,
)
from velostream.plan.settings import (
    MAX_INTEGER,
    integer_problem,
    parse_integer,
    unknown_endpoint_key,
    unknown_job_key,
)

# What this build can run; the other valid types parse and validate but refuse to start.
RUNNABLE_TYPES = {
    SOURCE: ("file_source",),
    SINK: ("file_sink", "stdout_sink"),
}

FAILURE_STRATEGIES = {
    "logandcontinue": "LogAndContinue", "failbatch": "FailBatch",
    "retrywithbackoff": "RetryWithBackoff", "sendtodlq": "SendToDLQ",
}


def _integer(raw, key: str, minimum: int) -> int:
    text = str(raw).strip().lower()
    for suffix, factor in (("ms", 1), ("s", 1000)):
        # durations such as retry_backoff = '2000ms' or '2s' are milliseconds
        if text.endswith(suffix):
            value = parse_integer(text[: -len(suffix)], minimum, MAX_INTEGER // factor)
            if value is not None:
                return value * factor
    value = parse_integer(text, minimum)
    if value is None:
        raise ConfigError(integer_problem(raw, minimum), key=key)
    return value


def _flag(raw, default: bool, key: str) -> bool:
    """A boolean property: true/1/yes or false/0/no (any case); ``default`` when unset."""
    if raw is None:
        return default
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ConfigError(f"must be true or false; got {raw!r}", key=key)


@dataclass
class EndpointConfig:
    """A named source or sink with its resolved type and its own properties (prefix removed)."""

    name: str
    role: str
    type: str
    properties: dict
    alias: str | None = None
    # How the run configured this endpoint beyond its properties (connectors.base.SinkContext
    # fields: the CLI's --format, --output-file as the path's origin).
    context: dict = field(default_factory=dict)

    def get(self, key: str, default=None):
        return self.properties.get(key, default)

    def flag(self, key: str, default: bool = False) -> bool:
        return _flag(self.properties.get(key), default, f"{self.name}.{key}")

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        raw = self.properties.get(key)
        return default if raw is None else _integer(raw, f"{self.name}.{key}", minimum)


@dataclass
class JobPlan:
    name: str
    statement: object
    query: A.Select
    sources: list[EndpointConfig]
    sinks: list[EndpointConfig]
    properties: dict = field(default_factory=dict)
    # The text the statement came from, so errors found while running point into it.
    sql: str | None = None
    filename: str | None = None
    # Where keys not written in the SQL came from: lower-cased key → a YAML file, or None for the
    # caller's overrides (command line / API).
    origins: dict = field(default_factory=dict)

    def locate(self, err: ConfigError) -> ConfigError:
        """``err`` naming the file (and line) its key was written in."""
        return _locate(err, self.statement, self.filename, self.origins)

    @property
    def failure_strategy(self) -> str:
        raw = str(self.properties.get("failure_strategy", "LogAndContinue"))
        strategy = FAILURE_STRATEGIES.get(raw.replace("_", "").lower())
        if strategy is None:
            raise ConfigError(f"must be one of {', '.join(FAILURE_STRATEGIES.values())}; got {raw!r}",
                              key="failure_strategy")
        return strategy

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        raw = self.properties.get(key)
        if raw is None:
            return default
        return _integer(raw, key, minimum)

    def flag(self, key: str, default: bool) -> bool:
        return _flag(self.properties.get(key), default, key)


def _locate(err: ConfigError, statement, filename: str | None, origins: dict) -> ConfigError:
    if err.filename is not None or not err.key:
        return err
    key = err.key.lower()
    if key in origins:
        return err if origins[key] is None else err.located(origins[key])
    if filename is None:
        return err
    for node in statement.walk():
        if isinstance(node, A.Property) and node.key.lower() == key:
            return err.located(filename, node.pos.line if node.pos else None)
    return err


def _resolve_type(name: str, role: str, raw: str | None) -> str:
    if raw is None:
        raise ConfigError(
            f"{role} {name!r} has no type; set '{name}.type' to one of "
            f"{', '.join(t for t, r in ENDPOINT_TYPES.items() if r == role)}",
            key=f"{name}.type")
    value = raw.strip().lower()
    if value in ENDPOINT_TYPES and ENDPOINT_TYPES[value] is None:
        value = f"{value}_{role}"
    if value == "stdout":
        value = "stdout_sink"
    if value in UNAVAILABLE_TYPES:
        raise ConfigError(f"type {raw!r} is not available in this build", key=f"{name}.type")
    if ENDPOINT_TYPES.get(value, role) != role:
        raise ConfigError(f"{raw!r} cannot be used as a {role}", key=f"{name}.type")
    if value not in ENDPOINT_TYPES:
        raise ConfigError(f"unknown type {raw!r}", key=f"{name}.type")
    if value not in RUNNABLE_TYPES[role]:
        raise ConfigError(f"{value} is not supported by this build yet (runnable {role}s: "
                          f"{', '.join(RUNNABLE_TYPES[role])})", key=f"{name}.type")
    return value


def _check_values(properties: dict, prefix: str) -> None:
    """The typed checks of `validate` (DIALECT §7), on the values the job will really use: after
    command-line overrides and config files."""
    for key, value in properties.items():
        check = JOB_PROPERTY_CHECKS.get(key.lower())
        problem = check(str(value)) if check else None
        if problem:
            message, hint = problem
            raise ConfigError(message + (f" ({hint})" if hint else ""), key=prefix + key)


def _with_config_file(name: str, props: dict, raw_type, origins: dict):
    """``props`` over the YAML file named by ``config_file`` (inline and command-line keys win);
    records in ``origins`` the keys that came from the file."""
    from velostream.config import load_properties, substitute

    key = next((k for k in props if k.lower() == "config_file"), None)
    if key is None:
        return props, raw_type
    path = substitute(str(props.pop(key)), key=f"{name}.{key}")
    loaded = load_properties(path)
    file_type = loaded.pop("type", None)
    for sub in loaded:
        if sub not in props:
            origins[f"{name}.{sub}".lower()] = path
    if raw_type is None and file_type is not None:
        origins[f"{name}.type".lower()] = path
    return {**loaded, **props}, raw_type if raw_type is not None else file_type


def _unsupported(query: A.Select) -> list[tuple[str, A.Node]]:
    """Query shapes the engine cannot run yet: each with the node to point at."""
    from velostream.plan.validate import is_aggregate_call

    found = []
    if isinstance(query.from_, A.Join):
        found.append(("JOIN", query.from_))
    if query.group_by:
        found.append(("GROUP BY", query.group_by[0]))
    if query.window is not None:
        found.append(("WINDOW", query.window))
    for node in query.walk():
        if isinstance(node, A.FunctionCall):
            if node.over is not None:
                found.append((f"{node.name}(…) OVER (…)", node))
            elif is_aggregate_call(node):
                found.append((f"the aggregate {node.name}", node))
    return found


@dataclass(frozen=True)
class OutputOverride:
    """Where a run sends the results of a query without INTO: the CLI's ``--format`` (for
    standard output, and the file's format) and ``--output-file`` (a file instead of standard
    output)."""

    format: str | None = None
    path: str | None = None

    def apply(self, sinks: list, job_name: str) -> list:
        if self.path is None:
            if self.format is None:
                return sinks
            return [EndpointConfig(ep.name, ep.role, ep.type, ep.properties, ep.alias,
                                   {**ep.context, "format_override": self.format})
                    if ep.type == "stdout_sink" else ep for ep in sinks]
        if [s.name for s in sinks] != ["stdout"] or sinks[0].properties:
            raise ConfigError(f"job {job_name} writes INTO {', '.join(s.name for s in sinks)}; "
                              "--output-file is for a query without INTO", key="--output-file")
        return [EndpointConfig("output", SINK, "file_sink", {"path": self.path}, context={
            "format_override": self.format, "path_key": "--output-file"})]


def bind_statement(statement, overrides: dict | None = None, *, name: str | None = None,
                   default_sink: str | None = None, filename: str | None = None,
                   directives: dict | None = None,
                   output: OutputOverride | None = None) -> JobPlan:
    """A runnable plan for ``statement`` with ``overrides`` (``{'trades.path': 'x.jsonl'}``).

    ``default_sink``: the sink type to use when the query names none (the CLI passes
    ``stdout_sink``); without it a query with no sink is an error. ``filename``: the file the
    statement was read from, named by configuration errors about keys written there.
    ``directives``: the job's comment directives (appfile); ``-- TOPIC:`` makes a source
    without a type a Kafka source, ``-- OUTPUT_TOPIC:`` a sink without one a Kafka sink.
    ``output``: the run's choice of output format and file (the CLI's flags).
    """
    overrides = dict(overrides or {})
    origins = {k.lower(): None for k in overrides}
    try:
        plan = _bind(statement, overrides, origins, name, default_sink, directives or {})
        if output is not None:
            plan.sinks = output.apply(plan.sinks, plan.name)
    except ConfigError as err:
        raise _locate(err, statement, filename, origins) from None
    plan.filename = filename
    return plan


def _check_keys(name: str, props: dict, type_names) -> None:
    """Unknown keys of an endpoint are errors naming the closest valid key (plan.settings)."""
    for key in props:
        problem = unknown_endpoint_key(name, key, type_names)
        if problem:
            raise ConfigError("; ".join(p for p in problem if p), key=f"{name}.{key}")


def _bind(statement, overrides, origins, name, default_sink, directives) -> JobPlan:
    from velostream.plan.catalog import describe_statement

    query = A.query_of(statement)
    if query is None:
        raise ConfigError(f"{type(statement).__name__} is a command, not a query to run")
    for what, node in _unsupported(query):
        pos = node.pos or statement.pos
        raise SqlValidationError(
            f"{what} is not supported by this build yet (stateless queries only: "
            "filter, project, CASE, functions, DISTINCT, ORDER BY, LIMIT)",
            pos.line if pos else 0, pos.column if pos else 0)
    info = describe_statement(statement)
    implied = {}
    if "TOPIC" in directives:
        implied[SOURCE] = ("TOPIC", "kafka_source")
    if "OUTPUT_TOPIC" in directives:
        implied[SINK] = ("OUTPUT_TOPIC", "kafka_sink")

    def endpoint(ep, role):
        props = dict(ep.properties)
        props.pop("type", None)
        prefix = ep.name.lower() + "."
        raw_type = ep.type
        for key, value in overrides.items():
            if key.lower().startswith(prefix):
                sub = key[len(prefix):]
                if sub == "type":
                    raw_type = value
                else:
                    props[sub] = value
        props, raw_type = _with_config_file(ep.name, props, raw_type, origins)
        if raw_type is None and role in implied:
            directive, raw_type = implied[role]
            if raw_type not in RUNNABLE_TYPES[role]:
                other = "file_source" if role == SOURCE else "file_sink"
                raise ConfigError(
                    f"Kafka is not supported by this build yet: the -- {directive}: directive "
                    f"makes {role} '{ep.name}' a {raw_type}; to run the job over a file, set "
                    f"-p {ep.name}.type={other} -p {ep.name}.path=FILE", key=f"{ep.name}.type")
        resolved = _resolve_type(ep.name, role, raw_type)
        # Keys written for the type in the SQL stay valid when -p rebinds the endpoint to
        # another type (a Kafka source read from a file for a test, say).
        _check_keys(ep.name, props, [resolved, ep.type, raw_type])
        return EndpointConfig(ep.name, role, resolved, props, ep.alias)

    sources = [endpoint(ep, SOURCE) for ep in info.sources]
    sinks = [endpoint(ep, SINK) for ep in info.sinks]
    written = [ep.name for ep in sources + sinks]
    if not sinks:
        if default_sink is None:
            raise ConfigError("the query writes nowhere: add INTO <sink> with '<sink>.type'")
        sinks = [EndpointConfig("stdout", SINK, default_sink, {})]
    if len(sources) > 1:
        raise SqlValidationError("more than one source needs a JOIN, which this build cannot run yet",
                                 statement.pos.line, statement.pos.column)
    names = {ep.name.lower() for ep in sources + sinks}
    properties = dict(info.job_properties)
    for key, value in overrides.items():
        if key.split(".", 1)[0].lower() not in names or "." not in key:
            properties[key] = value
    for key in properties:
        problem = unknown_job_key(key, written)
        if problem:
            raise ConfigError("; ".join(p for p in problem if p), key=key)
    _check_values(properties, "")
    for ep in sources + sinks:
        _check_values({k: v for k, v in ep.properties.items()
                       if k.lower() in ENDPOINT_PROPERTY_CHECKS}, ep.name + ".")
    job_name = name or info.name or (sources[0].name if sources else "query")
    return JobPlan(job_name, statement, query, sources, sinks, properties, origins=origins)
