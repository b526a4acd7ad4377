"""Store factories shared by the state tests: every contract test runs on each backend."""

import pytest

from velostream.state import MemoryStore
from velostream.state.rocksdb import RocksDBStore
from velostream.state.sqlite import SQLiteStore

FACTORIES = {
    "memory": lambda path: MemoryStore(),
    "rocksdb": lambda path: RocksDBStore(str(path)),
    "sqlite": lambda path: SQLiteStore(str(path)),
}
DURABLE = ["rocksdb", "sqlite"]


class Opener:
    """Opens the backend's store at one directory, again and again; closes what it opened."""

    def __init__(self, name, path):
        self.name, self.path, self.opened = name, path, []

    def __call__(self):
        store = FACTORIES[self.name](self.path)
        self.opened.append(store)
        return store

    def close_all(self):
        for store in self.opened:
            store.close()


@pytest.fixture(params=sorted(FACTORIES))
def opener(request, tmp_path):
    o = Opener(request.param, tmp_path / "store")
    yield o
    o.close_all()


@pytest.fixture
def store(opener):
    return opener()


@pytest.fixture(params=DURABLE)
def durable_opener(request, tmp_path):
    o = Opener(request.param, tmp_path / "store")
    yield o
    o.close_all()
