"""W2's aggregates without the window and the codecs: COUNT(*), SUM(quantity), AVG(price),
MIN(price), MAX(price) GROUP BY symbol over 1,000,000 trades already in columns, with 100 and with
100,000 symbols. Measures the aggregate kernel (``_core/aggregate``: ``GroupTable.assign`` and
five accumulators per 8192-row batch, then one result column per aggregate).

Baselines, in the same run: a Python dict loop over the same rows as tuples (exact
``decimal.Decimal`` prices, and ``float`` prices), and DuckDB with one thread over a table loaded
beforehand (``GROUP BY symbol``; loading is not timed). ``price`` is DECIMAL(18,4), ``quantity``
BIGINT.

Run as pytest-benchmark files (see perf/README.md), or directly for a compact table::

    python3 perf/bench_aggregate.py
"""

import csv
import os
import random
import statistics
import tempfile
import time
from array import array
from decimal import Decimal

import pytest

from velostream._core import batch as B
from velostream._core.aggregate import TAG_DECIMAL, TAG_INT64, Accumulator, GroupTable
from velostream._core.decimal import ScaledInteger

N = 1_000_000
BATCH = 8192
KEYS = (100, 100_000)


class Data:
    """The trades of one key count: Python rows (tuples) and 8192-row column batches."""

    def __init__(self, keys):
        rng = random.Random(keys)
        names = [f"S{k:06d}" for k in range(keys)]
        # prices and quantities from pools: the rows share objects, so 1M rows fit in memory
        cents = [rng.randrange(1_0000, 500_0000) for _ in range(4096)]
        dec = [Decimal(c).scaleb(-4) for c in cents]
        flt = [float(d) for d in dec]
        si = [ScaledInteger.from_parts(c, 4) for c in cents]
        pick = [rng.randrange(4096) for _ in range(N)]
        sym = [names[rng.randrange(keys)] for _ in range(N)]
        qty = [rng.randrange(1, 1001) for _ in range(N)]
        self.rows_dec = list(zip(sym, qty, [dec[i] for i in pick]))
        self.rows_float = list(zip(sym, qty, [flt[i] for i in pick]))
        self.batches = []
        for start in range(0, N, BATCH):
            end = min(N, start + BATCH)
            self.batches.append((B.string_column(sym[start:end]),
                                 B.int64_column(qty[start:end]),
                                 B.decimal_column([si[i] for i in pick[start:end]], 4)))
        self._sql = None

    def duckdb(self):
        """A one-thread DuckDB connection holding table t (loaded from a CSV once)."""
        import duckdb
        if self._sql is None:
            fd, path = tempfile.mkstemp(suffix=".csv")
            with os.fdopen(fd, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["symbol", "quantity", "price"])
                w.writerows(self.rows_dec)
            con = duckdb.connect()
            con.execute("SET threads = 1")
            con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}', header = true, "
                        "columns = {'symbol': 'VARCHAR', 'quantity': 'BIGINT', "
                        "'price': 'DECIMAL(18, 4)'})")
            os.unlink(path)
            self._sql = con
        return self._sql


_DATA = {}


def data(keys):
    if keys not in _DATA:
        _DATA.clear()           # one key count in memory at a time
        _DATA[keys] = Data(keys)
    return _DATA[keys]


# --------------------------------------------------------------------------- implementations

def kernel(d):
    table = GroupTable(1)
    count = Accumulator("count_star")
    total = Accumulator("sum", TAG_INT64)
    avg = Accumulator("avg", TAG_DECIMAL)
    lo = Accumulator("min", TAG_DECIMAL)
    hi = Accumulator("max", TAG_DECIMAL)
    for sym, qty, price in d.batches:
        n = sym.length
        g = table.assign([sym], n)
        count.update(g, None, n)
        total.update(g, qty, n)
        avg.update(g, price, n)
        lo.update(g, price, n)
        hi.update(g, price, n)
    every = array("q", range(table.live))
    return (table.keys(every)[0], count.result(every), total.result(every), avg.result(every),
            lo.result(every), hi.result(every))


def python_loop(rows):
    groups = {}
    for sym, qty, price in rows:
        st = groups.get(sym)
        if st is None:
            groups[sym] = [1, qty, price, price, price]
        else:
            st[0] += 1
            st[1] += qty
            st[2] += price
            # comparisons, not min()/max() calls: the fastest plain Python loop
            if price < st[3]:  # noqa: PLR1730
                st[3] = price
            if price > st[4]:  # noqa: PLR1730
                st[4] = price
    return {k: (c, q, p / c, lo, hi) for k, (c, q, p, lo, hi) in groups.items()}


SQL = ("SELECT symbol, count(*), sum(quantity), avg(price), min(price), max(price) "
       "FROM t GROUP BY symbol")


def duckdb_query(con):
    return con.execute(SQL).fetchall()


def _check(d):
    keys, count, total, avg, lo, hi = kernel(d)
    want = python_loop(d.rows_dec)
    assert len(want) == keys.length
    for i, k in enumerate(keys.to_pylist()[:50]):
        c, q, p, mn, mx = want[k]
        assert (count[i], total[i]) == (c, q)
        assert lo[i].to_decimal() == mn and hi[i].to_decimal() == mx
        assert abs(avg[i].to_decimal() - p) <= Decimal("0.00005")


# --------------------------------------------------------------------------- pytest-benchmark

IMPLS = ["kernel", "python_decimal", "python_float", "duckdb_1_thread"]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("keys", KEYS)
def test_aggregate(benchmark, keys, impl):
    d = data(keys)
    benchmark.group = f"aggregate: W2's five aggregates by symbol, 1M rows, {keys} keys"
    benchmark.extra_info.update(ops=N, baseline=impl != "kernel")
    if impl == "kernel":
        _check(d)
        fn, arg = kernel, d
    elif impl == "python_decimal":
        fn, arg = python_loop, d.rows_dec
    elif impl == "python_float":
        fn, arg = python_loop, d.rows_float
    else:
        pytest.importorskip("duckdb")
        fn, arg = duckdb_query, d.duckdb()
    benchmark.pedantic(fn, args=(arg,), rounds=3, iterations=1, warmup_rounds=1)


# --------------------------------------------------------------------------- direct run

def _median_ms(fn, arg, repeat=3):
    fn(arg)
    times = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        fn(arg)
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1e6


def main():
    print(f"{N} rows, batches of {BATCH}; median of 3 runs, ms")
    print(f"{'keys':>7} {'kernel':>8} {'py Decimal':>11} {'py float':>9} {'duckdb 1t':>10}")
    for keys in KEYS:
        d = data(keys)
        _check(d)
        k = _median_ms(kernel, d)
        pd = _median_ms(python_loop, d.rows_dec)
        pf = _median_ms(python_loop, d.rows_float)
        dk = _median_ms(duckdb_query, d.duckdb())
        print(f"{keys:>7} {k:>8.1f} {pd:>11.1f} {pf:>9.1f} {dk:>10.1f}")


if __name__ == "__main__":
    main()
