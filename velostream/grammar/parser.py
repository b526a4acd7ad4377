"""LALR grammar of the velostream SQL dialect (PLY yacc) → AST.

Owns the grammar rules and syntax errors. Parse tables live in the generated module
``_parsetab.py`` shipped with the package (regenerate with ``python -m
velostream.grammar.build_tables``; a test fails when it is stale), so importing the parser never
rebuilds them.

Expressions follow PostgreSQL's two-level scheme: ``a_expr`` is any expression; ``b_expr`` has no
boolean or comparison operators and is used for BETWEEN bounds, so ``x BETWEEN 1 AND 2 AND y``
needs no precedence tricks. Actions build nodes from ``ast``; positions are taken from the first
token of each construct (the operator, for binary operators).
"""

from __future__ import annotations

import copy
import functools
import sys
import threading

from ply import yacc

from velostream.errors import SqlSyntaxError
from velostream.grammar import ast as A
from velostream.grammar.lexer import (
    KEYWORDS,
    TOKEN_NAMES,
    UNRESERVED,
    QuotedName,
    make_lexer,
    tokens,
)

# PostgreSQL's levels: IS binds looser than comparisons, which bind looser than IN/LIKE/BETWEEN.
# The printer's table (printer.PRECEDENCE) must agree with this one.
precedence = (
    ("left", "OR"),
    ("left", "AND"),
    ("right", "NOT"),
    ("nonassoc", "IS"),
    ("nonassoc", "EQ", "NE", "LT", "LE", "GT", "GE"),
    ("nonassoc", "LIKE", "IN", "BETWEEN"),
    ("left", "CONCAT"),
    ("left", "PLUS", "MINUS"),
    ("left", "STAR", "SLASH", "PERCENT"),
    ("right", "UMINUS"),
    ("left", "LBRACKET", "DOT"),
)

# Interval unit spellings → canonical unit.
UNIT_ALIASES = {
    "MS": "MILLISECOND", "MILLISECOND": "MILLISECOND", "MILLISECONDS": "MILLISECOND",
    "S": "SECOND", "SEC": "SECOND", "SECS": "SECOND", "SECOND": "SECOND", "SECONDS": "SECOND",
    "M": "MINUTE", "MIN": "MINUTE", "MINS": "MINUTE", "MINUTE": "MINUTE", "MINUTES": "MINUTE",
    "H": "HOUR", "HOUR": "HOUR", "HOURS": "HOUR",
    "D": "DAY", "DAY": "DAY", "DAYS": "DAY",
}
WINDOW_KINDS = ("TUMBLING", "SLIDING", "HOPPING", "SESSION")
# Functions SQL lets you call without parentheses.
NILADIC_FUNCTIONS = frozenset({"CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME", "LOCALTIMESTAMP"})
EXTRACT_FIELDS = frozenset({
    "YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "DOW", "DOY", "HOUR", "MINUTE", "SECOND",
    "MILLISECOND", "EPOCH",
})


def _pos(p, n: int) -> A.Pos:
    """Position of the n-th symbol of the rule: a token's own, or the child node's."""
    value = p[n]
    if isinstance(value, A.Node) and value.pos is not None:
        return value.pos
    return A.Pos(*p.lexer.position(p.lexpos(n)))


def _fail(message: str, pos: A.Pos):
    raise SqlSyntaxError(message, pos.line, pos.column)


# --------------------------------------------------------------------------- script

def p_start(p):
    """start : script
             | FRAGMENT_WINDOW window_spec
             | FRAGMENT_EXPR a_expr"""
    p[0] = p[1] if len(p) == 2 else p[2]


def p_script(p):
    """script : stmt_seq
              | stmt_seq statement"""
    statements = p[1]
    if len(p) == 3:
        end = p.lexer.last_end
        statements.append(_with_end(p[2], A.Pos(*p.lexer.position(max(end - 1, 0)))))
    p[0] = A.Script(statements, pos=A.Pos(1, 1))


def p_stmt_seq(p):
    """stmt_seq : empty
                | stmt_seq SEMI
                | stmt_seq statement SEMI"""
    if len(p) == 2:
        p[0] = []
        return
    p[0] = p[1]
    if len(p) == 4:
        p[0].append(_with_end(p[2], A.Pos(*p.lexer.position(p.lexpos(3)))))


def _with_end(node, end):
    object.__setattr__(node, "end", end)  # set once, before anyone else sees the node
    if isinstance(node, A.Explain):
        _with_end(node.statement, end)  # the explained statement ends where EXPLAIN's does
    return node


def p_statement(p):
    """statement : plain_statement
                 | EXPLAIN plain_statement"""
    # EXPLAIN takes any other statement (not another EXPLAIN); what it prints is the planner's.
    p[0] = p[1] if len(p) == 2 else A.Explain(p[2], pos=_pos(p, 1))


def p_plain_statement(p):
    """plain_statement : select
                       | create
                       | start_job
                       | job_command
                       | show
                       | describe"""
    p[0] = p[1]


def p_create(p):
    """create : CREATE STREAM identifier AS select
              | CREATE TABLE identifier AS select"""
    cls = A.CreateStream if p[2].upper() == "STREAM" else A.CreateTable
    p[0] = cls(p[3], p[5], pos=_pos(p, 1))


def p_start_job(p):
    """start_job : START JOB identifier AS select
                 | START JOB identifier AS create
                 | START JOB identifier AS LPAREN select RPAREN
                 | START JOB identifier AS LPAREN create RPAREN"""
    body = p[5] if len(p) == 6 else p[6]
    p[0] = A.StartJob(p[3], body, pos=_pos(p, 1))


def p_job_command(p):
    """job_command : STOP JOB identifier
                   | PAUSE JOB identifier
                   | RESUME JOB identifier"""
    p[0] = A.JobCommand(p[1].upper(), p[3], pos=_pos(p, 1))


def p_show(p):
    """show : SHOW JOBS
            | SHOW STREAMS
            | SHOW TABLES"""
    p[0] = A.Show(p[2].upper(), pos=_pos(p, 1))


def p_describe(p):
    """describe : DESCRIBE identifier"""
    p[0] = A.Describe(p[2], pos=_pos(p, 1))


# --------------------------------------------------------------------------- SELECT

def p_select(p):
    """select : SELECT opt_distinct select_list opt_from opt_where window_group opt_having opt_order_by limit_emit opt_into opt_with"""
    window, group_by = p[6]
    limit, emit = p[9]
    p[0] = A.Select(
        distinct=p[2], items=p[3], from_=p[4], where=p[5], group_by=group_by, window=window,
        having=p[7], order_by=p[8], limit=limit, emit=emit, into=p[10], properties=p[11],
        pos=_pos(p, 1),
    )


def p_empty(p):
    """empty :"""
    p[0] = None


def p_opt_distinct(p):
    """opt_distinct : empty
                    | DISTINCT"""
    p[0] = p[1] is not None


def p_select_list(p):
    """select_list : select_item
                   | select_list COMMA select_item"""
    p[0] = [p[1]] if len(p) == 2 else p[1] + [p[3]]


def p_select_item_star(p):
    """select_item : STAR
                   | c_expr DOT STAR"""
    if len(p) == 2:
        p[0] = A.Star(pos=_pos(p, 1))
        return
    if not isinstance(p[1], A.Column):
        _fail("'.*' must follow a source name or alias", _pos(p, 1))
    p[0] = A.Star(p[1].parts, pos=_pos(p, 1))


def p_select_item(p):
    """select_item : a_expr opt_alias
                   | a_expr opt_alias PRIMARY KEY"""
    p[0] = A.SelectItem(p[1], p[2], len(p) == 5, pos=_pos(p, 1))


def p_opt_alias(p):
    """opt_alias : empty
                 | identifier
                 | AS identifier"""
    p[0] = p[len(p) - 1]


def p_opt_from(p):
    """opt_from : empty
                | FROM from_item"""
    p[0] = p[2] if len(p) == 3 else None


def p_from_item(p):
    """from_item : table_ref"""
    p[0] = p[1]


def p_from_item_join(p):
    """from_item : from_item join_type JOIN table_ref ON a_expr opt_within"""
    p[0] = A.Join(p[2][0], p[1], p[4], p[6], p[7], pos=p[2][1] or _pos(p, 3))


def p_from_item_cross(p):
    """from_item : from_item CROSS JOIN table_ref
                 | from_item COMMA table_ref"""
    right = p[len(p) - 1]
    p[0] = A.Join("CROSS", p[1], right, pos=_pos(p, 2))


def p_join_type(p):
    """join_type : empty
                 | INNER
                 | LEFT opt_outer
                 | RIGHT opt_outer
                 | FULL opt_outer"""
    if p[1] is None:
        p[0] = ("INNER", None)
    else:
        p[0] = (p[1].upper(), _pos(p, 1))


def p_opt_outer(p):
    """opt_outer : empty
                 | OUTER"""


def p_opt_within(p):
    """opt_within : empty
                  | WITHIN duration"""
    p[0] = p[2] if len(p) == 3 else None


def p_table_ref(p):
    """table_ref : identifier opt_alias"""
    p[0] = A.TableRef(p[1], p[2], pos=_pos(p, 1))


def p_opt_where(p):
    """opt_where : empty
                 | WHERE a_expr"""
    p[0] = p[2] if len(p) == 3 else None


def p_window_group(p):
    """window_group : empty
                    | window_clause
                    | group_by_clause
                    | window_clause group_by_clause
                    | group_by_clause window_clause"""
    # The product documents write WINDOW both before and after GROUP BY.
    window, group_by = None, ()
    for part in p[1:]:
        if isinstance(part, A.Window):
            window = part
        elif part is not None:
            group_by = part
    p[0] = (window, group_by)


def p_group_by_clause(p):
    """group_by_clause : GROUP BY expr_list"""
    p[0] = tuple(p[3])


def p_window_clause(p):
    """window_clause : WINDOW window_spec"""
    p[0] = p[2]


def p_window_spec(p):
    """window_spec : identifier LPAREN window_args RPAREN"""
    p[0] = _build_window(p[1], _pos(p, 1), p[3])


def p_window_args(p):
    """window_args : window_arg
                   | window_args COMMA window_arg"""
    p[0] = [p[1]] if len(p) == 2 else p[1] + [p[3]]


def p_window_arg(p):
    """window_arg : a_expr"""
    p[0] = p[1]


def p_window_arg_timeout(p):
    """window_arg : identifier duration"""
    # SESSION (TIMEOUT 30 MINUTES)
    if p[1].upper() != "TIMEOUT":
        _fail(f"unexpected {p[1]!r} in window specification; did you mean TIMEOUT?", _pos(p, 1))
    p[0] = ("TIMEOUT", p[2])


def _as_duration(arg):
    """A window argument as an Interval: bare integers are seconds; None if not a duration."""
    if isinstance(arg, A.Interval):
        return arg
    if isinstance(arg, A.IntegerLit):
        return A.Interval(arg.value, "SECOND", pos=arg.pos)
    return None


def _build_window(name: str, pos: A.Pos, args: list) -> A.Window:
    kind = name.upper()
    if kind not in WINDOW_KINDS:
        _fail(f"unknown window type {name!r}; expected one of {', '.join(WINDOW_KINDS)}", pos)
    time_column = None
    rest = list(args)
    if rest and isinstance(rest[0], A.Column) and len(rest) > 1:
        time_column = rest.pop(0)
    timeouts = [a for a in rest if isinstance(a, tuple)]
    if timeouts and (kind != "SESSION" or len(rest) != 1):
        _fail("TIMEOUT is only valid as the single argument of SESSION(…)", pos)
    durations = []
    for arg in rest:
        duration = arg[1] if isinstance(arg, tuple) else _as_duration(arg)
        if duration is None:
            where = arg.pos if isinstance(arg, A.Node) and arg.pos else pos
            _fail(f"{kind} expects a duration such as 5m, 30s or INTERVAL '5' MINUTE", where)
        if duration.value <= 0:
            _fail("window durations must be positive", duration.pos or pos)
        durations.append(duration)
    allowed = {"TUMBLING": (1,), "SLIDING": (1, 2), "HOPPING": (2,), "SESSION": (1,)}[kind]
    if len(durations) not in allowed:
        expected = {
            "TUMBLING": "TUMBLING(size) or TUMBLING(time_column, size)",
            "SLIDING": "SLIDING(size[, advance]) or SLIDING(time_column, size, advance)",
            "HOPPING": "HOPPING(size, advance) or HOPPING(time_column, size, advance)",
            "SESSION": "SESSION(gap), SESSION(time_column, gap) or SESSION(TIMEOUT gap)",
        }[kind]
        _fail(f"wrong number of arguments for {kind}; expected {expected}", pos)
    advance = durations[1] if len(durations) == 2 else None
    return A.Window(kind, durations[0], time_column, advance, pos=pos)


def p_opt_having(p):
    """opt_having : empty
                  | HAVING a_expr"""
    p[0] = p[2] if len(p) == 3 else None


def p_opt_order_by(p):
    """opt_order_by : empty
                    | ORDER BY order_list"""
    p[0] = tuple(p[3]) if len(p) == 4 else ()


def p_order_list(p):
    """order_list : order_item
                  | order_list COMMA order_item"""
    p[0] = [p[1]] if len(p) == 2 else p[1] + [p[3]]


def p_order_item(p):
    """order_item : a_expr opt_direction opt_nulls"""
    p[0] = A.OrderItem(p[1], p[2], p[3], pos=_pos(p, 1))


def p_opt_direction(p):
    """opt_direction : empty
                     | ASC
                     | DESC"""
    p[0] = p[1] is not None and p[1].upper() == "DESC"


def p_opt_nulls(p):
    """opt_nulls : empty
                 | NULLS FIRST
                 | NULLS LAST"""
    p[0] = p[2].upper() if len(p) == 3 else None


def p_limit_emit(p):
    """limit_emit : empty
                  | limit_clause
                  | emit_clause
                  | limit_clause emit_clause
                  | emit_clause limit_clause"""
    # ksqlDB writes EMIT CHANGES before LIMIT, the documents after: both are accepted.
    limit = emit = None
    for part in p[1:]:
        if isinstance(part, int):
            limit = part
        elif isinstance(part, str):
            emit = part
    p[0] = (limit, emit)


def p_limit_clause(p):
    """limit_clause : LIMIT INTEGER"""
    p[0] = p[2]


def p_emit_clause(p):
    """emit_clause : EMIT CHANGES
                   | EMIT FINAL"""
    p[0] = p[2].upper()


def p_opt_into(p):
    """opt_into : empty
                | INTO sink_list"""
    p[0] = tuple(p[2]) if len(p) == 3 else ()


def p_sink_list(p):
    """sink_list : sink
                 | sink_list COMMA sink"""
    p[0] = [p[1]] if len(p) == 2 else p[1] + [p[3]]


def p_sink(p):
    """sink : identifier"""
    p[0] = A.SinkRef(p[1], pos=_pos(p, 1))


def p_opt_with(p):
    """opt_with : empty
                | WITH LPAREN property_list RPAREN"""
    p[0] = tuple(p[3]) if len(p) == 5 else ()


def p_property_list(p):
    """property_list : property
                     | property_list COMMA property"""
    p[0] = [p[1]] if len(p) == 2 else p[1] + [p[3]]


def p_property(p):
    """property : property_key EQ property_value"""
    p[0] = A.Property(p[1], p[3], pos=_pos(p, 1))


def p_property_key(p):
    """property_key : STRING
                    | identifier"""
    p[0] = p[1]
    p.set_lexpos(0, p.lexpos(1))


def p_property_value(p):
    """property_value : STRING
                      | INTEGER
                      | DECIMAL
                      | FLOAT
                      | DURATION
                      | TRUE
                      | FALSE
                      | MINUS INTEGER
                      | MINUS DECIMAL"""
    # Property values are text; unquoted numbers and booleans are accepted as a convenience.
    text = "".join(str(v) for v in p[1:])
    p[0] = text.lower() if text.upper() in ("TRUE", "FALSE") else text


# --------------------------------------------------------------------------- expressions

def p_expr_list(p):
    """expr_list : a_expr
                 | expr_list COMMA a_expr"""
    p[0] = [p[1]] if len(p) == 2 else p[1] + [p[3]]


def p_a_expr_c(p):
    """a_expr : c_expr"""
    p[0] = p[1]


_BINARY = {"||": "||", "<>": "!=", "==": "="}


def p_a_expr_binary(p):
    """a_expr : a_expr OR a_expr
              | a_expr AND a_expr
              | a_expr EQ a_expr
              | a_expr NE a_expr
              | a_expr LT a_expr
              | a_expr LE a_expr
              | a_expr GT a_expr
              | a_expr GE a_expr
              | a_expr CONCAT a_expr
              | a_expr PLUS a_expr
              | a_expr MINUS a_expr
              | a_expr STAR a_expr
              | a_expr SLASH a_expr
              | a_expr PERCENT a_expr"""
    op = p[2].upper()
    p[0] = A.BinaryOp(_BINARY.get(op, op), p[1], p[3], pos=_pos(p, 2))


def p_a_expr_unary(p):
    """a_expr : NOT a_expr
              | MINUS a_expr %prec UMINUS
              | PLUS a_expr %prec UMINUS"""
    p[0] = A.UnaryOp(p[1].upper(), p[2], pos=_pos(p, 1))


def p_a_expr_is_null(p):
    """a_expr : a_expr IS NULL
              | a_expr IS NOT NULL"""
    p[0] = A.IsNull(p[1], len(p) == 5, pos=_pos(p, 2))


def p_a_expr_in(p):
    """a_expr : a_expr IN LPAREN expr_list RPAREN
              | a_expr NOT IN LPAREN expr_list RPAREN"""
    negated = len(p) == 7
    p[0] = A.InList(p[1], p[len(p) - 2], negated, pos=_pos(p, 2))


def p_a_expr_like(p):
    """a_expr : a_expr LIKE a_expr
              | a_expr NOT LIKE a_expr %prec LIKE"""
    negated = len(p) == 5
    p[0] = A.Like(p[1], p[len(p) - 1], negated, pos=_pos(p, 2))


def p_a_expr_between(p):
    """a_expr : a_expr BETWEEN b_expr AND b_expr %prec BETWEEN
              | a_expr NOT BETWEEN b_expr AND b_expr %prec BETWEEN"""
    negated = len(p) == 7
    low, high = (p[4], p[6]) if negated else (p[3], p[5])
    p[0] = A.Between(p[1], low, high, negated, pos=_pos(p, 2))


def p_b_expr_c(p):
    """b_expr : c_expr"""
    p[0] = p[1]


def p_b_expr_binary(p):
    """b_expr : b_expr CONCAT b_expr
              | b_expr PLUS b_expr
              | b_expr MINUS b_expr
              | b_expr STAR b_expr
              | b_expr SLASH b_expr
              | b_expr PERCENT b_expr"""
    p[0] = A.BinaryOp(p[2], p[1], p[3], pos=_pos(p, 2))


def p_b_expr_unary(p):
    """b_expr : MINUS b_expr %prec UMINUS
              | PLUS b_expr %prec UMINUS"""
    p[0] = A.UnaryOp(p[1], p[2], pos=_pos(p, 1))


def p_c_expr_paren(p):
    """c_expr : LPAREN a_expr RPAREN"""
    p[0] = p[2]


def p_c_expr_literal(p):
    """c_expr : INTEGER
              | DECIMAL
              | FLOAT
              | STRING
              | TRUE
              | FALSE
              | NULL"""
    token = p.slice[1].type
    pos = _pos(p, 1)
    value = p[1]
    if token == "INTEGER":
        if value > 0x7FFF_FFFF_FFFF_FFFF:
            _fail(f"integer literal {value} does not fit in BIGINT; write it as {value}.0 for a DECIMAL", pos)
        p[0] = A.IntegerLit(value, pos=pos)
    elif token == "DECIMAL":
        p[0] = A.DecimalLit(value if value[0] != "." else "0" + value, pos=pos)
    elif token == "FLOAT":
        p[0] = A.FloatLit(value, pos=pos)
    elif token == "STRING":
        p[0] = A.StringLit(value, pos=pos)
    elif token == "NULL":
        p[0] = A.NullLit(pos=pos)
    else:
        p[0] = A.BooleanLit(token == "TRUE", pos=pos)


def p_c_expr_interval(p):
    """c_expr : interval"""
    p[0] = p[1]


def p_c_expr_column(p):
    """c_expr : identifier"""
    pos = _pos(p, 1)
    if p[1].upper() in NILADIC_FUNCTIONS and not isinstance(p[1], QuotedName):
        p[0] = A.FunctionCall(p[1].upper(), pos=pos)
    else:
        p[0] = A.Column((p[1],), pos=pos)


def p_c_expr_field(p):
    """c_expr : c_expr DOT identifier"""
    if isinstance(p[1], A.Column):
        p[0] = A.Column(p[1].parts + (p[3],), pos=p[1].pos)
    else:
        p[0] = A.FieldAccess(p[1], p[3], pos=_pos(p, 1))


def p_c_expr_subscript(p):
    """c_expr : c_expr LBRACKET a_expr RBRACKET"""
    p[0] = A.Subscript(p[1], p[3], pos=_pos(p, 1))


def p_c_expr_case(p):
    """c_expr : CASE when_list opt_else END
              | CASE a_expr when_list opt_else END"""
    if len(p) == 5:
        p[0] = A.Case(None, p[2], p[3], pos=_pos(p, 1))
    else:
        p[0] = A.Case(p[2], p[3], p[4], pos=_pos(p, 1))


def p_when_list(p):
    """when_list : when
                 | when_list when"""
    p[0] = [p[1]] if len(p) == 2 else p[1] + [p[2]]


def p_when(p):
    """when : WHEN a_expr THEN a_expr"""
    p[0] = A.When(p[2], p[4], pos=_pos(p, 1))


def p_opt_else(p):
    """opt_else : empty
                | ELSE a_expr"""
    p[0] = p[2] if len(p) == 3 else None


def p_c_expr_cast(p):
    """c_expr : CAST LPAREN a_expr AS type_name RPAREN
              | CAST LPAREN a_expr COMMA STRING RPAREN"""
    type_ = p[5]
    if isinstance(type_, str):
        # The documents' CAST(x, 'FLOAT') spelling.
        type_ = _type_from_string(type_, _pos(p, 5))
    p[0] = A.Cast(p[3], type_, pos=_pos(p, 1))


def _type_from_string(text: str, pos: A.Pos) -> A.TypeName:
    import re

    match = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*", text)
    if not match:
        _fail(f"{text!r} is not a type name", pos)
    params = tuple(int(g) for g in match.groups()[1:] if g is not None)
    return A.TypeName(match.group(1).upper(), params, pos=pos)


def p_type_name(p):
    """type_name : identifier
                 | identifier LPAREN INTEGER RPAREN
                 | identifier LPAREN INTEGER COMMA INTEGER RPAREN"""
    params = tuple(p[i] for i in (3, 5) if len(p) > i and isinstance(p[i], int))
    p[0] = A.TypeName(p[1].upper(), params, pos=_pos(p, 1))


def p_c_expr_function(p):
    """c_expr : function_call
              | function_call OVER LPAREN over_body RPAREN"""
    call = p[1]
    if len(p) == 6:
        call = call.replace(over=p[4])
    p[0] = call


def p_function_call(p):
    """function_call : function_name LPAREN RPAREN
                     | function_name LPAREN STAR RPAREN
                     | function_name LPAREN expr_list RPAREN
                     | function_name LPAREN DISTINCT expr_list RPAREN"""
    name, pos = p[1]
    if len(p) == 4:
        p[0] = A.FunctionCall(name, pos=pos)
    elif len(p) == 6:
        p[0] = A.FunctionCall(name, p[4], distinct=True, pos=pos)
    elif p[3] == "*":
        p[0] = A.FunctionCall(name, star=True, pos=pos)
    else:
        p[0] = A.FunctionCall(name, p[3], pos=pos)


def p_function_name(p):
    """function_name : identifier
                     | LEFT
                     | RIGHT"""
    p[0] = (p[1].upper(), _pos(p, 1))


def p_function_call_extract(p):
    """function_call : function_name LPAREN identifier FROM a_expr RPAREN"""
    name, pos = p[1]
    if name != "EXTRACT":
        _fail(f"'FROM' inside the arguments of {name}(…) is only valid in EXTRACT(part FROM …)", _pos(p, 4))
    field = p[3].upper()
    if field not in EXTRACT_FIELDS:
        _fail(f"unknown EXTRACT field {p[3]!r}; expected one of {', '.join(sorted(EXTRACT_FIELDS))}", _pos(p, 3))
    p[0] = A.Extract(field, p[5], pos=pos)


def p_function_call_position(p):
    """function_call : POSITION LPAREN b_expr IN b_expr RPAREN"""
    p[0] = A.FunctionCall("POSITION", (p[3], p[5]), pos=_pos(p, 1))


def p_over_body(p):
    """over_body : window_order_frame
                 | frame
                 | ROWS WINDOW BUFFER INTEGER ROWS window_order_frame"""
    if len(p) == 2:
        p[0] = p[1] if isinstance(p[1], A.Over) else A.Over(frame=p[1])
    else:
        if p[4] <= 0:
            _fail("ROWS WINDOW BUFFER needs a positive row count", _pos(p, 4))
        p[0] = p[6].replace(buffer_rows=p[4])


def p_window_order_frame(p):
    """window_order_frame : empty
                          | PARTITION BY expr_list opt_order_by opt_frame
                          | ORDER BY order_list opt_frame"""
    if len(p) == 2:
        p[0] = A.Over()
    elif len(p) == 6:
        p[0] = A.Over(tuple(p[3]), p[4], p[5])
    else:
        p[0] = A.Over((), tuple(p[3]), p[4])


def p_opt_frame(p):
    """opt_frame : empty
                 | frame"""
    p[0] = p[1]


def p_frame(p):
    """frame : ROWS frame_bound
             | RANGE frame_bound
             | ROWS BETWEEN frame_bound AND frame_bound
             | RANGE BETWEEN frame_bound AND frame_bound"""
    unit = p[1].upper()
    if len(p) == 3:
        p[0] = A.Frame(unit, p[2], pos=_pos(p, 1))
    else:
        p[0] = A.Frame(unit, p[3], p[5], pos=_pos(p, 1))


def p_frame_bound(p):
    """frame_bound : UNBOUNDED PRECEDING
                   | UNBOUNDED FOLLOWING
                   | CURRENT ROW
                   | INTEGER PRECEDING
                   | INTEGER FOLLOWING
                   | interval PRECEDING
                   | interval FOLLOWING"""
    pos = _pos(p, 1)
    first = p[1]
    if isinstance(first, str) and first.upper() in ("UNBOUNDED", "CURRENT"):
        p[0] = A.FrameBound(f"{first.upper()} {p[2].upper()}", pos=pos)
    else:
        offset = A.IntegerLit(first, pos=pos) if isinstance(first, int) else first
        p[0] = A.FrameBound(p[2].upper(), offset, pos=pos)


# --------------------------------------------------------------------------- durations

def p_interval(p):
    """interval : INTERVAL STRING identifier
                | INTERVAL INTEGER identifier
                | DURATION"""
    if len(p) == 2:
        import re

        number, unit = re.fullmatch(r"(\d+)([a-z]+)", p[1]).groups()
        p[0] = A.Interval(int(number), UNIT_ALIASES[unit.upper()], pos=_pos(p, 1))
        return
    p[0] = _interval(p[2], p[3], _pos(p, 1), _pos(p, 3))


def _interval(amount, unit: str, pos: A.Pos, unit_pos: A.Pos) -> A.Interval:
    canonical = UNIT_ALIASES.get(unit.upper())
    if canonical is None:
        _fail(f"unknown interval unit {unit!r}; expected MILLISECOND, SECOND, MINUTE, HOUR or DAY",
              unit_pos)
    if isinstance(amount, str):
        text = amount.strip()
        if not text.isdigit():
            _fail(f"interval amount {amount!r} must be a whole number", pos)
        amount = int(text)
    return A.Interval(amount, canonical, pos=pos)


def p_duration(p):
    """duration : interval
                | INTEGER
                | INTEGER identifier"""
    # WITHIN / TIMEOUT: 5m, INTERVAL '5' MINUTE, 30 MINUTES (ksqlDB), or a bare number of seconds.
    if len(p) == 3:
        p[0] = _interval(p[1], p[2], _pos(p, 1), _pos(p, 2))
    elif isinstance(p[1], int):
        p[0] = A.Interval(p[1], "SECOND", pos=_pos(p, 1))
    else:
        p[0] = p[1]


# --------------------------------------------------------------------------- identifiers

def p_identifier(p):
    """identifier : ID
                  | EXPLAIN
                  | STREAM
                  | TABLE
                  | START
                  | STOP
                  | PAUSE
                  | RESUME
                  | JOB
                  | JOBS
                  | STREAMS
                  | TABLES
                  | SHOW
                  | DESCRIBE
                  | CHANGES
                  | FINAL
                  | KEY
                  | ROWS
                  | RANGE
                  | BUFFER
                  | PRECEDING
                  | FOLLOWING
                  | UNBOUNDED
                  | CURRENT
                  | ROW
                  | NULLS
                  | FIRST
                  | LAST"""
    p[0] = p[1]
    # Without PLY's (slow) position tracking a nonterminal has no position: carry the token's.
    p.set_lexpos(0, p.lexpos(1))


# --------------------------------------------------------------------------- errors

def _describe_token(tok) -> str:
    if tok.type == "ID":
        return f"identifier {tok.value!r}"
    if tok.type in KEYWORDS:
        return f"keyword {tok.value.upper()}"
    if tok.type == "STRING":
        return f"string {tok.value!r}"
    if tok.type in ("INTEGER", "DECIMAL", "FLOAT", "DURATION"):
        return f"{TOKEN_NAMES[tok.type].split(' (')[0]} {tok.value}"
    return TOKEN_NAMES.get(tok.type, repr(tok.value))


def _accepts(parser, states: list, token: str) -> bool:
    """Would the parser, in the configuration ``states``, accept ``token`` next?

    LALR tables merge look-aheads of different contexts, so the raw action table of the error
    state over-reports; replaying the reductions on a copy of the stack is exact.
    """
    stack = list(states)
    for _ in range(200):
        action = parser.action[stack[-1]].get(token)
        if action is None:
            return False
        if action > 0 or action == 0:
            return True
        production = parser.productions[-action]
        if production.len:
            del stack[-production.len:]
        target = parser.goto[stack[-1]].get(production.name)
        if target is None:
            return False
        stack.append(target)
    return False


def _expected(parser) -> list[str]:
    states = getattr(parser, "statestack", None)
    if not states:
        return []
    terminals = {t for row in parser.action.values() for t in row}
    names = set()
    identifier_ok = _accepts(parser, states, "ID")
    for token in terminals:
        if token in FRAGMENT_TOKENS or token == "error":
            continue
        if token in UNRESERVED and identifier_ok:
            continue  # "identifier" already covers the unreserved keywords
        if _accepts(parser, states, token):
            names.add(token if token in KEYWORDS else TOKEN_NAMES.get(token, token))
    # Long lists of every token that can start an expression (or every operator) read badly.
    groups = []
    if {"identifier", "integer", "'('"} <= names:
        names -= _EXPRESSION_STARTS
        groups.append("an expression")
    if {"'+'", "'*'", "AND"} <= names:
        names -= _OPERATORS
        groups.append("an operator")
    keywords = sorted(n for n in names if n.isupper())
    others = sorted(n for n in names if not n.isupper())
    return keywords + others + groups


_EXPRESSION_STARTS = frozenset({
    "CASE", "CAST", "FALSE", "INTERVAL", "LEFT", "NOT", "NULL", "RIGHT", "TRUE", "POSITION(",
    "'('", "'+'", "'-'", "decimal number", "duration (e.g. 5m)", "identifier", "integer",
    "number", "string"})
_OPERATORS = frozenset({
    "'+'", "'-'", "'*'", "'/'", "'%'", "'||'", "'='", "'!='", "'<'", "'<='", "'>'", "'>='",
    "'['", "'.'", "AND", "OR", "IS", "IN", "LIKE", "BETWEEN", "NOT"})


_STATEMENT_STARTS = frozenset({"SELECT", "CREATE", "START", "STOP", "PAUSE", "RESUME", "SHOW", "DESCRIBE",
                               "EXPLAIN"})


def p_error(tok):
    """Registered with PLY for the table build only: every parse installs its own error function
    (:func:`_syntax_error` bound to that parse's parser and tokens), so no parse state is global."""
    raise AssertionError("parse() installs a per-parse error function")


def _syntax_error(parser, stream, tok):
    expected = _expected(parser)
    if tok is None:
        offset = len(stream.lexdata.rstrip()) if stream.lexdata.strip() else 0
        line, column = stream.position(offset)
        message = "unexpected end of input"
    else:
        line, column = tok.lexer.position(tok.lexpos)
        message = f"unexpected {_describe_token(tok)}"
    hint = None
    if expected:
        shown = expected if len(expected) <= 16 else expected[:16] + ["…"]
        message += "; expected " + (shown[0] if len(shown) == 1 else "one of " + ", ".join(shown))
        if tok is not None and tok.type in _STATEMENT_STARTS and "';'" in expected:
            hint = "end the previous statement with ';'"
    raise SqlSyntaxError(message, line, column, hint=hint)


# --------------------------------------------------------------------------- driver

FRAGMENT_TOKENS = ("FRAGMENT_WINDOW", "FRAGMENT_EXPR")
tokens = tokens + FRAGMENT_TOKENS


class _TokenStream:
    """Wraps a PLY lexer: optional synthetic first token, and the end offset of the last token."""

    def __init__(self, lexer, first_type: str | None):
        self._lexer = lexer
        self._first = first_type
        self.lexdata = lexer.lexdata
        self.position = lexer.position
        self.last_end = 0

    def token(self):
        if self._first:
            import ply.lex

            tok = ply.lex.LexToken()
            tok.type, tok.value, tok.lineno, tok.lexpos = self._first, None, 1, 0
            tok.lexer = self
            self._first = None
            return tok
        tok = self._lexer.token()
        if tok is not None:
            self.last_end = self._lexer.lexpos
            tok.lexer = self
        return tok


def _build_parser(write_tables: bool = False, outputdir: str | None = None, debug: bool = False):
    return yacc.yacc(
        module=sys.modules[__name__],
        start="start",
        tabmodule="velostream.grammar._parsetab" if not outputdir else "_parsetab",
        outputdir=outputdir,
        write_tables=write_tables,
        debug=debug,
        errorlog=yacc.NullLogger() if not debug else yacc.PlyLogger(sys.stderr),
    )


# The LALR tables are built once (under a lock: two first parses must not both build them) and
# shared read-only; PLY's LRParser keeps the stacks of the parse in progress on itself, so every
# parse runs on its own shallow copy of it.
_tables = None
_tables_lock = threading.Lock()


def get_parser():
    """The shared LRParser holding the tables (do not parse with it: see :func:`parse`)."""
    global _tables
    if _tables is None:
        with _tables_lock:
            if _tables is None:
                _tables = _build_parser()
    return _tables


def parse(text: str, fragment: str | None = None):
    """Parse ``text``; ``fragment`` = None (a script), "window" or "expr". Thread-safe."""
    parser = copy.copy(get_parser())
    lexer = make_lexer(text)
    first = {None: None, "window": "FRAGMENT_WINDOW", "expr": "FRAGMENT_EXPR"}[fragment]
    stream = _TokenStream(lexer, first)
    parser.errorfunc = functools.partial(_syntax_error, parser, stream)
    try:
        return parser.parse(lexer=stream)
    finally:
        parser.errorfunc = None  # break the parser ↔ error function cycle now, not at a gc
