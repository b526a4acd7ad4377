"""Windows on event time end to end (DIALECT §5): TUMBLING and HOPPING / SLIDING(size, advance)
against DuckDB (GROUP BY symbol, floor(ts / size)), every spelling of the durations, SESSION
windows that merge when a record bridges two, _window_start / _window_end and TUMBLE_START /
TUMBLE_END, windowed EMIT FINAL (the default) and EMIT CHANGES, and the operator's closing of
windows by watermark."""

import datetime
import json
from array import array
from decimal import Decimal

import pytest
from click.testing import CliRunner

from tests.runtime.conftest import duckdb_trades as oracle
from tests.runtime.conftest import make_trades, source, write_jsonl
from velostream.cli.main import cli

duckdb = pytest.importorskip("duckdb")

EVENT = ", 'trades.event.time.field' = 'ts'"


def run(sql, *extra):
    result = CliRunner().invoke(cli, ["execute", "--query", sql, "--format", "json-lines",
                                      *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def iso(ms):
    moment = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(
        milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@pytest.fixture(scope="module")
def trades(tmp_path_factory):
    rows = make_trades(3000, seed=11)
    path = tmp_path_factory.mktemp("win") / "trades.jsonl"
    write_jsonl(path, rows)
    return path, rows


def key(r):
    return (r["ws"], r["symbol"])


def test_tumbling_matches_duckdb(trades):
    path, _ = trades
    got = run("SELECT symbol, COUNT(*) AS n, SUM(quantity) AS q, MAX(price) AS hi, "
              "_window_start AS ws, _window_end AS we FROM trades GROUP BY symbol "
              "WINDOW TUMBLING(1m) " + source(path, extra=EVENT))
    want = oracle(path, "SELECT symbol, COUNT(*) AS n, SUM(quantity) AS q, MAX(price) AS hi, "
                        "floor(ts / 60000) * 60000 AS ws FROM trades GROUP BY symbol, ws")
    assert len(got) == len(want) > 50
    for g, w in zip(sorted(got, key=key), sorted(want, key=lambda r: (iso(int(r["ws"])), r["symbol"]))):
        ws = int(w["ws"])
        assert g == {"symbol": w["symbol"], "n": w["n"], "q": w["q"], "hi": str(w["hi"]),
                     "ws": iso(ws), "we": iso(ws + 60000)}


def test_windows_are_emitted_in_window_order(trades):
    path, _ = trades
    got = run("SELECT symbol, _window_start AS ws FROM trades GROUP BY symbol WINDOW TUMBLING(1m) "
              + source(path, extra=EVENT))
    starts = [g["ws"] for g in got]
    assert starts == sorted(starts)


@pytest.mark.parametrize("window", ["HOPPING(60s, 20s)", "SLIDING(1m, 20s)",
                                    "HOPPING(INTERVAL 1 MINUTE, INTERVAL 20 SECONDS)"])
def test_hopping_matches_duckdb(trades, window):
    path, _ = trades
    got = run("SELECT symbol, COUNT(*) AS n, SUM(quantity) AS q, _window_start AS ws "
              f"FROM trades GROUP BY symbol WINDOW {window} " + source(path, extra=EVENT))
    want = oracle(path, """
        WITH w AS (SELECT symbol, quantity, unnest(range(CAST(floor((ts - 60000) / 20000) AS BIGINT) + 1,
                          CAST(floor(ts / 20000) AS BIGINT) + 1)) * 20000 AS ws FROM trades)
        SELECT symbol, COUNT(*) AS n, SUM(quantity) AS q, ws FROM w GROUP BY symbol, ws""")
    assert len(got) == len(want)
    assert sorted(got, key=key) == sorted(
        ({"symbol": w["symbol"], "n": w["n"], "q": w["q"], "ws": iso(int(w["ws"]))} for w in want),
        key=key)


@pytest.mark.parametrize("window", [
    "TUMBLING(5s)", "TUMBLING(5000ms)", "TUMBLING(5)", "TUMBLING(INTERVAL '5' SECOND)",
    "TUMBLING(INTERVAL 5 SECONDS)", "TUMBLING(ts, INTERVAL 5 SECONDS)", "HOPPING(5s, 5s)"])
def test_every_spelling_of_a_tumbling_window(tmp_path, window):
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"k": "a", "ts": t}) + "\n" for t in (0, 4999, 5000, 12000)))
    got = run(f"SELECT k, COUNT(*) AS n, TUMBLE_START(ts, INTERVAL 5 SECONDS) AS s, "
              f"TUMBLE_END(ts, INTERVAL 5 SECONDS) AS e FROM t GROUP BY k WINDOW {window} "
              + source(path, "t", extra=", 't.event.time.field' = 'ts'"))
    assert got == [{"k": "a", "n": 2, "s": iso(0), "e": iso(5000)},
                   {"k": "a", "n": 1, "s": iso(5000), "e": iso(10000)},
                   {"k": "a", "n": 1, "s": iso(10000), "e": iso(15000)}]


def test_window_without_group_by_and_emit_changes(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"ts": t}) + "\n" for t in (100, 200, 1100)))
    sql = "SELECT COUNT(*) AS n, _window_start AS ws FROM t WINDOW TUMBLING(1s) "
    extra = source(path, "t", extra=", 't.event.time.field' = 'ts'")
    assert run(sql + extra) == [{"n": 2, "ws": iso(0)}, {"n": 1, "ws": iso(1000)}]
    assert run(sql + "EMIT CHANGES " + extra) == [
        {"n": 1, "ws": iso(0)}, {"n": 2, "ws": iso(0)}, {"n": 1, "ws": iso(1000)}]


def test_session_windows_merge_when_a_record_bridges_two(tmp_path):
    path = tmp_path / "t.jsonl"
    # a: 0 and 2500 are separate sessions (gap 2s) until 1200 arrives (out of order, within
    # the allowed disorder) and bridges them; b: one session; a again at 10000: a new session.
    times = [("a", 0), ("b", 100), ("a", 2500), ("a", 1200), ("b", 1900), ("a", 10000)]
    path.write_text("".join(json.dumps({"k": k, "ts": t, "v": i}) + "\n"
                            for i, (k, t) in enumerate(times)))
    extra = source(path, "t", extra=", 't.event.time.field' = 'ts', "
                                    "'t.watermark.max_out_of_orderness' = '5s'")
    for spelling in ("SESSION(2s)", "SESSION (TIMEOUT 2 SECONDS)"):
        got = run("SELECT k, COUNT(*) AS n, SUM(v) AS sv, _window_start AS ws, "
                  f"_window_end AS we FROM t GROUP BY k WINDOW {spelling} " + extra)
        assert sorted(got, key=lambda r: (r["ws"], r["k"])) == [
            {"k": "a", "n": 3, "sv": 0 + 2 + 3, "ws": iso(0), "we": iso(4500)},
            {"k": "b", "n": 2, "sv": 1 + 4, "ws": iso(100), "we": iso(3900)},
            {"k": "a", "n": 1, "sv": 5, "ws": iso(10000), "we": iso(12000)}]


def test_one_argument_sliding_emits_the_window_ending_at_each_record(tmp_path):
    path = tmp_path / "t.jsonl"
    events = [("a", 0, 1), ("b", 200, 2), ("a", 800, 3), ("a", 1000, 4), ("a", 2500, 5),
              ("b", 1300, 6), ("a", 2000, 7)]
    path.write_text("".join(json.dumps({"k": k, "ts": t, "v": v}) + "\n" for k, t, v in events))
    got = run("SELECT k, COUNT(*) AS n, SUM(v) AS sv, _window_start AS ws, _window_end AS we "
              "FROM t GROUP BY k WINDOW SLIDING(1s) " + source(
                  path, "t", extra=", 't.event.time.field' = 'ts', "
                                   "'t.watermark.max_out_of_orderness' = '2s'"))
    # each record: its key's records so far (in arrival order) with time in [t - 1s, t]
    want = []
    for i, (k, t, _) in enumerate(events):
        inside = [v for kk, tt, v in events[:i + 1] if kk == k and t - 1000 <= tt <= t]
        want.append({"k": k, "n": len(inside), "sv": sum(inside), "ws": iso(t - 1000),
                     "we": iso(t)})
    assert got == want
    assert [g["n"] for g in got] == [1, 1, 2, 3, 1, 1, 2]


def test_explain_shows_window_and_emit(trades):
    path, _ = trades
    result = CliRunner().invoke(cli, ["execute", "--query", "EXPLAIN SELECT symbol, COUNT(*) AS n "
                                      "FROM trades GROUP BY symbol WINDOW HOPPING(1m, 30s) "
                                      "EMIT CHANGES " + source(path, extra=EVENT)])
    line = next(x for x in result.stdout.splitlines() if "Aggregate" in x)
    assert "window=HOPPING(60000ms, 30000ms)" in line and "emit=CHANGES" in line
    assert any("Watermark: source=trades" in x for x in result.stdout.splitlines())


# --------------------------------------------------------------------------- the operator

def _operator(sql):
    from velostream.grammar import parse_statement
    from velostream.plan.bind import bind_statement
    from velostream.plan.physical import AggregateNode, plan_job
    from velostream.runtime.aggregate import AggregateOperator

    plan = bind_statement(parse_statement(sql + " WITH ('t.type' = 'file_source', "
                                                "'t.path' = 'x.jsonl')"), default_sink="stdout")
    node = next(n for n in plan_job(plan).nodes() if isinstance(n, AggregateNode))
    return AggregateOperator(node)


def _batch(keys, times):
    from velostream._core import batch as B

    return B.RecordBatch(["k"], [B.string_column(keys)],
                         {"_event_time": B.int64_column(times, timestamp=True)})


def test_a_window_closes_when_the_watermark_passes_its_end_and_emits_once():
    op = _operator("SELECT k, COUNT(*) AS n FROM t GROUP BY k WINDOW TUMBLING(1s)")
    assert not op.process(_batch(["a", "b", "a"], [10, 20, 1500])).batches
    assert not op.on_watermark(999).batches
    out = op.on_watermark(1000)
    assert [b.to_pylist() for b in out.batches] == [[{"k": "a", "COUNT(*)": 1},
                                                     {"k": "b", "COUNT(*)": 1}]]
    assert not op.on_watermark(1500).batches           # emitted once, never again
    assert op._table.live == 1                          # the closed window's groups are gone
    assert [b.to_pylist() for b in op.finish().batches] == [[{"k": "a", "COUNT(*)": 1}]]


def test_window_assignment_kernel():
    from velostream._core import batch as B
    from velostream._core import windows as W

    times = B.int64_column([-1, 0, 999, 1000, None], timestamp=True)
    rows, starts, late, missing = W.assign_windows(times, 1000, 500, None, W.NO_WATERMARK, 0)
    # each row in every window [k*500, k*500 + 1000) holding it, by start
    assert list(zip(rows, starts)) == [
        (0, -1000), (0, -500), (1, -500), (1, 0), (2, 0), (2, 500), (3, 500), (3, 1000)]
    assert (list(late), list(missing)) == ([], [4])
    # watermark 1000: windows ending at or before 1000 are closed
    rows, starts, late, missing = W.assign_windows(times, 1000, 500, None, 1000, 0)
    assert list(zip(rows, starts)) == [(2, 500), (3, 500), (3, 1000)]
    assert list(late) == [0, 1]
    marks, top = W.prefix_watermarks(B.int64_column([5, 3, 9], timestamp=True), W.NO_WATERMARK, 1)
    assert top == 9 and [marks.get(i) is None for i in range(3)] == [True, False, False]
    assert array("q", [marks.data[1], marks.data[2]]) == array("q", [4, 4])


@pytest.mark.parametrize(("directive", "clause", "expected"), [
    ("TUMBLING (INTERVAL 1 SECOND)", "", "ok"),
    ("TUMBLING (INTERVAL 1 SECOND)", "WINDOW TUMBLING(1s)", "ok"),
    ("TUMBLING (INTERVAL 2 SECONDS)", "WINDOW TUMBLING(1s)", "differs from the query's WINDOW"),
])
def test_the_window_directive_gives_or_must_agree_with_the_window(tmp_path, directive, clause,
                                                                   expected):
    data = tmp_path / "t.jsonl"
    data.write_text("".join(json.dumps({"k": "a", "ts": t}) + "\n" for t in (0, 500, 1500)))
    app = tmp_path / "app.sql"
    app.write_text(f"-- JOB: j\n-- WINDOW: {directive}\nSELECT k, COUNT(*) AS n FROM t "
                   f"GROUP BY k {clause}\n" + source(data, "t", extra=", 't.event.time.field' = 'ts'")
                   + ";\n")
    result = CliRunner().invoke(cli, ["execute", "--file", str(app), "--job", "j", "--format",
                                      "json-lines"])
    if expected == "ok":
        assert result.exit_code == 0, result.output
        assert [json.loads(x) for x in result.stdout.splitlines()] == [
            {"k": "a", "n": 2}, {"k": "a", "n": 1}]
    else:
        assert result.exit_code == 1 and expected in result.stderr
        assert "app.sql:2" in result.stderr


# --------------------------------------------------------------------------- the corpus

def _corpus(name):
    from tests.corpus import CORPUS

    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"{name} is not beside this checkout")
    return path.read_text(encoding="utf-8").strip().rstrip(";") + " "


def test_corpus_tumbling_orders_per_customer(tmp_path):
    import random

    rng = random.Random(5)
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps({
        "customer_id": f"c{rng.randrange(6)}", "amount": f"{rng.uniform(1, 500):.2f}",
        "created_at": 1_700_000_000_000 + i * 1700}) + "\n" for i in range(400)).replace(
        '"amount": "', '"amount": ').replace('", "created_at"', ', "created_at"'))
    sql = _corpus("deployment-summary-cli-06.sql")
    got = run(sql + source(path, "orders", extra=", 'orders.event.time.field' = 'created_at'"))
    con = duckdb.connect()
    want = con.execute(f"""SELECT customer_id, COUNT(*) AS order_count,
        SUM(CAST(amount AS DECIMAL(18, 2))) AS total_amount
        FROM read_json_auto('{path}') GROUP BY customer_id, floor(created_at / 60000)
        ORDER BY floor(created_at / 60000), customer_id""").fetchall()
    assert len(got) == len(want) > 10
    assert sorted((g["customer_id"], g["order_count"], g["total_amount"]) for g in got) == sorted(
        (c, n, str(t)) for c, n, t in want)


def test_corpus_sensor_averages(tmp_path):
    import random

    rng = random.Random(9)
    path = tmp_path / "sensor_data.jsonl"
    path.write_text("".join(json.dumps({
        "device_id": f"d{rng.randrange(4)}", "sensor_type": rng.choice(["TEMPERATURE", "HUMIDITY"]),
        "value": rng.randrange(0, 1000) / 8, "timestamp": 1_700_000_000_000 + i * 9000}) + "\n"
        for i in range(300)))
    sql = _corpus("deployment-summary-cli-09.sql")
    got = run(sql + source(path, "sensor_data",
                           extra=", 'sensor_data.event.time.field' = 'timestamp'"))
    want = duckdb.connect().execute(f"""SELECT device_id, AVG(value), MAX(value), COUNT(*)
        FROM read_json_auto('{path}') WHERE sensor_type = 'TEMPERATURE'
        GROUP BY device_id, floor(timestamp / 300000)""").fetchall()
    assert len(got) == len(want) > 10
    assert sorted((g["device_id"], g["reading_count"], Decimal(str(g["max_temp"])),
                   round(float(g["avg_temp"]), 6)) for g in got) == sorted(
        (d, n, Decimal(str(m)), round(a, 6)) for d, a, m, n in want)


@pytest.mark.parametrize("shape", [
    "GROUP BY k EMIT FINAL", "GROUP BY k", "GROUP BY k WINDOW TUMBLING(1s)",
    "GROUP BY k WINDOW HOPPING(2s, 1s)", "GROUP BY k WINDOW SESSION(700ms)",
    "WINDOW TUMBLING(1s)", "GROUP BY k WINDOW SLIDING(2s)", "WINDOW SLIDING(1s)",
    "EMIT FINAL", ""])
def test_snapshot_and_restore_continue_where_the_state_was(shape):
    from velostream._core import batch as B
    from velostream.state.store import MemoryStore

    sql = f"SELECT k, COUNT(*) AS n, SUM(v) AS sv, MAX(d) AS md FROM t {shape}"
    if "GROUP BY" not in shape:
        sql = sql.replace("SELECT k, ", "SELECT ")
    keys = ["a", "b", "a", "c", "b", "a", "a", "c"]
    times = [0, 300, 900, 1200, 1700, 2600, 2900, 3100]

    def batch(lo, hi):
        return B.RecordBatch(["k", "v", "d"], [
            B.string_column(keys[lo:hi]), B.int64_column(list(range(lo, hi))),
            B.decimal_column([f"{i}.5" for i in range(lo, hi)])],
            {"_event_time": B.int64_column(times[lo:hi], timestamp=True)})

    def rows(outputs):
        return [r for out in outputs for b in out.batches for r in b.to_pylist()]

    whole = _operator(sql)
    expected = rows([whole.process(batch(0, 4)), whole.process(batch(4, 8)), whole.finish()])
    first = _operator(sql)
    before = rows([first.process(batch(0, 4))])
    store = MemoryStore()
    first.snapshot(store)
    first.snapshot(store)                    # a second snapshot replaces the first
    again = _operator(sql)
    again.restore(store)
    after = rows([again.process(batch(4, 8)), again.finish()])
    assert expected and before + after == expected


def test_sliding_holds_only_the_rows_a_later_window_can_need():
    op = _operator("SELECT k, COUNT(*) AS n FROM t GROUP BY k WINDOW SLIDING(1s)")
    for step in range(50):
        times = [step * 1000 + i * 100 for i in range(10)]
        out = op.process(_batch(["a"] * 10, times))
        assert [r["COUNT(*)"] for r in out.batches[0].to_pylist()][-1] == (10 if step == 0 else 11)
        op.on_watermark(times[-1])
        # rows older than watermark - size are gone: at most the last second and a bit
        assert len(op._buffer) <= 11
        assert len(op._held) == 1 and op._held[0] is None        # COUNT(*) holds no values


@pytest.mark.parametrize(("text", "kind", "size", "advance"), [
    ("TUMBLING(5m)", "TUMBLING", 300_000, None), ("TUMBLING(1h)", "TUMBLING", 3_600_000, None),
    ("TUMBLING(30s)", "TUMBLING", 30_000, None), ("TUMBLING(500ms)", "TUMBLING", 500, None),
    ("TUMBLING(1d)", "TUMBLING", 86_400_000, None), ("TUMBLING(90)", "TUMBLING", 90_000, None),
    ("TUMBLING(INTERVAL '5' MINUTE)", "TUMBLING", 300_000, None),
    ("TUMBLING(INTERVAL 5 MINUTES)", "TUMBLING", 300_000, None),
    ("TUMBLING(ts, 5m)", "TUMBLING", 300_000, None),
    ("SLIDING(10m, 5m)", "HOPPING", 600_000, 300_000),
    ("HOPPING(10m, 5m)", "HOPPING", 600_000, 300_000),
    ("SLIDING(10m)", "SLIDING", 600_000, None),
    ("SESSION(30s)", "SESSION", 30_000, None),
    ("SESSION (TIMEOUT 30 MINUTES)", "SESSION", 1_800_000, None)])
def test_every_window_spelling_of_dialect_section_5(text, kind, size, advance):
    from velostream.grammar import parse_window
    from velostream.plan.physical import window_spec

    spec = window_spec(parse_window(text), {})
    assert (spec.kind, spec.size, spec.advance) == (kind, size, advance)
    assert (spec.time_column is not None) == text.startswith("TUMBLING(ts")


def test_an_advance_larger_than_the_size_is_refused():
    from velostream.errors import SqlValidationError
    from velostream.grammar import parse_window
    from velostream.plan.physical import window_spec

    with pytest.raises(SqlValidationError, match="larger than its size"):
        window_spec(parse_window("HOPPING(1m, 2m)"), {})


def test_a_window_time_column_is_also_what_the_watermark_follows(tmp_path):
    path = tmp_path / "t.jsonl"
    # no event.time.field: _event_time is processing time, but the window reads ts
    path.write_text("".join(json.dumps({"k": "a", "ts": t}) + "\n" for t in (0, 4999, 5000, 100)))
    result = CliRunner().invoke(cli, ["execute", "--query", "SELECT k, COUNT(*) AS n FROM t "
                                      "GROUP BY k WINDOW TUMBLING(ts, 5s) " + source(path, "t"),
                                      "--format", "json-lines"])
    assert result.exit_code == 0, result.output
    # ts 100 arrives after the watermark passed 5000: late by the window's own time
    assert [json.loads(x) for x in result.stdout.splitlines()] == [{"k": "a", "n": 2},
                                                                   {"k": "a", "n": 1}]
    assert "late: 1" in result.stderr


def test_by_start_files_new_ids_by_window_in_first_row_order():
    from velostream._core.windows import by_start

    got = by_start(array("q", [5, 6, 7, 8, 9, 4]), array("q", [60, 60, 0, 60, 120, 0]))
    assert got == [(60, array("q", [5, 6, 8])), (0, array("q", [7, 4])),
                   (120, array("q", [9]))]
    assert by_start(array("q"), array("q")) == []
