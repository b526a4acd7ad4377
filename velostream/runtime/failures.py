"""Failure strategies: what happens to a record that cannot be decoded or computed.

Owns the four strategies of DIALECT §7 — ``LogAndContinue`` (log it, count it, go on),
``FailBatch`` (stop the job with an error naming the record), ``RetryWithBackoff`` (process the
batch again up to ``max_retries`` times, then fail) and ``SendToDLQ`` (write the record and the
reason to the dead-letter sink, ``dlq.path``). Every failed record is counted; none is dropped
without one of these.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import orjson

from velostream.connectors.file import open_file
from velostream.errors import ConfigError, VelostreamError

log = logging.getLogger("velostream.job")

# Log the first few failures in full and only count the rest, so a bad file cannot flood the log;
# the end-of-run summary says how many were not shown.
LOG_FIRST = 20

DECODE_ERROR = "decode error"
EVENT_TIME_ERROR = "event-time error"
LATE = "late"      # a record whose windows had all closed (DIALECT §5)
# Expression failures by kind, recognised from the kernels' messages (first match wins).
_EXPRESSION_KINDS = (("division by zero", "division by zero"), ("overflow", "overflow"),
                     ("out of range", "out of range"), ("cast", "bad CAST"),
                     ("does not fit", "out of range"))


def failure_kind(message: str) -> str:
    """The reason an expression failed, for the counts: 'division by zero', 'bad CAST', …"""
    text = message.lower()
    for needle, kind in _EXPRESSION_KINDS:
        if needle in text:
            return kind
    return "expression error"


def summary_line(job_name: str, metrics) -> str:
    """One line for the end of a run in which records failed: in, out, failed by reason,
    dead-lettered and the failures not logged."""
    reasons = ", ".join(f"{kind}: {n}" for kind, n in sorted(
        metrics.failed_by_reason.items(), key=lambda item: (-item[1], item[0])))
    text = (f"{job_name}: {metrics.records_in} records in, {metrics.records_out} out, "
            f"{metrics.records_failed} failed ({reasons})")
    if metrics.records_dead_lettered:
        text += f", {metrics.records_dead_lettered} dead-lettered"
    if metrics.failures_not_shown:
        text += f"; … {metrics.failures_not_shown} more failures not shown"
    return text


@dataclass
class RowFailure:
    """A record that could not be processed, with where it came from and why.

    Operators set ``line`` (the record's input line, from ``batch.meta["_line"]``) and
    ``record`` (the fields the query read); the job loop adds ``source``, ``location`` (a
    ``connectors.base.Location``: path, line, byte offset …) and ``raw`` (the input bytes) from
    the source batch the row came from.
    """

    message: str
    source: str | None = None
    line: int | None = None
    record: dict | None = None      # the decoded fields the query read, when there are some
    raw: bytes | None = None        # the input record's bytes, when the source has them
    kind: str = ""                  # the reason, for the counts (default: from the message)
    location: object = None         # where the record is, when the source can say

    def __post_init__(self):
        if not self.kind:
            self.kind = failure_kind(self.message)

    def where(self) -> str:
        if self.location is not None:
            return str(self.location)
        if self.source and self.line:
            return f"{self.source}:{self.line}"
        return self.source or "<input>"


class JobFailed(VelostreamError):
    """The job stopped because of a record and its failure strategy."""


class FailureRouter:
    def __init__(self, plan, metrics):
        self.strategy = plan.failure_strategy
        self.max_retries = plan.setting("max_retries")
        self.backoff_ms = plan.setting("retry_backoff")
        self.metrics = metrics
        self._dlq = None
        # Late records (kind "late") follow 'late.data.strategy', not the failure strategy: a
        # record arriving after its window closed is expected in a stream, not an error.
        self.late_strategy = plan.setting("late.data.strategy")
        if self.strategy == "SendToDLQ" or self.late_strategy == "dead_letter":
            path = plan.setting("dlq.path")
            if not path:
                topic = plan.setting("dlq.topic")
                who = ("SendToDLQ" if self.strategy == "SendToDLQ" else
                       "late.data.strategy = 'dead_letter'")
                raise ConfigError(
                    f"{who} needs 'dlq.path' (a file)" + (
                        "; 'dlq.topic' needs Kafka, which this build does not have yet" if topic else ""),
                    key="dlq.path")
            self._dlq_path = str(path)
            self._dlq = open_file(self._dlq_path, "ab", "dlq.path")  # closed in close()

    @property
    def retries(self) -> bool:
        return self.strategy == "RetryWithBackoff"

    def backoff_seconds(self, attempt: int) -> float:
        return self.backoff_ms / 1000.0 * (2 ** attempt)

    def handle(self, failures, job_name: str) -> None:
        """Route ``failures`` (RowFailure) by the strategy; raises JobFailed for FailBatch."""
        if not failures:
            return
        late = [f for f in failures if f.kind == LATE]
        if late:
            self._late(late, job_name)
            failures = [f for f in failures if f.kind != LATE]
            if not failures:
                return
        self.metrics.records_failed += len(failures)
        counts = self.metrics.failed_by_reason
        for failure in failures:
            counts[failure.kind] = counts.get(failure.kind, 0) + 1
        first = failures[0]
        if self.strategy in ("FailBatch", "RetryWithBackoff"):
            more = f" (and {len(failures) - 1} more in the batch)" if len(failures) > 1 else ""
            raise JobFailed(f"job {job_name}: record at {first.where()} failed: {first.message}"
                            f"{more}; failure_strategy={self.strategy} stops the job")
        if self.strategy == "SendToDLQ":
            self._dead_letter(failures, job_name)
        self._log(failures, "sent to the dead-letter file" if self.strategy == "SendToDLQ"
                  else "skipped")

    def _late(self, late, job_name: str) -> None:
        """Late records: counted (reason "late"), then dropped or dead-lettered."""
        self.metrics.records_failed += len(late)
        self.metrics.records_late += len(late)
        counts = self.metrics.failed_by_reason
        counts[LATE] = counts.get(LATE, 0) + len(late)
        if self.late_strategy == "dead_letter":
            self._dead_letter(late, job_name)
        self._log(late, "sent to the dead-letter file" if self.late_strategy == "dead_letter"
                  else "dropped")

    def _dead_letter(self, failures, job_name: str) -> None:
        lines = []
        for failure in failures:
            entry = {"job": job_name, "source": failure.source, "line": failure.line,
                     "error": failure.message, "failed_at": int(time.time() * 1000)}
            if failure.kind == LATE:
                entry["reason"] = LATE
            offset = getattr(failure.location, "byte_offset", None)
            if offset is not None:
                entry["byte_offset"] = offset
            if failure.record is not None:
                entry["record"] = failure.record
            if failure.raw is not None:
                entry["raw"] = failure.raw.decode("utf-8", "replace")
            lines.append(orjson.dumps(entry, default=str))
        self._dlq.write(b"\n".join(lines) + b"\n")
        self._dlq.flush()
        self.metrics.records_dead_lettered += len(failures)

    def _log(self, failures, action: str) -> None:
        before = self.metrics.records_failed - len(failures)
        shown = self.metrics.records_failed_logged
        room = max(0, LOG_FIRST - shown)
        for i, failure in enumerate(failures[:room], 1):
            log.warning("%s: %s (%s; %d failed so far)", failure.where(), failure.message,
                        action, before + i)
        if len(failures) > room and shown + room == LOG_FIRST and shown < LOG_FIRST:
            log.warning("more than %d records failed; the others are counted, not shown",
                        LOG_FIRST)
        self.metrics.records_failed_logged = shown + min(room, len(failures))
        self.metrics.failures_not_shown += len(failures) - min(room, len(failures))

    def commit_dead_letters(self) -> int | None:
        """Flush and fsync the dead-letter file; its length, which a checkpoint records (None:
        no dead-letter file)."""
        if self._dlq is None:
            return None
        self._dlq.flush()
        os.fsync(self._dlq.fileno())
        return self._dlq.tell()

    def resume_dead_letters(self, length: int) -> None:
        """Cut the dead-letter file back to what a checkpoint committed: the entries after it
        are written again by the resumed run, once."""
        if self._dlq is not None and length is not None:
            size = os.fstat(self._dlq.fileno()).st_size
            if size < length:
                raise ConfigError(f"{self._dlq_path} has {size} bytes, but the job's checkpoint "
                                  f"committed {length} bytes of it: it was changed outside the "
                                  "job; run with --reset-state to start over", key="dlq.path")
            self._dlq.truncate(length)
            self._dlq.seek(length)

    def close(self) -> None:
        if self._dlq is not None:
            self._dlq.close()
            self._dlq = None
