"""Window functions (``f(…) OVER (…)``) end to end, with DuckDB as the oracle.

The inputs are bounded and sorted by the ORDER BY column (ties broken by arrival, which DuckDB
sees as the ``seq`` column), where the streaming semantics and SQL's agree; small batch sizes make
the partition state cross batch boundaries. The streaming-only behaviours (out-of-order rows,
emission order, state bounds, snapshot/restore) have their own tests.
"""

import json
import random
from decimal import Decimal

import duckdb
import pytest
from click.testing import CliRunner

from velostream.cli.main import cli


def make_rows(n=120, seed=7, symbols=("A", "B", "C"), nulls=True):
    rnd = random.Random(seed)
    rows, ts = [], 1_700_000_000_000
    for i in range(n):
        ts += rnd.choice([0, 500, 1000, 1000, 2500])          # ties on purpose
        price = None if nulls and rnd.random() < 0.08 else round(rnd.uniform(90, 110), 2)
        rows.append({"seq": i, "symbol": rnd.choice(symbols), "ts": ts,
                     "price": price, "qty": rnd.randint(1, 500),
                     "f": rnd.uniform(-1, 1)})
    return rows


@pytest.fixture
def data(tmp_path):
    def write(rows, batch=7):
        path = tmp_path / "t.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return (f" FROM t WITH ('t.type' = 'file_source', 't.path' = '{path}', "
                f"'t.format' = 'jsonl', 'batch.size' = '{batch}')")
    return write


def run(sql):
    result = CliRunner().invoke(cli, ["execute", "--query", sql, "--format", "json-lines"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def oracle(rows, select):
    con = duckdb.connect()
    con.execute("CREATE TABLE t (seq BIGINT, symbol VARCHAR, ts BIGINT, price DECIMAL(18,2), "
                "qty BIGINT, f DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)",
                    [(r["seq"], r["symbol"], r["ts"], r["price"], r["qty"], r["f"])
                     for r in rows])
    cur = con.execute(f"SELECT seq, {select} FROM t ORDER BY seq")
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names[1:], r[1:])) for r in cur.fetchall()}


def same(ours, theirs):
    if theirs is None or ours is None:
        return ours is None and theirs is None
    if isinstance(theirs, float):
        return abs(float(ours) - theirs) <= 1e-9 * max(1.0, abs(theirs))
    if isinstance(theirs, Decimal):
        return Decimal(str(ours)) == theirs
    return ours == theirs


# (our SELECT expression, DuckDB's: the same unless the spelling differs)
W = "PARTITION BY symbol ORDER BY ts"
CASES = [
    f"LAG(price) OVER ({W})",
    f"LAG(price, 3) OVER ({W})",
    f"LAG(qty, 2, -1) OVER ({W})",
    f"LEAD(price) OVER ({W})",
    f"LEAD(qty, 2, 0) OVER ({W})",
    f"ROW_NUMBER() OVER ({W})",
    f"RANK() OVER ({W})",
    f"DENSE_RANK() OVER ({W})",
    f"FIRST_VALUE(price) OVER ({W} ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)",
    f"LAST_VALUE(qty) OVER ({W} ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING)",
    f"NTH_VALUE(qty, 2) OVER ({W} ROWS BETWEEN 3 PRECEDING AND CURRENT ROW)",
    f"FIRST_VALUE(qty) OVER ({W})",
    f"NTH_VALUE(qty, 3) OVER ({W})",
    f"LAST_VALUE(qty) OVER ({W})",
    f"SUM(qty) OVER ({W} ROWS BETWEEN 4 PRECEDING AND CURRENT ROW)",
    f"AVG(f) OVER ({W} ROWS BETWEEN 4 PRECEDING AND CURRENT ROW)",
    f"SUM(f) OVER ({W} ROWS BETWEEN 2 PRECEDING AND 2 FOLLOWING)",
    f"COUNT(price) OVER ({W} ROWS BETWEEN 4 PRECEDING AND CURRENT ROW)",
    f"COUNT(*) OVER ({W} ROWS BETWEEN 4 PRECEDING AND 1 PRECEDING)",
    f"MIN(price) OVER ({W} ROWS BETWEEN 3 PRECEDING AND CURRENT ROW)",
    f"MAX(f) OVER ({W} ROWS BETWEEN 5 PRECEDING AND CURRENT ROW)",
    f"MIN(qty) OVER ({W})",
    f"MAX(price) OVER ({W} ROWS UNBOUNDED PRECEDING)",
    f"SUM(qty) OVER ({W})",
    f"COUNT(*) OVER ({W})",
    f"SUM(qty) OVER ({W} RANGE BETWEEN 3000 PRECEDING AND CURRENT ROW)",
    f"AVG(f) OVER ({W} RANGE BETWEEN 5000 PRECEDING AND CURRENT ROW)",
    f"MAX(qty) OVER ({W} RANGE BETWEEN 2000 PRECEDING AND 1000 FOLLOWING)",
    f"COUNT(*) OVER ({W} RANGE BETWEEN 1000 PRECEDING AND 1000 FOLLOWING)",
    "SUM(qty) OVER (ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW)",
    "RANK() OVER (ORDER BY ts)",
    "ROW_NUMBER() OVER (PARTITION BY symbol, qty > 250 ORDER BY ts)",
]


@pytest.mark.parametrize("batch", [1, 7, 1000])
@pytest.mark.parametrize("expr", CASES)
def test_matches_duckdb(data, expr, batch):
    rows = make_rows()
    ours = run(f"SELECT seq, {expr} AS v" + data(rows, batch))
    theirs = oracle(rows, f"{expr} AS v")
    assert sorted(r["seq"] for r in ours) == sorted(theirs)          # every row once
    bad = [(r["seq"], r["v"], theirs[r["seq"]]["v"]) for r in ours
           if not same(r["v"], theirs[r["seq"]]["v"])]
    assert not bad, bad[:5]


def test_decimal_sum_and_avg_are_exact(data):
    rows = [{"seq": i, "symbol": "A", "ts": i, "price": None, "qty": 1, "f": 0.0,
             "p": f"{i}.{i % 100:02d}01"} for i in range(40)]
    got = run("SELECT seq, SUM(CAST(p AS DECIMAL(18,4))) OVER (ORDER BY ts ROWS BETWEEN 2 "
              "PRECEDING AND CURRENT ROW) AS s, AVG(CAST(p AS DECIMAL(18,4))) OVER (ORDER BY ts "
              "ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS a" + data(rows, 3))
    ps = [Decimal(r["p"]) for r in rows]
    for r in got:
        i = r["seq"]
        frame = ps[max(0, i - 2):i + 1]
        assert Decimal(r["s"]) == sum(frame)
        assert r["s"] == str(sum(frame))                    # scale 4 kept, no float
        avg = (sum(frame) / len(frame)).quantize(Decimal("0.00000001"),
                                                 rounding="ROUND_HALF_EVEN")
        assert Decimal(r["a"]) == avg


def test_buffer_form_is_the_last_n_rows_of_the_partition(data):
    rows = make_rows(60, nulls=False)
    ours = run("SELECT seq, AVG(f) OVER (ROWS WINDOW BUFFER 5 ROWS PARTITION BY symbol) AS v"
               + data(rows, 4))
    theirs = oracle(rows, "AVG(f) OVER (PARTITION BY symbol ORDER BY seq ROWS BETWEEN 4 "
                          "PRECEDING AND CURRENT ROW) AS v")
    assert all(same(r["v"], theirs[r["seq"]]["v"]) for r in ours)
    assert len(ours) == 60


def test_buffer_form_with_partition_and_order(data):
    rows = make_rows(60, nulls=False)
    ours = run("SELECT seq, SUM(qty) OVER (ROWS WINDOW BUFFER 3 ROWS PARTITION BY symbol ORDER "
               "BY ts) AS v" + data(rows, 5))
    theirs = oracle(rows, "SUM(qty) OVER (PARTITION BY symbol ORDER BY ts ROWS BETWEEN 2 "
                          "PRECEDING AND CURRENT ROW) AS v")
    assert all(same(r["v"], theirs[r["seq"]]["v"]) for r in ours)


def test_without_waiting_functions_output_keeps_input_order(data):
    rows = make_rows(50)
    ours = run(f"SELECT seq, LAG(price) OVER ({W}) AS l, SUM(qty) OVER ({W} ROWS 3 PRECEDING) "
               "AS s" + data(rows, 6))
    assert [r["seq"] for r in ours] == list(range(50))


def test_lead_emits_a_row_when_the_next_row_of_its_partition_arrives(data):
    rows = [{"seq": 0, "symbol": "A", "ts": 1}, {"seq": 1, "symbol": "B", "ts": 2},
            {"seq": 2, "symbol": "A", "ts": 3}, {"seq": 3, "symbol": "A", "ts": 4},
            {"seq": 4, "symbol": "B", "ts": 5}]
    ours = run(f"SELECT seq, LEAD(seq) OVER ({W}) AS nxt" + data(rows, 1))
    # A0 when A2 arrives, A2 when A3 arrives, B1 when B4 arrives; A3 and B4 at the end.
    assert [(r["seq"], r["nxt"]) for r in ours] == [(0, 2), (2, 3), (1, 4), (3, None),
                                                    (4, None)]


def test_out_of_order_rows_are_processed_in_arrival_order(data):
    rows = [{"seq": 0, "symbol": "A", "ts": 10, "qty": 1}, {"seq": 1, "symbol": "A", "ts": 30,
                                                             "qty": 2},
            {"seq": 2, "symbol": "A", "ts": 20, "qty": 3}]
    ours = run(f"SELECT seq, LAG(qty) OVER ({W}) AS l, ROW_NUMBER() OVER ({W}) AS n"
               + data(rows, 1))
    assert [(r["seq"], r["l"], r["n"]) for r in ours] == [(0, None, 1), (1, 1, 2), (2, 2, 3)]


def test_window_function_inside_an_expression_and_where(data):
    rows = make_rows(80, nulls=False)
    sql = (f"SELECT seq, CASE WHEN price > LAG(price, 1) OVER ({W}) * 1.01 THEN 'UP' "
           f"ELSE 'FLAT' END AS m, price - LAG(price) OVER ({W}) AS d")
    ours = run(sql + data(rows, 9).replace(" WITH", " WHERE qty > 100 WITH"))
    theirs = duckdb.connect()
    expected = oracle([r for r in rows if r["qty"] > 100],
                      f"CASE WHEN price > LAG(price, 1) OVER ({W}) * 1.01 THEN 'UP' ELSE 'FLAT' "
                      f"END AS m, price - LAG(price) OVER ({W}) AS d")
    del theirs
    assert len(ours) == len(expected)
    for r in ours:
        assert r["m"] == expected[r["seq"]]["m"]
        assert same(r["d"], expected[r["seq"]]["d"])


def test_star_does_not_show_the_hidden_columns(data):
    rows = make_rows(5, nulls=False)
    ours = run(f"SELECT *, ROW_NUMBER() OVER ({W}) AS n" + data(rows))
    assert set(ours[0]) == {"seq", "symbol", "ts", "price", "qty", "f", "n"}


def test_state_is_bounded_by_the_frame():
    from velostream._core.batch import RecordBatch
    from velostream.grammar import parse_sql
    from velostream.plan.bind import bind_statement
    from velostream.plan.physical import plan_job
    from velostream.runtime.window_functions import WindowFunctionOperator

    sql = ("SELECT LAG(x, 2) OVER (PARTITION BY k ORDER BY ts) AS l, AVG(x) OVER (PARTITION BY "
           "k ORDER BY ts ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS a, ROW_NUMBER() OVER "
           "(PARTITION BY k ORDER BY ts) AS n FROM t WITH ('t.type'='file_source', "
           "'t.path'='x.jsonl')")
    plan = bind_statement(parse_sql(sql).statements[0], default_sink="stdout_sink")
    node = next(n for n in plan_job(plan).nodes() if n.kind == "WindowFunction")
    op = WindowFunctionOperator(node)
    for b in range(50):
        rows = [{"k": i % 10, "ts": b * 100 + i, "x": float(i)} for i in range(100)]
        out = op.process(RecordBatch.from_pylist(rows))
        assert sum(x.length for x in out.batches) == 100
        assert op.kernel.retained <= 10 * 5            # 4 preceding + the current row
        assert op._size <= 2 * 10 * 5 + 4096        # dead rows are compacted away
    assert "state=<= 5 rows per partition" in "\n".join(node.details())


SNAPSHOT_CALLS = [
    ("LAG(x) OVER (PARTITION BY k ORDER BY ts) AS l, LEAD(x) OVER (PARTITION BY k ORDER BY ts) "
     "AS nx, RANK() OVER (PARTITION BY k ORDER BY ts) AS r"),
    ("SUM(x) OVER (PARTITION BY k ORDER BY ts ROWS 2 PRECEDING) AS s, AVG(d) OVER (PARTITION BY "
     "k ORDER BY ts ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING) AS a"),
    ("MIN(d) OVER (PARTITION BY k ORDER BY ts) AS mn, FIRST_VALUE(t) OVER (PARTITION BY k ORDER "
     "BY ts) AS fv, NTH_VALUE(x, 2) OVER (PARTITION BY k ORDER BY ts) AS nv, SUM(d) OVER "
     "(PARTITION BY k ORDER BY ts RANGE BETWEEN 15 PRECEDING AND CURRENT ROW) AS rs"),
]


@pytest.mark.parametrize("split", [1, 3, 5])
@pytest.mark.parametrize("calls", SNAPSHOT_CALLS)
def test_snapshot_and_restore_continue_the_partitions(calls, split):
    import datetime as dt

    from velostream._core.batch import RecordBatch
    from velostream._core.decimal import ScaledInteger
    from velostream.grammar import parse_sql
    from velostream.plan.bind import bind_statement
    from velostream.plan.physical import plan_job
    from velostream.runtime.window_functions import WindowFunctionOperator
    from velostream.state.store import MemoryStore

    sql = (f"SELECT {calls} FROM t WITH ('t.type'='file_source', 't.path'='x.jsonl')")
    plan = bind_statement(parse_sql(sql).statements[0], default_sink="stdout_sink")
    node = next(n for n in plan_job(plan).nodes() if n.kind == "WindowFunction")
    epoch = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    batches = [RecordBatch.from_pylist([
        {"k": f"k{i % 3}", "ts": b * 10 + i // 2, "x": b * 10 + i,
         "d": ScaledInteger(f"{(b * 37 + i * 11) % 50}.{i}5"),
         "t": epoch + dt.timedelta(milliseconds=b * 1000 + i)} for i in range(10)])
        for b in range(6)]

    def rows(outs):
        return [r for o in outs for b in o.batches for r in b.to_pylist()]

    whole = WindowFunctionOperator(node)
    expected = rows([whole.process(b) for b in batches] + [whole.finish()])
    first = WindowFunctionOperator(node)
    got = rows([first.process(b) for b in batches[:split]])
    store = MemoryStore()
    first.snapshot(store)
    second = WindowFunctionOperator(node)
    second.restore(store)
    got += rows([second.process(b) for b in batches[split:]] + [second.finish()])
    assert got == expected
    assert len(got) == 60


def test_many_partitions_small_batches_match_duckdb(data):
    """Segments and compaction: 400 partitions, batches of 3 rows."""
    rows = make_rows(1500, symbols=tuple(f"S{i}" for i in range(400)))
    expr = (f"LAG(qty) OVER ({W}) AS a, SUM(qty) OVER ({W} ROWS 2 PRECEDING) AS b, "
            f"MIN(price) OVER ({W}) AS c, FIRST_VALUE(qty) OVER ({W}) AS e")
    ours = run(f"SELECT seq, {expr}" + data(rows, 3))
    theirs = oracle(rows, expr)
    assert len(ours) == 1500
    for r in ours:
        for key in "abce":
            assert same(r[key], theirs[r["seq"]][key]), (r, theirs[r["seq"]])


@pytest.mark.parametrize("sql, message", [
    ("SELECT NTILE(4) OVER (ORDER BY ts) AS q", "NTILE(…) OVER (…) is not supported"),
    ("SELECT SUM(qty) OVER (ORDER BY ts ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS s",
     "UNBOUNDED FOLLOWING"),
    (("SELECT SUM(qty) OVER (ORDER BY ts ROWS BETWEEN INTERVAL '1' MINUTE PRECEDING AND "
      "CURRENT ROW) AS s"), "a ROWS frame counts rows"),
    ("SELECT SUM(qty) OVER (ORDER BY symbol RANGE BETWEEN 5 PRECEDING AND CURRENT ROW) AS s",
     "needs one non-NULL BIGINT or TIMESTAMP"),
])
def test_refused_forms_say_why(data, sql, message):
    rows = make_rows(5, nulls=False)
    result = CliRunner().invoke(cli, ["execute", "--query", sql + data(rows)])
    assert result.exit_code != 0
    assert message in result.output


def test_explain_shows_partition_order_frame_and_state(data):
    rows = make_rows(5)
    result = CliRunner().invoke(cli, ["explain", "--query", "SELECT AVG(price) OVER (PARTITION "
                                      "BY symbol ORDER BY ts ROWS BETWEEN 4 PRECEDING AND "
                                      "CURRENT ROW) AS ma" + data(rows)])
    text = result.output
    assert "WindowFunction: partition=[symbol], order=[ts]" in text, text
    assert "ROWS BETWEEN 4 PRECEDING AND CURRENT ROW" in text
    assert "state=<= 5 rows per partition" in text


# --------------------------------------------------------------------------- the documents' queries

def _market_data(path, n=60):
    rnd = random.Random(3)
    rows, ts = [], 1_700_000_000_000
    for i in range(n):
        ts += 1000
        rows.append({"seq": i, "symbol": rnd.choice("XY"), "timestamp": ts,
                     "price": round(rnd.uniform(95, 105) * (1.1 if i % 7 == 0 else 1), 4),
                     "volume": rnd.randint(500, 3000)})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def _duck(rows, sql):
    con = duckdb.connect()
    con.execute("CREATE TABLE t (seq BIGINT, symbol VARCHAR, timestamp BIGINT, "
                "price DECIMAL(18,4), volume BIGINT)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)",
                    [(r["seq"], r["symbol"], r["timestamp"], str(r["price"]), r["volume"])
                     for r in rows])
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def test_deployment_summary_moving_average(tmp_path):
    """spec/deployment-summary.md (corpus deployment-summary-cli-13.sql): AVG of a DECIMAL(18,4)
    over the last 5 rows per symbol, exact (scale 4 + 4)."""
    from tests.corpus import corpus_text

    sql = corpus_text("deployment-summary-cli-13.sql")
    rows = _market_data(tmp_path / "trades.jsonl")
    result = CliRunner().invoke(cli, [
        "execute", "--query", sql, "-p", "trades.type=file_source", "-p",
        f"trades.path={tmp_path / 'trades.jsonl'}", "-p", "trades.format=jsonl",
        "--format", "json-lines"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    ours = [json.loads(line) for line in result.stdout.splitlines()]
    theirs = _duck(rows, "SELECT symbol, AVG(price) OVER (PARTITION BY symbol ORDER BY timestamp "
                         "ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS m, SUM(price) OVER "
                         "(PARTITION BY symbol ORDER BY timestamp ROWS BETWEEN 4 PRECEDING AND "
                         "CURRENT ROW) AS s, COUNT(*) OVER (PARTITION BY symbol ORDER BY "
                         "timestamp ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS c FROM t "
                         "ORDER BY seq")
    assert len(ours) == len(theirs) == 60
    for mine, duck in zip(ours, theirs):
        exact = (duck["s"] / duck["c"]).quantize(Decimal("0.00000001"), "ROUND_HALF_EVEN")
        assert mine["symbol"] == duck["symbol"]
        assert mine["moving_avg_5"] == str(exact)


def test_operations_guide_price_monitor(tmp_path):
    """spec/operations-guide.md (corpus operations-guide-11.sql, job price_monitor): LAG three
    times (computed once) inside CASE, after WHERE."""
    from tests.corpus import corpus_text

    text = corpus_text("operations-guide-11.sql")
    start = text.index("START JOB price_monitor AS") + len("START JOB price_monitor AS")
    sql = text[start:text.index(";", start)]
    rows = _market_data(tmp_path / "md.jsonl")
    result = CliRunner().invoke(cli, [
        "execute", "--query", sql, "-p", "market_data.type=file_source", "-p",
        f"market_data.path={tmp_path / 'md.jsonl'}", "-p", "market_data.format=jsonl",
        "--format", "json-lines"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    ours = [json.loads(line) for line in result.stdout.splitlines()]
    theirs = _duck(rows, sql.replace("FROM market_data", "FROM t") + " ORDER BY seq")
    assert len(ours) == len(theirs) > 0
    assert {r["price_movement"] for r in ours} >= {"NORMAL", "SPIKE_UP"}
    for mine, duck in zip(ours, theirs):
        assert mine["price_movement"] == duck["price_movement"]
        assert (mine["previous_price"] is None) == (duck["previous_price"] is None)
        if duck["previous_price"] is not None:
            assert Decimal(mine["previous_price"]) == duck["previous_price"]


def test_range_interval_over_event_time(data):
    rows = make_rows(150, nulls=False)
    sql = data(rows, 8).replace("'batch.size'", "'t.event.time.field' = 'ts', 'batch.size'")
    ours = run("SELECT seq, SUM(qty) OVER (PARTITION BY symbol ORDER BY _event_time RANGE "
               "BETWEEN INTERVAL '3' SECOND PRECEDING AND CURRENT ROW) AS v, AVG(f) OVER "
               "(PARTITION BY symbol ORDER BY _event_time RANGE BETWEEN INTERVAL 5 SECONDS "
               "PRECEDING AND CURRENT ROW) AS w" + sql)
    theirs = oracle(rows, f"SUM(qty) OVER ({W} RANGE BETWEEN 3000 PRECEDING AND CURRENT ROW) "
                          f"AS v, AVG(f) OVER ({W} RANGE BETWEEN 5000 PRECEDING AND CURRENT "
                          "ROW) AS w")
    assert len(ours) == 150
    for r in ours:
        assert same(r["v"], theirs[r["seq"]]["v"]) and same(r["w"], theirs[r["seq"]]["w"])
