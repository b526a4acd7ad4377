"""Watermarks: how far event time has got, per source, and what the job tells its operators.

Owns the watermark stage of a source (``WatermarkOperator``, after its event-time stage): the
watermark is the largest event time seen minus ``'<source>.watermark.max_out_of_orderness'``;
each row is marked with the watermark *before* it (``_watermark``), so whether a record is late
depends on the records before it, never on where a batch ends. With
``'watermark.idle_timeout'``, a source that has had no record for that long has its watermark
advanced by the processing time since its last record, so the windows of an idle stream still
close — only while the job follows its sources (``--continuous``) and a poll found nothing: a
bounded input closes every window at its end, and its results never depend on timing. ``JobWatermark`` combines the sources (the smallest watermark) and says when the job's
watermark advanced, which the job loop then delivers to the operators (``on_watermark``).
"""

from __future__ import annotations

import time

from velostream._core.windows import NO_WATERMARK, prefix_watermarks
from velostream.runtime.operators import Operator, Output

T_INT64, T_TIMESTAMP = 2, 6     # batch.pxd ColumnType tags


def _now_ms() -> int:
    return time.monotonic_ns() // 1_000_000


class WatermarkOperator(Operator):
    name = "Watermark"

    def __init__(self, node, clock=_now_ms):
        self.max_out_of_orderness = node.max_out_of_orderness
        self.idle_timeout = node.idle_timeout
        self.clock = clock
        self.time_column = node.time_column
        self.max_time = NO_WATERMARK
        self.last_arrival = None        # processing time (ms) of the last record

    def _times(self, batch):
        if self.time_column is None:
            return batch.meta.get("_event_time")
        # TUMBLING(ts, …): event time is the window's column; rows it fails on are reported
        # by the aggregate (here they only do not move the watermark)
        times = self.time_column.evaluate(batch, [])
        return times if times.type in (T_INT64, T_TIMESTAMP) else None

    def process(self, batch) -> Output:
        out = Output()
        times = self._times(batch) if batch.length else None
        if times is not None and batch.length:
            marks, self.max_time = prefix_watermarks(times, self.max_time,
                                                     self.max_out_of_orderness)
            batch.meta["_watermark"] = marks
            self.last_arrival = self.clock()
        out.add(batch)
        return out

    def current(self, idle: bool = False, now: int | None = None) -> int:
        """The watermark now: NO_WATERMARK before any record; with ``idle`` (the source had
        nothing to give) and past the idle timeout it moves on with processing time."""
        if self.max_time == NO_WATERMARK:
            return NO_WATERMARK
        mark = self.max_time - self.max_out_of_orderness
        if idle and self.idle_timeout is not None and self.last_arrival is not None:
            idle = (self.clock() if now is None else now) - self.last_arrival
            if idle >= self.idle_timeout:
                mark += idle
        return mark


class JobWatermark:
    """The job's watermark: the smallest of its sources' (a source without a watermark stage
    does not hold it back)."""

    def __init__(self, stages):
        self.stages = [s for s in stages if s is not None]
        self.delivered = NO_WATERMARK

    @property
    def active(self) -> bool:
        return bool(self.stages)

    def advanced(self, idle: bool = False) -> int | None:
        """The new watermark when it moved past the one delivered last, else None. ``idle``:
        the sources had nothing to give (only then does processing time count)."""
        if not self.stages:
            return None
        mark = min(s.current(idle) for s in self.stages)
        if mark == NO_WATERMARK or mark <= self.delivered:
            return None
        self.delivered = mark
        return mark
