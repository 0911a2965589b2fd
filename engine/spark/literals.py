"""Spark rules for literals and types: TIMESTAMP is an instant, TIME is refused, LIKE
escapes with a backslash.

Databricks' TIMESTAMP is an instant shown in the session time zone (DuckDB's TIMESTAMPTZ,
the engine's zone is UTC) and TIMESTAMP_NTZ a wall-clock time (DuckDB's TIMESTAMP).

>>> import sqlglot
>>> tree = sqlglot.parse_one("SELECT CAST(x AS TIMESTAMP), 'a' LIKE 'a\\\\_'", read="databricks")
>>> _timestamps(_like_escape(tree)).sql("duckdb")
"SELECT CAST(x AS TIMESTAMPTZ), 'a' LIKE 'a\\\\_' ESCAPE '\\\\'"
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from engine.errors import InvalidParameter, Unsupported


def _timestamps(tree: exp.Expr) -> exp.Expr:
    """TIMESTAMP -> TIMESTAMPTZ (Spark's TIMESTAMP is local-time-zone aware); TIME refused
    (Spark SQL has no TIME type in ANSI mode)."""
    for node in list(tree.find_all(exp.DataType)):
        if node.this in (exp.DType.TIMESTAMP, exp.DType.TIMESTAMPTZ) and _field_of(node):
            node.set("this", exp.DType.TIMESTAMP)
        elif node.this == exp.DType.TIMESTAMP:
            node.set("this", exp.DType.TIMESTAMPTZ)
        elif node.this in (exp.DType.TIME, exp.DType.TIMETZ):
            raise Unsupported("[UNSUPPORTED_DATATYPE] The TIME data type is not supported. "
                              "SQLSTATE: 0A000")
    return tree


# Functions reading a field of a timestamp: in the engine's zone (UTC) a TIMESTAMP's fields
# are those of its wall clock, so the cast under them may stay a plain TIMESTAMP (sqlglot
# refuses EXTRACT from TIMESTAMPTZ, whose fields depend on the zone).
_FIELDS: tuple[type[exp.Expr], ...] = (
    exp.Extract, exp.Year, exp.Month, exp.Day, exp.DayOfMonth, exp.DayOfYear, exp.DayOfWeek,
    exp.WeekOfYear, exp.Quarter, exp.Hour, exp.Minute, exp.Second,
)


def _field_of(node: exp.DataType) -> bool:
    cast = node.parent
    return isinstance(cast, exp.Cast) and cast.args.get("to") is node and isinstance(
        cast.parent, _FIELDS)


def _like_escape(tree: exp.Expr) -> exp.Expr:
    """``LIKE``/``ILIKE`` escape with ``\\`` by default in Spark; DuckDB has no default.
    A literal pattern whose backslash escapes anything but ``_``, ``%`` or itself is an
    error in Spark, and here too."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Like | exp.ILike) and not isinstance(node.parent, exp.Escape):
            pattern = node.expression
            if isinstance(pattern, exp.Literal) and pattern.is_string:
                _check_pattern(pattern.this)
            return exp.Escape(this=node, expression=exp.Literal.string("\\"))
        return node

    return tree.transform(fix, copy=False)


def _check_pattern(pattern: str) -> None:
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            if i + 1 == len(pattern):
                raise InvalidParameter(
                    f"[INVALID_FORMAT.ESC_AT_THE_END] The escape character is not allowed to "
                    f"end the LIKE pattern '{pattern}'. SQLSTATE: 42601", sql_state="42601")
            if pattern[i + 1] not in "_%\\":
                raise InvalidParameter(
                    f"[INVALID_FORMAT.ESC_IN_THE_MIDDLE] The escape character is not allowed "
                    f"to precede '{pattern[i + 1]}' in the LIKE pattern '{pattern}'. "
                    "SQLSTATE: 42601", sql_state="42601")
            i += 1
        i += 1


def _negative_literals(tree: exp.Expr) -> exp.Expr:
    """``-2147483648`` is an INT in Spark (the sign belongs to the literal); DuckDB types the
    positive part first (BIGINT) and keeps that type."""

    def fix(node: exp.Expr) -> exp.Expr:
        value = node.this if isinstance(node, exp.Neg) else None
        if isinstance(value, exp.Literal) and value.is_int:
            number = int(value.this)
            for bits, name in ((31, "INT"), (63, "BIGINT")):
                if number == 2**bits:
                    return exp.Cast(this=exp.Paren(this=node.copy()),
                                    to=exp.DataType.build(name))
        return node

    return tree.transform(fix, copy=False)


_UNIT_MICROS = {"DAY": 86_400_000_000, "HOUR": 3_600_000_000, "MINUTE": 60_000_000,
                "SECOND": 1_000_000}
_DAY_TIME = ("DAY", "HOUR", "MINUTE", "SECOND")


def _interval_spans(tree: exp.Expr) -> exp.Expr:
    """``INTERVAL '1-2' YEAR TO MONTH`` / ``INTERVAL '3 04:05:06.5' DAY TO SECOND`` (which
    DuckDB does not parse) -> one month count or one microsecond count."""

    def fix(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Interval) or not isinstance(node.unit, exp.IntervalSpan):
            return node
        value, negative = node.this, False
        if isinstance(value, exp.Neg):
            value, negative = value.this, True
        first, last = node.unit.this.name.upper(), node.unit.expression.name.upper()
        if not (isinstance(value, exp.Literal) and value.is_string):
            raise Unsupported("[UNSUPPORTED_FEATURE] an interval span needs a literal string. "
                              "SQLSTATE: 0A000")
        text = value.this.strip()
        if text[:1] in "+-":
            negative ^= text[0] == "-"
            text = text[1:]
        try:
            if (first, last) == ("YEAR", "MONTH"):
                years, _, months = text.partition("-")
                count, unit = int(years) * 12 + int(months), "MONTH"
            else:
                count, unit = _day_time_micros(text, first, last), "MICROSECOND"
        except ValueError as exc:
            raise InvalidParameter(f"[INVALID_INTERVAL_FORMAT] '{value.this}' is not an "
                                   f"interval {first} TO {last}. SQLSTATE: 22006",
                                   sql_state="22006") from exc
        return exp.Interval(this=exp.Literal.string(str(-count if negative else count)),
                            unit=exp.var(unit))

    return tree.transform(fix, copy=False)


def _day_time_micros(text: str, first: str, last: str) -> int:
    """'d hh:mm:ss.f' and its shorter spans -> microseconds."""
    if first not in _DAY_TIME or last not in _DAY_TIME:
        raise ValueError(text)
    units = _DAY_TIME[_DAY_TIME.index(first):_DAY_TIME.index(last) + 1]
    parts = text.replace(" ", ":").split(":") if first == "DAY" else text.split(":")
    if len(parts) != len(units):
        raise ValueError(text)
    total = 0
    for unit, part in zip(units, parts, strict=True):
        if unit == "SECOND":
            whole, _, fraction = part.partition(".")
            total += int(whole) * 1_000_000 + int((fraction + "000000")[:6])
        else:
            total += int(part) * _UNIT_MICROS[unit]
    return total


RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (
    _interval_spans,
    _negative_literals,
    _timestamps,
    _like_escape,
)
