"""engine.ddl and engine.alter: catalogs, schemas and tables made, changed and dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import Engine
from engine.errors import AlreadyExists, AnalysisError, PermissionDenied, SchemaNotFound
from sqlgate.settings import EngineSettings

from .conftest import run


def sql(eng: Engine, text: str) -> list[dict[str, object]]:
    return run(eng, text, schema="s").to_pylist()


@pytest.fixture
def eng(scratch_engine: tuple[Engine, EngineSettings]) -> Engine:
    engine, _ = scratch_engine
    sql(engine, "CREATE SCHEMA IF NOT EXISTS main.s COMMENT 'scratch'")
    return engine


def test_schemas_and_catalogs(eng: Engine, scratch_engine: tuple[Engine, EngineSettings]) -> None:
    sql(eng, "CREATE SCHEMA IF NOT EXISTS `main`.`s`")  # again: nothing happens
    with pytest.raises(AlreadyExists):
        sql(eng, "CREATE SCHEMA main.s")
    assert {"databaseName": "s"} in sql(eng, "SHOW SCHEMAS IN `main`")
    assert sql(eng, "DESCRIBE SCHEMA main.s")[2] == {"info_name": "Comment",
                                                     "info_value": "scratch"}
    sql(eng, "CREATE CATALOG IF NOT EXISTS other COMMENT 'x'")
    sql(eng, "CREATE SCHEMA other.x")
    assert {"catalog": "other"} in sql(eng, "SHOW CATALOGS LIKE 'oth*'")
    with pytest.raises(AnalysisError, match="CATALOG_NOT_EMPTY"):
        sql(eng, "DROP CATALOG other")
    sql(eng, "DROP CATALOG other CASCADE")
    assert not (Path(scratch_engine[1].lake) / "other").exists()
    with pytest.raises(SchemaNotFound):
        sql(eng, "CREATE TABLE main.nope.t (a INT)")


def test_create_table_with_columns_partitions_and_properties(eng: Engine) -> None:
    sql(eng, "CREATE TABLE t (id BIGINT NOT NULL COMMENT 'key', d DATE, s STRING) USING DELTA "
             "PARTITIONED BY (d) CLUSTER BY (id) COMMENT 'a table' "
             "TBLPROPERTIES ('delta.appendOnly' = 'false', 'team' = 'data')")
    rows = sql(eng, "DESCRIBE TABLE EXTENDED t")
    assert rows[0] == {"col_name": "id", "data_type": "bigint", "comment": "key"}
    assert {"col_name": "# Partition Information", "data_type": "", "comment": None} in rows
    info = json.loads(sql(eng, "DESCRIBE TABLE EXTENDED t AS JSON")[0]["json_metadata"])
    assert info["partition_columns"] == ["d"] and info["comment"] == "a table"
    assert info["columns"][0] == {"name": "id", "type": {"name": "bigint"}, "nullable": False,
                                  "comment": "key"}
    assert info["table_properties"]["team"] == "data"
    ddl = sql(eng, "SHOW CREATE TABLE t")[0]["createtab_stmt"]
    assert "`id` BIGINT NOT NULL COMMENT 'key'" in ddl and "PARTITIONED BY (`d`)" in ddl
    with pytest.raises(PermissionDenied, match="LOCATION"):
        sql(eng, "CREATE TABLE u (a INT) LOCATION '/tmp/elsewhere'")
    with pytest.raises(AlreadyExists):
        sql(eng, "CREATE TABLE t (a INT)")


def test_ctas_rtas_and_drop(eng: Engine) -> None:
    assert sql(eng, "CREATE TABLE c PARTITIONED BY (k) AS SELECT 1 AS k, 'a' AS v") == [
        {"num_affected_rows": 1, "num_inserted_rows": 1}]
    sql(eng, "CREATE OR REPLACE TABLE c AS SELECT 'x' AS other")
    assert sql(eng, "SELECT * FROM c") == [{"other": "x"}]
    history = sql(eng, "DESCRIBE HISTORY c")
    assert [r["version"] for r in history] == [1, 0]
    sql(eng, "DROP TABLE c")
    sql(eng, "DROP TABLE IF EXISTS c")
    assert sql(eng, "SHOW TABLES") == []


def test_alter_table(eng: Engine) -> None:
    sql(eng, "CREATE TABLE a AS SELECT 1 AS x")
    sql(eng, "ALTER TABLE a ADD COLUMNS (y STRING COMMENT 'new')")
    sql(eng, "INSERT INTO a VALUES (2, 'two')")
    assert sql(eng, "SELECT * FROM a ORDER BY x") == [{"x": 1, "y": None}, {"x": 2, "y": "two"}]
    sql(eng, "ALTER TABLE a RENAME COLUMN y TO z")
    assert sql(eng, "SELECT z FROM a WHERE x = 2") == [{"z": "two"}]
    sql(eng, "ALTER TABLE a SET TBLPROPERTIES ('owner.team' = 'bi')")
    assert {"key": "owner.team", "value": "bi"} in sql(eng, "SHOW TBLPROPERTIES a")
    sql(eng, "ALTER TABLE a UNSET TBLPROPERTIES ('owner.team')")
    assert {"key": "owner.team", "value": "bi"} not in sql(eng, "SHOW TBLPROPERTIES a")
    with pytest.raises(AnalysisError, match="UNSET_NONEXISTENT"):
        sql(eng, "ALTER TABLE a UNSET TBLPROPERTIES ('owner.team')")
    sql(eng, "ALTER TABLE a UNSET TBLPROPERTIES IF EXISTS ('owner.team')")
    sql(eng, "COMMENT ON TABLE a IS 'commented'")
    sql(eng, "ALTER TABLE a ALTER COLUMN x COMMENT 'the x'")
    info = json.loads(sql(eng, "DESCRIBE TABLE EXTENDED a AS JSON")[0]["json_metadata"])
    assert info["comment"] == "commented" and info["columns"][0]["comment"] == "the x"
    sql(eng, "ALTER TABLE a RENAME TO b")
    assert sql(eng, "SELECT count(*) AS n FROM b") == [{"n": 2}]
    assert [r["tableName"] for r in sql(eng, "SHOW TABLES IN main.s")] == ["b"]


def test_a_table_created_again_elsewhere_is_read_afresh(
        eng: Engine, scratch_engine: tuple[Engine, EngineSettings]) -> None:
    """Another engine (worker, gateway) drops the table and creates it again with more
    commits than the first had: this engine's cached log must not be applied to it."""
    sql(eng, "CREATE TABLE r AS SELECT 1 AS a")
    sql(eng, "INSERT INTO r VALUES (2)")
    assert sql(eng, "SELECT sum(a) AS s FROM r") == [{"s": 3}]
    other = Engine(scratch_engine[1])
    try:
        sql(other, "DROP TABLE r")
        sql(other, "CREATE TABLE r AS SELECT 'x' AS b")
        for value in ("y", "z"):
            sql(other, f"INSERT INTO r VALUES ('{value}')")
    finally:
        other.close()
    assert sql(eng, "SELECT b FROM r ORDER BY b") == [{"b": "x"}, {"b": "y"}, {"b": "z"}]
