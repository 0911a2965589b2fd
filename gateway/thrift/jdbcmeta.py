"""The metadata RPCs the Thrift front answers itself, the way a Databricks SQL warehouse
(Spark's Thrift server) shapes them: GetTableTypes, GetFunctions, GetPrimaryKeys,
GetCrossReference and GetInfo.

- GetTableTypes: ``TABLE`` and ``VIEW`` (what GetTables folds every table type into).
- GetFunctions: the built-in functions sqlgate runs (`BUILTINS`, each with a call that
  tests/gateway/thrift/test_jdbcmeta.py runs through the engine), names matched by the JDBC
  pattern; built-ins belong to no schema, so FUNCTION_CAT/FUNCTION_SCHEM are NULL.
- GetPrimaryKeys / GetCrossReference: Delta tables here declare no key constraints, so both
  answer their JDBC columns and no rows.
- GetInfo: the values Spark's Thrift server gives; any other info type is an error (as there),
  never an invented value.
"""

from __future__ import annotations

import re

import pyarrow as pa
from databricks.sql.thrift_api.TCLIService import ttypes

from gateway.core.backend import StatementResult
from gateway.thrift.metadata import local_result

DBMS_NAME = "Spark SQL"
DBMS_VERSION = "3.5.0"
_INFO = ttypes.TGetInfoType

# info type -> the TGetInfoValue Spark's Thrift server answers (names as strings, lengths as
# lenValue).
INFO_VALUES: dict[int, ttypes.TGetInfoValue] = {
    _INFO.CLI_SERVER_NAME: ttypes.TGetInfoValue(stringValue=DBMS_NAME),
    _INFO.CLI_DBMS_NAME: ttypes.TGetInfoValue(stringValue=DBMS_NAME),
    _INFO.CLI_DBMS_VER: ttypes.TGetInfoValue(stringValue=DBMS_VERSION),
    _INFO.CLI_IDENTIFIER_QUOTE_CHAR: ttypes.TGetInfoValue(stringValue="`"),
    _INFO.CLI_MAX_COLUMN_NAME_LEN: ttypes.TGetInfoValue(lenValue=128),
    _INFO.CLI_MAX_SCHEMA_NAME_LEN: ttypes.TGetInfoValue(lenValue=128),
    _INFO.CLI_MAX_TABLE_NAME_LEN: ttypes.TGetInfoValue(lenValue=128),
}


def info_value(info_type: int) -> ttypes.TGetInfoValue | None:
    """GetInfo's answer, or None for a type Spark's server does not answer either."""
    return INFO_VALUES.get(info_type)


# Built-in functions and a call of each that the engine runs (checked by a test).
BUILTINS: dict[str, str] = {
    "abs": "abs(-1)", "avg": "avg(1)", "ceil": "ceil(1.5)", "coalesce": "coalesce(NULL, 1)",
    "concat": "concat('a', 'b')", "concat_ws": "concat_ws('-', 'a', 'b')",
    "count": "count(1)",
    "date_format": "date_format(DATE'2024-01-01', 'yyyy')",
    "datediff": "datediff(DATE'2024-01-02', DATE'2024-01-01')",
    "floor": "floor(1.5)", "greatest": "greatest(1, 2)", "if": "if(true, 1, 2)",
    "ifnull": "ifnull(NULL, 1)", "least": "least(1, 2)", "length": "length('ab')",
    "lower": "lower('A')", "ltrim": "ltrim(' a')", "max": "max(1)", "min": "min(1)",
    "nullif": "nullif(1, 2)", "nvl": "nvl(NULL, 1)", "regexp_replace":
    "regexp_replace('ab', 'b', 'c')", "replace": "replace('ab', 'b', 'c')",
    "round": "round(1.25, 1)", "rtrim": "rtrim('a ')", "stddev": "stddev(1.0)",
    "substr": "substr('abc', 2)", "substring": "substring('abc', 2, 1)", "sum": "sum(1)",
    "to_date": "to_date('2024-01-01')", "trim": "trim(' a ')", "upper": "upper('a')",
    "year": "year(DATE'2024-01-01')", "month": "month(DATE'2024-01-01')",
    "day": "day(DATE'2024-01-01')",
}


def _like(pattern: str | None) -> re.Pattern[str]:
    """A JDBC LIKE pattern (``%``, ``_``; Hive's ``*`` too) as a case-insensitive regex."""
    if not pattern:
        return re.compile(".*", re.S)
    out = []
    for ch in pattern:
        out.append(".*" if ch in "%*" else "." if ch == "_" else re.escape(ch))
    return re.compile("".join(out), re.S | re.I)


def table_types() -> StatementResult:
    """GetTableTypes: TABLE_TYPE."""
    return local_result(pa.table({"TABLE_TYPE": pa.array(["TABLE", "VIEW"], pa.string())}))


def functions(name_pattern: str | None) -> StatementResult:
    """GetFunctions: the built-ins whose name matches, with Spark's six columns."""
    match = _like(name_pattern)
    names = sorted(n for n in BUILTINS if match.fullmatch(n))
    nulls = pa.array([None] * len(names), pa.string())
    return local_result(pa.table({
        "FUNCTION_CAT": nulls,
        "FUNCTION_SCHEM": nulls,
        "FUNCTION_NAME": pa.array(names, pa.string()),
        "REMARKS": pa.array([f"Usage: {BUILTINS[n]}" for n in names], pa.string()),
        # java.sql.DatabaseMetaData.functionResultUnknown, as Spark answers
        "FUNCTION_TYPE": pa.array([0] * len(names), pa.int32()),
        "SPECIFIC_NAME": pa.array(names, pa.string()),
    }))


def _empty(columns: dict[str, pa.DataType]) -> StatementResult:
    return local_result(pa.table({k: pa.array([], t) for k, t in columns.items()}))


def primary_keys() -> StatementResult:
    """GetPrimaryKeys: the six JDBC columns, no rows (no declared keys)."""
    s, i = pa.string(), pa.int32()
    return _empty({"TABLE_CAT": s, "TABLE_SCHEM": s, "TABLE_NAME": s, "COLUMN_NAME": s,
                   "KEY_SEQ": i, "PK_NAME": s})


def cross_reference() -> StatementResult:
    """GetCrossReference: the fourteen JDBC columns, no rows (no declared foreign keys)."""
    s, i, h = pa.string(), pa.int32(), pa.int16()
    return _empty({
        "PKTABLE_CAT": s, "PKTABLE_SCHEM": s, "PKTABLE_NAME": s, "PKCOLUMN_NAME": s,
        "FKTABLE_CAT": s, "FKTABLE_SCHEM": s, "FKTABLE_NAME": s, "FKCOLUMN_NAME": s,
        "KEY_SEQ": i, "UPDATE_RULE": h, "DELETE_RULE": h, "FK_NAME": s, "PK_NAME": s,
        "DEFERRABILITY": h,
    })


__all__ = [
    "BUILTINS",
    "DBMS_NAME",
    "DBMS_VERSION",
    "cross_reference",
    "functions",
    "info_value",
    "primary_keys",
    "table_types",
]
