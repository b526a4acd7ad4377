"""AST → SQL text (the sqlglot "generator" idea).

Owns the canonical spelling of the dialect: keywords upper-case, one clause per line, string
literals in single quotes, durations as ``INTERVAL 'n' UNIT``. The guarantee is
``parse(to_sql(tree)) == tree``; parentheses are added wherever the child binds no tighter than
its parent, which is always safe because parentheses leave no trace in the AST.
"""

from __future__ import annotations

import re

from velostream.grammar import ast as A
from velostream.grammar.lexer import RESERVED
from velostream.grammar.parser import NILADIC_FUNCTIONS

# Binding strength, loosest first; must agree with parser.precedence.
PRECEDENCE = {
    "OR": 1, "AND": 2, "NOT": 3, "IS": 4,
    "=": 5, "!=": 5, "<": 5, "<=": 5, ">": 5, ">=": 5,
    "LIKE": 6, "IN": 6, "BETWEEN": 6,
    "||": 7, "+": 8, "-": 8, "*": 9, "/": 9, "%": 9,
    "UNARY": 10,
}
ATOM = 100
_LEFT_ASSOC = {"OR", "AND", "||", "+", "-", "*", "/", "%"}
_PLAIN_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def quote_identifier(name: str) -> str:
    """``name`` as written in SQL: bare when it can be, in backticks otherwise."""
    if _PLAIN_IDENTIFIER.match(name) and name.upper() not in RESERVED and (
            name.upper() not in NILADIC_FUNCTIONS):
        return name
    return "`" + name.replace("`", "``") + "`"


def quote_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def to_sql(node) -> str:
    """SQL text for a Script, a statement, a clause node or an expression."""
    if isinstance(node, A.Script):
        return ";\n\n".join(_statement(s) for s in node.statements) + (";" if node.statements else "")
    if isinstance(node, A.STATEMENT_TYPES):
        return _statement(node)
    return _Printer().node(node)


def _statement(node) -> str:
    return _Printer().statement(node)


def _precedence(node) -> int:
    if isinstance(node, A.BinaryOp):
        return PRECEDENCE[node.op]
    if isinstance(node, A.UnaryOp):
        return PRECEDENCE["NOT"] if node.op == "NOT" else PRECEDENCE["UNARY"]
    if isinstance(node, A.IsNull):
        return PRECEDENCE["IS"]
    if isinstance(node, (A.InList, A.Like, A.Between)):
        return PRECEDENCE["IN"]
    return ATOM


class _Printer:
    """One printing pass; methods are looked up by node class name (no if-chains)."""

    def node(self, node) -> str:
        return getattr(self, "n_" + type(node).__name__)(node)

    # --- expressions -----------------------------------------------------------------------
    def sub(self, child, min_prec: int) -> str:
        """``child`` printed as an operand that must bind at least ``min_prec`` tightly."""
        text = self.node(child)
        return f"({text})" if _precedence(child) < min_prec else text

    def n_BinaryOp(self, n):
        prec = PRECEDENCE[n.op]
        left_min = prec if n.op in _LEFT_ASSOC else prec + 1
        return f"{self.sub(n.left, left_min)} {n.op} {self.sub(n.right, prec + 1)}"

    def n_UnaryOp(self, n):
        if n.op == "NOT":
            return f"NOT {self.sub(n.operand, PRECEDENCE['NOT'])}"
        operand = self.sub(n.operand, PRECEDENCE["UNARY"] + 1)
        # "- -1" must not become the comment "--1".
        return f"{n.op}{' ' if operand[:1] in '+-' else ''}{operand}"

    def n_IsNull(self, n):
        return f"{self.sub(n.operand, PRECEDENCE['IS'] + 1)} IS {'NOT ' if n.negated else ''}NULL"

    def n_InList(self, n):
        items = ", ".join(self.node(i) for i in n.items)
        return f"{self.sub(n.operand, PRECEDENCE['IN'] + 1)} {'NOT ' if n.negated else ''}IN ({items})"

    def n_Like(self, n):
        return (f"{self.sub(n.operand, PRECEDENCE['LIKE'] + 1)} {'NOT ' if n.negated else ''}LIKE "
                f"{self.sub(n.pattern, PRECEDENCE['LIKE'] + 1)}")

    def n_Between(self, n):
        # Bounds are b_expr in the grammar: no operator looser than '||' without parentheses.
        bound = PRECEDENCE["||"]
        return (f"{self.sub(n.operand, PRECEDENCE['BETWEEN'] + 1)} "
                f"{'NOT ' if n.negated else ''}BETWEEN {self.sub(n.low, bound)} AND "
                f"{self.sub(n.high, bound)}")

    def n_Column(self, n):
        return ".".join(quote_identifier(p) for p in n.parts)

    def n_IntegerLit(self, n):
        return str(n.value)

    def n_DecimalLit(self, n):
        return n.text

    def n_FloatLit(self, n):
        return n.text

    def n_StringLit(self, n):
        return quote_string(n.value)

    def n_BooleanLit(self, n):
        return "TRUE" if n.value else "FALSE"

    def n_NullLit(self, n):
        return "NULL"

    def n_Interval(self, n):
        return f"INTERVAL '{n.value}' {n.unit}"

    def n_Case(self, n):
        parts = ["CASE"]
        if n.operand is not None:
            parts.append(self.node(n.operand))
        parts.extend(self.node(w) for w in n.whens)
        if n.else_ is not None:
            parts.append(f"ELSE {self.node(n.else_)}")
        parts.append("END")
        return " ".join(parts)

    def n_When(self, n):
        return f"WHEN {self.node(n.condition)} THEN {self.node(n.result)}"

    def n_Cast(self, n):
        return f"CAST({self.node(n.operand)} AS {self.node(n.type_)})"

    def n_TypeName(self, n):
        params = f"({', '.join(str(x) for x in n.params)})" if n.params else ""
        return f"{quote_identifier(n.name)}{params}"

    def n_FunctionCall(self, n):
        if n.name in NILADIC_FUNCTIONS and not n.args and not n.star and n.over is None:
            return n.name
        if n.name == "POSITION" and len(n.args) == 2:
            args = f"{self.sub(n.args[0], PRECEDENCE['||'])} IN {self.sub(n.args[1], PRECEDENCE['||'])}"
        elif n.star:
            args = "*"
        else:
            args = ("DISTINCT " if n.distinct else "") + ", ".join(self.node(a) for a in n.args)
        name = n.name if n.name in ("LEFT", "RIGHT") else quote_identifier(n.name)
        text = f"{name}({args})"
        if n.over is not None:
            text += f" OVER ({self.node(n.over)})"
        return text

    def n_Extract(self, n):
        return f"EXTRACT({n.field} FROM {self.node(n.operand)})"

    def n_Subscript(self, n):
        return f"{self.sub(n.operand, ATOM)}[{self.node(n.index)}]"

    def n_FieldAccess(self, n):
        return f"{self.sub(n.operand, ATOM)}.{quote_identifier(n.field)}"

    def n_Over(self, n):
        parts = []
        if n.buffer_rows is not None:
            parts.append(f"ROWS WINDOW BUFFER {n.buffer_rows} ROWS")
        if n.partition_by:
            parts.append("PARTITION BY " + ", ".join(self.node(e) for e in n.partition_by))
        if n.order_by:
            parts.append("ORDER BY " + ", ".join(self.node(o) for o in n.order_by))
        if n.frame is not None:
            parts.append(self.node(n.frame))
        return " ".join(parts)

    def n_Frame(self, n):
        if n.end is None:
            return f"{n.unit} {self.node(n.start)}"
        return f"{n.unit} BETWEEN {self.node(n.start)} AND {self.node(n.end)}"

    def n_FrameBound(self, n):
        return n.kind if n.offset is None else f"{self.node(n.offset)} {n.kind}"

    # --- clauses ----------------------------------------------------------------------------
    def n_SelectItem(self, n):
        text = self.node(n.expr)
        if n.alias is not None:
            text += f" AS {quote_identifier(n.alias)}"
        if n.primary_key:
            text += " PRIMARY KEY"
        return text

    def n_Star(self, n):
        if n.qualifier:
            return ".".join(quote_identifier(p) for p in n.qualifier) + ".*"
        return "*"

    def n_TableRef(self, n):
        if n.alias is None:
            return quote_identifier(n.name)
        return f"{quote_identifier(n.name)} {quote_identifier(n.alias)}"

    def n_Join(self, n):
        left = self.node(n.left)
        right = self.node(n.right)
        if n.kind == "CROSS":
            return f"{left}\nCROSS JOIN {right}"
        text = f"{left}\n{n.kind} JOIN {right} ON {self.node(n.on)}"
        if n.within is not None:
            text += f" WITHIN {self.node(n.within)}"
        return text

    def n_SinkRef(self, n):
        return quote_identifier(n.name)

    def n_OrderItem(self, n):
        text = self.node(n.expr) + (" DESC" if n.descending else "")
        return text + (f" NULLS {n.nulls}" if n.nulls else "")

    def n_Property(self, n):
        return f"{quote_string(n.key)} = {quote_string(n.value)}"

    def n_Window(self, n):
        args = [self.node(n.time_column)] if n.time_column is not None else []
        args.append(self.node(n.size))
        if n.advance is not None:
            args.append(self.node(n.advance))
        return f"{n.kind}({', '.join(args)})"

    # --- statements -------------------------------------------------------------------------
    def statement(self, n) -> str:
        return getattr(self, "s_" + type(n).__name__)(n)

    def s_Select(self, n):
        lines = ["SELECT " + ("DISTINCT " if n.distinct else "") +
                 ", ".join(self.node(i) for i in n.items)]
        if n.from_ is not None:
            lines.append("FROM " + self.node(n.from_))
        if n.where is not None:
            lines.append("WHERE " + self.node(n.where))
        if n.group_by:
            lines.append("GROUP BY " + ", ".join(self.node(e) for e in n.group_by))
        if n.window is not None:
            lines.append("WINDOW " + self.node(n.window))
        if n.having is not None:
            lines.append("HAVING " + self.node(n.having))
        if n.order_by:
            lines.append("ORDER BY " + ", ".join(self.node(o) for o in n.order_by))
        if n.limit is not None:
            lines.append(f"LIMIT {n.limit}")
        if n.emit is not None:
            lines.append(f"EMIT {n.emit}")
        if n.into:
            lines.append("INTO " + ", ".join(self.node(s) for s in n.into))
        if n.properties:
            props = ",\n".join("    " + self.node(p) for p in n.properties)
            lines.append(f"WITH (\n{props}\n)")
        return "\n".join(lines)

    def s_CreateStream(self, n):
        return f"CREATE STREAM {quote_identifier(n.name)} AS\n{self.statement(n.query)}"

    def s_CreateTable(self, n):
        return f"CREATE TABLE {quote_identifier(n.name)} AS\n{self.statement(n.query)}"

    def s_StartJob(self, n):
        return f"START JOB {quote_identifier(n.name)} AS\n{self.statement(n.body)}"

    def s_JobCommand(self, n):
        return f"{n.action} JOB {quote_identifier(n.name)}"

    def s_Show(self, n):
        return f"SHOW {n.what}"

    def s_Describe(self, n):
        return f"DESCRIBE {quote_identifier(n.name)}"

    def s_Explain(self, n):
        return f"EXPLAIN {self.statement(n.statement)}"
