"""Only catalog tables may be read: each refused form, on the tree and inside DuckDB."""

from __future__ import annotations

import duckdb
import pytest

from engine import Engine, EngineError, PermissionDenied
from engine.catalog import TableName
from tests.engine.conftest import run

REFUSED = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('/etc/passwd')",
    "SELECT * FROM read_parquet('s3://bucket/x.parquet')",
    "SELECT * FROM read_json('/etc/hosts')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM 'data.csv'",
    "SELECT * FROM parquet.`/tmp/x.parquet`",
    "SELECT * FROM `https://example.com/x.parquet`",
    "SELECT * FROM generate_series(1, 10)",  # range(), explode() ... are Spark generators
    "SELECT * FROM duckdb_settings()",
    "SELECT current_setting('threads')",
    "SELECT (SELECT count(*) FROM read_csv('/etc/passwd'))",
    "WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x",
    "COPY (SELECT 1) TO '/tmp/out.csv'",
    "COPY nation TO '/tmp/out.parquet'",
    "ATTACH '/tmp/x.db' AS x",
    "DETACH x",
    "INSTALL httpfs",
    "LOAD httpfs",
    "FORCE INSTALL httpfs",
    "SET threads = 8",
    "SET enable_external_access = true",
    "RESET threads",
    "PRAGMA database_list",
    "EXPORT DATABASE '/tmp/x'",
    "IMPORT DATABASE '/tmp/x'",
    "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "CALL pragma_version()",
    "USE main.tpch",
    "CHECKPOINT",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_refused_on_the_parsed_tree(engine: Engine, sql: str) -> None:
    with pytest.raises(PermissionDenied) as info:
        run(engine, sql)
    err = info.value
    assert (err.error_code, err.sql_state, err.http_status) == ("PERMISSION_DENIED", "42501", 403)


def test_estimate_refuses_too(engine: Engine) -> None:
    from sqlgate.types import StatementTask

    with pytest.raises(PermissionDenied):
        engine.estimate(StatementTask("e", "SELECT * FROM read_csv('/etc/passwd')"))


def test_duckdb_itself_is_locked(engine: Engine) -> None:
    """The second line: even SQL that slipped past the parser cannot reach out or unlock."""
    cur = engine._db.cursor()
    try:
        for sql in (
            "SELECT * FROM read_csv('/etc/passwd')",
            "SET enable_external_access = true",
            "SET lock_configuration = false",
            "SET allowed_directories = ['/']",
            "ATTACH '/tmp/sqlgate-sandbox-test.db' AS x",
        ):
            with pytest.raises(duckdb.Error):
                cur.execute(sql)
        settings = dict(cur.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN "
            "('enable_external_access', 'lock_configuration')").fetchall())
        assert settings == {"enable_external_access": "false", "lock_configuration": "true"}
    finally:
        cur.close()


def test_lake_files_are_readable_only_through_the_catalog(engine: Engine) -> None:
    # a real data file of the lake: refused by path, fine by name
    path = engine.catalog.snapshot(TableName("main", "tpch", "nation")).files[0].uri
    with pytest.raises(PermissionDenied):
        run(engine, f"SELECT * FROM read_parquet('{path}')")
    assert run(engine, "SELECT count(*) AS n FROM nation").to_pylist() == [{"n": 25}]


def test_glob_does_not_run(engine: Engine) -> None:
    # GLOB is an operator in Databricks SQL, so glob('/etc/*') fails to parse: still refused
    with pytest.raises(EngineError):
        run(engine, "SELECT * FROM glob('/etc/*')")
