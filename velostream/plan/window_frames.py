"""Planning of window functions: ``f(…) OVER (…)`` calls → WindowFunctionNodes.

Owns which calls the window-function operator runs, how an OVER clause's frame becomes row or
order-value offsets (the defaults are in ``runtime.window_functions``' docstring), the errors for
the forms it refuses, and rewriting the query so the projection reads each call's result column.
"""

from __future__ import annotations

from velostream.errors import SqlValidationError
from velostream.grammar import ast as A
from velostream.grammar import to_sql

SUPPORTED = frozenset({"ROW_NUMBER", "RANK", "DENSE_RANK", "LAG", "LEAD", "FIRST_VALUE",
                       "LAST_VALUE", "NTH_VALUE", "COUNT", "SUM", "AVG", "MIN", "MAX"})
_NO_FRAME = frozenset({"ROW_NUMBER", "RANK", "DENSE_RANK", "LAG", "LEAD"})


def _error(node, message):
    pos = node.pos
    return SqlValidationError(message, pos.line if pos else 0, pos.column if pos else 0)


def _const_int(node, what):
    value = node
    negative = False
    if isinstance(value, A.UnaryOp) and value.op == "-":
        negative, value = True, value.operand
    if not isinstance(value, A.IntegerLit):
        raise _error(node, f"{what} must be a constant integer")
    return -value.value if negative else value.value


def _offset(bound, rows, call):
    """A frame bound's offset in rows (ROWS) or order-value units (RANGE; intervals in ms)."""
    off = bound.offset
    if isinstance(off, A.IntegerLit):
        return off.value
    if isinstance(off, A.Interval):
        if rows:
            raise _error(bound, "a ROWS frame counts rows: use an integer, not an interval "
                                "(or RANGE for a time frame)")
        return A.interval_millis(off)
    raise _error(bound, f"frame offset of {call.name} must be a constant")


def frame_of(call):
    """``(rows, start_unbounded, start, end, text)`` of the frame ``call`` runs over."""
    over = call.over
    if over.buffer_rows is not None:
        n = over.buffer_rows
        return True, False, -(n - 1), 0, f"ROWS BETWEEN {n - 1} PRECEDING AND CURRENT ROW"
    frame = over.frame
    if frame is None:
        if over.order_by:
            return False, True, 0, 0, "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
        return True, True, 0, 0, "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    rows = frame.unit == "ROWS"
    end = frame.end or A.FrameBound("CURRENT ROW", pos=frame.pos)

    def bound(b, is_start):
        if b.kind == "UNBOUNDED PRECEDING":
            if not is_start:
                raise _error(b, "a frame cannot end at UNBOUNDED PRECEDING")
            return True, 0
        if b.kind == "UNBOUNDED FOLLOWING":
            raise _error(b, "UNBOUNDED FOLLOWING needs the end of the partition, which a "
                            "stream never reaches; use n FOLLOWING")
        if b.kind == "CURRENT ROW":
            return False, 0
        off = _offset(b, rows, call)
        return False, -off if b.kind == "PRECEDING" else off

    s_unb, start = bound(frame.start, True)
    _, stop = bound(end, False)
    if not s_unb and start > stop:
        raise _error(frame, "the frame starts after it ends")
    def text(unb, off, is_start):
        if unb:
            return "UNBOUNDED PRECEDING"
        if off == 0:
            return "CURRENT ROW"
        return f"{abs(off)} {'PRECEDING' if off < 0 else 'FOLLOWING'}"

    return rows, s_unb, start, stop, (f"{frame.unit} BETWEEN {text(s_unb, start, True)} AND "
                                      f"{text(False, stop, False)}")


def _rewrite(node, mapping):
    """``node`` with every window call in ``mapping`` (by identity) replaced by its column."""
    if isinstance(node, A.FunctionCall) and id(node) in mapping:
        return A.Column((mapping[id(node)],), pos=node.pos)
    if not isinstance(node, A.Node):
        return node
    changes = {}
    for name in node.fields:
        value = getattr(node, name)
        if isinstance(value, A.Node):
            changes[name] = _rewrite(value, mapping)
        elif isinstance(value, tuple):
            changes[name] = tuple(_rewrite(v, mapping) for v in value)
    return node.replace(**changes) if changes else node


def _calls(nodes):
    found = []
    for root in nodes:
        if root is None:
            continue
        stack = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, A.FunctionCall) and node.over is not None:
                found.append(node)
                continue
            stack.extend(reversed(list(node.children())))
    return found


def plan_window_functions(query, params, planned, call_class, node_class):
    items = [i for i in query.items if isinstance(i, A.SelectItem)]
    calls = _calls([i.expr for i in items] + [o.expr for o in query.order_by])
    if not calls:
        return query, []
    if query.group_by:
        raise _error(calls[0], "window functions over a GROUP BY result are not supported yet")
    groups: dict = {}
    mapping: dict = {}
    columns: dict = {}
    for call in calls:
        name = call.name.upper()
        if name not in SUPPORTED:
            raise _error(call, f"{name}(…) OVER (…) is not supported yet (window functions: "
                               f"{', '.join(sorted(SUPPORTED))})")
        if call.distinct:
            raise _error(call, f"{name}(DISTINCT …) OVER (…) is not supported")
        key = (call.over.partition_by, call.over.order_by)
        same = (call.name.upper(), call.args, call.star, call.over)
        if same in columns:
            mapping[id(call)] = columns[same]
            continue
        group = groups.setdefault(key, [])
        column = f"__wf_{len(columns)}"
        columns[same] = column
        mapping[id(call)] = column
        group.append(_window_call(call, name, column, params, planned, call_class))
    nodes = []
    for i, ((partition_by, order_by), group) in enumerate(groups.items()):
        for o in order_by:
            if o.nulls is not None:
                raise _error(o, "NULLS FIRST / LAST inside OVER is not supported")
        nodes.append(node_class([planned(p, params) for p in partition_by],
                                [(planned(o.expr, params), o.descending) for o in order_by],
                                group, state_prefix=f"w{i}/".encode()))
    new_items = tuple(_rewrite(i, mapping) if isinstance(i, A.SelectItem) else i
                      for i in query.items)
    new_order = tuple(_rewrite(o, mapping) for o in query.order_by)
    return query.replace(items=new_items, order_by=new_order), nodes


def _window_call(call, name, column, params, planned, call_class):
    args = call.args
    pos = (call.pos.line, call.pos.column) if call.pos else (0, 0)
    wc = call_class(name, column, to_sql(call.replace(over=None)), position=pos)
    if name == "COUNT" and (call.star or not args):
        wc.function = "COUNT*"
    elif args:
        wc.argument = planned(args[0], params)
    if name in ("LAG", "LEAD"):
        if len(args) > 1:
            wc.offset = _const_int(args[1], f"the offset of {name}")
            if wc.offset < 0:
                raise _error(args[1], f"the offset of {name} must not be negative")
        if len(args) > 2:
            wc.default = planned(args[2], params)
    if name == "NTH_VALUE":
        wc.offset = _const_int(args[1], "the n of NTH_VALUE")
        if wc.offset < 1:
            raise _error(args[1], "the n of NTH_VALUE must be at least 1")
    if name not in _NO_FRAME:
        wc.rows, wc.start_unbounded, wc.start, wc.end, wc.frame = frame_of(call)
        if not wc.rows and len(call.over.order_by) != 1 and (
                (not wc.start_unbounded and wc.start != 0) or wc.end != 0):
            raise _error(call, "a RANGE frame with an offset needs exactly one ORDER BY key")
    return wc
