"""The state-store interface on the memory backend (RocksDB and SQLite must pass the same)."""

import pytest

from velostream.state import MemoryStore, WriteBatch

BACKENDS = [MemoryStore]


@pytest.fixture(params=BACKENDS, ids=lambda b: b.__name__)
def store(request):
    s = request.param()
    yield s
    s.close()


def test_put_get_delete(store):
    store.put("op1", b"k", b"v")
    assert store.table("op1").get(b"k") == b"v" and b"k" in store.table("op1")
    assert store.table("op2").get(b"k") is None          # tables are separate
    store.delete("op1", b"k")
    assert store.table("op1").get(b"k") is None


def test_prefix_scan_is_in_byte_order_and_sees_later_writes(store):
    for key in (b"b\x00", b"a\x02", b"a\x01", b"ab", b"c"):
        store.put("t", key, key.upper())
    assert [k for k, _ in store.table("t").scan(b"a")] == [b"a\x01", b"a\x02", b"ab"]
    store.put("t", b"a\x00", b"first")
    assert next(store.table("t").scan(b"a")) == (b"a\x00", b"first")
    assert [k for k, _ in store.table("t").scan()] == [b"a\x00", b"a\x01", b"a\x02", b"ab",
                                                       b"b\x00", b"c"]


def test_a_write_batch_applies_across_tables_in_order(store):
    batch = WriteBatch()
    batch.put("agg", b"x", b"1")
    batch.put("offsets", b"src", b"42")
    batch.put("agg", b"x", b"2")
    batch.delete("agg", b"gone")
    assert len(batch) == 4
    store.write(batch)
    assert store.table("agg").get(b"x") == b"2" and store.table("offsets").get(b"src") == b"42"


def test_a_bad_write_batch_changes_nothing(store):
    batch = WriteBatch()
    batch.put("agg", b"x", b"1")
    batch.ops.append(("", b"k", b"v"))
    with pytest.raises(ValueError):
        store.write(batch)
    assert store.table("agg").get(b"x") is None
