"""The file reader: record boundaries agree with the decoders, each byte is decoded about once,
memory stays bounded, and a follower neither drops a last line nor waits without a word."""

import logging
import types

import pytest

from velostream.connectors import file as F
from velostream.errors import ConfigError
from velostream.plan.bind import EndpointConfig

PLAN = types.SimpleNamespace(flag=lambda key, default: default)


def reader(path, fmt, **props):
    props = {"path": str(path), "format": fmt, **{k.replace("__", "."): v for k, v in props.items()}}
    return F.FileSource(EndpointConfig("t", "source", "file_source", props), PLAN)


def read_all(src):
    rows, lines, errors = [], [], []
    for result in src.batches():
        rows.extend(result.batch.to_pylist())
        lines.extend(result.batch.meta["_line"].to_pylist())
        errors.extend(result.errors)
    return rows, lines, errors


@pytest.mark.parametrize("block", [4096, F.BLOCK_BYTES])
def test_stray_quotes_in_unquoted_fields_split_nowhere_and_decode_once(tmp_path, monkeypatch,
                                                                       block):
    monkeypatch.setattr(F, "BLOCK_BYTES", block)
    n = 60_000                                     # ~2.5 MB, a stray quote on every 7th line
    body = "".join(f'{i},12" pizza {i},5\n' if i % 7 == 0 else f"{i},plain {i},5\n"
                   for i in range(n))
    path = tmp_path / "menu.csv"
    path.write_text("id,item,qty\n" + body)
    src = reader(path, "csv")
    rows, lines, errors = read_all(src)
    assert errors == []
    assert [r["id"] for r in rows] == list(range(n))
    assert lines == list(range(2, n + 2))
    assert rows[7]["item"] == '12" pizza 7'
    # Linear: no block is re-scanned (the old splitter re-counted quotes at every line feed).
    assert src.bytes_decoded == path.stat().st_size


def test_a_quoted_field_across_block_boundaries_is_carried_by_the_decoder(tmp_path, monkeypatch):
    monkeypatch.setattr(F, "BLOCK_BYTES", 64)
    long_text = "line one\n" + "x" * 300 + "\nline three"
    path = tmp_path / "q.csv"
    path.write_text(f'id,t\n1,a\n2,"{long_text}"\n3,"b ""q"""\n4,c\n')
    src = reader(path, "csv")
    rows, lines, errors = read_all(src)
    assert errors == []
    assert rows == [{"id": 1, "t": "a"}, {"id": 2, "t": long_text}, {"id": 3, "t": 'b "q"'},
                    {"id": 4, "t": "c"}]
    assert lines == [2, 3, 6, 7]
    assert src.bytes_decoded < 3 * path.stat().st_size


@pytest.mark.parametrize("limit, block", [(None, 1 << 20), ("200", 64)])
def test_an_unterminated_quote_costs_one_record(tmp_path, monkeypatch, limit, block):
    monkeypatch.setattr(F, "BLOCK_BYTES", block)
    tail = "".join(f"{i},r{i}\n" for i in range(3, 60))
    path = tmp_path / "u.csv"
    path.write_text(f'id,t\n1,a\n2,"never closed\n{tail}')
    props = {} if limit is None else {"csv__max_record_bytes": limit}
    rows, lines, errors = read_all(reader(path, "csv", **props))
    assert [r["id"] for r in rows] == [1, *range(3, 60)]
    assert lines == [2, *range(4, 61)]
    assert [(e.line, e.raw) for e in errors] == [(3, b'2,"never closed')]
    expected = "unterminated quoted field" if limit is None else "no closing quote within 200"
    assert expected in errors[0].message


def test_max_record_bytes_must_be_a_positive_number(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    with pytest.raises(ConfigError) as err:
        reader(path, "csv", csv__max_record_bytes="lots")
    assert err.value.key == "t.csv.max_record_bytes"


@pytest.mark.parametrize("fmt, text", [("jsonl", '{"a": 1}\n{"a": 2}'), ("csv", "a\n1\n2")])
def test_a_last_line_without_a_line_feed_is_decoded(tmp_path, fmt, text):
    path = tmp_path / f"t.{fmt}"
    path.write_text(text)
    rows, lines, errors = read_all(reader(path, fmt))
    assert (rows, lines, errors) == ([{"a": 1}, {"a": 2}], [1, 2] if fmt == "jsonl" else [2, 3],
                                     [])


def test_one_stray_quote_does_not_hold_back_the_rest_of_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(F, "BLOCK_BYTES", 4096)
    path = tmp_path / "one.csv"
    path.write_text('id,item\n1,12" pizza\n' + "".join(f"{i},x\n" for i in range(2, 20_000)))
    src = reader(path, "csv")
    sizes = [len(r.batch) for r in src.batches()]
    assert sum(sizes) == 19_999
    assert len(sizes) > 10              # read block by block, not held until the end


class _StopOnWait:
    """A stop event that is set the first time the reader waits: a follower's 'stop now'."""

    def __init__(self):
        self.flag = False
        self.waits = 0

    def is_set(self):
        return self.flag

    def wait(self, timeout=None):
        self.waits += 1
        self.flag = True
        return True


@pytest.mark.parametrize("fmt, head, partial", [
    ("jsonl", '{"id": 1, "t": "a"}\n{"id": 2, "t": "12\\" b"}\n', '{"id": 3, "t": "c"}'),
    ("csv", 'id,t\n1,a\n2,12" b\n', "3,c"),
])
def test_a_follower_decodes_rows_after_a_stray_quote_and_the_partial_last_line_at_stop(
        tmp_path, fmt, head, partial):
    path = tmp_path / f"live.{fmt}"
    path.write_text(head + partial)
    stop = _StopOnWait()
    src = F.FileSource(EndpointConfig("t", "source", "file_source",
                                      {"path": str(path), "format": fmt}),
                       PLAN, watch=True, stop_event=stop)
    batches = src.batches()
    first = next(batches)
    assert [r["id"] for r in first.batch.to_pylist()] == [1, 2] and first.errors == []
    last = next(batches)                # the reader waits, is stopped, decodes what it holds
    assert stop.waits == 1
    assert last.batch.to_pylist() == [{"id": 3, "t": "c"}] and last.errors == []
    assert last.batch.meta["_line"].to_pylist() == [3 if fmt == "jsonl" else 4]
    with pytest.raises(StopIteration):
        next(batches)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append((record.levelname, record.getMessage()))


def test_a_follower_of_a_missing_file_says_once_that_it_waits(tmp_path):
    path = tmp_path / "later.jsonl"
    stop = _StopOnWait()
    stop.wait = lambda timeout=None: setattr(stop, "waits", stop.waits + 1) or (
        stop.waits >= 3 and setattr(stop, "flag", True))
    src = F.FileSource(EndpointConfig("t", "source", "file_source",
                                      {"path": str(path), "format": "jsonl"}),
                       PLAN, watch=True, stop_event=stop)
    said = _Collect()
    logger = logging.getLogger("velostream.file")
    logger.addHandler(said)
    try:
        assert list(src.batches()) == []
    finally:
        logger.removeHandler(said)
    assert stop.waits == 3
    assert said.messages == [("WARNING", f"{path} does not exist yet; waiting for it (t.path)")]


# ------------------------------------------------------------------------- JSON documents

def _decode_whole(path):
    from velostream.formats import JsonDecoder

    r = JsonDecoder().decode_document(path.read_bytes())
    return (_present(r.batch.to_pylist()), r.batch.meta["_line"].to_pylist(),
            [(e.line, e.column, e.message) for e in r.errors])


def _present(rows):
    """Rows without their NULLs (blocks decoded apart do not all have every column)."""
    return [{k: v for k, v in row.items() if v is not None} for row in rows]


DOCUMENTS = {
    "pretty_array": '[\n  {"a": 1, "s": "x, y ] }"},\n  {"a": 2, "s": "q\\"uote, [z"},\n'
                    '  {"a": 3, "n": {"k": [1, {"z": 2}]}}\n]\n',
    "one_line_array": '[{"a": 1}, {"a": "é, ü"}, 7, {"a": 3}, "x", {"a": 4}]',
    "syntax_error_ends_the_array": '[{"a": 1},\n {"a": 2},\n {"a": 3} {"a": 4},\n {"a": 5}]\n',
    "bad_element_column": '[{"a": 1}, {"a": 2}, {"a": tru}, {"a": 4}]\n',
    "objects_one_after_another": '{"a": 1}\n{"a": 2}{"a": 3}\n  {"a": \n 4}\nnot json\n{"a": 5}\n',
    "empty_array": "[]\n",
    "unterminated_string_between_objects": ('{"a": "oops}\n{"a": 1}\n{"a": "x}y", "b": "{"}\n'
                                            '{"a": [2, "]"]}\n'),
    "unterminated_string_in_array": '[{"a": 1},\n{"a": "oops},\n{"a": 2}]\n',
    "bom_and_blank_lines": '\ufeff\n\n[{"a": 1},\n\n{"a": 2}]',
}


@pytest.mark.parametrize("block", [1, 3, 7, 64])
@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_a_json_document_in_blocks_decodes_as_the_whole_document(tmp_path, monkeypatch,
                                                                 name, block):
    monkeypatch.setattr(F, "BLOCK_BYTES", block)
    path = tmp_path / "doc.json"
    path.write_text(DOCUMENTS[name], encoding="utf-8")
    rows, lines, errors = read_all(reader(path, "json"))
    got = (_present(rows), lines, [(e.line, e.column, e.message) for e in errors])
    assert got == _decode_whole(path)


def test_a_large_json_array_is_streamed_with_bounded_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(F, "BLOCK_BYTES", 1 << 16)
    n = 40_000
    path = tmp_path / "big.json"
    with open(path, "w") as out:
        out.write("[\n")
        out.write(",\n".join(f'  {{"id": {i},\n   "pad": "{"p" * 40}"}}' for i in range(n)))
        out.write("\n]\n")
    assert path.stat().st_size > 2_500_000
    src = reader(path, "json")
    rows, lines, errors = read_all(src)
    assert errors == []
    assert [r["id"] for r in rows] == list(range(n))
    assert lines == [2 + 2 * i for i in range(n)]
    assert src.max_held <= 2 * (1 << 16)         # never the whole file
    assert src.bytes_decoded <= path.stat().st_size


def test_a_wide_pretty_printed_object_allocates_slots_for_the_rows_it_has(tmp_path):
    from velostream._core.jsoncodec import CELL_BUDGET, JsonScanner

    keys = 3000
    doc = "{\n" + ",\n".join(f'  "k{i}": {i}' for i in range(keys)) + "\n}\n"
    scanner = JsonScanner()
    names, columns, _, errors = scanner.decode_document(doc.encode())
    assert errors == [] and len(names) == keys and columns[-1].to_pylist() == [keys - 1]
    # The first line ("{") would have guessed ~9,000 rows for each of the 3,000 columns.
    assert scanner.cap * keys <= CELL_BUDGET


def test_a_wide_csv_after_a_short_multi_line_field_stays_within_the_cell_budget():
    from velostream._core.csvcodec import CsvScanner
    from velostream._core.jsoncodec import CELL_BUDGET

    keys = 2000
    data = (",".join(f"k{i}" for i in range(keys)) + "\n\"\n" + "x" * 50_000 + "\"" +
            ",1" * (keys - 1) + "\n").encode()
    scanner = CsvScanner()
    names, columns, _, errors = scanner.decode(data)
    assert errors == [] and len(names) == keys and columns[1].to_pylist() == [1]
    assert scanner.cap * keys <= CELL_BUDGET


def test_stream_continuous_keeps_rows_after_a_stray_quote_and_the_last_partial_line(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from tests.runtime.conftest import source
    from tests.runtime.test_stream import _readline

    path = tmp_path / "live.csv"
    path.write_text('id,item\n1,plain\n2,12" pizza\n3,after\n4,partial')
    missing = tmp_path / "later.csv"
    sql = ("SELECT id, item FROM live " + source(path, "live", "csv"))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "velostream.cli.main", "stream", "--continuous", "--stats",
         "--format", "json-lines", "--query", sql], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env)
    try:
        assert [_readline(proc)["id"] for _ in range(3)] == [1, 2, 3]
        proc.send_signal(signal.SIGINT)
        assert _readline(proc) == {"id": 4, "item": "partial"}
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "4 records in, 4 out, 0 failed" in proc.stderr.read().decode()

    sql = "SELECT id FROM later " + source(missing, "later", "csv")
    proc = subprocess.Popen(
        [sys.executable, "-m", "velostream.cli.main", "stream", "--continuous", "--query", sql],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        said = proc.stderr.readline().decode()   # an event: the first line it writes
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert said == f"warning: {missing} does not exist yet; waiting for it (later.path)\n"


def test_stopping_a_json_array_read_reports_no_failure_for_the_element_not_read(tmp_path,
                                                                               monkeypatch):
    # Found in review: the half-read element after the last cut was decoded at stop and
    # counted as a failed record.
    import threading

    monkeypatch.setattr(F, "BLOCK_BYTES", 1 << 12)
    path = tmp_path / "big.json"
    path.write_text("[" + ",".join(f'{{"id": {i}, "pad": "{"p" * 40}"}}' for i in range(2000)) + "]")
    stop = threading.Event()
    src = F.FileSource(EndpointConfig("t", "source", "file_source",
                                      {"path": str(path), "format": "json"}), PLAN, stop_event=stop)
    results = []
    for result in src.batches():
        results.append(result)
        stop.set()
    assert len(results) == 1 and results[0].errors == []
    assert 0 < len(results[0].batch) < 2000


def test_a_null_row_of_a_one_column_csv_at_a_block_start_is_kept(tmp_path, monkeypatch):
    # Found in review: leading blank lines were skipped at the start of every block.
    monkeypatch.setattr(F, "BLOCK_BYTES", 16)
    path = tmp_path / "one.csv"
    path.write_bytes(b"a\n" + b"1\n" * 7 + b"\n" + b"2\n" * 3)     # the blank line starts a block
    rows, lines, errors = read_all(reader(path, "csv"))
    assert errors == [] and [r["a"] for r in rows] == [1] * 7 + [None] + [2] * 3
    assert lines == list(range(2, 13))
