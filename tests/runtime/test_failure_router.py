"""The failure router on its own: each strategy, the counts, the log cap and the DLQ entry."""

import json
import logging
from dataclasses import dataclass

import pytest

from velostream.errors import ConfigError
from velostream.plan.bind import JobPlan
from velostream.runtime.failures import LOG_FIRST, FailureRouter, JobFailed, RowFailure
from velostream.runtime.job import JobMetrics


@dataclass(frozen=True)
class At:
    """A location as a source gives it."""

    path: str
    line: int
    byte_offset: int

    def __str__(self):
        return f"{self.path}:{self.line}"


def router(**props):
    plan = JobPlan("j", None, None, [], [], {k: str(v) for k, v in props.items()})
    metrics = JobMetrics()
    return FailureRouter(plan, metrics), metrics


def failures(n, kind=""):
    return [RowFailure("division by zero" if not kind else "bad", "in.jsonl", i + 1,
                       record={"a": i}, kind=kind) for i in range(n)]


def test_log_and_continue_counts_by_reason_and_caps_the_log(caplog):
    r, m = router()
    with caplog.at_level(logging.WARNING, "velostream.job"):
        r.handle(failures(LOG_FIRST + 5), "j")
        r.handle(failures(2, kind="decode error"), "j")
    assert m.records_failed == LOG_FIRST + 7
    assert m.failed_by_reason == {"division by zero": LOG_FIRST + 5, "decode error": 2}
    assert m.failures_not_shown == 7
    shown = [rec for rec in caplog.records if "failed so far" in rec.getMessage()]
    assert len(shown) == LOG_FIRST and "in.jsonl:1" in shown[0].getMessage()


@pytest.mark.parametrize("strategy", ["FailBatch", "RetryWithBackoff", "fail_batch"])
def test_failing_strategies_stop_the_job_naming_the_record(strategy):
    r, m = router(failure_strategy=strategy)
    with pytest.raises(JobFailed, match=r"record at in\.jsonl:1 failed: division by zero "
                                        r"\(and 2 more in the batch\)"):
        r.handle(failures(3), "j")
    assert m.records_failed == 3


def test_the_location_a_source_gives_is_what_is_shown():
    r, _ = router(failure_strategy="FailBatch")
    failure = RowFailure("bad", "ignored", 9, location=At("data/x.csv", 7, 120))
    with pytest.raises(JobFailed, match=r"data/x\.csv:7"):
        r.handle([failure], "j")


def test_send_to_dlq_writes_one_entry_per_record(tmp_path):
    dlq = tmp_path / "deep" / "dlq.jsonl"
    r, m = router(failure_strategy="SendToDLQ", **{"dlq.path": dlq})
    located = RowFailure("bad CAST", "x.csv", 7, record={"a": "q"}, raw=b"q,1",
                         location=At("x.csv", 7, 120))
    r.handle([located, *failures(1)], "j")
    r.close()
    entries = [json.loads(x) for x in dlq.read_text().splitlines()]
    assert [(e["line"], e["error"]) for e in entries] == [(7, "bad CAST"), (1, "division by zero")]
    assert entries[0]["raw"] == "q,1" and entries[0]["byte_offset"] == 120
    assert entries[0]["record"] == {"a": "q"} and "byte_offset" not in entries[1]
    assert m.records_dead_lettered == 2


def test_send_to_dlq_without_a_path_names_the_key():
    with pytest.raises(ConfigError) as err:
        router(failure_strategy="SendToDLQ")
    assert err.value.key == "dlq.path"


def test_retry_backoff_doubles_from_retry_backoff():
    r, _ = router(failure_strategy="RetryWithBackoff", retry_backoff="200ms", max_retries=4)
    assert r.retries and r.max_retries == 4
    assert [r.backoff_seconds(i) for i in range(3)] == [0.2, 0.4, 0.8]


def test_an_unknown_strategy_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="LogAndContinue, FailBatch"):
        router(failure_strategy="Ignore")
