"""The operator pipeline of a stateless SELECT: WHERE → projection → DISTINCT → ORDER BY → LIMIT.

Owns running one query over RecordBatches. Expressions are compiled once per input schema
(batches may change column types: schema-on-read) and evaluated by the Cython kernels a whole
batch at a time; Python runs once per batch and operator. Rows whose expressions fail (division by
zero, a bad CAST, BIGINT overflow) are taken out of the output and returned as
:class:`RowFailure`\\ s for the job's failure strategy — never silently dropped.
"""

from __future__ import annotations

import logging
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field

from velostream.errors import SqlValidationError
from velostream.grammar import ast as A
from velostream.grammar import to_sql
from velostream.runtime.failures import failure_kind

log = logging.getLogger("velostream.pipeline")

# DISTINCT on an unbounded stream cannot remember every row: it keeps the most recent keys.
DEFAULT_DISTINCT_MAX_KEYS = 1_000_000


@dataclass
class RowFailure:
    """A record that could not be processed, with where it came from and why."""

    message: str
    source: str | None = None
    line: int | None = None
    record: dict | None = None      # the decoded fields the query read, when there are some
    raw: bytes | None = None        # the input record's bytes, when the source has them
    kind: str = ""                  # the reason, for the counts (default: from the message)

    def __post_init__(self):
        if not self.kind:
            self.kind = failure_kind(self.message)

    def location(self) -> str:
        if self.source and self.line:
            return f"{self.source}:{self.line}"
        return self.source or "<input>"


@dataclass
class _Compiled:
    where: object | None
    items: list = field(default_factory=list)    # (name, compiled | column position)
    order: list = field(default_factory=list)    # (compiled | output position, descending, nulls)


def output_name(item: A.SelectItem) -> str:
    """The output column name of a select item: alias, column name, or the expression's SQL."""
    if item.alias is not None:
        return item.alias
    if isinstance(item.expr, A.Column):
        return item.expr.parts[-1]
    return to_sql(item.expr)


class QueryPipeline:
    """Runs a stateless Select over batches. ``process`` per batch, ``finish`` at end of input."""

    def __init__(self, query: A.Select, *, source_name: str | None = None, source_alias=None,
                 limit: int | None = None, bounded: bool = True,
                 distinct_max_keys: int = DEFAULT_DISTINCT_MAX_KEYS,
                 max_string_bytes: int | None = None):
        self.query = query
        self.source_names = {n.lower() for n in (source_name, source_alias) if n}
        limits = [n for n in (query.limit, limit) if n is not None]
        self.limit = min(limits) if limits else None
        self.emitted = 0
        self.distinct_max_keys = distinct_max_keys
        self.max_string_bytes = max_string_bytes
        self.distinct_evictions = 0
        self._seen: OrderedDict | None = OrderedDict() if query.distinct else None
        self._cache: dict = {}
        self._sorted: list | None = [] if query.order_by else None
        if query.order_by and not bounded:
            pos = query.order_by[0].pos
            raise SqlValidationError(
                "ORDER BY needs a bounded input (it can only sort once the input ends); "
                "remove it or run over files without --continuous", pos.line, pos.column)

    @property
    def done(self) -> bool:
        """LIMIT reached: the job can stop reading."""
        return self.limit is not None and self.emitted >= self.limit

    # ------------------------------------------------------------------ compilation
    def _compile(self, batch):
        from velostream.plan.compile import compile_expression, schema_of

        schema = schema_of(batch)
        key = tuple(schema)
        compiled = self._cache.get(key)
        if compiled is not None:
            return compiled
        query = self.query
        # o.col names column col of source o (not a field o), whatever the data holds.
        params = {"qualifiers": sorted(self.source_names),
                  "max_string_bytes": self.max_string_bytes}
        where = compile_expression(query.where, schema, params=params) if query.where is not None else None
        items = []
        for item in query.items:
            if isinstance(item, A.Star):
                if item.qualifier and item.qualifier[-1].lower() not in self.source_names:
                    pos = item.pos
                    raise SqlValidationError(f"unknown source {'.'.join(item.qualifier)!r} in "
                                             f"{'.'.join(item.qualifier)}.*", pos.line, pos.column)
                items.extend((name, position) for position, name in enumerate(batch.names))
            else:
                items.append((output_name(item), compile_expression(item.expr, schema, params=params)))
        names = [name.lower() for name, _ in items]
        order = []
        for entry in query.order_by:
            expr = entry.expr
            target = None
            if isinstance(expr, A.Column) and len(expr.parts) == 1 and expr.parts[0].lower() in names:
                target = names.index(expr.parts[0].lower())        # ORDER BY an output column
            elif isinstance(expr, A.IntegerLit) and 1 <= expr.value <= len(items):
                target = expr.value - 1                            # ORDER BY 2
            elif query.distinct:
                pos = entry.pos
                raise SqlValidationError(
                    "with SELECT DISTINCT, ORDER BY must name output columns", pos.line, pos.column)
            else:
                target = compile_expression(expr, schema, params=params)
            order.append((target, entry.descending, entry.nulls))
        compiled = _Compiled(where, items, order)
        self._cache[key] = compiled
        return compiled

    # ------------------------------------------------------------------ per batch
    def process(self, batch, source: str | None = None):
        """(output batch or None, failures) for one input batch."""
        failures: list[RowFailure] = []
        if self.done or batch.length == 0:
            return None, failures
        compiled = self._compile(batch)
        if compiled.where is not None:
            errors: list = []
            mask = compiled.where.evaluate(batch, errors)
            failures.extend(self._failures(batch, errors, source))
            batch = batch.filter(mask)
            if batch.length == 0:
                return None, failures
        names, columns, errors = [], [], []
        for name, target in compiled.items:
            names.append(name)
            columns.append(batch.columns[target] if isinstance(target, int)
                           else target.evaluate(batch, errors))
        out = batch.with_columns(names, columns)
        if errors:
            # One failure per record, with the first reason (in SELECT order), however many of
            # its columns failed: records in = rows out + failed.
            first: dict = {}
            for row, message in errors:
                first.setdefault(row, message)
            failures.extend(self._failures(batch, sorted(first.items()), source))
            bad = first.keys()
            out = out.take(array("q", [i for i in range(out.length) if i not in bad]))
        if self._seen is not None:
            out = self._distinct(out)
        if self._sorted is not None:
            # Keys are computed after DISTINCT; with DISTINCT every key is an output column.
            self._sorted.append((out, self._order_keys(compiled, batch, out, errors)))
            return None, failures
        return self._apply_limit(out), failures

    def finish(self):
        """Rows held back until the end of a bounded input (ORDER BY), else None."""
        if not self._sorted:
            return None
        from velostream._core.batch import RecordBatch

        rows, keys = [], []
        for out, batch_keys in self._sorted:
            rows.extend(out.to_pylist())
            keys.extend(batch_keys)
        self._sorted = []
        if not rows:
            return None
        order = list(range(len(rows)))
        directions = [(desc, nulls) for _, desc, nulls in self._cache_order()]
        # Stable sorts from the last key to the first give the multi-key order.
        for k in reversed(range(len(directions))):
            desc, nulls = directions[k]
            nulls_first = nulls == "FIRST"   # DuckDB's default is NULLS LAST in both directions
            present = [i for i in order if keys[i][k] is not None]
            missing = [i for i in order if keys[i][k] is None]
            present.sort(key=lambda i, k=k: keys[i][k], reverse=desc)
            order = missing + present if nulls_first else present + missing
        names = list(rows[0].keys())
        out = RecordBatch.from_pylist([rows[i] for i in order], names)
        return self._apply_limit(out)

    def _cache_order(self):
        for compiled in self._cache.values():
            return compiled.order
        return []

    def _order_keys(self, compiled, batch, out, errors):
        bad = {row for row, _ in errors}
        columns = []
        for target, _desc, _nulls in compiled.order:
            if isinstance(target, int):
                columns.append(out.columns[target].to_pylist())
            else:
                values = target.evaluate(batch, []).to_pylist()
                columns.append([v for i, v in enumerate(values) if i not in bad])
        return list(zip(*columns)) if columns else [() for _ in range(out.length)]

    def _apply_limit(self, out):
        if out is None or out.length == 0:
            return None
        if self.limit is not None:
            room = self.limit - self.emitted
            if out.length > room:
                out = out.slice_rows(0, room)
        self.emitted += out.length
        return out

    def _distinct(self, out):
        seen = self._seen
        keep = array("q")
        for i, row in enumerate(zip(*(c.to_pylist() for c in out.columns))):
            key = tuple(_hashable(v) for v in row)
            if key in seen:
                seen.move_to_end(key)
                continue
            seen[key] = None
            keep.append(i)
            if len(seen) > self.distinct_max_keys:
                seen.popitem(last=False)
                self.distinct_evictions += 1
        return out if len(keep) == out.length else out.take(keep)

    def _failures(self, batch, errors, source):
        if not errors:
            return []
        lines = batch.meta.get("_line")
        failures = []
        for row, message in errors:
            line = lines.get(row) if lines is not None else None
            record = {name: column.get(row) for name, column in zip(batch.names, batch.columns)}
            failures.append(RowFailure(message, source, line, record))
        return failures


def _hashable(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value
