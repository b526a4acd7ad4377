"""Non-windowed GROUP BY and global aggregates end to end (DIALECT §5), with DuckDB as the
oracle over generated trades: keys that are columns or expressions, expressions over
aggregates, HAVING, EMIT CHANGES (the default: one updated row per input record) and EMIT
FINAL (the final rows at the end of the bounded input)."""

import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from tests.runtime.conftest import duckdb_trades as oracle
from tests.runtime.conftest import make_trades, source, write_jsonl
from velostream.cli.main import cli

duckdb = pytest.importorskip("duckdb")


def run(sql, *extra):
    result = CliRunner().invoke(cli, ["execute", "--query", sql, "--format", "json-lines",
                                      *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def trades(tmp_path_factory):
    rows = make_trades(3000, seed=7)
    path = tmp_path_factory.mktemp("gb") / "trades.jsonl"
    write_jsonl(path, rows)
    return path, rows


def by(rows, *keys):
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in keys))


def test_group_by_final_matches_duckdb(trades):
    path, _ = trades
    got = run("SELECT symbol, side, COUNT(*) AS n, SUM(quantity) AS q, SUM(price) AS sp, "
              "MIN(price) AS lo, MAX(price) AS hi FROM trades GROUP BY symbol, side EMIT FINAL "
              + source(path))
    want = oracle(path, "SELECT symbol, side, COUNT(*) AS n, SUM(quantity) AS q, SUM(price) AS sp,"
                        " MIN(price) AS lo, MAX(price) AS hi FROM trades GROUP BY symbol, side")
    assert len(got) == len(want) == 10
    for g, w in zip(by(got, "symbol", "side"), by(want, "symbol", "side")):
        assert (g["symbol"], g["side"], g["n"], g["q"]) == (w["symbol"], w["side"], w["n"], w["q"])
        # SUM/MIN/MAX of DECIMAL stay exact DECIMAL (written as strings)
        assert (Decimal(g["sp"]), Decimal(g["lo"]), Decimal(g["hi"])) == (w["sp"], w["lo"], w["hi"])


def test_emit_changes_is_the_default_one_row_per_record(trades):
    path, rows = trades
    got = run("SELECT symbol, COUNT(*) AS n, SUM(quantity) AS q FROM trades GROUP BY symbol "
              + source(path))
    assert len(got) == len(rows)
    # each row is its key's running value after that record
    running: dict = {}
    for r, g in zip(rows, got):
        n, q = running.get(r["symbol"], (0, 0))
        running[r["symbol"]] = (n + 1, q + r["quantity"])
        assert g == {"symbol": r["symbol"], "n": n + 1, "q": q + r["quantity"]}


def test_expressions_over_aggregates_and_keys(trades):
    path, _ = trades
    sql = ("SELECT UPPER(symbol) AS s, quantity > 500 AS big, SUM(quantity) / COUNT(*) AS mean_q, "
           "ROUND(AVG(price), 2) AS avg_p, "
           "CASE WHEN COUNT(*) > 300 THEN 'many' ELSE 'few' END AS volume, "
           "MAX(price) - MIN(price) AS spread "
           "FROM trades GROUP BY UPPER(symbol), quantity > 500 EMIT FINAL ")
    got = run(sql + source(path))
    want = oracle(path, sql.replace("EMIT FINAL", ""))
    assert len(got) == len(want) == 10
    for g, w in zip(by(got, "s", "big"), by(want, "s", "big")):
        assert (g["s"], g["big"], g["volume"]) == (w["s"], w["big"], w["volume"])
        assert g["mean_q"] == pytest.approx(w["mean_q"])
        assert Decimal(g["avg_p"]) == Decimal(str(w["avg_p"])).quantize(Decimal("0.01"))
        assert Decimal(g["spread"]) == w["spread"]


def test_having_filters_emitted_rows_and_may_name_aliases(trades):
    path, _ = trades
    sql = ("SELECT symbol, side, COUNT(*) AS n FROM trades WHERE quantity >= 250 "
           "GROUP BY symbol, side HAVING n > 220 AND MAX(quantity) = 2500 EMIT FINAL ")
    got = run(sql + source(path))
    want = oracle(path, sql.replace("EMIT FINAL", "").replace("n > 220", "COUNT(*) > 220"))
    assert want and len(want) < 10             # the filter keeps some groups, not all
    assert by(got, "symbol", "side") == by(want, "symbol", "side")


def test_having_on_emit_changes_filters_each_update(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"k": k}) + "\n" for k in "aabab"))
    got = run("SELECT k, COUNT(*) AS n FROM t GROUP BY k HAVING COUNT(*) >= 2 " + source(path, "t"))
    assert got == [{"k": "a", "n": 2}, {"k": "a", "n": 3}, {"k": "b", "n": 2}]


def test_group_by_ordinal_and_alias(trades):
    path, _ = trades
    a = run("SELECT LOWER(side) AS sd, COUNT(*) AS n FROM trades GROUP BY 1 EMIT FINAL " + source(path))
    b = run("SELECT LOWER(side) AS sd, COUNT(*) AS n FROM trades GROUP BY sd EMIT FINAL " + source(path))
    want = oracle(path, "SELECT LOWER(side) AS sd, COUNT(*) AS n FROM trades GROUP BY 1")
    assert by(a, "sd") == by(b, "sd") == by(want, "sd")


def test_global_aggregate(trades):
    path, rows = trades
    got = run("SELECT COUNT(*) AS n, SUM(quantity) AS q, MAX(ts) AS last FROM trades EMIT FINAL "
              + source(path))
    assert got == [{"n": len(rows), "q": sum(r["quantity"] for r in rows),
                    "last": rows[-1]["ts"]}]
    changes = run("SELECT COUNT(*) AS n FROM trades WHERE trade_id <= 3 " + source(path))
    assert changes == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_global_aggregate_over_no_rows_is_one_row(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text('{"x": 1}\n')
    got = run("SELECT COUNT(*) AS n, SUM(x) AS s FROM t WHERE x > 5 EMIT FINAL " + source(path, "t"))
    assert got == [{"n": 0, "s": None}]


def test_null_keys_group_together_and_aggregates_skip_nulls(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"k": null, "v": 1}\n{"k": "a", "v": null}\n{"v": 3}\n{"k": "a", "v": 4}\n')
    got = run("SELECT k, COUNT(*) AS n, COUNT(v) AS nv, SUM(v) AS s FROM t GROUP BY k EMIT FINAL "
              + source(path, "t"))
    assert by(got, "k") == by([{"k": None, "n": 2, "nv": 2, "s": 4},
                               {"k": "a", "n": 2, "nv": 1, "s": 4}], "k")


def test_a_row_whose_argument_fails_is_a_failure_not_a_contribution(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"k": "a", "x": 2}\n{"k": "a", "x": 0}\n{"k": "a", "x": 4}\n')
    result = CliRunner().invoke(cli, ["execute", "--query",
                                      "SELECT k, COUNT(*) AS n, SUM(8 / x) AS s FROM t GROUP BY k "
                                      "EMIT FINAL " + source(path, "t"), "--format", "json-lines"])
    assert result.exit_code == 0, result.output
    assert [json.loads(x) for x in result.stdout.splitlines()] == [{"k": "a", "n": 2, "s": 6.0}]
    assert "division by zero" in result.stderr


def test_order_by_and_limit_over_the_aggregate(trades):
    path, _ = trades
    got = run("SELECT symbol, SUM(quantity) AS q FROM trades GROUP BY symbol "
              "ORDER BY SUM(quantity) DESC LIMIT 2 EMIT FINAL " + source(path))
    want = oracle(path, "SELECT symbol, SUM(quantity) AS q FROM trades GROUP BY symbol "
                        "ORDER BY 2 DESC LIMIT 2")
    assert got == want


def test_explain_shows_the_aggregate(trades):
    path, _ = trades
    result = CliRunner().invoke(cli, ["execute", "--query", "EXPLAIN SELECT symbol, COUNT(*) AS n "
                                      "FROM trades GROUP BY symbol " + source(path)])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if "Aggregate" in x)
    assert "key=[symbol]" in line and "window=none" in line and "emit=CHANGES" in line
    assert "state=memory" in line and "COUNT(*)" in line
    for extra, backend in ((["-p", "state.dir=/tmp/nowhere"], "rocksdb"),
                           (["-p", "state.dir=/tmp/nowhere", "-p", "state.backend=sqlite"],
                            "sqlite")):
        shown = CliRunner().invoke(cli, ["explain", "--query", "SELECT symbol, COUNT(*) AS n "
                                         "FROM trades GROUP BY symbol " + source(path), *extra])
        assert shown.exit_code == 0, shown.output
        assert f"state={backend}" in shown.stdout     # nothing is opened by EXPLAIN


def test_emit_final_without_window_needs_a_bounded_input(tmp_path):
    from velostream.errors import SqlValidationError
    from velostream.grammar import parse_statement
    from velostream.plan.bind import bind_statement
    from velostream.plan.physical import plan_job

    path = tmp_path / "t.jsonl"
    path.write_text('{"k": 1}\n')
    plan = bind_statement(parse_statement("SELECT k, COUNT(*) AS n FROM t GROUP BY k EMIT FINAL "
                                          + source(path, "t")), default_sink="stdout")
    with pytest.raises(SqlValidationError, match="EMIT FINAL without a WINDOW"):
        plan_job(plan, bounded=False)
    plan_job(plan, bounded=True)


def test_corpus_total_per_customer(tmp_path):
    from tests.corpus import CORPUS

    corpus = CORPUS / "deployment-summary-cli-05.sql"
    if not corpus.is_file():
        pytest.skip("the corpus is not beside this checkout")
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps({"customer_id": i % 7, "amount": i * 3}) + "\n"
                            for i in range(200)))
    sql = corpus.read_text().strip().rstrip(";") + " "
    got = run(sql + "EMIT FINAL " + source(path, "orders"))
    want = oracle_rows(f"SELECT customer_id, SUM(amount) AS total FROM read_json_auto('{path}') "
                       "GROUP BY customer_id")
    assert by(got, "customer_id") == by(want, "customer_id")
    # as written (EMIT CHANGES by default): one row per order, the last per customer final
    changes = run(sql + source(path, "orders"))
    assert len(changes) == 200
    assert by(list({r["customer_id"]: r for r in changes}.values()), "customer_id") == by(
        want, "customer_id")


def oracle_rows(sql):
    cur = duckdb.connect().execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def test_a_batch_where_the_argument_is_null_everywhere_changes_nothing(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"k": "a", "v": 5}\n{"k": "a"}\n{"k": "a", "v": null}\n{"k": "a", "v": 7}\n')
    got = run("SELECT k, SUM(v) AS s, COUNT(v) AS n FROM t GROUP BY k "
              + source(path, "t", extra=", 't.batch.size' = '1'"))
    assert got == [{"k": "a", "s": 5, "n": 1}, {"k": "a", "s": 5, "n": 1},
                   {"k": "a", "s": 5, "n": 1}, {"k": "a", "s": 12, "n": 2}]


def _operator(sql):
    from velostream.grammar import parse_statement
    from velostream.plan.bind import bind_statement
    from velostream.plan.physical import AggregateNode, plan_job
    from velostream.runtime.aggregate import AggregateOperator

    plan = bind_statement(parse_statement(sql + " WITH ('t.type' = 'file_source', "
                                                "'t.path' = 'x.jsonl')"), default_sink="stdout")
    return AggregateOperator(next(n for n in plan_job(plan).nodes()
                                  if isinstance(n, AggregateNode)))


def _batch(p):
    from velostream._core import batch as B

    column = (B.decimal_column(p) if any(isinstance(v, str) for v in p) else B.int64_column(p))
    return B.RecordBatch(["k", "p"], [B.string_column(["a"] * len(p)), column])


def test_an_argument_that_turns_from_bigint_into_decimal_stays_exact():
    # schema-on-read: a batch of whole numbers decodes BIGINT, a later one DECIMAL
    op = _operator("SELECT k, SUM(p) AS s, MIN(p) AS lo, MAX(p) AS hi, COUNT(p) AS n FROM t "
                   "GROUP BY k EMIT FINAL")
    assert not op.process(_batch([100, 7])).failures
    assert not op.process(_batch(["0.25", "1.5"])).failures
    assert not op.process(_batch([2])).failures            # BIGINT again: widened exactly
    (out,) = op.finish().batches
    assert [{k: str(v) for k, v in r.items()} for r in out.to_pylist()] == [
        {"k": "a", "SUM(p)": "110.75", "MIN(p)": "0.25", "MAX(p)": "100", "COUNT(p)": "5"}]


def test_an_average_whose_argument_changes_type_fails_those_rows_clearly():
    op = _operator("SELECT k, AVG(p) AS m FROM t GROUP BY k EMIT FINAL")
    op.process(_batch([100]))
    failed = op.process(_batch(["0.5", "1.5"])).failures
    assert len(failed) == 2
    assert "AVG(p): its argument is DECIMAL here but was BIGINT" in failed[0].message
    (out,) = op.finish().batches
    assert out.to_pylist() == [{"k": "a", "AVG(p)": 100.0}]


def test_a_sum_past_bigint_fails_its_group_or_stops_emit_changes_clearly(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"k": "a", "v": 9223372036854775000}\n{"k": "a", "v": 1000}\n'
                    '{"k": "b", "v": 1}\n')
    sql = "SELECT k, SUM(v) AS s FROM t GROUP BY k "
    result = CliRunner().invoke(cli, ["execute", "--query", sql + "EMIT FINAL " +
                                      source(path, "t"), "--format", "json-lines"])
    assert result.exit_code == 0, result.output
    assert [json.loads(x) for x in result.stdout.splitlines()] == [{"k": "b", "s": 1}]
    assert "SUM of BIGINT overflows" in result.stderr and "'k': 'a'" in result.stderr
    result = CliRunner().invoke(cli, ["execute", "--query", sql + source(path, "t")])
    assert result.exit_code == 1
    assert "SUM(v): SUM of BIGINT overflows" in result.stderr and "CAST" in result.stderr
    # as DECIMAL the sum is exact
    got = run(sql.replace("SUM(v)", "SUM(CAST(v AS DECIMAL(19, 0)))") + "EMIT FINAL " +
              source(path, "t"))
    assert got[0] == {"k": "a", "s": "9223372036854776000"}


def test_every_aggregate_of_dialect_section_5(tmp_path):
    import random
    import statistics

    rng = random.Random(3)
    rows = [{"k": rng.choice("abc"), "x": rng.choice([None, *range(20)]),
             "s": rng.choice([None, "p", "q", "r"])} for _ in range(300)]
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = run("SELECT k, COUNT(*) AS n, COUNT(x) AS nx, COUNT(DISTINCT x) AS cd, "
              "STDDEV(x) AS sd, STDDEV_SAMP(x) AS sds, STDDEV_POP(x) AS sdp, VARIANCE(x) AS v, "
              "VAR_SAMP(x) AS vs, VAR_POP(x) AS vp, FIRST_VALUE(s) AS f, LAST_VALUE(s) AS l, "
              "LISTAGG(s, '|') AS la, STRING_AGG(s) AS sa, MEDIAN(x) AS med, "
              "APPROX_COUNT_DISTINCT(s) AS acd, SUM(DISTINCT x) AS sdx "
              "FROM t GROUP BY k EMIT FINAL " + source(path, "t"))
    assert len(got) == 3
    for g in got:
        mine = [r for r in rows if r["k"] == g["k"]]
        xs = [r["x"] for r in mine if r["x"] is not None]
        ss = [r["s"] for r in mine if r["s"] is not None]
        assert (g["n"], g["nx"], g["cd"], g["sdx"]) == (len(mine), len(xs), len(set(xs)),
                                                        sum(set(xs)))
        for name, want in (("sd", statistics.stdev(xs)), ("sds", statistics.stdev(xs)),
                           ("sdp", statistics.pstdev(xs)), ("v", statistics.variance(xs)),
                           ("vs", statistics.variance(xs)), ("vp", statistics.pvariance(xs)),
                           ("med", statistics.median(xs))):
            assert g[name] == pytest.approx(want, rel=1e-12), name
        assert (g["f"], g["l"]) == (ss[0], ss[-1])           # arrival order, NULLs skipped
        assert (g["la"], g["sa"]) == ("|".join(ss), ",".join(ss))
        assert g["acd"] == len(set(ss))
