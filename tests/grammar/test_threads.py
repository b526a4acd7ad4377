"""The parser and the validators are safe to call from many threads at once (the admin server
validates SQL on several threads): 8 threads parse and validate a mix of good and bad statements,
many rounds each, and every result (printed SQL, AST, findings, error message with line and
column and hint) equals the single-threaded one."""

import random
import sys
import threading

import pytest

from tests.corpus import CORPUS, statement_names
from velostream.errors import SqlError
from velostream.grammar import parse_sql, to_sql
from velostream.plan import check, describe_statement
from velostream.plan.file_check import check_sql_file

THREADS = 8
ROUNDS = 2

# Statements whose errors come from different places: the lexer, the parser's error function at
# a token and at the end of input (which reads the lexer of *its* parse), the grammar actions,
# and the validators.
INLINE = [
    "SELECT a, b + 1 AS c FROM t WHERE x > 5 AND y LIKE 'a%'",
    "SELECT symbol, COUNT(*) FROM trades GROUP BY symbol WINDOW TUMBLING(5m) EMIT CHANGES",
    ("CREATE STREAM s AS SELECT * FROM orders o JOIN customers c ON o.id = c.id WITHIN 5m "
     "INTO out WITH ('out.type' = 'file_sink', 'out.path' = '/tmp/x.jsonl')"),
    "SHOW JOBS; STOP JOB j1",
    "SELECT a FROM t WHERE",
    "SELECT a,\n  b\nFROM t\nWHERE x BETWEEN 1 AND",
    "SELECT a FROM b c d",
    "SELECT a FROM t GROUP x",
    "SELECT a FROM t\nSELECT b FROM u",
    "SELECT 'abc FROM t",
    "SELECT @ FROM t",
    "SELECT a FROM t /* x",
    "SELECT a FROM t WINDOW TUMBLING(INTERVAL 5 FORTNIGHTS)",
    "SELECT 99999999999999999999 FROM t",
    "SELECT FOO(a), CAST(b AS BLOB) FROM t",
    "SELECT a, COUNT(*) FROM t",
    "SELECT a FROM t WHERE SUM(x) > 1 LIMIT 0",
    "SELECT a FROM t WITH ('t.type' = 'file_source', 't.bogus' = 'x')",
    "SELECT a\nFROM t\nWHERE x >> 1",
    "EXPLAIN SELECT FOO(a), b FROM t GROUP BY a",
    "EXPLAIN\nEXPLAIN SELECT 1",
]


def _inputs() -> list[tuple[str, str]]:
    found = [(f"inline-{i}", sql) for i, sql in enumerate(INLINE)]
    if CORPUS.is_dir():
        found += [(name, (CORPUS / name).read_text()) for name in statement_names()]
    return found


def _findings(errors) -> list:
    return [(e.kind, e.severity, e.message, e.line, e.column, e.hint) for e in errors]


def outcome(name: str, sql: str):
    """Everything a caller can observe from parsing and validating ``sql`` (as statements and as
    an application file)."""
    as_file = check_sql_file(sql, name).to_dict()
    try:
        script = parse_sql(sql, name)
    except SqlError as err:
        return ("error", err.format(), as_file)
    per_statement = [(to_sql(stmt), _findings(check(stmt)), describe_statement(stmt).to_dict())
                     for stmt in script.statements]
    return ("ok", script, per_statement, as_file)


@pytest.fixture
def busy_switching():
    """Let the interpreter switch threads every microsecond so that parses really interleave."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def test_the_inputs_cover_errors_and_statements():
    kinds = {outcome(name, sql)[0] for name, sql in _inputs()}
    assert kinds == {"ok", "error"}


def test_parse_and_validate_from_eight_threads_equals_single_threaded(busy_switching, no_hang):
    inputs = _inputs()
    expected = {name: outcome(name, sql) for name, sql in inputs}
    start = threading.Barrier(THREADS)
    mismatches: list = []
    crashes: list = []

    def worker(seed: int):
        order = list(inputs)
        rng = random.Random(seed)
        start.wait()
        try:
            for _ in range(ROUNDS):
                rng.shuffle(order)
                for name, sql in order:
                    got = outcome(name, sql)
                    if got != expected[name]:
                        mismatches.append((name, expected[name], got))
        except Exception as exc:  # noqa: BLE001 - a crash in a thread is the failure reported
            crashes.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not crashes, crashes[:3]
    assert not mismatches, [m[0] for m in mismatches[:5]] + [mismatches[0][1:]]
