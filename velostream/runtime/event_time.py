"""The event-time stage of a source: sets each row's ``_event_time``.

Owns reading ``'<source>.event.time.field'`` in ``'<source>.event.time.format'`` (epoch_millis,
epoch_seconds, iso8601 or a strftime pattern) into the ``_event_time`` pseudo-column, and, when
no field is configured, using the record timestamp (``_timestamp``). A record whose field is
missing, NULL or unreadable is malformed: it becomes a RowFailure ("event-time error") and is
not processed further.
"""

from __future__ import annotations

from velostream._core import batch as B
from velostream._core.textparse import NULL_REASON, RANGE_REASON, parse_event_times
from velostream.runtime.failures import EVENT_TIME_ERROR, RowFailure
from velostream.runtime.operators import Operator, Output


class EventTimeOperator(Operator):
    name = "EventTime"

    def __init__(self, node):
        self.field = node.field
        self.fmt = node.fmt

    def process(self, batch) -> Output:
        out = Output()
        if self.field is None:
            stamp = batch.meta.get("_timestamp")
            if stamp is not None:
                batch.meta.setdefault("_event_time", stamp)
            out.add(batch)
            return out
        out.add(_fill_event_time(batch, self.field, self.fmt, out.failures))
        return out


def _fill_event_time(batch, field_name, fmt, failures):
    """Sets ``_event_time``; a record whose field is missing, NULL or unreadable becomes a failure.
    The times are read by the one timestamp parser (``_core.textparse``), in a typed loop for
    the common column types."""
    try:
        column = batch.column(field_name)
    except KeyError:
        column = None
    if column is None:
        problems = dict.fromkeys(range(batch.length), f"has no event-time field {field_name!r}")
        times = B.null_column(batch.length)
    else:
        times, reasons = parse_event_times(column, fmt)
        problems = {}
        for i, reason in reasons.items():
            if reason == NULL_REASON:
                problems[i] = f"event-time field {field_name!r} is missing or NULL"
            elif reason == RANGE_REASON:
                problems[i] = (f"event time {field_name}={column.get(i)!r} is out of range for "
                               f"{fmt} (years 1..9999)")
            else:
                problems[i] = f"event time {field_name}={column.get(i)!r} is not {fmt}: {reason}"
    batch.meta["_event_time"] = times
    if not problems:
        return batch
    lines = batch.meta.get("_line")
    for i, why in problems.items():
        line = lines.get(i) if lines is not None else None
        record = {n: c.get(i) for n, c in zip(batch.names, batch.columns)}
        failures.append(RowFailure(why, line=line, record=record, kind=EVENT_TIME_ERROR))
    bad = problems.keys()
    # A record without a readable event time is malformed: routed above, not processed.
    keep = [i not in bad for i in range(batch.length)]
    return batch.filter(B.bool_column(keep))
