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

Joins, aggregates and windows add node kinds here (the stateful issues); a node with several
``inputs`` is how they read more than one source.
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
        self._cache: dict = {}

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
            for child in node.inputs:
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
    if len(plan.sources) > 1:
        raise SqlValidationError("more than one source needs a JOIN, which this build cannot "
                                 "run yet", plan.statement.pos.line, plan.statement.pos.column)
    qualifiers = sorted({n.lower() for ep in plan.sources for n in (ep.name, ep.alias) if n})
    params = {"qualifiers": qualifiers,
              "max_string_bytes": plan.setting("max_string_bytes")}

    inputs = []
    for endpoint in plan.sources:
        fields = needed_fields(query, (endpoint.name, endpoint.alias))
        time_field = endpoint.get("event.time.field")
        if fields is not None and time_field and time_field not in fields:
            fields.append(str(time_field))     # read for _event_time even when not selected
        scan = ScanNode(endpoint, fields)
        stage = event_time_node(endpoint)
        stage.inputs = [scan]
        inputs.append(stage)
    node: PlanNode = inputs[0] if inputs else ValuesNode()

    if query.where is not None:
        node = FilterNode(PlannedExpression(query.where, params), inputs=[node])

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
