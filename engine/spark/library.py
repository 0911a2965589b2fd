"""Spark functions implemented as DuckDB macros or DuckDB built-ins of other names.

`CALLS` maps a Spark function name to the DuckDB function that gives Spark's answer: one of
the ``sg_`` macros of `MACROS` (created at engine start) or a DuckDB built-in whose
semantics match. `TYPED` does the same for functions sqlglot parses into typed nodes whose
own DuckDB translation is wrong. Every name here is allowed by `engine.spark.functions`
because the differential suite (tests/engine/spark) checks it against Spark.

>>> import sqlglot
>>> _calls(sqlglot.parse_one("SELECT mask(s)", read="databricks")).sql("duckdb")
'SELECT SG_MASK(s)'
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp
from sqlglot.dialects.databricks import Databricks

from engine.errors import Unsupported


def _error(error_class: str, text: str, sql_state: str) -> str:
    return f"error('[{error_class}] {text} SQLSTATE: {sql_state}')"


_MASK_CHAR = ("CASE WHEN lower(sg_c) <> sg_c THEN coalesce(u, sg_c) "
              "WHEN upper(sg_c) <> sg_c THEN coalesce(l, sg_c) "
              "WHEN sg_c BETWEEN '0' AND '9' THEN coalesce(d, sg_c) ELSE coalesce(o, sg_c) END")
_BAD_TIMESTAMP = ("mo NOT BETWEEN 1 AND 12 OR d < 1 OR d > day(last_day(make_date(y, mo, 1))) "
                  "OR h NOT BETWEEN 0 AND 23 OR mi NOT BETWEEN 0 AND 59 OR s < 0 OR s > 60")
_BAD_DATE = "mo NOT BETWEEN 1 AND 12 OR d < 1 OR d > day(last_day(make_date(y, mo, 1)))"
_DATETIME_ERROR = _error("DATETIME_FIELD_OUT_OF_BOUNDS", "A date or time field is out of "
                         "range.", "22023")

# DuckDB type name -> Spark's, innermost first (TIMESTAMP WITH TIME ZONE before TIMESTAMP)
_TYPE_WORDS = (
    ("TIMESTAMP WITH TIME ZONE", "timestamp"), ("TIMESTAMP", "timestamp_ntz"),
    ("INTEGER", "int"), ("BIGINT", "bigint"), ("SMALLINT", "smallint"),
    ("TINYINT", "tinyint"), ("DOUBLE", "double"), ("FLOAT", "float"), ("VARCHAR", "string"),
    ("BOOLEAN", "boolean"), ("DATE", "date"), ("BLOB", "binary"), ('"NULL"', "void"),
    ("HUGEINT", "decimal(38,0)"), ("DECIMAL", "decimal"),
)


def _type_name_sql() -> str:
    text = "typeof(x)"
    for duck, spark in _TYPE_WORDS:
        text = f"replace({text}, '{duck}', '{spark}')"
    text = rf"regexp_replace({text}, '([a-z_]+(\(\d+,\d+\))?)\[\]', 'array<\1>', 'g')"
    # ARRAY of ARRAY
    text = rf"regexp_replace({text}, '(array<[^ \[\]]*>)\[\]', 'array<\1>', 'g')"
    text = rf"regexp_replace({text}, 'MAP\(([^(), ]+), ([^()]+)\)', 'map<\1,\2>', 'g')"
    return text


MACROS: tuple[str, ...] = (
    # mask(str[, upper, lower, digit, other]): NULL replacement keeps that class as is
    "CREATE MACRO sg_mask(s, u := 'X', l := 'x', d := 'n', o := NULL) AS "
    f"array_to_string(list_transform(string_split(s, ''), lambda sg_c: {_MASK_CHAR}), '')",
    "CREATE MACRO sg_try_mod(a, b) AS CASE WHEN b = 0 THEN NULL ELSE try(a % b) END",
    "CREATE MACRO sg_pmod(a, b) AS CASE WHEN a % sg_remainder_divisor(b) < 0 "
    "THEN (a % b + b) % b ELSE a % b END",
    "CREATE MACRO sg_e() AS exp(1)",
    "CREATE MACRO sg_identity(x) AS x",
    "CREATE MACRO sg_sign(x) AS CAST(sign(x) AS DOUBLE)",
    "CREATE MACRO sg_btrim(s) AS trim(s), (s, chars) AS trim(s, chars)",
    "CREATE MACRO sg_dayofweek(x) AS dayofweek(CAST(x AS DATE)) + 1",
    "CREATE MACRO sg_weekday(x) AS isodow(CAST(x AS DATE)) - 1",
    "CREATE MACRO sg_dayname(x) AS strftime(CAST(x AS DATE), '%a')",
    "CREATE MACRO sg_monthname(x) AS strftime(CAST(x AS DATE), '%b')",
    # width_bucket: NULL for an invalid bucket count or range, buckets 0 and n+1 outside
    "CREATE MACRO sg_width_bucket(v, lo, hi, n) AS CASE WHEN n <= 0 OR lo = hi THEN NULL "
    "WHEN lo < hi THEN CASE WHEN v < lo THEN 0 WHEN v >= hi THEN n + 1 "
    "ELSE CAST(floor((v - lo) * n / (hi - lo)) AS BIGINT) + 1 END "
    "ELSE CASE WHEN v > lo THEN 0 WHEN v <= hi THEN n + 1 "
    "ELSE CAST(floor((lo - v) * n / (lo - hi)) AS BIGINT) + 1 END END",
    # make_timestamp: out-of-range fields raise (DuckDB rolls them over); 60 s is the next
    # minute as in Spark
    f"CREATE MACRO sg_make_timestamp(y, mo, d, h, mi, s) AS CASE WHEN {_BAD_TIMESTAMP} THEN "
    f"{_DATETIME_ERROR} ELSE make_timestamptz(y, mo, d, h, mi, s) END, "
    f"(y, mo, d, h, mi, s, tz) AS CASE WHEN {_BAD_TIMESTAMP} THEN {_DATETIME_ERROR} "
    "ELSE sg_at_zone(tz, make_timestamp(y, mo, d, h, mi, s)) END",
    f"CREATE MACRO sg_try_make_timestamp(y, mo, d, h, mi, s) AS CASE WHEN {_BAD_TIMESTAMP} "
    "THEN NULL ELSE make_timestamptz(y, mo, d, h, mi, s) END, "
    f"(y, mo, d, h, mi, s, tz) AS CASE WHEN {_BAD_TIMESTAMP} THEN NULL "
    "ELSE sg_at_zone(tz, make_timestamp(y, mo, d, h, mi, s)) END",
    f"CREATE MACRO sg_make_timestamp_ntz(y, mo, d, h, mi, s) AS CASE WHEN {_BAD_TIMESTAMP} "
    f"THEN {_DATETIME_ERROR} ELSE make_timestamp(y, mo, d, h, mi, s) END",
    f"CREATE MACRO sg_try_make_timestamp_ntz(y, mo, d, h, mi, s) AS CASE WHEN "
    f"{_BAD_TIMESTAMP} THEN NULL ELSE make_timestamp(y, mo, d, h, mi, s) END",
    f"CREATE MACRO sg_make_date(y, mo, d) AS CASE WHEN {_BAD_DATE} THEN {_DATETIME_ERROR} "
    "ELSE make_date(y, mo, d) END",
    # sequence(start, stop): counts down when start > stop (DuckDB: empty)
    "CREATE MACRO sg_sequence(a, b) AS CASE WHEN a <= b THEN generate_series(a, b) "
    "ELSE generate_series(a, b, -1) END, "
    "(a, b, step) AS CASE WHEN step = 0 OR (step > 0 AND a > b) OR (step < 0 AND a < b) THEN "
    + _error("INVALID_PARAMETER_VALUE.SEQUENCE", "Illegal sequence boundaries for this step.",
             "22023") + " ELSE generate_series(a, b, step) END",
    # typeof: Spark's names; INTERVAL (DuckDB cannot tell YEAR TO MONTH from DAY TO SECOND)
    # and STRUCT are refused
    "CREATE MACRO sg_typeof(x) AS CASE WHEN "
    "regexp_matches(typeof(x), 'INTERVAL|STRUCT|MAP\\(.*MAP') THEN "
    + _error("UNSUPPORTED_FEATURE.TYPEOF", "typeof of this type is not supported by this "
             "warehouse.", "0A000") + f" ELSE {_type_name_sql()} END",
    "CREATE MACRO sg_getbit(x, p) AS (x >> p) & 1",
    "CREATE MACRO sg_zeroifnull(x) AS coalesce(x, 0)",
    "CREATE MACRO sg_nullifzero(x) AS nullif(x, 0)",
    "CREATE MACRO sg_isnull(x) AS x IS NULL",
    "CREATE MACRO sg_isnotnull(x) AS x IS NOT NULL",
    "CREATE MACRO sg_negative(x) AS -x",
    "CREATE MACRO sg_bround(x) AS round_even(x, 0), (x, d) AS round_even(x, d)",
    "CREATE MACRO sg_rint(x) AS CAST(round_even(CAST(x AS DOUBLE), 0) AS DOUBLE)",
    "CREATE MACRO sg_log1p(x) AS CASE WHEN x <= -1 THEN NULL ELSE ln(1 + x) END",
    "CREATE MACRO sg_expm1(x) AS exp(x) - 1",
    "CREATE MACRO sg_hypot(a, b) AS sqrt(a * a + b * b)",
    "CREATE MACRO sg_sec(x) AS 1 / cos(x)",
    "CREATE MACRO sg_csc(x) AS 1 / sin(x)",
    "CREATE MACRO sg_nanvl(a, b) AS CASE WHEN isnan(a) THEN b ELSE a END",
    "CREATE MACRO sg_find_in_set(s, l) AS CASE WHEN contains(s, ',') THEN 0 "
    "ELSE coalesce(list_position(string_split(l, ','), s), 0) END",
    # get(arr, i): from 0, NULL out of bounds
    "CREATE MACRO sg_get(a, i) AS CASE WHEN i < 0 OR i >= len(a) THEN NULL ELSE a[i + 1] END",
    "CREATE MACRO sg_array_union(a, b) AS sg_array_distinct(list_concat(a, b))",
    "CREATE MACRO sg_array_repeat(x, n) AS CASE WHEN n IS NULL THEN NULL "
    "ELSE list_transform(range(greatest(n, 0)), lambda sg_i: x) END",
    "CREATE MACRO sg_arrays_overlap(a, b) AS CASE WHEN a IS NULL OR b IS NULL THEN NULL "
    "WHEN list_has_any(a, b) THEN true WHEN len(a) > 0 AND len(b) > 0 AND "
    "(list_count(a) < len(a) OR list_count(b) < len(b)) THEN NULL ELSE false END",
    "CREATE MACRO sg_map_contains_key(m, k) AS list_contains(map_keys(m), k)",
    "CREATE MACRO sg_date_add(d, n) AS CAST(CAST(d AS DATE) + CAST(n AS INTEGER) AS DATE)",
    "CREATE MACRO sg_make_dt_interval(d) AS to_days(CAST(d AS INTEGER)), "
    "(d, h) AS to_days(CAST(d AS INTEGER)) + to_hours(CAST(h AS BIGINT)), "
    "(d, h, m) AS to_days(CAST(d AS INTEGER)) + to_hours(CAST(h AS BIGINT)) "
    "+ to_minutes(CAST(m AS BIGINT)), "
    "(d, h, m, s) AS to_days(CAST(d AS INTEGER)) + to_hours(CAST(h AS BIGINT)) "
    "+ to_minutes(CAST(m AS BIGINT)) + to_microseconds(CAST(s * 1000000 AS BIGINT))",
    "CREATE MACRO sg_make_ym_interval(y) AS to_months(CAST(y * 12 AS INTEGER)), "
    "(y, m) AS to_months(CAST(y * 12 + m AS INTEGER))",
    # try_sum: NULL past BIGINT (DuckDB widens to HUGEINT); try_avg of numbers is avg
    "CREATE MACRO sg_try_sum(x) AS CASE WHEN typeof(sum(x)) = 'HUGEINT' "
    "THEN CASE WHEN sum(x) BETWEEN -9223372036854775808 AND 9223372036854775807 "
    "THEN CAST(sum(x) AS BIGINT) END ELSE sum(x) END",
    "CREATE MACRO sg_try_avg(x) AS avg(sg_numeric(x))",
    # str_to_map(text[, pair_delim, key_value_delim]): delimiters are regular expressions
    "CREATE MACRO sg_str_to_map(s, pd := ',', kd := ':') AS map_from_entries(list_transform("
    "string_split_regex(s, pd), lambda sg_p: {'key': string_split_regex(sg_p, kd)[1], "
    "'value': CASE WHEN regexp_matches(sg_p, kd) THEN regexp_replace(sg_p, '^.*?(' || kd "
    "|| ')', '') END}))",
    "CREATE MACRO sg_timestamp_seconds(x) AS to_timestamp(x)",
    "CREATE MACRO sg_timestamp_millis(x) AS make_timestamptz(CAST(x AS BIGINT) * 1000)",
    "CREATE MACRO sg_timestamp_micros(x) AS make_timestamptz(CAST(x AS BIGINT))",
    "CREATE MACRO sg_date_from_unix_date(x) AS CAST(DATE '1970-01-01' + CAST(x AS INT) AS DATE)",
)

# Spark name -> DuckDB function (an sg_ macro above or a built-in with Spark's semantics)
CALLS: dict[str, str] = {
    "mask": "sg_mask",
    "try_mod": "sg_try_mod",
    "pmod": "sg_pmod",
    "e": "sg_e",
    "positive": "sg_identity",
    "btrim": "sg_btrim",
    "weekday": "sg_weekday",
    "every": "bool_and",
    "some": "bool_or",
    "make_date": "sg_make_date",
    "make_timestamp_ntz": "sg_make_timestamp_ntz",
    "make_timestamp_ltz": "sg_make_timestamp",
    "try_make_timestamp": "sg_try_make_timestamp",
    "try_make_timestamp_ltz": "sg_try_make_timestamp",
    "try_make_timestamp_ntz": "sg_try_make_timestamp_ntz",
    "timestamp_seconds": "sg_timestamp_seconds",
    "timestamp_millis": "sg_timestamp_millis",
    "timestamp_micros": "sg_timestamp_micros",
    "date_from_unix_date": "sg_date_from_unix_date",
    "getbit": "sg_getbit",
    "bit_get": "sg_getbit",
    "zeroifnull": "sg_zeroifnull",
    "nullifzero": "sg_nullifzero",
    "isnull": "sg_isnull",
    "isnotnull": "sg_isnotnull",
    "bround": "sg_bround",
    "std": "stddev_samp",
    "log1p": "sg_log1p",
    "expm1": "sg_expm1",
    "hypot": "sg_hypot",
    "find_in_set": "sg_find_in_set",
    "get": "sg_get",
    "array_union": "sg_array_union",
    "array_repeat": "sg_array_repeat",
    "arrays_overlap": "sg_arrays_overlap",
    "make_dt_interval": "sg_make_dt_interval",
    "make_ym_interval": "sg_make_ym_interval",
    "try_sum": "sg_try_sum",
    "try_avg": "sg_try_avg",
    "regexp": "regexp_matches",
}

# aggregates implemented as macros: a macro call cannot carry OVER or FILTER
AGGREGATE_MACROS = frozenset({"sg_try_sum", "sg_try_avg"})

# sqlglot class -> (Spark name, DuckDB function): typed nodes whose own translation is wrong
TYPED: dict[str, tuple[str, str]] = {
    "Sign": ("sign", "sg_sign"),
    "DayOfWeek": ("dayofweek", "sg_dayofweek"),
    "Dayname": ("dayname", "sg_dayname"),
    "Monthname": ("monthname", "sg_monthname"),
    "WidthBucket": ("width_bucket", "sg_width_bucket"),
    "TimestampFromParts": ("make_timestamp", "sg_make_timestamp"),
    "GenerateSeries": ("sequence", "sg_sequence"),
    "DateFromUnixDate": ("date_from_unix_date", "sg_date_from_unix_date"),
    "Typeof": ("typeof", "sg_typeof"),
    "Getbit": ("getbit", "sg_getbit"),
    "Negative": ("negative", "sg_negative"),
    "Rint": ("rint", "sg_rint"),
    "Sec": ("sec", "sg_sec"),
    "Csc": ("csc", "sg_csc"),
    "Nanvl": ("nanvl", "sg_nanvl"),
    "MapContainsKey": ("map_contains_key", "sg_map_contains_key"),
    "StrToMap": ("str_to_map", "sg_str_to_map"),
}


# try_to_date(s[, fmt]) and the like: Spark's own parse of the call they wrap, inside TRY
_WRAPPED = {"try_to_date": ("TO_DATE", "try"), "try_to_timestamp": ("TO_TIMESTAMP", "try"),
            "to_timestamp_ltz": ("TO_TIMESTAMP", None),
            "to_timestamp_ntz": ("TO_TIMESTAMP", "ntz")}


# what `engine.spark.functions` allows because this module implements it
NAMES: frozenset[str] = frozenset({*CALLS, "date_part", "datepart", "forall", *_WRAPPED})
CLASSES: frozenset[str] = frozenset({*TYPED, "SafeAdd", "SafeSubtract", "SafeMultiply", "Any",
                                     "TsOrDsAdd", "StrToTime", "Format", "Elt"})


def _call(name: str, args: list[exp.Expr]) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=args)


def _calls(tree: exp.Expr) -> exp.Expr:
    """Spark calls -> their DuckDB implementations, arguments unchanged."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Anonymous):
            target = CALLS.get(str(node.name).lower())
            if target is not None:
                _check_plain_aggregate(node, target, str(node.name))
                node.set("this", target)
            return node
        typed = TYPED.get(type(node).__name__)
        if typed is not None:
            args = [v for k in type(node).arg_types if isinstance(v := node.args.get(k),
                                                                   exp.Expr)]
            _check_plain_aggregate(node, typed[1], typed[0])
            return _call(typed[1], args)
        if isinstance(node, exp.Format):  # format_string: Java's %d %s, as printf's
            return _call("printf", [node.this, *node.expressions])
        if isinstance(node, exp.SafeAdd | exp.SafeSubtract | exp.SafeMultiply):
            op = {exp.SafeAdd: exp.Add, exp.SafeSubtract: exp.Sub,
                  exp.SafeMultiply: exp.Mul}[type(node)]
            return _call("try", [op(this=node.this, expression=node.expression)])
        if isinstance(node, exp.Any) and not isinstance(node.this, exp.Query) and not (
                isinstance(node.parent, exp.Predicate)):
            return _call("bool_or", [node.this])
        return node

    return tree.transform(fix, copy=False)


def _check_plain_aggregate(node: exp.Expr, target: str, name: str) -> None:
    if target in AGGREGATE_MACROS and isinstance(node.parent, exp.Window | exp.Filter):
        raise Unsupported(f"[UNSUPPORTED_FEATURE] {name} with OVER or FILTER is not "
                          "supported by this warehouse. SQLSTATE: 0A000")


def _elt(tree: exp.Expr) -> exp.Expr:
    """``elt(n, a, b, ...)``: the n-th value as a string; out of range raises (ANSI)."""

    def fix(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Elt) or not node.expressions:
            return node
        text = exp.DataType.build("VARCHAR")
        ifs = [exp.If(this=exp.EQ(this=node.this.copy(), expression=exp.Literal.number(i)),
                      true=exp.Cast(this=value, to=text.copy()))
               for i, value in enumerate(node.expressions, start=1)]
        out_of_range = _call("error", [exp.Literal.string(
            "[INVALID_ARRAY_INDEX] The index of elt is out of bounds. SQLSTATE: 22003")])
        nulls = exp.If(this=exp.Is(this=node.this.copy(), expression=exp.null()),
                       true=exp.null())
        return exp.Case(ifs=[nulls, *ifs], default=out_of_range)

    return tree.transform(fix, copy=False)


def _date_add(tree: exp.Expr) -> exp.Expr:
    """``date_add(d, n)`` / ``dateadd(d, n)`` (TsOrDsAdd in days) stay DATEs."""

    def fix(node: exp.Expr) -> exp.Expr:
        unit = node.args.get("unit") if isinstance(node, exp.TsOrDsAdd) else None
        if isinstance(node, exp.TsOrDsAdd) and (unit is None or unit.name.upper() == "DAY"):
            return _call("sg_date_add", [node.this, node.expression])
        return node

    return tree.transform(fix, copy=False)


_DATABRICKS = Databricks()


def _wrapped(tree: exp.Expr) -> exp.Expr:
    functions = Databricks.Parser.FUNCTIONS

    def fix(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Anonymous):
            return node
        spec = _WRAPPED.get(str(node.name).lower())
        if spec is None:
            return node
        inner = functions[spec[0]](list(node.expressions), _DATABRICKS)
        if spec[0] == "TO_TIMESTAMP":  # strptime gives a wall-clock TIMESTAMP
            zone = exp.DType.TIMESTAMPNTZ if spec[1] == "ntz" else exp.DType.TIMESTAMPTZ
            inner = exp.Cast(this=inner, to=exp.DataType(this=zone))
        return _call("try", [inner]) if spec[1] == "try" else inner

    return tree.transform(fix, copy=False)


def _str_to_time(tree: exp.Expr) -> exp.Expr:
    """``to_timestamp(s, fmt)`` is a TIMESTAMP (an instant), strptime's a wall clock."""
    for node in list(tree.find_all(exp.StrToTime)):
        if not isinstance(node.parent, exp.Cast):
            node.replace(exp.Cast(this=node.copy(), to=exp.DataType.build("TIMESTAMPTZ")))
    return tree


def _date_part(tree: exp.Expr) -> exp.Expr:
    """``date_part('FIELD', x)`` / ``datepart`` are ``extract(FIELD FROM x)``."""
    for node in list(tree.find_all(exp.Anonymous)):
        if str(node.name).lower() not in ("date_part", "datepart"):
            continue
        field = node.expressions[0] if node.expressions else None
        if len(node.expressions) != 2 or not (isinstance(field, exp.Literal)
                                              and field.is_string):
            raise Unsupported("[UNSUPPORTED_FEATURE] date_part needs a literal field. "
                              "SQLSTATE: 0A000")
        node.replace(exp.Extract(this=exp.var(field.this.upper()),
                                 expression=node.expressions[1]))
    return tree


RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (
    _str_to_time,
    _elt,
    _wrapped,
    _date_add,
    _date_part,
    _calls,
)
