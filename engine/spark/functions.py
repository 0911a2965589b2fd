"""Which functions may run: an allowlist verified against Spark, everything else refused.

A function is allowed when the differential suite (tests/engine/spark) shows that the
translated DuckDB call gives Spark's answer on Spark's documented examples and on the
suite's own edge cases; a DuckDB function of the same name is never trusted by its name
alone. Keys are sqlglot expression class names for the functions sqlglot parses into typed
nodes (``Substring`` covers ``substr`` and ``substring``) and lower-case names for the rest
(``Anonymous`` calls, which the family rules map onto macros).

>>> import sqlglot
>>> check(sqlglot.parse_one("SELECT upper('a')", read="databricks"))
>>> check(sqlglot.parse_one("SELECT no_such_fn(1)", read="databricks"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
engine.errors.AnalysisError: [UNRESOLVED_ROUTINE] Cannot resolve routine `no_such_fn` ...
"""

from __future__ import annotations

from sqlglot import exp

from engine.errors import AnalysisError, Unsupported
from engine.spark import (
    aggregates,
    arrays,
    binaries,
    bits,
    datetimes,
    formats,
    generators,
    hashes,
    intervals,
    jsons,
    kll,
    lambdas,
    library,
    sketches,
    strings,
    texts,
    topk,
    urls,
    windows,
)
from engine.spark.generators import table_function
from engine.spark.names import SPARK_FUNCTIONS

# sqlglot expression classes whose DuckDB translation (plus this package's rules) matches
# Spark on every case of the suite.
TYPED: frozenset[str] = frozenset((
    "Abs", "Acos", "Acosh", "AddMonths", "And", "AnyValue", "ArgMax", "ArgMin", "Array",
    "ArrayAgg", "ArrayAppend", "ArrayCompact", "ArrayContains", "ArrayDistinct", "ArrayExcept",
    "ArrayFilter", "ArrayInsert", "ArrayIntersect", "ArrayMax", "ArrayMin", "ArrayPosition",
    "ArrayPrepend", "ArrayRemove", "ArraySize", "ArraySlice", "ArraySort", "ArrayToString",
    "ArrayUniqueAgg", "Ascii", "Asin", "Asinh", "Atan", "Atan2", "Atanh", "Avg", "BitLength",
    "BitwiseAndAgg", "BitwiseCount", "BitwiseOrAgg", "BitwiseXorAgg", "Case", "Cast", "Cbrt",
    "Ceil", "Chr", "Coalesce", "Concat", "ConcatWs", "Contains", "Corr", "Cos", "Cosh", "Cot",
    "Count", "CountIf", "CovarPop", "CovarSamp", "CumeDist", "CurrentDate", "CurrentTimestamp",
    "DateDiff", "DateTrunc", "Day", "DayOfMonth", "DayOfYear", "Decode", "DecodeCase", "Degrees",
    "DenseRank", "Encode", "EndsWith", "EqualNull", "Exp", "Explode", "Extract", "Factorial",
    "First", "FirstValue", "Flatten", "Floor", "FromBase64", "Greatest", "GroupConcat", "Grouping",
    "GroupingId", "Hex", "Hour", "If", "Initcap", "IsNan", "JSONExtractScalar", "JSONKeys", "Lag",
    "Last", "LastDay", "LastValue", "Lead", "Least", "Left", "Length", "Levenshtein", "Ln", "Log",
    "LogicalAnd", "LogicalOr", "Lower", "MD5", "Map", "MapFromEntries", "MapKeys", "Max", "Median",
    "Min", "Minute", "Mode", "Month", "NthValue", "Ntile", "Nullif", "Nvl2", "Or", "Overlay",
    "Pad", "PercentRank", "PercentileCont", "PercentileDisc", "Pi", "Posexplode", "Pow",
    "Quantile", "Quarter", "Radians", "Rank", "Reduce", "RegexpCount", "RegexpExtract",
    "RegexpExtractAll", "RegexpInstr", "RegexpLike", "RegexpReplace", "RegexpSplit", "RegrAvgx",
    "RegrAvgy", "RegrCount", "RegrIntercept", "RegrR2", "RegrSlope", "RegrSxx", "RegrSxy",
    "RegrSyy", "Repeat", "Replace", "Reverse", "Right", "Round", "RowNumber", "SHA", "SHA2",
    "SafeAdd", "SafeDivide", "SafeSubtract", "Second", "Sign", "Sin", "Sinh", "Space", "SplitPart",
    "Sqrt", "StartsWith", "Stddev", "StddevPop", "StddevSamp", "StrPosition", "Struct",
    "Substring", "Sum", "Tan", "Tanh", "TimeDiff", "TimeStrToTime", "TimeToStr", "TimeTrunc",
    "TimestampTrunc", "ToBase64", "ToBinary", "Transform", "Translate", "Trim", "TryCast",
    "TsOrDsToDate", "Unhex", "UnixDate", "UnixMicros", "UnixMillis", "UnixSeconds", "UnixToStr",
    "Upper", "VarMap", "Variance", "VariancePop", "WeekOfYear", "Year",
))

# Calls sqlglot keeps as Anonymous that a rule or macro implements with Spark's semantics.
NAMED: frozenset[str] = frozenset((
    "bin", "cardinality", "jaro_winkler_similarity", "json_array_length", "map_concat",
    "map_entries", "map_values", "mean", "measure", "octet_length", "printf", "regexp",
    "time_from_micros", "time_from_millis", "time_from_seconds", "time_to_micros",
    "time_to_millis", "time_to_seconds", "timestamp_nanos", "to_time", "try_to_time", "url_decode",
    "url_encode",
))

# Typed nodes sqlglot creates for syntax, not for a function the user called by name.
_SYNTAX: tuple[type[exp.Expr], ...] = (exp.Cast, exp.TryCast, exp.Case, exp.If, exp.Paren,
                                       exp.Exists)


# what the family modules implement: names of Anonymous calls, classes of typed nodes
_FAMILY_NAMES = (library.NAMES, arrays.NAMES, formats.NAMES, binaries.NAMES, datetimes.NAMES,
                 hashes.NAMES, aggregates.NAMES, bits.NAMES, generators.NAMES,
                 strings.NAMES, sketches.NAMES,
                 urls.NAMES, lambdas.NAMES, kll.NAMES,
                 jsons.NAMES, intervals.NAMES, windows.NAMES)
_FAMILY_CLASSES = (library.CLASSES, texts.CLASSES, formats.CLASSES, binaries.CLASSES,
                   datetimes.CLASSES, aggregates.CLASSES, generators.CLASSES,
                   strings.CLASSES, intervals.CLASSES,
                   lambdas.CLASSES, topk.CLASSES)


def key(node: exp.Func) -> str:
    """The allowlist key of a function call."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return type(node).__name__


def spark_name(node: exp.Func) -> str:
    """The name to show the user: as written for Anonymous calls, else sqlglot's name."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return str(node.sql_name()).lower()


def allowed(node: exp.Func) -> bool:
    """Whether a call is known to give Spark's answer."""
    if isinstance(node, exp.Anonymous):
        return key(node) in NAMED or any(key(node) in names for names in _FAMILY_NAMES)
    return (isinstance(node, _SYNTAX) or key(node) in TYPED
            or any(key(node) in classes for classes in _FAMILY_CLASSES))


def check(tree: exp.Expr) -> None:
    """Refuse the first call in `tree` that is not allowed, with Spark's error class."""
    for node in tree.walk():
        if isinstance(node, exp.Func) and not allowed(node) and not table_function(node):
            raise refusal(node)


def refusal(node: exp.Func) -> Exception:
    """UNRESOLVED_ROUTINE for names Spark does not know, UNSUPPORTED_FEATURE for the rest."""
    name = spark_name(node)
    if isinstance(node, exp.Anonymous) and name not in SPARK_FUNCTIONS:
        return AnalysisError(
            f"[UNRESOLVED_ROUTINE] Cannot resolve routine `{name}` on search path "
            "[`system`.`builtin`, `system`.`session`]. SQLSTATE: 42883", sql_state="42883")
    return Unsupported(
        f"[UNSUPPORTED_FEATURE.SPARK_FUNCTION] The function `{name}` is not supported by this "
        "warehouse: its Spark semantics are not implemented on DuckDB (see "
        "docs/spark-semantics.md). SQLSTATE: 0A000")


__all__ = ["NAMED", "TYPED", "allowed", "check", "key", "refusal", "spark_name"]
