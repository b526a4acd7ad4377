"""The connector registry: source and sink classes by endpoint ``.type``.

Owns which connector serves an endpoint type. Entries are ``"module:Class"`` strings, imported
on first use, so importing the registry imports no connector (a Kafka connector need not load
its client library for a job that reads files). A connector is built as
``Class(endpoint, context)``: the bound endpoint (plan.bind.EndpointConfig) and a
SourceContext / SinkContext, never the JobPlan.
"""

from __future__ import annotations

from velostream.connectors.base import SinkContext, SourceContext
from velostream.formats.registry import load

_SOURCES: dict[str, str | type] = {}
_SINKS: dict[str, str | type] = {}


def register_source(type_name: str, target) -> None:
    """``target``: a Source class or ``"module:Class"``."""
    _SOURCES[type_name] = target


def register_sink(type_name: str, target) -> None:
    _SINKS[type_name] = target


def source_types() -> list[str]:
    return list(_SOURCES)


def sink_types() -> list[str]:
    return list(_SINKS)


def _class(table: dict, type_name: str, role: str):
    target = table.get(type_name)
    if target is None:
        # bind_statement only lets runnable types through; this is a programming error
        raise NotImplementedError(f"no {role} connector for type {type_name!r}")
    if isinstance(target, str):
        target = table[type_name] = load(target)
    return target


def open_source(endpoint, context: SourceContext | None = None):
    return _class(_SOURCES, endpoint.type, "source")(endpoint, context or SourceContext())


def open_sink(endpoint, context: SinkContext | None = None):
    return _class(_SINKS, endpoint.type, "sink")(endpoint, context or SinkContext())


register_source("file_source", "velostream.connectors.file:FileSource")
register_sink("file_sink", "velostream.connectors.file:FileSink")
register_sink("stdout_sink", "velostream.connectors.stdout:StdoutSink")
register_source("database_source", "velostream.connectors.sqlite:SqliteSource")
register_sink("database_sink", "velostream.connectors.sqlite:SqliteSink")
