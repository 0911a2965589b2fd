"""engine.catalog: time travel bounds and SHOW over quoted names."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from engine import Engine, Unsupported
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
