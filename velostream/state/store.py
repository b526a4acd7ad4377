"""The state-store interface and its in-memory backend.

A :class:`StateStore` holds named tables (one per operator: a RocksDB column family, a SQLite
table), each mapping bytes keys to bytes values. Operators encode their own keys and values
(``_core.rowkeys`` for grouping keys); the store knows nothing of their meaning. Reads are point
lookups and ordered prefix scans; writes go through a :class:`WriteBatch` that is applied
atomically — all of it or none —, which is what a checkpoint needs to keep state and source
positions consistent. ``operator.snapshot(store)`` / ``operator.restore(store)`` read and write
through this interface.
"""

from __future__ import annotations

import bisect
from abc import ABC, abstractmethod
from collections.abc import Iterator


class StateTable(ABC):
    """One operator's keys and values."""

    name: str

    @abstractmethod
    def get(self, key: bytes) -> bytes | None: ...

    @abstractmethod
    def scan(self, prefix: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        """``(key, value)`` of every key starting with ``prefix``, in byte order."""

    def __contains__(self, key: bytes) -> bool:
        return self.get(key) is not None


class WriteBatch:
    """Puts and deletes across tables, applied together by ``StateStore.write``."""

    def __init__(self):
        self.ops: list[tuple[str, bytes, bytes | None]] = []

    def put(self, table: str, key: bytes, value: bytes) -> None:
        self.ops.append((table, bytes(key), bytes(value)))

    def delete(self, table: str, key: bytes) -> None:
        self.ops.append((table, bytes(key), None))

    def __len__(self) -> int:
        return len(self.ops)


class StateStore(ABC):
    """Named tables with atomic write batches. ``close()`` releases the backend."""

    @abstractmethod
    def table(self, name: str) -> StateTable:
        """The table ``name`` (created empty when it does not exist)."""

    @abstractmethod
    def write(self, batch: WriteBatch) -> None:
        """Apply every put and delete of ``batch``, atomically."""

    def put(self, table: str, key: bytes, value: bytes) -> None:
        batch = WriteBatch()
        batch.put(table, key, value)
        self.write(batch)

    def delete(self, table: str, key: bytes) -> None:
        batch = WriteBatch()
        batch.delete(table, key)
        self.write(batch)

    def close(self) -> None:
        """Nothing to release for the memory backend."""


class _MemoryTable(StateTable):
    def __init__(self, name: str):
        self.name = name
        self.data: dict[bytes, bytes] = {}
        self._sorted: list[bytes] | None = None      # keys in order, rebuilt after writes

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(bytes(key))

    def scan(self, prefix: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        if self._sorted is None:
            self._sorted = sorted(self.data)
        keys = self._sorted
        i = bisect.bisect_left(keys, prefix)
        while i < len(keys) and keys[i].startswith(prefix):
            yield keys[i], self.data[keys[i]]
            i += 1

    def __len__(self) -> int:
        return len(self.data)


class MemoryStore(StateStore):
    """State in Python dicts: for bounded runs and tests (nothing survives the process)."""

    def __init__(self):
        self._tables: dict[str, _MemoryTable] = {}

    def table(self, name: str) -> StateTable:
        found = self._tables.get(name)
        if found is None:
            found = self._tables[name] = _MemoryTable(name)
        return found

    def write(self, batch: WriteBatch) -> None:
        # Validated before anything is applied, so a bad batch changes nothing.
        for table, key, value in batch.ops:
            if not isinstance(table, str) or not table:
                raise ValueError(f"a table name must be a non-empty string; got {table!r}")
        for table, key, value in batch.ops:
            target = self.table(table)
            if value is None:
                target.data.pop(key, None)
            else:
                target.data[key] = value
            target._sorted = None

    def tables(self) -> list[str]:
        return sorted(self._tables)
