"""Helpers for the connector contract tests: endpoints, sources and reading to the end."""

import pytest

from velostream.connectors import file as F
from velostream.connectors.base import SourceContext
from velostream.plan.bind import EndpointConfig


def endpoint(path, fmt=None, name="t", role="source", **props):
    props = {"path": str(path), **({"format": fmt} if fmt else {}),
             **{k.replace("__", "."): v for k, v in props.items()}}
    return EndpointConfig(name, role, "file_source" if role == "source" else "file_sink", props)


def source(path, fmt=None, context=None, **props):
    return F.FileSource(endpoint(path, fmt, **props), context or SourceContext())


def drain(src, limit=None):
    """Every batch until exhausted (at most ``limit`` batches)."""
    out = []
    while not src.exhausted and (limit is None or len(out) < limit):
        batch = src.poll(0)
        if batch is not None:
            out.append(batch)
    return out


def rows_of(batches):
    """The rows, without NULL fields (a field absent from a batch's records is not a column of
    that batch, so batches cut differently differ only there)."""
    return [{k: v for k, v in r.items() if v is not None}
            for b in batches for r in b.batch.to_pylist()]


def lines_of(batches):
    return [x for b in batches for x in b.batch.meta["_line"].to_pylist()]


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(F, "BLOCK_BYTES", 64)
