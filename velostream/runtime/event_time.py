"""The event-time stage of a source: sets each row's ``_event_time``.

Owns reading ``'<source>.event.time.field'`` in ``'<source>.event.time.format'`` (epoch_millis,
epoch_seconds, iso8601 or a strftime pattern) into the ``_event_time`` pseudo-column, and, when
no field is configured, using the record timestamp (``_timestamp``). A record whose field is
missing, NULL or unreadable is malformed: it becomes a RowFailure ("event-time error") and is
not processed further.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from velostream._core import batch as B
from velostream._core.batch import MAX_EPOCH_MS, MIN_EPOCH_MS
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
        failures.append(RowFailure(why, line=line, record=record, kind=EVENT_TIME_ERROR))
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
