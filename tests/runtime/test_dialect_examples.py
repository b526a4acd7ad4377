"""`velo-sql execute` answers DIALECT.md's rules (§1–§4) end to end: parse → bind → run → encode.

Expected values are worked out from the DIALECT text (scales, rounding, NULL logic, coercions),
not copied from our output; each case names the rule it checks.
"""

import json

import pytest
from click.testing import CliRunner

from velostream.cli.main import cli

ROWS = (
    '{"id": 1, "Symbol": "AAPL", "price": 150.2567, "qty": 100, "note": null, "s": "12.5", '
    '"ts": 1700000000000}\n'
    '{"id": 2, "Symbol": "msft", "price": 99.5, "qty": 0, "note": "x", "s": "abc", '
    '"ts": 1700000001000}\n'
)


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(ROWS)
    return f" WITH ('t.type' = 'file_source', 't.path' = '{path}', 't.format' = 'jsonl')"


def run(sql):
    result = CliRunner().invoke(cli, ["execute", "--query", sql, "--format", "json-lines"],
                                catch_exceptions=False)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return result, rows


CASES = [
    # §1 lexical
    ("double-quoted text is a string literal compared numerically (§1, §3)",
     'SELECT id FROM t WHERE price > "100.00"', [{"id": 1}]),
    ("identifiers are case-insensitive and keep the query's spelling (§1)",
     "SELECT symbol, SYMBOL AS y FROM t WHERE ID = 1", [{"symbol": "AAPL", "y": "AAPL"}]),
    ("statements end at ';' — each runs (§1)", "SELECT 1 AS a; SELECT 2 AS b", [{"a": 1}, {"b": 2}]),
    # §3 types and values
    ("negative decimals between -1 and 0 keep their sign and scale", "SELECT -0.05 AS x",
     [{"x": "-0.05"}]),
    ("+ and - keep the larger scale, * adds scales, DECIMAL op INTEGER is DECIMAL",
     "SELECT 1.5 + 2.25 AS a, 1.5 - 2.25 AS m, 1.5 * 2.25 AS b, 1.5 * 2 AS c",
     [{"a": "3.75", "m": "-0.75", "b": "3.375", "c": "3.0"}]),
    ("/ on DECIMAL gives scale max(s1, s2) + 4, rounded half-even", "SELECT 10.00 / 3 AS x, 2.0 / 3 AS y",
     [{"x": "3.333333", "y": "0.66667"}]),
    ("INTEGER / INTEGER is FLOAT", "SELECT 7 / 2 AS x", [{"x": 3.5}]),
    ("anything with FLOAT is FLOAT", "SELECT 1.5 + 1e0 AS d", [{"d": 2.5}]),
    ("CAST to DECIMAL(18,4) rounds half-even",
     ("SELECT CAST(2.00005 AS DECIMAL(18,4)) AS a, CAST(2.00015 AS DECIMAL(18,4)) AS b, "
     "CAST(-2.00015 AS DECIMAL(18,4)) AS c"), [{"a": "2.0000", "b": "2.0002", "c": "-2.0002"}]),
    ("JSON numbers with a fraction are exact decimals; DECIMAL encodes as a string with its scale",
     "SELECT price * qty AS notional FROM t", [{"notional": "15025.6700"}, {"notional": "0.0"}]),
    ("JSON strings that look like numbers stay strings unless cast",
     "SELECT s FROM t WHERE id = 1", [{"s": "12.5"}]),
    ("NULL IN (…) is NULL", "SELECT NULL IN (1, 2) AS x", [{"x": None}]),
    ("comparison with NULL is NULL, and WHERE keeps only TRUE",
     "SELECT id FROM t WHERE note = NULL OR note <> 'x'", []),
    ("IS NULL and NOT binding looser than comparison",
     "SELECT id FROM t WHERE NOT qty = 0 AND note IS NULL", [{"id": 1}]),
    ("TIMESTAMP compares with integers as epoch ms and prints ISO-8601 UTC",
     "SELECT id, FROM_UNIXTIME(ts / 1000) AS at FROM t WHERE FROM_UNIXTIME(ts / 1000) > 1700000000500",
     [{"id": 2, "at": "2023-11-14T22:13:21.000Z"}]),
    # §4 expressions and functions
    ("searched and simple CASE, IF, COALESCE, NULLIF",
     ("SELECT id, CASE WHEN qty > 50 THEN 'big' ELSE 'small' END AS k, CASE id WHEN 1 THEN 'one' END AS s, "
     "IF(qty > 0, 'y', 'n') AS i, COALESCE(note, 'none') AS c, NULLIF(qty, 0) AS nz FROM t"),
     [{"id": 1, "k": "big", "s": "one", "i": "y", "c": "none", "nz": 100},
      {"id": 2, "k": "small", "s": None, "i": "n", "c": "x", "nz": None}]),
    ("LIKE, BETWEEN, NOT IN", ("SELECT id FROM t WHERE (Symbol LIKE 'A_P%' OR qty BETWEEN 0 AND 0) "
     "AND Symbol NOT IN ('x')"), [{"id": 1}, {"id": 2}]),
    ("string functions (1-based SUBSTRING, POSITION)",
     ("SELECT UPPER(Symbol) AS u, SUBSTRING(Symbol, 2, 2) AS s2, CONCAT_WS('-', Symbol, 'x') AS c, "
     "SPLIT_PART('a,b,c', ',', 2) AS sp, POSITION('S' IN 'MSFT') AS p, LPAD('7', 3, '0') AS lp, "
     "'a' || Symbol AS cat FROM t WHERE id = 2"),
     [{"u": "MSFT", "s2": "sf", "c": "msft-x", "sp": "b", "p": 2, "lp": "007", "cat": "amsft"}]),
    ("math keeps DECIMAL exact; POWER/SQRT are FLOAT",
     ("SELECT ROUND(price, 1) AS r, FLOOR(price) AS f, CEIL(price) AS c, ABS(-price) AS a, "
     "MOD(7, 3) AS m, POWER(2, 10) AS p, SQRT(16) AS q FROM t WHERE id = 1"),
     [{"r": "150.3", "f": "150", "c": "151", "a": "150.2567", "m": 1, "p": 1024.0, "q": 4.0}]),
    ("EXTRACT and DATE_TRUNC on epoch-ms values",
     "SELECT EXTRACT(YEAR FROM ts) AS y, DATE_TRUNC('hour', ts) AS h FROM t WHERE id = 1",
     [{"y": 2023, "h": "2023-11-14T22:00:00.000Z"}]),
    ("JSON_VALUE", "SELECT JSON_VALUE('{\"a\": {\"b\": 5}}', '$.a.b') AS j", [{"j": "5"}]),
]


@pytest.mark.parametrize(("rule", "sql", "expected"), CASES, ids=[c[0] for c in CASES])
def test_dialect_rule(data, rule, sql, expected):
    result, rows = run(sql + (data if " FROM t" in sql else ""))
    assert result.exit_code == 0, result.output
    assert rows == expected


@pytest.mark.parametrize(("sql", "message"), [
    ("SELECT id, 10 / qty AS n FROM t", "division by zero"),
    ("SELECT id, CAST(s AS DECIMAL(10,2)) AS d FROM t", "cannot CAST 'abc' to DECIMAL"),
])
def test_record_errors_go_to_the_failure_strategy(data, sql, message):
    """§3: division by zero (and a failed CAST) is an error of that record, not a made-up value."""
    result, rows = run(sql + data)
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in rows] == [1]
    assert f"t.jsonl:2: {message}" in result.stderr


def test_integer_overflow_is_an_error_not_a_wrap():
    result, rows = run("SELECT 9223372036854775807 + 1 AS x")
    assert rows == []
    assert "BIGINT overflow" in result.stderr


def test_leftover_text_is_an_error_with_a_caret():
    result, _ = run("SELECT 1 AS x garbage")
    assert result.exit_code == 1
    assert "<query>:1:15: error: unexpected identifier 'garbage'" in result.stderr
    assert result.stderr.splitlines()[2] == "                ^"


def test_string_literal_that_is_not_a_number_is_a_validation_error_in_the_query(data):
    result, _ = run("SELECT id FROM t WHERE price > 'abc'" + data)
    assert result.exit_code == 1
    assert "<query>:1:32: error: string 'abc' is compared with a DECIMAL(38,4)" in result.stderr
    assert result.stderr.splitlines()[-1].endswith("^")


def test_without_financial_precision_fractions_are_floats(data):
    result, rows = run("SELECT price FROM t" + data[:-1] + ", 'financial_precision' = 'false')")
    assert result.exit_code == 0, result.output
    assert rows == [{"price": 150.2567}, {"price": 99.5}]
