"""The bounded write-back cache in front of a state store: hot state in memory, all of it on disk.

Operators read and write their per-key state through :class:`StateCache` (``cache.table(name)``
gives a table-like view). Reads are served from memory when the key is held, else from the store
(and then held, a miss as a known absence too); writes are held dirty. ``checkpoint(batch)``
writes every dirty entry plus ``batch`` (source positions, sink lengths: whatever must be atomic
with the state) as *one* write batch and commits the store, so state and positions are durable
together.

The cache holds at most ``budget`` bytes (key + value + :data:`ENTRY_OVERHEAD` per entry, an
estimate of a dict slot and its objects). Past it, least recently used entries go: clean ones are
dropped, dirty ones written to the store (not committed — the store contract says a crash
discards them with everything else after the last commit). So the state an operator holds is
bounded by disk, not RAM. Scans (``range`` / ``scan``) first write the table's dirty entries
out, then read the store, so they see every write in key order.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from velostream.state.store import StateStore, WriteBatch, prefix_end

# Bytes counted per held entry beyond its key and value: the OrderedDict node and slot, the
# (table, key) tuple and the [value, dirty] list. An estimate (CPython 3.11, 64-bit).
ENTRY_OVERHEAD = 160
DEFAULT_BUDGET = 64 << 20

_ABSENT = None          # a held "no such key" (a miss, or a delete when dirty)


class StateCache:
    """A byte-bounded LRU write-back cache over the tables of ``store``."""

    def __init__(self, store: StateStore, budget: int = DEFAULT_BUDGET):
        if budget < ENTRY_OVERHEAD * 16:
            raise ValueError(f"a state cache budget of {budget} bytes is too small "
                             f"(at least {ENTRY_OVERHEAD * 16})")
        self.store = store
        self.budget = budget
        # (table, key) -> [value or None, dirty]; most recently used last.
        self._entries: OrderedDict[tuple[str, bytes], list] = OrderedDict()
        self.bytes = 0
        self.peak_bytes = 0
        self.dirty = 0
        self.spilled = 0         # dirty entries written out before a checkpoint
        self.hits = self.misses = 0

    def table(self, name: str) -> CachedTable:
        self.store.table(name)          # created now, so tables() lists it
        return CachedTable(self, name)

    def __len__(self) -> int:
        return len(self._entries)

    # -- per key ---------------------------------------------------------------------------
    def get(self, table: str, key: bytes) -> bytes | None:
        slot = (table, key)
        entry = self._entries.get(slot)
        if entry is not None:
            self._entries.move_to_end(slot)
            self.hits += 1
            return entry[0]
        self.misses += 1
        value = self.store.table(table).get(key)
        self._hold(slot, value, False)
        return value

    def put(self, table: str, key: bytes, value: bytes) -> None:
        if not isinstance(value, bytes):
            raise TypeError(f"a state value must be bytes; got {type(value).__name__}")
        self._hold((table, bytes(key)), value, True)

    def delete(self, table: str, key: bytes) -> None:
        self._hold((table, bytes(key)), _ABSENT, True)

    def _hold(self, slot, value, dirty: bool) -> None:
        entries = self._entries
        old = entries.get(slot)
        if old is not None:
            self.bytes -= _size(slot, old[0])
            if old[1]:
                self.dirty -= 1
            dirty = dirty or old[1]     # a clean re-read never un-dirties an entry
            old[0], old[1] = value, dirty
            entries.move_to_end(slot)
        else:
            entries[slot] = [value, dirty]
        self.bytes += _size(slot, value)
        if dirty:
            self.dirty += 1
        if self.bytes > self.budget:
            self._shrink()
        self.peak_bytes = max(self.peak_bytes, self.bytes)

    def _shrink(self) -> None:
        """Down to 3/4 of the budget, oldest first (so spills come in batches, not one by one)."""
        target = self.budget * 3 // 4
        entries = self._entries
        batch = WriteBatch()
        while self.bytes > target and entries:
            slot, (value, dirty) = entries.popitem(last=False)
            self.bytes -= _size(slot, value)
            if dirty:
                self.dirty -= 1
                _add(batch, slot, value)
        if batch.ops:
            self.spilled += len(batch.ops)
            self.store.write(batch)

    # -- whole tables, checkpoints ---------------------------------------------------------
    def write_out(self, table: str | None = None) -> int:
        """Write dirty entries (of ``table``, or all) to the store, keeping them held clean;
        not committed. Returns how many were written."""
        batch = WriteBatch()
        self._collect(batch, table)
        if batch.ops:
            self.store.write(batch)
        return len(batch.ops)

    def _collect(self, batch: WriteBatch, table: str | None) -> None:
        for slot, entry in self._entries.items():
            if entry[1] and (table is None or slot[0] == table):
                _add(batch, slot, entry[0])
                entry[1] = False
                self.dirty -= 1

    def checkpoint(self, batch: WriteBatch | None = None) -> None:
        """Every dirty entry and ``batch`` in one atomic write, then a durable commit."""
        out = WriteBatch()
        self._collect(out, None)
        if batch is not None:
            out.ops.extend(batch.ops)
        self.store.commit(out)

    def range(self, table: str, start: bytes = b"", end: bytes | None = None
              ) -> Iterator[tuple[bytes, bytes]]:
        self.write_out(table)
        return self.store.table(table).range(start, end)

    def delete_range(self, table: str, start: bytes = b"", end: bytes | None = None) -> None:
        """Drop held entries in the range (dirty ones too: the range delete supersedes them)
        and delete the range in the store (not committed)."""
        doomed = [slot for slot in self._entries
                  if slot[0] == table and slot[1] >= start and (end is None or slot[1] < end)]
        for slot in doomed:
            value, dirty = self._entries.pop(slot)
            self.bytes -= _size(slot, value)
            if dirty:
                self.dirty -= 1
        self.store.delete_range(table, start, end)

    def clear(self) -> None:
        """Forget every held entry, dirty ones too (after a restore from the last commit)."""
        self._entries.clear()
        self.bytes = self.dirty = 0


class CachedTable:
    """One table of a :class:`StateCache` (the ``StateTable`` reads plus writes)."""

    __slots__ = ("cache", "name")

    def __init__(self, cache: StateCache, name: str):
        self.cache, self.name = cache, name

    def get(self, key: bytes) -> bytes | None:
        return self.cache.get(self.name, key)

    def put(self, key: bytes, value: bytes) -> None:
        self.cache.put(self.name, key, value)

    def delete(self, key: bytes) -> None:
        self.cache.delete(self.name, key)

    def range(self, start: bytes = b"", end: bytes | None = None):
        return self.cache.range(self.name, start, end)

    def scan(self, prefix: bytes = b""):
        return self.cache.range(self.name, prefix, prefix_end(prefix))

    def delete_range(self, start: bytes = b"", end: bytes | None = None) -> None:
        self.cache.delete_range(self.name, start, end)

    def __contains__(self, key: bytes) -> bool:
        return self.get(key) is not None


def _size(slot, value) -> int:
    return len(slot[1]) + (0 if value is None else len(value)) + ENTRY_OVERHEAD


def _add(batch: WriteBatch, slot, value) -> None:
    if value is None:
        batch.delete(slot[0], slot[1])
    else:
        batch.put(slot[0], slot[1], value)
