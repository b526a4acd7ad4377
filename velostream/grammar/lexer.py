"""Tokens of the velostream SQL dialect (PLY lexer).

Owns the token set, the reserved / unreserved keyword lists and lexical errors. Keywords are
case-insensitive. *Reserved* keywords can only be used as identifiers inside backticks;
*unreserved* ones (``STREAM``, ``KEY``, ``ROWS``, ``EXPLAIN`` …) are tokens of their own where the grammar
needs them but the grammar's ``identifier`` rule accepts them too (PostgreSQL's approach), so
``timestamp``, ``status``, ``key`` or ``start`` stay usable as column names.
"""

from __future__ import annotations

import bisect
import re

from ply import lex

from velostream.errors import SqlSyntaxError

RESERVED = frozenset(["SELECT", "DISTINCT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "ORDER", "ASC", "DESC", "LIMIT", "EMIT", "INTO", "WITH", "AS", "ON", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "OUTER", "CROSS", "WITHIN", "WINDOW", "AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "BETWEEN", "CASE", "WHEN", "THEN", "ELSE", "END", "CAST", "TRUE", "FALSE", "INTERVAL", "OVER", "PARTITION", "CREATE", "PRIMARY"])

UNRESERVED = frozenset(["EXPLAIN", "STREAM", "TABLE", "START", "STOP", "PAUSE", "RESUME", "JOB", "JOBS", "STREAMS", "TABLES", "SHOW", "DESCRIBE", "CHANGES", "FINAL", "KEY", "ROWS", "RANGE", "BUFFER", "PRECEDING", "FOLLOWING", "UNBOUNDED", "CURRENT", "ROW", "NULLS", "FIRST", "LAST"])

KEYWORDS = RESERVED | UNRESERVED

tokens = tuple(sorted(KEYWORDS)) + (
    "ID", "INTEGER", "DECIMAL", "FLOAT", "STRING", "DURATION", "POSITION",
    "PLUS", "MINUS", "STAR", "SLASH", "PERCENT", "CONCAT",
    "EQ", "NE", "LT", "LE", "GT", "GE",
    "LPAREN", "RPAREN", "LBRACKET", "RBRACKET", "COMMA", "DOT", "SEMI",
)

# Human names of non-keyword tokens, for "expected …" messages.
TOKEN_NAMES = {
    "ID": "identifier", "INTEGER": "integer", "DECIMAL": "decimal number",
    "FLOAT": "number", "STRING": "string", "DURATION": "duration (e.g. 5m)",
    "POSITION": "POSITION(", "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'",
    "PERCENT": "'%'", "CONCAT": "'||'", "EQ": "'='", "NE": "'!='", "LT": "'<'", "LE": "'<='",
    "GT": "'>'", "GE": "'>='", "LPAREN": "'('", "RPAREN": "')'", "LBRACKET": "'['",
    "RBRACKET": "']'", "COMMA": "','", "DOT": "'.'", "SEMI": "';'", "$end": "end of input",
}

t_ignore = " \t\r\n\f"

t_CONCAT = r"\|\|"
t_NE = r"!=|<>"
t_LE = r"<="
t_GE = r">="
t_EQ = r"==?"
t_LT = r"<"
t_GT = r">"
t_PLUS = r"\+"
t_MINUS = r"-"
t_STAR = r"\*"
t_SLASH = r"/"
t_PERCENT = r"%"
t_LPAREN = r"\("
t_RPAREN = r"\)"
t_LBRACKET = r"\["
t_RBRACKET = r"\]"
t_COMMA = r","
t_SEMI = r";"


# PLY tries function rules in definition order, before the string rules above: comments first
# (so "--" is not two minus signs), numbers before DOT (so ".5" is a number).
def t_ignore_COMMENT(t):
    r"--[^\n]*|\#[^\n]*|/\*(.|\n)*?\*/"
    # '#' comments are MySQL's; the product documents use them inside WITH (…).


def t_ignore_UNTERMINATED_COMMENT(t):
    r"/\*"
    raise SqlSyntaxError("unterminated comment (missing */)", *t.lexer.position(t.lexpos))


def t_DURATION(t):
    r"\d+(ms|s|m|h|d)(?![A-Za-z0-9_])"
    return t


def t_FLOAT(t):
    r"(\d+\.\d*|\.\d+|\d+)[eE][+-]?\d+"
    return t


def t_DECIMAL(t):
    r"\d+\.\d+|\.\d+"
    return t


def t_INTEGER(t):
    r"\d+(?![A-Za-z_])"
    t.value = int(t.value)
    return t


def t_STRING(t):
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\""
    quote = t.value[0]
    t.value = t.value[1:-1].replace(quote * 2, quote)
    return t


_POSITION_CALL = re.compile(r"\s*\(")


def t_ID(t):
    r"[A-Za-z_][A-Za-z0-9_]*|`(?:[^`]|``)+`"
    if t.value[0] == "`":
        # A quoted identifier is never a keyword: that is what the quotes are for.
        t.value = QuotedName(t.value[1:-1].replace("``", "`"))
        return t
    upper = t.value.upper()
    if upper in KEYWORDS:
        t.type = upper
    elif upper == "POSITION" and _POSITION_CALL.match(t.lexer.lexdata, t.lexer.lexpos):
        # POSITION(x IN y) needs its own token, but only when called: a column may be named
        # "position" and stays an identifier.
        t.type = "POSITION"
    return t


def t_DOT(t):
    r"\."
    return t


def t_error(t):
    text = t.value
    char = text[0]
    if char in "'\"":
        message = f"unterminated string literal (missing closing {char})"
    elif char == "`":
        message = "unterminated quoted identifier (missing closing `)"
    elif char.isdigit():
        match = re.match(r"\d+[A-Za-z_]\w*", text)
        message = f"malformed number {match.group(0)!r}" if match else f"malformed number near {text[:10]!r}"
    else:
        message = f"unexpected character {char!r}"
    raise SqlSyntaxError(message, *t.lexer.position(t.lexpos))


class QuotedName(str):
    """An identifier written in backticks: never a keyword or a niladic function."""

    __slots__ = ()


class LineIndex:
    """Maps character offsets in a text to 1-based (line, column)."""

    __slots__ = ("starts",)

    def __init__(self, text: str):
        self.starts = [0]
        self.starts.extend(m.end() for m in re.finditer("\n", text))

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1


# reflags=0: PLY defaults to re.VERBOSE, where "#" and spaces in a rule would be ignored.
_base_lexer = lex.lex(reflags=0)


def make_lexer(text: str):
    """A fresh lexer over ``text`` with ``.position(offset)`` and ``.last_end`` tracking."""
    lexer = _base_lexer.clone()
    index = LineIndex(text)
    lexer.position = index.position
    lexer.input(text)
    return lexer


def tokenize(text: str) -> list:
    """All tokens of ``text`` (for tests and tools); raises SqlSyntaxError on bad input."""
    lexer = make_lexer(text)
    return list(iter(lexer.token, None))
