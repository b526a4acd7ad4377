"""Operator state: the store interface stateful operators snapshot to and restore from.

``store.py`` defines it (named tables of bytes keys → bytes values with point reads, ordered
prefix and range scans, atomic write batches and a durable commit) with the in-memory backend;
``rocksdb.py`` (rocksdict) and ``sqlite.py`` (sqlite3) implement the same contract.
"""

from velostream.state.store import MemoryStore, Snapshot, StateStore, StateTable, WriteBatch

__all__ = ["MemoryStore", "Snapshot", "StateStore", "StateTable", "WriteBatch"]
