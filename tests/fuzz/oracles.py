"""The fuzz targets: each takes one input (bytes) and checks velostream against a Python oracle.

One function per target, shared by the bounded hypothesis tests (``test_fuzz.py``), the replay of
the kept corpora and crashes, and the atheris driver (``run.py``). Each raises ``AssertionError``
when the invariant of issue 10 breaks:

- the decoder never raises: every record is a row or a ``RecordError`` (records in = rows out +
  failures, records counted independently of the decoder);
- what the decoder accepts, Python's ``json`` accepts too and the values are equal (numbers
  compared exactly as ``decimal.Decimal``); a record ``json`` accepts is accepted unless the
  dialect rejects it on purpose (``_JSON_REJECTS_ON_PURPOSE``);
- decode → encode → decode gives the same values;
- ScaledInteger parses and computes like ``Decimal``; only velostream's own errors are raised.

No atheris import here: the replay runs in the normal test suite without it.
"""

from __future__ import annotations

import csv
import decimal
import io
import json
import math
from decimal import Decimal

from velostream._core.decimal import MAX_DIGITS, MAX_SCALE, ScaledInteger
from velostream.errors import VelostreamError
from velostream.formats import CsvDecoder, CsvEncoder, JsonDecoder, JsonEncoder

_EXACT = decimal.Context(prec=10_000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN,
                         traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])

# RecordError messages for JSON that Python's json module accepts but DIALECT §3 refuses.
_JSON_REJECTS_ON_PURPOSE = (
    "surrogate",            # lone \ud800: not a Unicode string (json gives a lone surrogate)
    "does not fit DOUBLE",  # 1e400: json gives inf via Decimal; the dialect has no infinity
    "digits",               # integers / decimals beyond the exact limits
    "scale",                # decimals with more than 38 fraction digits
    "nested too deeply",
)


# --------------------------------------------------------------------------- value comparison

def _num(value):
    """A number as an exact Decimal (floats by their shortest repr, as the encoders write them)."""
    if isinstance(value, ScaledInteger):
        return value.to_decimal()
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def same(got, want) -> bool:
    """Velostream's value ``got`` equals the oracle's ``want`` (numbers numerically, exactly)."""
    if want is None or got is None:
        return got is None and want is None
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    if isinstance(want, (int, Decimal, float, ScaledInteger)):
        if not isinstance(got, (int, Decimal, float, ScaledInteger)):
            return False
        if isinstance(got, float) and not isinstance(want, float):
            # A DOUBLE read from an exact text: the correctly rounded double of that text.
            return got == float(_num(want))
        if isinstance(got, float) or isinstance(want, float):
            if math.isnan(float(got)) or math.isnan(float(want)):
                return math.isnan(float(got)) and math.isnan(float(want))
            return float(got) == float(want)
        return _num(got) == _num(want)
    if isinstance(want, dict):
        return (isinstance(got, dict) and got.keys() == want.keys()
                and all(same(got[k], want[k]) for k in want))
    if isinstance(want, list):
        return (isinstance(got, list) and len(got) == len(want)
                and all(same(g, w) for g, w in zip(got, want)))
    return type(got) is type(want) and got == want


def _no_constants(name):
    raise ValueError(f"not JSON: {name}")


def _json_int(text):
    """json's ints without Python's 4,300-digit limit (without changing it for velostream)."""
    return int(Decimal(text))


def _json_float(text):
    try:
        return Decimal(text)
    except decimal.InvalidOperation:    # an exponent past Decimal's range: 0.0 or ±inf
        return float(text)


def json_oracle(line: bytes, first: bool = False):
    """The record ``json`` reads from one line, keys folded as velostream matches them (last
    duplicate wins), or None when ``json`` refuses it or it is not an object. A byte-order mark
    is allowed only at the start of the data (``first``)."""
    try:
        text = line.decode("utf-8")
        if first:
            text = text.removeprefix("\ufeff")
        value = json.loads(text, parse_float=_json_float, parse_int=_json_int,
                           parse_constant=_no_constants, object_pairs_hook=_Pairs)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None
    if not isinstance(value, _Pairs):
        return None
    folded = {}
    for key, item in value.pairs:       # in text order: the last duplicate wins
        folded.pop(key.lower(), None)
        folded[key.lower()] = item
    return folded


class _Pairs(dict):
    """A JSON object that also keeps its (key, value) pairs in text order."""

    def __init__(self, pairs):
        super().__init__(pairs)
        self.pairs = pairs


def _rows_by_line(result):
    lines = result.batch.meta["_line"].to_pylist()
    names = [n.lower() for n in result.batch.names]
    return {line: dict(zip(names, row.values()))
            for line, row in zip(lines, result.batch.to_pylist())}


# --------------------------------------------------------------------------- JSON Lines

def _json_records(data: bytes):
    """(line number, bytes) of each non-blank line, split as JSON Lines is specified."""
    out = []
    for number, line in enumerate(data.split(b"\n"), 1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if line.strip(b" \t\r"):
            out.append((number, line))
    return out


def check_json_lines(data: bytes) -> None:
    result = JsonDecoder().decode_lines(data)
    records = _json_records(data)
    rows = _rows_by_line(result)
    failed = {e.line: e for e in result.errors}
    assert len(rows) == result.batch.length, "two rows claim one line"
    assert len(failed) == len(result.errors), "two errors claim one line"
    assert len(rows) + len(failed) == len(records), (
        f"records in {len(records)} != rows {len(rows)} + failures {len(failed)}")
    for number, line in records:
        want = json_oracle(line, first=number == 1)
        if number in rows:
            assert want is not None, f"line {number}: accepted what json refuses: {line!r}"
            got = rows[number]
            extra = {k for k, v in got.items() if v is not None} - want.keys()
            assert not extra, f"line {number}: fields {extra} are not in the record"
            for key, value in want.items():
                assert same(got.get(key), value), (
                    f"line {number}: {key}: got {got.get(key)!r}, json says {value!r}")
        else:
            error = failed.get(number)
            assert error is not None, f"line {number} is neither a row nor a failure"
            assert error.message and isinstance(error.raw, bytes)
            if want is not None:
                assert any(s in error.message for s in _JSON_REJECTS_ON_PURPOSE), (
                    f"line {number}: refused what json accepts: {error.message}: {line!r}")
    _roundtrip_json(result)


def _roundtrip_json(result) -> None:
    batch = result.batch
    if not batch.length:
        return
    text = JsonEncoder(decimals_as_numbers=True).encode_lines(batch)
    again = JsonDecoder().decode_lines(text)
    assert not again.errors, f"re-decoding our own output failed: {again.errors[:1]} in {text[:200]!r}"
    before, after = batch.to_pylist(), again.batch.to_pylist()
    assert len(before) == len(after)
    for i, (a, b) in enumerate(zip(before, after)):
        for key, value in a.items():
            if isinstance(value, float) and not math.isfinite(value):
                value = None     # NaN/±Inf are written as null
            if isinstance(value, (dict, list)):
                value = _as_written(value)
            assert same(b.get(key), value), f"row {i} {key}: {value!r} → {b.get(key)!r} ({text!r})"


def _as_written(value):
    """A nested value as the encoder writes it: decimals inside as strings (documented)."""
    if isinstance(value, dict):
        return {k: _as_written(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_written(v) for v in value]
    if isinstance(value, (ScaledInteger, Decimal)):
        return str(value)
    return value


# --------------------------------------------------------------------------- declared types

DECLARED = ("BIGINT", "DECIMAL(18,4)", "DECIMAL(5,2)", "DECIMAL(38,10)", "DOUBLE", "STRING",
            "BOOLEAN", "TIMESTAMP")
_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def _declared_want(kind, value):
    """What a field declared ``kind`` must hold for the JSON ``value``, if it accepts it
    (``...`` where the check is only that it is not NULL)."""
    if value is None:
        return None
    if kind == "STRING":
        return value if isinstance(value, str) else ...
    if kind == "BOOLEAN":
        return value if isinstance(value, bool) else ...
    if kind == "TIMESTAMP" or isinstance(value, (bool, list, dict)):
        return ...
    if isinstance(value, str):
        try:
            number = Decimal(value.strip(" \t\n\r\f\v"))
        except decimal.InvalidOperation:
            return ...
        if not value.isascii() or "_" in value or not number.is_finite():
            return ...
    else:
        number = value if isinstance(value, Decimal) else _num(value)
    if kind == "BIGINT":
        return int(number) if number == number.to_integral_value() else ...
    if kind == "DOUBLE":
        return float(number)
    scale = int(kind.split(",")[1].rstrip(")"))
    return number.quantize(Decimal(1).scaleb(-scale), rounding=decimal.ROUND_HALF_EVEN,
                           context=decimal.Context(prec=100_000, Emax=decimal.MAX_EMAX))


def check_json_declared(data: bytes) -> None:
    """The first byte picks a declared type for field ``a``; the rest is JSON Lines."""
    if not data:
        return
    kind, data = DECLARED[data[0] % len(DECLARED)], data[1:]
    result = JsonDecoder(declared={"a": kind}).decode_lines(data)
    records = _json_records(data)
    rows = _rows_by_line(result)
    assert len(rows) + len(result.errors) == len(records), (
        f"records in {len(records)} != rows {len(rows)} + failures {len(result.errors)}")
    for number, line in records:
        if number not in rows:
            continue
        want = json_oracle(line, first=number == 1)
        assert want is not None, f"line {number}: accepted what json refuses: {line!r}"
        got = rows[number].get("a")
        expected = _declared_want(kind, want.get("a"))
        if expected is None:
            assert got is None, f"line {number}: {kind} a = {got!r} for null"
        elif expected is ...:
            assert got is not None, f"line {number}: {kind} a read as NULL from {line!r}"
        else:
            assert got is not None, f"line {number}: {kind} a read as NULL from {line!r}"
            if kind == "BIGINT":
                assert isinstance(got, int) and _INT64[0] <= got <= _INT64[1]
            ok = same(got, expected) and (not kind.startswith("DECIMAL") or
                                          got.scale == -expected.as_tuple().exponent)
            assert ok, f"line {number}: {kind} a = {got!r}, expected {expected!r} from {line!r}"


def check_csv_declared(data: bytes) -> None:
    """The first byte picks a declared type for column ``a``; each further line is one field
    text (lines with a delimiter, quote or CR, or not UTF-8, are dropped: the text must be the
    field's whole value)."""
    if not data:
        return
    kind = DECLARED[data[0] % len(DECLARED)]
    texts = []
    for raw in data[1:].split(b"\n"):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if not (set(text) & set(',"\r')) and text.strip(" \t"):
            texts.append(text)
    body = "k,a\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts))
    result = CsvDecoder(declared={"a": kind}).decode(body.encode("utf-8"))
    assert result.batch.length + len(result.errors) == len(texts), (
        f"records in {len(texts)} != rows {result.batch.length} + failures {len(result.errors)}")
    for row in result.batch.to_pylist():
        got, text = row["a"], texts[row["k"]]
        expected = _declared_want(kind, text)
        if kind == "STRING":
            assert got == text, f"STRING a = {got!r} from {text!r}"
        elif expected is ...:
            assert got is not None, f"{kind} a read as NULL from {text!r}"
        else:
            assert got is not None, f"{kind} a read as NULL from {text!r}"
            ok = same(got, expected) and (not kind.startswith("DECIMAL") or
                                          got.scale == -expected.as_tuple().exponent)
            assert ok, f"{kind} a = {got!r}, expected {expected!r} from {text!r}"


# --------------------------------------------------------------------------- CSV

def _csv_text_value(got, text):
    """Whether a decoded CSV value stands for the field's text by DIALECT §3's text rules."""
    if got is None:
        return text == ""
    if isinstance(got, bool):
        return text.lower() == ("true" if got else "false")
    if isinstance(got, str):
        return got == text
    if isinstance(got, float):
        try:
            return got == float(text)
        except ValueError:
            return False
    try:
        return _num(got) == Decimal(text)
    except decimal.InvalidOperation:
        return False


def check_csv(data: bytes, has_headers: bool = True) -> None:
    decoder = CsvDecoder(has_headers=has_headers)
    result = decoder.decode(data)
    batch = result.batch
    assert batch.length == len(batch.meta["_line"])
    for error in result.errors:
        assert error.line >= 1 and error.message and isinstance(error.raw, bytes)
    # Records can span lines only inside quotes: never more records than physical lines.
    assert batch.length + len(result.errors) <= data.count(b"\n") + 1
    _check_csv_against_python(data, result, decoder.header)
    if batch.length:
        text = CsvEncoder().encode(batch)
        again = CsvDecoder().decode(text)
        assert not again.errors, f"re-decoding our own CSV failed: {again.errors[:1]} in {text!r}"
        before, after = batch.to_pylist(), again.batch.to_pylist()
        assert len(before) == len(after), f"round trip lost rows: {before} → {text!r} → {after}"
        for i, (a, b) in enumerate(zip(before, after)):
            for key, value in a.items():
                # STRING columns of numeric-looking texts may re-type: compare by the text rules.
                other = b.get(key)
                ok = same(other, value) or (
                    isinstance(value, str) and _csv_text_value(other, value))
                assert ok, f"row {i} {key}: {value!r} → {other!r} ({text!r})"


def _check_csv_against_python(data, result, header):
    """For input Python's csv module reads the same way (valid UTF-8, every quote well formed,
    no lone CR), every accepted record equals the csv module's fields by the text rules."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    if "\r" in text.replace("\r\n", "\n") or text.startswith("\ufeff") or "\x00" in text:
        return
    try:
        parsed = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        return
    if any('"' in field for row in parsed for field in row):
        return      # stray quotes inside unquoted fields: the csv module and RFC 4180 differ
    # Only when no field is quoted is an empty field's NULL-ness the csv module's empty text.
    if '"' in text:
        return
    first = next((i for i, row in enumerate(parsed) if row), None)
    if first is None or header is None or len({n.lower() for n in header}) < len(header):
        return      # duplicate names: rows as dicts cannot show both
    names = [n.lower() for n in result.batch.names]
    width = len(parsed[first])
    # A blank line (the csv module's []) is no record, except in a one-column file: there it
    # is the record whose one field is NULL (an empty field).
    body = [row or [""] for row in parsed[first + 1:] if row or width == 1]
    good = [row for row in body if len(row) == width]
    assert result.batch.length == len(good), (result.batch.length, len(good), result.errors)
    assert len(result.errors) == len(body) - len(good)
    for got, row in zip(result.batch.to_pylist(), good):
        values = list(got.values())
        for name, value, field in zip(names, values, row):
            assert _csv_text_value(value, field), f"{name}: {value!r} is not the text {field!r}"


# --------------------------------------------------------------------------- ScaledInteger

_OPS = ("+", "-", "*", "/", "%", "<")


def check_scaled(data: bytes) -> None:
    """``data`` = two number texts and an operator: ``<a>\\n<op>\\n<b>``."""
    parts = data.split(b"\n", 2)
    while len(parts) < 3:
        parts.append(b"1")
    a_text, op, b_text = (p.decode("utf-8", "replace") for p in parts)
    op = _OPS[len(op) % len(_OPS)]
    a, da = _parse_both(a_text)
    b, db = _parse_both(b_text)
    if a is None or b is None:
        return
    try:
        if op == "<":
            assert (a < b) == (da < db) and (a == b) == (da == db)
            assert (hash(a) == hash(b)) or a != b
            return
        got = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
               "/": lambda: a / b, "%": lambda: a % b}[op]()
    except VelostreamError:
        if op in "/%":
            return   # division by zero, or a quotient past the limits
        want = {"+": _EXACT.add, "-": _EXACT.subtract, "*": _EXACT.multiply}[op](da, db)
        # The result's scale: + and - keep the larger one, * adds them (DIALECT §3).
        scale = a.scale + b.scale if op == "*" else max(a.scale, b.scale)
        mantissa = abs(int(_EXACT.scaleb(want, scale)))
        assert scale > MAX_SCALE or len(str(mantissa)) > MAX_DIGITS, (
            f"{a} {op} {b} refused, but {want} fits at scale {scale}")
        return
    if op == "/":
        assert db != 0
        return
    if op == "%":
        want = _EXACT.remainder(da, db)
    else:
        want = {"+": _EXACT.add, "-": _EXACT.subtract, "*": _EXACT.multiply}[op](da, db)
    assert got.to_decimal() == want, f"{a} {op} {b} = {got}, Decimal says {want}"


def _parse_both(text):
    """(ScaledInteger, Decimal) of ``text``, (None, None) when velostream refuses it. Refusing
    what Decimal reads is fine only beyond velostream's limits (scale, digits)."""
    try:
        value = ScaledInteger(text)
    except (VelostreamError, ValueError, TypeError):
        # Refused: Decimal must refuse it too (its NaN/Infinity words aside), or the number
        # must be past velostream's limits (scale, digits).
        _assert_unrepresentable_text(text)
        return None, None
    want = Decimal(text.strip(" \t\n\r\f\v"))
    assert value.to_decimal() == want, f"ScaledInteger({text!r}) = {value}, Decimal says {want}"
    return value, want


def _assert_unrepresentable_text(text):
    if not text.isascii() or "_" in text or text.strip(" \t\n\r\f\v") != text.strip():
        return      # Decimal also reads "1_000", non-ASCII digits and more spaces than SQL
    try:
        want = Decimal(text.strip())
    except decimal.InvalidOperation:
        return
    _assert_unrepresentable(want)


def _assert_unrepresentable(want):
    if not want.is_finite():
        return
    _, digits, exponent = want.as_tuple()
    scale = max(0, -exponent)           # as written: "1.50" keeps scale 2
    ndigits = len(digits) + max(0, exponent)
    assert scale > MAX_SCALE or ndigits > MAX_DIGITS, (
        f"refused {want}, which has {ndigits} digits at scale {scale}")


TARGETS = {"json": check_json_lines, "json_declared": check_json_declared, "csv": check_csv,
           "csv_declared": check_csv_declared, "scaled": check_scaled}
