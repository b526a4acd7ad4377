"""Stream–table joins end to end (DIALECT §6), with DuckDB as the oracle: INNER and LEFT, keys
held by several table rows, NULL keys (never matching), composite keys, string / integer /
decimal keys, ON conditions beyond the equalities, WHERE and GROUP BY over the joined rows,
three sources, ``t.*`` and ambiguous names, EXPLAIN and checkpoints."""

import json
import random
from decimal import Decimal

import pytest
from click.testing import CliRunner

from velostream.cli.main import cli

duckdb = pytest.importorskip("duckdb")

SYMBOLS = ["AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA", "META"]


RAW = {"price", "tier", "fee"}     # written as JSON numbers from their exact text


def write_jsonl(path, rows):
    with open(path, "w") as out:
        out.writelines("{" + ", ".join(f'"{k}": {v if k in RAW else json.dumps(v)}'
                                      for k, v in r.items()) + "}\n" for r in rows)


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def run(sql, *extra):
    result = invoke("execute", "--query", sql, "--format", "json-lines", *extra)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rnd = random.Random(13)
    base = tmp_path_factory.mktemp("join")
    trades = []
    for i in range(2000):
        trades.append({
            "trade_id": i,
            "symbol": rnd.choice(SYMBOLS + ["XXXX", None]),
            "side": rnd.choice(["BUY", "SELL"]),
            "account": rnd.choice([1, 2, 3, 4, None]),
            "tier": rnd.choice(["1.50", "2.25", "3.00", "9.99"]),
            "price": f"{rnd.randint(100, 99999) / 100:.2f}",
            "quantity": rnd.randint(1, 1000),
            "ts": 1_700_000_000_000 + 1000 * i,
        })
    # symbols: AAPL twice (a key with two rows), TSLA missing, one NULL key
    instruments = [{"symbol": s, "name": f"{s} Inc", "lot": 10 * (k + 1), "side": None}
                   for k, s in enumerate(SYMBOLS) if s != "TSLA"]
    instruments.append({"symbol": "AAPL", "name": "Apple second listing", "lot": 5, "side": None})
    instruments.append({"symbol": None, "name": "no symbol", "lot": 1, "side": None})
    limits = [{"symbol": s, "side": side, "max_qty": rnd.randint(100, 900)}
              for s in SYMBOLS for side in ("BUY", "SELL") if (s, side) != ("MSFT", "SELL")]
    accounts = [{"account": a, "owner": f"owner{a}"} for a in (1, 2, 3)] + [
        {"account": None, "owner": "nobody"}]
    tiers = [{"tier": t, "fee": f} for t, f in (("1.5", "0.10"), ("2.25", "0.20"),
                                               ("3.000", "0.30"))]
    paths = {}
    for name, rows in (("trades", trades), ("instruments", instruments), ("limits", limits),
                       ("accounts", accounts), ("tiers", tiers)):
        paths[name] = base / f"{name}.jsonl"
        write_jsonl(paths[name], rows)
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.execute(f"CREATE TABLE trades AS SELECT trade_id, symbol, side, account, "
                f"CAST(tier AS DECIMAL(18, 4)) AS tier, CAST(price AS DECIMAL(18, 4)) AS price, "
                f"quantity, ts FROM read_json_auto('{paths['trades']}')")
    con.execute(f"CREATE TABLE instruments AS SELECT symbol, name, lot FROM "
                f"read_json('{paths['instruments']}', columns={{symbol: 'VARCHAR', "
                f"name: 'VARCHAR', lot: 'BIGINT'}})")
    con.execute(f"CREATE TABLE limits AS SELECT * FROM read_json_auto('{paths['limits']}')")
    con.execute(f"CREATE TABLE accounts AS SELECT * FROM read_json('{paths['accounts']}', "
                f"columns={{account: 'BIGINT', owner: 'VARCHAR'}})")
    con.execute(f"CREATE TABLE tiers AS SELECT CAST(tier AS DECIMAL(18, 4)) AS tier, "
                f"CAST(fee AS DECIMAL(18, 4)) AS fee FROM read_json_auto('{paths['tiers']}')")
    return paths, con


def with_(paths, *names, decimals=()):
    props = []
    for name in names:
        props += [f"'{name}.type' = 'file_source'", f"'{name}.path' = '{paths[name]}'",
                  f"'{name}.format' = 'jsonl'"]
    return " WITH (" + ", ".join(props) + ")"


def oracle(con, sql):
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def norm(rows, decimals=()):
    out = []
    for r in rows:
        out.append(tuple((k, Decimal(str(v)).normalize() if k in decimals and v is not None
                          else v) for k, v in sorted(r.items())))
    return sorted(out, key=repr)


def check(data, sql, tables, decimals=(), ddb=None):
    paths, con = data
    got = run(sql + with_(paths, "trades", *tables))
    want = oracle(con, ddb or sql)
    assert want, "the oracle's answer is empty: the test would prove nothing"
    assert norm(got, decimals) == norm(want, decimals)
    return got


def test_inner_join_string_key_with_duplicate_table_keys(data):
    got = check(data, "SELECT t.trade_id, t.symbol, i.name, i.lot FROM trades t "
                      "JOIN instruments i ON t.symbol = i.symbol", ["instruments"])
    # AAPL trades join both AAPL rows; TSLA, XXXX and NULL symbols join nothing
    assert {r["symbol"] for r in got} == set(SYMBOLS) - {"TSLA"}


def test_left_join_pads_unmatched_and_null_keys(data):
    got = check(data, "SELECT t.trade_id, t.symbol, i.name FROM trades t "
                      "LEFT OUTER JOIN instruments i ON t.symbol = i.symbol", ["instruments"])
    assert any(r["symbol"] is None and r["name"] is None for r in got)


def test_stream_order_is_kept(data):
    got = run("SELECT trade_id FROM trades t JOIN instruments i ON t.symbol = i.symbol"
              + with_(data[0], "trades", "instruments"))
    ids = [r["trade_id"] for r in got]
    assert ids == sorted(ids)


def test_composite_key_and_residual_condition(data):
    check(data, "SELECT t.trade_id, l.max_qty FROM trades t JOIN limits l "
                "ON t.symbol = l.symbol AND l.side = t.side AND t.quantity > l.max_qty",
          ["limits"])


def test_left_join_residual_decides_the_match(data):
    check(data, "SELECT t.trade_id, l.max_qty FROM trades t LEFT JOIN limits l "
                "ON t.symbol = l.symbol AND t.side = l.side AND t.quantity > l.max_qty",
          ["limits"])


def test_integer_key_with_null_on_both_sides(data):
    got = check(data, "SELECT trade_id, owner FROM trades LEFT JOIN accounts "
                      "ON trades.account = accounts.account", ["accounts"])
    assert all(r["owner"] != "nobody" for r in got)


def test_decimal_key_of_different_scales(data):
    check(data, "SELECT t.trade_id, t.tier, x.fee FROM trades t JOIN tiers x ON t.tier = x.tier",
          ["tiers"], decimals=("tier", "fee"))


def test_expression_key_and_where(data):
    check(data, "SELECT t.trade_id, i.name FROM trades t JOIN instruments i "
                "ON LOWER(t.symbol) = LOWER(i.symbol) WHERE t.quantity > 500 AND i.lot > 10",
          ["instruments"])


def test_join_feeding_group_by(data):
    sql = ("SELECT i.name, COUNT(*) AS n, SUM(t.price * i.lot) AS notional "
           "FROM trades t JOIN instruments i ON t.symbol = i.symbol GROUP BY i.name")
    check(data, sql + " EMIT FINAL", ["instruments"], decimals=("notional",), ddb=sql)


def test_join_feeding_a_tumbling_window(data):
    paths, con = data
    got = run("SELECT i.name, _window_start AS ws, COUNT(*) AS n, SUM(t.quantity) AS q "
              "FROM trades t JOIN instruments i ON t.symbol = i.symbol "
              "GROUP BY i.name WINDOW TUMBLING(t.ts, 60s) EMIT FINAL"
              + with_(paths, "trades", "instruments"))
    want = oracle(con, "SELECT i.name, t.ts // 60000 AS w, COUNT(*) AS n, SUM(t.quantity) AS q "
                       "FROM trades t JOIN instruments i ON t.symbol = i.symbol "
                       "GROUP BY i.name, t.ts // 60000")
    assert len(got) == len(want) > 100
    ms = {(r["name"], r["n"], r["q"]) for r in got}
    assert ms == {(r["name"], r["n"], r["q"]) for r in want}


def test_three_way_join(data):
    check(data, "SELECT t.trade_id, i.name, a.owner, l.max_qty FROM trades t "
                "JOIN instruments i ON t.symbol = i.symbol "
                "LEFT JOIN accounts a ON a.account = t.account "
                "JOIN limits l ON l.symbol = i.symbol AND l.side = t.side",
          ["instruments", "accounts", "limits"])


def test_star_and_qualified_star(data):
    paths, _ = data
    got = run("SELECT a.*, t.trade_id FROM trades t JOIN accounts a ON t.account = a.account"
              + with_(paths, "trades", "accounts"))
    assert got and set(got[0]) == {"account", "owner", "trade_id"}
    got = run("SELECT * FROM trades t JOIN accounts a ON t.account = a.account"
              + with_(paths, "trades", "accounts"))
    # the table's account repeats the stream's: it keeps its qualified name
    assert "a.account" in got[0] and got[0]["account"] == got[0]["a.account"]


def test_unqualified_names_resolve_to_their_source(data):
    got = check(data, "SELECT trade_id, owner FROM trades t JOIN accounts a "
                      "ON t.account = a.account", ["accounts"])
    assert {r["owner"] for r in got} == {"owner1", "owner2", "owner3"}


def test_ambiguous_name_is_an_error_with_its_position(data):
    paths, _ = data
    result = invoke("execute", "--query", "SELECT trade_id, account FROM trades t JOIN accounts "
                    "a ON t.account = a.account" + with_(paths, "trades", "accounts"))
    assert result.exit_code != 0
    assert "1:18" in result.output and "ambiguous" in result.output and "^" in result.output


def test_stream_stream_and_right_joins_are_refused(data):
    paths, _ = data
    result = invoke("execute", "--query", "SELECT * FROM trades t JOIN accounts a "
                    "ON t.account = a.account WITHIN INTERVAL '5' MINUTES"
                    + with_(paths, "trades", "accounts"))
    assert result.exit_code != 0 and "stream–stream join (JOIN … WITHIN) is not" in result.output
    result = invoke("execute", "--query", "SELECT * FROM trades t RIGHT JOIN accounts a "
                    "ON t.account = a.account" + with_(paths, "trades", "accounts"))
    assert result.exit_code != 0 and "RIGHT JOIN is not supported" in result.output


def test_join_without_equality_is_refused(data):
    paths, _ = data
    result = invoke("execute", "--query", "SELECT * FROM trades t JOIN accounts a "
                    "ON t.quantity > a.account" + with_(paths, "trades", "accounts"))
    assert result.exit_code != 0 and "no equality" in result.output


def test_explain_shows_the_join(data):
    paths, _ = data
    result = invoke("explain", "--query", "SELECT t.trade_id, a.owner FROM trades t LEFT JOIN "
                    "accounts a ON t.account = a.account AND a.owner <> 'x'"
                    + with_(paths, "trades", "accounts"))
    assert result.exit_code == 0, result.output
    assert "Join: kind=LEFT, keys=[t.account = a.account], filter=a.owner != 'x'" in result.output
    assert f"table=accounts AS a (file_source, path={paths['accounts']}" in result.output
    assert "Scan: source=accounts" in result.output


def test_checkpointed_join_rereads_the_table(data, tmp_path):
    paths, con = data
    out = tmp_path / "out.jsonl"
    sql = ("SELECT t.trade_id, a.owner FROM trades t JOIN accounts a ON t.account = a.account"
           + with_(paths, "trades", "accounts"))
    args = ["--output-file", str(out), "-p", f"state.dir={tmp_path / 'state'}"]
    result = invoke("execute", "--query", sql, *args)
    assert result.exit_code == 0, result.output
    got = [json.loads(line) for line in out.read_text().splitlines()]
    want = oracle(con, "SELECT t.trade_id, a.owner FROM trades t JOIN accounts a "
                       "ON t.account = a.account")
    assert norm(got) == norm(want)


def test_killed_join_resumes_with_the_table_read_again(data, tmp_path):
    """SIGKILLed inside its third checkpoint, the job restarts from it: the table is read from
    its file again and the output is the uninterrupted run's, byte for byte."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from velostream.runtime.checkpoint import PAUSE_AT_ENV, PAUSE_ENV

    paths, _ = data
    sql = ("SELECT t.trade_id, i.name, t.price * i.lot AS notional FROM trades t "
           "JOIN instruments i ON t.symbol = i.symbol" + with_(paths, "trades", "instruments")
           )[:-1] + ", 'trades.batch.size' = '50', 'checkpoint.interval' = '1ms', " \
        f"'state.dir' = '{tmp_path / 'state'}')"
    plain = tmp_path / "plain.jsonl"
    result = invoke("execute", "--query", sql.replace(f", 'state.dir' = '{tmp_path / 'state'}'",
                                                      ""), "--output-file", str(plain))
    assert result.exit_code == 0, result.output
    out, marker = tmp_path / "out.jsonl", tmp_path / "paused"
    command = [sys.executable, "-m", "velostream.cli.main", "execute", "-q", sql,
               "--output-file", str(out)]
    proc = subprocess.Popen(command, env={**os.environ, PAUSE_ENV: str(marker),
                                          PAUSE_AT_ENV: "3"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()[1].decode()
            time.sleep(0.005)        # polls for the marker file, as test_kill_restart does
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert out.stat().st_size < plain.stat().st_size
    done = subprocess.run(command, check=False, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    assert out.read_bytes() == plain.read_bytes()


def test_in_process_join_is_refused_by_name():
    from velostream import StreamApp
    from velostream.errors import SqlValidationError

    with pytest.raises(SqlValidationError, match="the table u of a JOIN must be a file_source"):
        StreamApp("SELECT t.a, u.b FROM t JOIN u ON t.a = u.a").process([{"a": 1}])


def test_csv_table(data, tmp_path):
    paths, con = data
    table = tmp_path / "accounts.csv"
    table.write_text("account,owner,credit\n1,owner1,10.50\n2,owner2,20\n2,owner2b,30.25\n")
    sql = ("SELECT t.trade_id, a.owner, a.credit * t.quantity AS cap FROM trades t "
           "LEFT JOIN accounts a ON t.account = a.account")
    got = run(sql + f" WITH ('trades.type' = 'file_source', 'trades.path' = '{paths['trades']}', "
              f"'accounts.type' = 'file_source', 'accounts.path' = '{table}', "
              "'accounts.format' = 'csv')")
    con.execute(f"CREATE TEMP TABLE csv_accounts AS SELECT account, owner, "
                f"CAST(credit AS DECIMAL(18, 4)) AS credit FROM read_csv('{table}')")
    want = oracle(con, sql.replace("accounts a", "csv_accounts a"))
    assert norm(got, ("cap",)) == norm(want, ("cap",))


def test_a_field_no_table_row_has_is_null_with_a_warning(data):
    paths, _ = data
    result = invoke("execute", "--query", "SELECT a.nope FROM trades t JOIN accounts a "
                    "ON t.account = a.account" + with_(paths, "trades", "accounts"))
    assert result.exit_code == 0, result.output
    assert "<query>:1:8: column 'nope': no record of" in result.stderr
    assert "accounts.jsonl has this field" in result.stderr


def test_boolean_expression_key(data, tmp_path):
    paths, con = data
    table = tmp_path / "sizes.jsonl"
    table.write_text('{"big": true, "label": "large"}\n{"big": false, "label": "small"}\n'
                     '{"big": null, "label": "unknown"}\n')
    sql = ("SELECT t.trade_id, s.label FROM trades t JOIN sizes s "
           "ON (t.quantity > 500) = s.big")
    got = run(sql + f" WITH ('trades.type' = 'file_source', 'trades.path' = '{paths['trades']}', "
              f"'sizes.type' = 'file_source', 'sizes.path' = '{table}')")
    con.execute(f"CREATE TEMP TABLE sizes AS SELECT * FROM read_json('{table}', "
                "columns = {big: 'BOOLEAN', label: 'VARCHAR'})")
    want = oracle(con, sql)
    assert norm(got) == norm(want) and len(got) == 2000


def test_unqualified_on_columns_pick_their_sides(data, tmp_path):
    paths, con = data
    table = tmp_path / "owners.jsonl"
    table.write_text('{"acct": 1, "who": "one"}\n{"acct": 3, "who": "three"}\n')
    sql = "SELECT trade_id, who FROM trades JOIN owners ON account = acct AND quantity > 100"
    got = run(sql + f" WITH ('trades.type' = 'file_source', 'trades.path' = '{paths['trades']}', "
              f"'owners.type' = 'file_source', 'owners.path' = '{table}')")
    con.execute(f"CREATE TEMP TABLE owners AS SELECT * FROM read_json_auto('{table}')")
    want = oracle(con, sql)
    assert want and norm(got) == norm(want)


def test_on_null_matches_nothing_and_a_non_boolean_on_is_an_error(data):
    paths, _ = data
    got = run("SELECT t.trade_id, a.owner FROM trades t LEFT JOIN accounts a "
              "ON t.account = a.account AND NULL" + with_(paths, "trades", "accounts"))
    assert len(got) == 2000 and all(r["owner"] is None for r in got)
    result = invoke("execute", "--query", "SELECT t.trade_id FROM trades t JOIN accounts a "
                    "ON t.account = a.account AND t.quantity" + with_(paths, "trades", "accounts"))
    assert result.exit_code != 0 and "t.quantity is BIGINT, not BOOLEAN" in result.output
