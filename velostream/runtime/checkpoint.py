"""Checkpoints: a job with a ``'state.dir'`` makes its progress durable and resumes from it.

Owns the checkpoint protocol, the plan fingerprint and restoring a job at start. Every
``'checkpoint.interval'`` (between two batches, so state, positions and output agree):

1. every sink commits: a file sink flushes and fsyncs its file and says its length (the bytes
   that are now part of the result); a sink that cannot say (standard output) is at-least-once;
   the dead-letter file (``SendToDLQ``) commits the same way;
2. one store write batch holds every operator's state (``Operator.snapshot`` through a view that
   names each operator's tables ``<chain>.<index>.<table>``), every source's position and every
   sink's committed length, under the ``checkpoint`` table with the plan fingerprint;
3. the store commits it durably. A crash before 3 leaves the previous checkpoint in force.

On start: the job's directory is locked and its manifest's fingerprint compared
(``state.jobstate``; the checkpoint record's too): a changed query or result-changing setting is
refused, never reused. Then operators restore, sources seek, file sinks are truncated to their committed
length (so output written after the checkpoint is dropped and written again, byte for byte),
and so is the dead-letter file.
A bounded run that finished records that, and running it again does nothing.

Positions and lengths are one small JSON record per checkpoint (readable with any tool; it is
not hot), operator state is whatever the operators encode.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time

from velostream.errors import ConfigError
from velostream.state.store import StateStore, WriteBatch

log = logging.getLogger("velostream.checkpoint")

TABLE = "checkpoint"
META_KEY = b"meta"
FORMAT_VERSION = 2          # 2: aggregate groups stored one entry each (runtime.group_state)

# Settings that change how a job runs but not what it outputs: changing them keeps the state.
OPERATIONAL_KEYS = frozenset({
    "state.dir", "state.backend", "state.cache.max_bytes", "checkpoint.interval", "batch.size", "batch.timeout",
    "batch_timeout", "max_batch_size",
})

# Test-only hooks (the kill-and-restart test): with VELOSTREAM_TEST_CHECKPOINT_PAUSE=<file>,
# the checkpoint numbered VELOSTREAM_TEST_CHECKPOINT_PAUSE_AT of this process (default 1: the
# first periodic one; a first run's checkpoint at start is 0; ``final``: the last one of a
# finished run, after the sinks' end markers) stops after the sinks are committed and before
# the store write, creates <file> and waits there until the process is killed.
PAUSE_ENV = "VELOSTREAM_TEST_CHECKPOINT_PAUSE"
PAUSE_AT_ENV = "VELOSTREAM_TEST_CHECKPOINT_PAUSE_AT"


def fingerprint(plan) -> str:
    """A hash of the normalised statement (printed from its syntax tree, so spacing, case of
    keywords and comments do not count) and of every setting that can change the results."""
    from velostream.grammar.printer import to_sql

    query = plan.query.replace(properties=())    # settings are hashed below, without the
                                                 # operational ones
    endpoints = [[role, ep.name, ep.type, _results_settings(ep.properties)]
                 for role, group in (("source", plan.sources), ("sink", plan.sinks))
                 for ep in group]
    data = {"version": FORMAT_VERSION, "query": to_sql(query), "endpoints": endpoints,
            "job": _results_settings(plan.properties)}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _results_settings(properties) -> list:
    return sorted([str(k).lower(), str(v)] for k, v in dict(properties).items()
                  if str(k).lower() not in OPERATIONAL_KEYS)


# ------------------------------------------------------------------------------ positions
def encode_position(position):
    """A source position as JSON: FilePosition with its decoder state (tuples kept tuples)."""
    from dataclasses import asdict, is_dataclass

    if is_dataclass(position):
        fields = asdict(position)
        fields["state"] = _tagged(fields.get("state"))
        return {"type": type(position).__name__, "fields": fields}
    return {"type": "value", "value": _tagged(position)}


def decode_position(data):
    from velostream.connectors.base import FilePosition

    if data["type"] == "FilePosition":
        fields = dict(data["fields"])
        fields["state"] = _untagged(fields.get("state"))
        return FilePosition(**fields)
    if data["type"] == "value":
        return _untagged(data["value"])
    raise ValueError(f"unknown position type {data['type']!r}")


def _tagged(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, tuple):
        return {"tuple": [_tagged(v) for v in value]}
    if isinstance(value, list):
        return {"list": [_tagged(v) for v in value]}
    raise TypeError(f"a source position holds a {type(value).__name__}, which a checkpoint "
                    "cannot record")


def _untagged(value):
    if isinstance(value, dict):
        if "tuple" in value:
            return tuple(_untagged(v) for v in value["tuple"])
        return [_untagged(v) for v in value["list"]]
    return value


# ------------------------------------------------------------------------------ the store view
class _OperatorView(StateStore):
    """What one operator snapshots to, restores from and spills to: its own tables (``prefix`` +
    name) of the job's store; in a checkpoint, writes are gathered into its batch."""

    def __init__(self, store: StateStore, prefix: str):
        self.store, self.prefix = store, prefix
        self.batch: WriteBatch | None = None

    def table(self, name: str):
        return self.store.table(self.prefix + name)

    def tables(self) -> list[str]:
        n = len(self.prefix)
        return [name[n:] for name in self.store.tables() if name.startswith(self.prefix)]

    def write(self, batch: WriteBatch) -> None:
        """In a checkpoint: into its batch. Between checkpoints (a spill): applied to the
        store now, uncommitted — a crash discards it with everything after the last commit."""
        prefix = self.prefix
        ops = [(kind, prefix + table, key, value) for kind, table, key, value in batch.ops]
        if self.batch is None:
            spill = WriteBatch()
            spill.ops = ops
            self.store.write(spill)
        else:
            self.batch.ops.extend(ops)

    def commit(self, batch: WriteBatch | None = None) -> None:
        raise RuntimeError("operators do not commit: the checkpoint does, with the positions")


def open_checkpoints(plan, *, reset: bool = False) -> Checkpointer:
    """The checkpoints of ``plan`` in its job's directory under ``'state.dir'`` (locked while
    the job runs; the manifest names the backend and the plan fingerprint: state.jobstate);
    ``reset``: the job's state is dropped first (``--reset-state``)."""
    from velostream.state.jobstate import open_job_state

    check_backend(plan)
    state = open_job_state(plan, fingerprint(plan), reset=reset)
    try:
        return Checkpointer(plan, state.store, state.path, plan.setting("checkpoint.interval"),
                            on_close=state.close)
    except BaseException:
        state.close()
        raise


def check_backend(plan) -> str:
    """The backend a job with a ``'state.dir'`` keeps its state in (RocksDB unless set)."""
    backend = plan.setting("state.backend") or "rocksdb"
    if backend == "memory":
        raise ConfigError("'state.backend' = 'memory' keeps nothing a restart could resume "
                          "from; with 'state.dir' use rocksdb or sqlite (or leave 'state.dir' "
                          "out)", key="state.backend")
    return backend


class Checkpointer:
    """The checkpoints of one job: ``load()`` at start, ``due()`` / ``take()`` while it runs."""

    def __init__(self, plan, store: StateStore, directory: str, interval_ms: int, *,
                 clock=time.monotonic, on_close=None):
        self.plan = plan
        self.store = store
        self.directory = directory
        self._on_close = on_close or store.close
        self.interval = interval_ms / 1000.0
        self.clock = clock
        self.fingerprint = fingerprint(plan)
        self.sequence = 0
        self.restored: dict | None = None
        self.taken = 0                  # checkpoints taken by this process
        self._last = clock()
        self._pause = os.environ.get(PAUSE_ENV)
        self._pause_at = os.environ.get(PAUSE_AT_ENV, "1")

    # ------------------------------------------------------------------ start
    def load(self) -> dict | None:
        """The last checkpoint (``sources``: name → position, ``sinks``: name → length,
        ``finished``), or None for a first run; a changed plan or a corrupt record is a
        StateDirError."""
        raw = self.store.table(TABLE).get(META_KEY)
        if raw is None:
            return None
        try:
            meta = json.loads(raw)
            version, found = meta["version"], meta["fingerprint"]
        except (ValueError, KeyError, TypeError) as err:
            raise self._error(f"its checkpoint record cannot be read ({err})") from None
        if version != FORMAT_VERSION:
            raise self._error(f"it was written by checkpoint format {version}; this build "
                              f"reads {FORMAT_VERSION}")
        if found != self.fingerprint:
            raise self._error("it holds the state of a different query (the statement or a "
                              "setting that changes results was edited since, or another job "
                              f"uses this state.dir: plan fingerprint {found}, this query's is "
                              f"{self.fingerprint})")
        try:
            meta["sources"] = {name: decode_position(p) for name, p in meta["sources"].items()}
        except (ValueError, KeyError, TypeError) as err:
            raise self._error(f"its source positions cannot be read ({err})") from None
        self.sequence = int(meta.get("sequence", 0))
        self.restored = meta
        return meta

    def _error(self, reason: str):
        from velostream.state.jobstate import StateDirError

        return StateDirError(self.directory, reason, "run with --reset-state to start over (the "
                             "results are written again from the beginning), or point "
                             "'state.dir' somewhere else")

    def restore_operators(self, chains) -> None:
        for prefix, op in _operators(chains):
            op.restore(_OperatorView(self.store, prefix))

    def attach_operators(self, chains) -> None:
        """Give every operator its live view of the store (``Operator.attach``)."""
        for prefix, op in _operators(chains):
            op.attach(_OperatorView(self.store, prefix))

    def seek(self, source, positions: dict) -> None:
        """Continue ``source`` from its checkpointed position (an input shorter than that
        position was changed outside the job: refused)."""
        if source.name not in positions:
            raise self._error(f"it has no position for source {source.name!r}")
        position = positions[source.name]
        offset = getattr(position, "byte_offset", None)
        path = getattr(source, "path", None)
        if offset and path is not None and os.path.exists(path) and \
                os.path.getsize(path) < offset:
            raise self._error(f"input {path} is shorter ({os.path.getsize(path)} bytes) than "
                              f"the checkpointed position ({offset} bytes): it was replaced or "
                              "truncated since")
        source.seek(position)

    def check_sinks(self, sinks) -> None:
        """Sinks that cannot be rewound are at-least-once: said once, at start. A sink that
        a restart would lose data of (a whole-file format) refuses checkpoints."""
        for sink in sinks:
            refusal = getattr(sink, "checkpoint_refusal", None)
            if refusal is not None:
                raise refusal
            if not getattr(sink, "exactly_once", False):
                log.warning("%s: sink %s is at-least-once: after a restart it gets again what "
                            "was written to it since the last checkpoint (file sinks are "
                            "exactly-once)", self.plan.name, sink.name)

    def close(self) -> None:
        """Release the store and the directory's lock."""
        self._on_close()

    # ------------------------------------------------------------------ running
    def due(self) -> bool:
        return self.clock() - self._last >= self.interval

    def take(self, chains, inputs, sinks, *, finished: bool = False, router=None) -> None:
        """One checkpoint (see the module docstring); ``router``: the job's FailureRouter,
        whose dead-letter file is committed like a file sink."""
        lengths = {}
        for sink in sinks:
            # The last checkpoint of a finished run holds the sink's end marker (``]``) too.
            lengths[sink.name] = (sink.commit(final=True) if finished and
                                  getattr(sink, "exactly_once", False) else sink.commit())
        dead_letters = router.commit_dead_letters() if router is not None else None
        number = self.taken + (self.restored is not None)       # periodic ones from 1
        if self._pause and self._pause_at == ("final" if finished else str(number)):
            _pause_here(self._pause)
        batch = WriteBatch()
        # A finished run is never resumed (running it again does nothing), so its last
        # checkpoint records the end and the sink lengths, not the operators' state.
        for prefix, op in () if finished else _operators(chains):
            view = _OperatorView(self.store, prefix)
            view.batch = batch
            op.snapshot(view)
        meta = {
            "version": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "sequence": self.sequence + 1,
            "finished": finished,
            "sources": {item.scan.endpoint.name: encode_position(item.source.position())
                        for item in inputs if item.source is not None},
            "sinks": lengths,
            "dead_letters": dead_letters,
            "written_at": time.time(),
        }
        batch.put(TABLE, META_KEY, json.dumps(meta, sort_keys=True).encode())
        self.store.commit(batch)      # applied atomically and made durable together
        self.sequence += 1
        self.taken += 1
        self._last = self.clock()


def _operators(chains):
    """``(table prefix, operator)`` of every operator of ``chains`` (name → OperatorChain)."""
    for chain_name, chain in chains:
        for i, op in enumerate(chain.operators):
            yield f"{chain_name}.{i}.", op


def _pause_here(marker: str) -> None:
    import threading

    with open(marker, "w") as handle:
        handle.write(str(os.getpid()))
    threading.Event().wait()           # until the test kills the process

