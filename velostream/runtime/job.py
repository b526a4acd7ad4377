"""The job loop: poll each source for a batch, run it through the operators, write every sink.

Owns one running query once :func:`velostream.runtime.build.build_job` has assembled it: opening
its connectors, the loop, stopping (LIMIT reached, end of bounded inputs, or ``stop()`` — which a
Ctrl-C handler calls), giving failures their source location and raw bytes, failure routing,
sink-write retries and the metrics counters. ``RetryWithBackoff`` retries what a retry can fix —
writing to a sink; a record that cannot be decoded or computed fails the same way every time, so
under that strategy it stops the job like ``FailBatch``.

With a ``'state.dir'`` the job has a ``runtime.checkpoint.Checkpointer``: it restores the last
checkpoint before anything is read or written, takes one between batches every
``'checkpoint.interval'``, and a last one when the job ends (see that module for the protocol).
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from dataclasses import asdict, dataclass, field

from velostream._core import batch as B
from velostream.errors import ConfigError, SqlError
from velostream.runtime.failures import (
    DECODE_ERROR,
    FailureRouter,
    JobFailed,
    RowFailure,
    summary_line,
)
from velostream.runtime.missing_fields import MissingFields
from velostream.runtime.operators import DistinctOperator
from velostream.runtime.watermark import JobWatermark, WatermarkOperator

log = logging.getLogger("velostream.job")


@dataclass
class JobMetrics:
    records_in: int = 0
    records_out: int = 0
    records_failed: int = 0
    records_dead_lettered: int = 0
    records_late: int = 0           # of records_failed: late for their windows (DIALECT §5)
    records_failed_logged: int = 0
    # reason ('decode error', 'division by zero', 'bad CAST', …) → failed records
    failed_by_reason: dict = field(default_factory=dict)
    failures_not_shown: int = 0     # failures counted but not logged (beyond the first few)
    batches: int = 0
    sink_retries: int = 0
    started_at: float = field(default_factory=time.time)
    elapsed_seconds: float = 0.0

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("records_failed_logged")
        return data


@dataclass
class SourceInput:
    """A source of the job with the operators that run on its batches alone (event time)."""

    scan: object                   # plan.physical.ScanNode
    stages: object                 # OperatorChain
    open: object                   # () -> Source
    source: object = None
    missing: object = None


class Job:
    """A runnable job (built by ``runtime.build``): ``run()`` until the inputs end or ``stop()``;
    ``step()`` processes what the sources hold now (in-process use)."""

    def __init__(self, plan, physical, chain, inputs, open_sinks, *, options, metrics=None,
                 checkpoints=None):
        self.plan = plan
        self.physical = physical
        self.chain = chain
        self.inputs = inputs
        self.open_sinks = open_sinks
        self.options = options
        self.stop_event = options.stop_event or threading.Event()
        self.progress = options.progress
        self.metrics = metrics or JobMetrics()
        self.router = None
        self.sinks: list = []
        self.watermark = JobWatermark([item.stages.find(WatermarkOperator) for item in inputs])
        self.checkpoints = checkpoints        # runtime.checkpoint.Checkpointer, or None
        self.open_checkpoints = None          # () -> Checkpointer, called by run()
        self._restored = None                 # the checkpoint this run resumed from

    def stop(self) -> None:
        """Ask the loop to finish the current batch, flush the sinks and return."""
        self.stop_event.set()

    # ------------------------------------------------------------------ running
    def run(self) -> JobMetrics:
        try:
            return self._run()
        except SqlError as err:
            # Expressions compile once the first batch shows the column types; their type errors
            # must still point into the SQL the job came from.
            if err.source is None and self.plan.sql is not None:
                err.with_source(self.plan.sql, self.plan.filename)
            raise
        except ConfigError as err:
            located = self.plan.locate(err)  # a connector found a bad value: say where it was set
            if located is err:
                raise
            raise located from None

    def open(self) -> None:
        """Open the failure router and the sinks (sources open as the loop reaches them); with
        checkpoints, restore the operators and reopen file sinks at their committed length."""
        if self.router is None:
            self.router = FailureRouter(self.plan, self.metrics)
            if self._restored is not None:
                self.router.resume_dead_letters(self._restored.get("dead_letters"))
                self.checkpoints.restore_operators(self._chains())
            if self.checkpoints is not None:
                self.checkpoints.attach_operators(self._chains())
            self.sinks = self.open_sinks(self._restored["sinks"] if self._restored else {})
            if self.checkpoints is not None:
                self.checkpoints.check_sinks(self.sinks)

    def _chains(self):
        return [(f"s{i}", item.stages) for i, item in enumerate(self.inputs)] + \
            [("job", self.chain)]

    def _checkpoint(self, finished: bool = False) -> None:
        self.checkpoints.take(self._chains(), self.inputs, self.sinks, finished=finished,
                              router=self.router)

    def close(self) -> None:
        errors = []
        for item in self.inputs:
            if item.source is not None:
                try:
                    item.source.close()
                except Exception as err:  # noqa: BLE001 - close everything even if one fails
                    errors.append(err)
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as err:  # noqa: BLE001 - close every sink even if one fails
                errors.append(err)
        if self.router is not None:
            self.router.close()
        if self.checkpoints is not None:
            try:
                self.checkpoints.close()
            except Exception as err:  # noqa: BLE001 - the store is released whatever happened
                errors.append(err)
        if errors and not isinstance(errors[0], JobFailed):
            raise errors[0]

    def _run(self) -> JobMetrics:
        started = time.perf_counter()
        try:
            if self.checkpoints is None and self.open_checkpoints is not None:
                self.checkpoints = self.open_checkpoints()
            if self.checkpoints is not None:
                self._restored = self.checkpoints.load()
                if self._restored is not None and self._restored["finished"]:
                    log.warning("%s: the state in %s is of a run that finished; nothing to do "
                                "(--reset-state runs it again)", self.plan.name,
                                self.checkpoints.directory)
                    return self.metrics
            self.open()
            if not self.inputs:
                self._values()
            else:
                self._loop()
            stopped = self.stop_event.is_set() or self.options.continuous
            if self.checkpoints is not None and stopped:
                # Stopped, not ended: what finish() emits lies past the committed output and
                # is dropped on resume, which continues the input instead.
                self._checkpoint()
            self._emit(self.chain.finish(emit=self._emit))
            if self.checkpoints is not None and not stopped:
                self._checkpoint(finished=True)
        finally:
            self.metrics.elapsed_seconds = time.perf_counter() - started
            self.close()
        if self.metrics.records_failed:
            log.warning("%s", summary_line(self.plan.name, self.metrics))
        distinct = self.chain.find(DistinctOperator)
        if distinct is not None and distinct.evictions:
            log.warning("DISTINCT forgot %d old rows (distinct.max_keys = %d); duplicates of "
                        "those may have been emitted again", distinct.evictions,
                        distinct.max_keys)
        return self.metrics

    def _values(self) -> None:
        # SELECT 1 AS x: one row, no input (as every SQL engine answers it).
        self._emit(self.chain.process(B.RecordBatch.empty(1)))

    def _loop(self) -> None:
        for item in self.inputs:
            self._open_source(item)
        checkpoints = self.checkpoints
        if checkpoints is not None and self._restored is None:
            self._checkpoint()       # the start: sink lengths (an appended file's old data)
        active = list(self.inputs)
        try:
            while active and not self.chain.done:
                for item in list(active):
                    source = item.source
                    if source.exhausted:
                        active.remove(item)
                        item.missing.report(_where(source, item), self.plan.filename)
                        continue
                    polled = source.poll(self.options.poll_timeout)
                    if polled is not None:
                        self._process(item, polled)
                        if self.chain.done:
                            break
                    elif self.watermark.active and self.options.continuous:
                        self._advance_watermark(idle=True)   # an idle source's may move on
                    if checkpoints is not None and checkpoints.due():
                        self._checkpoint()
        finally:
            if self.progress:
                self.progress.finish()

    def _open_source(self, item) -> None:
        item.source = item.open()
        if self._restored is not None:
            self.checkpoints.seek(item.source, self._restored["sources"])
        item.missing = MissingFields(self.plan.query, item.scan.endpoint, item.source,
                                     item.scan.others)
        if self.progress:
            self.progress.start(getattr(item.source, "size", None), item.scan.endpoint.name)

    def step(self) -> None:
        """Process what every source holds now, without waiting (``StreamApp.process``)."""
        self.open()
        for item in self.inputs:
            if item.source is None:
                self._open_source(item)
            while True:
                polled = item.source.poll(0)
                if polled is None:
                    break
                self._process(item, polled)

    def finish(self) -> None:
        """End of input for the operators that hold rows until then (ORDER BY)."""
        self._emit(self.chain.finish(emit=self._emit))

    # ------------------------------------------------------------------ one batch
    def _process(self, item, polled) -> None:
        metrics = self.metrics
        batch = polled.batch
        metrics.batches += 1
        metrics.records_in += batch.length + len(polled.errors)
        where = _where(item.source, item)
        failures = [RowFailure(e.message, where, e.line, raw=e.raw, kind=DECODE_ERROR,
                               location=getattr(e, "location", None)) for e in polled.errors]
        if batch.length:
            item.missing.observe(batch, polled)
        staged = item.stages.process(batch)
        row_failures = list(staged.failures)
        outputs = []
        for out in staged.batches:
            result = self.chain.process(out)
            row_failures.extend(result.failures)
            outputs.extend(result.batches)
        if row_failures:
            _locate_rows(row_failures, polled, where)
            failures.extend(row_failures)
        self.router.handle(failures, self.plan.name)
        for out in outputs:
            self._write(out)
        if self.watermark.active:
            self._advance_watermark()
        if self.options.continuous:
            # A follower's output must appear as records arrive, not when a buffer fills.
            for sink in self.sinks:
                sink.flush()

    def _advance_watermark(self, idle: bool = False) -> None:
        """Event time moved on: the operators close what it passed (windows)."""
        mark = self.watermark.advanced(idle)
        if mark is None:
            return
        self._emit(self.chain.on_watermark(mark, emit=self._emit))
        if self.options.continuous:
            for sink in self.sinks:
                sink.flush()

    def _emit(self, output) -> None:
        self.router.handle(output.failures, self.plan.name)
        for batch in output.batches:
            self._write(batch)

    def _write(self, batch) -> None:
        if batch is None or batch.length == 0:
            return
        router = self.router
        for sink in self.sinks:
            attempt = 0
            while True:
                try:
                    sink.write(batch)
                    break
                except OSError as err:
                    if not router.retries or attempt >= router.max_retries:
                        raise JobFailed(f"job {self.plan.name}: writing to sink {sink.name} "
                                        f"failed: {err}") from err
                    self.metrics.sink_retries += 1
                    delay = router.backoff_seconds(attempt)
                    log.warning("writing to %s failed (%s); retry %d/%d in %.1fs", sink.name, err,
                                attempt + 1, router.max_retries, delay)
                    self.stop_event.wait(delay)
                    attempt += 1
        self.metrics.records_out += batch.length


def _where(source, item) -> str:
    # Failures point at what a user can open: the file, else the source's name.
    return getattr(source, "path", None) or item.scan.endpoint.name


def _locate_rows(failures, polled, where) -> None:
    """Gives each failure of a decoded row its source, location and input bytes (for the DLQ:
    the whole record, not only the fields the query read). Only failing rows pay."""
    lines_column = polled.batch.meta.get("_line")
    lines = lines_column.to_pylist() if lines_column is not None else None
    rows = []
    for failure in failures:
        failure.source = failure.source or where
        row = None
        if lines is not None and failure.line is not None:
            at = bisect.bisect_left(lines, failure.line)
            if at < len(lines) and lines[at] == failure.line:
                row = at
        rows.append(row)
        if row is not None and failure.location is None:
            failure.location = polled.location_of(row)
    wanted = [r for r in rows if r is not None]
    if not wanted:
        return
    raws = dict(zip(wanted, polled.raw_of(wanted)))
    for failure, row in zip(failures, rows):
        if row is not None and failure.raw is None:
            failure.raw = raws.get(row)
