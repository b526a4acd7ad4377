"""The physical planner: a bound :class:`~velostream.plan.bind.JobPlan` → a tree of operator nodes.

Owns which operators a query needs and in which order (scan → event time → filter → project →
distinct → sort → limit → sinks), what each one is given — the fields pushed down to each
source, the planned expressions, sort keys, limits —, and the text of ``EXPLAIN``. The runtime
(``velostream.runtime.build``) instantiates one operator per node; this module reads no data.

Expressions are planned here: a :class:`PlannedExpression` is bound and type-checked against the
input schema by :func:`~velostream.plan.compile.compile_expression`, once per schema (sources
are schema-on-read, so the types are known when a batch shows them; a declared schema makes that
the first batch's), and operators only call ``evaluate``. A query whose expressions do not type
check fails on its first batch with the SQL position of the expression.

Joins, aggregates and windows add node kinds here (the stateful issues). A stream–table join
(JoinNode) reads its table through a ScanNode of its own, outside ``inputs``: the table is not
a stream input of the job loop but read to its end by the join operator before the stream's
first batch; EXPLAIN shows it under the join.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from velostream.errors import SqlValidationError
from velostream.grammar import ast as A
from velostream.grammar import to_sql

# DISTINCT on an unbounded stream cannot remember every row: it keeps the most recent keys.
DEFAULT_DISTINCT_MAX_KEYS = 1_000_000
EVENT_TIME_FORMATS = ("epoch_millis", "epoch_seconds", "iso8601")


# --------------------------------------------------------------------------- expressions

class PlannedExpression:
    """An expression of the query, compiled for each input schema it meets (cached)."""

    __slots__ = ("_cache", "node", "params")

    def __init__(self, node, params: dict):
        self.node = node
        self.params = params
        self._cache: dict = {}

    def compiled(self, batch, schema=None):
        """The expression compiled for ``batch``'s schema (``schema``: ``schema_of(batch)``
        when the caller has it already)."""
        from velostream.plan.compile import compile_expression, schema_of

        schema = tuple(schema_of(batch)) if schema is None else schema
        found = self._cache.get(schema)
        if found is None:
            found = self._cache[schema] = compile_expression(self.node, list(schema),
                                                             params=self.params)
        return found

    def evaluate(self, batch, errors: list):
        """The result column; rows that cannot be computed are NULL and ``(row, message)`` in
        ``errors``."""
        return self.compiled(batch).evaluate(batch, errors)

    def __str__(self) -> str:
        return to_sql(self.node)


def output_name(item: A.SelectItem) -> str:
    """The output column name of a select item: alias, column name, or the expression's SQL."""
    if item.alias is not None:
        return item.alias
    if isinstance(item.expr, A.Column):
        return item.expr.parts[-1]
    return to_sql(item.expr)


class PlannedProjection:
    """The SELECT list: ``*`` expands to the input's columns, so it is resolved per schema into
    ``[(name, CompiledExpression | input column position)]``. ``hidden`` expressions (ORDER BY
    keys that are not output columns) are appended after the visible columns."""

    def __init__(self, items, qualifiers, params, hidden=()):
        self.items = list(items)
        self.qualifiers = qualifiers
        self.expressions = {id(item): PlannedExpression(item.expr, params)
                            for item in self.items if isinstance(item, A.SelectItem)}
        self.hidden = [PlannedExpression(node, params) for node in hidden]
        self.join = params.get("join")
        self._cache: dict = {}

    def _joined_star(self, item, names, resolved):
        """``*`` / ``t.*`` over a join's rows (``t.col`` columns): each column under its own
        name, or its qualified name when an earlier output column has that name already."""
        wanted = self.join[item.qualifier[-1].lower()] if item.qualifier else None
        taken = {name.lower() for name, _ in resolved}
        for position, name in enumerate(names):
            qualifier, dot, bare = name.partition(".")
            if not dot or qualifier.lower() not in self.join.values() or (
                    wanted is not None and qualifier.lower() != wanted):
                continue
            shown = bare if bare.lower() not in taken else name
            taken.add(shown.lower())
            yield shown, position

    def resolve(self, batch) -> list:
        """``[(name, compiled expression | input column position)]`` for ``batch``'s schema."""
        from velostream.plan.compile import schema_of

        schema = tuple(schema_of(batch))
        found = self._cache.get(schema)
        if found is not None:
            return found
        resolved = []
        for item in self.items:
            if isinstance(item, A.Star):
                if item.qualifier and item.qualifier[-1].lower() not in self.qualifiers:
                    pos = item.pos
                    raise SqlValidationError(f"unknown source {'.'.join(item.qualifier)!r} in "
                                             f"{'.'.join(item.qualifier)}.*", pos.line, pos.column)
                if self.join:
                    resolved.extend(self._joined_star(item, batch.names, resolved))
                    continue
                resolved.extend((name, position) for position, name in enumerate(batch.names)
                                if not name.startswith("__wf_"))     # window-function columns
            else:
                resolved.append((output_name(item),
                                 self.expressions[id(item)].compiled(batch, schema)))
        resolved.extend((f"__order_{i}", expr.compiled(batch, schema))
                        for i, expr in enumerate(self.hidden))
        self._cache[schema] = resolved
        return resolved

    def __str__(self) -> str:
        text = ", ".join("*" if isinstance(i, A.Star) and not i.qualifier else
                         f"{'.'.join(i.qualifier)}.*" if isinstance(i, A.Star) else
                         to_sql(i.expr) + (f" AS {i.alias}" if i.alias else "")
                         for i in self.items)
        if self.hidden:
            text += " (+ sort keys " + ", ".join(str(h) for h in self.hidden) + ")"
        return text


# --------------------------------------------------------------------------- nodes

@dataclass
class PlanNode:
    """One operator of the physical plan; ``inputs`` are the nodes it reads from."""

    inputs: list = field(default_factory=list, kw_only=True)

    kind = "node"

    def details(self) -> list[str]:
        """The key settings EXPLAIN shows, as ``key=value`` texts."""
        return []

    def walk(self):
        yield self
        for node in self.inputs:
            yield from node.walk()


@dataclass
class ScanNode(PlanNode):
    """Reads one source: the connector for ``endpoint``, decoding only ``fields`` (None: all)."""

    endpoint: object
    fields: list | None = None
    others: tuple = ()      # the qualifiers of a join's other sources (runtime.fields)
    kind = "Scan"

    def details(self):
        ep = self.endpoint
        shown = [f"source={ep.name}", f"type={ep.type}"]
        for key in ("path", "topic", "format", "batch.size"):
            if ep.get(key) is not None:
                shown.append(f"{key}={ep.get(key)}")
        shown.append("fields=" + ("*" if self.fields is None else "[" + ", ".join(self.fields) + "]"))
        return shown


@dataclass
class EventTimeNode(PlanNode):
    """Sets ``_event_time`` of each row: from ``field`` in ``fmt``, else the record timestamp."""

    source: str
    field: str | None = None
    fmt: str = "epoch_millis"
    kind = "EventTime"

    def details(self):
        if self.field is None:
            return [f"source={self.source}", "from=_timestamp"]
        return [f"source={self.source}", f"field={self.field}", f"format={self.fmt}"]


@dataclass
class FilterNode(PlanNode):
    predicate: PlannedExpression
    kind = "Filter"

    def details(self):
        return [str(self.predicate)]


@dataclass
class ProjectNode(PlanNode):
    projection: PlannedProjection
    kind = "Project"

    def details(self):
        return [str(self.projection)]


@dataclass
class DistinctNode(PlanNode):
    max_keys: int = DEFAULT_DISTINCT_MAX_KEYS
    kind = "Distinct"

    def details(self):
        return ["key=all output columns", f"max_keys={self.max_keys}"]


@dataclass
class SortKey:
    """One ORDER BY key: an output column by ``position`` or ``name`` (resolved on the output's
    names when the SELECT list has ``*``), or the ``hidden``-th hidden key column."""

    position: int | None
    descending: bool
    nulls_first: bool
    text: str
    name: str | None = None
    hidden: int | None = None
    pos: object = None       # the ORDER BY entry's position in the SQL, for errors


@dataclass
class SortNode(PlanNode):
    """Holds every row until the input ends, then emits them ordered; drops hidden key columns."""

    keys: list
    hidden: int = 0
    kind = "Sort"

    def details(self):
        return [", ".join(f"{k.text} {'DESC' if k.descending else 'ASC'} "
                          f"NULLS {'FIRST' if k.nulls_first else 'LAST'}" for k in self.keys)]


@dataclass
class LimitNode(PlanNode):
    limit: int
    kind = "Limit"

    def details(self):
        return [f"fetch={self.limit}"]


@dataclass
class WindowCall:
    """One ``f(…) OVER (…)`` call of a WindowFunctionNode, computed into ``column``."""

    function: str                  # LAG, …, SUM, COUNT* (COUNT(*))
    column: str                    # the hidden column it fills (__wf_<i>)
    text: str                      # its SQL, for EXPLAIN and errors
    argument: PlannedExpression | None = None
    default: PlannedExpression | None = None     # LAG / LEAD's third argument
    offset: int = 1                # LAG / LEAD offset, NTH_VALUE's n
    rows: bool = True              # ROWS frame (else RANGE)
    start_unbounded: bool = False
    start: int = 0                 # frame offsets relative to the current row
    end: int = 0
    frame: str = ""
    position: tuple = (0, 0)


@dataclass
class WindowFunctionNode(PlanNode):
    """Window functions sharing one PARTITION BY / ORDER BY (``runtime.window_functions``):
    appends one column per call, emits each row once its frame is complete."""

    partition_by: list
    order_by: list                 # [(PlannedExpression, descending)]
    calls: list
    state_prefix: bytes = b""
    kind = "WindowFunction"

    @property
    def needs_order_key(self) -> bool:
        return any(c.function in ("RANK", "DENSE_RANK") or
                   (not c.rows and c.function not in _NO_FRAME) for c in self.calls)

    @property
    def needs_numeric_order(self) -> bool:
        return any(not c.rows and c.function not in _NO_FRAME and
                   ((not c.start_unbounded and c.start != 0) or c.end != 0) for c in self.calls)

    def state_bound(self) -> str:
        if all(c.function in ("ROW_NUMBER", "RANK", "DENSE_RANK") for c in self.calls):
            return "counters per partition"
        lag = max([c.offset for c in self.calls if c.function == "LAG"], default=0)
        wait = max([c.offset for c in self.calls if c.function == "LEAD"] +
                   [c.end for c in self.calls if c.rows and c.function not in _NO_FRAME],
                   default=0)
        before = max([-c.start for c in self.calls if c.rows and c.function not in _NO_FRAME
                      and not c.start_unbounded] + [lag], default=0)
        ranged = [c for c in self.calls if not c.rows and c.function not in _NO_FRAME]
        text = f"<= {max(before, 0) + max(wait, 0) + 1} rows per partition"
        if ranged:
            text += " + the rows of the RANGE frame"
        if any(c.start_unbounded and c.function not in _NO_FRAME for c in self.calls):
            text += " + running sums"
        return text

    def details(self):
        shown = ["partition=[" + ", ".join(str(p) for p in self.partition_by) + "]",
                 "order=[" + ", ".join(f"{o}{' DESC' if d else ''}" for o, d in self.order_by)
                 + "]"]
        for c in self.calls:
            shown.append(f"{c.text}{(' ' + c.frame) if c.frame else ''} -> {c.column}")
        shown.append(f"state={self.state_bound()}")
        return shown


# Window functions whose value does not depend on a frame.
_NO_FRAME = frozenset({"ROW_NUMBER", "RANK", "DENSE_RANK", "LAG", "LEAD"})


@dataclass
class JoinNode(PlanNode):
    """A stream–table join (``runtime.join``): ``table`` (a ScanNode) is read to its end before
    the stream's first batch and indexed by its side of the ON equalities; each batch of the
    input (the stream, or the previous join's output) is probed against it. Output columns are
    named ``<qualifier>.<column>`` (the input's first join qualifies the stream's columns with
    ``left_qualifier``), which the expressions above resolve through ``params['join']``.

    ``keys`` / ``residual``: the ON condition split by qualifiers at plan time (EXPLAIN); the
    operator splits it again once the schemas are known, so that unqualified columns count."""

    kind_: str                     # INNER or LEFT
    table: ScanNode
    table_qualifier: str
    left_qualifiers: tuple         # the canonical qualifiers of the input's sources
    on: object                     # the ON condition (AST)
    params: dict
    plan: object = field(default=None, repr=False)   # the JobPlan, to open the table's file
    left_qualifier: str | None = None                 # set on the first join of the input
    keys: list = field(default_factory=list)          # [(left AST, table AST)]
    residual: list = field(default_factory=list)
    kind = "Join"

    def details(self):
        ep = self.table.endpoint
        shown = [f"kind={self.kind_}", "keys=[" + ", ".join(
            f"{to_sql(a)} = {to_sql(b)}" for a, b in self.keys) + "]" if self.keys else
            "keys=from ON once the columns are known (unqualified names)"]
        if self.residual:
            shown.append("filter=" + " AND ".join(to_sql(r) for r in self.residual))
        shown.append(f"table={ep.name}" + (f" AS {ep.alias}" if ep.alias else "") +
                     f" ({ep.type}" + "".join(f", {k}={ep.get(k)}" for k in ("path", "format")
                                              if ep.get(k) is not None) + ")")
        shown.append("table.fields=" + ("*" if self.table.fields is None
                                        else "[" + ", ".join(self.table.fields) + "]"))
        shown.append("table state=in memory, read from the file at every start")
        return shown


@dataclass
class ValuesNode(PlanNode):
    """A query without FROM: one row with no columns (``SELECT 1 AS x``)."""

    rows: int = 1
    kind = "Values"

    def details(self):
        return [f"rows={self.rows}"]


@dataclass
class SinkNode(PlanNode):
    """Writes the rows of its input to every endpoint."""

    endpoints: list
    kind = "Sink"

    def details(self):
        shown = []
        for ep in self.endpoints:
            extra = "".join(f", {key}={ep.get(key)}" for key in ("path", "topic", "format")
                            if ep.get(key) is not None)
            shown.append(f"{ep.name} ({ep.type}{extra})")
        return shown


@dataclass
class PhysicalPlan:
    root: SinkNode
    job_name: str = "query"

    @property
    def scans(self) -> list[ScanNode]:
        return [n for n in self.root.walk() if isinstance(n, ScanNode)]

    def nodes(self) -> list[PlanNode]:
        return list(self.root.walk())

    def explain(self) -> str:
        """The plan as an indented tree, root (the sinks) first, one operator per line."""
        lines: list[str] = []

        def show(node, depth):
            details = node.details()
            lines.append("  " * depth + node.kind + (": " + ", ".join(details) if details else ""))
            for child in node.inputs + ([node.table] if isinstance(node, JoinNode) else []):
                show(child, depth + 1)

        show(self.root, 0)
        return "\n".join(lines)


# --------------------------------------------------------------------------- planning

def event_time_node(endpoint) -> EventTimeNode:
    from velostream.errors import ConfigError

    field_name = endpoint.get("event.time.field")
    if not field_name:
        return EventTimeNode(endpoint.name)
    fmt = str(endpoint.get("event.time.format", "epoch_millis"))
    if fmt.lower() not in EVENT_TIME_FORMATS and "%" not in fmt:
        raise ConfigError(f"must be epoch_millis, epoch_seconds, iso8601 or a strftime "
                          f"pattern; got {fmt!r}", key=f"{endpoint.name}.event.time.format")
    return EventTimeNode(endpoint.name, str(field_name), fmt.lower() if "%" not in fmt else fmt)


def plan_job(plan, *, limit: int | None = None, bounded: bool = True) -> PhysicalPlan:
    """The operator tree of ``plan`` (a JobPlan). ``limit``: a run's own row limit (the CLI's
    ``--limit``; the smaller of it and the query's LIMIT wins); ``bounded``: False when the
    sources are followed forever, which refuses operators that need the end of the input."""
    from velostream.runtime.fields import needed_fields

    query = plan.query
    joins = _joins(query)
    stream_sources = plan.sources[:1] if joins else plan.sources
    if len(plan.sources) > 1 and not joins:
        raise SqlValidationError("more than one source needs a JOIN", plan.statement.pos.line,
                                 plan.statement.pos.column)
    qualifiers = sorted({n.lower() for ep in plan.sources for n in (ep.name, ep.alias) if n})
    params = {"qualifiers": qualifiers,
              "max_string_bytes": plan.setting("max_string_bytes")}
    if joins:
        params["join"] = {n.lower(): _qualifier(ep) for ep in plan.sources
                          for n in (ep.name, ep.alias) if n}

    def others(endpoint):
        return tuple(q for q in qualifiers if q not in
                     {n.lower() for n in (endpoint.name, endpoint.alias) if n}) if joins else ()

    inputs = []
    for endpoint in stream_sources:
        fields = needed_fields(query, (endpoint.name, endpoint.alias), others(endpoint))
        time_field = endpoint.get("event.time.field")
        if fields is not None and time_field and time_field not in fields:
            fields.append(str(time_field))     # read for _event_time even when not selected
        scan = ScanNode(endpoint, fields, others(endpoint))
        stage = event_time_node(endpoint)
        stage.inputs = [scan]
        if query.window is not None:
            time_column = (PlannedExpression(query.window.time_column, params)
                           if query.window.time_column is not None else None)
            stage = WatermarkNode(endpoint.name,
                                  endpoint.setting("watermark.max_out_of_orderness") or 0,
                                  _idle_timeout(plan, endpoint), time_column, inputs=[stage])
        inputs.append(stage)
    node: PlanNode = inputs[0] if inputs else ValuesNode()
    if joins:
        node = _plan_joins(plan, query, joins, node, params, others)

    if query.where is not None:
        node = FilterNode(PlannedExpression(query.where, params), inputs=[node])
    from velostream.plan.validate import is_grouped

    if is_grouped(query):
        node, query = plan_aggregate(plan, query, node, qualifiers, params, bounded)

    query, windows = window_function_nodes(query, params)
    for wnode in windows:
        wnode.inputs = [node]
        node = wnode

    keys, hidden = _sort_keys(query, bounded)
    projection = PlannedProjection(query.items, set(qualifiers), params, hidden)
    node = ProjectNode(projection, inputs=[node])
    if query.distinct:
        node = DistinctNode(plan.setting("distinct.max_keys"),
                            inputs=[node])
    if keys:
        node = SortNode(keys, len(hidden), inputs=[node])
    limits = [n for n in (query.limit, limit) if n is not None]
    if limits:
        node = LimitNode(min(limits), inputs=[node])
    return PhysicalPlan(SinkNode(list(plan.sinks), inputs=[node]), plan.name)


def _qualifier(endpoint) -> str:
    """How a join names a source's columns: ``<alias or name>.<column>``."""
    return (endpoint.alias or endpoint.name).lower()


def _joins(query) -> list:
    """The query's joins, first written first ([] without JOIN)."""
    joins = []
    node = query.from_
    while isinstance(node, A.Join):
        joins.append(node)
        node = node.left
    return joins[::-1]


def conjuncts(node) -> list:
    """``a AND b AND c`` → ``[a, b, c]``."""
    if isinstance(node, A.BinaryOp) and node.op.upper() == "AND":
        return conjuncts(node.left) + conjuncts(node.right)
    return [node]


def split_on(on, side, left: set, table: str):
    """``(keys, residual)`` of a join's ON: the equalities with one side over the input's
    sources (``left``) and the other over the table make the hash key (as ``(left expr,
    table expr)``); every other conjunct is evaluated on the joined rows. ``side(column)``:
    the canonical qualifier of a Column node, or None when unknown."""
    def sides(expr):
        found = set()
        for n in expr.walk():
            if isinstance(n, A.Column):
                q = side(n)
                if q is None:
                    return None
                found.add(q)
        return found

    keys, residual = [], []
    for part in conjuncts(on) if on is not None else []:
        if isinstance(part, A.BinaryOp) and part.op == "=":
            a, b = sides(part.left), sides(part.right)
            if a and b and a <= left and b == {table}:
                keys.append((part.left, part.right))
                continue
            if a and b and b <= left and a == {table}:
                keys.append((part.right, part.left))
                continue
        residual.append(part)
    return keys, residual


def _plan_joins(plan, query, joins, node, params, others):
    """A JoinNode per JOIN over ``node`` (the stream's stage), each table a ScanNode of its own."""
    from velostream.runtime.fields import needed_fields

    by_name = {ep.name.lower(): ep for ep in plan.sources}
    mapping = params["join"]
    stream = plan.sources[0]
    left = {_qualifier(stream)}
    for i, join in enumerate(joins):
        pos = join.pos or plan.statement.pos or A.Pos(0, 0)
        if join.within is not None:
            raise SqlValidationError(
                "a stream–stream join (JOIN … WITHIN) is not supported by this build yet; "
                "the right side of a JOIN must be a table read from a file", pos.line, pos.column)
        if join.kind.upper() not in ("INNER", "LEFT"):
            raise SqlValidationError(
                f"{join.kind} JOIN is not supported by this build yet (INNER and LEFT joins of "
                "a stream with a table are)", pos.line, pos.column)
        if join.on is None:
            raise SqlValidationError("a JOIN needs ON with an equality between the stream and "
                                     "the table", pos.line, pos.column)
        endpoint = by_name[join.right.name.lower()]
        if endpoint.type != "file_source":
            raise SqlValidationError(
                f"the table {endpoint.name} of a JOIN must be a file_source, read to its end "
                f"before the stream starts (it is a {endpoint.type}; StreamApp.process feeds "
                "only the stream: use StreamApp.run)", pos.line, pos.column)
        table_q = _qualifier(endpoint)
        fields = needed_fields(query, (endpoint.name, endpoint.alias), others(endpoint))
        scan = ScanNode(endpoint, fields, others(endpoint))

        def side(column):
            parts = column.parts
            return mapping.get(parts[0].lower()) if len(parts) > 1 else None

        keys, residual = split_on(join.on, side, left, table_q)
        node = JoinNode(join.kind.upper(), scan, table_q, tuple(sorted(left)), join.on, params,
                        plan=plan, left_qualifier=_qualifier(stream) if i == 0 else None,
                        keys=keys, residual=residual, inputs=[node])
        left = left | {table_q}
    return node


def _idle_timeout(plan, endpoint):
    own = endpoint.setting("watermark.idle_timeout")
    return own if own is not None else plan.setting("watermark.idle_timeout")


def _sort_keys(query, bounded):
    """ORDER BY as sort keys on output positions, plus the expressions to compute as hidden
    columns (keys that are not output columns)."""
    if not query.order_by:
        return [], []
    if not bounded:
        pos = query.order_by[0].pos
        raise SqlValidationError(
            "ORDER BY needs a bounded input (it can only sort once the input ends); "
            "remove it or run over files without --continuous", pos.line, pos.column)
    names = [output_name(i).lower() if isinstance(i, A.SelectItem) else None for i in query.items]
    has_star = any(isinstance(i, A.Star) for i in query.items)
    keys, hidden = [], []
    for entry in query.order_by:
        expr = entry.expr
        nulls_first = entry.nulls == "FIRST"   # DuckDB's default is NULLS LAST in both directions
        key = SortKey(None, entry.descending, nulls_first, to_sql(expr), pos=entry.pos)
        if isinstance(expr, A.Column) and len(expr.parts) == 1 and (
                has_star or expr.parts[0].lower() in names):
            # An output column; with * the output's names are known once a batch shows them.
            if has_star:
                key.name = expr.parts[0]
            else:
                key.position = names.index(expr.parts[0].lower())
        elif isinstance(expr, A.IntegerLit) and 1 <= expr.value and (
                has_star or expr.value <= len(names)):
            key.position = expr.value - 1                       # ORDER BY 2
        elif query.distinct:
            pos = entry.pos
            raise SqlValidationError(
                "with SELECT DISTINCT, ORDER BY must name output columns", pos.line, pos.column)
        else:
            key.hidden = len(hidden)            # a hidden column after the visible ones
            hidden.append(expr)
        keys.append(key)
    return keys, hidden


# --------------------------------------------------------------------------- window functions

def window_function_nodes(query, params):
    """The query with every ``f(…) OVER (…)`` of its SELECT list and ORDER BY replaced by a
    column ``__wf_<i>``, and one WindowFunctionNode per distinct PARTITION BY / ORDER BY that
    computes those columns (identical calls are computed once)."""
    from velostream.plan import window_frames

    return window_frames.plan_window_functions(query, params, PlannedExpression, WindowCall,
                                               WindowFunctionNode)


# --------------------------------------------------------------------------- aggregation
# The aggregate operator outputs a column per key and per aggregate, named by its SQL text (plus
# the _window_start / _window_end pseudo-columns of windowed queries); HAVING, the SELECT list
# and ORDER BY are rewritten to read those, then run as the ordinary Filter / Project / Sort.

AGGREGATE_FUNCTIONS = {
    "COUNT": "count", "SUM": "sum", "AVG": "avg", "MIN": "min", "MAX": "max",
    "STDDEV": "stddev_samp", "STDDEV_SAMP": "stddev_samp", "STDDEV_POP": "stddev_pop",
    "VARIANCE": "var_samp", "VAR_SAMP": "var_samp", "VAR_POP": "var_pop",
    "FIRST_VALUE": "first_value", "LAST_VALUE": "last_value", "LISTAGG": "listagg",
    "STRING_AGG": "listagg", "MEDIAN": "median", "APPROX_COUNT_DISTINCT": "approx_count_distinct",
}
WINDOW_KINDS = {"TUMBLING": "TUMBLING", "TUMBLE": "TUMBLING", "HOPPING": "HOPPING",
                "HOP": "HOPPING", "SLIDING": "SLIDING", "SESSION": "SESSION"}


@dataclass
class AggregateCall:
    """One aggregate of the query: the kernel's function name, its planned argument (None for
    COUNT(*)), DISTINCT and options (LISTAGG's separator)."""

    function: str
    argument: PlannedExpression | None
    distinct: bool = False
    options: dict | None = None
    text: str = ""


@dataclass
class WindowSpec:
    """A window on event time (``time_column`` or ``_event_time``), sizes in milliseconds.
    ``kind``: TUMBLING, HOPPING (size, advance), SLIDING (one argument: ``[t - size, t]`` of
    each record, emitted with it) or SESSION (``size`` is the gap)."""

    kind: str
    size: int
    advance: int | None = None
    time_column: PlannedExpression | None = None

    def __str__(self) -> str:
        args = ([str(self.time_column)] if self.time_column is not None else []) + [
            f"{self.size}ms"] + ([f"{self.advance}ms"] if self.advance is not None else [])
        return f"{self.kind}({', '.join(args)})"


@dataclass
class AggregateNode(PlanNode):
    """GROUP BY / global aggregates, optionally windowed. Outputs the keys (in GROUP BY
    order), then the aggregates, each column named by its SQL text (``key_texts``, the
    aggregates' ``text``); ``emit`` is CHANGES or FINAL."""

    keys: list
    key_texts: list
    aggregates: list
    window: WindowSpec | None = None
    emit: str = "CHANGES"
    lateness: int = 0
    late_strategy: str = "drop"
    state_backend: str = "memory"
    cache_bytes: int = 64 << 20          # 'state.cache.max_bytes'
    kind = "Aggregate"

    @property
    def output_names(self) -> list[str]:
        return list(self.key_texts) + [a.text for a in self.aggregates]

    def details(self):
        return ["key=[" + ", ".join(self.key_texts) + "]",
                "window=" + (str(self.window) if self.window else "none"),
                "aggregates=[" + ", ".join(a.text for a in self.aggregates) + "]",
                f"emit={self.emit}",
                *([f"allowed.lateness={self.lateness}ms", f"late={self.late_strategy}"]
                  if self.window else []),
                f"state={self.state_backend}" + (
                    f" (cache {self.cache_bytes >> 20} MiB)" if self.state_backend != "memory"
                    and (self.window is None or self.window.kind not in ("SESSION", "SLIDING"))
                    else "")]


@dataclass
class WatermarkNode(PlanNode):
    """Tracks a source's watermark: max event time − ``max_out_of_orderness``; marks each row
    with the watermark before it (``_watermark``) so lateness does not depend on batching."""

    source: str
    max_out_of_orderness: int = 0
    idle_timeout: int | None = None
    time_column: PlannedExpression | None = None     # the window's own time column, if any
    kind = "Watermark"

    def details(self):
        return [f"source={self.source}",
                "time=" + (str(self.time_column) if self.time_column is not None
                           else "_event_time"),
                f"max_out_of_orderness={self.max_out_of_orderness}ms",
                "idle_timeout=" + (f"{self.idle_timeout}ms" if self.idle_timeout is not None
                                   else "none")]


def _state_backend(plan) -> str:
    """Where the job keeps operator state (EXPLAIN shows it): ``state.backend``, else RocksDB
    with a ``state.dir``, else memory."""
    from velostream.state.jobstate import resolve_backend

    return resolve_backend(plan.setting("state.backend"), plan.setting("state.dir"))


def window_spec(window, params) -> WindowSpec:
    """The planned window of a WINDOW clause (durations already in the AST as Interval nodes;
    a bare number is seconds, as the grammar reads it)."""
    kind = WINDOW_KINDS.get(window.kind.upper())
    pos = window.pos or A.Pos(0, 0)
    if kind is None:
        raise SqlValidationError(f"unknown window kind {window.kind}", pos.line, pos.column)
    size = _millis(window.size, "window size", pos)
    advance = _millis(window.advance, "window advance", pos) if window.advance is not None else None
    if kind == "SLIDING" and advance is not None:
        kind = "HOPPING"
    if kind == "HOPPING" and advance is None:
        raise SqlValidationError("HOPPING needs (size, advance)", pos.line, pos.column)
    if kind in ("TUMBLING", "SESSION") and advance is not None:
        raise SqlValidationError(f"{kind} takes one duration", pos.line, pos.column)
    if advance is not None and advance > size:
        raise SqlValidationError(f"window advance {advance}ms is larger than its size {size}ms "
                                 "(records between windows would be in none)", pos.line,
                                 pos.column)
    time_column = (PlannedExpression(window.time_column, params)
                   if window.time_column is not None else None)
    return WindowSpec(kind, size, advance, time_column)


def _millis(node, what, pos) -> int:
    if isinstance(node, A.Interval):
        value = A.interval_millis(node)
    elif isinstance(node, A.IntegerLit):
        value = node.value * 1000
    else:
        raise SqlValidationError(f"{what} must be a duration such as 5m, 30s or INTERVAL '5' "
                                 f"MINUTE; got {to_sql(node)}", pos.line, pos.column)
    if value <= 0:
        raise SqlValidationError(f"{what} must be positive; got {to_sql(node)}", pos.line,
                                 pos.column)
    return value


class _AggregateRewriter:
    """Finds the keys and aggregates of a grouped query and rewrites the expressions above the
    aggregation to read the aggregate operator's output columns."""

    def __init__(self, query, qualifiers, params):
        from velostream.plan.validate import _same

        self.same = lambda a, b: _same(a, b, set(qualifiers))
        self.params = params
        items = query.items
        aliases = {i.alias.lower(): i for i in items if isinstance(i, A.SelectItem) and i.alias}
        self.keys = []
        for expr in query.group_by:
            # GROUP BY 2 and GROUP BY alias stand for the select item (validate checked them).
            if isinstance(expr, A.IntegerLit) and 1 <= expr.value <= len(items):
                expr = items[expr.value - 1].expr
            elif isinstance(expr, A.Column) and len(expr.parts) == 1 and (
                    expr.parts[0].lower() in aliases):
                expr = aliases[expr.parts[0].lower()].expr
            if not any(self.same(expr, k) for k in self.keys):
                self.keys.append(expr)
        self.aggregates: list = []       # AST calls

    def rewrite(self, node):
        from velostream.plan.validate import is_aggregate_call

        for i, key in enumerate(self.keys):
            if self.same(node, key):
                return A.Column((to_sql(key),), pos=node.pos)
        if is_aggregate_call(node):
            for j, seen in enumerate(self.aggregates):
                if self.same(node, seen):
                    return A.Column((to_sql(seen),), pos=node.pos)
            self.aggregates.append(node)
            return A.Column((to_sql(node),), pos=node.pos)
        if not isinstance(node, A.Node) or isinstance(node, A.Over):
            return node
        changes = {}
        for name in node.fields:
            value = getattr(node, name)
            if isinstance(value, A.Node):
                new = self.rewrite(value)
            elif isinstance(value, tuple):
                new = tuple(self.rewrite(v) if isinstance(v, A.Node) else v for v in value)
            else:
                continue
            if new is not value:
                changes[name] = new
        return node.replace(**changes) if changes else node

    def calls(self) -> list[AggregateCall]:
        out = []
        for call in self.aggregates:
            name = call.name.upper()
            function = AGGREGATE_FUNCTIONS[name]
            options = None
            if call.star:
                function, argument = "count_star", None
            else:
                argument = PlannedExpression(call.args[0], self.params)
                if function == "listagg":
                    sep = call.args[1] if len(call.args) > 1 else None
                    if sep is not None and not isinstance(sep, A.StringLit):
                        pos = sep.pos or A.Pos(0, 0)
                        raise SqlValidationError(f"the separator of {name} must be a string "
                                                 "literal", pos.line, pos.column)
                    options = {"separator": sep.value if sep is not None else ","}
            out.append(AggregateCall(function, argument, bool(call.distinct), options,
                                     to_sql(call)))
        return out


def plan_aggregate(plan, query, node, qualifiers, params, bounded):
    """The nodes of a grouped query above ``node`` (the WHERE filter or the input): Aggregate,
    then HAVING, the SELECT list, ORDER BY and LIMIT over the aggregate's columns."""
    rewriter = _AggregateRewriter(query, qualifiers, params)
    items = []
    for item in query.items:
        items.append(A.SelectItem(rewriter.rewrite(item.expr), output_name(item),
                                  item.primary_key, pos=item.pos))
    having = (rewriter.rewrite(_with_aliases(query.having, query.items, rewriter))
              if query.having is not None else None)
    order_by = tuple(o.replace(expr=rewriter.rewrite(o.expr)) for o in query.order_by)
    window = window_spec(query.window, params) if query.window is not None else None
    emit = query.emit or ("FINAL" if window is not None else "CHANGES")
    if emit == "FINAL" and window is None and not bounded:
        pos = query.pos or A.Pos(0, 0)
        raise SqlValidationError(
            "EMIT FINAL without a WINDOW emits at the end of the input, which a followed "
            "(--continuous) source never reaches; use EMIT CHANGES or a WINDOW",
            pos.line, pos.column)
    node = AggregateNode(
        [PlannedExpression(k, params) for k in rewriter.keys], [to_sql(k) for k in rewriter.keys],
        rewriter.calls(), window, emit,
        lateness=plan.setting("allowed.lateness") if window else 0,
        late_strategy=plan.setting("late.data.strategy") if window else "drop",
        state_backend=_state_backend(plan), cache_bytes=plan.setting("state.cache.max_bytes"),
        inputs=[node])
    if having is not None:
        node = FilterNode(PlannedExpression(having, params), inputs=[node])
    rewritten = query.replace(items=tuple(items), order_by=order_by, having=None, group_by=(),
                              window=None)
    return node, rewritten


def _with_aliases(node, items, rewriter):
    """HAVING may name a select item by its alias (ksqlDB, DuckDB): the alias stands for the
    item's expression, unless the name is a GROUP BY key."""
    aliases = {i.alias.lower(): i.expr for i in items if isinstance(i, A.SelectItem) and i.alias}

    def sub(n):
        if isinstance(n, A.Column) and len(n.parts) == 1 and n.parts[0].lower() in aliases and (
                not any(rewriter.same(n, k) for k in rewriter.keys)):
            return aliases[n.parts[0].lower()]
        if not isinstance(n, A.Node):
            return n
        changes = {}
        for name in n.fields:
            value = getattr(n, name)
            if isinstance(value, A.Node):
                new = sub(value)
            elif isinstance(value, tuple):
                new = tuple(sub(v) if isinstance(v, A.Node) else v for v in value)
            else:
                continue
            if new is not value:
                changes[name] = new
        return n.replace(**changes) if changes else n
    return sub(node)


def output_key(root) -> list[str] | None:
    """The output columns that key the rows ``root`` (a SinkNode) writes, for a sink that
    upserts (connectors.sqlite): the select items marked ``PRIMARY KEY``, else the GROUP BY keys
    of an un-windowed ``EMIT CHANGES`` aggregate (each change of a group replaces its row) when
    every key is an output column. None: the rows are not keyed (a windowed or EMIT FINAL
    aggregate emits each group once per window, so its rows are inserted)."""
    project = aggregate = None
    for node in root.walk():
        if isinstance(node, ProjectNode) and project is None:
            project = node
        elif isinstance(node, AggregateNode):
            aggregate = node
            break
    if project is None:
        return None
    items = [i for i in project.projection.items if isinstance(i, A.SelectItem)]
    marked = [output_name(i) for i in items if i.primary_key]
    if marked:
        return marked
    if aggregate is None or aggregate.window is not None or aggregate.emit != "CHANGES" or \
            not aggregate.key_texts:
        return None
    names = []
    for text in aggregate.key_texts:
        found = next((output_name(i) for i in items if isinstance(i.expr, A.Column)
                      and i.expr.parts == (text,)), None)
        if found is None:
            return None
        names.append(found)
    return names
