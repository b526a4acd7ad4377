"""A pure-Python stand-in for ``velostream._core.aggregate`` (the aggkernel branch) with the
agreed interface, so the operator can be tested before the kernel lands. Tests only; removed
once the kernel is merged."""

from array import array
from decimal import Decimal

from velostream._core import batch as B

T_NULL, T_BOOL, T_INT64, T_FLOAT64, T_DECIMAL, T_STRING, T_TIMESTAMP = range(7)


class GroupTable:
    def __init__(self, key_count):
        self.key_count = key_count
        self._ids = {}
        self._keys = {}
        self._free = []
        self._next = 0

    def assign(self, key_columns, n):
        out = array("q")
        rows = [tuple(c.get(i) for c in key_columns) for i in range(n)]
        for key in rows:
            gid = self._ids.get(key)
            if gid is None:
                gid = self._free.pop() if self._free else self._next
                if gid == self._next:
                    self._next += 1
                self._ids[key] = gid
                self._keys[gid] = key
            out.append(gid)
        self._types = [c.type for c in key_columns]
        return out

    def keys(self, group_ids):
        cols = []
        for k in range(self.key_count):
            values = [self._keys[g][k] for g in group_ids]
            t = self._types[k]
            if t == T_TIMESTAMP:
                cols.append(B.timestamp_column(values) if hasattr(B, "timestamp_column")
                            else B.column_from_values(values))
            else:
                cols.append(B.column_from_values(values))
        return cols

    def release(self, group_ids):
        for g in group_ids:
            key = self._keys.pop(g)
            del self._ids[key]
            self._free.append(g)

    @property
    def live(self):
        return len(self._ids)


class Accumulator:
    def __init__(self, function, input_type, *, distinct=False, options=None):
        self.function = function
        self.input_type = input_type
        self.distinct = distinct
        self.state = {}

    @property
    def result_type(self):
        return T_INT64 if self.function.startswith("count") else self.input_type

    def _fold(self, g, v):
        f = self.function
        s = self.state.get(g)
        if f == "count_star":
            self.state[g] = (s or 0) + 1
            return
        if v is None:
            self.state.setdefault(g, None if f != "count" else 0)
            return
        if f == "count":
            if self.distinct:
                s = s if isinstance(s, set) else set()
                s.add(v)
                self.state[g] = s
            else:
                self.state[g] = (s or 0) + 1
        elif f in ("sum", "avg"):
            total, cnt = s or (0, 0)
            self.state[g] = (total + (Decimal(str(v)) if self.input_type == T_DECIMAL else v),
                             cnt + 1)
        elif f == "min":
            self.state[g] = v if s is None else min(s, v)
        elif f == "max":
            self.state[g] = v if s is None else max(s, v)

    def _value(self, g):
        f = self.function
        s = self.state.get(g)
        if f == "count_star":
            return s or 0
        if f == "count":
            return len(s) if isinstance(s, set) else (s or 0)
        if s is None:
            return None
        if f == "sum":
            return s[0]
        if f == "avg":
            if self.input_type == T_DECIMAL:
                return s[0] / s[1]
            return s[0] / s[1]
        return s

    def update(self, group_ids, column, n):
        for i in range(n):
            self._fold(group_ids[i], None if column is None else column.get(i))

    def update_running(self, group_ids, column, n):
        out = []
        for i in range(n):
            self._fold(group_ids[i], None if column is None else column.get(i))
            out.append(self._value(group_ids[i]))
        return self._column(out)

    def _column(self, values):
        if self.function in ("count_star", "count"):
            return B.int64_column(values) if hasattr(B, "int64_column") else B.column_from_values(values)
        if self.input_type == T_DECIMAL and self.function in ("sum", "avg", "min", "max"):
            return B.decimal_column(values)
        if self.function == "avg":
            return B.float64_column(values)
        return B.column_from_values(values)

    def result(self, group_ids):
        return self._column([self._value(g) for g in group_ids])

    def merge(self, dst, src):
        s = self.state.pop(src, None)
        if s is None:
            return
        d = self.state.get(dst)
        f = self.function
        if d is None:
            self.state[dst] = s
        elif f in ("count_star",) or (f == "count" and not self.distinct):
            self.state[dst] = d + s
        elif f == "count":
            self.state[dst] = d | s
        elif f in ("sum", "avg"):
            self.state[dst] = (d[0] + s[0], d[1] + s[1])
        elif f == "min":
            self.state[dst] = min(d, s)
        elif f == "max":
            self.state[dst] = max(d, s)

    def reset(self, group_ids):
        for g in group_ids:
            self.state.pop(g, None)

    def snapshot(self, group_ids):
        import pickle
        return [pickle.dumps(self.state.get(g)) for g in group_ids]

    def restore(self, group_ids, states):
        import pickle
        for g, s in zip(group_ids, states):
            self.state[g] = pickle.loads(s)


def install():
    import sys

    try:
        import velostream._core.aggregate  # noqa: F401
    except ImportError:
        sys.modules["velostream._core.aggregate"] = sys.modules[__name__]
