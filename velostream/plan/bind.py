"""Binds a parsed statement to runnable configuration: a :class:`JobPlan`.

Owns the step between "the SQL is valid" and "the job can start": endpoint types resolved to
their role (``kafka`` in FROM means ``kafka_source``); the configuration layered in the priority
order of spec/operations-guide.md (command line / API > the job's directives > WITH > the
endpoint's YAML ``config_file`` > the file's ``-- CONFIG:`` globals > the settings table's
defaults); every key checked against the settings table (plan/settings.py) — an unknown key, a
bad value or a key this build refuses is a ConfigError naming the key and the file and line it
was set on; and the typed accessors the runtime reads settings through
(:meth:`JobPlan.setting`, :meth:`EndpointConfig.setting`). A source or sink that still has no
type is an error here, naming the key to set. It also refuses, with a clear message, query
shapes this build cannot run yet instead of running them wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from velostream.errors import ConfigError, SqlValidationError
from velostream.grammar import ast as A
from velostream.plan.catalog import (
    ENDPOINT_TYPES,
    SINK,
    SOURCE,
    UNAVAILABLE_TYPES,
)
from velostream.plan.settings import (
    DIRECTIVES,
    JOB,
    LIBRDKAFKA_PROPERTIES,
    NOT_SUPPORTED,
    SETTINGS,
    Setting,
    canonical,
    endpoint_kind,
    endpoint_setting,
    job_setting,
    lookup,
    spellings,
    unknown_endpoint_key,
    unknown_job_key,
    value_problem,
)

# What this build can run; the other valid types parse and validate but refuse to start.
RUNNABLE_TYPES = {
    SOURCE: ("file_source", "database_source"),
    SINK: ("file_sink", "stdout_sink", "database_sink"),
}


def _lowered(properties: dict) -> dict:
    return {str(k).lower(): v for k, v in properties.items()}


def _ad_hoc(key: str, type_: str, default) -> Setting:
    return Setting(key, type_, default, JOB, "")


def _read(properties: dict, setting: Setting, prefix: str = "", default=None, minimum=None):
    """The value of ``setting`` in ``properties`` parsed by its type (``default`` or the table's
    when unset); a ConfigError naming ``prefix + key`` when it does not parse."""
    key, raw = lookup(_lowered(properties), setting)
    if raw is None:
        return setting.default if default is None else default
    if minimum is not None and setting.type == "integer" and minimum != setting.minimum:
        setting = Setting(setting.key, setting.type, setting.default, setting.scope, setting.doc,
                          minimum=minimum)
    return setting.parse(raw, prefix + key)


def _typed(setting: Setting | None, key: str, type_: str, default) -> Setting:
    """The table's row for ``key`` (its canonical row when ``key`` is an alias), or an untyped
    key's row of ``type_`` for callers reading a key the table does not have."""
    return _ad_hoc(key, type_, default) if setting is None else canonical(setting)


@dataclass
class EndpointConfig:
    """A named source or sink with its resolved type and its own properties (prefix removed).

    ``job`` holds the job's properties: a setting both levels have (``batch.size``) falls back
    to the job's value when the endpoint does not set it."""

    name: str
    role: str
    type: str
    properties: dict
    alias: str | None = None
    # How the run configured this endpoint beyond its properties (connectors.base.SinkContext
    # fields: the CLI's --format, --output-file as the path's origin).
    context: dict = field(default_factory=dict)
    job: dict = field(default_factory=dict)

    def get(self, key: str, default=None):
        return self.properties.get(key, default)

    def _setting(self, key: str, type_: str, default=None) -> Setting:
        return _typed(endpoint_setting(key, self.type), key, type_, default)

    def setting(self, key: str):
        """``key`` of this endpoint parsed by its type in the settings table (durations in ms),
        else the job's value of the same setting, else the table's default. A ConfigError
        names ``'<name>.<key>'`` when the value does not parse."""
        setting = endpoint_setting(key, self.type)
        if setting is None:
            raise KeyError(f"{key!r} is not a setting of a {self.type} (plan/settings.py)")
        setting = canonical(setting)
        if lookup(_lowered(self.properties), setting)[1] is None:
            inherited = job_setting(setting.key)
            if inherited is not None and lookup(_lowered(self.job), inherited)[1] is not None:
                return _read(self.job, inherited)
        return _read(self.properties, setting, self.name + ".")

    def flag(self, key: str, default: bool | None = None) -> bool:
        return _read(self.properties, self._setting(key, "boolean", default), self.name + ".",
                     default)

    def integer(self, key: str, default: int | None = None, minimum: int | None = None) -> int:
        return _read(self.properties, self._setting(key, "integer", default), self.name + ".",
                     default, minimum)


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
    # Where keys not written in the SQL came from: lower-cased key → a YAML file, (file, line)
    # of a directive, or None for the caller's overrides (command line / API).
    origins: dict = field(default_factory=dict)

    def locate(self, err: ConfigError) -> ConfigError:
        """``err`` naming the file (and line) its key was written in."""
        return _locate(err, self.statement, self.filename, self.origins)

    def setting(self, key: str):
        """The job setting ``key`` parsed by its type in the settings table (durations in ms,
        booleans, canonical enum values), else the table's default; a ConfigError naming the
        key when the value does not parse."""
        setting = job_setting(key)
        if setting is None:
            raise KeyError(f"{key!r} is not a job setting (plan/settings.py)")
        return _read(self.properties, canonical(setting))

    @property
    def failure_strategy(self) -> str:
        return self.setting("failure_strategy")

    def integer(self, key: str, default: int | None = None, minimum: int | None = None) -> int:
        return _read(self.properties, _typed(job_setting(key), key, "integer", default), "",
                     default, minimum)

    def flag(self, key: str, default: bool | None = None) -> bool:
        return _read(self.properties, _typed(job_setting(key), key, "boolean", default), "",
                     default)


def _locate(err: ConfigError, statement, filename: str | None, origins: dict) -> ConfigError:
    if err.filename is not None or not err.key:
        return err
    key = err.key.lower()
    if key in origins:
        origin = origins[key]
        if origin is None:
            return err
        if isinstance(origin, tuple):
            return err.located(*origin) if origin[0] else err
        return err.located(origin)
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


def _value(directive):
    """A directive's value: a :class:`~velostream.grammar.appfile.Directive` or plain text."""
    return getattr(directive, "value", directive)


def _put(props: dict, key: str, value, setting: Setting | None) -> None:
    """Set ``key``, replacing any other spelling of the same setting (a higher level wins over
    a lower one whichever spelling each used)."""
    if setting is not None:
        for spelling in spellings(setting):
            for written in [k for k in props if k.lower() == spelling]:
                del props[written]
    for written in [k for k in props if k.lower() == key.lower()]:
        del props[written]
    props[key] = value


def _with_config_file(name: str, props: dict, under: dict, raw_type, origins: dict):
    """``props`` over the YAML file named by ``config_file`` (inline and command-line keys win),
    and ``under`` (the file's -- CONFIG: globals for this endpoint) below both; records in
    ``origins`` the keys that came from the file."""
    from velostream.config import load_properties, substitute

    merged = dict(under)
    key = next((k for k in props if k.lower() == "config_file"), None)
    if key is None:
        key = next((k for k in merged if k.lower() == "config_file"), None)
        source = merged
    else:
        source = props
    if key is not None:
        path = substitute(str(source.pop(key)), key=f"{name}.{key}")
        merged.pop(key, None)
        props.pop(key, None)
        loaded = load_properties(path)
        file_type = loaded.pop("type", None)
        for sub, value in loaded.items():
            if not any(k.lower() == sub.lower() for k in props):
                origins[f"{name}.{sub}".lower()] = path
            _put(merged, sub, value, None)
        if raw_type is None and file_type is not None:
            origins[f"{name}.type".lower()] = path
            raw_type = file_type
    for sub, value in props.items():
        _put(merged, sub, value, None)
    return merged, raw_type


def _unsupported(query: A.Select) -> list[tuple[str, A.Node]]:
    """Query shapes the engine cannot run yet: each with the node to point at."""
    from velostream.plan.validate import is_aggregate_call

    found = []
    node = query.from_
    while isinstance(node, A.Join):
        # Stream–table joins run (plan.physical refuses the other kinds with their reasons).
        if not isinstance(node.right, A.TableRef):
            found.append(("a JOIN with a subquery", node))
        elif node.within is not None:
            found.append(("a stream–stream join (JOIN … WITHIN)", node))
        elif node.kind.upper() not in ("INNER", "LEFT"):
            found.append((f"{node.kind.upper()} JOIN", node))
        node = node.left
    for node in query.walk():
        if isinstance(node, A.FunctionCall):
            if node.over is not None:
                from velostream.plan.window_frames import SUPPORTED

                if node.name.upper() not in SUPPORTED:
                    found.append((f"{node.name}(…) OVER (…)", node))
            elif is_aggregate_call(node) and node.name.upper() not in AGGREGATES_RUN:
                found.append((f"the aggregate {node.name}", node))
            elif is_aggregate_call(node) and node.distinct and (
                    node.name.upper() not in DISTINCT_AGGREGATES_RUN):
                found.append((f"{node.name}(DISTINCT …)", node))
    return found


def _directive_window(query, directive):
    """The job's ``-- WINDOW:`` directive: the window of a grouped query that has no WINDOW
    clause; with a WINDOW clause it must describe the same window (the documents repeat it)."""
    from velostream.errors import SqlSyntaxError
    from velostream.grammar import parse_window, to_sql
    from velostream.plan.validate import is_grouped

    try:
        window = parse_window(directive.value)
    except SqlSyntaxError as err:
        raise ConfigError(f"{directive.value!r} is not a window such as TUMBLING (INTERVAL 5 "
                          f"MINUTES): {err.message}", key="-- WINDOW") from None
    if query.window is None:
        if not is_grouped(query):
            raise ConfigError("a window needs an aggregation (GROUP BY or an aggregate "
                              "function) in the job's query", key="-- WINDOW")
        return query.replace(window=window)
    if _window_shape(window) != _window_shape(query.window):
        raise ConfigError(f"{to_sql(window)} differs from the query's WINDOW "
                          f"{to_sql(query.window)}; remove one or make them agree",
                          key="-- WINDOW")
    return query


def _window_shape(window):
    def ms(node):
        if isinstance(node, A.Interval):
            return A.interval_millis(node)
        return node.value * 1000 if isinstance(node, A.IntegerLit) else node
    kind = {"TUMBLE": "TUMBLING", "HOP": "HOPPING", "SLIDING": "HOPPING"}.get(
        window.kind.upper(), window.kind.upper())
    if kind == "HOPPING" and window.advance is None:
        kind = "SLIDING"
    return kind, ms(window.size), ms(window.advance) if window.advance is not None else None


# The aggregates the aggregate kernel (velostream._core.aggregate) computes.
AGGREGATES_RUN = frozenset({
    "COUNT", "SUM", "AVG", "MIN", "MAX", "STDDEV", "STDDEV_SAMP", "STDDEV_POP", "VARIANCE",
    "VAR_SAMP", "VAR_POP", "FIRST_VALUE", "LAST_VALUE", "LISTAGG", "STRING_AGG", "MEDIAN",
    "APPROX_COUNT_DISTINCT"})
# ... and with DISTINCT (every one: f(DISTINCT x) folds each value once).
DISTINCT_AGGREGATES_RUN = AGGREGATES_RUN


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
                                   {**ep.context, "format_override": self.format}, ep.job)
                    if ep.type == "stdout_sink" else ep for ep in sinks]
        if [s.name for s in sinks] != ["stdout"] or sinks[0].properties:
            raise ConfigError(f"job {job_name} writes INTO {', '.join(s.name for s in sinks)}; "
                              "--output-file is for a query without INTO", key="--output-file")
        return [EndpointConfig("output", SINK, "file_sink", {"path": self.path}, context={
            "format_override": self.format, "path_key": "--output-file"})]


def bind_statement(statement, overrides: dict | None = None, *, name: str | None = None,
                   default_sink: str | None = None, filename: str | None = None,
                   directives: dict | None = None,
                   output: OutputOverride | None = None, in_process: bool = False) -> JobPlan:
    """A runnable plan for ``statement`` with ``overrides`` (``{'trades.path': 'x.jsonl'}``).

    ``default_sink``: the sink type to use when the query names none (the CLI passes
    ``stdout_sink``); without it a query with no sink is an error. ``filename``: the file the
    statement was read from, named by configuration errors about keys written there.
    ``directives``: the job's comment configuration (appfile
    :meth:`~velostream.grammar.appfile.JobDefinition.configuration`): upper-case names are the
    job's directives (``BATCH_SIZE`` …, mapped to settings by ``plan.settings.DIRECTIVES``;
    ``-- TOPIC:`` makes a source without a type a Kafka source, ``-- OUTPUT_TOPIC:`` a sink
    without one a Kafka sink), lower-case keys the file's ``-- CONFIG:`` globals. Values are
    Directives (their lines locate errors) or plain text.

    ``output``: the run's choice of output format and file (the CLI's flags).

    ``in_process``: for ``StreamApp.process`` — every source is a ``memory_source`` fed by the
    caller and the one sink a ``collecting_sink``; the endpoints' own settings configure
    connectors this plan does not use and are not read, the job's are bound as for any run.

    Priority, highest first: ``overrides`` > directives > WITH > an endpoint's YAML
    ``config_file`` > CONFIG globals > the settings table's defaults.
    """
    overrides = dict(overrides or {})
    origins = {k.lower(): None for k in overrides}
    try:
        plan = _bind(statement, overrides, origins, name, default_sink, directives or {},
                     filename, in_process)
        if output is not None:
            plan.sinks = output.apply(plan.sinks, plan.name)
    except ConfigError as err:
        raise _locate(err, statement, filename, origins) from None
    plan.filename = filename
    return plan


def _joined(problem) -> str:
    message, hint = problem
    return message + (f" ({hint})" if hint else "")


def _check_endpoint(ep: EndpointConfig, written_types, written_keys) -> None:
    """Unknown keys are errors naming the closest valid key; values are checked by the
    settings table's type and refused keys refused. A key of the type written in the SQL that
    ``-p`` rebound to another (a Kafka source read from a file for a test) is left alone: it
    configures the connector the SQL names, which this job does not use."""
    for key, value in ep.properties.items():
        setting = endpoint_setting(key, ep.type)
        if setting is None:
            problem = unknown_endpoint_key(ep.name, key, [ep.type, *written_types])
            if problem:
                raise ConfigError("; ".join(p for p in problem if p), key=f"{ep.name}.{key}")
            continue
        if setting.role is not None and setting.role != ep.role:
            kafka_key = key.lower() in LIBRDKAFKA_PROPERTIES and any(
                endpoint_kind(t) == "kafka" for t in written_types)
            if key.lower() in written_keys and not kafka_key:
                raise ConfigError(f"applies to {setting.role}s only; '{ep.name}' is a {ep.role}",
                                  key=f"{ep.name}.{key}")
            continue  # a CONFIG global or YAML key meant for the other role, or the producer
            # property of a Kafka sink that -p rebound (Kafka's batch.size is bytes)
        problem = value_problem(setting, value, f"{ep.name}.{key}")
        if problem:
            raise ConfigError(_joined(problem), key=f"{ep.name}.{key}")


def _check_job(properties: dict, written: list, kafka_written: bool) -> None:
    for key, value in properties.items():
        problem = unknown_job_key(key, written)
        if problem:
            raise ConfigError("; ".join(p for p in problem if p), key=key)
        setting = job_setting(key)
        if setting is None:  # a librdkafka property, for every Kafka endpoint of the job
            if not kafka_written:
                raise ConfigError("is a Kafka property; this job has no Kafka source or sink "
                                  f"(Kafka {NOT_SUPPORTED})", key=key)
            continue
        problem = setting.problem(value) if "${" not in str(value) else None
        if problem is None and setting.connector is not None and kafka_written:
            continue  # refused with the Kafka type, or that type was rebound by -p
        problem = value_problem(setting, value, key)
        if problem:
            raise ConfigError(_joined(problem), key=key)


def _via(err: ConfigError, via: dict) -> ConfigError:
    """``err`` saying which directive set its key (``-- TIMEOUT:`` sets ``timeout_ms``)."""
    name = via.get((err.key or "").lower())
    if name is None:
        return err
    return ConfigError(f"{err.message} (set by -- {name}:)", key=err.key, filename=err.filename,
                       line=err.line)


def _canonical_names(props: dict, find, prefix: str, origins: dict, statement,
                     filename) -> None:
    """Keys written in another spelling (``max_batch_size``, ``source.format``) stored under
    the setting's own key, so every reader — ``get`` included — sees them; errors about them
    still point at the line they were written on."""
    for key in list(props):
        setting = find(key)
        if setting is None or setting.alias_of is None:
            continue
        props[setting.alias_of] = props.pop(key)
        old, new = (prefix + key).lower(), (prefix + setting.alias_of).lower()
        if old in origins:
            origins[new] = origins.pop(old)
        else:
            line = next((n.pos.line for n in statement.walk() if isinstance(n, A.Property)
                         and n.key.lower() == old and n.pos), None)
            origins[new] = (filename, line)


def _bind(statement, overrides, origins, name, default_sink, directives, filename,
          in_process=False) -> JobPlan:
    from velostream.plan.catalog import describe_statement

    query = A.query_of(statement)
    if query is None:
        raise ConfigError(f"{type(statement).__name__} is a command, not a query to run")
    for what, node in _unsupported(query):
        pos = node.pos or statement.pos
        raise SqlValidationError(
            f"{what} is not supported by this build yet (filter, project, CASE, functions, "
            "DISTINCT, ORDER BY, LIMIT, GROUP BY, aggregates, windows, window functions and "
            "stream–table joins)",
            pos.line if pos else 0, pos.column if pos else 0)
    info = describe_statement(statement)
    job_directives = {k: d for k, d in directives.items() if k == k.upper()}
    globals_ = {k: d for k, d in directives.items() if k != k.upper()}

    def at(directive):
        return (filename, getattr(directive, "line", None))

    if "WINDOW" in job_directives:
        origins["-- window"] = at(job_directives["WINDOW"])
        query = _directive_window(query, job_directives["WINDOW"])
    implied, written_types = {}, []
    via = {}  # key set by a directive → the directive's name, for the messages
    if "TOPIC" in job_directives:
        implied[SOURCE] = ("TOPIC", "kafka_source")
    if "OUTPUT_TOPIC" in job_directives:
        implied[SINK] = ("OUTPUT_TOPIC", "kafka_sink")

    def endpoint(ep, role):
        prefix = ep.name.lower() + "."
        mine = {key[len(prefix):]: d for key, d in globals_.items() if key.startswith(prefix)}
        under, raw_type = {}, None
        for sub, d in mine.items():
            origins[f"{ep.name}.{sub}".lower()] = at(d)
            if sub.lower() == "type":
                raw_type = _value(d)
            else:
                under[sub] = _value(d)
        props = dict(ep.properties)
        props.pop("type", None)
        for sub in props:
            origins.pop(f"{ep.name}.{sub}".lower(), None)
        if ep.type is not None:
            raw_type = ep.type
            origins.pop(f"{ep.name}.type".lower(), None)
        cli, rebound = {}, False
        written_type = raw_type or (implied[role][1] if role in implied else None)
        for key, value in overrides.items():
            if key.lower().startswith(prefix):
                sub = key[len(prefix):]
                if sub == "type":
                    raw_type, rebound = value, True
                else:
                    cli[sub] = value
        written_keys = {k.lower() for k in ep.properties} | {k.lower() for k in cli}
        # config_file is looked up on the highest level first, like any key.
        given = next((k for k in cli if k.lower() == "config_file"), None)
        if given is not None:
            props = {k: v for k, v in props.items() if k.lower() != "config_file"}
            props[given] = cli.pop(given)
        props, raw_type = _with_config_file(ep.name, props, under, raw_type, origins)
        if raw_type is None and role in implied:
            directive, raw_type = implied[role]
            if raw_type not in RUNNABLE_TYPES[role]:
                other = "file_source" if role == SOURCE else "file_sink"
                raise ConfigError(
                    f"Kafka is not supported by this build yet: the -- {directive}: directive "
                    f"makes {role} '{ep.name}' a {raw_type}; to run the job over a file, set "
                    f"-p {ep.name}.type={other} -p {ep.name}.path=FILE", key=f"{ep.name}.type")
        resolved = _resolve_type(ep.name, role, raw_type)
        for d in DIRECTIVES.values():
            if d.target != role or d.key is None or d.name not in job_directives:
                continue
            if rebound and written_type is not None and (
                    endpoint_kind(written_type) != endpoint_kind(resolved)):
                continue  # it configures the connector the file names, which -p replaced
            key = d.key_for(endpoint_kind(resolved))
            if endpoint_setting(key, resolved) is None:
                origins[f"{ep.name}.{key}".lower()] = at(job_directives[d.name])
                raise ConfigError(
                    f"-- {d.name}: sets '{key}', which a {resolved} does not have "
                    f"({'Kafka ' + NOT_SUPPORTED if key in _KAFKA_KEYS else 'remove it'})",
                    key=f"{ep.name}.{key}")
            origins[f"{ep.name}.{key}".lower()] = at(job_directives[d.name])
            via[f"{ep.name}.{key}".lower()] = d.name
            _put(props, key, _value(job_directives[d.name]),
                 canonical(endpoint_setting(key, resolved)))
        for sub, value in cli.items():
            _put(props, sub, value, None)
        for key, value in overrides.items():
            if key.lower().startswith(prefix):
                origins[key.lower()] = None
                via.pop(key.lower(), None)
        written_types.append(written_type)
        config = EndpointConfig(ep.name, role, resolved, props, ep.alias)
        try:
            _check_endpoint(config, [ep.type, written_type, raw_type], written_keys)
        except ConfigError as err:
            raise _via(err, via) from None
        return config

    if in_process:
        # Without FROM every record given is one input row (SELECT 1 AS x: a row per record).
        sources = [EndpointConfig(ep.name, SOURCE, "memory_source", {}, ep.alias)
                   for ep in info.sources] or [EndpointConfig("input", SOURCE, "memory_source", {})]
        sinks = [EndpointConfig("collect", SINK, "collecting_sink", {})]
        written = [ep.name for ep in info.sources + info.sinks]
    else:
        sources = [endpoint(ep, SOURCE) for ep in info.sources]
        sinks = [endpoint(ep, SINK) for ep in info.sinks]
        written = [ep.name for ep in sources + sinks]
    # Kafka as the SQL, its YAML files or its directives wrote it (before -p rebinding).
    kafka_written = bool(implied) or any(
        endpoint_kind(ep.type) == "kafka" for ep in info.sources + info.sinks) or any(
        endpoint_kind(t) == "kafka" for t in written_types)
    if not sinks:
        if default_sink is None:
            raise ConfigError("the query writes nowhere: add INTO <sink> with '<sink>.type'")
        sinks = [EndpointConfig("stdout", SINK, default_sink, {})]
    if len(sources) > 1 and not isinstance(query.from_, A.Join):
        raise SqlValidationError("more than one source needs a JOIN", statement.pos.line,
                                 statement.pos.column)
    names = {name.lower() for name in written} | {ep.name.lower() for ep in sources + sinks}
    properties: dict = {}
    for key, d in globals_.items():
        if key.split(".", 1)[0] not in names or "." not in key:
            _put(properties, key, _value(d), job_setting(key) and canonical(job_setting(key)))
            origins[key] = at(d)
    for key, value in info.job_properties.items():
        low = key.lower()
        _put(properties, low, value, job_setting(low) and canonical(job_setting(low)))
        origins.pop(low, None)
    for d in DIRECTIVES.values():
        if d.target == JOB and d.key is not None and d.name in job_directives:
            _put(properties, d.key, _value(job_directives[d.name]), canonical(job_setting(d.key)))
            origins[d.key] = at(job_directives[d.name])
            via[d.key] = d.name
    for key, value in overrides.items():
        if key.split(".", 1)[0].lower() not in names or "." not in key:
            low = key.lower()
            _put(properties, low, value, job_setting(low) and canonical(job_setting(low)))
            origins[low] = None
            via.pop(low, None)
    try:
        _check_job(properties, written, kafka_written)
    except ConfigError as err:
        raise _via(err, via) from None
    _canonical_names(properties, job_setting, "", origins, statement, filename)
    for ep in sources + sinks:
        _canonical_names(ep.properties, lambda k, t=ep.type: endpoint_setting(k, t),
                         ep.name + ".", origins, statement, filename)
        ep.job = properties
    job_name = name or info.name or (sources[0].name if sources else "query")
    return JobPlan(job_name, statement, query, sources, sinks, properties, origins=origins)


_KAFKA_KEYS = frozenset(s.key for s in SETTINGS if s.scope == "kafka") | LIBRDKAFKA_PROPERTIES
