"""Syntax errors name the line and column, show the line with a caret, and say what was expected."""

import pytest

from velostream.errors import SqlSyntaxError
from velostream.grammar import parse_sql, parse_statement, parse_window


def error_of(sql, filename="q.sql"):
    with pytest.raises(SqlSyntaxError) as info:
        parse_sql(sql, filename)
    return info.value


@pytest.mark.parametrize("sql, line, column, fragment", [
    ("SELECT a FROM b c d", 1, 19, "unexpected identifier 'd'"),
    ("SELECT a FROM", 1, 14, "unexpected end of input; expected identifier"),
    ("SELECT a, FROM t", 1, 11, "expected one of '*', an expression"),
    ("SELECT a\nFROM t\nWHERE x BETWEEN 1 AND", 3, 22, "expected an expression"),
    ("SELECT a FROM t JOIN u", 1, 23, "expected ON"),
    ("SELECT a FROM t GROUP x", 1, 23, "expected BY"),
    ("SELECT 'abc FROM t", 1, 8, "unterminated string literal"),
    ('SELECT "abc FROM t', 1, 8, "unterminated string literal"),
    ("SELECT `abc FROM t", 1, 8, "unterminated quoted identifier"),
    ("SELECT a FROM t /* x", 1, 17, "unterminated comment"),
    ("SELECT @ FROM t", 1, 8, "unexpected character '@'"),
    ("SELECT 5min FROM t", 1, 8, "malformed number '5min'"),
    ("SELECT a FROM t WINDOW TUMBLE(5m)", 1, 24, "unknown window type 'TUMBLE'"),
    ("SELECT a FROM t WINDOW TUMBLING(x)", 1, 33, "TUMBLING expects a duration"),
    ("SELECT a FROM t WINDOW HOPPING(5m)", 1, 24, "wrong number of arguments for HOPPING"),
    ("SELECT a FROM t WINDOW TUMBLING(INTERVAL 5 FORTNIGHTS)", 1, 44, "unknown interval unit 'FORTNIGHTS'"),
    ("SELECT a FROM t WINDOW TUMBLING(0s)", 1, 33, "must be positive"),
    ("SELECT a FROM t WINDOW TUMBLING(TIMEOUT 5m)", 1, 24, "TIMEOUT is only valid"),
    ("SELECT COUNT(x FROM y) FROM t", 1, 16, "only valid in EXTRACT"),
    ("SELECT EXTRACT(CENTURY FROM ts) FROM t", 1, 16, "unknown EXTRACT field"),
    ("SELECT 99999999999999999999 FROM t", 1, 8, "does not fit in BIGINT"),
    ("SELECT a FROM t LIMIT 5 LIMIT 6", 1, 25, "unexpected keyword LIMIT"),
    ("SELECT a FROM t;\nSELECT b FROM u WHERE", 2, 22, "unexpected end of input"),
    ("SELECT * FROM orders WHERE amount > 100\nSELECT 1", 2, 1, "unexpected keyword SELECT"),
])
def test_error_position_and_message(sql, line, column, fragment):
    err = error_of(sql)
    assert (err.line, err.column) == (line, column), err.format()
    assert fragment in err.message


def test_format_shows_file_line_column_and_caret():
    err = error_of("SELECT a\nFROM t\nWHERE x >> 1", "jobs.sql")
    text = err.format()
    lines = text.splitlines()
    assert lines[0].startswith("jobs.sql:3:10: error: unexpected '>'")
    assert lines[1] == "  WHERE x >> 1"
    assert lines[2] == "           ^"


def test_missing_semicolon_gets_a_hint():
    err = error_of("SELECT a FROM t\nSELECT b FROM u")
    assert err.hint == "end the previous statement with ';'"
    assert "hint: end the previous statement" in err.format()


def test_tabs_keep_the_caret_under_the_character():
    err = error_of("SELECT\ta\tFROM t t2 t3")
    caret_line = err.format().splitlines()[2]
    source_line = err.format().splitlines()[1]
    assert source_line[caret_line.index("^")] == "t"


def test_parse_statement_rejects_two_statements():
    with pytest.raises(SqlSyntaxError, match="exactly one statement"):
        parse_statement("SELECT 1; SELECT 2")


def test_window_fragment_errors_are_relative_to_the_fragment():
    with pytest.raises(SqlSyntaxError) as info:
        parse_window("TUMBLING (INTERVAL 5 MINUTES")
    assert (info.value.line, info.value.column) == (1, 29)
