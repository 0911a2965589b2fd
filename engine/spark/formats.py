"""Spark's number and value formatting: to_char/to_varchar, to_number/try_to_number,
format_number.

The format languages live in `engine.spark.numformat` (Spark's ``'99G999D9S'``) and
`engine.spark.decimalformat` (Java's DecimalFormat, for format_number); they run as Python
UDFs that `register` adds to the engine's database, over the number's exact text (DuckDB
prints DECIMALs and integers exactly, doubles as their shortest digits). Formats must be
literals, as in Spark, so they are validated — and to_number's DECIMAL(p, s) known — when
the statement is translated. ``to_char`` of a DATE or TIMESTAMP is ``date_format``; of a
BINARY, ``base64``/``hex``/``utf-8`` text.

>>> import sqlglot
>>> _rewrite(sqlglot.parse_one("SELECT to_number('$78.12', '$99.99')", read="databricks")
...          ).sql("duckdb")
"SELECT CAST(SG_TO_NUMBER('$78.12', '$99.99', FALSE) AS DECIMAL(4, 2))"
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import duckdb
import pyarrow as pa
from duckdb.func import ARROW, SPECIAL
from duckdb.sqltypes import BOOLEAN, VARCHAR, DuckDBPyType
from sqlglot import exp
from sqlglot.dialects.databricks import Databricks

from engine.errors import AnalysisError, InvalidParameter, SqlError, Unsupported
from engine.spark.annotation import spark_type
from engine.spark.decimalformat import Pattern, format_double
from engine.spark.numformat import NumberFormat, mismatch

T = exp.DType
_NUMERIC_TYPES = ("TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|"
                  "UBIGINT|DECIMAL.*")


def _error(error_class: str, text: str, sql_state: str) -> str:
    return f"error('[{error_class}] {text} SQLSTATE: {sql_state}')"


_NOT_NUMERIC = ("CASE WHEN x IS NULL THEN NULL "
                "WHEN typeof(x) IN ('DOUBLE', 'FLOAT') THEN {udf}(CAST(CAST(x AS DOUBLE) AS "
                "VARCHAR), {spec}, CASE typeof(x) WHEN 'FLOAT' THEN 'float' ELSE 'double' END) "
                f"WHEN regexp_matches(typeof(x), '^({_NUMERIC_TYPES})$') THEN "
                "{udf}(CAST(x AS VARCHAR), {spec}, 'exact') ELSE "
                + _error("UNSUPPORTED_FEATURE.SPARK_FUNCTION", "{name} of a value of this type is "
                         "not supported by this warehouse.", "0A000") + " END")

MACROS: tuple[str, ...] = (
    # the number's exact text and its kind: doubles are printed from their shortest digits
    "CREATE MACRO sg_to_char_number(x, fmt) AS "
    + _NOT_NUMERIC.format(udf="sg_to_char_udf", spec="fmt", name="to_char"),
    "CREATE MACRO sg_format_number(x, spec) AS "
    + _NOT_NUMERIC.format(udf="sg_format_number_udf", spec="spec", name="format_number"),
)


def _decimal(text: str, kind: str) -> Decimal:
    """A number's text as the DECIMAL Spark casts it to: DOUBLE -> DECIMAL(30,15) and FLOAT
    -> DECIMAL(14,7), rounding HALF_UP; out of range raises as Spark's cast does."""
    value = Decimal(text)
    if kind == "exact":
        return value
    precision, scale = (30, 15) if kind == "double" else (14, 7)
    if not value.is_finite() or abs(value) >= Decimal(10) ** (precision - scale):
        raise SqlError(f"[NUMERIC_VALUE_OUT_OF_RANGE.WITH_SUGGESTION] {text} cannot be "
                       f"represented as Decimal({precision}, {scale}). SQLSTATE: 22003",
                       sql_state="22003")
    return value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)


def _to_char_udf(values: pa.Array, fmts: pa.Array, kinds: pa.Array) -> pa.Array:
    """to_char of numbers, one batch: the format parsed once per distinct text."""
    formats: dict[str, NumberFormat] = {}
    out: list[str | None] = []
    for value, fmt, kind in zip(values.to_pylist(), fmts.to_pylist(), kinds.to_pylist(),
                                strict=True):
        if value is None or fmt is None:
            out.append(None)
            continue
        number_format = formats.get(fmt) or formats.setdefault(fmt, NumberFormat(fmt))
        out.append(number_format.format(_decimal(value, kind)))
    return pa.array(out, pa.string())


def _to_number_udf(values: pa.Array, fmts: pa.Array, tries: pa.Array) -> pa.Array:
    """to_number / try_to_number, one batch: the DECIMAL's text, cast by the caller."""
    formats: dict[str, NumberFormat] = {}
    out: list[str | None] = []
    for value, fmt, try_ in zip(values.to_pylist(), fmts.to_pylist(), tries.to_pylist(),
                                strict=True):
        if value is None or fmt is None:
            out.append(None)
            continue
        number_format = formats.get(fmt) or formats.setdefault(fmt, NumberFormat(fmt))
        number = number_format.parse(value)
        if number is None and not try_:
            raise mismatch(value, number_format.text)
        out.append(None if number is None else format(number, "f"))
    return pa.array(out, pa.string())


def _format_number_udf(values: pa.Array, specs: pa.Array, kinds: pa.Array) -> pa.Array:
    """format_number, one batch: ``spec`` is ``d:<decimals>`` or ``p:<pattern>``."""
    patterns: dict[str, Pattern] = {}
    out: list[str | None] = []
    for value, spec, kind in zip(values.to_pylist(), specs.to_pylist(), kinds.to_pylist(),
                                 strict=True):
        if value is None or spec is None:
            out.append(None)
            continue
        pattern = patterns.get(spec) or patterns.setdefault(spec, _pattern(spec))
        if kind == "exact":
            out.append(pattern.format(Decimal(value)))
        else:
            out.append(format_double(float(value), pattern))
    return pa.array(out, pa.string())


def _pattern(spec: str) -> Pattern:
    kind, _, text = spec.partition(":")
    return Pattern.of_decimals(int(text)) if kind == "d" else Pattern(text)


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Add the UDFs and macros of this module to an engine's database."""
    udfs: tuple[tuple[str, Callable[..., pa.Array], DuckDBPyType], ...] = (
        ("sg_to_char_udf", _to_char_udf, VARCHAR),
        ("sg_to_number", _to_number_udf, BOOLEAN),
        ("sg_format_number_udf", _format_number_udf, VARCHAR),
    )
    for name, fn, last in udfs:
        # SPECIAL: the UDF sees NULLs and may answer NULL (try_to_number)
        con.create_function(name, fn, [VARCHAR, VARCHAR, last], VARCHAR, type=ARROW,
                            null_handling=SPECIAL, side_effects=False)
    for sql in MACROS:
        con.execute(sql)


def _literal(node: exp.Expr | None, name: str) -> str | None:
    """A format argument's text (None for NULL); Spark needs it to be a constant."""
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Literal) and node.is_string:
        return str(node.this)
    raise Unsupported(f"[UNSUPPORTED_FEATURE] the format of {name} must be a string literal "
                      "here. SQLSTATE: 0A000")


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _null(type_sql: str) -> exp.Expr:
    return exp.Cast(this=exp.null(), to=exp.DataType.build(type_sql))


_BINARY_FORMATS = ("base64", "hex", "utf-8")
_DATETIMES = {T.DATE, T.TIMESTAMP, T.TIMESTAMPTZ, T.TIMESTAMPLTZ, T.TIMESTAMPNTZ}
_DATABRICKS = Databricks()


def _to_char(value: exp.Expr, fmt_node: exp.Expr | None, name: str) -> exp.Expr:
    fmt = _literal(fmt_node, name)
    typ = spark_type(value)
    if typ is not None and typ.this == T.BINARY:
        if fmt is None:
            return _null("VARCHAR")
        kind = fmt.lower()
        if kind not in _BINARY_FORMATS:
            raise InvalidParameter(
                f"[INVALID_PARAMETER_VALUE.BINARY_FORMAT] The value of parameter(s) `format` in "
                f"`{name}` is invalid: expects one of binary formats 'base64', 'hex', 'utf-8', "
                f"but got '{fmt}'. SQLSTATE: 22023")
        if kind == "base64":
            return _call("base64", value)
        if kind == "hex":
            return _call("hex", value)
        return _call("decode", value)
    if typ is not None and typ.this in _DATETIMES:
        if fmt is None:
            return _null("VARCHAR")
        builder = Databricks.Parser.FUNCTIONS["DATE_FORMAT"]
        return builder([value, exp.Literal.string(fmt)], _DATABRICKS)
    if typ is not None and typ.this in (T.VARCHAR, T.TEXT):
        raise Unsupported(f"[UNSUPPORTED_FEATURE] {name} of a STRING is not supported by this "
                          "warehouse. SQLSTATE: 0A000")
    if fmt is None:
        return _null("VARCHAR")
    NumberFormat(fmt)  # Spark refuses an invalid format when it analyses the statement
    if isinstance(value, exp.Literal) and not value.is_string:
        value = _exact_literal(value)
    return _call("sg_to_char_number", value, exp.Literal.string(fmt))


def _exact_literal(node: exp.Literal) -> exp.Expr:
    """A plain numeric literal is a DECIMAL (or integer) in Spark: keep its exact text."""
    text = node.this
    try:
        Decimal(text)
    except InvalidOperation:
        return node
    scale = len(text.partition(".")[2])
    precision = max(len(text.replace(".", "")), scale, 1)
    if any(c in text for c in "eE") or precision > 38:
        return node  # 1e3 is a DOUBLE in Spark, and so is a literal past 38 digits
    return exp.Cast(this=node, to=exp.DataType.build(f"DECIMAL({precision}, {scale})"))


def _to_number(value: exp.Expr, fmt_node: exp.Expr | None, try_: bool) -> exp.Expr:
    name = "try_to_number" if try_ else "to_number"
    fmt = _literal(fmt_node, name)
    if fmt is None:
        return _null("DECIMAL(10, 0)")
    number_format = NumberFormat(fmt)
    text = value if isinstance(value, exp.Literal) else exp.Cast(
        this=value, to=exp.DataType.build("VARCHAR"))
    call = _call("sg_to_number", text, exp.Literal.string(number_format.text),
                 exp.Boolean(this=try_))
    return exp.Cast(this=call, to=exp.DataType.build(
        f"DECIMAL({number_format.precision}, {number_format.scale})"))


def _format_number(args: list[exp.Expr]) -> exp.Expr:
    if len(args) != 2:
        raise AnalysisError("[WRONG_NUM_ARGS] format_number takes 2 arguments. SQLSTATE: 42605",
                            sql_state="42605")
    value, spec = args
    if isinstance(spec, exp.Null):
        return _null("VARCHAR")
    if isinstance(spec, exp.Literal) and spec.is_int:
        decimals = int(spec.this)
        if decimals < 0:
            return _null("VARCHAR")
        text = f"d:{decimals}"
    elif isinstance(spec, exp.Neg) and isinstance(spec.this, exp.Literal) and spec.this.is_int:
        return _null("VARCHAR")
    else:
        pattern = _literal(spec, "format_number")
        assert pattern is not None
        Pattern(pattern)
        text = f"p:{pattern}"
    typ = spark_type(value)
    if typ is not None and typ.this in (T.VARCHAR, T.TEXT, T.BINARY, *_DATETIMES):
        raise AnalysisError("[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] format_number needs a "
                            "number. SQLSTATE: 42K09", sql_state="42K09")
    if isinstance(value, exp.Literal) and not value.is_string:
        value = _exact_literal(value)
    return _call("sg_format_number", value, exp.Literal.string(text))


def _rewrite(tree: exp.Expr) -> exp.Expr:
    """to_char/to_varchar, to_number/try_to_number, format_number -> the UDFs' calls."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.ToChar):
            return _to_char(node.this, node.args.get("format"), "to_char")
        if isinstance(node, exp.ToNumber):
            return _to_number(node.this, node.args.get("format"), False)
        if not isinstance(node, exp.Anonymous):
            return node
        name, args = str(node.name).lower(), node.expressions
        if name in ("to_varchar", "try_to_number") and len(args) != 2:
            raise AnalysisError(f"[WRONG_NUM_ARGS] {name} takes 2 arguments. SQLSTATE: 42605",
                                sql_state="42605")
        if name == "to_varchar":
            return _to_char(args[0], args[1], "to_varchar")
        if name == "try_to_number":
            return _to_number(args[0], args[1], True)
        if name == "format_number":
            return _format_number(list(args))
        return node

    return tree.transform(fix, copy=False)


NAMES = frozenset({"to_varchar", "try_to_number", "format_number"})
CLASSES = frozenset({"ToChar", "ToNumber"})
RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_rewrite,)

__all__ = ["CLASSES", "MACROS", "NAMES", "RULES", "register"]
