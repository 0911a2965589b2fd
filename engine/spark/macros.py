"""DuckDB macros implementing Spark functions whose logic is plain SQL.

Created once per engine database (engine.spark.install) under ``sg_`` names, which the
function check never lets a user call directly: only the rules of this package emit them.
DuckDB macros are expanded before binding, so one macro serves every argument type.
"""

from __future__ import annotations


def _error(error_class: str, text: str, sql_state: str) -> str:
    return f"error('[{error_class}] {text} SQLSTATE: {sql_state}')"


MACROS: tuple[str, ...] = (
    # ANSI: x / 0 and x % 0 raise (DuckDB gives Infinity/NULL for doubles)
    "CREATE MACRO sg_divisor(b) AS CASE WHEN b = 0 THEN "
    + _error("DIVIDE_BY_ZERO", "Division by zero. Use `try_divide` to tolerate divisor being "
             "0 and return NULL instead.", "22012") + " ELSE b END",
    "CREATE MACRO sg_remainder_divisor(b) AS CASE WHEN b = 0 THEN "
    + _error("REMAINDER_BY_ZERO", "Remainder by zero. Use `try_mod` to tolerate divisor being "
             "0 and return NULL instead.", "22012") + " ELSE b END",
    # sum of integers: BIGINT overflow raises (DuckDB's sum of BIGINT is a HUGEINT)
    "CREATE MACRO sg_sum(x) AS CASE WHEN typeof(sum(x)) = 'HUGEINT' "
    "THEN CAST(sum(x) AS BIGINT) ELSE sum(x) END",
    # array_contains: NULL when not found but the array holds a NULL
    "CREATE MACRO sg_array_contains(a, v) AS CASE WHEN a IS NULL OR v IS NULL THEN NULL "
    "WHEN list_contains(a, v) THEN true "
    "WHEN list_count(a) < len(a) THEN NULL ELSE false END",
    # array_position: 1-based, 0 when absent, NULL for NULL arguments
    "CREATE MACRO sg_array_position(a, v) AS CASE WHEN a IS NULL OR v IS NULL THEN NULL "
    "ELSE coalesce(list_position(a, v), 0) END",
    # array_remove keeps NULL elements; a NULL element to remove gives NULL
    "CREATE MACRO sg_array_remove(a, v) AS CASE WHEN v IS NULL THEN NULL "
    "ELSE list_filter(a, lambda x: x IS NULL OR x <> v) END",
    # array_distinct keeps the first of each value, NULL included, in order
    "CREATE MACRO sg_array_distinct(a) AS "
    "list_filter(a, lambda x, i: list_position(a, x) = i)",
    # exists / forall over a list of booleans: NULL when undecided and a NULL is present
    "CREATE MACRO sg_exists(b) AS CASE WHEN list_contains(b, true) THEN true "
    "WHEN list_count(b) < len(b) THEN NULL ELSE false END",
    "CREATE MACRO sg_forall(b) AS CASE WHEN list_contains(b, false) THEN false "
    "WHEN list_count(b) < len(b) THEN NULL ELSE true END",
    # Spark's text of a timestamp: no zone suffix, the fraction without trailing zeros
    "CREATE MACRO sg_timestamp_text(t) AS "
    "rtrim(rtrim(strftime(t, '%Y-%m-%d %H:%M:%S.%f'), '0'), '.')",
    # arr[i] from 0 and element_at(arr, i) from 1 (negative: from the end) raise when out
    # of bounds in ANSI mode
    "CREATE MACRO sg_array_get(a, i) AS CASE WHEN i < 0 OR i >= len(a) THEN "
    + _error("INVALID_ARRAY_INDEX", "The index is out of bounds.", "22003")
    + " ELSE a[i + 1] END",
    "CREATE MACRO sg_element_at(a, i) AS CASE WHEN i = 0 THEN "
    + _error("INVALID_INDEX_OF_ZERO", "The index 0 is invalid.", "22003")
    + " WHEN abs(i) > len(a) THEN "
    + _error("INVALID_ARRAY_INDEX_IN_ELEMENT_AT", "The index is out of bounds.", "22003")
    + " ELSE a[i] END",
    # flatten: NULL if any inner array is NULL
    "CREATE MACRO sg_flatten(a) AS CASE WHEN list_count(a) < len(a) THEN NULL "
    "ELSE flatten(a) END",
    # ln/log of a non-positive number: NULL in Spark, -inf/NaN or an error in DuckDB
    "CREATE MACRO sg_positive(x) AS CASE WHEN x <= 0 THEN NULL ELSE x END",
    # left/right with a negative length: '' in Spark
    "CREATE MACRO sg_length(n) AS CASE WHEN n < 0 THEN 0 ELSE n END",
    # median/percentile of intervals: DuckDB mixes months and days, Spark keeps them apart
    "CREATE MACRO sg_numeric(x) AS CASE WHEN typeof(x) = 'INTERVAL' THEN "
    + _error("UNSUPPORTED_FEATURE.INTERVAL_PERCENTILE", "percentiles of INTERVAL values are "
             "not supported by this warehouse.", "0A000") + " ELSE x END",
)
