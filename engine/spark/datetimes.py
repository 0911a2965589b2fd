"""Spark rules for date and time functions DuckDB lacks or answers differently.

``months_between`` (Spark's 31-day rule), ``next_day``, ``convert_timezone``,
``time_bucket`` (aligned to 1970-01-01 by default, month buckets to the origin's day and
time), ``unix_timestamp``/``to_unix_timestamp``, ``make_timestamp(date[, time[, tz]])``,
and the field functions (``hour('2018-02-14 12:58:59')``, ``last_day('2009-01-12')``),
which read a string as a TIMESTAMP or DATE the way Spark's implicit cast does.

>>> import sqlglot
>>> tree = sqlglot.parse_one("SELECT next_day(d, 'TU')", read="databricks")
>>> _calls(tree).sql("duckdb")
"SELECT SG_NEXT_DAY(d, 'TU')"
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp
from sqlglot.dialects.databricks import Databricks
from sqlglot.time import format_time

from engine.errors import Unsupported

T = exp.DType


def _error(error_class: str, text: str, sql_state: str) -> str:
    return f"error('[{error_class}] {text} SQLSTATE: {sql_state}')"


# Spark's DateTimeUtils.getDayOfWeekFromString: two- and three-letter names and full ones,
# any case; anything else raises in ANSI mode
_DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
_DOW = " ".join(f"WHEN upper(w) IN ('{d[:2]}', '{d[:3]}', '{d}') THEN {i}"
                for i, d in enumerate(_DAYS, start=1))
# whole seconds into the day, as Spark's monthsBetween counts them (microseconds dropped)
_SECS = "(hour({0}) * 3600 + minute({0}) * 60 + second({0}))"

MACROS: tuple[str, ...] = (
    # a wall-clock time in zone z as an instant, as java.time resolves it: in a gap the
    # clock moves forward by the gap (DuckDB does the same); in an overlap the earlier
    # instant wins (DuckDB takes the later). sg_zone_offset: wall minus UTC at instant t
    "CREATE MACRO sg_zone_offset(z, t) AS CAST(timezone(z, t) AS TIMESTAMP) "
    "- CAST(t AS TIMESTAMP)",
    "CREATE MACRO sg_earlier(z, w, e, c) AS CASE WHEN c < e AND CAST(timezone(z, c) "
    "AS TIMESTAMP) = w THEN c ELSE e END",
    "CREATE MACRO sg_at_zone(z, w) AS sg_earlier(z, CAST(w AS TIMESTAMP), timezone(z, "
    "CAST(w AS TIMESTAMP)), CAST(CAST(w AS TIMESTAMP) - sg_zone_offset(z, timezone(z, "
    "CAST(w AS TIMESTAMP)) - INTERVAL 1 DAY) AS TIMESTAMPTZ))",
    # next_day(start, dow): the first later date that falls on dow
    f"CREATE MACRO sg_dow_number(w) AS CASE WHEN w IS NULL THEN NULL {_DOW} ELSE "
    + _error("ILLEGAL_DAY_OF_WEEK", "Illegal input for day of week.", "22009") + " END",
    "CREATE MACRO sg_next_day(d, w) AS CAST(CAST(d AS DATE) + CAST((sg_dow_number(w) "
    "- isodow(CAST(d AS DATE)) + 6) % 7 + 1 AS INTEGER) AS DATE)",
    # months_between(a, b[, roundOff]): whole months apart, plus the difference of day and
    # time over a 31-day month unless both fall on the same day of the month or both on
    # the last day of theirs; rounded to 8 digits as Java's Math.round does (half up)
    "CREATE MACRO sg_months_diff(a, b) AS CAST((year(a) * 12 + month(a)) "
    "- (year(b) * 12 + month(b)) AS DOUBLE) + CASE WHEN day(a) = day(b) OR "
    "(day(a) = day(last_day(a)) AND day(b) = day(last_day(b))) THEN 0 ELSE "
    f"((day(a) - day(b)) * 86400 + {_SECS.format('a')} - {_SECS.format('b')}) "
    "/ 2678400.0 END",
    "CREATE MACRO sg_months_between(a, b, r := true) AS CASE WHEN r THEN "
    "floor(sg_months_diff(CAST(a AS TIMESTAMPTZ), CAST(b AS TIMESTAMPTZ)) * 1e8 + 0.5) / 1e8 "
    "ELSE sg_months_diff(CAST(a AS TIMESTAMPTZ), CAST(b AS TIMESTAMPTZ)) END",
    # make_timestamp(date[, time[, tz]]): the date's wall clock at time, in tz
    "CREATE MACRO sg_time(t) AS CAST(t AS TIME)",
    "CREATE MACRO sg_date_time(d, t := TIME '00:00:00') AS CAST(d AS DATE) + t",
    # time_bucket: the origin defaults to 1970-01-01 of ts's own type (ts minus its distance
    # from the epoch keeps TIMESTAMP or TIMESTAMP_NTZ); month buckets count whole months
    # from the origin, keeping its day and time (DuckDB's month buckets ignore them)
    # time_bucket buckets TIMESTAMP and TIMESTAMP_NTZ only (a DATE is a type error in Spark)
    "CREATE MACRO sg_timestamp_only(ts) AS CASE WHEN starts_with(typeof(ts), 'TIMESTAMP') "
    "THEN ts ELSE error('[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] time_bucket needs a "
    "TIMESTAMP or TIMESTAMP_NTZ. SQLSTATE: 42K09') END",
    "CREATE MACRO sg_same_type(o, ts) AS CASE WHEN typeof(o) = typeof(ts) THEN o ELSE "
    "error('[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] time_bucket''s origin must have the type "
    "of its timestamp. SQLSTATE: 42K09') END",
    "CREATE MACRO sg_epoch_of(ts) AS ts - (ts - TIMESTAMP '1970-01-01 00:00:00')",
    "CREATE MACRO sg_bucket_months(n, ts, o) AS CASE WHEN o + to_months(CAST(floor(("
    "(year(ts) * 12 + month(ts)) - (year(o) * 12 + month(o))) / n) * n AS INTEGER)) <= ts "
    "THEN o + to_months(CAST(floor(((year(ts) * 12 + month(ts)) - (year(o) * 12 + month(o))) "
    "/ n) * n AS INTEGER)) ELSE o + to_months(CAST((floor(((year(ts) * 12 + month(ts)) "
    "- (year(o) * 12 + month(o))) / n) - 1) * n AS INTEGER)) END",
    # unix_timestamp of a DATE or TIMESTAMP: whole seconds, truncated toward zero as Java's
    # long division does (DuckDB's // rounds down)
    "CREATE MACRO sg_unix_seconds(x) AS CASE WHEN epoch_us(x) < 0 "
    "THEN -((-epoch_us(x)) // 1000000) ELSE epoch_us(x) // 1000000 END",
)

_DATABRICKS = Databricks()
_FIELDS_OF_TIMESTAMPS = (exp.Hour, exp.Minute, exp.Second, exp.Quarter)
_MAKE_TIMESTAMPS = {"make_timestamp": "ltz", "make_timestamp_ltz": "ltz",
                    "make_timestamp_ntz": "ntz", "try_make_timestamp": "ltz",
                    "try_make_timestamp_ltz": "ltz", "try_make_timestamp_ntz": "ntz"}
_YEAR_MONTH = {"YEAR": 12, "YEARS": 12, "MONTH": 1, "MONTHS": 1}
# Spark's default pattern of unix_timestamp
_DEFAULT_FORMAT = "yyyy-MM-dd HH:mm:ss"


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _type(node: exp.Expr | None) -> exp.DType | None:
    """The operand's type from engine.spark.typed's annotation, if known."""
    typ = node.meta.get("spark_type") if node is not None else None
    return None if typ is None or typ.this in (T.UNKNOWN, T.NULL) else typ.this


def _cast(node: exp.Expr, to: str) -> exp.Cast:
    return exp.Cast(this=node, to=exp.DataType.build(to))


def _string_fields(tree: exp.Expr) -> exp.Expr:
    """``hour('2018-02-14 12:58:59')``: a string is read as a TIMESTAMP (a DATE for
    ``last_day``), as Spark's implicit cast does; DuckDB cannot choose an overload."""
    for node in tree.find_all(*_FIELDS_OF_TIMESTAMPS, exp.LastDay):
        if _type(node.this) in (T.VARCHAR, T.TEXT):
            to = "DATE" if isinstance(node, exp.LastDay) else "TIMESTAMP"
            node.set("this", _cast(node.this, to))
    return tree


def _time_literal(node: exp.Expr) -> exp.Expr:
    """A ``TIME'...'`` literal argument: only literals, which sg_time reads (the TIME type
    itself is refused elsewhere)."""
    if isinstance(node, exp.Cast) and node.to.this == T.TIME and isinstance(
            node.this, exp.Literal) and node.this.is_string:
        return _call("sg_time", node.this)
    raise Unsupported("[UNSUPPORTED_FEATURE] make_timestamp needs a TIME literal as its "
                      "second argument. SQLSTATE: 0A000")


def _date_time_parts(node: exp.Expr) -> tuple[str, list[exp.Expr]] | None:
    """(kind, [date, time, tz]) of a ``make_timestamp*(date[, time[, tz]])`` call."""
    if isinstance(node, exp.TimestampFromParts):
        args = [node.args[k] for k in ("year", "month", "day") if node.args.get(k)]
        if len(args) == len([v for v in node.args.values() if v is not None]) <= 3:
            return "ltz", args
        return None
    if isinstance(node, exp.Anonymous):
        kind = _MAKE_TIMESTAMPS.get(str(node.name).lower())
        if kind is not None and 1 <= len(node.expressions) <= 3:
            return kind, list(node.expressions)
    return None


def _make_timestamps(tree: exp.Expr) -> exp.Expr:
    """``make_timestamp(date[, time[, tz]])`` and its _ltz/_ntz/try_ forms (Spark 4's)."""

    def fix(node: exp.Expr) -> exp.Expr:
        parts = _date_time_parts(node)
        if parts is None:
            return node
        kind, args = parts
        if kind == "ntz" and len(args) == 3:
            raise Unsupported("[UNSUPPORTED_FEATURE] make_timestamp_ntz takes no time zone. "
                              "SQLSTATE: 0A000")
        pair = [args[0]] if len(args) == 1 else [args[0], _time_literal(args[1])]
        wall = _call("sg_date_time", *pair)
        if kind == "ntz":
            return wall
        zone = args[2] if len(args) == 3 else exp.Literal.string("UTC")
        return _call("sg_at_zone", zone, wall)

    return tree.transform(fix, copy=False)


def _timestamp_of_type(value: exp.Expr, to: exp.DType | None) -> exp.Expr:
    if to in (T.TIMESTAMPTZ, T.TIMESTAMPLTZ, T.TIMESTAMP):
        return exp.Cast(this=value, to=exp.DataType(this=T.TIMESTAMPTZ))
    return exp.Cast(this=value, to=exp.DataType(this=T.TIMESTAMPNTZ))


def _time_bucket(node: exp.Anonymous) -> exp.Expr:
    """``time_bucket(width, ts[, origin])``; the width must be a literal interval."""
    args = list(node.expressions)
    if len(args) not in (2, 3):
        raise Unsupported("[WRONG_NUM_ARGS] time_bucket takes 2 or 3 arguments. "
                          "SQLSTATE: 42605")
    width, ts = args[0], _call("sg_timestamp_only", args[1])
    if len(args) == 3 and args[2].find(exp.Column) is not None:
        raise Unsupported("[DATATYPE_MISMATCH.NON_FOLDABLE_INPUT] time_bucket's origin must be "
                          "a constant. SQLSTATE: 42K09")
    origin = (_call("sg_same_type", args[2], ts.copy()) if len(args) == 3
              else _call("sg_epoch_of", ts.copy()))
    unit = width.args.get("unit") if isinstance(width, exp.Interval) else None
    if unit is None or not isinstance(width.this, exp.Literal):
        raise Unsupported("[UNSUPPORTED_FEATURE] time_bucket needs a literal interval width. "
                          "SQLSTATE: 0A000")
    if isinstance(unit, exp.IntervalSpan):
        if unit.this.name.upper() == "YEAR":  # YEAR TO MONTH: counted in months below
            raise Unsupported("[UNSUPPORTED_FEATURE] time_bucket by a YEAR TO MONTH span is "
                              "not supported; use INTERVAL 'n' MONTH. SQLSTATE: 0A000")
        return _call("time_bucket", width, ts, origin)
    months = _YEAR_MONTH.get(unit.name.upper())
    if months is None:
        return _call("time_bucket", width, ts, origin)
    try:
        count = int(str(width.this.this).strip()) * months
    except ValueError:
        raise Unsupported("[UNSUPPORTED_FEATURE] time_bucket needs a literal interval width. "
                          "SQLSTATE: 0A000") from None
    if count <= 0:
        raise Unsupported("[INVALID_PARAMETER_VALUE] time_bucket's width must be positive. "
                          "SQLSTATE: 22023")
    return _call("sg_bucket_months", exp.Literal.number(count), ts, origin)


def _unix_timestamp(node: exp.StrToUnix) -> exp.Expr:
    """``unix_timestamp(x[, fmt])``: a DATE or TIMESTAMP's seconds, or a string parsed with
    Spark's pattern (sqlglot maps it onto strptime's)."""
    value = node.this
    if value is None or isinstance(value, exp.CurrentTimestamp) or _type(value) in (
            T.DATE, T.TIMESTAMP, T.TIMESTAMPTZ, T.TIMESTAMPLTZ, T.TIMESTAMPNTZ):
        return _call("sg_unix_seconds", value if value is not None else exp.CurrentTimestamp())
    fmt = node.args.get("format")
    if fmt is None:
        fmt = exp.Literal.string(_DEFAULT_FORMAT)
    elif isinstance(fmt, exp.Literal) and "%" in fmt.this:
        # unix_timestamp's pattern arrives already mapped onto strftime's: map it back
        fmt = exp.Literal.string(format_time(fmt.this, _DATABRICKS.INVERSE_TIME_MAPPING,
                                             _DATABRICKS.INVERSE_TIME_TRIE))
    parsed = Databricks.Parser.FUNCTIONS["TO_TIMESTAMP"]([value, fmt], _DATABRICKS)
    return _call("sg_unix_seconds", parsed)


def _calls(tree: exp.Expr) -> exp.Expr:
    """months_between, next_day, convert_timezone, time_bucket, unix_timestamp -> DuckDB."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.MonthsBetween):
            args = [node.this, node.expression]
            if node.args.get("roundoff") is not None:
                args.append(node.args["roundoff"])
            return _call("sg_months_between", *args)
        if isinstance(node, exp.NextDay):
            return _call("sg_next_day", node.this, node.expression)
        if isinstance(node, exp.ConvertTimezone):
            # the wall clock of ts in the source zone, shown in the target zone (NTZ)
            source = node.args.get("source_tz") or exp.Literal.string("UTC")
            wall = _timestamp_of_type(node.args["timestamp"], None)
            return _call("timezone", node.args["target_tz"], _call("sg_at_zone", source, wall))
        if isinstance(node, exp.StrToUnix):
            return _unix_timestamp(node)
        if isinstance(node, exp.Anonymous) and str(node.name).lower() == "time_bucket":
            return _time_bucket(node)
        return node

    return tree.transform(fix, copy=False)


# what engine.spark.functions allows because this module implements it
NAMES: frozenset[str] = frozenset({"time_bucket", "to_unix_timestamp"})
CLASSES: frozenset[str] = frozenset({"MonthsBetween", "NextDay", "ConvertTimezone",
                                     "StrToUnix"})
RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_string_fields, _make_timestamps, _calls)
