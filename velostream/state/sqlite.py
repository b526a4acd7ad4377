"""The SQLite state backend (sqlite3, WAL journal).

One file, ``<path>/state.sqlite``: ``kv(t, k, v)`` (``PRIMARY KEY (t, k)``, WITHOUT ROWID, so
each table's keys are clustered and in BLOB = memcmp order, which is the store's byte order)
and ``state_tables(name)`` listing the tables (a table with no keys still exists).

The connection keeps one transaction open; ``commit()`` commits it and opens the next. Writes
between commits (a batch, a spill of the bounded cache) are visible to this store's reads but
roll back if the process dies — the store contract: after a crash the state is the last
commit's. Each ``write`` runs in a SAVEPOINT, so a failing batch leaves nothing behind.

``synchronous = FULL``: in WAL mode NORMAL would already survive kill -9 (the WAL is in the OS
page cache), but not a power loss or kernel crash; FULL fsyncs the WAL at each commit. Commits
are checkpoints, seconds apart, so one fsync per commit costs nothing noticeable and a
checkpoint is durable in the same sense as the RocksDB backend's (whose commits are fsynced).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator

from velostream.state.store import (
    DELETE,
    PUT,
    SCAN_CHUNK,
    StateStore,
    StateTable,
    WriteBatch,
    check_batch,
)

FILE_NAME = "state.sqlite"


class _SQLiteTable(StateTable):
    def __init__(self, store: SQLiteStore, name: str):
        self.store = store
        self.name = name

    def get(self, key: bytes) -> bytes | None:
        row = self.store._conn.execute("SELECT v FROM kv WHERE t = ? AND k = ?",
                                       (self.name, key)).fetchone()
        return None if row is None else row[0]

    def range(self, start: bytes = b"", end: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        return self._chunks(bytes(start), end)

    def _chunks(self, start, end):
        conn = self.store._conn
        op = ">="
        while True:
            if end is None:
                rows = conn.execute(f"SELECT k, v FROM kv WHERE t = ? AND k {op} ? "
                                    "ORDER BY k LIMIT ?", (self.name, start, SCAN_CHUNK)).fetchall()
            else:
                rows = conn.execute(f"SELECT k, v FROM kv WHERE t = ? AND k {op} ? AND k < ? "
                                    "ORDER BY k LIMIT ?",
                                    (self.name, start, end, SCAN_CHUNK)).fetchall()
            yield from rows
            if len(rows) < SCAN_CHUNK:
                return
            start, op = rows[-1][0], ">"


class SQLiteStore(StateStore):
    """State in ``<path>/state.sqlite`` (created when missing)."""

    durable = True
    backend = "sqlite"

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        os.makedirs(self.path, exist_ok=True)
        self.file = os.path.join(self.path, FILE_NAME)
        # isolation_level=None: this class issues BEGIN / COMMIT itself.
        self._conn = sqlite3.connect(self.file, isolation_level=None)
        mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise sqlite3.OperationalError(f"{self.file}: WAL journal refused ({mode!r})")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS kv (t TEXT NOT NULL, k BLOB NOT NULL, "
                           "v BLOB NOT NULL, PRIMARY KEY (t, k)) WITHOUT ROWID")
        self._conn.execute("CREATE TABLE IF NOT EXISTS state_tables (name TEXT PRIMARY KEY)")
        self._conn.execute("BEGIN")
        self._tables: dict[str, _SQLiteTable] = {}
        for (name,) in self._conn.execute("SELECT name FROM state_tables").fetchall():
            self._tables[name] = _SQLiteTable(self, name)

    def table(self, name: str) -> StateTable:
        found = self._tables.get(name)
        if found is None:
            if not isinstance(name, str) or not name:
                raise ValueError(f"a table name must be a non-empty string; got {name!r}")
            self._conn.execute("INSERT OR IGNORE INTO state_tables VALUES (?)", (name,))
            found = self._tables[name] = _SQLiteTable(self, name)
        return found

    def tables(self) -> list[str]:
        return sorted(self._tables)

    def write(self, batch: WriteBatch) -> None:
        check_batch(batch)
        conn = self._conn
        created = [name for name in {op[1] for op in batch.ops} if name not in self._tables]
        conn.execute("SAVEPOINT batch")
        try:
            for name in created:
                conn.execute("INSERT OR IGNORE INTO state_tables VALUES (?)", (name,))
            for kind, name, key, value in batch.ops:
                if kind == PUT:
                    conn.execute("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", (name, key, value))
                elif kind == DELETE:
                    conn.execute("DELETE FROM kv WHERE t = ? AND k = ?", (name, key))
                elif value is None:
                    conn.execute("DELETE FROM kv WHERE t = ? AND k >= ?", (name, key))
                else:
                    conn.execute("DELETE FROM kv WHERE t = ? AND k >= ? AND k < ?",
                                 (name, key, value))
        except BaseException:
            conn.execute("ROLLBACK TO batch")
            conn.execute("RELEASE batch")
            raise
        conn.execute("RELEASE batch")
        for name in created:
            self._tables[name] = _SQLiteTable(self, name)

    def commit(self, batch: WriteBatch | None = None) -> None:
        if batch is not None:
            self.write(batch)
        self._conn.execute("COMMIT")
        self._conn.execute("BEGIN")

    def close(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is None:
            return
        conn.execute("ROLLBACK")          # uncommitted writes are discarded (the contract)
        conn.close()
        self._conn = None
