"""Spark rules for scalar math, string, date/time and aggregate functions.

Each rule is ``expr -> expr``, rewriting a node sqlglot's DuckDB translation would answer
differently from Spark (the differential suite in tests/engine/spark names the cases).

>>> import sqlglot
>>> tree = sqlglot.parse_one("SELECT 1 / x", read="databricks")
>>> _divide_by_zero(tree).sql("duckdb")
'SELECT 1 / sg_divisor(x)'
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from engine.errors import Unsupported


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _divide_by_zero(tree: exp.Expr) -> exp.Expr:
    """ANSI mode: ``x / 0`` and ``x % 0`` raise DIVIDE_BY_ZERO / REMAINDER_BY_ZERO."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Div | exp.IntDiv):
            node.set("expression", _call("sg_divisor", node.expression))
        elif isinstance(node, exp.Mod):
            node.set("expression", _call("sg_remainder_divisor", node.expression))
        return node

    return tree.transform(fix, copy=False)


def _sum_overflow(tree: exp.Expr) -> exp.Expr:
    """A sum of integers past BIGINT raises ARITHMETIC_OVERFLOW in Spark (DuckDB widens to
    HUGEINT). Plain aggregate calls only: a macro cannot carry OVER, FILTER or DISTINCT."""
    for node in list(tree.find_all(exp.Sum)):
        if isinstance(node.parent, exp.Window | exp.Filter) or isinstance(node.this,
                                                                           exp.Distinct):
            continue
        node.replace(_call("sg_sum", node.this))
    return tree


def _string_agg_separator(tree: exp.Expr) -> exp.Expr:
    """``string_agg(x)`` / ``listagg(x)`` join with no separator in Spark (DuckDB: ',')."""
    for node in tree.find_all(exp.GroupConcat):
        if node.args.get("separator") is None:
            node.set("separator", exp.Literal.string(""))
    return tree


_SECONDS = {"SECOND", "SECONDS", "S", "SEC", "SECS"}
_DOW = {"DOW", "DAYOFWEEK"}


def _extract(tree: exp.Expr) -> exp.Expr:
    """``extract(SECOND ...)`` keeps the fraction (DECIMAL(8,6)); ``DOW`` counts from 1."""

    def fix(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Extract):
            return node
        unit = node.this.name.upper()
        value = node.expression
        if unit in _SECONDS:
            micros = exp.Extract(this=exp.var("MICROSECOND"), expression=value.copy())
            decimal = exp.Cast(this=micros, to=exp.DataType.build("DECIMAL(18,6)"))
            return exp.Cast(this=exp.Div(this=decimal, expression=exp.Literal.number(1000000)),
                            to=exp.DataType.build("DECIMAL(8,6)"))
        if unit in _DOW:
            return exp.Add(this=exp.Extract(this=exp.var("DOW"), expression=value),
                           expression=exp.Literal.number(1))
        return node

    return tree.transform(fix, copy=False)


def _time_zones(tree: exp.Expr) -> exp.Expr:
    """from_utc_timestamp / to_utc_timestamp, which sqlglot parses into AT TIME ZONE pairs.

    ``from_utc_timestamp(ts, tz)``: the UTC instant shown as wall-clock time in ``tz``;
    ``to_utc_timestamp(ts, tz)``: the wall-clock time in ``tz`` as a UTC instant (the
    earlier one where the clock goes back, as java.time chooses: sg_at_zone). The
    session time zone is UTC, so a TIMESTAMP's wall clock is its UTC time.
    """

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.FromTimeZone):  # to_utc_timestamp(ts, tz)
            ts = exp.Cast(this=_uncast(node.this), to=exp.DataType.build("TIMESTAMP"))
            return _call("sg_at_zone", node.args["zone"], ts)
        if not isinstance(node, exp.AtTimeZone):
            return node
        inner = node.this
        if isinstance(inner, exp.AtTimeZone):  # to_utc_timestamp(ts, tz)
            if node.args["zone"].name.upper() != "UTC":
                raise Unsupported("AT TIME ZONE is not supported; use to_utc_timestamp")
            ts = exp.Cast(this=_uncast(inner.this), to=exp.DataType.build("TIMESTAMP"))
            return _call("sg_at_zone", inner.args["zone"], ts)
        ts = exp.Cast(this=_uncast(inner), to=exp.DataType.build("TIMESTAMPTZ"))
        return exp.Cast(this=_call("timezone", node.args["zone"], ts),
                        to=exp.DataType.build("TIMESTAMPTZ"))

    return tree.transform(fix, copy=False)


def _uncast(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Cast) and node.to.this in (exp.DType.TIMESTAMP,
                                                       exp.DType.TIMESTAMPTZ):
        return node.this
    return node


def _trunc_units(tree: exp.Expr) -> exp.Expr:
    """``date_trunc('MICROSECOND', ...)``: Spark refuses what DuckDB answers."""
    for node in tree.find_all(exp.TimestampTrunc, exp.DateTrunc):
        unit = node.args.get("unit")
        if unit is not None and unit.name.upper().startswith("MICROSECOND"):
            raise Unsupported("[UNSUPPORTED_FEATURE] date_trunc to MICROSECOND is not "
                              "supported. SQLSTATE: 0A000")
    return tree


def _trunc_strings(tree: exp.Expr) -> exp.Expr:
    """``date_trunc('YEAR', '2015-03-05T09:32:05')``: a string is read as a TIMESTAMP."""
    for node in tree.find_all(exp.TimestampTrunc):
        if isinstance(node.this, exp.Literal) and node.this.is_string:
            node.set("this", exp.Cast(this=node.this, to=exp.DataType.build("TIMESTAMPTZ")))
    return tree


def _aggregate_first_last(tree: exp.Expr) -> exp.Expr:
    """``first_value``/``last_value`` used as aggregates are ``first``/``last``."""
    for node in list(tree.find_all(exp.FirstValue, exp.LastValue)):
        if node.find_ancestor(exp.Window) is None and not isinstance(node.parent, exp.Window):
            cls = exp.First if isinstance(node, exp.FirstValue) else exp.Last
            node.replace(cls(this=node.this))
    return tree


def _ranking_arguments(tree: exp.Expr) -> exp.Expr:
    """``rank(b) OVER (...)``: Spark ignores arguments of the ranking functions."""
    for node in tree.find_all(exp.Rank, exp.DenseRank, exp.PercentRank, exp.CumeDist):
        node.set("expressions", [])
    return tree


def _any_value(tree: exp.Expr) -> exp.Expr:
    """``any_value(x)`` is the first row's value, NULL included (DuckDB skips NULLs)."""
    for node in list(tree.find_all(exp.AnyValue)):
        node.replace(exp.First(this=node.this))
    return tree


def _percentiles(tree: exp.Expr) -> exp.Expr:
    """``percentile`` interpolates (quantile_cont); percentiles of intervals are refused."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Quantile):
            return _call("quantile_cont", _call("sg_numeric", node.this),
                         node.args["quantile"])
        if isinstance(node, exp.WithinGroup):  # percentile_cont(0.5) WITHIN GROUP (ORDER BY x)
            for ordered in node.expression.expressions:
                ordered.set("this", _call("sg_numeric", ordered.this))
        elif isinstance(node, exp.Median | exp.PercentileCont | exp.PercentileDisc | exp.Mode
                        ) and node.this is not None and not isinstance(node.parent,
                                                                        exp.WithinGroup):
            node.set("this", _call("sg_numeric", node.this))
        return node

    return tree.transform(fix, copy=False)


def _logarithms(tree: exp.Expr) -> exp.Expr:
    """``ln``/``log`` of zero or a negative number is NULL in Spark."""
    for node in list(tree.find_all(exp.Ln, exp.Log)):
        target = "expression" if isinstance(node, exp.Log) and node.expression else "this"
        node.set(target, _call("sg_positive", node.args[target]))
    return tree


def _left_right(tree: exp.Expr) -> exp.Expr:
    """``left``/``right`` with a negative length give '' (DuckDB counts from the other end)."""
    for node in list(tree.find_all(exp.Left, exp.Right)):
        node.set("expression", _call("sg_length", node.expression))
    return tree


RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (
    _divide_by_zero,
    _sum_overflow,
    _string_agg_separator,
    _extract,
    _time_zones,
    _trunc_strings,
    _aggregate_first_last,
    _ranking_arguments,
    _any_value,
    _percentiles,
    _logarithms,
    _left_right,
)
