"""The compiler: name binding, validation errors with positions, folding, and the kernel tree."""

import pytest

from tests.expr import batch_of, ev
from velostream._core import batch as B
from velostream._core import expr as E
from velostream._core.decimal import ScaledInteger
from velostream.errors import SqlValidationError
from velostream.grammar import parse_expression, parse_statement
from velostream.plan import types as T
from velostream.plan.compile import CompiledExpression, compile_expression, schema_of

S = ScaledInteger
ROWS = [{"price": S("1.5000"), "quantity": 3, "symbol": "A", "ok": True, "f": 0.5}]


def compile_sql(sql, rows=ROWS, **kw):
    batch = batch_of(rows)
    return compile_expression(parse_expression(sql), schema_of(batch), **kw), batch


def error_of(sql, rows=ROWS):
    with pytest.raises(SqlValidationError) as info:
        compile_sql(sql, rows)
    return info.value


# --------------------------------------------------------------------------- schema and types

def test_schema_of_maps_columns_to_sql_types():
    assert schema_of(batch_of(ROWS)) == [("price", T.DECIMAL(4)), ("quantity", T.BIGINT),
                                         ("symbol", T.STRING), ("ok", T.BOOLEAN),
                                         ("f", T.DOUBLE)]


def test_type_codes_mirror_the_batch_module():
    assert (T.T_NULL, T.T_BOOL, T.T_INT64, T.T_FLOAT64, T.T_DECIMAL, T.T_STRING, T.T_TIMESTAMP,
            T.T_OBJECT) == (B.NULL_TYPE, B.BOOL, B.INT64, B.FLOAT64, B.DECIMAL, B.STRING,
                            B.TIMESTAMP, B.OBJECT)
    for t in (T.BOOLEAN, T.BIGINT, T.DOUBLE, T.DECIMAL(2), T.STRING, T.TIMESTAMP, T.OBJECT):
        assert T.from_code(t.code, t.scale) == t
    assert str(T.DECIMAL(4)) == "DECIMAL(38,4)" and str(T.DECIMAL(2, 10)) == "DECIMAL(10,2)"


@pytest.mark.parametrize("a, b, want", [
    (T.BIGINT, T.DECIMAL(2), T.DECIMAL(2)), (T.DECIMAL(4), T.DECIMAL(2), T.DECIMAL(4)),
    (T.DOUBLE, T.DECIMAL(2), T.DOUBLE), (T.NULL, T.STRING, T.STRING),
    (T.STRING, T.BIGINT, None), (T.OBJECT, T.BIGINT, T.OBJECT), (T.BOOLEAN, T.BIGINT, None),
])
def test_common_type(a, b, want):
    assert T.common_type([a, b]) == want


def test_arithmetic_type_table():
    assert T.arithmetic_type("*", T.DECIMAL(4), T.BIGINT) == T.DECIMAL(4)
    assert T.arithmetic_type("*", T.DECIMAL(4), T.DECIMAL(2)) == T.DECIMAL(6)
    assert T.arithmetic_type("/", T.DECIMAL(4), T.DECIMAL(2)) == T.DECIMAL(8)
    assert T.arithmetic_type("/", T.BIGINT, T.BIGINT) == T.DOUBLE
    assert T.arithmetic_type("+", T.BIGINT, T.DOUBLE) == T.DOUBLE
    assert T.arithmetic_type("+", T.STRING, T.BIGINT) is None
    assert T.arithmetic_type("*", T.DECIMAL(20), T.DECIMAL(20)) is None


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("sql, column, fragment", [
    ("quantity + nope", 12, "unknown column nope"),
    ("quantty > 1", 1, "unknown column quantty"),
    ("symbol > 5", 8, "cannot compare STRING with BIGINT"),
    ("symbol + 1", 8, "cannot apply + to STRING and BIGINT"),
    ("ok AND quantity", 8, "AND expects BOOLEAN, got BIGINT"),
    ("NOT quantity", 5, "NOT expects BOOLEAN"),
    ("-symbol", 1, "unary - expects a number"),
    ("UPPER(quantity)", 7, "UPPER expects STRING, got BIGINT"),
    ("quantity LIKE 'a%'", 1, "LIKE expects STRING"),
    ("CASE WHEN ok THEN 1 ELSE symbol END", 1, "cannot mix"),
    ("SUM(quantity)", 1, "aggregate function SUM"),
    ("COUNT(*)", 1, "aggregate function COUNT"),
    ("ROW_NUMBER() OVER (ORDER BY quantity)", 1, "window function ROW_NUMBER"),
    ("AVG(price) OVER (PARTITION BY symbol)", 1, "window function AVG"),
    ("FROBNICATE(1)", 1, "unknown function FROBNICATE"),
    ("ROUND(price, quantity)", 14, "must be a constant"),
    ("price > 'cheap'", 9, "string 'cheap' is compared with a DECIMAL(38,4)"),
    ("CAST(price AS MONEY)", 15, "unknown type MONEY"),
    ("price * price * price * price * price * price * price * price * price * price", 71,
     "scale above 38"),
    ("quantity[1]", 1, "cannot subscript a BIGINT"),
    ("0.1234567890123456789012345678901234567890 + 1", 1, "more than 38 decimals"),
    ("ABS(1, 2)", 1, "expects 1 argument"),
])
def test_validation_errors_carry_position(sql, column, fragment):
    err = error_of(sql)
    assert fragment in err.message, err.message
    assert (err.line, err.column) == (1, column)


def test_errors_render_with_a_caret_when_the_source_is_given():
    sql = "SELECT symbol\nFROM t\nWHERE symbol > 5"
    select = parse_statement(sql)
    with pytest.raises(SqlValidationError) as info:
        compile_expression(select.where, schema_of(batch_of(ROWS)), params={"source": sql})
    assert info.value.line == 3 and info.value.column == 14
    assert "WHERE symbol > 5" in info.value.format() and "^" in info.value.format()


def test_unknown_column_hint_lists_close_names():
    assert "quantity" in error_of("quantty").hint


def test_ambiguous_column():
    batch = B.RecordBatch(["a", "A"], [B.int64_column([1]), B.int64_column([2])])
    with pytest.raises(SqlValidationError, match="ambiguous"):
        compile_expression(parse_expression("a"), schema_of(batch))


# --------------------------------------------------------------------------- evaluation contract

def test_compile_once_evaluate_many_batches():
    compiled, _ = compile_sql("price * quantity")
    assert isinstance(compiled, CompiledExpression) and compiled.output_type == T.DECIMAL(4)
    for n in (0, 1, 7, 1000):
        batch = batch_of([{"price": S(f"{i}.0001"), "quantity": i, "symbol": "A", "ok": True,
                           "f": 0.5} for i in range(n)])
        if n == 0:
            batch = B.RecordBatch(["price", "quantity", "symbol", "ok", "f"], [
                B.decimal_column([], 4), B.int64_column([]), B.string_column([]),
                B.bool_column([]), B.float64_column([])])
        errors = []
        column = compiled.evaluate(batch, errors)
        assert len(column) == n and not errors
        assert column.to_pylist() == [S(f"{i}.0001") * i for i in range(n)]


def test_a_batch_whose_column_is_all_null_evaluates_as_nulls_of_the_compiled_type():
    compiled, _ = compile_sql("quantity + 1")
    batch = B.RecordBatch(["price", "quantity", "symbol", "ok", "f"],
                          [B.null_column(2)] * 5)
    assert compiled.evaluate(batch, []).to_pylist() == [None, None]


def test_a_batch_of_another_type_is_refused_not_misread():
    compiled, _ = compile_sql("quantity + 1")
    batch = B.RecordBatch(["price", "quantity", "symbol", "ok", "f"],
                          [B.null_column(1), B.string_column(["x"])] + [B.null_column(1)] * 3)
    with pytest.raises(TypeError, match="recompile"):
        compiled.evaluate(batch, [])


def test_errors_are_one_per_row_in_row_order_and_those_rows_are_null():
    rows = [{"a": 0, "b": 0}, {"a": 1, "b": 1}, {"a": 0, "b": 5}]
    got, errors, _ = ev("(10 / a) + (10 / b)", rows)
    assert list(errors) == [0, 2]
    assert got == [None, 20.0, None]


def test_constants_fold_and_stay_one_row():
    compiled, batch = compile_sql("1 + 2 * 3")
    assert isinstance(compiled.kernel, E.Const) and compiled.kernel.pyvalue == 7
    assert len(compiled.kernel.evaluate_any(batch)) == 1
    assert compiled.evaluate(batch, []).to_pylist() == [7]
    compiled, _ = compile_sql("UPPER('a' || 'b')")
    assert isinstance(compiled.kernel, E.Const)
    compiled, _ = compile_sql("1 / 0")       # a failing constant is kept: it fails per row
    assert not isinstance(compiled.kernel, E.Const)


def test_column_compared_with_a_c_scalar():
    compiled, _ = compile_sql("quantity > 500")
    kernel = compiled.kernel
    assert isinstance(kernel, E.Compare)
    assert isinstance(kernel.right, E.Const) and kernel.right.pyvalue == 500
    compiled, _ = compile_sql("price > 100.5")
    # The constant is brought to the column's scale, so the loop compares int64 mantissas.
    assert compiled.kernel.right.pyvalue == S("100.5000")
    assert compiled.kernel.right.value.scale == 4


def test_bigint_operand_of_decimal_arithmetic_is_a_free_view():
    rows = [{"price": S("1.5000"), "quantity": 3}]
    batch = batch_of(rows)
    compiled = compile_expression(parse_expression("price * quantity"), schema_of(batch))
    cast = compiled.kernel.right
    assert isinstance(cast, E.Cast)
    view = cast.evaluate(batch)
    assert view.type == B.DECIMAL and view.scale == 0
    assert view.data is batch.column("quantity").data      # shares the int64 buffer


def test_results_share_the_input_validity_when_nothing_fails():
    batch = batch_of([{"q": 1}, {"q": None}, {"q": 700}])
    compiled = compile_expression(parse_expression("q > 500"), schema_of(batch))
    result = compiled.evaluate(batch, [])
    assert result.validity is batch.column("q").validity
    assert result.to_pylist() == [False, None, True]


def test_filter_mask_drives_record_batch_filter():
    batch = batch_of([{"q": 1}, {"q": None}, {"q": 700}])
    compiled = compile_expression(parse_expression("q > 500"), schema_of(batch))
    assert batch.filter(compiled.evaluate(batch, [])).to_pylist() == [{"q": 700}]


def test_every_scalar_function_of_the_catalog_compiles():
    from velostream.plan import functions as F
    from velostream.plan.compile import _FUNCTIONS

    assert sorted(set(F.names(F.SCALAR)) - set(_FUNCTIONS)) == []


def test_window_bound_functions_read_the_window_pseudo_columns():
    meta = {"_window_start": B.int64_column([60_000], timestamp=True)}
    got, _, t = ev("TUMBLE_START(ts, INTERVAL '1' MINUTE)", [{"ts": 1}], meta=meta)
    assert t == T.TIMESTAMP and got[0].timestamp() == 60
