"""The bounded write-back cache: reads and writes as a dict would, within its byte budget."""

import random

import pytest

from velostream.state import WriteBatch
from velostream.state.cache import ENTRY_OVERHEAD, StateCache


def test_reads_and_writes_like_a_dict_within_the_budget(store):
    budget = 64 * 1024
    cache = StateCache(store, budget)
    t = cache.table("agg")
    model = {}
    rng = random.Random(7)
    for step in range(20_000):
        key = rng.randrange(5000).to_bytes(4, "big")
        op = rng.random()
        if op < 0.6:
            value = bytes(rng.randrange(40))
            t.put(key, value)
            model[key] = value
        elif op < 0.7:
            t.delete(key)
            model.pop(key, None)
        else:
            assert t.get(key) == model.get(key)
        assert cache.bytes <= budget
        if step % 5000 == 0:
            assert list(t.range()) == sorted(model.items())
    held = sum(len(k) + len(v[0] or b"") + ENTRY_OVERHEAD for (_, k), v in cache._entries.items())
    assert held == cache.bytes and cache.peak_bytes <= budget
    assert len(cache) < 5000 and cache.spilled > 0          # it did have to write out
    assert dict(t.scan()) == model


def test_the_bound_holds_for_a_million_keys_worth_of_bytes(store):
    """1 MiB budget, 12 MiB of distinct state: what is held stays within the budget."""
    budget = 1 << 20
    cache = StateCache(store, budget)
    t = cache.table("w")
    n = 60_000
    for i in range(n):
        t.put(i.to_bytes(8, "big"), b"v" * 40)
        if i % 1000 == 0:
            assert cache.bytes <= budget and len(cache) <= budget // ENTRY_OVERHEAD
    assert cache.peak_bytes <= budget
    assert n * (8 + 40 + ENTRY_OVERHEAD) > 10 * budget
    assert t.get((0).to_bytes(8, "big")) == b"v" * 40 and t.get((n - 1).to_bytes(8, "big"))
    assert sum(1 for _ in t.range()) == n


def test_checkpoint_commits_state_and_positions_together(durable_opener):
    store = durable_opener()
    cache = StateCache(store, 32 * 1024)
    t = cache.table("agg")
    for i in range(2000):                        # spills past the budget before the checkpoint
        t.put(i.to_bytes(4, "big"), b"one")
    positions = WriteBatch()
    positions.put("positions", b"src", b"2000")
    cache.checkpoint(positions)
    for i in range(2000):
        t.put(i.to_bytes(4, "big"), b"two")      # after the checkpoint: spilled, not committed
    assert cache.spilled > 2000
    store.close()
    store = durable_opener()
    assert store.table("positions").get(b"src") == b"2000"
    assert {v for _, v in store.table("agg").range()} == {b"one"}
    assert sum(1 for _ in store.table("agg").range()) == 2000


def test_deletes_and_range_deletes_reach_the_store(store):
    cache = StateCache(store, 16 * 1024)
    t = cache.table("w")
    store.put("w", b"a1", b"old")
    assert t.get(b"a1") == b"old"                   # read through, then held clean
    t.delete(b"a1")
    t.put(b"a2", b"x")
    t.put(b"b1", b"y")
    assert b"a1" not in t and list(t.scan(b"a")) == [(b"a2", b"x")]
    t.put(b"a3", b"z")
    t.delete_range(b"a", b"b")
    assert t.get(b"a3") is None and list(t.range()) == [(b"b1", b"y")]
    cache.checkpoint()
    assert list(store.table("w").range()) == [(b"b1", b"y")] and cache.dirty == 0


def test_a_clean_reread_never_loses_a_write(store):
    cache = StateCache(store, 16 * 1024)
    t = cache.table("t")
    t.put(b"k", b"new")
    assert t.get(b"k") == b"new" and cache.dirty == 1
    cache.write_out()
    assert store.table("t").get(b"k") == b"new" and cache.dirty == 0


def test_a_tiny_budget_is_refused(store):
    with pytest.raises(ValueError, match="too small"):
        StateCache(store, 100)
