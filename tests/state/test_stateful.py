"""Random op sequences against a dict model, on every backend: puts, deletes, range deletes,
batches, scans, commits, close/reopen (durable backends go back to the last commit) and
snapshot/restore."""

import shutil
import tempfile

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.state.conftest import FACTORIES
from velostream.state import WriteBatch

TABLES = st.sampled_from(["a", "b", "c"])
KEYS = st.binary(max_size=4)
VALUES = st.binary(max_size=6)


def _machine(backend):
    class StoreMachine(RuleBasedStateMachine):
        @initialize()
        def open(self):
            self.dir = tempfile.mkdtemp(prefix="velo-state-")
            self.store = FACTORIES[backend](self.dir + "/s")
            self.model = {}           # table -> {key: value}, as the store holds it now
            self.committed = {}       # ... as of the last commit
            self.snapshots = []

        def _apply(self, ops):
            for kind, table, key, value in ops:
                t = self.model.setdefault(table, {})
                if kind == "put":
                    t[key] = value
                elif kind == "delete":
                    t.pop(key, None)
                else:
                    for k in [k for k in t if k >= key and (value is None or k < value)]:
                        del t[k]

        @rule(table=TABLES, key=KEYS, value=VALUES)
        def put(self, table, key, value):
            self.store.put(table, key, value)
            self._apply([("put", table, key, value)])

        @rule(table=TABLES, key=KEYS)
        def delete(self, table, key):
            self.store.delete(table, key)
            self._apply([("delete", table, key, None)])

        @rule(table=TABLES, start=KEYS, end=st.none() | KEYS)
        def delete_range(self, table, start, end):
            self.store.delete_range(table, start, end)
            self._apply([("range", table, start, end)])

        @rule(ops=st.lists(st.tuples(st.sampled_from(["put", "delete", "range"]), TABLES, KEYS,
                                     VALUES), max_size=8))
        def batch(self, ops):
            batch = WriteBatch()
            for kind, table, key, value in ops:
                if kind == "put":
                    batch.put(table, key, value)
                elif kind == "delete":
                    batch.delete(table, key)
                else:
                    batch.delete_range(table, key, value)
            self.store.write(batch)
            self._apply(ops)

        @rule()
        def commit(self):
            self.store.commit()
            self.committed = {t: dict(d) for t, d in self.model.items()}

        @precondition(lambda self: backend != "memory")
        @rule()
        def reopen(self):
            self.store.close()
            self.store = FACTORIES[backend](self.dir + "/s")
            self.model = {t: dict(d) for t, d in self.committed.items()}

        @rule()
        def snapshot(self):
            self.snapshots.append((self.store.snapshot(),
                                   {t: dict(d) for t, d in self.model.items()}))

        @precondition(lambda self: self.snapshots)
        @rule(data=st.data())
        def restore(self, data):
            snap, model = data.draw(st.sampled_from(self.snapshots))
            self.store.restore(snap)
            self.model = {t: dict(d) for t, d in model.items()}

        @rule(table=TABLES, prefix=st.binary(max_size=2))
        def scan(self, table, prefix):
            want = sorted((k, v) for k, v in self.model.get(table, {}).items()
                          if k.startswith(prefix))
            assert list(self.store.table(table).scan(prefix)) == want

        @rule(table=TABLES, start=KEYS, end=st.none() | KEYS)
        def range_(self, table, start, end):
            want = sorted((k, v) for k, v in self.model.get(table, {}).items()
                          if k >= start and (end is None or k < end))
            assert list(self.store.table(table).range(start, end)) == want

        @invariant()
        def same_contents(self):
            if not hasattr(self, "store"):
                return
            for table in ("a", "b", "c"):
                want = self.model.get(table, {})
                got = dict(self.store.table(table).range())
                assert got == want
                for key in list(want)[:3]:
                    assert self.store.table(table).get(key) == want[key]

        def teardown(self):
            if hasattr(self, "store"):
                self.store.close()
                shutil.rmtree(self.dir, ignore_errors=True)

    return StoreMachine


_settings = settings(max_examples=30, stateful_step_count=25, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])
TestMemory = _machine("memory").TestCase
TestMemory.settings = _settings
TestRocksDB = _machine("rocksdb").TestCase
TestRocksDB.settings = settings(_settings, max_examples=15)   # each checkpoint is disk work
TestSQLite = _machine("sqlite").TestCase
TestSQLite.settings = _settings
