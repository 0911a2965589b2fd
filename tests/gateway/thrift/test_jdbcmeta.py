"""The metadata answers the Thrift front gives itself (GetFunctions, GetInfo, ...)."""

from __future__ import annotations

from databricks.sql.thrift_api.TCLIService import ttypes

from gateway.thrift import jdbcmeta


def _names(result: object) -> list[str]:
    table = result.batches[0] if result.batches else None  # type: ignore[attr-defined]
    return [] if table is None else table.column("FUNCTION_NAME").to_pylist()


def test_functions_match_jdbc_patterns() -> None:
    assert _names(jdbcmeta.functions("%sum%")) == ["sum"]
    assert _names(jdbcmeta.functions("SUBSTR_NG")) == ["substring"]
    assert _names(jdbcmeta.functions("date*")) == ["date_format", "datediff"]
    assert len(_names(jdbcmeta.functions(None))) == len(jdbcmeta.BUILTINS)
    assert _names(jdbcmeta.functions("no.such")) == []


def test_key_rpcs_answer_the_jdbc_columns_and_no_rows() -> None:
    pk = jdbcmeta.primary_keys()
    assert pk.schema.names == ["TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME", "COLUMN_NAME",
                               "KEY_SEQ", "PK_NAME"]
    assert pk.manifest.total_row_count == 0
    xref = jdbcmeta.cross_reference()
    assert len(xref.schema) == 14 and xref.manifest.total_row_count == 0
    assert jdbcmeta.table_types().batches[0].column(0).to_pylist() == ["TABLE", "VIEW"]


def test_info_values_are_spark_s_and_nothing_is_invented() -> None:
    info = ttypes.TGetInfoType
    assert jdbcmeta.info_value(info.CLI_DBMS_NAME).stringValue == "Spark SQL"
    assert jdbcmeta.info_value(info.CLI_MAX_TABLE_NAME_LEN).lenValue == 128
    assert jdbcmeta.info_value(info.CLI_TXN_CAPABLE) is None


def test_every_listed_function_is_on_the_engine_s_allowlist() -> None:
    """GetFunctions lists nothing the engine refuses (tests/e2e runs the calls too)."""
    import sqlglot

    from engine.spark import functions

    for call in jdbcmeta.BUILTINS.values():
        functions.check(sqlglot.parse_one(f"SELECT {call}", read="databricks"))
