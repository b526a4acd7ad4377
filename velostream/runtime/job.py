"""The job loop: read a batch from the source, run the pipeline, write every sink, repeat.

Owns one running query: opening its connectors, the loop, stopping (LIMIT reached, end of a
bounded input, or ``stop()`` — which a Ctrl-C handler calls), failure routing, sink-write retries
and the metrics counters. ``RetryWithBackoff`` retries what a retry can fix — writing to a sink;
a record that cannot be decoded or computed fails the same way every time, so under that strategy
it stops the job like ``FailBatch``.
"""

from __future__ import annotations

import bisect
import collections
import datetime as dt
import difflib
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from velostream._core import batch as B
from velostream._core.batch import MAX_EPOCH_MS, MIN_EPOCH_MS
from velostream.connectors import open_sink, open_source
from velostream.errors import ConfigError, SqlError, SqlValidationError
from velostream.grammar import ast as A
from velostream.runtime.failures import (
    DECODE_ERROR,
    EVENT_TIME_ERROR,
    FailureRouter,
    JobFailed,
    summary_line,
)
from velostream.runtime.pipeline import QueryPipeline, RowFailure

log = logging.getLogger("velostream.job")

EVENT_TIME_FORMATS = ("epoch_millis", "epoch_seconds", "iso8601")


@dataclass
class JobMetrics:
    records_in: int = 0
    records_out: int = 0
    records_failed: int = 0
    records_dead_lettered: int = 0
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


def _qualifier_set(qualifiers) -> set[str]:
    return {q.lower() for q in qualifiers if q}


def _field_path(node: A.Column, qualifiers: set[str]) -> tuple[str, ...]:
    """A column's parts without the source's qualifier (o.col: the source's field col)."""
    parts = node.parts
    return parts[1:] if len(parts) > 1 and parts[0].lower() in qualifiers else parts


def needed_fields(query: A.Select, qualifiers=()):
    """Source fields the query reads (for projection push-down), or None when it needs all."""
    qualifiers = _qualifier_set(qualifiers)
    names = set()
    for node in query.walk():
        if isinstance(node, A.Star):
            return None
        if isinstance(node, A.Column) and not node.parts[-1].startswith("_"):
            parts = _field_path(node, qualifiers)
            names.add(parts[0])            # s.field on a nested value reads the field s
            names.add(parts[-1])
    return sorted(names)


class Job:
    def __init__(self, plan, *, limit=None, continuous=False, sink_format=None, extra_sinks=(),
                 stop_event=None, progress=None):
        self.plan = plan
        self.limit = limit
        self.continuous = continuous
        self.sink_format = sink_format
        self.extra_sinks = list(extra_sinks)
        self.stop_event = stop_event or threading.Event()
        self.progress = progress
        self.metrics = JobMetrics()

    def stop(self) -> None:
        """Ask the loop to finish the current batch, flush the sinks and return."""
        self.stop_event.set()

    # ------------------------------------------------------------------ the loop
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

    def _run(self) -> JobMetrics:
        plan = self.plan
        source_ep = plan.sources[0] if plan.sources else None
        pipeline = QueryPipeline(
            plan.query, source_name=source_ep.name if source_ep else None,
            source_alias=source_ep.alias if source_ep else None, limit=self.limit,
            bounded=not self.continuous,
            distinct_max_keys=plan.setting("distinct.max_keys"),
            max_string_bytes=plan.setting("max_string_bytes"))
        router = FailureRouter(plan, self.metrics)
        sinks = []
        started = time.perf_counter()
        try:
            sinks = [open_sink(ep, plan, format_override=self._format_for(ep)) for ep in plan.sinks]
            sinks.extend(self.extra_sinks)
            if source_ep is None:
                self._run_without_source(pipeline, router, sinks)
            else:
                self._run_source(source_ep, pipeline, router, sinks)
            self._write(sinks, pipeline.finish(), router)
        finally:
            self.metrics.elapsed_seconds = time.perf_counter() - started
            router.close()
            errors = []
            for sink in sinks:
                try:
                    sink.close()
                except Exception as err:  # noqa: BLE001 - close every sink even if one fails
                    errors.append(err)
            if errors and not isinstance(errors[0], JobFailed):
                raise errors[0]
        if self.metrics.records_failed:
            log.warning("%s", summary_line(plan.name, self.metrics))
        if pipeline.distinct_evictions:
            log.warning("DISTINCT forgot %d old rows (distinct.max_keys = %d); duplicates of "
                        "those may have been emitted again", pipeline.distinct_evictions,
                        pipeline.distinct_max_keys)
        return self.metrics

    def _format_for(self, endpoint):
        return self.sink_format if endpoint.type == "stdout_sink" else None

    def _run_without_source(self, pipeline, router, sinks):
        # SELECT 1 AS x: one row, no input (as every SQL engine answers it).
        out, failures = pipeline.process(B.RecordBatch.empty(1))
        router.handle(failures, self.plan.name)
        self._write(sinks, out, router)

    def _run_source(self, endpoint, pipeline, router, sinks):
        fields = needed_fields(self.plan.query, (endpoint.name, endpoint.alias))
        time_field = endpoint.get("event.time.field")
        if fields is not None and time_field and time_field not in fields:
            fields.append(str(time_field))     # read for _event_time even when not selected
        source = open_source(endpoint, self.plan, fields=fields,
                             watch=True if self.continuous else None, stop_event=self.stop_event,
                             on_progress=self.progress.update if self.progress else None)
        if self.progress:
            self.progress.start(source.size, endpoint.name)
        event_time = self._event_time_reader(endpoint)
        missing = _MissingFields(self.plan.query, endpoint, source)
        # Failures point at what a user can open: the file and line, else the source's name.
        where = getattr(source, "path", None) or endpoint.name
        try:
            for result in source.batches():
                self.metrics.batches += 1
                self.metrics.records_in += result.batch.length + len(result.errors)
                failures = [RowFailure(e.message, where, e.line, raw=e.raw, kind=DECODE_ERROR)
                            for e in result.errors]
                decoded = len(failures)
                batch = result.batch
                starts = batch.meta.get("_line")
                if batch.length:
                    missing.observe(batch, result)
                    batch = event_time(batch, failures, where)
                out, row_failures = pipeline.process(batch, where)
                failures.extend(row_failures)
                if len(failures) > decoded:
                    _attach_raw(failures[decoded:], result, starts)
                router.handle(failures, self.plan.name)
                self._write(sinks, out, router)
                if self.continuous:
                    # A follower's output must appear as records arrive, not when a buffer fills.
                    for sink in sinks:
                        sink.flush()
                # A stopped source ends by itself once it has handed over what it holds (a
                # follower's partial last line), so only a finished pipeline (LIMIT) breaks.
                if pipeline.done:
                    break
            missing.report(where, self.plan.filename)
        finally:
            if self.progress:
                self.progress.finish()

    def _write(self, sinks, batch, router):
        if batch is None or batch.length == 0:
            return
        for sink in sinks:
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

    # ------------------------------------------------------------------ event time
    def _event_time_reader(self, endpoint):
        """Fills ``_event_time`` from ``'<source>.event.time.field'`` (else it is ``_timestamp``)."""
        field_name = endpoint.get("event.time.field")
        if not field_name:
            return self._processing_time
        fmt = str(endpoint.get("event.time.format", "epoch_millis"))
        key = f"{endpoint.name}.event.time.format"
        if fmt.lower() not in EVENT_TIME_FORMATS and "%" not in fmt:
            raise ConfigError(f"must be epoch_millis, epoch_seconds, iso8601 or a strftime "
                              f"pattern; got {fmt!r}", key=key)
        return lambda batch, failures, where: _fill_event_time(batch, field_name, fmt, where,
                                                               failures)

    @staticmethod
    def _processing_time(batch, failures, where):
        stamp = batch.meta.get("_timestamp")
        if stamp is not None:
            batch.meta.setdefault("_event_time", stamp)
        return batch


def referenced_columns(query: A.Select, qualifiers=()) -> dict:
    """Source fields the query names (lower-cased) → the first Column node naming each; output
    aliases (ORDER BY notional) and pseudo-columns (_offset) are not fields."""
    qualifiers = _qualifier_set(qualifiers)
    aliases = {item.alias.lower() for item in query.items
               if isinstance(item, A.SelectItem) and item.alias}
    found = {}
    for node in query.walk():
        if isinstance(node, A.Column):
            name = _field_path(node, qualifiers)[0]
            if not name.startswith("_") and name.lower() not in aliases:
                found.setdefault(name.lower(), node)
    return found


class _MissingFields:
    """Columns the query names that no record has (a typo: SELECT nosuch … is NULL on every row).

    The first batch proposes the candidates: named columns that are NULL on every row of it and
    that no record of its block has (the source decodes the block again, without projection —
    only when there is a candidate). A declared schema (``'<source>.schema.<field>'``) that does
    not have the field either makes it an error before any output; otherwise later batches strike
    out candidates that turn out to have values, and ``report`` warns once about the rest.
    """

    def __init__(self, query, endpoint, source):
        self.columns = referenced_columns(query, (endpoint.name, endpoint.alias))
        self.endpoint = endpoint
        self.source = source
        self.candidates: dict | None = None     # None: the first batch has not been seen
        self.known: list[str] = []              # field names of the data, for "did you mean"

    def observe(self, batch, result) -> None:
        if self.candidates is not None:
            if self.candidates:
                self._strike(batch)
            return
        self.candidates = {}
        present = {n.lower(): c for n, c in zip(batch.names, batch.columns)}
        empty = [name for name in self.columns
                 if name not in present or present[name].null_count() == batch.length]
        if not empty or not hasattr(self.source, "field_names"):
            return
        self.known = [n for n in self.source.field_names(result) if n]
        known = {n.lower() for n in self.known}
        declared = {k[len("schema."):].lower(): k for k in self.endpoint.properties
                    if k.lower().startswith("schema.")}
        self.candidates = {n: self.columns[n] for n in empty if n not in known | declared.keys()}
        for name, node in self.candidates.items():
            if declared:
                fields = sorted({*(k[len("schema."):] for k in declared.values()), *self.known})
                raise SqlValidationError(
                    f"column '{_spelled(node, name)}' is not a field "
                    f"of source '{self.endpoint.name}': its declared schema "
                    f"('{self.endpoint.name}.schema.*') does not have it and no record does",
                    node.pos.line if node.pos else 0, node.pos.column if node.pos else 0,
                    hint=self._hint(name, fields))

    def _strike(self, batch) -> None:
        present = {n.lower(): c for n, c in zip(batch.names, batch.columns)}
        for name in [n for n in self.candidates if n in present]:
            if present[name].null_count() < batch.length:
                del self.candidates[name]

    @staticmethod
    def _hint(name, fields):
        close = difflib.get_close_matches(name, [f.lower() for f in fields], n=1, cutoff=0.5)
        if close:
            spelled = next(f for f in fields if f.lower() == close[0])
            return f"did you mean '{spelled}'?"
        return f"its fields: {', '.join(fields)}" if fields else None

    def report(self, where, sql_name) -> None:
        for name, node in (self.candidates or {}).items():
            hint = self._hint(name, self.known)
            at = f"{sql_name or '<query>'}:{node.pos.line}:{node.pos.column}" if node.pos else (
                sql_name or "<query>")
            log.warning("%s: column '%s': no record of %s has this field, so it is NULL in every "
                        "row%s", at, _spelled(node, name), where, f"; {hint}" if hint else "")


def _spelled(node, name: str) -> str:
    """``name`` as the query wrote it."""
    return next((p for p in node.parts if p.lower() == name), name)


def _attach_raw(failures, result, starts) -> None:
    """Gives each failure of a decoded row the bytes of its input record, so a dead-letter entry
    holds the whole record, not only the fields the query read (projection push-down). Only
    failing rows pay: the block is split into lines here, never on the hot path."""
    block = getattr(result, "block", None)
    if block is None or starts is None:
        return
    first = result.first_line
    # A record runs from its line to the line before the next record (CSV fields may hold line
    # breaks); records that did not decode start records too.
    started = collections.Counter(starts.to_pylist())
    started.update(e.line for e in result.errors)
    begins = sorted(started)
    lines = block.split(b"\n")
    for failure in failures:
        if failure.raw is not None or failure.line is None:
            continue
        if started[failure.line] > 1:
            # Several records start on this line (a compact JSON array): its bytes are not this
            # record's alone, and a replayed DLQ would repeat the others. The entry keeps the
            # fields the query read.
            continue
        at = bisect.bisect_right(begins, failure.line)
        end = begins[at] if at < len(begins) else first + len(lines)
        text = b"\n".join(lines[failure.line - first:end - first])
        failure.raw = text.rstrip(b"\r\n")


def _fill_event_time(batch, field_name, fmt, source, failures):
    """Sets ``_event_time``; a record whose field is missing, NULL or unreadable becomes a failure."""
    try:
        column = batch.column(field_name)
    except KeyError:
        column = None
    problems = {}           # row → why it has no event time
    if column is None:
        problems = dict.fromkeys(range(batch.length), f"has no event-time field {field_name!r}")
        times = B.null_column(batch.length)
    elif column.type_name in ("BIGINT", "TIMESTAMP") and fmt in ("epoch_millis", "epoch_seconds"):
        # The common case stays in a typed loop: no Python object per record.
        times, missing = B.epoch_column(column, 1000 if fmt == "epoch_seconds" else 1)
        for i in missing:
            value = column.get(i)
            problems[i] = (f"event-time field {field_name!r} is missing or NULL" if value is None else
                           f"event time {field_name}={value!r} is out of range for {fmt}")
    else:
        out = []
        for i, value in enumerate(column.to_pylist()):
            try:
                out.append(_parse_event_time(value, fmt))
            except (TypeError, ValueError, ArithmeticError) as err:
                out.append(None)
                problems[i] = (f"event-time field {field_name!r} is missing or NULL" if value is None else
                               f"event time {field_name}={value!r} is not {fmt}: {err}")
        times = B.int64_column(out, timestamp=True)
    batch.meta["_event_time"] = times
    if not problems:
        return batch
    lines = batch.meta.get("_line")
    for i, why in problems.items():
        line = lines.get(i) if lines is not None else None
        record = {n: c.get(i) for n, c in zip(batch.names, batch.columns)}
        failures.append(RowFailure(why, source, line, record, kind=EVENT_TIME_ERROR))
    bad = problems.keys()
    # A record without a readable event time is malformed: routed above, not processed.
    keep = [i not in bad for i in range(batch.length)]
    return batch.filter(B.bool_column(keep))


def _parse_event_time(value, fmt):
    """Epoch milliseconds (or a datetime) from one field value in ``fmt``."""
    if value is None:
        raise ValueError("NULL")
    if isinstance(value, dt.datetime):
        return value
    if fmt in ("epoch_millis", "epoch_seconds"):
        try:
            ms = Decimal(str(value).strip())
        except ArithmeticError:     # decimal's InvalidOperation: say it plainly
            raise ValueError("not a number") from None
        if not ms.is_finite() or ms.adjusted() > 18:
            raise ValueError("out of range (years 1..9999)")
        ms *= 1000 if fmt == "epoch_seconds" else 1
        if not MIN_EPOCH_MS <= ms <= MAX_EPOCH_MS:
            raise ValueError("out of range (years 1..9999)")
        return int(ms)
    if fmt == "iso8601":
        parsed = dt.datetime.fromisoformat(str(value))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return dt.datetime.strptime(str(value), fmt).replace(tzinfo=dt.UTC)
