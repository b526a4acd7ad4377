"""The one timestamp parser (``_core.textparse``): its rules and reasons, every reader of timestamp
text agreeing with it (JSON and CSV declared fields, CAST, literals compared at compile time), and
``parse_event_times`` over every column type and format."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from velostream._core import batch as B
from velostream._core.kernels_py import T_STRING, T_TIMESTAMP, RowError, converter
from velostream._core.textparse import (
    NULL_REASON,
    RANGE_REASON,
    TimestampError,
    parse_event_times,
    parse_iso_timestamp,
    parse_timestamp_text,
)
from velostream.formats import CsvDecoder, JsonDecoder
from velostream.plan import types as T

UTC = dt.UTC


def ms(*args, tz=UTC):
    return (dt.datetime(*args, tzinfo=tz) - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(
        milliseconds=1)


GOOD = [
    ("2024-02-29", ms(2024, 2, 29)),
    ("2024-1-5", ms(2024, 1, 5)),
    ("2024-01-01 12:30", ms(2024, 1, 1, 12, 30)),
    ("2024-01-01t7:05", ms(2024, 1, 1, 7, 5)),
    ("2024-01-01T12:30:45.123456", ms(2024, 1, 1, 12, 30, 45, 123000)),
    ("2024-01-01T12:30:45,5", ms(2024, 1, 1, 12, 30, 45, 500000)),
    ("2024-01-01T12:30:45+02:00", ms(2024, 1, 1, 10, 30, 45)),
    ("2024-01-01T00:00:00-0130", ms(2024, 1, 1, 1, 30)),
    ("2024-01-01T00:00:00+05", ms(2023, 12, 31, 19)),
    ("2024-01-01T00:00:00 UTC", ms(2024, 1, 1)),
    ("  1969-12-31T23:59:59.999Z\t", ms(1969, 12, 31, 23, 59, 59, 999000)),
    ("0001-01-01T00:00:00Z", B.MIN_EPOCH_MS),
    ("9999-12-31T23:59:59.999Z", B.MAX_EPOCH_MS),
    ("1704067200000", 1704067200000),      # an integer text is epoch milliseconds
    (" -5 ", -5),
]

BAD = [
    ("2023-02-29", "no such date"),
    ("2024-13-01", "no such date"),
    ("2024-01-01T25:00", "no such time of day"),
    ("2024-01-01T10:60", "no such time of day"),
    ("2024-01-01T10:00+24:00", "no such UTC offset"),
    ("0000-06-01", RANGE_REASON),
    ("0001-01-01T00:00:00+01:00", RANGE_REASON),   # an offset can leave the years too
    ("9999-12-31T23:59:59-01:00", RANGE_REASON),
    ("99999999999999999999", "out of range for TIMESTAMP"),
    ("2024-01-01T00:00:00Q", "not an ISO-8601 date or timestamp"),
    ("2024-01-01T", "not an ISO-8601 date or timestamp"),
    ("2024-01-01T10:00:00.", "not an ISO-8601 date or timestamp"),
    ("24-01-01", "not an ISO-8601 date or timestamp"),
    ("yesterday", "not an ISO-8601 date or timestamp"),
    ("٢٠٢٤-01-01", "not an ISO-8601 date or timestamp"),
    ("", "not an ISO-8601 date or timestamp"),
]


@pytest.mark.parametrize("text, expected", GOOD)
def test_accepted_forms(text, expected):
    assert parse_timestamp_text(text) == expected


@pytest.mark.parametrize("text, reason", BAD)
def test_refused_forms_say_why(text, reason):
    with pytest.raises(TimestampError) as info:
        parse_timestamp_text(text)
    assert str(info.value) == reason
    assert isinstance(info.value, ValueError)


def test_iso_only_refuses_integer_text():
    with pytest.raises(TimestampError, match="not an ISO-8601"):
        parse_iso_timestamp("1704067200000")
    assert parse_iso_timestamp("1970-01-01T00:00:01Z") == 1000


def _json(text):
    result = JsonDecoder(declared={"t": "TIMESTAMP"}).decode_lines(
        json.dumps({"t": text}).encode() + b"\n")
    return result.batch.column("t").get(0) if not result.errors else result.errors[0].message


def _csv(text):
    result = CsvDecoder(declared={"t": "TIMESTAMP"}).decode(f't\n"{text}"\n'.encode())
    return result.batch.column("t").get(0) if not result.errors else result.errors[0].message


def _cast(text):
    try:
        return converter(T_STRING, T_TIMESTAMP)(text)
    except RowError as err:
        return str(err)


@pytest.mark.parametrize("text", [t for t, _ in GOOD + BAD])
def test_every_reader_follows_the_same_rules(text):
    try:
        expected = parse_timestamp_text(text)
    except TimestampError as err:
        expected = None
        reason = str(err)
    as_datetime = B.timestamp_to_datetime(expected) if expected is not None else None
    if expected is None:
        assert "is not a valid TIMESTAMP" in _json(text) or "does not fit" in _json(text)
        assert "TIMESTAMP" in _csv(text) and isinstance(_csv(text), str)
        assert _cast(text).endswith(f"to TIMESTAMP: {reason}")
        assert T.literal_type(text, T.TIMESTAMP) is None
    else:
        assert _json(text) == as_datetime
        assert _csv(text) == as_datetime
        assert _cast(text) == expected
        assert T.literal_type(text, T.TIMESTAMP) == T.TIMESTAMP


def test_out_of_range_text_is_a_range_error_in_the_decoders():
    assert "does not fit TIMESTAMP" in _json("0000-06-01")
    assert "is not a valid TIMESTAMP" in _json("2023-02-29")


def test_cast_to_boolean_reads_the_ground_floor_words():
    from velostream._core.kernels_py import T_BOOL

    to_bool = converter(T_STRING, T_BOOL)
    assert [to_bool(v) for v in ("yes", " OFF ", "t", "0")] == [True, False, True, False]
    with pytest.raises(RowError):
        to_bool("maybe")
    assert T.parse_boolean_text is not None and T.parse_boolean_text("on") is True


# --------------------------------------------------------------------------- event time

def times(column, fmt):
    got, problems = parse_event_times(column, fmt)
    assert got.type_name == "TIMESTAMP" and got.length == column.length
    values = [got.get(i) for i in range(got.length)]
    return [None if v is None else (v - dt.datetime(1970, 1, 1, tzinfo=UTC)) //
            dt.timedelta(milliseconds=1) for v in values], problems


def test_event_times_of_bigint_in_both_epoch_units():
    col = B.int64_column([1704067200000, None, -5, 253402300800000])
    assert times(col, "epoch_millis") == ([1704067200000, None, -5, None],
                                          {1: NULL_REASON, 3: RANGE_REASON})
    col = B.int64_column([1704067200, 2**62])
    assert times(col, "epoch_seconds") == ([1704067200000, None], {1: RANGE_REASON})


def test_event_times_of_a_timestamp_column_in_any_format():
    col = B.int64_column([1000, None], timestamp=True)
    for fmt in ("epoch_millis", "epoch_seconds", "iso8601", "%Y"):
        assert times(col, fmt) == ([1000, None], {1: NULL_REASON})


def test_event_times_of_doubles_truncate_like_their_decimal_text():
    col = B.float64_column([1704067200.123, 1.0005, -1.5, float("nan"), 1e300])
    got, problems = times(col, "epoch_seconds")
    assert got[:3] == [1704067200123, 1000, -1500]
    assert problems == {3: "not a finite number", 4: RANGE_REASON}
    assert times(B.float64_column([1704067200000.0]), "epoch_millis") == ([1704067200000], {})


def test_event_times_of_decimals_narrow_and_wide():
    col = B.decimal_column([Decimal("1704067200.5"), Decimal("-0.0015"), None])
    assert times(col, "epoch_seconds") == ([1704067200500, -1, None], {2: NULL_REASON})
    assert times(col, "epoch_millis") == ([1704067200, 0, None], {2: NULL_REASON})
    wide = B.decimal_column([Decimal("1704067200.111222333444555666777")])
    assert times(wide, "epoch_seconds") == ([1704067200111], {})


def test_event_times_of_strings_in_every_format():
    col = B.string_column(["1704067200000", " 17 ", "1.7e12", "x", None, "2024-01-01T00:00:00Z"])
    got, problems = times(col, "epoch_millis")
    assert got == [1704067200000, 17, 1700000000000, None, None, None]
    assert problems == {3: "not a number", 4: NULL_REASON, 5: "not a number"}

    col = B.string_column(["2024-01-01T00:00:00Z", "2024-02-30", "1704067200000", "0000-01-01"])
    got, problems = times(col, "iso8601")
    assert got == [ms(2024, 1, 1), None, None, None]
    assert problems == {1: "no such date", 2: "not an ISO-8601 date or timestamp",
                        3: RANGE_REASON}

    col = B.string_column(["01/02/2024 10:00", "2024-01-02", "01/02/2024 10:00 +0100"])
    got, problems = times(col, "%d/%m/%Y %H:%M")
    assert got[0] == ms(2024, 2, 1, 10)
    assert set(problems) == {1, 2} and "does not match format" in problems[1]
    # a pattern with %z keeps the offset written (the value is converted to UTC)
    got, problems = times(B.string_column(["01/02/2024 10:00 +0100"]), "%d/%m/%Y %H:%M %z")
    assert got == [ms(2024, 2, 1, 9)] and problems == {}


def test_event_times_of_objects_and_other_types():
    naive = dt.datetime(2024, 1, 1)
    col = B.object_column([{"a": 1}, naive, "2024-01-01", 5, None])
    got, problems = times(col, "iso8601")
    assert got == [None, ms(2024, 1, 1), ms(2024, 1, 1), None, None]
    assert problems[0] == "a dict is not ISO-8601 text" and problems[3] == "a int is not ISO-8601 text"
    assert problems[4] == NULL_REASON
    got, problems = times(B.bool_column([True]), "epoch_millis")
    assert got == [None] and problems == {0: "not a number"}
    got, problems = times(B.null_column(2), "epoch_millis")
    assert got == [None, None] and problems == {0: NULL_REASON, 1: NULL_REASON}


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
       st.sampled_from(["T", "t", " "]), st.integers(0, 6), st.sampled_from(["", "Z", "UTC", "+",
                                                                            "-"]),
       st.integers(0, 23), st.integers(0, 59), st.booleans())
def test_iso_text_matches_datetime(when, sep, digits, zone, tzh, tzm, colon):
    """Any written form of a datetime parses to what ``datetime`` computes for it."""
    text = f"{when.year:04d}-{when:%m-%d}{sep}{when:%H:%M:%S}"
    if digits:
        text += "." + f"{when.microsecond:06d}"[:digits]
    offset = dt.timedelta(0)
    if zone in ("+", "-"):
        text += f"{zone}{tzh:02d}{':' if colon else ''}{tzm:02d}"
        offset = dt.timedelta(hours=tzh, minutes=tzm) * (1 if zone == "+" else -1)
    else:
        text += zone
    truncated = when.replace(microsecond=int((f"{when.microsecond:06d}"[:digits] or "0")
                                             .ljust(6, "0")) // 1000 * 1000)
    expected = ms(*truncated.timetuple()[:6], truncated.microsecond, tz=dt.timezone(offset))
    assert parse_timestamp_text(text) == expected
