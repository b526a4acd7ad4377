"""Expression compiler: an AST expression plus an input schema → a tree of typed kernels.

Owns name binding (columns, qualified names, pseudo-columns), the type rules of DIALECT §3
(coercion, arithmetic result types, three-valued logic, string literals compared with numbers),
the mapping of every scalar function of DIALECT §4 onto kernels of ``velostream._core.expr``,
and constant folding. Type errors are :class:`SqlValidationError` with the node's position.

Compile once per (expression, input schema); :meth:`CompiledExpression.evaluate` then costs one
Python call per kernel node per batch, and the per-row work happens in the kernels' C loops
(string, JSON and OBJECT functions call Python per row).

Row errors: a row whose value cannot be computed (division by zero, BIGINT overflow, a failed
CAST …) is NULL in the result and ``(row, message)`` is appended to ``errors`` (one entry per
row, in row order). AND, OR, CASE, IF and COALESCE evaluate every operand over the whole batch
but report an operand's errors only for rows whose result depends on it: in
``CASE WHEN x = 0 THEN 0 ELSE 1 / x END`` no row fails.

Choices where DIALECT.md is silent (DuckDB's behaviour unless noted):
- ROUND of DECIMAL/BIGINT rounds half away from zero (DuckDB); its result scale is the digits
  asked for. CAST to DECIMAL rounds half-even (DIALECT); CAST DECIMAL→BIGINT half away from
  zero, DOUBLE→BIGINT to nearest-even (DuckDB).
- LEAST/GREATEST ignore NULLs; CONCAT skips NULLs, ``||`` is NULL if either side is.
- Comparing STRING with a number that is not a string literal is a type error (DuckDB 0.10+).
- TIMESTAMP ± BIGINT or INTERVAL is a TIMESTAMP (milliseconds); TIMESTAMP − TIMESTAMP is
  BIGINT milliseconds.
- JSON functions return NULL (JSON_EXISTS: FALSE) for text that is not JSON (NULL ON ERROR).
- DATE is a TIMESTAMP at midnight UTC; TIME is the text ``HH:MM:SS.mmm``.
"""

from __future__ import annotations

import difflib
import time

from velostream._core import expr as E
from velostream._core import kernels_py as K
from velostream._core.batch import RecordBatch
from velostream.errors import SqlValidationError
from velostream.grammar import ast as A
from velostream.plan import functions as F
from velostream.plan import types as T
from velostream.plan.types import (
    BIGINT,
    BOOLEAN,
    DOUBLE,
    NULL,
    OBJECT,
    STRING,
    TIMESTAMP,
    SqlType,
)

__all__ = ["PSEUDO_COLUMN_TYPES", "CompiledExpression", "compile_expression", "schema_of"]

# Pseudo-columns (DIALECT §5) and the type they are read as from ``batch.meta``.
PSEUDO_COLUMN_TYPES = {
    "_timestamp": TIMESTAMP, "_event_time": TIMESTAMP, "_window_start": TIMESTAMP,
    "_window_end": TIMESTAMP, "_offset": BIGINT, "_partition": BIGINT, "_key": STRING,
    "_topic": STRING,
}

_COMPARE_OPS = {"=": E.EQ, "!=": E.NE, "<": E.LT, "<=": E.LE, ">": E.GT, ">=": E.GE}
_ARITH_OPS = {"+": E.ADD, "-": E.SUB, "*": E.MUL, "/": E.DIV, "%": E.MOD}
_EXTRACT = {name: getattr(E, f"F_{name}") for name in (
    "YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "DOW", "DOY", "HOUR", "MINUTE", "SECOND",
    "MILLISECOND", "EPOCH")}
_TRUNC_UNITS = {name: getattr(E, f"U_{name}") for name in (
    "MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR",
    "DECADE", "CENTURY", "MILLENNIUM")}
_TRUNC_ALIASES = {"MS": "MILLISECOND", "MILLISECONDS": "MILLISECOND", "S": "SECOND",
                  "SECONDS": "SECOND", "MINUTES": "MINUTE", "HOURS": "HOUR", "DAYS": "DAY",
                  "WEEKS": "WEEK", "MONTHS": "MONTH", "QUARTERS": "QUARTER", "YEARS": "YEAR"}


def _clock_ms() -> int:
    return time.time_ns() // 1_000_000


def schema_of(batch) -> list[tuple[str, SqlType]]:
    """The (name, type) of every column of ``batch``: what ``compile_expression`` binds to and
    what the runtime caches compiled expressions by."""
    return [(name, T.of_column(column)) for name, column in zip(batch.names, batch.columns)]


class CompiledExpression:
    """An expression bound to one input schema. ``evaluate`` runs it over a batch."""

    __slots__ = ("kernel", "node", "output_type")

    def __init__(self, kernel, output_type: SqlType, node=None):
        self.kernel = kernel
        self.output_type = output_type
        self.node = node

    def evaluate(self, batch: RecordBatch, errors: list):
        """The result column (``batch.length`` rows of ``output_type``). Rows whose value cannot
        be computed are NULL and reported as ``(row, message)`` in ``errors``."""
        local: list = []
        column = self.kernel.evaluate(batch, local)
        if local:
            first: dict = {}
            for row, message in local:
                first.setdefault(row, message)
            rows = sorted(first)
            column = E.null_out(column, rows)
            errors.extend((row, first[row]) for row in rows)
        return column

    def __repr__(self):
        return f"CompiledExpression({self.output_type}, {type(self.kernel).__name__})"


def compile_expression(node, schema, *, params=None) -> CompiledExpression:
    """Bind ``node`` (an AST expression) to ``schema`` (``[(name, SqlType)]`` of the input
    batch) and build its kernels.

    ``params`` (optional dict): ``clock`` — a function returning processing time in epoch
    milliseconds (default: the system clock), read once per batch; ``qualifiers`` — source
    names and aliases of the query, so ``o.col`` is read as column ``col`` of source ``o`` even
    when the input has a column ``o`` (else a nested ``o.col`` wins when ``o`` is an OBJECT
    column); ``source`` and ``filename`` — the SQL text the node positions refer to, attached to
    errors for a caret display.
    """
    params = params or {}
    binder = _Binder(schema, params)
    try:
        bound = binder.bind(node)
    except SqlValidationError as err:
        if params.get("source") and err.source is None:
            err.with_source(params["source"], params.get("filename"))
        raise
    return CompiledExpression(bound.kernel, bound.type, node)


# --------------------------------------------------------------------------- binding

class _Bound:
    """A bound sub-expression: its kernel, type, whether it is a constant (no column input, no
    clock), and for string literals / intervals the literal itself."""

    __slots__ = ("const", "interval", "kernel", "node", "text", "type")

    def __init__(self, kernel, type_, node, *, const=False, text=None, interval=False):
        self.kernel = kernel
        self.type = type_
        self.node = node
        self.const = const
        self.text = text
        self.interval = interval

    @property
    def is_string_literal(self) -> bool:
        return self.text is not None


_ONE_ROW = None


def _one_row():
    global _ONE_ROW
    if _ONE_ROW is None:
        _ONE_ROW = RecordBatch.empty(1)
    return _ONE_ROW


def _fold(kernel):
    """A Const kernel with ``kernel``'s value if it evaluates without a row error, else None."""
    errors: list = []
    column = kernel.evaluate_any(_one_row(), errors)
    if errors:
        return None
    return E.Const(column)


class _Binder:
    def __init__(self, schema, params):
        self.schema = [(str(name), t if isinstance(t, SqlType) else SqlType(str(t)))
                       for name, t in schema]
        self.by_name: dict[str, list[int]] = {}
        for i, (name, _) in enumerate(self.schema):
            self.by_name.setdefault(name.lower(), []).append(i)
        self.clock = params.get("clock") or _clock_ms
        self.qualifiers = frozenset(q.lower() for q in params.get("qualifiers") or ())
        # A join's rows: columns named <qualifier>.<column>; any spelling of a source (its
        # name, its alias) → the qualifier its columns carry.
        self.join = params.get("join")
        self.source = params.get("source")
        self.max_string = params.get("max_string_bytes") or K.DEFAULT_MAX_STRING_BYTES

    # --- errors --------------------------------------------------------------------------------
    def error(self, node, message, hint=None):
        pos = getattr(node, "pos", None)
        line, column = (pos.line, pos.column) if pos else (0, 0)
        return SqlValidationError(message, line, column, source=self.source, hint=hint)

    # --- construction helpers ------------------------------------------------------------------
    def make(self, kernel, type_, node, children=(), *, foldable=True) -> _Bound:
        const = foldable and all(c.const for c in children)
        if const:
            folded = _fold(kernel)
            if folded is not None:
                kernel = folded
        return _Bound(kernel, type_, node, const=const)

    def constant(self, value, type_, node, **kw) -> _Bound:
        return _Bound(E.constant(value, type_.code, type_.scale), type_, node, const=True, **kw)

    def null_of(self, type_, node) -> _Bound:
        return _Bound(E.null_constant(type_.code, type_.scale), type_, node, const=True)

    def cast(self, b: _Bound, target: SqlType, **options) -> _Bound:
        """``b`` as ``target`` (implicit coercion, or CAST with options)."""
        if b.type == target and not options:
            return b
        if b.type.is_null:
            return self.null_of(target, b.node)
        kernel = E.Cast(b.kernel, target.code, target.scale, **options)
        return self.make(kernel, target, b.node, (b,))

    def literal_as(self, b: _Bound, target: SqlType, context: str) -> _Bound:
        """A string literal compared with / mixed into a ``target`` value: cast now (DIALECT
        §3); text that does not parse as ``target`` is a validation error."""
        lit_type = T.literal_type(b.text, target)
        if lit_type is None:
            raise self.error(b.node, f"string {K.brief(repr(b.text))} is {context} a {target} "
                                     f"but is not a valid {target.name}")
        kernel = E.Cast(b.kernel, lit_type.code, lit_type.scale)
        folded = _fold(kernel)
        if folded is None:
            raise self.error(b.node, f"string {K.brief(repr(b.text))} does not fit {lit_type}")
        return _Bound(folded, lit_type, b.node, const=True)

    def need(self, b: _Bound, allowed: tuple[str, ...], what: str) -> _Bound:
        """``b`` as one of the ``allowed`` type names (the first for NULL and OBJECT)."""
        if b.type.name in allowed:
            return b
        if b.type.is_null or b.type.name == "OBJECT":
            target = T.DECIMAL(0) if allowed[0] == "DECIMAL" else SqlType(allowed[0])
            return self.cast(b, target)
        if b.is_string_literal and allowed[0] == "TIMESTAMP":
            return self.literal_as(b, TIMESTAMP, "used as")
        names = " or ".join(allowed)
        raise self.error(b.node, f"{what} expects {names}, got {b.type}")

    def unify(self, bounds, what, node) -> tuple[list[_Bound], SqlType]:
        """Bring ``bounds`` to their common type; string literals take a non-text type."""
        typed = [b.type for b in bounds if not b.is_string_literal]
        target = T.common_type(typed)
        if target is None:
            shown = ", ".join(sorted({str(t) for t in typed}))
            raise self.error(node, f"cannot mix {shown} in {what}",
                             hint="CAST the values to one type")
        if target.is_null:
            target = STRING if any(b.is_string_literal for b in bounds) else NULL
        out = []
        for b in bounds:
            if b.is_string_literal and target.name not in ("STRING", "OBJECT"):
                b = self.literal_as(b, target, f"used in {what} with")
            out.append(b)
        final = T.common_type([b.type for b in out]) or target
        return [self.cast(b, final) for b in out], final

    # --- dispatch ------------------------------------------------------------------------------
    def bind(self, node) -> _Bound:
        method = getattr(self, "bind_" + type(node).__name__, None)
        if method is None:
            raise self.error(node, f"{type(node).__name__} is not an expression")
        return method(node)

    # --- leaves --------------------------------------------------------------------------------
    def bind_IntegerLit(self, node):
        return self.constant(node.value, BIGINT, node)

    def bind_DecimalLit(self, node):
        from velostream._core.decimal import ScaledInteger

        try:
            value = ScaledInteger(node.text)
        except (ValueError, OverflowError):
            raise self.error(node, f"DECIMAL literal {node.text} has more than "
                                   f"{T.MAX_DECIMAL_SCALE} decimals",
                             hint="write it with an exponent (1.5e30) for a DOUBLE") from None
        return self.constant(value, T.DECIMAL(value.scale), node)

    def bind_FloatLit(self, node):
        return self.constant(float(node.text), DOUBLE, node)

    def bind_StringLit(self, node):
        return self.constant(node.value, STRING, node, text=node.value)

    def bind_BooleanLit(self, node):
        return self.constant(bool(node.value), BOOLEAN, node)

    def bind_NullLit(self, node):
        return self.null_of(NULL, node)

    def bind_Interval(self, node):
        return self.constant(A.interval_millis(node), BIGINT, node, interval=True)

    def bind_Column(self, node):
        parts = node.parts
        lowered = [p.lower() for p in parts]
        if self.join:
            found = self.joined_column(node, parts, lowered)
            if found is not None:
                return found
        dotted = ".".join(lowered)
        if len(parts) > 1 and dotted in self.by_name:
            return self.column_ref(dotted, node, ".".join(parts))
        head = lowered[0]
        if len(parts) > 1 and head in self.qualifiers and lowered[1] in self.by_name:
            return self.qualified(parts, lowered, node)
        if head in self.by_name:
            ref = self.column_ref(head, node, parts[0])
            if len(parts) == 1:
                return ref
            # x.a: a field of column x, unless x has no value here (an all-NULL column of the
            # same name as a source alias) and a is a column.
            if ref.type.name == "OBJECT" or (ref.type.is_null and lowered[1] not in self.by_name):
                return self.fields(ref, parts[1:], node)
            if lowered[1] in self.by_name:
                return self.qualified(parts, lowered, node)
            raise self.error(node, f"column {parts[0]} is {ref.type}, which has no field "
                                   f"{parts[1]}")
        if len(parts) > 1 and lowered[1] in self.by_name:
            return self.qualified(parts, lowered, node)
        last = lowered[-1]
        if len(parts) <= 2 and last in PSEUDO_COLUMN_TYPES:
            t = PSEUDO_COLUMN_TYPES[last]
            return _Bound(E.MetaRef(last, t.code, t.scale), t, node)
        close = difflib.get_close_matches(dotted, [n for n, _ in self.schema], n=3)
        known = ", ".join(n for n, _ in self.schema[:12]) or "none"
        raise self.error(node, f"unknown column {'.'.join(parts)}",
                         hint=f"did you mean {' or '.join(close)}?" if close else
                         f"columns: {known}")

    def joined_column(self, node, parts, lowered):
        """A column of a join's rows: ``t.col`` is column ``t.col``; an unqualified ``col`` is
        the one source's that has it — an error when several have it. None: not a joined
        column (a pseudo-column, an aggregate's output, a source's rows before the join)."""
        if len(parts) > 1 and lowered[0] in self.join:
            key = f"{self.join[lowered[0]]}.{lowered[1]}"
            if key not in self.by_name:
                return None     # one source's own rows (before the join), or no such column
            ref = self.column_ref(key, node, ".".join(parts[:2]))
            return self.fields(ref, parts[2:], node) if len(parts) > 2 else ref
        owners = sorted({q for q in self.join.values() if f"{q}.{lowered[0]}" in self.by_name})
        if len(owners) > 1:
            raise self.error(node, f"column name {parts[0]} is ambiguous (sources "
                                   f"{', '.join(owners)} have it)",
                             hint=f"qualify it: {owners[0]}.{parts[0]}")
        if not owners:
            return None
        ref = self.column_ref(f"{owners[0]}.{lowered[0]}", node, parts[0])
        return self.fields(ref, parts[1:], node) if len(parts) > 1 else ref

    def qualified(self, parts, lowered, node):
        ref = self.column_ref(lowered[1], node, parts[1])
        return self.fields(ref, parts[2:], node) if len(parts) > 2 else ref

    def column_ref(self, key, node, shown):
        indexes = self.by_name[key]
        if len(indexes) > 1:
            raise self.error(node, f"column name {shown} is ambiguous "
                                   f"({len(indexes)} input columns have it)")
        index = indexes[0]
        name, t = self.schema[index]
        return _Bound(E.ColumnRef(index, t.code, t.scale, name), t, node)

    def fields(self, b, names, node):
        for name in names:
            if b.type.name not in ("OBJECT", "NULL"):
                raise self.error(node, f"{b.type} value has no field {name}")
            b = _Bound(E.PyFunc(K.field(name), [b.kernel], T_OBJECT, name=f".{name}"), OBJECT,
                       node)
        return b

    # --- operators -----------------------------------------------------------------------------
    def bind_UnaryOp(self, node):
        b = self.bind(node.operand)
        if node.op == "NOT":
            b = self.need(b, ("BOOLEAN",), "NOT")
            return self.make(E.Not(b.kernel), BOOLEAN, node, (b,))
        if b.type.is_null:
            return b
        if b.type.name == "OBJECT" and node.op == "-":
            zero = self.constant(0, BIGINT, node)
            return self.make(E.PyFunc(K.arithmetic(E.SUB), [zero.kernel, b.kernel], T_OBJECT,
                                      name="-"), OBJECT, node, (b,))
        if not b.type.is_numeric:
            raise self.error(node, f"unary {node.op} expects a number, got {b.type}")
        if node.op == "+":
            return b
        return self.make(E.Negate(b.kernel), b.type, node, (b,))

    def bind_BinaryOp(self, node):
        op = node.op
        if op in ("AND", "OR"):
            left = self.need(self.bind(node.left), ("BOOLEAN",), op)
            right = self.need(self.bind(node.right), ("BOOLEAN",), op)
            return self.make(E.Logic(op == "OR", left.kernel, right.kernel), BOOLEAN, node,
                             (left, right))
        left, right = self.bind(node.left), self.bind(node.right)
        if op in _COMPARE_OPS:
            return self.compare(_COMPARE_OPS[op], left, right, node)
        if op == "||":
            left = self.as_text(left)
            right = self.as_text(right)
            return self.make(E.PyFunc(K.concatenation2(self.max_string), [left.kernel, right.kernel], T_STRING,
                                      name="||"), STRING, node, (left, right))
        if op in _ARITH_OPS:
            return self.arithmetic(_ARITH_OPS[op], op, left, right, node)
        raise self.error(node, f"unknown operator {op}")

    def as_text(self, b):
        return b if b.type == STRING else self.cast(b, STRING)

    def compare(self, op, left, right, node) -> _Bound:
        lt, rt = left.type, right.type
        if left.is_string_literal and rt.name not in ("STRING", "NULL", "OBJECT"):
            left = self.literal_as(left, rt, "compared with")
        elif right.is_string_literal and lt.name not in ("STRING", "NULL", "OBJECT"):
            right = self.literal_as(right, lt, "compared with")
        lt, rt = left.type, right.type
        if lt.is_null and rt.is_null:
            return self.null_of(BOOLEAN, node)
        if lt.is_null or rt.is_null:
            # Still evaluated: the other side's row errors count (``1 / x = NULL``).
            left = self.null_of(rt, left.node) if lt.is_null else left
            right = self.null_of(lt, right.node) if rt.is_null else right
            lt, rt = left.type, right.type
        target = T.comparable(lt, rt)
        if target is None:
            raise self.error(node, f"cannot compare {lt} with {rt}",
                             hint="CAST one side to the other's type")
        if target.name == "OBJECT":
            return self.make(E.PyFunc(K.comparer(op), [left.kernel, right.kernel], T_BOOL,
                                      name="comparison"), BOOLEAN, node, (left, right))
        if target.name == "DECIMAL":
            left, right = self.decimal_pair(left, right)
        elif target.name == "BIGINT" and (lt.name == "TIMESTAMP" or rt.name == "TIMESTAMP"):
            left, right = self.cast(left, TIMESTAMP), self.cast(right, TIMESTAMP)
        else:
            left, right = self.cast(left, target), self.cast(right, target)
        return self.make(E.Compare(op, left.kernel, right.kernel), BOOLEAN, node, (left, right))

    def decimal_pair(self, left, right):
        """Operands of a DECIMAL comparison: each at its own scale (compared exactly), except
        a constant, which is brought to the other side's scale when that is exact."""
        left = self.cast(left, T.DECIMAL(left.type.scale)) if left.type.name != "DECIMAL" else left
        right = self.cast(right, T.DECIMAL(right.type.scale)) if (
            right.type.name != "DECIMAL") else right
        if left.type.scale != right.type.scale:
            if right.const:
                right = self.exact_rescale(right, left.type.scale)
            elif left.const:
                left = self.exact_rescale(left, right.type.scale)
        return left, right

    def exact_rescale(self, b, scale):
        value = b.kernel.pyvalue if isinstance(b.kernel, E.Const) else None
        if value is None:
            return b
        try:
            from velostream._core.decimal import ScaledInteger

            moved = ScaledInteger(value, scale)
        except (ValueError, OverflowError):
            return b
        if moved != value:
            return b
        return self.constant(moved, T.DECIMAL(scale), b.node)

    def arithmetic(self, op, symbol, left, right, node) -> _Bound:
        lt, rt = left.type, right.type
        if "TIMESTAMP" in (lt.name, rt.name):
            return self.time_arithmetic(op, symbol, left, right, node)
        if lt.name == "OBJECT" or rt.name == "OBJECT":
            if not all(t.name in ("OBJECT", "NULL") or t.is_numeric for t in (lt, rt)):
                raise self.error(node, f"cannot apply {symbol} to {lt} and {rt}")
            return self.make(E.PyFunc(K.arithmetic(op), [left.kernel, right.kernel], T_OBJECT,
                                      name=symbol), OBJECT, node, (left, right))
        result = T.arithmetic_type(symbol, lt, rt)
        if result is None:
            if lt.is_numeric and rt.is_numeric:
                raise self.error(node, f"DECIMAL result of {lt} {symbol} {rt} would need a "
                                       f"scale above {T.MAX_DECIMAL_SCALE}")
            raise self.error(node, f"cannot apply {symbol} to {lt} and {rt}",
                             hint="arithmetic needs numbers; CAST text to a number first")
        if result.is_null:
            return self.null_of(NULL, node)
        if lt.is_null:
            left = self.null_of(rt, left.node)
        if rt.is_null:
            right = self.null_of(lt, right.node)
        lt, rt = left.type, right.type
        if result == DOUBLE:
            left, right = self.cast(left, DOUBLE), self.cast(right, DOUBLE)
            kernel = E.ArithFloat(op, left.kernel, right.kernel)
        elif result == BIGINT:
            kernel = E.ArithInt(op, left.kernel, right.kernel)
        else:
            left = self.cast(left, T.DECIMAL(lt.scale)) if lt.name == "BIGINT" else left
            right = self.cast(right, T.DECIMAL(rt.scale)) if rt.name == "BIGINT" else right
            kernel = E.ArithDec(op, left.kernel, right.kernel, result.scale)
        return self.make(kernel, result, node, (left, right))

    def time_arithmetic(self, op, symbol, left, right, node):
        lt, rt = left.type, right.type
        if lt.name == rt.name == "TIMESTAMP" and op == E.SUB:
            left, right = self.cast(left, BIGINT), self.cast(right, BIGINT)
            return self.make(E.ArithInt(op, left.kernel, right.kernel), BIGINT, node,
                             (left, right))
        offset = right if lt.name == "TIMESTAMP" else left
        if op in (E.ADD, E.SUB) and offset.type.name in ("BIGINT", "NULL") and (
                op == E.ADD or lt.name == "TIMESTAMP"):
            left, right = self.cast(left, BIGINT), self.cast(right, BIGINT)
            total = E.ArithInt(op, left.kernel, right.kernel)
            return self.make(E.Cast(total, T_TIMESTAMP), TIMESTAMP, node, (left, right))
        raise self.error(node, f"cannot apply {symbol} to {lt} and {rt}",
                         hint="TIMESTAMP ± BIGINT milliseconds or an INTERVAL, or "
                              "TIMESTAMP - TIMESTAMP")

    def bind_IsNull(self, node):
        b = self.bind(node.operand)
        return self.make(E.IsNull(b.kernel, node.negated), BOOLEAN, node, (b,))

    def bind_Between(self, node):
        operand = self.bind(node.operand)
        low, high = self.bind(node.low), self.bind(node.high)
        slot = E.Slot(operand.type.code, operand.type.scale)
        held = _Bound(slot, operand.type, operand.node)
        if operand.is_string_literal:
            held.text = operand.text
        ge = self.compare(E.GE, held, low, node)
        le = self.compare(E.LE, held, high, node)
        body = E.Logic(False, ge.kernel, le.kernel, False)
        result = self.make(E.Let(slot, operand.kernel, body), BOOLEAN, node,
                           (operand, low, high))
        return self.negate(result, node) if node.negated else result

    def negate(self, b, node):
        return self.make(E.Not(b.kernel), BOOLEAN, node, (b,))

    def bind_InList(self, node):
        operand = self.bind(node.operand)
        items = [self.bind(item) for item in node.items]
        if operand.type.name not in ("STRING", "NULL", "OBJECT"):
            items = [self.literal_as(b, operand.type, "compared with")
                     if b.is_string_literal else b for b in items]
        result = self.in_constants(operand, items, node)
        if result is None:
            result = self.in_general(operand, items, node)
        return self.negate(result, node) if node.negated else result

    def in_constants(self, operand, items, node):
        """The typed fast path: every item a constant of a type the operand compares with."""
        if not all(b.const and isinstance(b.kernel, E.Const) for b in items):
            return None
        ot = operand.type
        if ot.name not in ("BIGINT", "DECIMAL", "DOUBLE", "STRING", "TIMESTAMP", "BOOLEAN"):
            return None
        from velostream._core.decimal import ScaledInteger

        values, has_null = [], False
        for b in items:
            target = T.comparable(ot, b.type)
            if target is None and not b.type.is_null:
                raise self.error(b.node, f"cannot compare {ot} with {b.type} in IN")
            raw = E.raw_value(b.kernel.value)
            if raw is None:     # NULL, typed or not (IF(FALSE, 0, NULL) folds to a BIGINT NULL)
                has_null = True
                continue
            if target.name == "OBJECT":
                return None
            if ot.name in ("STRING", "BOOLEAN"):
                values.append(raw if ot.name == "STRING" else int(raw))
            elif target == DOUBLE:
                if ot != DOUBLE:
                    return None
                values.append(float(raw))
            else:
                try:
                    exact = ScaledInteger(raw, ot.scale if ot.name == "DECIMAL" else 0)
                except (ValueError, OverflowError):
                    continue  # no value of the operand's type equals it
                if exact != raw:
                    continue
                values.append(exact.mantissa)
        kernel_operand = operand.kernel
        if ot.name == "BOOLEAN":
            kernel_operand = self.cast(operand, BIGINT).kernel
        return self.make(E.InList(kernel_operand, values, has_null), BOOLEAN, node,
                         (operand, *items))

    def in_general(self, operand, items, node):
        slot = E.Slot(operand.type.code, operand.type.scale)
        held = _Bound(slot, operand.type, operand.node)
        body = None
        for b in items:
            eq = self.compare(E.EQ, held, b, node).kernel
            body = eq if body is None else E.Logic(True, body, eq, False)
        return self.make(E.Let(slot, operand.kernel, body), BOOLEAN, node, (operand, *items))

    def bind_Like(self, node):
        operand = self.need(self.bind(node.operand), ("STRING",), "LIKE")
        pattern = self.need(self.bind(node.pattern), ("STRING",), "LIKE pattern")
        if pattern.is_string_literal:
            kernel = E.Like(operand.kernel, pattern.kernel, pattern.text)
        else:
            kernel = E.Like(operand.kernel, pattern.kernel)
        result = self.make(kernel, BOOLEAN, node, (operand, pattern))
        return self.negate(result, node) if node.negated else result

    def bind_Case(self, node):
        if node.operand is not None:
            operand = self.bind(node.operand)
            slot = E.Slot(operand.type.code, operand.type.scale)
            held = _Bound(slot, operand.type, operand.node)
            if operand.is_string_literal:
                held.text = operand.text
            conds = [self.compare(E.EQ, held, self.bind(w.condition), w) for w in node.whens]
        else:
            operand = None
            conds = [self.need(self.bind(w.condition), ("BOOLEAN",), "WHEN")
                     for w in node.whens]
        results = [self.bind(w.result) for w in node.whens]
        else_ = self.bind(node.else_) if node.else_ is not None else None
        branches, t = self.unify(results + ([else_] if else_ else []), "CASE results", node)
        else_b = branches.pop() if else_ else None
        kernel = E.Case([c.kernel for c in conds], [b.kernel for b in branches],
                        else_b.kernel if else_b else None, t.code, t.scale)
        children = [*conds, *branches] + ([else_b] if else_b else [])
        if operand is not None:
            kernel = E.Let(slot, operand.kernel, kernel)
            children.append(operand)
        return self.make(kernel, t, node, children)

    def bind_Cast(self, node):
        b = self.bind(node.operand)
        target = T.cast_target(node.type_.name, node.type_.params)
        if target is None:
            raise self.error(node.type_, f"unknown type {node.type_.name} in CAST")
        options = {}
        if target.precision is not None:
            options["precision"] = target.precision
        if target.length is not None:
            options["length"] = target.length
        if target.date:
            options["date"] = True
        if target.time:
            options["time"] = True
        if b.type.is_null:
            return self.null_of(target.type, node)
        if b.type == target.type and not options:
            return b
        kernel = E.Cast(b.kernel, target.type.code, target.type.scale, **options)
        if b.const:
            errors: list = []
            kernel.evaluate_any(_one_row(), errors)
            if errors and b.is_string_literal:
                raise self.error(node, errors[0][1])
        return self.make(kernel, target.type, node, (b,))

    def bind_Extract(self, node):
        b = self.need(self.bind(node.operand), ("TIMESTAMP", "BIGINT"), f"EXTRACT({node.field})")
        return self.make(E.Extract(b.kernel, _EXTRACT[node.field]),
                         DOUBLE if node.field == "EPOCH" else BIGINT, node, (b,))

    def bind_Subscript(self, node):
        b = self.bind(node.operand)
        index = self.bind(node.index)
        if b.type.name not in ("OBJECT", "NULL", "STRING"):
            raise self.error(node, f"cannot subscript a {b.type} value")
        if index.type.name not in ("BIGINT", "STRING", "NULL", "OBJECT"):
            raise self.error(node.index, f"a subscript must be BIGINT or STRING, got "
                                         f"{index.type}")
        t = STRING if b.type == STRING else OBJECT
        return self.make(E.PyFunc(K.subscript, [b.kernel, index.kernel], t.code, name="[]"), t,
                         node, (b, index))

    def bind_FieldAccess(self, node):
        return self.fields(self.bind(node.operand), [node.field], node)

    # --- functions -----------------------------------------------------------------------------
    def bind_FunctionCall(self, node):
        name = node.name.upper()
        spec = F.lookup(name)
        if spec is None:
            close = F.suggest(name)
            raise self.error(node, f"unknown function {name}",
                             hint=f"did you mean {' or '.join(close)}?" if close else None)
        if spec.is_aggregate or spec.is_window_only or node.over is not None:
            what = "window function" if (spec.is_window_only or node.over is not None) else (
                "aggregate function")
            raise self.error(node, f"{what} {name} cannot be evaluated as a per-record "
                                   "expression; it belongs to the aggregation/window operator")
        if node.star or node.distinct:
            raise self.error(node, f"{name}({'*' if node.star else 'DISTINCT …'}) is not "
                                   "allowed for a scalar function")
        if not spec.accepts(len(node.args)):
            raise self.error(node, f"{name} expects {spec.arity_text()}, got {len(node.args)}")
        handler = _FUNCTIONS.get(name)
        if handler is None:
            raise self.error(node, f"function {name} is not supported yet")
        return handler(self, node, name)

    def args(self, node):
        return [self.bind(a) for a in node.args]

    def const_value(self, b, what, kind=None):
        if not (b.const and isinstance(b.kernel, E.Const)):
            raise self.error(b.node, f"{what} must be a constant")
        value = b.kernel.pyvalue
        if kind is not None and (value is None or not isinstance(value, kind) or
                                 isinstance(value, bool)):
            raise self.error(b.node, f"{what} must be a constant {kind.__name__}")
        return value

    def pyfunc(self, fn, bounds, type_, node, *, strict=True, name=""):
        return self.make(E.PyFunc(fn, [b.kernel for b in bounds], type_.code, type_.scale,
                                  strict, name), type_, node, bounds)

    def fn_coalesce(self, node, name):
        bounds, t = self.unify(self.args(node), name, node)
        return self.make(E.Coalesce([b.kernel for b in bounds], t.code, t.scale), t, node,
                         bounds)

    def fn_if(self, node, name):
        cond, a, b = self.args(node)
        cond = self.need(cond, ("BOOLEAN",), "IF condition")
        (a, b), t = self.unify([a, b], name, node)
        return self.make(E.Case([cond.kernel], [a.kernel], b.kernel, t.code, t.scale), t, node,
                         (cond, a, b))

    def fn_nullif(self, node, name):
        a, b = self.args(node)
        slot = E.Slot(a.type.code, a.type.scale)
        held = _Bound(slot, a.type, a.node, text=a.text)
        eq = self.compare(E.EQ, held, b, node)
        t = a.type
        kernel = E.Let(slot, a.kernel, E.Case([eq.kernel], [E.null_constant(t.code, t.scale)],
                                              slot, t.code, t.scale))
        return self.make(kernel, t, node, (a, b))

    def fn_least(self, node, name):
        bounds, t = self.unify(self.args(node), name, node)
        greatest = name == "GREATEST"
        if t.is_null:
            return self.null_of(NULL, node)
        if t.name == "OBJECT":
            op = E.GT if greatest else E.LT

            def pick(*values):
                best = None
                for v in values:
                    if v is not None and (best is None or K.compare_values(op, v, best)):
                        best = v
                return best
            return self.pyfunc(pick, bounds, OBJECT, node, strict=False, name=name)
        acc = bounds[0].kernel
        for b in bounds[1:]:
            s_acc, s_next = E.Slot(t.code, t.scale), E.Slot(t.code, t.scale)
            better = E.Compare(E.GT if greatest else E.LT, s_next, s_acc)
            cond = E.Logic(False, E.IsNull(s_next, True),
                           E.Logic(True, E.IsNull(s_acc), better, False), False)
            step = E.Case([cond], [s_next], s_acc, t.code, t.scale)
            acc = E.Let(s_acc, acc, E.Let(s_next, b.kernel, step))
        return self.make(acc, t, node, bounds)

    def exact_object(self, b, node, name, digits=0):
        """ABS / ROUND / FLOOR / CEIL of an OBJECT operand (integers past int64, decimals past
        38 decimals): exact, row by row, rather than through DOUBLE."""
        return self.make(E.PyFunc(K.object_rounding(name, digits), [b.kernel], T_OBJECT,
                                  name=name), OBJECT, node, (b,))

    def fn_abs(self, node, name):
        (b,) = self.args(node)
        if b.type.name == "OBJECT":
            return self.exact_object(b, node, "ABS")
        b = self.numeric(b, name)
        if b.type.is_null:
            return b
        return self.make(E.Abs(b.kernel), b.type, node, (b,))

    def numeric(self, b, what):
        if b.type.is_numeric or b.type.is_null:
            return b
        if b.type.name == "OBJECT":
            return self.cast(b, DOUBLE)
        raise self.error(b.node, f"{what} expects a number, got {b.type}")

    def fn_round(self, node, name):
        args = self.args(node)
        digits = 0
        if len(args) == 2:
            digits = self.const_value(args[1], f"the digits of {name}", int)
        if args[0].type.name == "OBJECT":
            return self.exact_object(args[0], node, "ROUND", digits)
        b = self.numeric(args[0], name)
        if b.type.is_null:
            return b
        if b.type == DOUBLE:
            return self.make(E.RoundFloat(b.kernel, 0, digits), DOUBLE, node, (b,))
        scale = b.type.scale if b.type.name == "DECIMAL" else 0
        if digits >= scale:
            return b
        t = T.DECIMAL(max(digits, 0)) if b.type.name == "DECIMAL" else BIGINT
        return self.make(E.RoundExact(b.kernel, digits, E.R_HALF_AWAY, t.code, t.scale), t,
                         node, (b,))

    def fn_floor(self, node, name):
        (b,) = self.args(node)
        ceil = name.startswith("CEIL")
        if b.type.name == "OBJECT":
            return self.exact_object(b, node, "CEIL" if ceil else "FLOOR")
        b = self.numeric(b, name)
        if b.type.is_null or b.type == BIGINT or (b.type.name == "DECIMAL" and
                                                  b.type.scale == 0):
            return b
        if b.type == DOUBLE:
            return self.make(E.RoundFloat(b.kernel, 2 if ceil else 1), DOUBLE, node, (b,))
        t = T.DECIMAL(0)
        return self.make(E.RoundExact(b.kernel, 0, E.R_CEIL if ceil else E.R_FLOOR, t.code, 0),
                         t, node, (b,))

    def fn_math(self, node, name):
        (b,) = self.args(node)
        b = self.cast(self.numeric(b, name), DOUBLE)
        code = {"SQRT": E.M_SQRT, "EXP": E.M_EXP, "LN": E.M_LN, "LOG10": E.M_LOG10}[name]
        return self.make(E.MathFloat(b.kernel, code), DOUBLE, node, (b,))

    def fn_power(self, node, name):
        a, b = (self.cast(self.numeric(x, name), DOUBLE) for x in self.args(node))
        return self.make(E.Power(0, a.kernel, b.kernel), DOUBLE, node, (a, b))

    def fn_mod(self, node, name):
        a, b = self.args(node)
        return self.arithmetic(E.MOD, "%", a, b, node)

    def text(self, b, what):
        return self.need(b, ("STRING",), what)

    def integer(self, b, what):
        return self.need(b, ("BIGINT",), what)

    def fn_case_map(self, node, name):
        (b,) = self.args(node)
        b = self.text(b, name)
        return self.pyfunc(K.upper if name == "UPPER" else K.lower, [b], STRING, node,
                           name=name)

    def fn_length(self, node, name):
        (b,) = self.args(node)
        b = self.text(b, name)
        return self.make(E.StrLength(b.kernel, 1 if name == "BYTE_LENGTH" else 0), BIGINT,
                         node, (b,))

    def fn_substring(self, node, name):
        args = self.args(node)
        bounds = [self.text(args[0], name)] + [self.integer(a, name) for a in args[1:]]
        return self.pyfunc(K.substring, bounds, STRING, node, name=name)

    def fn_concat(self, node, name):
        bounds = [self.as_text(b) for b in self.args(node)]
        fn = (K.concatenation_ws if name == "CONCAT_WS" else K.concatenation)(self.max_string)
        return self.pyfunc(fn, bounds, STRING, node, strict=False, name=name)

    def fn_trim(self, node, name):
        bounds = [self.text(b, name) for b in self.args(node)]
        which = {"TRIM": 0, "LTRIM": 1, "RTRIM": 2}[name]
        return self.pyfunc(K.trimmer(which), bounds, STRING, node, name=name)

    def fn_replace(self, node, name):
        bounds = [self.text(b, name) for b in self.args(node)]
        return self.pyfunc(K.replacer(self.max_string), bounds, STRING, node, name=name)

    def fn_pad(self, node, name):
        args = self.args(node)
        bounds = [self.text(args[0], name), self.integer(args[1], name)]
        bounds += [self.text(a, name) for a in args[2:]]
        return self.pyfunc(K.padder(name == "LPAD", self.max_string), bounds, STRING, node, name=name)

    def fn_split_part(self, node, name):
        s, d, i = self.args(node)
        bounds = [self.text(s, name), self.text(d, name), self.integer(i, name)]
        return self.pyfunc(K.split_part, bounds, STRING, node, name=name)

    def fn_position(self, node, name):
        bounds = [self.text(b, name) for b in self.args(node)]
        return self.pyfunc(K.position, bounds, BIGINT, node, name=name)

    def fn_left_right(self, node, name):
        s, n = self.args(node)
        bounds = [self.text(s, name), self.integer(n, name)]
        return self.pyfunc(K.left if name == "LEFT" else K.right, bounds, STRING, node,
                           name=name)

    def fn_regexp_replace(self, node, name):
        s, pattern, repl = (self.text(b, name) for b in self.args(node))
        fixed_pattern = fixed_repl = None
        rest = []
        if pattern.const and isinstance(pattern.kernel, E.Const) and (
                pattern.kernel.pyvalue is not None):
            fixed_pattern = pattern.kernel.pyvalue
        else:
            rest.append(pattern)
        if repl.const and isinstance(repl.kernel, E.Const) and repl.kernel.pyvalue is not None:
            fixed_repl = repl.kernel.pyvalue
        else:
            rest.append(repl)
        try:
            fn = K.regexp_replacer(fixed_pattern, fixed_repl, self.max_string)
        except K.RowError as exc:
            bad = pattern if "regular expression" in str(exc) else repl
            raise self.error(bad.node, str(exc)) from None
        return self.pyfunc(fn, [s, *rest], STRING, node, name=name)

    def fn_now(self, node, name):
        if name == "CURRENT_DATE":
            return _Bound(E.Now(self.clock, 1), TIMESTAMP, node)
        if name == "CURRENT_TIME":
            return _Bound(E.Cast(E.Now(self.clock, 0), T_STRING, time=True), STRING, node)
        return _Bound(E.Now(self.clock, 0), TIMESTAMP, node)

    def timestamp_arg(self, b, what):
        if b.type == TIMESTAMP:
            return b
        if b.type.name in ("BIGINT", "NULL", "OBJECT", "STRING") and not (
                b.type == STRING and not b.is_string_literal):
            if b.is_string_literal:
                return self.literal_as(b, TIMESTAMP, "used as")
            return self.cast(b, TIMESTAMP)
        if b.type == STRING:
            return self.cast(b, TIMESTAMP)
        raise self.error(b.node, f"{what} expects a TIMESTAMP, got {b.type}")

    def fn_date_trunc(self, node, name):
        unit, ts = self.args(node)
        text = self.const_value(unit, "the unit of DATE_TRUNC", str).upper()
        text = _TRUNC_ALIASES.get(text, text)
        if text not in _TRUNC_UNITS:
            raise self.error(unit.node, f"unknown DATE_TRUNC unit {unit.kernel.pyvalue!r}; "
                                        f"expected one of {', '.join(_TRUNC_UNITS).lower()}")
        ts = self.timestamp_arg(ts, name)
        return self.make(E.DateTrunc(ts.kernel, _TRUNC_UNITS[text]), TIMESTAMP, node, (ts,))

    def fn_date_format(self, node, name):
        ts, fmt = self.args(node)
        return self.pyfunc(K.date_format, [self.timestamp_arg(ts, name), self.text(fmt, name)],
                           STRING, node, name=name)

    def fn_from_unixtime(self, node, name):
        args = self.args(node)
        x = self.numeric(args[0], name)
        if x.type.is_null:
            ts = self.null_of(TIMESTAMP, node)
        else:
            thousand = self.bind(A.IntegerLit(1000, pos=node.pos))
            ms = self.arithmetic(E.MUL, "*", x, thousand, node)
            ts = self.cast(ms, TIMESTAMP)
        if len(args) == 2:
            return self.pyfunc(K.date_format, [ts, self.text(args[1], name)], STRING, node,
                               name=name)
        return ts

    def fn_unix_timestamp(self, node, name):
        args = self.args(node)
        if not args:
            return _Bound(E.Now(self.clock, 2), BIGINT, node)
        ts = self.timestamp_arg(args[0], name)
        return self.make(E.UnixSeconds(ts.kernel), BIGINT, node, (ts,))

    def fn_tumble(self, node, name):
        meta = "_window_start" if name == "TUMBLE_START" else "_window_end"
        return _Bound(E.MetaRef(meta, T_TIMESTAMP), TIMESTAMP, node)

    def fn_json(self, node, name):
        doc, path = self.args(node)
        if doc.type.name not in ("STRING", "OBJECT", "NULL"):
            raise self.error(doc.node, f"{name} expects JSON text or a nested value, got "
                                       f"{doc.type}")
        text = self.const_value(path, f"the path of {name}", str)
        try:
            factory = {"JSON_VALUE": K.json_value, "JSON_EXTRACT": K.json_extract,
                       "JSON_QUERY": K.json_extract, "JSON_EXISTS": K.json_exists}[name]
            fn = factory(text)
        except ValueError as exc:
            raise self.error(path.node, str(exc)) from None
        t = BOOLEAN if name == "JSON_EXISTS" else STRING
        return self.pyfunc(fn, [doc], t, node, name=name)

    def fn_header(self, node, name):
        (key,) = self.args(node)
        key = self.text(key, name)
        headers = _Bound(E.MetaRef("_headers", T_OBJECT), OBJECT, node)
        return self.pyfunc(K.header_value, [headers, key], STRING, node, name=name)


T_BOOL, T_STRING, T_OBJECT, T_TIMESTAMP = (BOOLEAN.code, STRING.code, OBJECT.code,
                                           TIMESTAMP.code)

_FUNCTIONS = {
    "COALESCE": _Binder.fn_coalesce, "IF": _Binder.fn_if, "NULLIF": _Binder.fn_nullif,
    "LEAST": _Binder.fn_least, "GREATEST": _Binder.fn_least,
    "ABS": _Binder.fn_abs, "ROUND": _Binder.fn_round, "FLOOR": _Binder.fn_floor,
    "CEIL": _Binder.fn_floor, "CEILING": _Binder.fn_floor,
    "SQRT": _Binder.fn_math, "EXP": _Binder.fn_math, "LN": _Binder.fn_math,
    "LOG10": _Binder.fn_math, "POWER": _Binder.fn_power, "POW": _Binder.fn_power,
    "MOD": _Binder.fn_mod,
    "UPPER": _Binder.fn_case_map, "LOWER": _Binder.fn_case_map,
    "LENGTH": _Binder.fn_length, "BYTE_LENGTH": _Binder.fn_length,
    "SUBSTRING": _Binder.fn_substring, "SUBSTR": _Binder.fn_substring,
    "CONCAT": _Binder.fn_concat, "CONCAT_WS": _Binder.fn_concat,
    "TRIM": _Binder.fn_trim, "LTRIM": _Binder.fn_trim, "RTRIM": _Binder.fn_trim,
    "REPLACE": _Binder.fn_replace, "LPAD": _Binder.fn_pad, "RPAD": _Binder.fn_pad,
    "SPLIT_PART": _Binder.fn_split_part, "POSITION": _Binder.fn_position,
    "REGEXP_REPLACE": _Binder.fn_regexp_replace,
    "LEFT": _Binder.fn_left_right, "RIGHT": _Binder.fn_left_right,
    "CURRENT_TIMESTAMP": _Binder.fn_now, "NOW": _Binder.fn_now, "TIMESTAMP": _Binder.fn_now,
    "LOCALTIMESTAMP": _Binder.fn_now, "CURRENT_DATE": _Binder.fn_now,
    "CURRENT_TIME": _Binder.fn_now,
    "DATE_TRUNC": _Binder.fn_date_trunc, "DATE_FORMAT": _Binder.fn_date_format,
    "FROM_UNIXTIME": _Binder.fn_from_unixtime, "UNIX_TIMESTAMP": _Binder.fn_unix_timestamp,
    "TUMBLE_START": _Binder.fn_tumble, "TUMBLE_END": _Binder.fn_tumble,
    "JSON_VALUE": _Binder.fn_json, "JSON_EXTRACT": _Binder.fn_json,
    "JSON_QUERY": _Binder.fn_json, "JSON_EXISTS": _Binder.fn_json,
    "HEADER": _Binder.fn_header,
}
