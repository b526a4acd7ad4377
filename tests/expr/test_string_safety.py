"""Functions that must not hang or exhaust memory on hostile input (issue 10, "Functions"):
regular expressions run on RE2 (linear time), REGEXP_REPLACE replaces every match, and string
results are capped at the job property ``max_string_bytes``."""

import pytest

from tests.expr import ev, one, values
from velostream._core import kernels_py as K
from velostream.errors import SqlValidationError

# --------------------------------------------------------------------------- regexes

def test_nested_quantifier_is_linear_on_constant_and_row_patterns(no_hang):
    text = "a" * 5000
    assert one("REGEXP_REPLACE(s, '(a+)+b', 'x')", {"s": text}) == text
    assert values("REGEXP_REPLACE(s, p, 'x')", [{"s": text, "p": "(a|aa)+$b"},
                                                {"s": "a" * 33, "p": "(a+)+b"}]) == [text, "a" * 33]


@pytest.mark.parametrize("sql, want", [
    ("REGEXP_REPLACE('banana', 'a', 'X')", "bXnXnX"),
    ("REGEXP_REPLACE('a1b22c333', '[0-9]+', '#')", "a#b#c#"),
    ("REGEXP_REPLACE('john smith', '(\\w+) (\\w+)', '\\2, \\1')", "smith, john"),
    ("REGEXP_REPLACE('ab', '[ab]', '<\\0>')", "<a><b>"),
    ("REGEXP_REPLACE('ab', 'a', '\\\\1')", "\\1b"),          # \\ is a backslash
    ("REGEXP_REPLACE('ab', '(a)', '$1')", "$1b"),            # $ is literal (RE2 / DuckDB style)
    ("REGEXP_REPLACE('abc', '', '-')", "-a-b-c-"),
    ("REGEXP_REPLACE('éé', '', '-')", "-é-é-"),               # empty matches step whole characters
    ("REGEXP_REPLACE('café', '.', 'x')", "xxxx"),
    ("REGEXP_REPLACE('aaa', '^a', 'b')", "baa"),              # ^ only at the start of the text
    ("REGEXP_REPLACE('abxd', 'x*', '-')", "-a-b--d-"),        # as Java's replaceAll
    ("REGEXP_REPLACE('a b', '(x)?b', '[\\1]')", "a []"),       # an unmatched group is empty
])
def test_regexp_replace_replaces_every_match(sql, want):
    assert one(sql) == want


@pytest.mark.parametrize("pattern, says", [
    ("(a)\\1", "backreferences"), ("a(?=b)", "lookahead and lookbehind"),
    ("(?<!x)a", "lookahead and lookbehind"), ("(", "missing )"),
])
def test_unsupported_constant_pattern_is_a_validation_error(pattern, says):
    with pytest.raises(SqlValidationError) as err:
        ev(f"REGEXP_REPLACE(s, '{pattern}', 'x')", [{"s": "ab"}])
    assert says in str(err.value) and "RE2" in str(err.value)
    assert "Traceback" not in str(err.value) and "b'" not in str(err.value)


def test_unsupported_row_pattern_is_a_row_error():
    got, errors, _ = ev("REGEXP_REPLACE(s, p, 'x')",
                        [{"s": "abab", "p": "(a)b\\1"}, {"s": "ab", "p": "b"}])
    assert got == [None, "ax"]
    assert list(errors) == [0] and errors[0].startswith("REGEXP_REPLACE: ")
    assert "backreferences" in errors[0]


def test_replacement_naming_a_missing_group():
    with pytest.raises(SqlValidationError, match="group \\\\2 but the pattern has 1 group"):
        ev("REGEXP_REPLACE(s, '(a)', '\\2')", [{"s": "a"}])
    got, errors, _ = ev("REGEXP_REPLACE(s, p, '\\1')", [{"s": "ab", "p": "a"}, {"s": "ab", "p": "(a)"}])
    assert got == [None, "ab"] and "refers to group \\1" in errors[0]


def test_patterns_are_compiled_once_not_per_row(monkeypatch):
    calls = []
    real = K.compile_regex

    def counting(pattern):
        calls.append(pattern)
        return real(pattern)
    monkeypatch.setattr(K, "compile_regex", counting)
    rows = [{"s": f"x{i}", "p": "[0-9]" if i % 2 else "x"} for i in range(500)]
    assert values("REGEXP_REPLACE(s, '[0-9]+', '#')", rows)[:2] == ["x#", "x#"]
    assert calls == ["[0-9]+"]
    calls.clear()
    assert values("REGEXP_REPLACE(s, p, '#')", rows)[:2] == ["#0", "x#"]
    assert sorted(calls) == ["[0-9]", "x"]


# --------------------------------------------------------------------------- max_string_bytes

def test_default_cap_is_16_mib():
    assert K.DEFAULT_MAX_STRING_BYTES == 16 * 1024 * 1024


@pytest.mark.parametrize("sql, name", [
    ("LPAD(s, 100000000000, 'x')", "LPAD"),
    ("RPAD(s, 100000000000, 'xy')", "RPAD"),
    ("LPAD(s, 20000000, 'é')", "LPAD"),                       # 20 M characters of 2 bytes
])
def test_padding_beyond_the_default_cap_fails_the_row(sql, name):
    got, errors, _ = ev(sql, [{"s": "ab"}])
    assert got == [None] and errors[0].startswith(f"{name}: result would be")
    assert "max_string_bytes (16,777,216)" in errors[0]


@pytest.mark.parametrize("sql, ok_row", [
    ("LPAD(s, n, 'é')", {"s": "a", "n": 50}),
    ("RPAD(s, n, 'xyz')", {"s": "a", "n": 100}),
    ("CONCAT(s, s, s)", {"s": "a" * 33, "n": 0}),
    ("CONCAT_WS('--', s, s, s)", {"s": "a" * 31, "n": 0}),
    ("s || s || s", {"s": "a" * 33, "n": 0}),
    ("REPLACE(s, 'a', 'xyz')", {"s": "a" * 33, "n": 0}),
    ("REGEXP_REPLACE(s, 'a', 'xyz')", {"s": "a" * 33, "n": 0}),
    ("REGEXP_REPLACE(s, '(a)', '\\1\\1\\1')", {"s": "a" * 33, "n": 0}),
])
def test_every_growing_function_honours_max_string_bytes(sql, ok_row):
    """At a cap of 100 bytes: a result of exactly 100 bytes or fewer passes, one past fails."""
    params = {"max_string_bytes": 100}
    big = {k: (v * 2 if isinstance(v, str) else v * 2 + 1) for k, v in ok_row.items()}
    got, errors, _ = ev(sql, [ok_row, big], params=params)
    assert got[0] is not None and len(got[0].encode()) <= 100, got[0]
    assert got[1] is None and "more than max_string_bytes (100)" in errors[1], errors
    assert list(errors) == [1]


def test_cap_counts_utf8_bytes_exactly():
    params = {"max_string_bytes": 10}
    assert one("LPAD('é', 5, 'é')", params=params) == "ééééé"           # 10 bytes
    got, errors, _ = ev("LPAD('é', 6, 'é')", params=params)              # 12 bytes
    assert got == [None] and "12 bytes" in errors[0]
    assert one("CONCAT('ééé', 'éé')", params=params) == "ééééé"
    got, errors, _ = ev("CONCAT('ééé', 'éé', 'a')", params=params)
    assert got == [None] and "11 bytes" in errors[0]


# --------------------------------------------------------------------------- CAST from text

PYTHON_INTERNALS = ("Exceeds the limit", "sys.set_int_max_str_digits", "ConversionSyntax",
                    "<class", "Traceback", "cannot convert")


@pytest.mark.parametrize("text", ["1e99999", "-1e99999", "1e999999999", "9" * 5000])
def test_cast_text_past_double_range_fails_the_row(text):
    got, errors, _ = ev("CAST(s AS DOUBLE)", [{"s": text}, {"s": "1e300"}])
    assert got == [None, 1e300]
    assert list(errors) == [0] and "out of DOUBLE range" in errors[0]
    assert len(errors[0]) < 120                          # a long value is cut in the message


def test_cast_text_infinity_is_still_infinite():
    assert values("CAST(s AS DOUBLE)", [{"s": "inf"}, {"s": "-Infinity"}]) == [
        float("inf"), float("-inf")]


@pytest.mark.parametrize("target", ["DOUBLE", "BIGINT", "BOOLEAN", "TIMESTAMP"])
@pytest.mark.parametrize("text", ["9" * 5000, "1e999999999", "١٢٣", "nan?", "x" * 300])
def test_cast_text_errors_show_no_python_internals(target, text):
    got, errors, _ = ev(f"CAST(s AS {target})", [{"s": text}])
    assert got == [None] and errors[0].startswith("cannot CAST '"), errors
    assert f"to {target}" in errors[0] and len(errors[0]) < 120
    assert not any(bad in errors[0] for bad in PYTHON_INTERNALS)


@pytest.mark.parametrize("target", ["DOUBLE", "BIGINT", "TIMESTAMP"])
def test_cast_of_huge_nested_numbers_shows_no_python_internals(target):
    from decimal import Decimal

    rows = [{"o": Decimal("1e400")}, {"o": 10 ** 5000}, {"o": Decimal("-Infinity")}, {"o": [1]}]
    got, errors, _ = ev(f"CAST(o AS {target})", rows)
    failed = [i for i in range(4) if i in errors]
    assert failed == ([0, 1, 3] if target == "DOUBLE" else [0, 1, 2, 3]), errors
    assert all(got[i] is None for i in failed)
    assert all(target in errors[i] and not any(bad in errors[i] for bad in PYTHON_INTERNALS)
               for i in failed), errors
