"""A job's state directory: choosing the backend, the lock, the manifest, ``--reset-state``.

Layout, for ``'state.dir' = D`` and job ``J``::

    D/J/LOCK            fcntl lock held while a process uses the state; holds that process's pid
    D/J/MANIFEST.json   {"format": 1, "backend": ..., "fingerprint": ..., "job": ...}
    D/J/store/          the backend's files (rocksdb.py / sqlite.py)

``open_job_state(plan, fingerprint)`` is what the job builder calls. It never wipes or reuses
state silently: a locked directory, a manifest of another format, backend or plan fingerprint,
a store without a manifest (or the reverse) and a store the backend cannot open are each a
:class:`StateDirError` naming the path, the reason and what to do (``--reset-state``, or another
``state.dir``). ``reset=True`` (``--reset-state``) deletes the job's state under the lock and
starts empty. The memory backend has no directory, lock or manifest.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass, field

from velostream.errors import ConfigError, VelostreamError
from velostream.state.rocksdb import RocksDBStore, StateCorrupted, write_atomically
from velostream.state.sqlite import SQLiteStore
from velostream.state.store import MemoryStore, StateStore

FORMAT_VERSION = 1
BACKENDS = ("memory", "rocksdb", "sqlite")
MANIFEST = "MANIFEST.json"
LOCK = "LOCK"
STORE = "store"
REMEDY = "run with --reset-state to start over, or point 'state.dir' somewhere else"


class StateDirError(VelostreamError):
    """A state directory that cannot be used as it is: path, reason, what to do."""

    def __init__(self, path: str, reason: str, remedy: str = REMEDY):
        self.path, self.reason, self.remedy = path, reason, remedy
        super().__init__(f"state directory {path}: {reason}; {remedy}")


def job_dir_name(job: str) -> str:
    """``job`` as one safe path component (other characters %-escaped, so names stay distinct)."""
    if not job:
        raise ValueError("a job with state needs a name")
    safe = re.sub(r"[^A-Za-z0-9_.-]", lambda m: f"%{ord(m.group()):02X}", job)
    return "%2E" + safe[1:] if safe.startswith(".") else safe


def job_dir(state_dir: str, job: str) -> str:
    return os.path.join(os.path.abspath(state_dir), job_dir_name(job))


class DirLock:
    """An exclusive ``fcntl.flock`` on ``<dir>/LOCK`` (released by ``release`` or process exit,
    including kill -9, so a crashed job never leaves a stale lock)."""

    def __init__(self, directory: str):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, LOCK)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(self._fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(self._fd)
            self._fd = None
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise StateDirError(directory, f"is in use by process {holder}",
                                    "stop that job first, or point 'state.dir' somewhere else"
                                    ) from None
            raise
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, b"%d\n" % os.getpid(), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)          # closing the descriptor drops the flock
            self._fd = None


@dataclass
class JobState:
    """An open job state: ``store`` plus what keeps it exclusive. ``close()`` releases both."""

    store: StateStore
    backend: str
    path: str | None = None           # D/J (None: memory)
    fresh: bool = True                # no earlier state: the job starts from the beginning
    manifest: dict = field(default_factory=dict)
    _lock: DirLock | None = None

    def close(self) -> None:
        self.store.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def resolve_backend(backend: str | None, state_dir: str | None) -> str:
    """``'state.backend'`` as given, else RocksDB with a state dir, memory without one."""
    if backend is None:
        return "rocksdb" if state_dir else "memory"
    backend = str(backend).lower()
    if backend not in BACKENDS:
        raise ConfigError(f"unknown state backend {backend!r} (one of {', '.join(BACKENDS)})",
                          key="state.backend")
    if backend != "memory" and not state_dir:
        raise ConfigError(f"the {backend} state backend needs 'state.dir' (where to keep it)",
                          key="state.backend")
    return backend


def open_job_state(plan, fingerprint: str, reset: bool = False) -> JobState:
    """The state of the bound ``plan`` (its ``state.backend`` / ``state.dir`` settings)."""
    return open_state(plan.setting("state.dir"), plan.name, fingerprint,
                      backend=plan.setting("state.backend"), reset=reset)


def _open_store(backend: str, path: str) -> StateStore:
    return RocksDBStore(path) if backend == "rocksdb" else SQLiteStore(path)


def open_state(state_dir: str | None, job: str, fingerprint: str, backend: str | None = None,
               reset: bool = False) -> JobState:
    backend = resolve_backend(backend, state_dir)
    if backend == "memory":
        return JobState(MemoryStore(), "memory")
    directory = job_dir(state_dir, job)
    lock = DirLock(directory)
    try:
        if reset:
            _clear(directory)
        manifest = read_manifest(directory)
        store_path = os.path.join(directory, STORE)
        fresh = manifest is None
        if fresh:
            # A store without a manifest is this function's own, from a start killed between
            # creating the store and writing the manifest — unless it holds data.
            if os.path.exists(store_path) and not _holds_nothing(backend, store_path):
                raise StateDirError(directory, f"holds state ({STORE}/) but no {MANIFEST}, so "
                                    "nothing says which job, backend or query wrote it")
            manifest = {"format": FORMAT_VERSION, "backend": backend, "job": job,
                        "fingerprint": fingerprint}
        else:
            _check_manifest(directory, manifest, backend, fingerprint)
            if not os.path.isdir(store_path):
                raise StateDirError(directory, f"{MANIFEST} is there but the {backend} store "
                                    f"({STORE}/) is missing")
        try:
            store = _open_store(backend, store_path)
        except (StateCorrupted, sqlite3.DatabaseError, OSError) as exc:
            raise StateDirError(directory, f"the {backend} store cannot be opened: {exc}"
                                ) from exc
        if fresh:
            write_atomically(os.path.join(directory, MANIFEST),
                             json.dumps(manifest, indent=1).encode() + b"\n")
        return JobState(store, backend, directory, fresh, manifest, lock)
    except BaseException:
        lock.release()
        raise


def _holds_nothing(backend: str, store_path: str) -> bool:
    """Whether the store at ``store_path`` has no key in any table (False when it cannot be
    opened as a ``backend`` store: that is reported as damage)."""
    try:
        store = _open_store(backend, store_path)
    except (StateCorrupted, sqlite3.DatabaseError, OSError):
        return False
    try:
        return not any(next(iter(store.table(name).scan()), None) is not None
                       for name in store.tables())
    finally:
        store.close()


def read_manifest(directory: str) -> dict | None:
    """The manifest of a job directory (None when there is none); StateDirError when unreadable."""
    path = os.path.join(directory, MANIFEST)
    try:
        with open(path, "rb") as f:
            manifest = json.loads(f.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StateDirError(directory, f"{MANIFEST} is corrupted ({exc})") from None
    if not isinstance(manifest, dict) or not {"format", "backend", "fingerprint"} <= set(manifest):
        raise StateDirError(directory, f"{MANIFEST} is corrupted (not a state manifest)")
    return manifest


def _check_manifest(directory: str, manifest: dict, backend: str, fingerprint: str) -> None:
    if manifest["format"] != FORMAT_VERSION:
        raise StateDirError(directory, f"was written in state format {manifest['format']!r}; "
                            f"this build reads format {FORMAT_VERSION}")
    if manifest["backend"] != backend:
        raise StateDirError(directory, f"was written by the {manifest['backend']} backend, but "
                            f"'state.backend' is {backend}",
                            f"set 'state.backend' = '{manifest['backend']}', " + REMEDY)
    if manifest["fingerprint"] != fingerprint:
        raise StateDirError(directory, "was written by a different query (plan fingerprint "
                            f"{manifest['fingerprint']}, this query's is {fingerprint}), so its "
                            "state cannot be reused")


def _clear(directory: str) -> None:
    """Delete a job's state (the caller holds the lock, which stays)."""
    for entry in os.listdir(directory):
        if entry == LOCK:
            continue
        path = os.path.join(directory, entry)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


def reset_state(state_dir: str, job: str) -> bool:
    """``--reset-state`` without opening: delete job ``job``'s state; False when there was none.
    A StateDirError when another process holds it."""
    directory = job_dir(state_dir, job)
    if not os.path.isdir(directory):
        return False
    lock = DirLock(directory)
    try:
        had = any(e != LOCK for e in os.listdir(directory))
        _clear(directory)
        return had
    finally:
        lock.release()
