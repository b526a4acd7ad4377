"""Operator state: the store interface stateful operators snapshot to and restore from.

``store.py`` defines it (named tables of bytes keys → bytes values with point reads, prefix
scans and atomic write batches) with the in-memory backend; RocksDB (rocksdict) and SQLite
backends implement the same interface.
"""

from velostream.state.store import MemoryStore, StateStore, StateTable, WriteBatch

__all__ = ["MemoryStore", "StateStore", "StateTable", "WriteBatch"]
