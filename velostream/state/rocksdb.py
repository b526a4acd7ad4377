"""The RocksDB state backend (rocksdict, raw bytes mode, one column family per table).

Layout of the store directory::

    live/           the open RocksDB
    commits/<n>/    a RocksDB checkpoint (hard-linked SST files) of commit n, while one is needed
    COMMITTED       "live" or "<n>": where the last commit is; replaced atomically (write, fsync,
                    rename). No file: nothing was ever committed (the store opens empty).

The store contract says a crash goes back to exactly the last commit. RocksDB cannot undo
writes, so the committed state is kept where later writes cannot reach it:

- ``commit(batch)`` on a store with no uncommitted writes writes ``batch`` with a synced WAL:
  one atomic, durable RocksDB write (a few ms), and ``live/`` *is* the committed state
  (``COMMITTED`` = "live"). That is the checkpoint path of a job whose state fits its cache;
- the first uncommitted write after such a commit (a cache spill, ``put``, ``write``) first
  takes a RocksDB checkpoint of ``live/`` into ``commits/<n>`` (the checkpoint API flushes every
  memtable, so it holds every column family as of that instant; SST files are hard links) and
  points ``COMMITTED`` at it. Opening rebuilds ``live/`` from that checkpoint (SSTs linked, the
  small MANIFEST / OPTIONS / log files copied), discarding the uncommitted writes. The next
  commit makes ``live/`` the committed state again and drops the checkpoint.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import rocksdict

from velostream.state.store import (
    DELETE,
    PUT,
    SCAN_CHUNK,
    StateStore,
    StateTable,
    WriteBatch,
    check_batch,
)

_CF_PREFIX = "t."          # table "agg" is column family "t.agg" ("default" is never a table)


class StateCorrupted(Exception):
    """A store directory that cannot be opened as it is."""


# RocksDB's own memory, bounded whatever the number of tables: memtables of every column family
# together (a flush is forced past it) and one block cache shared by all of them.
MEMTABLE_BYTES = 32 << 20
BLOCK_CACHE_BYTES = 32 << 20


def _raw_options(cache=None, db: bool = False) -> rocksdict.Options:
    opts = rocksdict.Options(raw_mode=True)
    if db:
        opts.create_if_missing(True)
        opts.create_missing_column_families(True)
        opts.set_db_write_buffer_size(MEMTABLE_BYTES)
    if cache is not None:
        table = rocksdict.BlockBasedOptions()
        table.set_block_cache(cache)
        opts.set_block_based_table_factory(table)
    return opts


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: str, data: bytes) -> None:
    """Replace ``path`` by ``data``: a crash leaves the old file or the new one, never a mix."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(os.path.abspath(path)))


class _RocksTable(StateTable):
    def __init__(self, store: RocksDBStore, name: str, cf, handle):
        self.store = store
        self.name = name
        self._cf = cf
        self._handle = handle

    def get(self, key: bytes) -> bytes | None:
        return self._cf.get(key)

    def get_many(self, keys: list[bytes]) -> list[bytes | None]:
        return self._cf.get(list(keys)) if keys else []      # one multi-get

    def range(self, start: bytes = b"", end: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        return self._chunks(bytes(start), end)

    def _chunks(self, start, end):
        first = True
        while True:
            chunk = self._read(start, end, skip_start=not first)
            yield from chunk
            if len(chunk) < SCAN_CHUNK:
                return
            start, first = chunk[-1][0], False

    def _read(self, start, end, skip_start):
        out = []
        it = self._cf.iter()
        try:
            it.seek(start)
            if skip_start and it.valid() and it.key() == start:
                it.next()
            while it.valid() and len(out) < SCAN_CHUNK:
                key = it.key()
                if end is not None and key >= end:
                    break
                out.append((key, it.value()))
                it.next()
        finally:
            del it
        return out


class RocksDBStore(StateStore):
    """State in RocksDB under ``path`` (created when missing)."""

    durable = True
    backend = "rocksdb"

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        os.makedirs(self.path, exist_ok=True)
        self._live = os.path.join(self.path, "live")
        self._commits = os.path.join(self.path, "commits")
        self._sequence, self._committed_live = self._read_marker()
        if not self._committed_live:
            self._rebuild_live()
        else:
            self._drop_commits(keep=None)
        names = [n for n in rocksdict.Rdict.list_cf(self._live) if n.startswith(_CF_PREFIX)] \
            if os.path.exists(os.path.join(self._live, "CURRENT")) else []
        try:
            self._cache = rocksdict.Cache(BLOCK_CACHE_BYTES)
            self._db = rocksdict.Rdict(self._live, _raw_options(self._cache, db=True),
                                       column_families={n: _raw_options(self._cache)
                                                        for n in names})
        except Exception as exc:
            raise StateCorrupted(f"RocksDB cannot open {self._live}: {exc}") from exc
        self._sync = rocksdict.WriteOptions()
        self._sync.sync = True
        self._tables: dict[str, _RocksTable] = {}
        for n in names:
            self._attach(n[len(_CF_PREFIX):], self._db.get_column_family(n))

    # -- opening: the last commit, nothing after it ----------------------------------------
    def _read_marker(self) -> tuple[int, bool]:
        """(checkpoint number or 0, whether live/ is the committed state)."""
        marker = os.path.join(self.path, "COMMITTED")
        if not os.path.exists(marker):
            return 0, False
        with open(marker, "rb") as f:
            text = f.read().decode("ascii", "replace").strip()
        if text == "live":
            if not os.path.exists(os.path.join(self._live, "CURRENT")):
                raise StateCorrupted(f"{marker} says the committed state is live/, which is "
                                     "missing or incomplete")
            return 0, True
        if not text.isdigit() or not os.path.isdir(os.path.join(self._commits, text)):
            raise StateCorrupted(f"{marker} names no complete commit ({text!r})")
        return int(text), False

    def _drop_commits(self, keep: int | None) -> None:
        if os.path.isdir(self._commits):
            for entry in os.listdir(self._commits):
                if entry != str(keep):
                    shutil.rmtree(os.path.join(self._commits, entry))

    def _rebuild_live(self) -> None:
        if os.path.exists(self._live):
            shutil.rmtree(self._live)           # writes after the last commit: discarded
        self._drop_commits(keep=self._sequence)  # and any checkpoint cut short
        if not self._sequence:
            return
        source = os.path.join(self._commits, str(self._sequence))
        os.makedirs(self._live)
        for entry in os.listdir(source):
            src, dst = os.path.join(source, entry), os.path.join(self._live, entry)
            if entry.endswith(".sst"):
                try:
                    os.link(src, dst)
                    continue
                except OSError:
                    pass                        # no hard links here: copy
            shutil.copy2(src, dst)
        fsync_dir(self._live)

    def _protect(self) -> None:
        """Before an uncommitted write into a live/ that is the committed state: keep a
        checkpoint of it to come back to."""
        sequence = self._sequence + 1
        os.makedirs(self._commits, exist_ok=True)
        target = os.path.join(self._commits, str(sequence))
        if os.path.exists(target):
            shutil.rmtree(target)
        # RocksDB fsyncs the files it writes and the directory; the SSTs it links were synced
        # when flushed.
        rocksdict.Checkpoint(self._db).create_checkpoint(target)
        fsync_dir(self._commits)
        write_atomically(os.path.join(self.path, "COMMITTED"), b"%d\n" % sequence)
        self._sequence = sequence
        self._committed_live = False

    def _attach(self, name: str, cf) -> _RocksTable:
        table = _RocksTable(self, name, cf, self._db.get_column_family_handle(_CF_PREFIX + name))
        self._tables[name] = table
        return table

    # -- the interface ---------------------------------------------------------------------
    def table(self, name: str) -> StateTable:
        found = self._tables.get(name)
        if found is None:
            if not isinstance(name, str) or not name:
                raise ValueError(f"a table name must be a non-empty string; got {name!r}")
            cf = self._db.create_column_family(_CF_PREFIX + name, _raw_options(self._cache))
            found = self._attach(name, cf)
        return found

    def tables(self) -> list[str]:
        return sorted(self._tables)

    def write(self, batch: WriteBatch) -> None:
        wb = self._batch(batch)
        if wb.len():
            if self._committed_live:
                self._protect()
            self._db.write(wb)

    def _batch(self, batch: WriteBatch):
        check_batch(batch)
        wb = rocksdict.WriteBatch(raw_mode=True)
        tables = self._tables
        for kind, name, key, value in batch.ops:
            table = tables.get(name) or self.table(name)
            if kind == PUT:
                wb.put(key, value, table._handle)
            elif kind == DELETE:
                wb.delete(key, table._handle)
            elif value is not None:
                if key < value:
                    wb.delete_range(key, value, table._handle)
            else:
                # RocksDB ranges need an end: the last key + a zero byte ends past every key.
                last = self._last_key(table)
                if last is not None and key <= last:
                    wb.delete_range(key, last + b"\x00", table._handle)
        return wb

    @staticmethod
    def _last_key(table: _RocksTable) -> bytes | None:
        it = table._cf.iter()
        try:
            it.seek_to_last()
            return it.key() if it.valid() else None
        finally:
            del it

    def commit(self, batch: WriteBatch | None = None) -> None:
        wb = self._batch(batch) if batch is not None else None
        if wb is not None and wb.len():
            self._db.write(wb, self._sync)      # one atomic write, durable when it returns
        else:
            self._db.flush_wal(True)
        if not self._committed_live:
            write_atomically(os.path.join(self.path, "COMMITTED"), b"live\n")
            self._committed_live = True
            self._drop_commits(keep=None)

    def close(self) -> None:
        db = getattr(self, "_db", None)
        if db is None:
            return
        for table in self._tables.values():
            table._cf.close()
            table._cf = table._handle = None
        self._tables.clear()
        db.close()
        self._db = None
