"""Semantic validation of a parsed statement: what parses but cannot run.

Owns the rules that need no schema and no configuration: known functions and their argument
counts, where aggregates and window functions may stand, the grouping rule (every column outside
an aggregate is a GROUP BY expression), HAVING / WINDOW / EMIT that need an aggregation, CAST
target types, duplicate output names, and literal comparisons that can never be numeric.
Source/sink configuration is checked by ``plan.catalog.validate_endpoints``.

Every finding is a :class:`velostream.errors.SqlValidationError` with the line and column of the
node it is about; warnings have ``severity='warning'``. Nothing is raised.
"""

from __future__ import annotations

import difflib

from velostream.errors import SqlValidationError
from velostream.grammar import ast as A
from velostream.plan import functions as F
from velostream.plan.types import DECIMAL_TEXT

# Pseudo-columns (DIALECT §5). They are never "unknown"; the window ones have a value only in
# windowed aggregations, where they may be selected without appearing in GROUP BY.
WINDOW_PSEUDO_COLUMNS = frozenset({"_window_start", "_window_end"})
PSEUDO_COLUMNS = frozenset({"_timestamp", "_event_time", "_offset", "_partition", "_key",
                            "_topic"}) | WINDOW_PSEUDO_COLUMNS


def _check_decimal(params):
    if params and not 1 <= params[0] <= 38:
        return f"precision must be between 1 and 38, got {params[0]}"
    if len(params) == 2 and not 0 <= params[1] <= params[0]:
        return f"scale must be between 0 and the precision ({params[0]}), got {params[1]}"
    return None


def _check_length(params):
    if params and params[0] < 1:
        return f"length must be at least 1, got {params[0]}"
    return None


def _check_fraction_digits(params):
    if params and not 0 <= params[0] <= 9:
        return f"fractional-second precision must be between 0 and 9, got {params[0]}"
    return None


# CAST target types: name → (allowed parameter counts, parameter checker or None).
_CAST_TYPES = {}
for _names, _counts, _checker in (
        ("BOOLEAN BOOL", (0,), None),
        ("INTEGER INT BIGINT SMALLINT TINYINT", (0,), None),
        ("FLOAT DOUBLE REAL", (0,), None),
        ("DECIMAL NUMERIC", (0, 1, 2), _check_decimal),
        ("STRING VARCHAR TEXT CHAR", (0, 1), _check_length),
        ("TIMESTAMP TIME", (0, 1), _check_fraction_digits),
        ("DATE", (0,), None)):
    for _name in _names.split():
        _CAST_TYPES[_name] = (_counts, _checker)
CAST_TYPES = tuple(_CAST_TYPES)

_COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})

# Clauses in which an aggregate (without OVER) may not appear, and their names in messages.
_NO_AGGREGATE_CLAUSES = frozenset({"WHERE", "JOIN ON", "GROUP BY", "WINDOW"})
_NO_WINDOW_FUNCTION_CLAUSES = frozenset({"WHERE", "JOIN ON", "GROUP BY", "WINDOW", "HAVING"})


def validate_statement(stmt) -> list[SqlValidationError]:
    """Errors and warnings of one statement (commands such as SHOW JOBS have none); EXPLAIN's are
    those of the statement it explains, at their positions in the text."""
    if isinstance(stmt, A.Explain):
        stmt = stmt.statement
    select = A.query_of(stmt)
    if select is None:
        return []
    return _Validator(select).run()


def is_aggregate_call(node) -> bool:
    """An aggregate used as an aggregate: a known aggregate function without OVER."""
    if not isinstance(node, A.FunctionCall) or node.over is not None:
        return False
    spec = F.lookup(node.name)
    return spec is not None and spec.is_aggregate


def is_grouped(select) -> bool:
    """Does the query aggregate (GROUP BY, or an aggregate without OVER in SELECT/HAVING/ORDER BY)?

    An aggregate with OVER is a window function (a moving aggregate) and does not group.
    """
    if select.group_by:
        return True
    return any(_plain_aggregates(expr) for expr in _grouping_scope(select))


def _grouping_scope(select):
    for item in select.items:
        if isinstance(item, A.SelectItem):
            yield item.expr
    if select.having is not None:
        yield select.having
    for order in select.order_by:
        yield order.expr


def _plain_aggregates(expr) -> list:
    """Aggregate calls (without OVER) in ``expr``, not looking inside OVER (…) specifications."""
    found, stack = [], [expr]
    while stack:
        node = stack.pop()
        if is_aggregate_call(node):
            found.append(node)
            continue
        if isinstance(node, A.Over):
            continue
        stack.extend(node.children())
    return found


def output_name(item) -> str | None:
    """The output column name of a select item: its alias, a column's last part, else None."""
    if not isinstance(item, A.SelectItem):
        return None
    if item.alias:
        return item.alias
    if isinstance(item.expr, A.Column):
        return item.expr.parts[-1]
    return None


def _dotted(column) -> str:
    return ".".join(column.parts)


def _numeric_literal(node) -> bool:
    while isinstance(node, A.UnaryOp) and node.op in ("-", "+"):
        node = node.operand
    return isinstance(node, (A.IntegerLit, A.DecimalLit, A.FloatLit))


class _Validator:
    def __init__(self, select):
        self.select = select
        self.found: list[SqlValidationError] = []
        self.fallback = select.pos or A.Pos(1, 1)
        qualifiers = set()
        for node in (select.from_.walk() if select.from_ is not None else ()):
            if isinstance(node, A.TableRef):
                qualifiers.add(node.name.lower())
                if node.alias:
                    qualifiers.add(node.alias.lower())
        self.qualifiers = frozenset(qualifiers)

    # --- reporting -----------------------------------------------------------------------------
    def report(self, node, message, *, hint=None, severity="error"):
        pos = getattr(node, "pos", None) or self.fallback
        self.found.append(SqlValidationError(message, pos.line, pos.column, severity=severity,
                                             hint=hint))

    def warn(self, node, message, *, hint=None):
        self.report(node, message, hint=hint, severity="warning")

    # --- driver --------------------------------------------------------------------------------
    def run(self) -> list[SqlValidationError]:
        s = self.select
        for item in s.items:
            if isinstance(item, A.SelectItem):
                self.expr(item.expr, "SELECT")
        if s.from_ is not None:
            for node in s.from_.walk():
                if isinstance(node, A.Join) and node.on is not None:
                    self.expr(node.on, "JOIN ON")
        if s.where is not None:
            self.expr(s.where, "WHERE")
        for expr in s.group_by:
            self.expr(expr, "GROUP BY")
        if s.window is not None and s.window.time_column is not None:
            self.expr(s.window.time_column, "WINDOW")
        if s.having is not None:
            self.expr(s.having, "HAVING")
        for order in s.order_by:
            self.expr(order.expr, "ORDER BY")
        self.aggregation()
        self.output_names()
        if s.limit == 0:
            self.warn(s, "LIMIT 0 returns no rows")
        return self.found

    # --- per-expression rules ------------------------------------------------------------------
    def expr(self, node, clause, *, aggregate=None, window=None, in_over_spec=False):
        """Check ``node``; ``aggregate``/``window`` are the enclosing aggregate / window call."""
        if isinstance(node, A.FunctionCall):
            self.call(node, clause, aggregate, window, in_over_spec)
            return
        if isinstance(node, A.Cast):
            self.cast_type(node.type_)
        elif isinstance(node, A.BinaryOp) and node.op in _COMPARISONS:
            self.literal_comparison(node)
        elif isinstance(node, A.Column) and not self.select.window and (
                len(node.parts) == 1 and node.parts[0].lower() in WINDOW_PSEUDO_COLUMNS):
            self.warn(node, f"{node.parts[0]} only has a value in a windowed aggregation "
                            "(a query with a WINDOW clause)")
        for child in node.children():
            self.expr(child, clause, aggregate=aggregate, window=window,
                      in_over_spec=in_over_spec)

    def call(self, call, clause, aggregate, window, in_over_spec):
        spec = F.lookup(call.name)
        name = call.name
        if spec is None:
            close = F.suggest(name)
            hint = f"did you mean {' or '.join(close)}?" if close else None
            self.report(call, f"unknown function {name}", hint=hint)
        else:
            if call.star:
                if not spec.star:
                    self.report(call, f"'*' is only allowed in COUNT(*), not in {name}(*)")
            elif not spec.accepts(len(call.args)):
                self.report(call, f"{name} expects {spec.arity_text()}, got {len(call.args)}")
            if call.distinct and not spec.is_aggregate:
                self.report(call, f"DISTINCT is only allowed in aggregate functions; "
                                  f"{name} is not an aggregate")
            if call.over is not None and spec.kind == F.SCALAR:
                self.report(call, f"{name} is not a window function; OVER (…) applies only to "
                                  "aggregates and window functions")
            if call.over is None and spec.is_window_only:
                self.report(call, f"{name} requires an OVER (…) clause",
                            hint=f"for example {name}(…) OVER (PARTITION BY key ORDER BY ts)")
            if name in F.WINDOW_BOUND_FUNCTIONS and not self.select.window:
                self.warn(call, f"{name} only has a value in a windowed aggregation "
                                "(a query with a WINDOW clause)")

        is_window_call = call.over is not None and (spec is None or spec.kind != F.SCALAR)
        is_aggregate = spec is not None and spec.is_aggregate and call.over is None
        if is_aggregate:
            if clause in _NO_AGGREGATE_CLAUSES:
                hint = "filter on aggregates with HAVING" if clause == "WHERE" else None
                self.report(call, f"aggregate function {name} is not allowed in {clause}",
                            hint=hint)
            elif in_over_spec:
                self.report(call, f"aggregate function {name} is not allowed in the PARTITION BY "
                                  "or ORDER BY of a window")
            elif aggregate is not None:
                self.report(call, f"aggregate function calls cannot be nested: {name} inside "
                                  f"{aggregate.name}")
            elif window is not None:
                self.report(call, f"aggregate function {name} is not allowed inside the "
                                  f"window function {window.name}")
        if is_window_call:
            if clause in _NO_WINDOW_FUNCTION_CLAUSES:
                self.report(call,
                            f"window function {name}(…) OVER (…) is not allowed in {clause}",
                            hint="compute it in a CREATE STREAM and filter the result")
            elif aggregate is not None or window is not None:
                outer = (aggregate or window).name
                self.report(call, f"window function {name} cannot be nested inside {outer}")

        inner_aggregate = call if is_aggregate else aggregate
        inner_window = call if is_window_call else window
        for arg in call.args:
            self.expr(arg, clause, aggregate=inner_aggregate, window=inner_window,
                      in_over_spec=in_over_spec)
        if call.over is not None:
            for expr in call.over.partition_by:
                self.expr(expr, clause, aggregate=inner_aggregate, window=inner_window,
                          in_over_spec=True)
            for order in call.over.order_by:
                self.expr(order.expr, clause, aggregate=inner_aggregate, window=inner_window,
                          in_over_spec=True)

    def cast_type(self, type_):
        entry = _CAST_TYPES.get(type_.name)
        if entry is None:
            close = difflib.get_close_matches(type_.name, CAST_TYPES, n=1)
            self.report(type_, f"unknown type {type_.name} in CAST; expected one of "
                               f"{', '.join(CAST_TYPES)}",
                        hint=f"did you mean {close[0]}?" if close else None)
            return
        counts, checker = entry
        params = type_.params
        if len(params) not in counts:
            most = max(counts)
            allowed = "no parameters" if most == 0 else (
                f"at most {most} parameter{'s' if most > 1 else ''}")
            self.report(type_, f"type {type_.name} takes {allowed}, got "
                               f"{type_.name}({', '.join(map(str, params))})")
            return
        problem = checker(params) if checker else None
        if problem:
            self.report(type_, f"{type_.name}({', '.join(map(str, params))}): {problem}")

    def literal_comparison(self, node):
        # DIALECT §3: a string compared with a number is cast to a number; with a numeric
        # *literal* on the other side we can tell now that the cast will fail.
        for number, text in ((node.left, node.right), (node.right, node.left)):
            if _numeric_literal(number) and isinstance(text, A.StringLit) and (
                    not DECIMAL_TEXT.match(text.value)):
                self.report(text, f"string {text.value!r} is compared with a number but is not "
                                  "a number")

    # --- aggregation rules ---------------------------------------------------------------------
    def aggregation(self):
        s = self.select
        grouped = is_grouped(s)
        if not grouped:
            if s.having is not None:
                self.report(s.having, "HAVING needs GROUP BY or an aggregate function",
                            hint="filter individual records with WHERE")
            if s.window is not None:
                self.report(s.window, "WINDOW needs an aggregation (GROUP BY or an aggregate "
                                      "function)",
                            hint="for a per-record moving value use f(…) OVER (…) instead")
            if s.emit is not None:
                self.warn(s, f"EMIT {s.emit} has no effect on a query without aggregation")
            return
        keys = list(s.group_by)
        aliases = {}
        for item in s.items:
            if isinstance(item, A.SelectItem) and item.alias:
                aliases.setdefault(item.alias.lower(), item)
        items = s.items
        for expr in s.group_by:
            # GROUP BY 2 (ordinal) and GROUP BY alias stand for the select item.
            if isinstance(expr, A.IntegerLit):
                if 1 <= expr.value <= len(items) and isinstance(items[expr.value - 1],
                                                                 A.SelectItem):
                    keys.append(items[expr.value - 1].expr)
                else:
                    self.report(expr, f"GROUP BY position {expr.value} is not in the select list "
                                      f"(1 to {len(items)})")
            elif isinstance(expr, A.Column) and len(expr.parts) == 1 and (
                    expr.parts[0].lower() in aliases):
                keys.append(aliases[expr.parts[0].lower()].expr)
        self.keys = keys
        self.reported_columns = set()
        for item in items:
            if isinstance(item, A.Star):
                self.report(item, "SELECT * cannot be used in an aggregating query",
                            hint="list the GROUP BY columns and the aggregates to output")
            else:
                self.grouped_expr(item.expr, set())
        select_aliases = set(aliases)
        if s.having is not None:
            self.grouped_expr(s.having, select_aliases)
        for order in s.order_by:
            self.grouped_expr(order.expr, select_aliases)

    def grouped_expr(self, node, aliases):
        if any(_same(node, key, self.qualifiers) for key in self.keys):
            return
        if is_aggregate_call(node):
            return  # its arguments are per-record by definition
        if isinstance(node, A.FunctionCall) and node.name in F.WINDOW_BOUND_FUNCTIONS and (
                self.select.window is not None):
            return
        if isinstance(node, A.Column):
            name = node.parts[0].lower() if len(node.parts) == 1 else None
            if name in WINDOW_PSEUDO_COLUMNS and self.select.window is not None:
                return
            if name in aliases:
                return
            key = tuple(p.lower() for p in node.parts)
            if key in self.reported_columns:
                return
            self.reported_columns.add(key)
            col = _dotted(node)
            self.report(node, f"column '{col}' is neither in GROUP BY nor inside an aggregate "
                              f"function; add it to GROUP BY or wrap it in an aggregate such as "
                              f"MAX({col})")
            return
        for child in node.children():
            self.grouped_expr(child, aliases)

    # --- output names --------------------------------------------------------------------------
    def output_names(self):
        seen = {}
        for item in self.select.items:
            name = output_name(item)
            if name is None:
                continue
            first = seen.get(name.lower())
            if first is None:
                seen[name.lower()] = item
                continue
            where = f" (first at line {first.pos.line}, column {first.pos.column})" if (
                first.pos) else ""
            self.report(item, f"duplicate output column name '{name}'{where}",
                        hint="give one of them a different alias with AS")


def _columns_match(a, b, qualifiers) -> bool:
    pa = tuple(p.lower() for p in a.parts)
    pb = tuple(p.lower() for p in b.parts)
    if pa == pb:
        return True
    # `o.customer_id` and `customer_id` name the same column when `o` is a source or alias.
    short, long_ = (pa, pb) if len(pa) < len(pb) else (pb, pa)
    return len(long_) == len(short) + 1 and long_[1:] == short and long_[0] in qualifiers


def _same(a, b, qualifiers) -> bool:
    """Structural equality of two expressions, identifiers compared case-insensitively."""
    if isinstance(a, A.Column) and isinstance(b, A.Column):
        return _columns_match(a, b, qualifiers)
    if type(a) is not type(b):
        return False
    if isinstance(a, A.Node):
        return all(_same(getattr(a, f), getattr(b, f), qualifiers) for f in a.fields)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(x, y, qualifiers) for x, y in zip(a, b))
    return a == b


__all__ = [
    "CAST_TYPES",
    "PSEUDO_COLUMNS",
    "WINDOW_PSEUDO_COLUMNS",
    "is_aggregate_call",
    "is_grouped",
    "output_name",
    "validate_statement",
]
