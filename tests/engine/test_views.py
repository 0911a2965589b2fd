"""engine.views and engine.grants: views resolved at query time, temporary views per
session, and Unity-Catalog-style privileges for reads and writes."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from engine import Engine
from engine.catalogdb import CatalogStore, Securable
from engine.errors import (
    AlreadyExists,
    AnalysisError,
    PermissionDenied,
    SchemaNotFound,
    TableNotFound,
    Unsupported,
)
from sqlgate.settings import EngineSettings
from sqlgate.types import StatementTask

_ids = itertools.count()


def sql(eng: Engine, text: str, user: str = "", session: str | None = None,
        schema: str = "s") -> list[dict[str, object]]:
    task = StatementTask(f"v-{next(_ids)}", text, catalog="main", schema=schema, user=user,
                         session_id=session)
    with eng.execute(task) as rs:
        return rs.read_all().to_pylist()


@pytest.fixture
def eng(scratch_engine: tuple[Engine, EngineSettings]) -> Engine:
    engine, _ = scratch_engine
    sql(engine, "CREATE SCHEMA main.s")
    sql(engine, "CREATE TABLE t AS SELECT * FROM VALUES (1, 'a'), (2, 'b') AS v(id, v)")
    return engine


def test_views_are_resolved_at_query_time(eng: Engine,
                                          scratch_engine: tuple[Engine, EngineSettings]) -> None:
    sql(eng, "CREATE VIEW v COMMENT 'big ones' AS SELECT id * 10 AS big FROM t")
    with pytest.raises(SchemaNotFound):
        sql(eng, "CREATE VIEW main.default.vv AS SELECT 1 AS m")
    sql(eng, "CREATE SCHEMA main.default")
    sql(eng, "CREATE VIEW main.default.vv AS SELECT max(big) AS m FROM main.s.v")
    sql(eng, "INSERT INTO t VALUES (3, 'c')")
    assert sql(eng, "SELECT m FROM main.default.vv") == [{"m": 30}]
    # another engine on the same lake (another gateway, another worker) sees the view
    other = Engine(scratch_engine[1])
    try:
        assert sql(other, "SELECT count(*) AS n FROM v") == [{"n": 3}]
    finally:
        other.close()
    assert sql(eng, "SHOW VIEWS") == [{"namespace": "s", "viewName": "v", "isTemporary": False,
                                       "isMaterialized": False}]
    assert {"tableName": "v", "database": "s", "isTemporary": False} in sql(eng, "SHOW TABLES")
    tables = sql(eng, "SELECT table_name, table_type, comment FROM "
                      "main.information_schema.tables WHERE table_schema = 's' ORDER BY 1")
    assert tables == [{"table_name": "t", "table_type": "MANAGED", "comment": None},
                      {"table_name": "v", "table_type": "VIEW", "comment": "big ones"}]
    assert sql(eng, "SELECT column_name FROM main.information_schema.columns "
                    "WHERE table_name = 'v'") == [{"column_name": "big"}]
    with pytest.raises(AlreadyExists):
        sql(eng, "CREATE VIEW v AS SELECT 1 AS x")
    assert sql(eng, "SELECT * FROM v ORDER BY 1") == [{"big": 10}, {"big": 20}, {"big": 30}]
    sql(eng, "CREATE OR REPLACE VIEW v AS SELECT 'replaced' AS x")
    # the same text again: the engine's cache of generated SQL must not keep the old body
    assert sql(eng, "SELECT * FROM v ORDER BY 1") == [{"x": "replaced"}]
    with pytest.raises(AnalysisError, match="WRONG_COMMAND"):
        sql(eng, "DROP TABLE v")
    sql(eng, "DROP VIEW v")
    with pytest.raises(TableNotFound):
        sql(eng, "SELECT * FROM v")
    with pytest.raises(TableNotFound):
        sql(eng, "CREATE VIEW w AS SELECT * FROM no_such_table")


def test_temporary_views_belong_to_their_session(eng: Engine) -> None:
    sql(eng, "CREATE OR REPLACE TEMPORARY VIEW tmp AS SELECT id FROM t WHERE id > 1",
        session="s1")
    assert sql(eng, "SELECT * FROM tmp", session="s1") == [{"id": 2}]
    assert sql(eng, "DESCRIBE TABLE tmp", session="s1")[0]["col_name"] == "id"
    with pytest.raises(TableNotFound):
        sql(eng, "SELECT * FROM tmp", session="s2")
    with pytest.raises(Unsupported, match="session"):
        sql(eng, "CREATE TEMPORARY VIEW x AS SELECT 1")
    with pytest.raises(AnalysisError, match="INVALID_TEMP_OBJ_REFERENCE"):
        sql(eng, "CREATE VIEW p AS SELECT * FROM tmp", session="s1")
    sql(eng, "DROP VIEW tmp", session="s1")
    with pytest.raises(TableNotFound):
        sql(eng, "SELECT * FROM tmp", session="s1")


def test_privileges(eng: Engine) -> None:
    sql(eng, "CREATE SCHEMA main.owned", user="ada")
    sql(eng, "CREATE TABLE main.owned.t AS SELECT 1 AS x", user="ada")
    sql(eng, "CREATE VIEW main.owned.v AS SELECT x FROM main.owned.t", user="ada")
    for statement in ("SELECT * FROM main.owned.t", "INSERT INTO main.owned.t VALUES (2)",
                      "DROP TABLE main.owned.t", "SELECT * FROM main.owned.v",
                      "GRANT SELECT ON TABLE main.owned.t TO bob",
                      "CREATE TABLE main.owned.u AS SELECT 1 AS y"):
        with pytest.raises(PermissionDenied):
            sql(eng, statement, user="bob")
    assert sql(eng, "SELECT count(*) AS n FROM main.owned.t") == [{"n": 1}]  # nothing written
    sql(eng, "GRANT USE SCHEMA ON SCHEMA main.owned TO bob", user="ada")
    sql(eng, "GRANT SELECT ON VIEW main.owned.v TO `bob`", user="ada")
    # the view's owner vouches for its table: bob reads through the view only
    assert sql(eng, "SELECT * FROM main.owned.v", user="bob") == [{"x": 1}]
    with pytest.raises(PermissionDenied):
        sql(eng, "SELECT * FROM main.owned.t", user="bob")
    sql(eng, "GRANT SELECT, MODIFY ON SCHEMA main.owned TO bob", user="ada")
    sql(eng, "INSERT INTO main.owned.t VALUES (2)", user="bob")
    assert sql(eng, "SHOW GRANTS ON SCHEMA main.owned", user="ada") == [
        {"Principal": "ada", "ActionType": "OWN", "ObjectType": "SCHEMA",
         "ObjectKey": "main.owned"},
        {"Principal": "bob", "ActionType": "MODIFY", "ObjectType": "SCHEMA",
         "ObjectKey": "main.owned"},
        {"Principal": "bob", "ActionType": "SELECT", "ObjectType": "SCHEMA",
         "ObjectKey": "main.owned"},
        {"Principal": "bob", "ActionType": "USE SCHEMA", "ObjectType": "SCHEMA",
         "ObjectKey": "main.owned"}]
    sql(eng, "REVOKE MODIFY ON SCHEMA main.owned FROM bob", user="ada")
    with pytest.raises(PermissionDenied):
        sql(eng, "DELETE FROM main.owned.t", user="bob")
    # tables nobody owns (written into the lake directly) stay open, as before grants
    assert sql(eng, "SELECT count(*) AS n FROM main.s.t", user="bob") == [{"n": 2}]


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "catalog.sqlite")
    return str(request.getfixturevalue("postgres_url"))


def test_store_survives_and_is_shared(store_url: str) -> None:
    path = store_url
    one = CatalogStore(path)
    one.put_object(Securable("view", "c", "s", "v"), owner="ada", definition="SELECT 1")
    one.grant(Securable("schema", "c", "s"), "bob", ["SELECT"])
    two = CatalogStore(path)  # a restart, or another gateway on the same file
    record = two.get_object(Securable("view", "c", "s", "v"))
    assert record is not None and record.owner == "ada"
    assert two.grants(Securable("schema", "c", "s")) == [("bob", "SELECT")]
    two.drop_object(Securable("schema", "c", "s"))
    assert one.get_object(Securable("view", "c", "s", "v")) is None
    assert one.grants(Securable("schema", "c", "s")) == []
    one.put_temp_view("session", "tv", "SELECT 2")
    assert two.get_temp_view("session", "tv") == "SELECT 2" and two.temp_views("other") == []
