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

import orjson

from velostream.errors import ConfigError, VelostreamError

log = logging.getLogger("velostream.job")

# Log the first few failures in full, then one in this many, so a bad file cannot flood the log.
_LOG_FIRST = 20
_LOG_EVERY = 1000


class JobFailed(VelostreamError):
    """The job stopped because of a record and its failure strategy."""


class FailureRouter:
    def __init__(self, plan, metrics):
        self.strategy = plan.failure_strategy
        self.max_retries = plan.integer("max_retries", 3)
        self.backoff_ms = plan.integer("retry_backoff", 1000)
        self.metrics = metrics
        self._dlq = None
        if self.strategy == "SendToDLQ":
            path = plan.properties.get("dlq.path")
            if not path:
                topic = plan.properties.get("dlq.topic")
                raise ConfigError(
                    "SendToDLQ needs 'dlq.path' (a file)" + (
                        "; 'dlq.topic' needs Kafka, which this build does not have yet" if topic else ""),
                    key="dlq.path")
            self._dlq_path = str(path)
            directory = os.path.dirname(self._dlq_path)
            if directory:
                os.makedirs(directory, exist_ok=True)
            self._dlq = open(self._dlq_path, "ab")  # noqa: SIM115 - closed in close()

    @property
    def retries(self) -> bool:
        return self.strategy == "RetryWithBackoff"

    def backoff_seconds(self, attempt: int) -> float:
        return self.backoff_ms / 1000.0 * (2 ** attempt)

    def handle(self, failures, job_name: str) -> None:
        """Route ``failures`` (RowFailure) by the strategy; raises JobFailed for FailBatch."""
        if not failures:
            return
        self.metrics.records_failed += len(failures)
        first = failures[0]
        if self.strategy in ("FailBatch", "RetryWithBackoff"):
            more = f" (and {len(failures) - 1} more in the batch)" if len(failures) > 1 else ""
            raise JobFailed(f"job {job_name}: record at {first.location()} failed: {first.message}"
                            f"{more}; failure_strategy={self.strategy} stops the job")
        if self.strategy == "SendToDLQ":
            lines = []
            for failure in failures:
                entry = {"job": job_name, "source": failure.source, "line": failure.line,
                         "error": failure.message, "failed_at": int(time.time() * 1000)}
                if failure.record is not None:
                    entry["record"] = failure.record
                if failure.raw is not None:
                    entry["raw"] = failure.raw.decode("utf-8", "replace")
                lines.append(orjson.dumps(entry, default=str))
            self._dlq.write(b"\n".join(lines) + b"\n")
            self._dlq.flush()
            self.metrics.records_dead_lettered += len(failures)
        before = self.metrics.records_failed - len(failures)
        for i, failure in enumerate(failures, 1):
            n = self.metrics.records_failed_logged = self.metrics.records_failed_logged + 1
            if n <= _LOG_FIRST or n % _LOG_EVERY == 0:
                action = "sent to the dead-letter file" if self._dlq else "skipped"
                log.warning("%s: %s (%s; %d failed so far)", failure.location(), failure.message,
                            action, before + i)

    def close(self) -> None:
        if self._dlq is not None:
            self._dlq.close()
            self._dlq = None
