"""Wide DECIMAL (past an int64 mantissa, DECIMAL(38) and beyond) is exact: every operator and
function agrees with ``decimal.Decimal`` at the 18/19-digit and 38/39-digit boundaries, each
value at its own scale, and the JSON/CSV codecs round-trip it."""

import decimal
import json
from array import array
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.expr import ev
from velostream._core.batch import RecordBatch, decimal_column, decimal_sum
from velostream._core.decimal import ScaledInteger
from velostream._core.expr import decimal_path_counts
from velostream.formats.csv import CsvDecoder, CsvEncoder
from velostream.formats.json import JsonDecoder, JsonEncoder
from velostream.grammar import parse_expression
from velostream.plan.compile import compile_expression, schema_of

EXACT = decimal.Context(prec=200, rounding=decimal.ROUND_HALF_EVEN)


def _near(k):
    """Magnitudes at the edge of k digits: 10**k - small .. 10**k + small."""
    return st.integers(-50, 50).map(lambda d, k=k: 10 ** k + d)


MANTISSA = st.one_of(
    st.integers(-10 ** 6, 10 ** 6), _near(18), _near(19), _near(37), _near(38), _near(39),
    st.sampled_from([2 ** 63 - 1, 2 ** 63, -(2 ** 63), -(2 ** 63) - 1, 2 ** 64, 10 ** 38 - 1]),
).flatmap(lambda m: st.sampled_from([m, -m]))
VALUE = st.builds(lambda m, s: ScaledInteger.from_parts(m, s), MANTISSA, st.integers(0, 8))
ROWS = st.lists(st.tuples(VALUE, VALUE), min_size=1, max_size=6)


def batch_of(pairs):
    return RecordBatch(["x", "y"], [decimal_column([a for a, _ in pairs]),
                                    decimal_column([b for _, b in pairs])])


def run(sql, batch):
    compiled = compile_expression(parse_expression(sql), schema_of(batch))
    errors = []
    column = compiled.evaluate(batch, errors)
    return column.to_pylist(), dict(errors)


def D(v):
    return Decimal(v.mantissa).scaleb(-v.scale, EXACT)


def same(got, want: Decimal):
    """The same value and the same scale."""
    assert isinstance(got, ScaledInteger), got
    assert (got.mantissa, got.scale) == (int(want.scaleb(-want.as_tuple().exponent, EXACT)),
                                         -want.as_tuple().exponent), (got, want)


def quantize(value: Decimal, scale: int, rounding=decimal.ROUND_HALF_EVEN):
    return value.quantize(Decimal(1).scaleb(-scale), rounding=rounding, context=EXACT)


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "%"])
@SETTINGS
@given(pairs=ROWS)
def test_arithmetic_is_exact_at_the_boundaries(op, pairs):
    got, errors = run(f"x {op} y", batch_of(pairs))
    for i, (a, b) in enumerate(pairs):
        x, y = D(a), D(b)
        if op in "/%" and y == 0:
            assert got[i] is None and errors[i] == "division by zero"
            continue
        assert i not in errors
        if op == "+":
            want = quantize(EXACT.add(x, y), max(a.scale, b.scale))
        elif op == "-":
            want = quantize(EXACT.subtract(x, y), max(a.scale, b.scale))
        elif op == "*":
            want = quantize(EXACT.multiply(x, y), a.scale + b.scale)
        elif op == "/":
            s = max(a.scale, b.scale) + 4     # rounded half-even at that scale, exactly
            want = Decimal(round(Fraction(x) / Fraction(y) * 10 ** s)).scaleb(-s, EXACT)
        else:
            want = quantize(EXACT.remainder(x, y), max(a.scale, b.scale))
        same(got[i], want)


@SETTINGS
@given(pairs=ROWS)
def test_comparisons_negation_and_rounding_are_exact(pairs):
    batch = batch_of(pairs)
    less, _ = run("x < y", batch)
    equal, _ = run("x = y", batch)
    neg, _ = run("-x", batch)
    absolute, _ = run("ABS(x)", batch)
    rounded, _ = run("ROUND(x)", batch)
    rounded2, _ = run("ROUND(x, 2)", batch)
    floor, _ = run("FLOOR(x)", batch)
    ceil, _ = run("CEIL(x)", batch)
    least, _ = run("LEAST(x, y)", batch)
    coalesce, _ = run("COALESCE(x, y)", batch)
    case, _ = run("CASE WHEN x > y THEN x ELSE y END", batch)
    in_list, _ = run("x IN (0, 1.5, 99999999999999999999999999999999999999.0)", batch)
    for i, (a, b) in enumerate(pairs):
        x, y = D(a), D(b)
        assert less[i] is (x < y) and equal[i] is (x == y)
        same(neg[i], EXACT.minus(x))
        same(absolute[i], EXACT.abs(x))
        same(rounded[i], quantize(x, 0, decimal.ROUND_HALF_UP))
        same(rounded2[i], quantize(x, min(2, a.scale), decimal.ROUND_HALF_UP))
        same(floor[i], quantize(x, 0, decimal.ROUND_FLOOR))
        same(ceil[i], quantize(x, 0, decimal.ROUND_CEILING))
        same(least[i], min(x, y))
        same(coalesce[i], x)
        same(case[i], max(y, x))
        assert in_list[i] is (x in (0, Decimal("1.5"), Decimal(10 ** 38 - 1)))


@SETTINGS
@given(pairs=ROWS)
def test_casts_from_wide_decimals_are_exact(pairs):
    batch = batch_of(pairs)
    to38, errors38 = run("CAST(x AS DECIMAL(38,5))", batch)
    text, _ = run("CAST(x AS STRING)", batch)
    double, _ = run("CAST(x AS DOUBLE)", batch)
    bigint, errors_big = run("CAST(x AS BIGINT)", batch)
    back, _ = run("CAST(CAST(x AS STRING) AS DECIMAL(38,8))", batch)
    for i, (a, _) in enumerate(pairs):
        x = D(a)
        want = quantize(x, 5)
        if EXACT.abs(want) >= Decimal(10) ** 33:
            assert to38[i] is None and "out of range for DECIMAL(38,5)" in errors38[i]
        else:
            same(to38[i], want)
        assert text[i] == format(x, "f")
        assert double[i] == float(x)
        whole = int(quantize(x, 0, decimal.ROUND_HALF_UP))
        if -2 ** 63 <= whole < 2 ** 63:
            assert bigint[i] == whole
        else:
            assert bigint[i] is None and i in errors_big
        if EXACT.abs(quantize(x, 8)) < Decimal(10) ** 30:
            same(back[i], quantize(x, 8))


def test_cast_to_decimal_38_from_literals_and_integers():
    values, errors, _ = ev("CAST(12345678901 AS DECIMAL(38,10))")
    assert errors == {} and str(values[0]) == "12345678901.0000000000"
    values, errors, _ = ev("CAST(1.25 AS DECIMAL(38,20))")
    assert errors == {} and str(values[0]) == "1.25000000000000000000"
    values, errors, _ = ev("CAST(x AS DECIMAL(38,2)) * 1000000000", [{"x": 10 ** 18}])
    assert errors == {} and str(values[0]) == "1000000000000000000000000000.00"
    values, errors, _ = ev("CAST('1e30' AS DECIMAL(38,2))")
    assert errors == {} and str(values[0]) == "1000000000000000000000000000000.00"
    _, errors, _ = ev("CAST(x AS DECIMAL(38,2))", [{"x": 10 ** 18}, {"x": 1}],
                      batch=RecordBatch(["x"], [decimal_column([10 ** 36, 1])]))
    assert errors == {0: "1000000000000000000000000000000000000 is out of range for "
                         "DECIMAL(38,2)"}


@SETTINGS
@given(values=st.lists(VALUE, min_size=1, max_size=6))
def test_json_and_csv_round_trip_wide_decimals(values):
    lines = b"".join(b'{"x": %s}\n' % str(v).encode() for v in values)
    decoded = JsonDecoder().decode_lines(lines).batch
    exact = [Decimal(v) if isinstance(v, int) else D(v) for v in decoded.column("x").to_pylist()]
    assert exact == [D(v) for v in values]
    assert [v.scale if isinstance(v, ScaledInteger) else 0
            for v in decoded.column("x").to_pylist()] == [v.scale for v in values]
    encoded = JsonEncoder().encode_lines(decoded)
    assert [str(json.loads(line)["x"]) for line in encoded.splitlines()] == [str(v) for v in values]
    csv_text = CsvEncoder().encode(decoded)
    again = CsvDecoder().decode(csv_text).batch
    assert [str(v) for v in again.column("x").to_pylist()] == [str(v) for v in values]


def test_rounding_functions_on_objects_are_exact_not_doubles():
    batch = RecordBatch.from_pylist([{"n": 12345678901234567890123456789},
                                     {"n": Decimal("0.1234567890123456789012345678901234567891")},
                                     {"n": -2.5}])
    assert schema_of(batch)[0][1].name == "OBJECT"
    got = {sql: run(sql, batch)[0] for sql in ("ROUND(n)", "ROUND(n, -3)", "ABS(n)",
                                                "FLOOR(n)", "CEIL(n)", "ROUND(n, 2)")}
    assert got["ROUND(n)"] == [12345678901234567890123456789, ScaledInteger(0), -3.0]
    assert got["ROUND(n, -3)"] == [12345678901234567890123457000, ScaledInteger(0), -0.0]
    assert got["ABS(n)"][:2] == [12345678901234567890123456789,
                                 Decimal("0.1234567890123456789012345678901234567891")]
    assert got["FLOOR(n)"] == [12345678901234567890123456789, ScaledInteger(0), -3.0]
    assert got["CEIL(n)"] == [12345678901234567890123456789, ScaledInteger(1), -2.0]
    assert str(got["ROUND(n, 2)"][1]) == "0.12"


@SETTINGS
@given(values=st.lists(st.one_of(st.none(), VALUE), max_size=12))
def test_decimal_sum_is_exact_at_the_largest_row_scale(values):
    got = decimal_sum(decimal_column(values))
    present = [v for v in values if v is not None]
    if not present:
        assert got is None
        return
    total = EXACT.create_decimal(0)
    for v in present:
        total = EXACT.add(total, D(v))
    same(got, quantize(total, max(v.scale for v in present)))


def test_decimal_sum_spills_past_int64_exactly():
    column = decimal_column([ScaledInteger.from_parts(2 ** 63 - 1, 2)] * 5 + ["0.5"])
    assert not column.is_wide
    assert str(decimal_sum(column)) == str(ScaledInteger.from_parts(5 * (2 ** 63 - 1) + 50, 2))


def test_a_result_past_1000_digits_is_a_row_error_with_a_short_message():
    batch = RecordBatch(["x", "y"], [decimal_column([ScaledInteger.from_parts(10 ** 999, 0), 2]),
                                     decimal_column([ScaledInteger.from_parts(10 ** 999, 0), 3])])
    got, errors = run("x * y", batch)
    assert got == [None, 6]
    assert errors[0].startswith("DECIMAL overflow: 1000") and "(1,000 characters)" in errors[0]
    assert len(errors[0]) < 200


# --- int128 storage: values past int64 up to 38 digits run typed loops ---------------------------

WITHIN38 = st.one_of(_near(18), _near(19), _near(36), st.integers(-(10 ** 37), 10 ** 37),
                     st.sampled_from([2 ** 63 - 1, 2 ** 63, -(2 ** 63) - 1, 10 ** 37 - 1]),
                     ).flatmap(lambda m: st.sampled_from([m, -m]))
VALUE38 = st.builds(lambda m, s: ScaledInteger.from_parts(m, s), WITHIN38, st.integers(0, 3))


def test_storage_kinds_follow_the_digits():
    assert decimal_column([ScaledInteger.from_parts(2 ** 63 - 1, 2)]).storage == "int64"
    assert decimal_column([ScaledInteger.from_parts(2 ** 63, 2)]).storage == "int128"
    assert decimal_column([ScaledInteger.from_parts(10 ** 38 - 1, 0)]).storage == "int128"
    assert decimal_column([ScaledInteger.from_parts(-(10 ** 38) + 1, 0)]).storage == "int128"
    assert decimal_column([ScaledInteger.from_parts(10 ** 38, 0)]).storage == "object"
    # 38 digits at its own scale 0, 40 at the column scale 2: the exact object path.
    assert decimal_column([10 ** 38 - 1, ScaledInteger("0.01")]).storage == "object"
    wide = decimal_column([ScaledInteger.from_parts(2 ** 64, 0), None, ScaledInteger("1.50")])
    assert wide.storage == "int128" and wide.is_wide
    assert [str(v) for v in wide.to_pylist()] == [str(2 ** 64), "None", "1.50"]
    taken = wide.take(array("q", [2, 0, 1]))
    assert taken.storage == "int128" and [str(v) for v in taken.to_pylist()] == [
        "1.50", str(2 ** 64), "None"]
    assert decimal_column([ScaledInteger.from_parts(2 ** 64, 0), 1]).take(
        array("q", [1])).storage == "int64"


ROUNDINGS = {"ROUND(x)": (0, decimal.ROUND_HALF_UP), "ROUND(x, 2)": (2, decimal.ROUND_HALF_UP),
             "FLOOR(x)": (0, decimal.ROUND_FLOOR), "CEIL(x)": (0, decimal.ROUND_CEILING),
             "ROUND(x, -3)": (-3, decimal.ROUND_HALF_UP)}


@pytest.mark.parametrize("sql", ["x + y", "x - y", "x * y", "x / y", "x < y", "x = y", "x >= y",
                                 "-x", "ABS(x)", *ROUNDINGS])
@SETTINGS
@given(pairs=st.lists(st.tuples(VALUE38, VALUE38), min_size=1, max_size=6))
def test_int128_kernels_are_typed_and_exact(sql, pairs):
    batch = batch_of(pairs)
    before = decimal_path_counts()
    got, errors = run(sql, batch)
    after = decimal_path_counts()
    assert set(errors) == ({i for i, (_, b) in enumerate(pairs) if b.mantissa == 0}
                           if sql == "x / y" else set())
    results = []
    for i, (a, b) in enumerate(pairs):
        x, y = D(a), D(b)
        if sql == "x / y":
            if y == 0:
                assert got[i] is None and errors[i] == "division by zero"
                continue
            s = max(a.scale, b.scale) + 4
            want = Decimal(round(Fraction(x) / Fraction(y) * 10 ** s)).scaleb(-s, EXACT)
        elif sql == "x + y":
            want = quantize(EXACT.add(x, y), max(a.scale, b.scale))
        elif sql == "x - y":
            want = quantize(EXACT.subtract(x, y), max(a.scale, b.scale))
        elif sql == "x * y":
            want = quantize(EXACT.multiply(x, y), a.scale + b.scale)
        elif sql == "-x":
            want = EXACT.minus(x)
        elif sql == "ABS(x)":
            want = EXACT.abs(x)
        elif sql in ROUNDINGS:
            digits, rounding = ROUNDINGS[sql]
            if digits >= 0:
                want = quantize(x, min(digits, a.scale), rounding)
            else:
                want = quantize(x.scaleb(digits, EXACT), 0, rounding).scaleb(-digits, EXACT)
                want = quantize(want, 0)
        else:
            op = {"x < y": x < y, "x = y": x == y, "x >= y": x >= y}[sql]
            assert got[i] is op
            continue
        same(got[i], want)
        results.append(want)
    read = batch.columns[:1] if "y" not in sql else batch.columns
    wide_in = any(c.storage == "int128" for c in read)
    objects_in = any(c.storage == "object" for c in read)   # 39+ digits at the column scale
    sx, sy = (c.scale for c in batch.columns)
    col_scale = sx + sy if sql == "x * y" else (max(sx, sy) if "y" in sql else sx)
    if sql == "x / y":
        col_scale = max(sx, sy) + 4
    results_fit = all(EXACT.abs(r.scaleb(col_scale, EXACT)) < 10 ** 38 for r in results)
    fits = results_fit
    if sql == "x / y":
        # The numerator x * 10**(row scale + 4 ...) must stay in 128 bits for the typed loop.
        fits = fits and all(EXACT.abs(D(a).scaleb(2 * col_scale, EXACT)) < 2 ** 126
                            for a, _ in pairs)
    if sql in ("x + y", "x - y"):
        # Operands are aligned to the result scale in int128 (up to 1.7e38) before the sum.
        fits = fits and all(EXACT.abs(D(v).scaleb(col_scale, EXACT)) < 10 ** 38
                            for pair in pairs for v in pair)
    if sql in ROUNDINGS:
        # A rounding to as many decimals as x has is no kernel at all: only no object path.
        if fits and not objects_in:
            assert after["object"] == before["object"]
    elif fits and not objects_in and (wide_in or any(
            not -(2 ** 63) <= r.scaleb(col_scale, EXACT) < 2 ** 63 for r in results)):
        # The typed int128 loop ran, and no batch went through ScaledInteger objects.
        assert after["int128"] > before["int128"] and after["object"] == before["object"], (
            [c.storage for c in batch.columns], results)
    if not results_fit and sql not in ROUNDINGS:
        # 39 digits or more: the exact object path, never a wrap.
        assert after["object"] > before["object"]


def test_a_product_past_int64_stays_typed_and_past_38_digits_goes_exact():
    batch = RecordBatch(["x", "y"], [decimal_column([ScaledInteger("123456789012.3456"), 2]),
                                     decimal_column([ScaledInteger("98765432109.87"), 3])])
    compiled = compile_expression(parse_expression("x * y"), schema_of(batch))
    before = decimal_path_counts()
    column = compiled.evaluate(batch, [])
    assert column.storage == "int128"
    assert decimal_path_counts()["object"] == before["object"]
    assert str(column.get(0)) == str(EXACT.multiply(Decimal("123456789012.3456"),
                                                    Decimal("98765432109.87")))
    big = RecordBatch(["x", "y"], [decimal_column([10 ** 37 - 1]), decimal_column([10 ** 37])])
    column = compile_expression(parse_expression("x * y"), schema_of(big)).evaluate(big, [])
    assert column.storage == "object" and column.get(0).mantissa == (10 ** 37 - 1) * 10 ** 37


def test_decimal_sum_of_int128_rows_spills_exactly():
    rows = [ScaledInteger.from_parts(10 ** 38 - 1, 1)] * 5 + [None, ScaledInteger("0.5")]
    column = decimal_column(rows)
    assert column.storage == "int128"
    assert decimal_sum(column).mantissa == 5 * (10 ** 38 - 1) + 5
    assert decimal_sum(decimal_column([ScaledInteger.from_parts(-(2 ** 64), 0), 1])).mantissa == \
        1 - 2 ** 64


@SETTINGS
@given(values=st.lists(st.one_of(st.none(), st.builds(
    lambda m, s: ScaledInteger.from_parts(m, s), WITHIN38, st.integers(1, 2))), min_size=1,
    max_size=8))
def test_json_and_csv_decode_19_to_38_digits_into_int128(values):
    """(Each value has decimals: integers alone past int64 make an OBJECT column of ints.)"""
    lines = b"".join(b'{"x": %s}\n' % (b"null" if v is None else str(v).encode()) for v in values)
    column = JsonDecoder().decode_lines(lines).batch.column("x")
    present = [v for v in values if v is not None]
    scale = max((v.scale for v in present), default=0)
    at_scale = [v.mantissa * 10 ** (scale - v.scale) for v in present]
    if any(not -(2 ** 63) <= m < 2 ** 63 for m in at_scale) and all(
            abs(m) < 10 ** 38 for m in at_scale):
        assert column.storage == "int128"
    got = column.to_pylist()
    assert [None if g is None else (Decimal(g) if isinstance(g, int) else D(g)) for g in got] == \
        [None if v is None else D(v) for v in values]
    batch = RecordBatch(["x"], [column])
    encoded = JsonEncoder().encode_lines(batch)
    assert [json.loads(line)["x"] for line in encoded.splitlines()] == [
        None if v is None else str(v) for v in values]
    csv_text = CsvEncoder().encode(batch)
    assert csv_text.decode().splitlines()[1:] == ["" if v is None else str(v) for v in values]


def test_declared_decimal_38_decodes_into_int128():
    lines = b'{"x": "12345678901234567890123.45"}\n{"x": 7}\n{"x": 12345678901234567890.1}\n'
    column = JsonDecoder(declared={"x": "DECIMAL(38,4)"}).decode_lines(lines).batch.column("x")
    assert column.storage == "int128"
    assert [str(v) for v in column.to_pylist()] == [
        "12345678901234567890123.4500", "7.0000", "12345678901234567890.1000"]
    csv = CsvDecoder(declared={"x": "DECIMAL(38,2)"}).decode(
        b"x\n-98765432109876543210.5\n1\n").batch.column("x")
    assert csv.storage == "int128"
    assert [str(v) for v in csv.to_pylist()] == ["-98765432109876543210.50", "1.00"]


@pytest.mark.parametrize("scale", [0, 2, 5])
@SETTINGS
@given(values=st.lists(VALUE38, min_size=1, max_size=6))
def test_cast_to_decimal_38_runs_on_int128(scale, values):
    batch = RecordBatch(["x"], [decimal_column(values)])
    before = decimal_path_counts()
    got, errors = run(f"CAST(x AS DECIMAL(38,{scale}))", batch)
    after = decimal_path_counts()
    wants = [quantize(D(v), scale) for v in values]
    for i, want in enumerate(wants):
        if EXACT.abs(want) >= Decimal(10) ** (38 - scale):
            assert got[i] is None and f"out of range for DECIMAL(38,{scale})" in errors[i]
        else:
            same(got[i], want)
    storage = batch.columns[0].storage
    if not errors and storage != "object" and (storage == "int128" or any(
            not -(2 ** 63) <= w.scaleb(scale, EXACT) < 2 ** 63 for w in wants)):
        assert after["int128"] > before["int128"]


def test_declared_wide_decimals_are_range_checked_in_int128():
    lines = (b'{"x": 1234567890123456789012.5}\n{"x": 123456789012345678.5}\n'
             b'{"x": "-123456789012345678.25"}\n')
    result = JsonDecoder(declared={"x": "DECIMAL(20,2)"}).decode_lines(lines)
    assert [e.line for e in result.errors] == [1]
    assert "does not fit DECIMAL(20,2)" in result.errors[0].message
    column = result.batch.column("x")
    assert column.storage == "int128"
    assert [str(v) for v in column.to_pylist()] == ["123456789012345678.50",
                                                     "-123456789012345678.25"]
