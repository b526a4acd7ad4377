"""Property tests: whatever the input, the parser either returns an AST or raises SqlSyntaxError."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from velostream.errors import SqlSyntaxError
from velostream.grammar import parse_sql, to_sql
from velostream.grammar.lexer import KEYWORDS

_WORDS = sorted(KEYWORDS) + [
    "a", "b", "t", "x", "COUNT", "SUM", "TUMBLING", "SESSION", "TIMEOUT", "MINUTE", "1", "2.50",
    "1e3", "5m", "'s'", '"d"', "`q`", "(", ")", ",", ".", ";", "*", "+", "-", "/", "%", "||", "=",
    "!=", "<", ">=", "[", "]", "--c\n", "/*c*/", "#c\n",
]


def _parse_or_syntax_error(text):
    try:
        tree = parse_sql(text)
    except SqlSyntaxError as err:
        assert err.line >= 1 and err.column >= 1, err
        assert err.format()  # rendering never fails either
        return None
    return tree


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(st.characters(min_codepoint=9, max_codepoint=0x2FFF, blacklist_categories=("Cs",)), max_size=80))
def test_random_printable_text_never_crashes(text):
    _parse_or_syntax_error(text)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_WORDS), max_size=25))
def test_random_token_soup_never_crashes_and_parsed_trees_round_trip(words):
    text = " ".join(words)
    tree = _parse_or_syntax_error(text)
    if tree is not None:
        assert parse_sql(to_sql(tree)) == tree


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["SELECT a FROM t WHERE ", "SELECT ", "SELECT x FROM t GROUP BY k WINDOW "]),
       st.lists(st.sampled_from(_WORDS), min_size=1, max_size=12))
def test_prefixed_soup_reaches_deep_states(prefix, words):
    tree = _parse_or_syntax_error(prefix + " ".join(words))
    if tree is not None:
        assert parse_sql(to_sql(tree)) == tree
