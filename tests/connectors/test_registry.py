"""The connector and format registries: one place that knows the types and formats."""

import io
import subprocess
import sys

import pytest

from velostream.connectors import registry
from velostream.connectors.base import SinkContext, SourceContext
from velostream.connectors.file import FileSink, FileSource
from velostream.connectors.stdout import StdoutSink
from velostream.errors import ConfigError
from velostream.formats import registry as formats
from velostream.plan.bind import EndpointConfig


def test_connectors_are_found_by_type(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"a": 1}\n')
    src = registry.open_source(EndpointConfig("t", "source", "file_source", {"path": str(data)}),
                               SourceContext())
    assert isinstance(src, FileSource) and src.format == "json-lines"
    sink = registry.open_sink(EndpointConfig("o", "sink", "file_sink",
                                             {"path": str(tmp_path / "o.csv")}), SinkContext())
    assert isinstance(sink, FileSink) and sink.format == "csv"
    sink.close()
    out = registry.open_sink(EndpointConfig("stdout", "sink", "stdout_sink", {}),
                             SinkContext(stream=io.StringIO()))
    assert isinstance(out, StdoutSink) and out.format == "json-lines"
    assert {"file_source"} <= set(registry.source_types())
    assert {"file_sink", "stdout_sink"} <= set(registry.sink_types())


def test_an_unknown_type_is_a_programming_error_naming_it():
    with pytest.raises(NotImplementedError, match="kafka_source"):
        registry.open_source(EndpointConfig("k", "source", "kafka_source", {}))


def test_a_registered_connector_gets_the_endpoint_and_the_context():
    class Memory:
        def __init__(self, endpoint, context):
            self.endpoint, self.context = endpoint, context

    registry.register_source("memory_test_source", Memory)
    try:
        ep = EndpointConfig("m", "source", "memory_test_source", {})
        made = registry.open_source(ep, SourceContext(batch_size=7))
        assert made.endpoint is ep and made.context.batch_size == 7
    finally:
        registry._SOURCES.pop("memory_test_source")


def test_importing_the_registries_imports_no_connector_or_codec():
    code = ("import sys, velostream.connectors.registry, velostream.formats.registry as r; "
            "print(sorted(m for m in sys.modules if m in ('velostream.connectors.file', "
            "'velostream.connectors.stdout', 'velostream.formats.table', 'rich')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name, expected", [
    ("jsonl", "json-lines"), ("NDJSON", "json-lines"), ("json_lines", "json-lines"),
    ("JSON", "json"), ("csv", "csv"), ("json-pretty", "json-pretty"), ("table", "table")])
def test_formats_by_name_and_alias(name, expected):
    assert formats.find(name).name == expected


@pytest.mark.parametrize("path, expected", [
    ("a.csv", "csv"), ("a.JSON", "json"), ("a.jsonl", "json-lines"), ("a.ndjson", "json-lines"),
    ("a.txt", None)])
def test_formats_by_extension(path, expected):
    spec = formats.by_extension(path)
    assert (spec.name if spec else None) == expected


def test_the_cli_output_formats_come_from_the_registry():
    from velostream.cli.main import OUTPUT_FORMATS

    assert formats.names(output=True) == ["json-lines", "json", "json-pretty", "csv", "table"]
    assert list(OUTPUT_FORMATS.choices) == formats.names(output=True)


def test_an_unknown_or_unreadable_format_is_a_config_error_naming_the_key(tmp_path):
    with pytest.raises(ConfigError) as err:
        FileSource(EndpointConfig("t", "source", "file_source",
                                  {"path": str(tmp_path), "format": "xml"}), SourceContext())
    assert err.value.key == "t.path"      # a directory: the path is checked first
    data = tmp_path / "d.txt"
    data.write_text("x\n")
    for fmt, says in (("xml", "must be one of json-lines, json, csv, parquet; got 'xml'"),
                      ("table", "must be one of json-lines, json, csv, parquet; got 'table'"),
                      (None, "cannot tell the format from the file name")):
        props = {"path": str(data), **({"format": fmt} if fmt else {})}
        with pytest.raises(ConfigError) as err:
            FileSource(EndpointConfig("t", "source", "file_source", props), SourceContext())
        assert err.value.key == "t.format" and says in str(err.value)


def test_a_name_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="already 'json-lines'"):
        formats.register_format(formats.FormatSpec("other", aliases=("jsonl",)))


def test_a_whole_file_format_plugs_in_through_a_reader(tmp_path, monkeypatch):
    """How a Parquet format is added: a reader instead of a decoder; positions count rows."""
    from velostream._core.batch import RecordBatch
    from velostream.formats.errors import DecodeResult

    def reader(path, endpoint, options):
        for start in (0, 3, 6):
            yield DecodeResult(RecordBatch.from_pylist([{"n": start + i} for i in range(3)]))

    module = type(sys)("fake_whole_format")
    module.reader = reader
    monkeypatch.setitem(sys.modules, "fake_whole_format", module)
    spec = formats.FormatSpec("fakewhole", extensions=(".fakewhole",),
                              reader="fake_whole_format:reader")
    monkeypatch.setitem(formats._FORMATS, "fakewhole", spec)
    monkeypatch.setitem(formats._NAMES, "fakewhole", "fakewhole")
    monkeypatch.setitem(formats._EXTENSIONS, ".fakewhole", "fakewhole")
    path = tmp_path / "d.fakewhole"
    path.write_bytes(b"")
    ep = EndpointConfig("t", "source", "file_source", {"path": str(path)})
    first = FileSource(ep, SourceContext(batch_size=2))
    got = [first.poll(0) for _ in range(3)]
    assert [r["n"] for b in got for r in b.batch.to_pylist()] == [0, 1, 2, 3, 4]
    resumed = FileSource(ep, SourceContext(batch_size=2))
    resumed.seek(first.position())
    rest = []
    while not resumed.exhausted:
        b = resumed.poll(0)
        rest.extend(r["n"] for r in b.batch.to_pylist()) if b else None
    assert rest == [5, 6, 7, 8]
