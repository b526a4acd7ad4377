"""Expression evaluation: kernels and the compiler against a row-by-row reference evaluator.

``ev`` is the helper the focused tests share: compile an SQL expression against a batch built
from Python rows and return the values, the failed rows and the result type.
"""

from velostream._core.batch import RecordBatch
from velostream.grammar import parse_expression
from velostream.plan.compile import compile_expression, schema_of


def batch_of(rows, meta=None, names=None):
    return RecordBatch.from_pylist(rows, names=names, meta=meta)


def ev(sql, rows=({},), *, batch=None, meta=None, params=None):
    """(values, {row: message}, output type) of ``sql`` over ``rows`` (or ``batch``)."""
    if batch is None:
        rows = list(rows)
        batch = batch_of(rows, meta=meta)
        if not batch.names:
            batch = RecordBatch.empty(len(rows))
    compiled = compile_expression(parse_expression(sql), schema_of(batch), params=params)
    errors = []
    column = compiled.evaluate(batch, errors)
    assert len(column) == len(batch)
    assert column.type == compiled.output_type.code or column.type == 0
    return column.to_pylist(), dict(errors), compiled.output_type


def values(sql, rows=({},), **kw):
    got, errors, _ = ev(sql, rows, **kw)
    assert not errors, errors
    return got


def one(sql, row=None, **kw):
    """The value of ``sql`` over one row (asserting it did not fail)."""
    return values(sql, [row or {}], **kw)[0]
