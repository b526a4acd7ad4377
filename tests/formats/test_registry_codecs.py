"""The registry's decoder protocol (decode(chunk, location, final) → records + what they took)
and encoder protocol (begin / encode / end), for every registered format."""

import pytest

from velostream._core.batch import RecordBatch
from velostream.formats import registry as formats
from velostream.formats.errors import Location
from velostream.formats.registry import DecoderOptions, EncoderOptions, Endpointless

CSV = b'id,t\n1,a\n2,"two\nlines"\n3,"x,""y"""\n4,bad,extra\n5,e\n6,"open'
JSONL = b'{"id": 1}\n{"id": 2, "t": "\xc3\xa9"}\r\n\n{"id": 3,\n{"id": 4}\n{"id": 5}'
PRETTY = b'[\n  {"id": 1},\n  {"id": 2, "t": "a]"},\n  7,\n  {"id": 4}\n]\n'
CASES = [("csv", CSV), ("json-lines", JSONL), ("json", PRETTY)]


def decoder(name):
    return formats.make_decoder(formats.get(name, "k"), Endpointless(), DecoderOptions())


def feed(name, data, step):
    """Decodes ``data`` in pieces of ``step`` bytes, as a reader does: the rest is passed
    again in front of the next piece, and the last call is final."""
    dec = decoder(name)
    rows, lines, errors = [], [], []
    pending, offset, line, column = b"", 0, 1, 1
    for i in range(0, len(data), step):
        pending += data[i:i + step]
        final = i + step >= len(data)
        r = dec.decode(pending, Location("t", "p", line, offset, column), final)
        assert 0 <= r.consumed <= len(pending)
        assert not final or r.consumed == len(pending)
        rows += r.batch.to_pylist()
        lines += r.batch.meta["_line"].to_pylist()
        errors += [(e.line, e.location.byte_offset, e.raw) for e in r.errors]
        offset += r.consumed
        line, column = r.next_line, r.next_column
        pending = pending[r.consumed:]
    return [{k: v for k, v in x.items() if v is not None} for x in rows], lines, errors


@pytest.mark.parametrize("name, data", CASES)
def test_any_cut_of_the_input_decodes_as_the_whole(name, data):
    whole = feed(name, data, len(data))
    assert whole[0]                                  # something decoded
    for step in (1, 2, 3, 7, 16):
        assert feed(name, data, step) == whole, step


def test_failures_carry_their_location_with_the_byte_offset_of_their_record():
    _, _, errors = feed("csv", CSV, 5)
    assert [(line, CSV[offset:offset + len(raw)] == raw) for line, offset, raw in errors] == [
        (6, True), (8, True)]
    _, _, errors = feed("json-lines", JSONL, 4)
    assert [(line, JSONL[offset:].startswith(raw)) for line, offset, raw in errors] == [
        (4, True)]


def test_a_json_document_resumes_inside_its_array_from_its_state():
    dec = decoder("json")
    first = dec.decode(PRETTY[:20], Location("t", "p", 1, 0, 1), False)
    assert [r["id"] for r in first.batch.to_pylist()] == [1] and dec.state() is True
    resumed = decoder("json")
    resumed.restore(dec.state())
    rest = PRETTY[first.consumed:]
    r = resumed.decode(rest, Location("t", "p", first.next_line, first.consumed,
                                      first.next_column), True)
    assert [x["id"] for x in r.batch.to_pylist()] == [2, 4]
    assert r.batch.meta["_line"].to_pylist() == [3, 5]
    assert [(e.line, e.column) for e in r.errors] == [(4, 3)]


def test_a_csv_decoder_resumes_with_its_header_from_its_state():
    dec = decoder("csv")
    first = dec.decode(CSV[:9], Location("t", "p", 1, 0), False)
    resumed = decoder("csv")
    resumed.restore(dec.state())
    r = resumed.decode(CSV[first.consumed:], Location("t", "p", first.next_line,
                                                      first.consumed), False)
    assert r.batch.to_pylist()[0] == {"id": 2, "t": "two\nlines"}


@pytest.mark.parametrize("name", formats.names(output=True, terminal_only=False))
def test_every_encoder_frames_its_output_and_an_empty_output_is_valid(name):
    spec = formats.get(name, "k")
    batch = RecordBatch.from_pylist([{"id": 1}, {"id": 2}])
    enc = formats.make_encoder(spec, Endpointless())
    out = enc.begin() + enc.encode(batch) + enc.encode(batch) + enc.flush() + enc.end()
    empty = formats.make_encoder(spec, Endpointless())
    nothing = empty.begin() + empty.end()
    if name in ("json", "json-pretty"):
        import json

        assert json.loads(out) == [{"id": 1}, {"id": 2}] * 2 and json.loads(nothing) == []
    elif name == "csv":
        assert out == b"id\n1\n2\n1\n2\n" and nothing == b""
    else:
        assert out == b'{"id":1}\n{"id":2}\n' * 2 and nothing == b""


def test_a_csv_encoder_appending_to_data_writes_no_header():
    enc = formats.make_encoder(formats.get("csv", "k"), Endpointless(),
                               EncoderOptions(appending=True))
    assert enc.encode(RecordBatch.from_pylist([{"id": 1}])) == b"1\n"
