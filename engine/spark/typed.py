"""Spark rules that depend on an operand's type, where the annotation knows it.

`engine.spark.annotation` types each node once per statement: literals, casts, function
results, and the columns of the tables the statement scans. Each rule here acts only on
operands of a known type; with an unknown one it leaves DuckDB's behaviour, which the
suite's documentation lists where it differs (docs/spark-semantics.md).

>>> import sqlglot
>>> from engine.spark.annotation import annotate
>>> tree = annotate(sqlglot.parse_one("SELECT CAST(12.7D AS INT)", read="databricks"))
>>> _truncating_casts(tree).sql("duckdb")
'SELECT CAST(TRUNC(CAST(12.7 AS DOUBLE)) AS INT)'
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from engine.errors import Unsupported
from engine.spark.annotation import spark_type

T = exp.DType


_type = spark_type


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


_INTEGRAL = {T.TINYINT, T.SMALLINT, T.INT, T.BIGINT}
_FRACTIONAL = {T.FLOAT, T.DOUBLE, T.DECIMAL}
_TIMESTAMPS = {T.TIMESTAMP, T.TIMESTAMPTZ, T.TIMESTAMPLTZ, T.TIMESTAMPNTZ}
_NESTED = {T.ARRAY, T.MAP, T.STRUCT}


def _truncating_casts(tree: exp.Expr) -> exp.Expr:
    """Casts of fractional numbers to integers truncate in Spark (DuckDB rounds); casts of
    timestamps to strings print Spark's form; casts of ARRAY/MAP/STRUCT to strings (Spark's
    own bracket syntax) are refused."""

    def fix(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Cast | exp.TryCast):
            return node
        source, target = _type(node.this), node.to.this
        if source is None:
            return node
        if target in _INTEGRAL and source.this in _FRACTIONAL:
            node.set("this", _call("trunc", node.this))
        elif target in (T.VARCHAR, T.TEXT) and source.this in _TIMESTAMPS:
            return _call("sg_timestamp_text", node.this)
        elif target in (T.VARCHAR, T.TEXT) and source.this in _NESTED:
            raise Unsupported(f"[UNSUPPORTED_FEATURE] CAST of {source.sql('databricks')} to "
                              "STRING is not supported by this warehouse; use to_json. "
                              "SQLSTATE: 0A000")
        return node

    return tree.transform(fix, copy=False)


def _array_index(tree: exp.Expr) -> exp.Expr:
    """``arr[i]`` (from 0) and ``element_at(arr, i)`` (from 1) raise out of bounds in ANSI
    mode; DuckDB answers NULL. Only for operands known to be arrays."""

    def fix(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Bracket) or len(node.expressions) != 1:
            return node
        base = _type(node.this)
        if base is None or base.this != T.ARRAY or node.args.get("safe"):
            return node
        index = node.expressions[0]
        if node.args.get("offset") == 1:
            return _call("sg_element_at", node.this, index)
        return _call("sg_array_get", node.this, index)

    return tree.transform(fix, copy=False)


_DATE_UNITS = {"YEAR", "YEARS", "MONTH", "MONTHS", "DAY", "DAYS", "WEEK", "WEEKS"}


def _date_results(tree: exp.Expr) -> exp.Expr:
    """Spark keeps DATEs DATEs: add_months, trunc, and a date plus a year-month or day
    interval are DATE (DuckDB: TIMESTAMP); a DATE minus a DATE is an INTERVAL DAY."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.AddMonths | exp.DateTrunc):
            return exp.Cast(this=node, to=exp.DataType.build("DATE"))
        if isinstance(node, exp.Add | exp.Sub):
            left, right = _type(node.this), _type(node.expression)
            if left is None or right is None or left.this != T.DATE:
                return node
            if right.this == T.DATE and isinstance(node, exp.Sub):
                days = exp.Cast(this=node, to=exp.DataType.build("INT"))
                return _call("to_days", days)
            interval = node.expression
            if isinstance(interval, exp.Interval) and interval.unit is not None and (
                    interval.unit.name.upper() in _DATE_UNITS):
                return exp.Cast(this=node, to=exp.DataType.build("DATE"))
        return node

    return tree.transform(fix, copy=False)


def _string_arithmetic(tree: exp.Expr) -> exp.Expr:
    """``1 + '2'``: ANSI Spark reads a string literal beside an integer as a BIGINT (DuckDB
    cannot choose an overload)."""

    def fix(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Add | exp.Sub | exp.Mul):
            return node
        for side, other in (("this", node.expression), ("expression", node.this)):
            value, typ = node.args[side], _type(other)
            if isinstance(value, exp.Literal) and value.is_string and typ is not None and (
                    typ.this in _INTEGRAL):
                node.set(side, exp.Cast(this=value, to=exp.DataType.build("BIGINT")))
        return node

    return tree.transform(fix, copy=False)


def _binary_lengths(tree: exp.Expr) -> exp.Expr:
    """octet_length/bit_length of a string literal: DuckDB has a BLOB overload too."""
    for node in tree.find_all(exp.Anonymous, exp.BitLength):
        name = "bit_length" if isinstance(node, exp.BitLength) else str(node.name).lower()
        args = [node.this] if isinstance(node, exp.BitLength) else node.expressions
        if name in ("octet_length", "bit_length") and args and isinstance(
                args[0], exp.Literal) and args[0].is_string:
            args[0].replace(exp.Cast(this=args[0].copy(), to=exp.DataType.build("VARCHAR")))
    return tree


def _date_sequences(tree: exp.Expr) -> exp.Expr:
    """``sequence(date1, date2[, interval])``: DATEs a day (or the step) apart, counting down
    when date1 > date2 (DuckDB's generate_series walks timestamps)."""

    def fix(node: exp.Expr) -> exp.Expr:
        if not (isinstance(node, exp.Anonymous) and node.name == "sg_sequence"):
            return node
        args = node.expressions
        start = _type(args[0]) if args else None
        if start is None or start.this != T.DATE or len(args) not in (2, 3):
            return node
        stamp = exp.DataType.build("TIMESTAMP")
        begin, end = (exp.Cast(this=a, to=stamp.copy()) for a in args[:2])
        if len(args) == 3:
            step: exp.Expr = args[2]
        else:
            down = exp.GT(this=args[0].copy(), expression=args[1].copy())
            step = exp.If(this=down, true=exp.Interval(this=exp.Literal.string("-1"),
                                                       unit=exp.var("DAY")),
                          false=exp.Interval(this=exp.Literal.string("1"), unit=exp.var("DAY")))
        series = _call("generate_series", begin, end, step)
        return exp.Cast(this=series, to=exp.DataType.build("DATE[]", dialect="duckdb"))

    return tree.transform(fix, copy=False)


def _collections(tree: exp.Expr) -> exp.Expr:
    """``reverse`` of an array and ``size`` of a map, known by their operand's type."""

    def fix(node: exp.Expr) -> exp.Expr:
        operand = _type(node.this) if isinstance(node, exp.Reverse | exp.ArraySize) else None
        if operand is None:
            return node
        if isinstance(node, exp.Reverse) and operand.this == T.ARRAY:
            return _call("list_reverse", node.this)
        if isinstance(node, exp.ArraySize) and operand.this == T.MAP:
            return _call("cardinality", node.this)
        return node

    return tree.transform(fix, copy=False)


RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (
    _string_arithmetic,
    _binary_lengths,
    _date_sequences,
    _collections,
    _truncating_casts,
    _array_index,
    _date_results,
)
