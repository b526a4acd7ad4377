"""The store contract (velostream/state/store.py docstring), on memory, RocksDB and SQLite."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from velostream.state import WriteBatch
from velostream.state.store import SCAN_CHUNK, prefix_end


def test_put_get_delete(store):
    store.put("op1", b"k", b"v")
    assert store.table("op1").get(b"k") == b"v" and b"k" in store.table("op1")
    assert store.table("op2").get(b"k") is None          # tables are separate
    store.delete("op1", b"k")
    assert store.table("op1").get(b"k") is None
    assert b"k" not in store.table("op1")


def test_get_many_answers_each_key_in_order(store):
    t = store.table("agg")
    t.put(b"a", b"1")
    t.put(b"c", b"3")
    assert t.get_many([b"c", b"b", b"a", b"c"]) == [b"3", None, b"1", b"3"]
    assert t.get_many([]) == []


def test_table_methods_write_through_the_store(store):
    t = store.table("t")
    t.put(b"a", b"1")
    t.put(b"b", b"")                                      # an empty value is a value
    assert t.get(b"a") == b"1" and t.get(b"b") == b"" and b"b" in t
    t.delete(b"a")
    assert t.get(b"a") is None
    assert store.tables() == ["t"]


def test_prefix_scan_is_in_byte_order_and_sees_later_writes(store):
    for key in (b"b\x00", b"a\x02", b"a\x01", b"ab", b"c", b"a\xff"):
        store.put("t", key, key.upper())
    assert [k for k, _ in store.table("t").scan(b"a")] == [b"a\x01", b"a\x02", b"ab", b"a\xff"]
    store.put("t", b"a\x00", b"first")
    assert next(store.table("t").scan(b"a")) == (b"a\x00", b"first")
    assert [k for k, _ in store.table("t").scan()] == [b"a\x00", b"a\x01", b"a\x02", b"ab",
                                                       b"a\xff", b"b\x00", b"c"]


def test_range_is_half_open_and_unsigned(store):
    keys = [bytes([i]) for i in (0, 1, 0x7F, 0x80, 0xFE, 0xFF)] + [b"\xff\xff"]
    for key in keys:
        store.put("t", key, b"v")
    t = store.table("t")
    assert [k for k, _ in t.range(b"\x01", b"\xfe")] == [b"\x01", b"\x7f", b"\x80"]
    assert [k for k, _ in t.range(b"\x80")] == [b"\x80", b"\xfe", b"\xff", b"\xff\xff"]
    assert [k for k, _ in t.range()] == keys
    assert list(t.range(b"\x02", b"\x02")) == []
    assert [k for k, _ in t.scan(b"\xff")] == [b"\xff", b"\xff\xff"]


def test_scans_longer_than_a_chunk_come_back_whole_and_in_order(store):
    batch = WriteBatch()
    n = SCAN_CHUNK * 2 + 7
    for i in range(n):
        batch.put("t", i.to_bytes(4, "big"), str(i).encode())
    store.write(batch)
    got = list(store.table("t").range((5).to_bytes(4, "big")))
    assert [int.from_bytes(k, "big") for k, _ in got] == list(range(5, n))
    assert got[-1][1] == str(n - 1).encode()
    exact = list(store.table("t").range(b"", SCAN_CHUNK.to_bytes(4, "big")))
    assert len(exact) == SCAN_CHUNK


def test_a_write_batch_applies_across_tables_in_order(store):
    store.put("agg", b"gone", b"0")
    batch = WriteBatch()
    batch.put("agg", b"x", b"1")
    batch.put("offsets", b"src", b"42")
    batch.put("agg", b"x", b"2")
    batch.delete("agg", b"gone")
    batch.put("agg", b"y", b"3")
    batch.delete("agg", b"y")
    assert len(batch) == 6
    store.write(batch)
    assert store.table("agg").get(b"x") == b"2" and store.table("offsets").get(b"src") == b"42"
    assert list(store.table("agg").scan()) == [(b"x", b"2")]
    assert store.tables() == ["agg", "offsets"]


@pytest.mark.parametrize("bad", [("", b"k", b"v"), ("t", "k", b"v"), ("t", b"k", 3)])
def test_a_bad_write_batch_changes_nothing(store, bad):
    store.put("agg", b"keep", b"0")
    batch = WriteBatch()
    batch.put("agg", b"x", b"1")
    batch.delete("agg", b"keep")
    batch.ops.append((0,) + bad)
    with pytest.raises((ValueError, TypeError)):
        store.write(batch)
    assert store.table("agg").get(b"x") is None and store.table("agg").get(b"keep") == b"0"


def test_delete_range(store):
    for i in range(10):
        store.put("w", bytes([i]), b"v")
    store.put("other", bytes([3]), b"v")
    store.delete_range("w", bytes([2]), bytes([5]))
    assert [k[0] for k, _ in store.table("w").range()] == [0, 1, 5, 6, 7, 8, 9]
    store.delete_range("w", bytes([8]))                  # to the last key
    assert [k[0] for k, _ in store.table("w").range()] == [0, 1, 5, 6, 7]
    store.delete_range("w", bytes([7]), bytes([1]))      # empty range: nothing
    store.table("w").delete_range()
    assert list(store.table("w").range()) == []
    assert store.table("other").get(bytes([3])) == b"v"


def test_snapshot_and_restore(store):
    store.put("a", b"1", b"one")
    store.put("b", b"2", b"two")
    snap = store.snapshot()
    store.put("a", b"1", b"changed")
    store.put("a", b"3", b"three")
    store.delete("b", b"2")
    store.put("c", b"4", b"four")
    store.restore(snap)
    assert list(store.table("a").scan()) == [(b"1", b"one")]
    assert list(store.table("b").scan()) == [(b"2", b"two")]
    assert list(store.table("c").scan()) == []


def test_prefix_end():
    assert prefix_end(b"ab") == b"ac"
    assert prefix_end(b"a\xff") == b"b"
    assert prefix_end(b"\xff\xff") is None and prefix_end(b"") is None


# -- durability ------------------------------------------------------------------------------
def test_committed_state_survives_close_and_reopen(durable_opener):
    s = durable_opener()
    s.put("agg", b"k", b"v1")
    s.put("empty", b"x", b"y")
    s.delete("empty", b"x")
    s.commit()
    s.close()
    s = durable_opener()
    assert s.table("agg").get(b"k") == b"v1"
    assert s.tables() == ["agg", "empty"]
    s.put("agg", b"k", b"v2")
    s.commit()
    s.put("agg", b"k", b"v3")          # never committed
    s.close()
    s = durable_opener()
    assert list(s.table("agg").scan()) == [(b"k", b"v2")]


def test_an_uncommitted_store_reopens_empty(durable_opener):
    s = durable_opener()
    s.put("agg", b"k", b"v")
    s.close()
    assert durable_opener().table("agg").get(b"k") is None


def test_commit_survives_kill_9_and_later_writes_do_not(durable_opener):
    """A child process commits, writes more (also spilling past the memtable), and is killed."""
    child = textwrap.dedent(f"""
        import os, sys
        from velostream.state.rocksdb import RocksDBStore
        from velostream.state.sqlite import SQLiteStore
        from velostream.state import WriteBatch
        cls = {{"rocksdb": RocksDBStore, "sqlite": SQLiteStore}}[{durable_opener.name!r}]
        s = cls({str(durable_opener.path)!r})
        b = WriteBatch()
        for i in range(1000):
            b.put("agg", i.to_bytes(4, "big"), b"committed")
        b.put("pos", b"src", b"1000")
        s.write(b)
        s.commit()
        b = WriteBatch()
        b.put("agg", (0).to_bytes(4, "big"), b"committed")
        s.commit(b)                                   # a commit with a batch
        for round in range(20):
            b = WriteBatch()
            for i in range(1000):
                b.put("agg", (i + 1000 * round).to_bytes(4, "big"), b"x" * 200)
            b.put("pos", b"src", b"later")
            s.write(b)
        sys.stdout.write("ready\\n")
        sys.stdout.flush()
        sys.stdin.read()
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env={**os.environ})
    assert proc.stdout.readline() == b"ready\n"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    s = durable_opener()
    assert s.table("pos").get(b"src") == b"1000"
    rows = list(s.table("agg").range())
    assert len(rows) == 1000 and {v for _, v in rows} == {b"committed"}


def test_commit_with_a_batch_then_uncommitted_writes_then_reopen(durable_opener):
    """Both RocksDB commit paths: a synced batch (live/ is the commit) and, after uncommitted
    writes, a checkpoint to come back to."""
    s = durable_opener()
    for n in range(3):
        b = WriteBatch()
        b.put("agg", b"k", b"%d" % n)
        b.put("pos", b"src", b"%d" % n)
        s.commit(b)
    s.close()
    s = durable_opener()
    assert s.table("agg").get(b"k") == b"2" and s.table("pos").get(b"src") == b"2"
    s.put("agg", b"k", b"spilled")                  # uncommitted
    s.put("agg", b"other", b"spilled")
    b = WriteBatch()
    b.put("pos", b"src", b"3")
    s.commit(b)                                     # commits the spills too
    s.put("agg", b"k", b"after")                    # uncommitted again
    s.close()
    s = durable_opener()
    assert dict(s.table("agg").range()) == {b"k": b"spilled", b"other": b"spilled"}
    assert s.table("pos").get(b"src") == b"3"
    s.commit()
    s.close()
    s = durable_opener()
    assert s.table("agg").get(b"k") == b"spilled"
