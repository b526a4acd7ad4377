"""The job builder: the one place that turns a bound plan into a runnable :class:`Job`.

Owns planning (``plan.physical.plan_job``), instantiating one operator per plan node, and the
connectors each source and sink of the plan gets (with only the settings it needs, never the
whole plan). The CLI, ``StreamApp`` (``run``, ``results``, and ``process`` through an in-memory
source and a collecting sink) and the job server all build their jobs here.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass, field

from velostream.plan import physical as P
from velostream.runtime.aggregate import AggregateOperator
from velostream.runtime.event_time import EventTimeOperator
from velostream.runtime.job import Job, SourceInput
from velostream.runtime.join import JoinOperator
from velostream.runtime.operators import (
    DistinctOperator,
    FilterOperator,
    LimitOperator,
    OperatorChain,
    ProjectOperator,
    SortOperator,
)
from velostream.runtime.watermark import WatermarkOperator
from velostream.runtime.window_functions import WindowFunctionOperator

# Node kind → the operator that runs it.
OPERATORS = {
    P.EventTimeNode: EventTimeOperator,
    P.FilterNode: FilterOperator,
    P.ProjectNode: ProjectOperator,
    P.DistinctNode: DistinctOperator,
    P.SortNode: SortOperator,
    P.LimitNode: LimitOperator,
    P.WindowFunctionNode: WindowFunctionOperator,
    P.AggregateNode: AggregateOperator,
    P.WatermarkNode: WatermarkOperator,
    P.JoinNode: JoinOperator,
}


@dataclass
class RunOptions:
    """How one run goes: the CLI's flags, StreamApp's callbacks."""

    limit: int | None = None            # stop after this many output rows
    continuous: bool = False            # follow growing inputs until stopped
    stop_event: threading.Event | None = None
    progress: object = None             # cli.progress.FileProgress, or None
    extra_sinks: list = field(default_factory=list)     # Sink objects besides the plan's
    poll_timeout: float = 0.1           # seconds a poll may wait for a follower's data
    reset_state: bool = False           # --reset-state: drop the state.dir's checkpoint first


def operator_for(node):
    return OPERATORS[type(node)](node)


def _chain_below(node, stop):
    """The operators from ``node`` down to (not including) the first node that ``stop`` says
    ends the chain, listed in data-flow order; and that node."""
    nodes = []
    while not stop(node):
        nodes.append(node)
        if len(node.inputs) != 1:
            raise NotImplementedError(f"{node.kind} with {len(node.inputs)} inputs")
        node = node.inputs[0]
    return [operator_for(n) for n in reversed(nodes)], node


def build_job(plan, options: RunOptions | None = None, *, sources=None, sinks=None) -> Job:
    """A :class:`Job` for ``plan`` (a ``plan.bind.JobPlan``). ``sources`` / ``sinks``: endpoint
    name → an already built Source / Sink to use instead of a connector for the endpoint
    (``StreamApp.process``: an in-memory source and a collecting sink)."""
    options = options or RunOptions()
    if options.stop_event is None:
        # One event stops the loop and every follower of the job.
        options = dataclasses.replace(options, stop_event=threading.Event())
    physical = P.plan_job(plan, limit=options.limit, bounded=not options.continuous)
    sink_node = physical.root
    shared, bottom = _chain_below(
        sink_node.inputs[0], lambda n: isinstance(n, (P.WatermarkNode, P.EventTimeNode, P.ScanNode,
                                                 P.ValuesNode)))
    inputs = []
    for stage_top in ([bottom] if not isinstance(bottom, P.ValuesNode) else []):
        stages, scan = _chain_below(stage_top, lambda n: isinstance(n, P.ScanNode))
        given = (sources or {}).get(scan.endpoint.name)
        inputs.append(SourceInput(scan, OperatorChain(stages),
                                  (lambda s=given: s) if given is not None else
                                  _source_opener(plan, scan, options)))
    job = Job(plan, physical, OperatorChain(shared), inputs,
              lambda resume: _open_sinks(plan, sink_node, options, sinks or {}, resume),
              options=options)
    job.open_checkpoints = _checkpoints(plan, job, options)
    return job


def _checkpoints(plan, job, options):
    """What opens the job's checkpoints when it has a ``'state.dir'`` (None: memory state, no
    checkpoints). The store opens when the job runs, not when it is built."""
    directory = plan.setting("state.dir")
    if not directory:
        if options.reset_state:
            logging.getLogger("velostream.checkpoint").warning(
                "%s: --reset-state: the job has no 'state.dir', so there is no state to reset",
                plan.name)
        return None
    from velostream.runtime import checkpoint

    checkpoint.check_backend(plan)
    return lambda: checkpoint.open_checkpoints(plan, reset=options.reset_state)


def _source_opener(plan, scan, options):
    def open_():
        from velostream.connectors import open_source, source_context

        return open_source(scan.endpoint, source_context(
            plan, fields=scan.fields, watch=True if options.continuous else None,
            stop_event=options.stop_event,
            on_progress=options.progress.update if options.progress else None))
    return open_


def _open_sinks(plan, node, options, given, resume=None):
    """The sinks of ``node``; ``resume``: sink name → the length a checkpoint committed (a file
    sink reopens its file there instead of starting it again)."""
    from velostream.connectors import open_sink
    from velostream.connectors.base import SinkContext

    financial = plan.flag("financial_precision", True)
    checkpointed = bool(plan.setting("state.dir"))
    key = P.output_key(node)
    sinks = []
    try:
        for ep in node.endpoints:
            if ep.name in given:
                sinks.append(given[ep.name])
                continue
            context = SinkContext(financial_precision=financial, checkpointed=checkpointed,
                                  key_columns=key, **ep.context)
            if resume and resume.get(ep.name) is not None:
                context.resume_length = resume[ep.name]
            sinks.append(open_sink(ep, context))
    except BaseException:
        for sink in sinks:
            sink.close()
        raise
    return sinks + list(options.extra_sinks)
