"""The bounded fuzz run of the test suite, and the replay of every kept corpus file and crash.

Hypothesis draws structured inputs (JSON Lines records, CSV tables, number texts, expressions on
random rows) and hands them, as bytes, to the same targets atheris runs for longer
(``python -m tests.fuzz.run TARGET``, see README.md). Counts are kept small so the whole file takes
a few seconds; the long runs are the documented command, not the suite.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.expr.test_property import KINDS, batches, check, exprs
from tests.fuzz.oracles import (
    TARGETS,
    check_csv,
    check_csv_declared,
    check_json_declared,
    check_json_lines,
    check_scaled,
)
from velostream.errors import SqlValidationError

HERE = Path(__file__).parent
BOUNDED = settings(max_examples=60, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --------------------------------------------------------------------------- strategies

_keys = st.sampled_from(["a", "b", "B", "price", "qty", "é", "x y", "k\"q"])
_numbers_text = st.one_of(
    st.integers(-2 ** 70, 2 ** 70).map(str),
    st.integers(-10 ** 45, 10 ** 45).map(str),
    st.sampled_from(["0", "-0", "0.0", "-0.0", "1e3", "1E-7", "-2.5e+2", "1.0000000000000000001",
                     "0.0000000000000000000", "9223372036854775807", "9223372036854775808",
                     "-9223372036854775808", "-9223372036854775809", "1" + "0" * 40]),
    st.tuples(st.integers(-10 ** 20, 10 ** 20), st.integers(0, 40)).map(
        lambda t: str(Decimal(t[0]).scaleb(-t[1]))),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)
_scalars = st.one_of(st.none(), st.booleans(), st.text(max_size=8), _numbers_text.map(Decimal))


def _json_value(depth):
    if depth <= 0:
        return _scalars
    inner = _json_value(depth - 1)
    return st.one_of(_scalars, st.lists(inner, max_size=3),
                     st.dictionaries(_keys, inner, max_size=3))


def _dump(value) -> str:
    """JSON text with Decimals written exactly as their text (json has no hook for that)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    return json.dumps(value)


_records = st.dictionaries(_keys, _json_value(2), max_size=5)
_junk = st.sampled_from(["", "  ", "not json", "{", "[1]", '{"a":1,}', '{"a":NaN}', "{}",
                         '{"a":"\\ud800"}', '{"a":1}x', "\ufeff{}"])
_jsonl = st.lists(st.one_of(_records.map(_dump), _records.map(_dump), _junk), max_size=8).map(
    lambda lines: "\n".join(lines).encode("utf-8"))


@st.composite
def _csv_tables(draw):
    width = draw(st.integers(1, 4))
    field = st.one_of(_numbers_text, st.text(max_size=6), st.sampled_from(
        ["", "true", "FALSE", "007", "+5", "a,b", 'say "hi"', "two\nlines", " x "]))
    rows = draw(st.lists(st.lists(field, min_size=width, max_size=width), max_size=6))
    out = io.StringIO()
    writer = csv.writer(out, quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
                        lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow([f"c{i}" for i in range(width)])
    writer.writerows(rows)
    text = out.getvalue()
    if draw(st.booleans()):
        text += draw(st.sampled_from(["1", "a,b,c,d,e\n", '"open\n', 'x"y,1\n', "\n\n"]))
    return text.encode("utf-8")


# --------------------------------------------------------------------------- bounded runs

@BOUNDED
@given(_jsonl)
def test_json_lines_agree_with_json(data):
    check_json_lines(data)


@BOUNDED
@given(st.binary(max_size=200))
def test_json_lines_survive_any_bytes(data):
    check_json_lines(data)


_declared_kinds = st.integers(0, 255)


@BOUNDED
@given(_declared_kinds, st.lists(st.one_of(_numbers_text,
                                                _scalars.map(_dump),
                                                st.sampled_from(['"12.5"', '" 7 "', '"1e3"'])),
                                      max_size=6))
def test_declared_types_convert_like_decimal(kind, values):
    lines = "\n".join(f'{{"a": {v}}}' for v in values)
    check_json_declared(bytes([kind]) + lines.encode())


@BOUNDED
@given(_declared_kinds, st.lists(st.one_of(_numbers_text,
                                                st.text(max_size=6), st.sampled_from(
                                                    ["true", "FALSE", " 7 ", "1e3", "-0"])),
                                      max_size=6))
def test_declared_csv_types_convert_like_decimal(kind, values):
    check_csv_declared(bytes([kind]) + "\n".join(values).encode())


def test_declared_bigint_long_zero():
    """Issue 10: more than 18 zero decimals left the BIGINT slot unset (NULL, or heap garbage)."""
    check_json_declared(b'\x00{"a": 0.0000000000000000000}\n{"a": -0.00000000000000000000}')


@BOUNDED
@given(_csv_tables())
def test_csv_agrees_with_the_csv_module(data):
    check_csv(data)


@BOUNDED
@given(st.text(max_size=100).map(lambda t: t.encode("utf-8")))
def test_csv_survives_any_text(data):
    check_csv(data)


@BOUNDED
@given(st.binary(max_size=200))
@example(b"a\n\x80\n")
def test_csv_survives_any_bytes(data):
    check_csv(data)


@BOUNDED
@given(_numbers_text, st.sampled_from(["+", "-", "*", "/", "%", "<"]), _numbers_text)
def test_scaled_integer_agrees_with_decimal(a, op, b):
    check_scaled(f"{a}\n{op}\n{b}".encode())


def _expression_case(data):
    kind = data.draw(st.sampled_from(KINDS))
    batch, rows = data.draw(batches())
    sql, _ = data.draw(exprs(kind))
    try:
        check(sql, batch, rows)
    except SqlValidationError as err:  # the generator only makes valid trees
        raise AssertionError(f"{sql}: {err}") from err


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_expressions_agree_with_the_reference_evaluator(data):
    """The same property as tests/expr/test_property.py, as one target atheris can drive."""
    _expression_case(data)


# --------------------------------------------------------------------------- replay

# The atheris targets (run.py): raw-bytes checks, and the expression test driven by its bytes.
ALL_TARGETS = {
    **TARGETS,
    "expr": test_expressions_agree_with_the_reference_evaluator.hypothesis.fuzz_one_input,
}


# Crashes of defects other branches are fixing: an XPASS says the fix is in, drop the entry.
KNOWN_CRASHES: dict = {}


def _kept(kind):
    paths = sorted(p for target in ALL_TARGETS for p in (HERE / kind / target).glob("*")
                   if p.is_file() and not p.name.startswith("."))
    return [pytest.param(p, id=f"{p.parent.name}/{p.name}", marks=[pytest.mark.xfail(
                strict=True, reason=KNOWN_CRASHES[f"{p.parent.name}/{p.name}"])]
            if f"{p.parent.name}/{p.name}" in KNOWN_CRASHES else []) for p in paths]


@pytest.mark.parametrize("path", _kept("corpus"))
def test_corpus_replays(path):
    ALL_TARGETS[path.parent.name](path.read_bytes())


@pytest.mark.parametrize("path", _kept("crashes"))
def test_crashes_stay_fixed(path):
    ALL_TARGETS[path.parent.name](path.read_bytes())


def test_every_target_has_a_seed_corpus():
    assert {p.values[0].parent.name for p in _kept("corpus")} >= set(ALL_TARGETS)
