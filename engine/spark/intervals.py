"""Spark's interval functions: ``make_interval`` and arithmetic of ANSI interval literals.

DuckDB has one INTERVAL type (months, days, microseconds), Spark three: YEAR TO MONTH,
DAY TO SECOND and the legacy CalendarInterval that ``make_interval`` returns. Which one a
value is decides how Spark prints and computes it, and DuckDB's value does not say, so
these rules act only where the kind is known from the statement itself:

- ``make_interval``/``try_make_interval`` as a column of the result print as Spark prints a
  CalendarInterval (``1 years 2 months 3 days 4 hours``), and added to or subtracted from a
  TIMESTAMP they are DuckDB's INTERVAL of the same months, days and microseconds; anywhere
  else they are refused. Overflow raises ARITHMETIC_OVERFLOW (``try_``: NULL).
- ``abs``, ``sign``/``signum``, ``div`` and ``width_bucket`` of interval literals compute on
  the months (YEAR TO MONTH) or microseconds (DAY TO SECOND) Spark computes on; a mix of
  the two kinds, or intervals that are not literals, are refused.

>>> import sqlglot
>>> tree = sqlglot.parse_one("SELECT INTERVAL -'100' YEAR", read="databricks")
>>> _negative_strings(tree).sql("duckdb")
"SELECT INTERVAL '-100' YEAR"
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from engine.errors import Unsupported
from engine.spark.annotation import spark_type

T = exp.DType

_INT, _LONG = "BETWEEN -2147483648 AND 2147483647", "BETWEEN -9223372036854775808 AND " \
    "9223372036854775807"
_OVERFLOW = ("error('[ARITHMETIC_OVERFLOW] Integer overflow in make_interval. "
             "SQLSTATE: 22003')")
# whole units of a signed number of microseconds (Java's truncating division)
_QUOTIENT = "(({0}) - ({0}) % {1}) // {1}"


def _unit(value: str, name: str) -> str:
    return f"CASE WHEN {value} = 0 THEN '' ELSE CAST({value} AS VARCHAR) || ' {name} ' END"


MACROS: tuple[str, ...] = (
    # a CalendarInterval's months, days and microseconds, exact (checked against Spark's
    # int and long fields by sg_ci_ok)
    "CREATE MACRO sg_ci_months(y, mo) AS CAST(y AS INTEGER) * CAST(12 AS HUGEINT) "
    "+ CAST(mo AS INTEGER)",
    "CREATE MACRO sg_ci_days(w, d) AS CAST(w AS INTEGER) * CAST(7 AS HUGEINT) "
    "+ CAST(d AS INTEGER)",
    "CREATE MACRO sg_ci_micros(h, mi, s) AS CAST(h AS INTEGER) * CAST(3600000000 AS HUGEINT) "
    "+ CAST(mi AS INTEGER) * CAST(60000000 AS HUGEINT) "
    "+ CAST(CAST(s AS DECIMAL(18,6)) * 1000000 AS HUGEINT)",
    f"CREATE MACRO sg_ci_ok(m, d, us) AS m {_INT} AND d {_INT} AND us {_LONG}",
    # the seconds of a CalendarInterval's text: BigDecimal(us, 6).stripTrailingZeros()
    "CREATE MACRO sg_ci_seconds(us) AS CASE WHEN us < 0 AND us > -1000000 THEN '-' ELSE '' "
    f"END || CAST({_QUOTIENT.format('us', 1000000)} AS VARCHAR) || CASE WHEN us % 1000000 = 0 "
    "THEN '' ELSE '.' || rtrim(lpad(CAST(abs(us % 1000000) AS VARCHAR), 6, '0'), '0') END",
    # CalendarInterval.toString: years, months, days, hours, minutes, seconds, zeros left out
    "CREATE MACRO sg_ci_text(m, d, us) AS CASE WHEN m = 0 AND d = 0 AND us = 0 "
    "THEN '0 seconds' ELSE rtrim("
    + _unit(_QUOTIENT.format("m", 12), "years") + " || " + _unit("m % 12", "months")
    + " || " + _unit("d", "days") + " || "
    + _unit(_QUOTIENT.format("us", 3600000000), "hours") + " || "
    + _unit(_QUOTIENT.format("us % 3600000000", 60000000), "minutes")
    + " || CASE WHEN us % 60000000 = 0 THEN '' ELSE sg_ci_seconds(us % 60000000) "
    "|| ' seconds' END, ' ') END",
    "CREATE MACRO sg_ci_value(m, d, us) AS to_months(CAST(m AS INTEGER)) "
    "+ to_days(CAST(d AS INTEGER)) + to_microseconds(CAST(us AS BIGINT))",
    f"CREATE MACRO sg_ci_checked(m, d, us, out, nullable) AS CASE WHEN m IS NULL OR d IS NULL "
    f"OR us IS NULL THEN NULL WHEN sg_ci_ok(m, d, us) THEN out WHEN nullable THEN NULL "
    f"ELSE {_OVERFLOW} END",
    # an ANSI interval as the number Spark computes on: months, or microseconds
    "CREATE MACRO sg_ym_number(i) AS datepart('year', i) * 12 + datepart('month', i)",
    "CREATE MACRO sg_dt_number(i) AS epoch_us(i)",
    "CREATE MACRO sg_interval_div(a, b) AS CASE WHEN b = 0 THEN error('[INTERVAL_DIVIDED_BY_"
    "ZERO] Division by zero. SQLSTATE: 22012') ELSE (a - a % b) // b END",
)

_YEAR_MONTH = {"YEAR", "YEARS", "MONTH", "MONTHS"}
_DEFAULTS = ("year", "month", "week", "day", "hour", "minute", "second")


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _negative_strings(tree: exp.Expr) -> exp.Expr:
    """``INTERVAL -'100' YEAR``: the sign belongs to the literal (DuckDB would negate a
    string)."""
    for node in tree.find_all(exp.Interval):
        value = node.this
        if isinstance(value, exp.Neg) and isinstance(value.this, exp.Literal) and (
                value.this.is_string) and not isinstance(node.unit, exp.IntervalSpan):
            text = value.this.this.strip()
            node.set("this", exp.Literal.string(text[1:] if text.startswith("-")
                                                else f"-{text}"))
    return tree


def _kind(node: exp.Expr) -> str | None:
    """'ym' or 'dt' for an ANSI interval literal (or its negation), else None."""
    while isinstance(node, exp.Paren | exp.Neg):
        node = node.this
    if not isinstance(node, exp.Interval) or node.unit is None:
        return None
    unit = node.unit
    first = unit.this.name if isinstance(unit, exp.IntervalSpan) else unit.name
    return "ym" if first.upper() in _YEAR_MONTH else "dt"


def _number(node: exp.Expr, kind: str) -> exp.Expr:
    return _call(f"sg_{kind}_number", node)


def _same_kind(nodes: list[exp.Expr], name: str) -> str | None:
    kinds = {_kind(n) for n in nodes}
    if kinds <= {None}:
        return None
    if len(kinds) != 1 or None in kinds:
        raise Unsupported(f"[UNSUPPORTED_FEATURE] {name} of intervals needs interval literals "
                          "of one kind (YEAR TO MONTH or DAY TO SECOND). SQLSTATE: 0A000")
    return kinds.pop()


def _arithmetic(tree: exp.Expr) -> exp.Expr:
    """abs, sign/signum, div and width_bucket of ANSI interval literals."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Abs) and _kind(node.this):
            zero = exp.LT(this=node.this.copy(), expression=_call("to_days", exp.Literal.number(0)))
            return exp.If(this=zero, true=exp.Neg(this=exp.Paren(this=node.this.copy())),
                          false=node.this)
        if isinstance(node, exp.Sign) and (kind := _kind(node.this)):
            number = _number(node.this, kind)
            return exp.Cast(this=_call("sign", number), to=exp.DataType.build("DOUBLE"))
        if isinstance(node, exp.IntDiv) and (kind := _same_kind(
                [node.this, node.expression], "div")):
            return _call("sg_interval_div", _number(node.this, kind),
                         _number(node.expression, kind))
        if isinstance(node, exp.WidthBucket):
            bounds = [node.this, node.args["min_value"], node.args["max_value"]]
            if kind := _same_kind(bounds, "width_bucket"):
                for key in ("this", "min_value", "max_value"):
                    node.set(key, _number(node.args[key], kind))
        return node

    return tree.transform(fix, copy=False)


def _make_args(node: exp.Expr) -> tuple[list[exp.Expr], bool] | None:
    """make_interval's seven arguments (missing ones 0) and whether it is try_."""
    if isinstance(node, exp.MakeInterval):
        values = [node.args.get(k) for k in _DEFAULTS]
        return [v if v is not None else exp.Literal.number(0) for v in values], False
    if isinstance(node, exp.Anonymous) and str(node.name).lower() == "try_make_interval":
        given = list(node.expressions)
        if len(given) > 7:
            raise Unsupported("[WRONG_NUM_ARGS] try_make_interval takes at most 7 arguments. "
                              "SQLSTATE: 42605")
        return given + [exp.Literal.number(0)] * (7 - len(given)), True
    return None


def _in_result(node: exp.Expr) -> bool:
    parent = node.parent
    if isinstance(parent, exp.Alias):
        node, parent = parent, parent.parent
    return isinstance(parent, exp.Select) and node.arg_key == "expressions"


def _beside_timestamp(node: exp.Expr) -> bool:
    parent = node.parent
    if not isinstance(parent, exp.Add | exp.Sub) or (isinstance(parent, exp.Sub) and (
            node.arg_key == "this")):
        return False
    other = parent.expression if node.arg_key == "this" else parent.this
    typ = spark_type(other)
    return typ is not None and typ.this in (T.TIMESTAMP, T.TIMESTAMPTZ, T.TIMESTAMPLTZ,
                                            T.TIMESTAMPNTZ)


def _make_interval(tree: exp.Expr) -> exp.Expr:
    """make_interval / try_make_interval: Spark's text as a result column, DuckDB's
    INTERVAL beside a TIMESTAMP, refused elsewhere."""

    def fix(node: exp.Expr) -> exp.Expr:
        parsed = _make_args(node)
        if parsed is None:
            return node
        args, nullable = parsed
        parts = [_call("sg_ci_months", *args[0:2]), _call("sg_ci_days", *args[2:4]),
                 _call("sg_ci_micros", *args[4:7])]
        if _in_result(node):
            out = _call("sg_ci_text", *(p.copy() for p in parts))
        elif _beside_timestamp(node):
            out = _call("sg_ci_value", *(p.copy() for p in parts))
        else:
            raise Unsupported("[UNSUPPORTED_FEATURE] make_interval is supported as a result "
                              "column or added to a TIMESTAMP. SQLSTATE: 0A000")
        return _call("sg_ci_checked", *parts, out, exp.Boolean(this=nullable))

    return tree.transform(fix, copy=False)


NAMES: frozenset[str] = frozenset({"try_make_interval"})
CLASSES: frozenset[str] = frozenset({"MakeInterval"})
RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_negative_strings, _make_interval,
                                                     _arithmetic)
