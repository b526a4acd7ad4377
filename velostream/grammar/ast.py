"""AST node classes for the velostream SQL dialect.

Owns the shape of a parsed query. Nodes are plain immutable objects generated from the table
``_NODE_SPEC`` below (the pycparser idea: one small config, uniform classes). Nothing here knows
about PLY, so the parser can be replaced without touching the consumers of the tree.

Every node carries ``pos`` (1-based line and column of its first character, or of its operator
for binary operators) and statements also carry ``end``; neither takes part in equality, so
``parse(print(tree)) == tree`` compares structure only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, NamedTuple


class Pos(NamedTuple):
    line: int
    column: int


class Node:
    """Base of all AST nodes: immutable, positional, structurally comparable."""

    __slots__ = ("end", "pos")
    fields: tuple[str, ...] = ()

    def __init__(self, *args, pos: Pos | None = None, end: Pos | None = None, **kwargs):
        fields = self.fields
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__} takes {len(fields)} fields, got {len(args)}")
        values = dict(zip(fields, args))
        for key, value in kwargs.items():
            if key not in fields or key in values:
                raise TypeError(f"{type(self).__name__}: unexpected or repeated field {key!r}")
            values[key] = value
        for name in fields:
            value = values.get(name, self._defaults.get(name))
            if isinstance(value, list):
                value = tuple(value)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "pos", pos)
        if "end" not in fields:         # Frame has a field named end (its end bound)
            object.__setattr__(self, "end", end)

    _defaults: ClassVar[dict] = {}

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable; use .replace()")

    def __delattr__(self, name):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _values(self) -> tuple:
        return tuple(getattr(self, f) for f in self.fields)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self):
        return hash((type(self).__name__, self._values()))

    def __repr__(self):
        shown = []
        for name in self.fields:
            value = getattr(self, name)
            if value == self._defaults.get(name):
                continue
            shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def replace(self, **changes) -> Node:
        """A copy with some fields changed (positions kept)."""
        values = {f: getattr(self, f) for f in self.fields}
        values.update(changes)
        return type(self)(**values, pos=self.pos, end=self.end)

    def children(self) -> Iterator[Node]:
        """Direct child nodes, in field order (tuples are flattened one level)."""
        for name in self.fields:
            value = getattr(self, name)
            if isinstance(value, Node):
                yield value
            elif isinstance(value, tuple):
                for item in value:
                    if isinstance(item, Node):
                        yield item

    def walk(self) -> Iterator[Node]:
        """This node and all descendants, pre-order."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(list(node.children())))


# name: fields (a field written ``name=default`` is optional, default a Python literal).
_NODE_SPEC = """
Script: statements
# --- statements
Select: distinct=False items from_=None where=None group_by=() window=None having=None order_by=() limit=None emit=None into=() properties=()
CreateStream: name query
CreateTable: name query
StartJob: name body
JobCommand: action name
Show: what
Describe: name
Explain: statement
# --- clauses
SelectItem: expr alias=None primary_key=False
Star: qualifier=None
TableRef: name alias=None
Join: kind left right on=None within=None
SinkRef: name
OrderItem: expr descending=False nulls=None
Property: key value
Window: kind size time_column=None advance=None
Over: partition_by=() order_by=() frame=None buffer_rows=None
Frame: unit start end=None
FrameBound: kind offset=None
# --- expressions
Column: parts
IntegerLit: value
DecimalLit: text
FloatLit: text
StringLit: value
BooleanLit: value
NullLit:
Interval: value unit
UnaryOp: op operand
BinaryOp: op left right
IsNull: operand negated=False
InList: operand items negated=False
Between: operand low high negated=False
Like: operand pattern negated=False
Case: operand whens else_=None
When: condition result
Cast: operand type_
TypeName: name params=()
FunctionCall: name args=() distinct=False star=False over=None
Extract: field operand
Subscript: operand index
FieldAccess: operand field
"""


def _build_nodes(spec: str) -> dict[str, type]:
    import ast as _pyast

    classes = {}
    for raw in spec.strip().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition(":")
        fields, defaults = [], {}
        for item in rest.split():
            field, eq, default = item.partition("=")
            fields.append(field)
            if eq:
                defaults[field] = _pyast.literal_eval(default)
        cls = type(name, (Node,), {
            "__slots__": tuple(fields),
            "fields": tuple(fields),
            "_defaults": defaults,
            "__doc__": f"AST node {name}({', '.join(fields)}).",
            "__module__": __name__,
        })
        classes[name] = cls
    return classes


_CLASSES = _build_nodes(_NODE_SPEC)
globals().update(_CLASSES)
NODE_CLASSES = tuple(_CLASSES.values())

STATEMENT_TYPES = tuple(_CLASSES[n] for n in (
    "Select", "CreateStream", "CreateTable", "StartJob", "JobCommand", "Show", "Describe",
    "Explain"))

# Canonical interval units (singular) and their length in milliseconds.
UNIT_MILLIS = {
    "MILLISECOND": 1,
    "SECOND": 1000,
    "MINUTE": 60_000,
    "HOUR": 3_600_000,
    "DAY": 86_400_000,
}


def interval_millis(node) -> int:
    """Length of an ``Interval`` node in milliseconds."""
    return node.value * UNIT_MILLIS[node.unit]


def query_of(statement):
    """The SELECT a statement runs, or None for commands (SHOW, STOP JOB, …) and for EXPLAIN,
    which runs nothing (``Explain.statement`` is the statement it explains)."""
    while statement is not None and not isinstance(statement, _CLASSES["Select"]):
        statement = getattr(statement, "query", None) or getattr(statement, "body", None)
    return statement


# The node classes are generated, so their names are added to __all__ at run time.
__all__ = ["NODE_CLASSES", "STATEMENT_TYPES", "UNIT_MILLIS", "Node", "Pos",  # noqa: PLE0604
           "interval_millis", "query_of", *_CLASSES]
