"""The file source against the Source contract: positions and seek, locations with byte
offsets, batch.size, batch.timeout for a follower, raw_of for the dead-letter queue."""

import types

import pytest

from tests.connectors.conftest import drain, endpoint, lines_of, rows_of, source
from velostream.connectors import file as F
from velostream.connectors import open_source
from velostream.connectors.base import FilePosition, Location, SourceContext

CSV = ('id,t\n1,a\n2,"two\nlines"\n\n3,"b ""q"""\n4,' + "x" * 70 + '\n5,"x\n\ny"\n'
       + "".join(f"{i},r{i}\n" for i in range(6, 40)))
JSONL = "".join(f'{{"id": {i}, "t": "{"é" * (i % 3)}r{i}"}}\n' for i in range(1, 40)) + \
    '{"id": 40}'                                             # no line feed at the end
PRETTY = "[\n" + ",\n".join(f'  {{"id": {i}, "pad": "{"p" * (i % 5)}"}}' for i in range(1, 40)) \
    + "\n]\n"
COMPACT = "[" + ",".join(f'{{"id": {i}}}' for i in range(1, 40)) + "]"
CASES = [("csv", CSV), ("jsonl", JSONL), ("json", PRETTY), ("json", COMPACT)]


def write(tmp_path, fmt, text, name="d"):
    path = tmp_path / f"{name}.{fmt}"
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.parametrize("fmt, text", CASES)
@pytest.mark.parametrize("size", [None, 1, 4])
def test_seek_to_a_batch_position_continues_with_no_gap_and_no_duplicate(
        tmp_path, small_blocks, fmt, text, size):
    path = write(tmp_path, fmt, text)
    full = drain(source(path, fmt, SourceContext(batch_size=size)))
    expected = rows_of(full)
    assert [r["id"] for r in expected] == list(range(1, 40 + (fmt == "jsonl")))
    for cut in range(1, len(full)):
        first = source(path, fmt, SourceContext(batch_size=size))
        head = drain(first, limit=cut)
        position = first.position()
        assert position == head[-1].position
        resumed = source(path, fmt, SourceContext(batch_size=size))
        resumed.seek(position)
        tail = drain(resumed)
        assert rows_of(head) + rows_of(tail) == expected, (cut, position)
        assert lines_of(head) + lines_of(tail) == lines_of(full)


def test_a_line_format_position_is_the_byte_offset_right_after_the_batch(tmp_path):
    path = write(tmp_path, "csv", CSV)
    data = path.read_bytes()
    src = source(path, "csv", SourceContext(batch_size=2))
    first = src.poll(0)
    assert [r["id"] for r in first.batch.to_pylist()] == [1, 2]
    pos = first.position
    # Record 2 is lines 3-4, line 5 is blank: the next record starts on line 6.
    assert data[:pos.byte_offset] == b'id,t\n1,a\n2,"two\nlines"\n\n'
    assert (pos.line, pos.state) == (6, ("id", "t"))
    last = drain(src)[-1].position
    assert last.byte_offset == len(data) and last.skip_rows == 0


def test_a_csv_position_carries_the_header_so_a_resumed_read_does_not_take_a_row_for_it(
        tmp_path):
    path = write(tmp_path, "csv", CSV)
    src = source(path, "csv", SourceContext(batch_size=3))
    src.poll(0)
    resumed = source(path, "csv")
    resumed.seek(src.position())
    rows = rows_of(drain(resumed))
    assert rows[0] == {"id": 4, "t": "x" * 70} and set(rows[0]) == {"id", "t"}


def test_a_json_document_resumes_inside_its_array_and_skips_the_rows_already_given(tmp_path):
    path = write(tmp_path, "json", COMPACT)
    src = source(path, "json", SourceContext(batch_size=5))
    src.poll(0)
    pos = src.position()
    # One block holds the whole (small) array: the batch ends inside it.
    assert (pos.byte_offset, pos.skip_rows) == (0, 5)
    resumed = source(path, "json")
    resumed.seek(pos)
    assert [r["id"] for r in rows_of(drain(resumed))] == list(range(6, 40))


def test_positions_only_move_forward(tmp_path, small_blocks):
    for fmt, text in CASES:
        path = write(tmp_path, fmt, text)
        positions = [b.position for b in drain(source(path, fmt, SourceContext(batch_size=3)))]
        keys = [(p.byte_offset, p.skip_rows) for p in positions]
        assert keys == sorted(keys) and len(set(keys)) == len(keys), fmt


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_failures_and_rows_are_located_by_path_line_and_byte_offset(tmp_path, small_blocks, fmt):
    if fmt == "csv":
        text = "id,t\n1,a\n2,b,extra\n3,c\n" + "".join(f"{i},r\n" for i in range(4, 30)) + "30\n"
    else:
        text = '{"id": 1}\n{"id": 2,\n{"id": 3}\n' + "".join(
            f'{{"id": {i}}}\n' for i in range(4, 30)) + "[30]\n"
    path = write(tmp_path, fmt, text)
    data = path.read_bytes()
    line_start = [0] + [i + 1 for i, ch in enumerate(data) if ch == 10]
    batches = drain(source(path, fmt, SourceContext(batch_size=4)))
    errors = [e for b in batches for e in b.errors]
    bad_lines = [3, 31] if fmt == "csv" else [2, 30]
    assert [e.line for e in errors] == bad_lines
    for e in errors:
        assert e.location == Location("t", str(path), e.line, line_start[e.line - 1], e.column)
        assert str(e.location).startswith(f"{path}:{e.line}")
        assert data[e.location.byte_offset:].startswith(e.raw)
    for b in batches:
        for row in range(b.batch.length):
            loc = b.location_of(row)
            assert loc.byte_offset == line_start[loc.line - 1]
            assert (loc.source, loc.path, str(loc)) == ("t", str(path), f"{path}:{loc.line}")


def test_a_json_document_failure_is_located_at_its_column(tmp_path):
    text = '[{"id": 1}, {"id": 2}, 7, {"id": 3}]'
    path = write(tmp_path, "json", text)
    [batch] = drain(source(path, "json"))
    [error] = batch.errors
    assert error.location.line == 1 and error.location.path == str(path)
    assert text.encode()[error.location.byte_offset:].startswith(b"7")


@pytest.mark.parametrize("key", ["batch.size", "max_batch_size", "batch_size"])
def test_batch_size_bounds_the_rows_per_batch_in_every_spelling(tmp_path, key):
    path = write(tmp_path, "jsonl", JSONL)
    sizes = [b.batch.length for b in drain(source(path, "jsonl", **{key.replace(".", "__"): "7"}))]
    assert sizes == [7, 7, 7, 7, 7, 5]


def test_the_job_batch_size_reaches_the_source_and_the_source_setting_wins(tmp_path):
    path = write(tmp_path, "jsonl", JSONL)
    plan = types.SimpleNamespace(properties={"batch.size": "10"},
                                 flag=lambda key, default: default,
                                 setting=lambda key: int({"batch.size": "10"}[key]))
    src = open_source(endpoint(path, "jsonl"), plan)
    assert [b.batch.length for b in src.batches()] == [10, 10, 10, 10]
    src = open_source(endpoint(path, "jsonl", batch__size="25"), plan)
    assert [b.batch.length for b in src.batches()] == [25, 15]


def test_a_batch_size_that_is_not_a_positive_integer_is_a_config_error(tmp_path):
    from velostream.errors import ConfigError

    path = write(tmp_path, "jsonl", JSONL)
    with pytest.raises(ConfigError) as err:
        source(path, "jsonl", batch__size="0")
    assert err.value.key == "t.batch.size"


def test_split_batches_keep_their_failures_and_raw_records(tmp_path):
    text = "".join(f'{{"id": {i}}}\n' if i % 5 else f'{{"id": {i},\n' for i in range(1, 21))
    path = write(tmp_path, "jsonl", text)
    batches = drain(source(path, "jsonl", SourceContext(batch_size=3)))
    for b in batches:
        lines = b.batch.meta["_line"].to_pylist()
        for e in b.errors:
            assert not lines or e.line > lines[0] - 1
        assert b.raw_of(range(b.batch.length)) == [
            f'{{"id": {n}}}'.encode() for n in lines]
    assert sorted(e.line for b in batches for e in b.errors) == [5, 10, 15, 20]


# ------------------------------------------------------------------------------ raw_of

def test_raw_of_gives_a_csv_record_over_several_lines_whole(tmp_path):
    path = write(tmp_path, "csv", CSV)
    [b] = drain(source(path, "csv"))
    assert b.raw_of([1, 3, 4]) == [b'2,"two\nlines"', b"4," + b"x" * 70, b'5,"x\n\ny"']


def test_raw_of_in_a_json_array_one_element_per_line_and_several_on_a_line(tmp_path):
    [b] = drain(source(write(tmp_path, "json", PRETTY), "json"))
    assert b.raw_of([0, 2]) == [b'  {"id": 1, "pad": "p"},', b'  {"id": 3, "pad": "ppp"},']
    [b] = drain(source(write(tmp_path, "json", COMPACT, "c"), "json"))
    assert b.raw_of([0, 1]) == [None, None]     # shared line: the others' bytes are not its own


def test_raw_of_jsonl_is_the_line_without_its_break(tmp_path):
    path = write(tmp_path, "jsonl", '{"a": 1}\r\n{"a": 2}\n')
    [b] = drain(source(path, "jsonl"))
    assert b.raw_of([0, 1]) == [b'{"a": 1}', b'{"a": 2}']


# ------------------------------------------------------------------------------ followers

class FakeTime:
    """A clock and a stop event in one: each wait is a tick of the follower's loop, where the
    test appends to the file or stops it — no real time passes and nothing sleeps."""

    def __init__(self, on_wait):
        self.now = 0.0
        self.stopped = False
        self.on_wait = on_wait
        self.waits = 0

    def clock(self):
        return self.now

    def is_set(self):
        return self.stopped

    def set(self):
        self.stopped = True

    def wait(self, seconds):
        self.waits += 1
        self.now += seconds
        self.on_wait(self)
        return self.stopped


def follower(path, fake, **context):
    return F.FileSource(endpoint(path, "jsonl"), SourceContext(
        watch=True, stop_event=fake, clock=fake.clock, **context))


def _append(path, ids):
    with open(path, "a") as handle:
        handle.write("".join(f'{{"id": {i}}}\n' for i in ids))


def test_a_follower_with_batch_timeout_returns_what_it_has_when_the_time_is_over(tmp_path):
    path = tmp_path / "live.jsonl"
    _append(path, [1, 2])
    arrivals = iter([[3], [4], [], [], [], []])

    def tick(fake):
        _append(path, next(arrivals, []))

    fake = FakeTime(tick)
    src = follower(path, fake, batch_size=10, batch_timeout_ms=250)
    first = src.poll(timeout=5)
    # Gathered for 250 ms (ticks of 100 ms: at 0.1 s id 3 arrived, at 0.2 s id 4), then
    # returned short of batch.size.
    assert [r["id"] for r in first.batch.to_pylist()] == [1, 2, 3, 4]
    assert fake.now == pytest.approx(0.3)
    assert src.position().byte_offset == path.stat().st_size


def test_a_follower_returns_a_full_batch_without_waiting_for_the_timeout(tmp_path):
    path = tmp_path / "live.jsonl"
    _append(path, range(1, 8))
    fake = FakeTime(lambda fake: None)
    src = follower(path, fake, batch_size=3, batch_timeout_ms=60_000)
    got = [src.poll(timeout=5) for _ in range(2)]
    assert [b.batch.length for b in got] == [3, 3] and fake.waits == 0


def test_a_follower_without_batch_timeout_returns_records_as_they_arrive(tmp_path):
    path = tmp_path / "live.jsonl"
    _append(path, [1])
    fake = FakeTime(lambda fake: _append(path, [fake.waits + 1]))
    src = follower(path, fake, batch_size=10)
    assert [r["id"] for r in src.poll(timeout=5).batch.to_pylist()] == [1]
    assert [r["id"] for r in src.poll(timeout=5).batch.to_pylist()] == [2]
    assert fake.waits == 1


def test_poll_returns_none_when_nothing_arrives_in_time_and_ends_once_stopped(tmp_path):
    path = tmp_path / "live.jsonl"
    _append(path, [1])
    fake = FakeTime(lambda fake: None)
    src = follower(path, fake)
    assert src.poll(timeout=1).batch.length == 1
    assert src.poll(timeout=0.5) is None and not src.exhausted
    assert fake.now == pytest.approx(0.5)
    fake.set()
    assert src.poll(timeout=1) is None and src.exhausted


def test_a_follower_stopped_while_gathering_hands_over_what_it_holds(tmp_path):
    path = tmp_path / "live.jsonl"
    _append(path, [1, 2])
    path.write_text(path.read_text() + '{"id": 3}')          # a last line without a line feed
    fake = FakeTime(lambda fake: fake.set())
    src = follower(path, fake, batch_timeout_ms=10_000)
    got = drain_follower(src)
    assert [r["id"] for r in rows_of(got)] == [1, 2, 3]
    assert src.position() == FilePosition(path.stat().st_size, 3, 1, None)


def drain_follower(src):
    out = []
    while not src.exhausted:
        b = src.poll(timeout=1)
        if b is not None:
            out.append(b)
    return out


@pytest.mark.parametrize("fmt, text", CASES)
def test_a_bounded_source_is_exhausted_with_its_last_batch(tmp_path, fmt, text):
    src = source(write(tmp_path, fmt, text), fmt)
    batch = src.poll(0)
    assert batch is not None and src.exhausted     # a small file: one block, nothing after
    assert src.poll(0) is None


def test_raw_of_after_a_resume_inside_a_json_array_does_not_take_a_skipped_record(tmp_path):
    text = '[{"id": 1}, {"id": 2},\n {"id": 3}]'
    path = write(tmp_path, "json", text)
    first = source(path, "json", SourceContext(batch_size=1))
    first.poll(0)
    resumed = source(path, "json")
    resumed.seek(first.position())
    [b] = drain(resumed)
    assert [r["id"] for r in b.batch.to_pylist()] == [2, 3]
    # id 2 shares its line with id 1, which this batch skipped: its bytes are not its own.
    assert b.raw_of([0, 1]) == [None, b' {"id": 3}]']


@pytest.mark.parametrize("key, value, ms", [("batch.timeout", "250", 250),
                                             ("batch_timeout", "2s", 2000),
                                             ("batch.timeout", "40ms", 40)])
def test_batch_timeout_is_milliseconds_or_a_duration(tmp_path, key, value, ms):
    path = write(tmp_path, "jsonl", JSONL)
    assert source(path, "jsonl", **{key.replace(".", "__"): value}).batch_timeout_ms == ms
