"""The function catalog: every function the dialect knows, as one table.

Owns function names, their kind (scalar / aggregate / window-only), argument counts, and whether
``f(*)`` or ``f(DISTINCT …)`` may be written. Validation (``plan.validate``) and, later, the
binder read it; nothing here evaluates anything. ``CAST`` and ``EXTRACT`` are AST nodes of their
own, not functions, so they are not listed.

Add a function by adding a row to ``_TABLE``: ``NAME[/ALIAS…]  kind  min  max  [flags]`` where
``max`` is ``*`` for variadic and flags are ``star`` (``f(*)`` allowed) and ``niladic`` (may be
called without parentheses, like ``CURRENT_TIMESTAMP``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

SCALAR = "scalar"
AGGREGATE = "aggregate"
WINDOW = "window"  # window-only: LAG, ROW_NUMBER, … (need OVER)


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    kind: str
    min_args: int
    max_args: int | None  # None = variadic
    star: bool = False  # f(*) allowed (COUNT only)
    niladic: bool = False  # may be written without parentheses

    @property
    def distinct(self) -> bool:
        """``f(DISTINCT …)`` is allowed for aggregates only."""
        return self.kind == AGGREGATE

    @property
    def is_aggregate(self) -> bool:
        return self.kind == AGGREGATE

    @property
    def is_window_only(self) -> bool:
        return self.kind == WINDOW

    def accepts(self, count: int) -> bool:
        return count >= self.min_args and (self.max_args is None or count <= self.max_args)

    def arity_text(self) -> str:
        """Expected argument count in words: 'no arguments', '1 argument', '2 to 3 arguments'…"""
        lo, hi = self.min_args, self.max_args
        if hi is None:
            return f"at least {lo} argument{'s' if lo != 1 else ''}"
        if lo == hi:
            return "no arguments" if lo == 0 else f"{lo} argument{'s' if lo != 1 else ''}"
        if hi == lo + 1:
            return f"{lo} or {hi} arguments"
        return f"{lo} to {hi} arguments"


# name[/aliases]      kind       min max  flags
_TABLE = """
# --- conditional (DIALECT §4)
IF                    scalar     3   3
COALESCE              scalar     1   *
NULLIF                scalar     2   2
LEAST                 scalar     1   *
GREATEST              scalar     1   *
# --- math
ABS                   scalar     1   1
ROUND                 scalar     1   2
FLOOR                 scalar     1   1
CEIL/CEILING          scalar     1   1
SQRT                  scalar     1   1
POWER/POW             scalar     2   2
MOD                   scalar     2   2
EXP                   scalar     1   1
LN                    scalar     1   1
LOG10                 scalar     1   1
# --- string
UPPER                 scalar     1   1
LOWER                 scalar     1   1
LENGTH                scalar     1   1
BYTE_LENGTH           scalar     1   1
SUBSTRING/SUBSTR      scalar     2   3
CONCAT                scalar     1   *
CONCAT_WS             scalar     2   *
TRIM                  scalar     1   2
LTRIM                 scalar     1   2
RTRIM                 scalar     1   2
REPLACE               scalar     3   3
LPAD                  scalar     2   3
RPAD                  scalar     2   3
SPLIT_PART            scalar     3   3
POSITION              scalar     2   2
REGEXP_REPLACE        scalar     3   3    # RE2 syntax, every match (README "What works today")
LEFT                  scalar     2   2
RIGHT                 scalar     2   2
# --- time (processing time: CURRENT_TIMESTAMP, NOW(), TIMESTAMP())
CURRENT_TIMESTAMP     scalar     0   0    niladic
CURRENT_DATE          scalar     0   0    niladic
CURRENT_TIME          scalar     0   0    niladic
LOCALTIMESTAMP        scalar     0   0    niladic
NOW                   scalar     0   0
TIMESTAMP             scalar     0   0
DATE_TRUNC            scalar     2   2
DATE_FORMAT           scalar     2   2
FROM_UNIXTIME         scalar     1   2
UNIX_TIMESTAMP        scalar     0   1
TUMBLE_START          scalar     0   2
TUMBLE_END            scalar     0   2
# --- JSON, Kafka
JSON_VALUE            scalar     2   2
JSON_EXTRACT          scalar     2   2
JSON_QUERY            scalar     2   2
JSON_EXISTS           scalar     2   2
HEADER                scalar     1   1
# --- aggregates (DIALECT §5); any of them may also take OVER (…) (moving aggregates)
COUNT                 aggregate  1   1    star
SUM                   aggregate  1   1
AVG                   aggregate  1   1
MIN                   aggregate  1   1
MAX                   aggregate  1   1
STDDEV                aggregate  1   1
STDDEV_SAMP           aggregate  1   1
STDDEV_POP            aggregate  1   1
VARIANCE              aggregate  1   1
VAR_SAMP              aggregate  1   1
VAR_POP               aggregate  1   1
FIRST_VALUE           aggregate  1   1
LAST_VALUE            aggregate  1   1
LISTAGG               aggregate  1   2
STRING_AGG            aggregate  1   2
MEDIAN                aggregate  1   1
APPROX_COUNT_DISTINCT aggregate  1   1
# --- window-only functions (need OVER)
LAG                   window     1   3
LEAD                  window     1   3
ROW_NUMBER            window     0   0
RANK                  window     0   0
DENSE_RANK            window     0   0
PERCENT_RANK          window     0   0
CUME_DIST             window     0   0
NTILE                 window     1   1
NTH_VALUE             window     2   2
"""

# Functions whose value is the window being emitted: allowed in a windowed aggregation without
# appearing in GROUP BY (like the _window_start / _window_end pseudo-columns).
WINDOW_BOUND_FUNCTIONS = frozenset({"TUMBLE_START", "TUMBLE_END"})


def _load(table: str) -> dict[str, FunctionSpec]:
    specs: dict[str, FunctionSpec] = {}
    for raw in table.strip().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        names, kind, lo, hi, *flags = line.split()
        if kind not in (SCALAR, AGGREGATE, WINDOW):
            raise ValueError(f"function table: bad kind {kind!r} in {raw!r}")
        for name in names.split("/"):
            specs[name] = FunctionSpec(
                name=name, kind=kind, min_args=int(lo), max_args=None if hi == "*" else int(hi),
                star="star" in flags, niladic="niladic" in flags)
    return specs


FUNCTIONS: dict[str, FunctionSpec] = _load(_TABLE)


def lookup(name: str) -> FunctionSpec | None:
    """The spec of function ``name`` (any case), or None if the dialect has no such function."""
    return FUNCTIONS.get(name.upper())


def suggest(name: str, n: int = 3) -> list[str]:
    """Known function names close to ``name`` (for 'did you mean …' hints), best first."""
    return difflib.get_close_matches(name.upper(), FUNCTIONS, n=n, cutoff=0.6)


def names(kind: str | None = None) -> list[str]:
    """All function names (of one kind, if given), sorted."""
    return sorted(n for n, s in FUNCTIONS.items() if kind is None or s.kind == kind)


__all__ = [
    "AGGREGATE",
    "FUNCTIONS",
    "SCALAR",
    "WINDOW",
    "WINDOW_BOUND_FUNCTIONS",
    "FunctionSpec",
    "lookup",
    "names",
    "suggest",
]
