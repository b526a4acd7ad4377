"""The sinks against the Sink contract: stdout in every output format, the file sink in every
writable format (an --output-file's JSON array too), appending, and refusals naming the key."""

import io
import json

import pytest

from velostream._core.batch import RecordBatch
from velostream.connectors.base import Sink, SinkContext
from velostream.connectors.file import FileSink
from velostream.connectors.stdout import StdoutSink
from velostream.errors import ConfigError
from velostream.formats import registry as formats
from velostream.plan.bind import EndpointConfig

ROWS = [{"id": 1, "name": "a,b"}, {"id": 2, "name": None}]


def batch(rows=ROWS):
    return RecordBatch.from_pylist(rows)


def stdout(fmt, stream=None, **props):
    stream = stream or io.StringIO()
    return StdoutSink(EndpointConfig("stdout", "sink", "stdout_sink", props),
                      SinkContext(format_override=fmt, stream=stream)), stream


def write_all(sink, batches):
    for b in batches:
        sink.write(b)
        sink.flush()
    sink.close()


@pytest.mark.parametrize("fmt, expected", [
    ("json-lines", ('{"id":1,"name":"a,b"}\n{"id":2,"name":null}\n{"id":1,"name":"a,b"}\n'
                   '{"id":2,"name":null}\n')),
    ("json", ('[{"id":1,"name":"a,b"},{"id":2,"name":null},{"id":1,"name":"a,b"},'
             '{"id":2,"name":null}]\n')),
    ("csv", 'id,name\n1,"a,b"\n2,\n1,"a,b"\n2,\n'),
])
def test_stdout_writes_the_encoded_bytes_across_batches(fmt, expected):
    sink, stream = stdout(fmt)
    write_all(sink, [batch(), batch()])
    assert stream.getvalue() == expected


def test_json_pretty_is_one_indented_array_and_an_empty_run_is_an_empty_array():
    sink, stream = stdout("json-pretty")
    write_all(sink, [batch(), batch(ROWS[:1])])
    assert json.loads(stream.getvalue()) == ROWS + ROWS[:1]
    assert stream.getvalue().startswith('[\n  {\n    "id": 1')
    for fmt in ("json", "json-pretty"):
        sink, stream = stdout(fmt)
        sink.close()
        assert stream.getvalue() == "[]\n"


def test_the_table_is_rendered_by_the_format_and_written_at_flush():
    sink, stream = stdout("table")
    sink.write(batch())
    assert stream.getvalue() == ""               # buffered: a table is drawn whole
    sink.flush()
    text = stream.getvalue()
    assert "a,b" in text and "NULL" in text and "id" in text
    sink.close()
    assert stream.getvalue() == text             # nothing left to draw


def test_the_table_does_not_read_values_as_markup():
    from velostream.formats.table import TableStream

    encoder = TableStream(width=40)
    assert encoder.encode(batch([{"v": "[red]x[/red]"}])) == b""
    assert "[red]x[/red]" in encoder.end().decode()


def test_stdout_without_a_format_is_json_lines_in_a_pipe_and_refuses_an_unknown_one():
    sink, _ = stdout(None)
    assert sink.format == "json-lines"
    with pytest.raises(ConfigError) as err:
        stdout(None, format="xml")
    assert err.value.key == "stdout.format"
    assert "json-lines, json, json-pretty, csv, table" in str(err.value)


def file_sink(path, fmt=None, override=None, **props):
    props = {"path": str(path), **({"format": fmt} if fmt else {}), **props}
    return FileSink(EndpointConfig("out", "sink", "file_sink", props),
                    SinkContext(format_override=override))


def test_a_json_file_sink_writes_json_lines_so_it_can_be_appended_to(tmp_path):
    path = tmp_path / "o.json"
    write_all(file_sink(path), [batch()])
    write_all(file_sink(path, append="true"), [batch()])
    assert [json.loads(x) for x in path.read_text().splitlines()] == ROWS + ROWS


def test_a_csv_file_sink_writes_the_header_once_when_appending(tmp_path):
    path = tmp_path / "o.csv"
    write_all(file_sink(path), [batch()])
    write_all(file_sink(path, append="true"), [batch()])
    assert path.read_text() == 'id,name\n1,"a,b"\n2,\n1,"a,b"\n2,\n'


@pytest.mark.parametrize("override", ["json", "json-pretty"])
def test_an_output_format_override_writes_one_json_array_to_the_file(tmp_path, override):
    path = tmp_path / "o.txt"
    write_all(file_sink(path, override=override), [batch(), batch()])
    assert json.loads(path.read_text()) == ROWS + ROWS


def test_every_writable_format_round_trips_through_the_file_sink(tmp_path):
    from tests.connectors.conftest import drain, rows_of, source

    for name in formats.names(output=True, terminal_only=False):
        spec = formats.get(name, "k")
        path = tmp_path / f"o-{name}"
        write_all(file_sink(path, override=name), [batch(), batch()])
        readable = spec.name if spec.decoder else "json"      # json-pretty reads as json
        assert rows_of(drain(source(path, readable))) == [
            {k: v for k, v in r.items() if v is not None} for r in ROWS + ROWS], name


def test_a_terminal_format_is_refused_for_a_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        file_sink(tmp_path / "o.txt", fmt="table")
    assert err.value.key == "out.format" and "is for a terminal" in str(err.value)


def test_a_sink_path_error_names_the_setting_it_came_from(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError) as err:
        FileSink(EndpointConfig("out", "sink", "file_sink", {"path": str(blocker / "o.csv")}),
                 SinkContext(path_key="--output-file"))
    assert err.value.key == "--output-file"


def test_the_transaction_hooks_are_no_ops_by_default(tmp_path):
    sink = file_sink(tmp_path / "o.jsonl")
    assert isinstance(sink, Sink)
    sink.begin_transaction()
    sink.write(batch())
    sink.commit_transaction()
    sink.abort_transaction()
    sink.commit()
    sink.close()
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 2
