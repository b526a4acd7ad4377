"""Source and sink discovery: which named endpoints a statement reads and writes, and their WITH.

Owns the mapping from a statement to its endpoints (every FROM/JOIN name is a source, every INTO
name a sink, and ``CREATE STREAM x`` without INTO writes to ``x`` when ``'x.type'`` is set), the
assignment of ``'<name>.<key>'`` properties to the endpoint named by the longest matching prefix,
the job properties (keys with no endpoint prefix), and the checks of that configuration
(``validate_endpoints``; DIALECT §7). YAML files named by ``.config_file`` are not read here.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from velostream.errors import SqlValidationError
from velostream.grammar import ast as A
from velostream.plan.settings import (
    AVAILABLE_KINDS,
    ENDPOINT,
    JOB,
    endpoint_setting,
    is_job_key,
    job_setting,
    unknown_endpoint_key,
    unknown_job_key,
    value_problem,
)

SOURCE, SINK = "source", "sink"

# type → the role it implies (None: the short forms, whose role comes from FROM / INTO).
ENDPOINT_TYPES = {
    "kafka_source": SOURCE, "file_source": SOURCE, "database_source": SOURCE,
    "kafka_sink": SINK, "file_sink": SINK, "database_sink": SINK, "stdout_sink": SINK,
    "kafka": None, "file": None, "database": None, "stdout": SINK,
}
# Types the product documents use that this build does not implement: a warning, not an error,
# so `validate` accepts the documents' examples; the job itself will refuse to start.
UNAVAILABLE_TYPES = {"s3_source": SOURCE, "s3_sink": SINK, "iceberg_sink": SINK,
                     "http_sink": SINK}

# First components of dotted keys that are job properties (or settings for every endpoint, such
# as librdkafka's), not endpoint names.
JOB_PROPERTY_PREFIXES = frozenset("""
    batch dlq state checkpoint late allowed source sink kafka file database schema value key
    retry job metrics event watermark bootstrap group auto security sasl ssl avro protobuf
""".split())


@dataclass
class Endpoint:
    """A named source or sink and the WITH properties addressed to it (prefix removed)."""

    name: str
    alias: str | None = None
    role: str = SOURCE
    type: str | None = None
    properties: dict = field(default_factory=dict)
    line: int = 0
    column: int = 0

    def to_dict(self) -> dict:
        return {"name": self.name, "alias": self.alias, "role": self.role, "type": self.type,
                "properties": dict(self.properties), "line": self.line, "column": self.column}


@dataclass
class StatementInfo:
    """What a statement is, what it reads and writes, and how it is configured."""

    kind: str  # select | create_stream | create_table | start_job | command | explain
    name: str | None = None
    sources: list = field(default_factory=list)
    sinks: list = field(default_factory=list)
    window: str | None = None
    emit: str | None = None
    grouped: bool = False
    joins: list = field(default_factory=list)  # (kind, right name, within ms | None)
    job_properties: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "name": self.name,
            "sources": [e.to_dict() for e in self.sources],
            "sinks": [e.to_dict() for e in self.sinks],
            "window": self.window,
            "emit": self.emit,
            "grouped": self.grouped,
            "joins": [{"kind": k, "right": r, "within_ms": w} for k, r, w in self.joins],
            "job_properties": dict(self.job_properties),
        }


_KINDS = {"Select": "select", "CreateStream": "create_stream", "CreateTable": "create_table",
          "StartJob": "start_job"}


@dataclass
class _Binding:
    """Endpoints of a statement and where each WITH property went."""

    sources: list
    sinks: list
    endpoint_props: list  # (Property, [Endpoint], suffix)
    job_props: list  # Property
    created: str | None  # CREATE STREAM/TABLE name whose implicit sink was not configured
    refs: dict  # id(Endpoint) → the TableRef / SinkRef / statement it came from


def _created(stmt):
    """The CREATE STREAM/TABLE node of a statement (directly or as a job's body), or None."""
    if isinstance(stmt, A.StartJob):
        stmt = stmt.body
    return stmt if isinstance(stmt, (A.CreateStream, A.CreateTable)) else None


def _bind(stmt) -> _Binding | None:
    select = A.query_of(stmt)
    if select is None:
        return None
    refs = {}

    def endpoint(name, alias, role, node):
        pos = node.pos or select.pos or A.Pos(0, 0)
        ep = Endpoint(name, alias, role, line=pos.line, column=pos.column)
        refs[id(ep)] = node
        return ep

    sources, seen = [], set()
    if select.from_ is not None:
        for node in select.from_.walk():
            if isinstance(node, A.TableRef) and node.name.lower() not in seen:
                seen.add(node.name.lower())
                sources.append(endpoint(node.name, node.alias, SOURCE, node))
    sinks, seen = [], set()
    for ref in select.into:
        if ref.name.lower() not in seen:
            seen.add(ref.name.lower())
            sinks.append(endpoint(ref.name, None, SINK, ref))
    created = _created(stmt)
    implicit = None
    if created is not None and not select.into:
        # CREATE STREAM x without INTO writes to a sink named x if 'x.type' is configured.
        if any(p.key.lower() == f"{created.name.lower()}.type" for p in select.properties):
            sinks.append(endpoint(created.name, None, SINK, created))
        else:
            implicit = created.name

    everyone = sources + sinks
    endpoint_props, job_props = [], []
    for prop in select.properties:
        key = prop.key.lower()
        best = [e for e in everyone if key.startswith(e.name.lower() + ".")]
        if best:
            longest = max(len(e.name) for e in best)
            best = [e for e in best if len(e.name) == longest]
            suffix = prop.key[longest + 1:]
            endpoint_props.append((prop, best, suffix))
            for ep in best:
                if suffix.lower() == "type":
                    ep.type = prop.value
                else:
                    ep.properties[suffix] = prop.value
        else:
            job_props.append(prop)
    return _Binding(sources, sinks, endpoint_props, job_props, implicit, refs)


def describe_statement(stmt) -> StatementInfo:
    """Kind, name, sources, sinks, window, emission, joins and job properties of a statement.

    EXPLAIN is described as the statement it explains, with kind ``explain``."""
    if isinstance(stmt, A.Explain):
        info = describe_statement(stmt.statement)
        info.kind = "explain"
        return info
    kind = _KINDS.get(type(stmt).__name__, "command")
    name = getattr(stmt, "name", None)
    select = A.query_of(stmt)
    info = StatementInfo(kind, name)
    if select is None:
        return info
    from velostream.grammar import to_sql
    from velostream.plan.validate import is_grouped

    binding = _bind(stmt)
    info.sources, info.sinks = binding.sources, binding.sinks
    info.job_properties = {p.key: p.value for p in binding.job_props}
    info.window = to_sql(select.window) if select.window is not None else None
    info.emit = select.emit
    info.grouped = is_grouped(select)
    if select.from_ is not None:
        joins = [n for n in select.from_.walk() if isinstance(n, A.Join)]
        # walk() is pre-order, so the outermost (last written) join comes first.
        for join in reversed(joins):
            within = A.interval_millis(join.within) if join.within is not None else None
            info.joins.append((join.kind, join.right.name, within))
    return info


def validate_endpoints(stmt) -> list[SqlValidationError]:
    """Errors and warnings about the sources, sinks and WITH properties of a statement (of the
    statement EXPLAIN explains)."""
    if isinstance(stmt, A.Explain):
        stmt = stmt.statement
    binding = _bind(stmt)
    if binding is None:
        return []
    found = []

    def report(node, message, hint=None, severity="error"):
        pos = getattr(node, "pos", None) or A.Pos(0, 0)
        found.append(SqlValidationError(message, pos.line, pos.column, severity=severity,
                                        hint=hint))

    type_props = {}
    for prop, endpoints, suffix in binding.endpoint_props:
        for ep in endpoints:
            if suffix.lower() == "type":
                type_props[id(ep)] = prop
                continue
            problem = unknown_endpoint_key(ep.name, suffix, [ep.type])
            if problem:
                report(prop, f"'{prop.key}': {problem[0]}", hint=problem[1], severity="warning")
                continue
            _check_value(prop, endpoint_setting(suffix, ep.type), report)
    for ep in binding.sources + binding.sinks:
        prop = type_props.get(id(ep))
        node = binding.refs[id(ep)]
        if prop is None:
            if not any(k.lower() == "config_file" for k in ep.properties):
                example = "kafka_source" if ep.role == SOURCE else "kafka_sink"
                report(node, f"{ep.role} '{ep.name}' has no '.type'; it must come from a config "
                             "file, a job directive or the command line",
                       hint=f"add '{ep.name}.type' = '{example}' (or another type) to WITH (…)",
                       severity="warning")
            continue
        _check_type(ep, prop, report)

    names = [e.name for e in binding.sources + binding.sinks]
    aliases = {e.alias.lower(): e.name for e in binding.sources if e.alias}
    seen_keys = {}
    for prop in binding.job_props:
        key = prop.key.lower()
        if "." in key:
            prefix = prop.key.split(".", 1)[0]
            if prefix.lower() not in JOB_PROPERTY_PREFIXES:
                if binding.created is not None and prefix.lower() == binding.created.lower():
                    hint = (f"CREATE STREAM {binding.created} writes to a sink named "
                            f"'{binding.created}' only when '{binding.created}.type' is set")
                elif prefix.lower() in aliases:
                    hint = (f"'{prefix}' is an alias; properties are addressed by the source "
                            f"name: '{aliases[prefix.lower()]}.{prop.key.split('.', 1)[1]}'")
                else:
                    close = difflib.get_close_matches(prefix, names, n=1, cutoff=0.6)
                    hint = f"did you mean '{close[0]}'?" if close else (
                        "sources are the names in FROM/JOIN, sinks the names in INTO")
                report(prop, f"property for unknown source/sink '{prefix}'", hint=hint,
                       severity="warning")
                continue
        if job_setting(key) is not None:
            _check_value(prop, job_setting(key), report)
        elif not is_job_key(key):
            message, hint = unknown_job_key(prop.key, names)
            report(prop, f"'{prop.key}': {message}", hint=hint, severity="warning")
    select = A.query_of(stmt)
    for prop in select.properties:
        key = prop.key.lower()
        if key in seen_keys:
            report(prop, f"property '{prop.key}' is set more than once; the last value wins",
                   severity="warning")
        seen_keys[key] = prop
    return found


def _check_type(ep, prop, report):
    value = prop.value.strip().lower()
    where = "FROM/JOIN" if ep.role == SOURCE else "INTO"
    if value in ENDPOINT_TYPES or value in UNAVAILABLE_TYPES:
        implied = ENDPOINT_TYPES.get(value, UNAVAILABLE_TYPES.get(value))
        if implied is not None and implied != ep.role:
            base = value.rsplit("_", 1)[0]
            fix = f"{base}_{ep.role}"
            hint = f"use '{fix}'" if fix in ENDPOINT_TYPES or fix in UNAVAILABLE_TYPES else None
            report(prop, f"'{ep.name}' is used as a {ep.role} ({where}) but its type "
                         f"'{prop.value}' is a {implied} type", hint=hint)
            return
        if value in UNAVAILABLE_TYPES:
            report(prop, f"type '{prop.value}' is documented but not available in this build; "
                         "the job will not start", severity="warning")
        return
    valid = [t for t, role in ENDPOINT_TYPES.items() if role in (None, ep.role)]
    close = difflib.get_close_matches(value, valid + list(UNAVAILABLE_TYPES), n=1, cutoff=0.5)
    report(prop, f"unknown type '{prop.value}' for {ep.role} '{ep.name}'; expected one of "
                 f"{', '.join(valid)}", hint=f"did you mean '{close[0]}'?" if close else None)


def _check_value(prop, setting, report):
    """A value that is not of its setting's type is an error; a key this build refuses is a
    warning (the job will not start). Keys of a connector this build does not have are not
    warned about one by one: their type is."""
    if setting is None or "${" in prop.value:
        return  # unknown to the table (an untyped endpoint), or resolved at run time
    problem = setting.problem(prop.value)
    if problem:
        message, hint = problem
        report(prop, f"'{prop.key}' {message}", hint=hint)
        return
    if setting.scope in (JOB, ENDPOINT) or setting.scope in AVAILABLE_KINDS:
        refused = value_problem(setting, prop.value, prop.key)
        if refused:
            report(prop, refused[0], severity="warning")


__all__ = [
    "ENDPOINT_TYPES",
    "UNAVAILABLE_TYPES",
    "Endpoint",
    "StatementInfo",
    "describe_statement",
    "validate_endpoints",
]
