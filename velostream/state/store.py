"""The state-store interface and its in-memory backend.

A :class:`StateStore` holds named tables (one per operator: a RocksDB column family, a SQLite
key range), each mapping bytes keys to bytes values. Operators encode their own keys and values
(``state.keycodec`` for ordered keys, ``state.valuecodec`` for values); the store knows nothing of
their meaning.

The contract every backend passes (``tests/state/test_contract.py``):

- reads: ``table.get(key)`` (``get_many(keys)``: a list, None for a missing key),
  ``table.scan(prefix)`` and ``table.range(start, end)`` (``[start,
  end)``, ``end=None``: to the last key), both in unsigned byte order; a scan sees the writes
  made before it started (writes made while it is being consumed may or may not be seen);
- writes: ``put`` / ``delete`` / ``delete_range`` directly or gathered in a :class:`WriteBatch`
  that ``write`` applies atomically — all of it or none (a bad batch changes nothing);
- ``commit(batch=None)``: ``batch`` is applied (atomically) and everything written before is
  durable once it returns (it survives kill -9); a crash during it leaves the state of this
  commit or of the one before, never a mix.
  Reopening a durable store after a crash, or after ``close()`` without ``commit()``, shows
  exactly the state of the last commit: writes after it are *discarded*, never half-kept. That is
  what lets a bounded cache spill dirty state between checkpoints without a crash leaving state
  that is newer than the source positions committed with it;
- ``snapshot()`` / ``restore(snapshot)``: a copy of every table, and putting one back (tables
  not in it are emptied). It is an in-memory copy, for tests and small stores; checkpoints use
  ``commit()``;
- ``close()`` releases files and locks; the store is unusable afterwards.
"""

from __future__ import annotations

import bisect
from abc import ABC, abstractmethod
from collections.abc import Iterator

PUT, DELETE, DELETE_RANGE = 0, 1, 2

# Scans of durable backends read this many entries per seek, so that no backend iterator or
# cursor stays open between two ``next()`` of a scan (an abandoned scan holds nothing).
SCAN_CHUNK = 1024


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest key greater than every key starting with ``prefix`` (None: no such key)."""
    p = bytearray(prefix)
    while p and p[-1] == 0xFF:
        p.pop()
    if not p:
        return None
    p[-1] += 1
    return bytes(p)


class StateTable(ABC):
    """One operator's keys and values, in a store."""

    name: str
    store: StateStore

    @abstractmethod
    def get(self, key: bytes) -> bytes | None: ...

    def get_many(self, keys: list[bytes]) -> list[bytes | None]:
        """``get`` of each key, in order (a backend may read them in one call)."""
        return [self.get(key) for key in keys]

    @abstractmethod
    def range(self, start: bytes = b"", end: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """``(key, value)`` of every key in ``[start, end)``, in byte order."""

    def scan(self, prefix: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        """``(key, value)`` of every key starting with ``prefix``, in byte order."""
        return self.range(prefix, prefix_end(prefix))

    def put(self, key: bytes, value: bytes) -> None:
        self.store.put(self.name, key, value)

    def delete(self, key: bytes) -> None:
        self.store.delete(self.name, key)

    def delete_range(self, start: bytes = b"", end: bytes | None = None) -> None:
        self.store.delete_range(self.name, start, end)

    def __contains__(self, key: bytes) -> bool:
        return self.get(key) is not None


class WriteBatch:
    """Puts and deletes across tables, applied together (in order) by ``StateStore.write``."""

    __slots__ = ("ops",)

    def __init__(self):
        # (kind, table, key, value): value is the bytes of a PUT, the end key of a DELETE_RANGE
        # (None: to the last key), None for a DELETE.
        self.ops: list[tuple[int, str, bytes, bytes | None]] = []

    def put(self, table: str, key: bytes, value: bytes) -> None:
        self.ops.append((PUT, table, bytes(key), bytes(value)))

    def delete(self, table: str, key: bytes) -> None:
        self.ops.append((DELETE, table, bytes(key), None))

    def delete_range(self, table: str, start: bytes = b"", end: bytes | None = None) -> None:
        self.ops.append((DELETE_RANGE, table, bytes(start), None if end is None else bytes(end)))

    def __len__(self) -> int:
        return len(self.ops)


def check_batch(batch: WriteBatch) -> None:
    """Raise ``ValueError`` / ``TypeError`` for a batch a backend must refuse (before applying any of it)."""
    for kind, table, key, value in batch.ops:
        if not isinstance(table, str) or not table:
            raise ValueError(f"a table name must be a non-empty string; got {table!r}")
        if not isinstance(key, bytes):
            raise TypeError(f"a state key must be bytes; got {type(key).__name__}")
        if kind == PUT:
            if not isinstance(value, bytes):
                raise TypeError(f"a state value must be bytes; got {type(value).__name__}")
        elif kind == DELETE_RANGE:
            if value is not None and not isinstance(value, bytes):
                raise TypeError(f"a range end must be bytes or None; got {type(value).__name__}")
        elif kind != DELETE:
            raise ValueError(f"unknown write-batch operation {kind!r}")


class Snapshot:
    """Every table of a store at one moment: ``tables[name] = [(key, value), ...]`` in order."""

    __slots__ = ("tables",)

    def __init__(self, tables: dict[str, list[tuple[bytes, bytes]]]):
        self.tables = tables


class StateStore(ABC):
    """Named tables with atomic write batches and a durable ``commit``."""

    #: True when committed state survives the process (RocksDB, SQLite).
    durable: bool = False
    #: The ``state.backend`` name.
    backend: str = ""

    @abstractmethod
    def table(self, name: str) -> StateTable:
        """The table ``name`` (created empty when it does not exist)."""

    @abstractmethod
    def tables(self) -> list[str]:
        """The names of the tables created so far, sorted."""

    @abstractmethod
    def write(self, batch: WriteBatch) -> None:
        """Apply every operation of ``batch``, in order, atomically."""

    @abstractmethod
    def commit(self, batch: WriteBatch | None = None) -> None:
        """Apply ``batch`` (atomically, as ``write``) and make everything written so far
        durable (see the module docstring). Passing the last writes here rather than to
        ``write`` lets RocksDB commit with one synced write instead of a checkpoint."""

    def put(self, table: str, key: bytes, value: bytes) -> None:
        batch = WriteBatch()
        batch.put(table, key, value)
        self.write(batch)

    def delete(self, table: str, key: bytes) -> None:
        batch = WriteBatch()
        batch.delete(table, key)
        self.write(batch)

    def delete_range(self, table: str, start: bytes = b"", end: bytes | None = None) -> None:
        batch = WriteBatch()
        batch.delete_range(table, start, end)
        self.write(batch)

    def snapshot(self) -> Snapshot:
        return Snapshot({name: list(self.table(name).range()) for name in self.tables()})

    def restore(self, snapshot: Snapshot) -> None:
        """Make the store hold exactly ``snapshot`` (one atomic batch; not committed)."""
        batch = WriteBatch()
        for name in sorted(set(self.tables()) | set(snapshot.tables)):
            batch.delete_range(name)
            for key, value in snapshot.tables.get(name, ()):
                batch.put(name, key, value)
        self.write(batch)

    def close(self) -> None:
        """Release the backend (nothing to release for the memory backend)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _MemoryTable(StateTable):
    def __init__(self, store: MemoryStore, name: str):
        self.store = store
        self.name = name
        self.data: dict[bytes, bytes] = {}
        self._sorted: list[bytes] | None = None      # keys in order, rebuilt after writes

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(bytes(key))

    def range(self, start: bytes = b"", end: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        if self._sorted is None:
            self._sorted = sorted(self.data)
        keys = self._sorted
        i = bisect.bisect_left(keys, start)
        stop = len(keys) if end is None else bisect.bisect_left(keys, end)
        return self._iterate(keys, i, stop)

    def _iterate(self, keys, i, stop):
        data = self.data
        while i < stop:
            value = data.get(keys[i])
            if value is not None:        # deleted while the scan was consumed
                yield keys[i], value
            i += 1

    def __len__(self) -> int:
        return len(self.data)


class MemoryStore(StateStore):
    """State in Python dicts: for bounded runs and tests (nothing survives the process)."""

    backend = "memory"

    def __init__(self):
        self._tables: dict[str, _MemoryTable] = {}

    def table(self, name: str) -> StateTable:
        found = self._tables.get(name)
        if found is None:
            if not isinstance(name, str) or not name:
                raise ValueError(f"a table name must be a non-empty string; got {name!r}")
            found = self._tables[name] = _MemoryTable(self, name)
        return found

    def write(self, batch: WriteBatch) -> None:
        check_batch(batch)          # before anything is applied, so a bad batch changes nothing
        for kind, table, key, value in batch.ops:
            target = self.table(table)
            if kind == PUT:
                target.data[key] = value
            elif kind == DELETE:
                target.data.pop(key, None)
            else:
                doomed = [k for k in target.data if k >= key and (value is None or k < value)]
                for k in doomed:
                    del target.data[k]
            target._sorted = None

    def commit(self, batch: WriteBatch | None = None) -> None:
        """Nothing to make durable."""
        if batch is not None:
            self.write(batch)

    def tables(self) -> list[str]:
        return sorted(self._tables)
