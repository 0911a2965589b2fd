"""engine.catalog: time travel bounds, SHOW over quoted names, workspace catalogs, limits."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from engine import Engine, SqlError, Timeout, Unsupported
from sqlgate.settings import EngineSettings
from tests.engine.conftest import run


def test_timestamp_before_the_first_commit_is_an_error(tmp_path: Path) -> None:
    table = tmp_path / "lake" / "main" / "default" / "t"
    write_deltalake(str(table), pa.table({"v": [1]}))
    time.sleep(0.05)
    write_deltalake(str(table), pa.table({"v": [2]}), mode="append")
    eng = Engine(EngineSettings(lake=str(tmp_path / "lake"), threads=1, memory_limit="256MB",
                                cache_dir=str(tmp_path / "cache")))
    try:
        with pytest.raises(Unsupported) as info:
            run(eng, "SELECT * FROM t TIMESTAMP AS OF '2000-01-01'", schema="default")
        assert "DELTA_TIMESTAMP_EARLIER_THAN_COMMIT_RETENTION" in info.value.message
        assert info.value.sql_state == "42816" and str(tmp_path) not in info.value.message
        # a timestamp inside the table's life still travels
        assert run(eng, "SELECT sum(v) AS s FROM t TIMESTAMP AS OF '2999-01-01'",
                   schema="default").to_pylist() == [{"s": 3}]
        assert run(eng, "SELECT sum(v) AS s FROM t VERSION AS OF 0",
                   schema="default").to_pylist() == [{"s": 1}]
    finally:
        eng.close()


def test_show_reads_backtick_names(engine: Engine) -> None:
    tables = run(engine, "SHOW TABLES IN `main`.`tpch` LIKE 'n*'").column("tableName")
    assert tables.to_pylist() == ["nation"]
    assert run(engine, "SHOW SCHEMAS IN `main`").column(0).to_pylist() == ["tpch"]


def test_a_bound_catalog_hides_the_others(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    write_deltalake(str(lake / "alpha" / "s" / "t"), pa.table({"v": [1]}))
    write_deltalake(str(lake / "beta" / "s" / "u"), pa.table({"v": [2]}))
    eng = Engine(EngineSettings(lake=str(lake), threads=1, memory_limit="256MB",
                                cache_dir=str(tmp_path / "cache")))
    try:
        # alpha's table is in the shared snapshot cache before beta asks for it
        assert run(eng, "SELECT v FROM alpha.s.t", schema=None).to_pylist() == [{"v": 1}]
        beta = {"catalogs": ("beta",)}
        for sql in ("SELECT * FROM alpha.s.t", "DESCRIBE alpha.s.t", "SHOW TABLES IN alpha.s",
                    "SHOW SCHEMAS IN alpha", "INSERT INTO alpha.s.t VALUES (9)",
                    "CREATE TABLE alpha.s.x AS SELECT 1 AS a",
                    "SELECT * FROM alpha.s.t VERSION AS OF 0"):
            with pytest.raises(SqlError) as info:
                run(eng, sql, schema=None, **beta)
            assert "not found" in info.value.message.lower() or "cannot be found" in (
                info.value.message), (sql, info.value.message)
        assert run(eng, "SHOW CATALOGS", **beta).column(0).to_pylist() == ["beta"]
        names = run(eng, "SELECT table_catalog FROM information_schema.columns", **beta)
        assert names.column(0).to_pylist() == ["beta"]
        # the workspace's first catalog is its default
        assert run(eng, "SELECT v FROM s.u", schema=None, **beta).to_pylist() == [{"v": 2}]
        assert not (lake / "alpha" / "s" / "x").exists()
        assert run(eng, "SELECT count(*) AS n FROM alpha.s.t", schema=None).to_pylist() == [
            {"n": 1}]
    finally:
        eng.close()


def test_a_client_timeout_never_lengthens_the_limit(tmp_path: Path) -> None:
    write_deltalake(str(tmp_path / "lake" / "main" / "default" / "t"),
                    pa.table({"v": list(range(3000))}))
    eng = Engine(EngineSettings(lake=str(tmp_path / "lake"), threads=1, memory_limit="256MB",
                                cache_dir=str(tmp_path / "cache"), statement_timeout_s=0.5))
    try:
        started = time.monotonic()
        with pytest.raises(Timeout):
            run(eng, "SELECT count(*) FROM t a, t b, t c "
                "WHERE (a.v * 7 + b.v * 3 + c.v) % 1000003 = 17", schema="default",
                timeout_s=10**12)
        assert time.monotonic() - started < 10
    finally:
        eng.close()
