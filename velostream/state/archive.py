"""Moving a job's state: ``export_state`` writes a tarball, ``import_state`` puts one back.

The archive (``.tar.gz``) holds, under ``velostream-state/``: the job's ``MANIFEST.json``, its
committed store files (RocksDB: ``COMMITTED`` and what it names — ``live/`` or a checkpoint under
``commits/``; SQLite: the database file and its WAL) and ``ARCHIVE.json``: the archive format, the job,
the backend and the SHA-256 and size of every file. Export takes the job's lock, so it never
copies state a running job is changing. Import checks every member (plain files and folders
under ``velostream-state/`` only) and every checksum before anything is written, unpacks next to
the target and renames it into place; it refuses a target that already holds state unless
``force``, and a target in use by a running job always (a lock is only ever held by a live
process).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile

from velostream.errors import VelostreamError
from velostream.state.jobstate import LOCK, MANIFEST, STORE, DirLock, job_dir, read_manifest

ARCHIVE_FORMAT = 1
ROOT = "velostream-state"
INDEX = "ARCHIVE.json"


class StateArchiveError(VelostreamError):
    """An export or import that cannot be done: says which file and why."""


def _committed_files(directory: str, backend: str) -> list[str]:
    """Paths (relative to the job directory) of the committed state, sorted."""
    store = os.path.join(directory, STORE)
    if backend == "rocksdb":
        marker = os.path.join(store, "COMMITTED")
        if not os.path.exists(marker):
            return [MANIFEST]                                   # nothing committed yet
        with open(marker, "rb") as f:
            where = f.read().decode("ascii", "replace").strip()
        roots = ["live" if where == "live" else os.path.join("commits", where)]
        top = ["COMMITTED"]
    else:
        roots, top = [""], None
    out = [MANIFEST] + [os.path.join(STORE, f) for f in top or ()]
    for root in roots:
        for base, dirs, files in os.walk(os.path.join(store, root)):
            rel = os.path.relpath(base, directory)
            dirs.sort()
            for f in sorted(files):
                # RocksDB's LOCK and info LOG files, SQLite's shared-memory index: rebuilt.
                if f == "LOCK" or f.startswith("LOG") or f.endswith("-shm"):
                    continue
                out.append(os.path.join(rel, f))
    return out


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export_state(state_dir: str, job: str, output: str) -> dict:
    """Write job ``job``'s committed state to the tarball ``output``; returns the index."""
    directory = job_dir(state_dir, job)
    if not os.path.isdir(directory):
        raise StateArchiveError(f"no state for job {job!r} in {os.path.abspath(state_dir)}")
    lock = DirLock(directory)
    try:
        manifest = read_manifest(directory)
        if manifest is None:
            raise StateArchiveError(f"{directory} has no {MANIFEST}: nothing to export")
        files = _committed_files(directory, manifest["backend"])
        index = {"format": ARCHIVE_FORMAT, "job": job, "backend": manifest["backend"],
                 "files": {rel: {"sha256": _sha256(os.path.join(directory, rel)),
                                 "size": os.path.getsize(os.path.join(directory, rel))}
                           for rel in files}}
        tmp = output + ".tmp"
        with tarfile.open(tmp, "w:gz") as tar:
            data = json.dumps(index, indent=1, sort_keys=True).encode() + b"\n"
            info = tarfile.TarInfo(f"{ROOT}/{INDEX}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            for rel in files:
                tar.add(os.path.join(directory, rel), f"{ROOT}/{rel}", recursive=False)
        os.replace(tmp, output)
        return index
    finally:
        lock.release()


def _read_archive(path: str, tmp: str) -> dict:
    """Unpack ``path`` into ``tmp`` after checking it; the index."""
    try:
        tar = tarfile.open(path, "r:gz")  # noqa: SIM115 - closed by the `with tar` below
    except (OSError, tarfile.TarError) as exc:
        raise StateArchiveError(f"{path} is not a state archive ({exc})") from None
    with tar:
        members = tar.getmembers()
        for m in members:
            parts = m.name.split("/")
            if parts[0] != ROOT or ".." in parts or m.name.startswith("/") or \
                    not (m.isfile() or m.isdir()):
                raise StateArchiveError(f"{path}: unexpected member {m.name!r} (not a state "
                                        "archive written by export-state)")
        try:
            index = json.loads(tar.extractfile(f"{ROOT}/{INDEX}").read())
        except (KeyError, ValueError, AttributeError):
            raise StateArchiveError(f"{path}: no readable {INDEX} (not a state archive)") from None
        if not isinstance(index, dict) or index.get("format") != ARCHIVE_FORMAT:
            raise StateArchiveError(f"{path}: archive format {index.get('format')!r} is not "
                                    f"{ARCHIVE_FORMAT}" if isinstance(index, dict) else
                                    f"{path}: {INDEX} is not an archive index")
        tar.extractall(tmp, filter="data")
    root = os.path.join(tmp, ROOT)
    for rel, want in index["files"].items():
        full = os.path.join(root, rel)
        if not os.path.isfile(full):
            raise StateArchiveError(f"{path}: {rel} is listed in {INDEX} but missing")
        if _sha256(full) != want["sha256"] or os.path.getsize(full) != want["size"]:
            raise StateArchiveError(f"{path}: {rel} does not match its checksum (the archive "
                                    "is damaged)")
    return index


def import_state(archive: str, state_dir: str, job: str | None = None,
                 force: bool = False) -> dict:
    """Put the state in ``archive`` back as job ``job`` (default: the job it was exported
    from) under ``state_dir``; returns the archive index."""
    state_dir = os.path.abspath(state_dir)
    os.makedirs(state_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".import-", dir=state_dir)
    try:
        index = _read_archive(archive, tmp)
        job = job or index["job"]
        target = job_dir(state_dir, job)
        lock = DirLock(target) if os.path.isdir(target) else None   # in use: StateDirError
        try:
            held = [e for e in os.listdir(target) if e != LOCK] if lock else []
            if held and not force:
                raise StateArchiveError(f"{target} already holds state for job {job!r}; "
                                        "use --force to replace it")
            staged = os.path.join(tmp, ROOT)
            os.remove(os.path.join(staged, INDEX))
            if lock:
                old = os.path.join(tmp, "replaced")
                os.rename(target, old)
            os.rename(staged, target)
        finally:
            if lock:
                lock.release()
        return index
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
