"""The stream–table join operator (DIALECT §6): INNER and LEFT joins of a stream with a table.

Owns reading the table (a ``file_source``) to its end before the stream's first batch, its
hash index, and the probe of each stream batch against it. The table's rows are decoded into
one batch; ``GroupTable.assign`` gives each row the dense id of its key (the table's side of
the ON equalities) and ``_core.join.build_index`` groups the rows by id. A stream batch's keys
are looked up in C (``GroupTable.lookup``: -1 for a key the table lacks or one with a NULL
part, which matches nothing), ``_core.join.probe`` turns the ids into (stream row, table row)
index pairs, and both sides are gathered with ``Column.take``: no Python work per record. The
ON condition's other conjuncts are evaluated on the gathered rows; a LEFT join pairs a stream
row left without a match with the table's extra all-NULL row.

Output columns are named ``<qualifier>.<column>``, the input's too (the first join of a stream
renames its columns), so every source's columns stay apart; expressions above resolve them
through the planner's ``params['join']`` (``plan.compile``). A column with no value in a whole
batch (a field the query names that only the other side has: schema-on-read gives it an
all-NULL column) is dropped where the other side has a column of that name, so unqualified
names resolve to the source that has them.

State: none is checkpointed. The table is read again from its file when a job starts, also
when it resumes from a checkpoint, so a resumed job joins with the file as it is then.
"""

from __future__ import annotations

import logging

from velostream._core import batch as B
from velostream._core.aggregate import GroupTable
from velostream._core.join import build_index, keep_pairs, probe
from velostream._core.rowkeys import concat_batches, concat_columns
from velostream.errors import SqlValidationError
from velostream.grammar import ast as A
from velostream.plan.physical import PlannedExpression, split_on
from velostream.runtime.failures import JobFailed
from velostream.runtime.operators import Operator, Output, row_failures

log = logging.getLogger("velostream.join")

def _is_null(column) -> bool:
    return isinstance(column, B.NullColumn)


class JoinOperator(Operator):
    name = "join"

    def __init__(self, node):
        self.node = node
        self.params = node.params
        self.table = None            # the table's rows (qualified names) + one all-NULL row
        self.rows = 0                # the table's row count (the NULL row's index)
        self.names: set = set()      # the table's bare column names, lower-cased
        self._split: dict = {}       # left schema → (left keys, residual)
        self._index = None

    # ------------------------------------------------------------------ the table
    def _load(self):
        from velostream.connectors import open_source, source_context

        node = self.node
        scan = node.table
        ep = scan.endpoint
        from velostream.runtime.missing_fields import MissingFields

        source = open_source(ep, source_context(node.plan, fields=scan.fields))
        where = getattr(source, "path", None) or ep.name
        missing = MissingFields(node.plan.query, ep, source, scan.others)
        batches = []
        try:
            while not source.exhausted:
                polled = source.poll(0.1)
                if polled is None:
                    continue
                if polled.errors:
                    e = polled.errors[0]
                    raise JobFailed(f"table {ep.name} ({where}): line {e.line}: {e.message}")
                if polled.batch.length:
                    missing.observe(polled.batch, polled)
                    batches.append(polled.batch)
        finally:
            source.close()
        missing.report(where, node.plan.filename)
        table = concat_batches(batches) if len(batches) > 1 else (
            batches[0] if batches else None)
        q = node.table_qualifier
        if table is None:
            fields = scan.fields or []
            table = B.RecordBatch(fields, [B.null_column(0) for _ in fields])
        self.rows = table.length
        self.names = {n.lower() for n in table.names}
        # One all-NULL row at the end: what a LEFT join's unmatched rows take.
        columns = [concat_columns([c, B.null_column(1)]) for c in table.columns]
        self.table = B.RecordBatch([f"{q}.{n}" for n in table.names], columns)
        log.info("%s: table %s read from its file: %d rows", node.plan.name, ep.name, self.rows)

    def _prepare(self, left, table_columns):
        """The keys and residual for the input's schema, and the table's index on first use."""
        from velostream.plan.compile import schema_of

        schema = tuple(schema_of(left))
        found = self._split.get(schema)
        if found is not None:
            return found
        node = self.node
        left_names = {n.lower() for n in left.names}
        table_names = {self.table.names[i].lower() for i in table_columns}
        mapping = self.params["join"]
        lefts = set(node.left_qualifiers)

        def side(column):
            parts = [p.lower() for p in column.parts]
            if len(parts) > 1 and parts[0] in mapping:
                return mapping[parts[0]]
            owners = {n.partition(".")[0] for n in left_names | table_names
                      if n.partition(".")[2] == parts[0]}
            if len(owners) == 1:
                return owners.pop()
            if not owners and parts[0].startswith("_"):
                return next(iter(lefts))     # a pseudo-column: the stream row's
            return None

        keys, residual = split_on(node.on, side, lefts, node.table_qualifier)
        if not keys:
            pos = node.on.pos or A.Pos(0, 0)
            raise SqlValidationError(
                f"the ON condition of the join with {node.table.endpoint.name} has no equality "
                "between the stream's columns and the table's (a stream–table join looks its "
                "rows up by key)", pos.line, pos.column,
                hint="write ON s.key = t.key [AND …]")
        table_keys = tuple(to_key(b) for _, b in keys)
        if self._index is None or self._index[0] != table_keys:
            self._build([PlannedExpression(b, self.params) for _, b in keys], table_keys)
        found = ([PlannedExpression(a, self.params) for a, _ in keys],
                 _and(residual, self.params))
        body = self.table.slice_rows(0, self.rows)
        for (a, b), expr in zip(keys, found[0]):
            ta = expr.compiled(left).output_type
            tb = PlannedExpression(b, self.params).compiled(body).output_type
            if not (ta.is_null or tb.is_null or ta.name == tb.name or
                    (ta.is_numeric and tb.is_numeric)):
                pos = a.pos or node.on.pos or A.Pos(0, 0)
                raise SqlValidationError(
                    f"the join key {to_key(a)} is {ta} but {to_key(b)} is {tb}: such keys never "
                    "match", pos.line, pos.column, hint=f"CAST one side, e.g. CAST({to_key(b)} "
                    f"AS {ta})")
        self._split[schema] = found
        return found

    def _build(self, table_keys, texts):
        errors: list = []
        body = self.table.slice_rows(0, self.rows)
        columns = [k.evaluate(body, errors) for k in table_keys]
        if errors:
            row, message = errors[0]
            raise JobFailed(f"table {self.node.table.endpoint.name}: row {row + 1}: {message}")
        groups = GroupTable(len(columns))
        ids = groups.assign(columns, self.rows)
        offsets, rows = build_index(ids, groups.id_bound)
        self._index = (texts, groups, offsets, rows)

    # ------------------------------------------------------------------ the stream
    def _qualified(self, batch):
        """The stream's batch with its columns named ``<qualifier>.<column>``."""
        q = self.node.left_qualifier
        return batch.with_columns([f"{q}.{n}" for n in batch.names], batch.columns)

    def _pruned(self, left):
        """``left`` without all-NULL columns the table has a column of the same name for, and
        the table columns to output (all-NULL ones the left side has a column for left out)."""
        table_bare = {n.partition(".")[2].lower(): i for i, n in enumerate(self.table.names)}
        keep_left, left_bare = [], set()
        for i, (name, column) in enumerate(zip(left.names, left.columns)):
            bare = name.partition(".")[2].lower()
            t = table_bare.get(bare)
            if _is_null(column) and t is not None and not _is_null(self.table.columns[t]):
                continue
            keep_left.append(i)
            left_bare.add(bare)
        keep_table = [i for i, name in enumerate(self.table.names)
                      if not (_is_null(self.table.columns[i]) and
                              name.partition(".")[2].lower() in left_bare)]
        if len(keep_left) != len(left.names):
            left = left.select(keep_left)
        return left, keep_table

    def process(self, batch) -> Output:
        out = Output()
        if self.table is None:
            self._load()
        left = self._qualified(batch) if self.node.left_qualifier else batch
        left, table_columns = self._pruned(left)
        left_keys, residual = self._prepare(left, table_columns)
        errors: list = []
        keys = [k.evaluate(left, errors) for k in left_keys]
        failed = None
        if errors:
            out.failures.extend(row_failures(batch, errors))
            failed = {row for row, _ in errors}
        _, groups, offsets, rows = self._index
        ids = groups.lookup(keys, left.length)
        if failed:
            for row in failed:
                ids[row] = -1
        outer = self.node.kind_ == "LEFT"
        lpairs, rpairs = probe(ids, offsets, rows, outer, self.rows)
        joined = self._gather(left, lpairs, rpairs, table_columns)
        if residual is not None and joined.length:
            errors = []
            keep = residual.evaluate(joined, errors)
            if isinstance(keep, B.NullColumn):         # ON … AND NULL: nothing matches
                keep = B.bool_column([False] * joined.length)
            elif not isinstance(keep, B.BoolColumn):
                pos = residual.node.pos or A.Pos(0, 0)
                raise SqlValidationError(
                    f"the ON condition {residual} is {keep.type_name}, not BOOLEAN",
                    pos.line, pos.column)
            if errors:
                out.failures.extend(row_failures(joined, errors))
            lpairs, rpairs = keep_pairs(lpairs, rpairs, keep, left.length, outer, self.rows)
            joined = self._gather(left, lpairs, rpairs, table_columns)
        if failed:
            keep_rows = B.bool_column([r not in failed for r in lpairs.tolist()])
            joined = joined.filter(keep_rows)
        out.add(joined)
        return out

    def _gather(self, left, lpairs, rpairs, table_columns):
        gathered = left.take(lpairs)
        table = self.table
        names = list(gathered.names) + [table.names[i] for i in table_columns]
        columns = list(gathered.columns) + [table.columns[i].take(rpairs) for i in table_columns]
        return gathered.with_columns(names, columns)


def to_key(node) -> str:
    from velostream.grammar import to_sql

    return to_sql(node)


def _and(parts, params):
    if not parts:
        return None
    node = parts[0]
    for part in parts[1:]:
        node = A.BinaryOp("AND", node, part, pos=part.pos)
    return PlannedExpression(node, params)
