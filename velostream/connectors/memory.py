"""In-memory endpoints: a source fed batch by batch and a sink that collects what it is given.

Owns the connectors ``StreamApp.process`` runs a job through (records handed over in Python,
rows handed back), so the in-process path is the same job as a file or Kafka run.
"""

from __future__ import annotations

from collections import deque


class MemoryBatch:
    """A batch handed to a MemorySource, as a source batch (no bytes, no file position)."""

    __slots__ = ("batch", "errors", "label", "position")

    def __init__(self, batch, label, position):
        self.batch = batch
        self.errors = []
        self.label = label
        self.position = position

    def location_of(self, row):
        return None

    def raw_of(self, rows):
        return [None] * len(rows)


class MemorySource:
    """``put(batch)`` queues a batch; ``poll`` hands them over in order. Its position is the
    number of batches handed over."""

    bounded = False
    size = None

    def __init__(self, name: str):
        self.name = name
        self.path = None
        self._queue: deque = deque()
        self._closed = False
        self._handed = 0

    def put(self, batch, label: str | None = None) -> None:
        self._queue.append((batch, label))

    def open(self) -> None:
        pass

    def poll(self, timeout: float = 0):
        if not self._queue:
            return None
        batch, label = self._queue.popleft()
        self._handed += 1
        # Failures of these rows are located by the caller's label, else "<input>".
        self.path = label
        return MemoryBatch(batch, label, self._handed)

    @property
    def exhausted(self) -> bool:
        return self._closed and not self._queue

    def position(self):
        return self._handed

    def seek(self, position) -> None:
        raise NotImplementedError("an in-memory source cannot go back")

    def commit(self, position) -> None:
        pass

    def field_names(self, polled) -> list[str]:
        return list(polled.batch.names)

    def close(self) -> None:
        self._closed = True


class CollectingSink:
    """Keeps the batches written to it until ``take()``."""

    name = "collect"

    def __init__(self):
        self._batches: list = []

    def open(self) -> None:
        pass

    def write(self, batch) -> None:
        if batch is not None and batch.length:
            self._batches.append(batch)

    def take(self):
        """The rows written since the last take, as one RecordBatch (None when none)."""
        batches, self._batches = self._batches, []
        if not batches:
            return None
        if len(batches) == 1:
            return batches[0]
        from velostream._core.batch import RecordBatch

        names = list(batches[0].names)
        return RecordBatch.from_pylist([row for b in batches for row in b.to_pylist()], names)

    def flush(self) -> None:
        pass

    def commit(self) -> None:
        pass

    def close(self) -> None:
        pass
