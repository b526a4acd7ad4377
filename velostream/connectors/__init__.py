"""Sources and sinks: where records come from and go to (files, standard output, memory).

``open_source(endpoint, SourceContext)`` / ``open_sink(endpoint, SinkContext)`` build the
connector for a bound endpoint (plan.bind.EndpointConfig) through the registry
(connectors.registry); the contract is connectors.base. The old call shape
``open_source(endpoint, plan, fields=…, watch=…, stop_event=…, on_progress=…)`` /
``open_sink(endpoint, plan, format_override=…)`` still works until runtime/ moves over.
"""

from __future__ import annotations

from velostream.connectors.base import SinkContext, SourceContext

# The spellings the documents use (the settings table maps them, and -- BATCH_SIZE:, later).
BATCH_SIZE_KEYS = ("batch.size", "max_batch_size", "batch_size")
BATCH_TIMEOUT_KEYS = ("batch.timeout", "batch_timeout")


def source_context(plan, *, fields=None, watch=None, stop_event=None,
                   on_progress=None) -> SourceContext:
    """A SourceContext from a JobPlan and the old keyword options (the job's batch.size /
    batch.timeout; a source's own setting wins in the source)."""
    props = getattr(plan, "properties", None) or {}
    size = next((plan.setting(k) for k in BATCH_SIZE_KEYS if props.get(k) is not None),
                None)
    timeout = next((plan.setting(k) for k in BATCH_TIMEOUT_KEYS
                    if props.get(k) is not None), None)
    return SourceContext(fields=fields, watch=watch, stop_event=stop_event,
                         on_progress=on_progress,
                         financial_precision=plan.flag("financial_precision", True),
                         batch_size=size, batch_timeout_ms=timeout)


def open_source(endpoint, context=None, **options):
    from velostream.connectors import registry

    if context is not None and not isinstance(context, SourceContext):
        context = source_context(context, **options)      # the old (endpoint, plan, …) form
    return registry.open_source(endpoint, context)


def open_sink(endpoint, context=None, **options):
    from velostream.connectors import registry

    if context is not None and not isinstance(context, SinkContext):
        context = SinkContext(format_override=options.get("format_override"),
                              stream=options.get("stream"),
                              financial_precision=context.flag("financial_precision", True))
    return registry.open_sink(endpoint, context)
