"""Operator state: the store interface stateful operators snapshot to and restore from.

- ``store.py``: the interface (named tables of bytes → bytes: point reads, ordered prefix and
  range scans, atomic write batches, ``commit(batch)`` durable, reopen = the last commit) and
  the in-memory backend; ``rocksdb.py`` (rocksdict) and ``sqlite.py`` (sqlite3) implement it;
- ``cache.py``: the byte-bounded write-back cache for operator state that outgrows memory (the
  operators do not use it yet: they hold their state in memory and write all of it at each
  checkpoint);
- ``jobstate.py``: ``open_job_state(plan, fingerprint)`` — backend choice, ``<state.dir>/<job>/``,
  lock, manifest, ``--reset-state``;
- ``archive.py``: ``export-state`` / ``import-state`` tarballs.

Keys are encoded by ``_core.keycodec`` (order-preserving), values by ``_core.valuecodec``.
"""

from velostream.state.cache import StateCache
from velostream.state.store import MemoryStore, Snapshot, StateStore, StateTable, WriteBatch

__all__ = ["MemoryStore", "Snapshot", "StateCache", "StateStore", "StateTable", "WriteBatch"]
