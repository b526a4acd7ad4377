"""The SQL type model of expressions: what a value is, and how types combine (DIALECT §3).

Owns :class:`SqlType` (a type name plus, for DECIMAL, the scale), the mapping between SQL types
and the physical column types of ``velostream._core.batch`` (``SqlType.code``), the rules that
give the result type of arithmetic and the common type of CASE / COALESCE / IN branches, and
the parsing of string literals into a type at compile time (``price > "100.00"``).

A DECIMAL is an exact ``ScaledInteger`` at most at the type's scale (each value keeps its own,
DIALECT §3), held in an int64 mantissa or, past that, wide: up to 38 digits and beyond. The type
carries the scale; ``CAST(x AS DECIMAL(p, s))`` and a declared ``DECIMAL(p, s)`` check ``p`` on
the value, and the precision written is kept on the type only to name it in messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from velostream._core import textparse as _text

# Physical column types: these mirror ``ColumnType`` in velostream/_core/batch.pxd (a test
# asserts they agree).
T_NULL, T_BOOL, T_INT64, T_FLOAT64, T_DECIMAL, T_STRING, T_TIMESTAMP, T_OBJECT = range(8)

MAX_DECIMAL_SCALE = 38
# The largest precision DECIMAL(p, s) accepts (Avro, Parquet, Flink, DuckDB); wider results stay
# exact (a wide ScaledInteger) where no DECIMAL(p, s) bounds them.
MAX_DECIMAL_PRECISION = 38
# CAST(x AS DECIMAL) without parameters is DECIMAL(18, 3), as in DuckDB.
DECIMAL_PRECISION = 18
DEFAULT_DECIMAL_SCALE = 3

_CODES = {
    "NULL": T_NULL, "BOOLEAN": T_BOOL, "BIGINT": T_INT64, "DOUBLE": T_FLOAT64,
    "DECIMAL": T_DECIMAL, "STRING": T_STRING, "TIMESTAMP": T_TIMESTAMP, "OBJECT": T_OBJECT,
}
_NAMES = {code: name for name, code in _CODES.items()}


@dataclass(frozen=True, slots=True)
class SqlType:
    """A SQL value type. ``scale`` is meaningful for DECIMAL only (0 otherwise)."""

    name: str
    scale: int = 0
    # DECIMAL(p, s) as written (a CAST, a declared schema): named in messages, not compared.
    precision: int | None = field(default=None, compare=False)

    def __post_init__(self):
        if self.name not in _CODES:
            raise ValueError(f"unknown SQL type {self.name!r}")
        if self.name != "DECIMAL" and self.scale:
            raise ValueError(f"{self.name} has no scale")
        if not 0 <= self.scale <= MAX_DECIMAL_SCALE:
            raise ValueError(f"DECIMAL scale must be 0..{MAX_DECIMAL_SCALE}, got {self.scale}")

    @property
    def code(self) -> int:
        """The physical column type (``ColumnType`` of batch.pxd) holding values of this type."""
        return _CODES[self.name]

    @property
    def is_numeric(self) -> bool:
        return self.name in ("BIGINT", "DOUBLE", "DECIMAL")

    @property
    def is_exact_numeric(self) -> bool:
        return self.name in ("BIGINT", "DECIMAL")

    @property
    def is_null(self) -> bool:
        return self.name == "NULL"

    def __str__(self) -> str:
        if self.name == "DECIMAL":
            return f"DECIMAL({self.precision or MAX_DECIMAL_PRECISION},{self.scale})"
        return self.name

    def __repr__(self) -> str:
        return f"SqlType({self})"


NULL = SqlType("NULL")
BOOLEAN = SqlType("BOOLEAN")
BIGINT = SqlType("BIGINT")
DOUBLE = SqlType("DOUBLE")
STRING = SqlType("STRING")
TIMESTAMP = SqlType("TIMESTAMP")
OBJECT = SqlType("OBJECT")


def DECIMAL(scale: int = DEFAULT_DECIMAL_SCALE, precision: int | None = None) -> SqlType:
    """The DECIMAL type at ``scale`` (``precision``: as written, for messages)."""
    return SqlType("DECIMAL", scale, precision)


def from_code(code: int, scale: int = 0) -> SqlType:
    """The SQL type of a physical column type (``Column.type``; ``scale`` for DECIMAL)."""
    name = _NAMES[code]
    return SqlType(name, scale if name == "DECIMAL" else 0)


def of_column(column) -> SqlType:
    """The SQL type of a batch column (a declared DECIMAL precision included)."""
    t = from_code(column.type, getattr(column, "scale", 0))
    precision = getattr(column, "precision", 0)
    return DECIMAL(t.scale, precision) if precision and t.name == "DECIMAL" else t


# --- CAST target types ----------------------------------------------------------------------------

# Names accepted in CAST (plan.validate.CAST_TYPES) and what they become. DATE and TIME have no
# type of their own yet: DATE is a TIMESTAMP at midnight UTC, TIME the text 'HH:MM:SS.mmm'.
_CAST_NAMES = {
    "BOOLEAN": "BOOLEAN", "BOOL": "BOOLEAN",
    "INTEGER": "BIGINT", "INT": "BIGINT", "BIGINT": "BIGINT", "SMALLINT": "BIGINT",
    "TINYINT": "BIGINT",
    "FLOAT": "DOUBLE", "DOUBLE": "DOUBLE", "REAL": "DOUBLE",
    "DECIMAL": "DECIMAL", "NUMERIC": "DECIMAL",
    "STRING": "STRING", "VARCHAR": "STRING", "TEXT": "STRING", "CHAR": "STRING",
    "TIMESTAMP": "TIMESTAMP", "DATE": "TIMESTAMP", "TIME": "STRING",
}


@dataclass(frozen=True, slots=True)
class CastTarget:
    """What ``CAST(x AS name(params))`` produces: the type, plus the checks and truncation the
    written parameters ask for."""

    type: SqlType
    precision: int | None = None  # DECIMAL(p, s): |value| < 10**(p - s)
    length: int | None = None     # VARCHAR(n): the first n characters
    date: bool = False            # DATE: truncated to midnight UTC
    time: bool = False            # TIME: 'HH:MM:SS.mmm'
    spelled: str = ""


def cast_target(name: str, params: tuple = ()) -> CastTarget | None:
    """The target of a CAST to ``name(params)``, or None if the type name is unknown."""
    base = _CAST_NAMES.get(name.upper())
    if base is None:
        return None
    spelled = name.upper() + (f"({', '.join(map(str, params))})" if params else "")
    if base == "DECIMAL":
        precision = params[0] if params else DECIMAL_PRECISION
        scale = params[1] if len(params) > 1 else (0 if params else DEFAULT_DECIMAL_SCALE)
        return CastTarget(DECIMAL(scale, precision), precision=precision, spelled=spelled)
    if base == "STRING":
        if name.upper() == "TIME":
            return CastTarget(STRING, time=True, spelled=spelled)
        return CastTarget(STRING, length=params[0] if params else None, spelled=spelled)
    if name.upper() == "DATE":
        return CastTarget(TIMESTAMP, date=True, spelled=spelled)
    return CastTarget(SqlType(base), spelled=spelled)


# --- combining types ------------------------------------------------------------------------------

def arithmetic_type(op: str, left: SqlType, right: SqlType) -> SqlType | None:
    """Result type of ``left op right`` for ``+ - * / %`` over numbers (DIALECT §3), or None.

    BIGINT op BIGINT is BIGINT, except ``/`` which is DOUBLE; DECIMAL with BIGINT or DECIMAL is
    DECIMAL (``+ - %`` keep the larger scale, ``*`` adds the scales, ``/`` gives the larger
    scale + 4, at most 38); anything with DOUBLE is DOUBLE. NULL takes the other side's part.
    """
    if left.is_null and right.is_null:
        return NULL
    if left.is_null:
        left = right
    if right.is_null:
        right = left
    if not (left.is_numeric and right.is_numeric):
        return None
    if "DOUBLE" in (left.name, right.name):
        return DOUBLE
    if left.name == right.name == "BIGINT":
        return DOUBLE if op == "/" else BIGINT
    ls, rs = left.scale, right.scale
    if op == "*":
        scale = ls + rs
    elif op == "/":
        scale = min(max(ls, rs) + 4, MAX_DECIMAL_SCALE)
    else:
        scale = max(ls, rs)
    return SqlType("DECIMAL", scale) if scale <= MAX_DECIMAL_SCALE else None


def numeric_common(a: SqlType, b: SqlType) -> SqlType | None:
    """The type two numbers are compared or combined in: DOUBLE if either is, else DECIMAL at the
    larger scale if either is, else BIGINT."""
    if not (a.is_numeric and b.is_numeric):
        return None
    if "DOUBLE" in (a.name, b.name):
        return DOUBLE
    if "DECIMAL" in (a.name, b.name):
        return DECIMAL(max(a.scale, b.scale))
    return BIGINT


def common_type(types) -> SqlType | None:
    """The type CASE / COALESCE / IN / LEAST … branches are brought to, or None if they do not
    mix. NULL mixes with anything; OBJECT (untyped nested data) absorbs everything."""
    result = NULL
    for t in types:
        if t.is_null:
            continue
        if result.is_null or result == t:
            result = t
        elif result.name == "OBJECT" or t.name == "OBJECT":
            result = OBJECT
        else:
            combined = numeric_common(result, t)
            if combined is None:
                return None
            result = combined
    return result


def comparable(a: SqlType, b: SqlType) -> SqlType | None:
    """The type ``a`` and ``b`` are compared in, or None. TIMESTAMP compares with BIGINT as
    epoch milliseconds."""
    if a.is_null or b.is_null or a.name == "OBJECT" or b.name == "OBJECT":
        return common_type((a, b)) or OBJECT
    if {a.name, b.name} == {"TIMESTAMP", "BIGINT"}:
        return BIGINT
    return common_type((a, b))


# --- string literals into a type (DIALECT §3) -----------------------------------------------------

# The text rules (ASCII digits, ISO-8601 timestamps, boolean words) are the ground floor's, so a
# literal is read at compile time exactly as the run-time CAST reads it.
DECIMAL_TEXT = _text.DECIMAL_TEXT
parse_boolean_text = _text.parse_boolean_text


def literal_type(text: str, target: SqlType) -> SqlType | None:
    """The type a string literal takes when compared with a ``target`` value, or None when the
    text does not parse as that type. A DECIMAL keeps the literal's own scale (the comparison
    stays exact: ``price > '100.005'`` is not rounded to the column's scale)."""
    name = target.name
    if name == "BIGINT":
        return BIGINT if _text.INTEGER_TEXT.match(text) else None
    if name == "DECIMAL":
        if not DECIMAL_TEXT.match(text):
            return None
        try:
            exponent = Decimal(text.strip()).as_tuple().exponent
        except InvalidOperation:
            return None
        return DECIMAL(min(max(-exponent, 0), MAX_DECIMAL_SCALE))
    if name == "DOUBLE":
        try:
            float(text)
        except ValueError:
            return None
        return DOUBLE
    if name == "TIMESTAMP":
        try:
            _text.parse_timestamp_text(text)
        except _text.TimestampError:
            return None
        return TIMESTAMP
    if name == "BOOLEAN":
        return BOOLEAN if parse_boolean_text(text) is not None else None
    return STRING


__all__ = [
    "BIGINT",
    "BOOLEAN",
    "DECIMAL",
    "DECIMAL_TEXT",
    "DOUBLE",
    "MAX_DECIMAL_SCALE",
    "NULL",
    "OBJECT",
    "STRING",
    "TIMESTAMP",
    "CastTarget",
    "SqlType",
    "arithmetic_type",
    "cast_target",
    "common_type",
    "comparable",
    "from_code",
    "literal_type",
    "numeric_common",
    "of_column",
    "parse_boolean_text",
]
