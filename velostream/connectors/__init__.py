"""Sources and sinks: where records come from and go to (files, standard output, memory).

``open_source``/``open_sink`` build the connector for a bound endpoint (plan.bind.EndpointConfig).
"""

from __future__ import annotations


def open_source(endpoint, plan, **options):
    if endpoint.type == "file_source":
        from velostream.connectors.file import FileSource

        return FileSource(endpoint, plan, **options)
    raise NotImplementedError(endpoint.type)  # bind_statement only lets runnable types through


def open_sink(endpoint, plan, **options):
    if endpoint.type == "file_sink":
        from velostream.connectors.file import FileSink

        return FileSink(endpoint, plan, **options)
    if endpoint.type == "stdout_sink":
        from velostream.connectors.stdout import StdoutSink

        return StdoutSink(endpoint, plan, **options)
    raise NotImplementedError(endpoint.type)
