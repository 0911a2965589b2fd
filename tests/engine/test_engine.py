"""Engine behaviour: names, parameters, errors, limits, cancellation, snapshots, writes."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from engine import (
    AlreadyExists,
    AnalysisError,
    Cancelled,
    Engine,
    EngineError,
    InvalidParameter,
    ParseError,
    TableNotFound,
    Timeout,
    Unsupported,
)
from engine.result import BATCH_ROWS
from sqlgate.settings import EngineSettings
from sqlgate.types import StatementTask
from tests.engine.conftest import run

SLOW = ("SELECT count(*) FROM lineitem a, lineitem b "
        "WHERE (a.l_orderkey * 7 + b.l_orderkey) % 1000003 = 17")


def test_three_two_and_one_level_names(engine: Engine) -> None:
    for sql, kw in [
        ("SELECT count(*) AS n FROM main.tpch.nation", {"schema": None}),
        ("SELECT count(*) AS n FROM tpch.nation", {"schema": None}),
        ("SELECT count(*) AS n FROM nation", {"schema": "tpch"}),
        ("SELECT count(*) AS n FROM `main`.`tpch`.`nation`", {"schema": None}),
        ("SELECT count(*) AS n FROM nation", {"catalog": "main", "schema": "tpch"}),
    ]:
        assert run(engine, sql, **kw).to_pylist() == [{"n": 25}], sql


def test_table_not_found(engine: Engine) -> None:
    with pytest.raises(TableNotFound) as info:
        run(engine, "SELECT * FROM main.tpch.nope")
    err = info.value
    assert "[TABLE_OR_VIEW_NOT_FOUND]" in err.message and "`main.tpch.nope`" in err.message
    assert (err.error_code, err.sql_state, err.http_status) == ("BAD_REQUEST", "42P01", 400)


def test_parse_error_has_line_and_column(engine: Engine) -> None:
    with pytest.raises(ParseError) as info:
        run(engine, "SELECT * FROM nation\nWHERE n_name = = 1")
    assert "Line 2" in info.value.message and "Col:" in info.value.message
    assert info.value.sql_state == "42601"


def test_binder_error_is_translated(engine: Engine) -> None:
    with pytest.raises(AnalysisError) as info:
        run(engine, "SELECT no_such_column FROM nation")
    assert info.value.error_code == "BAD_REQUEST" and info.value.__cause__ is not None


def test_parameters_are_bound_not_spliced(engine: Engine) -> None:
    got = run(engine, "SELECT n_name FROM nation WHERE n_nationkey = :k AND n_name <> :s",
              params={"k": ("7", "INT"), "s": ("x' OR '1'='1", "STRING")})
    assert got.to_pylist() == [{"n_name": "GERMANY"}]
    got = run(engine, "SELECT :d AS d, :m AS m, :n AS n",
              params={"d": ("2024-02-29", "DATE"), "m": ("12.345", "DECIMAL(10,2)"),
                      "n": (None, "INT")})
    assert got.schema.field("d").type == pa.date32()
    assert got.schema.field("m").type == pa.decimal128(10, 2)
    assert str(got.to_pylist()[0]["m"]) == "12.35" and got.to_pylist()[0]["n"] is None


def test_parameter_errors(engine: Engine) -> None:
    with pytest.raises(InvalidParameter, match="UNBOUND_SQL_PARAMETER"):
        run(engine, "SELECT :missing")
    with pytest.raises(InvalidParameter):
        run(engine, "SELECT :x AS x", params={"x": ("not a number", "INT")})


def test_row_limit_sets_truncated(engine: Engine) -> None:
    task = StatementTask("r", "SELECT * FROM nation", schema="tpch", row_limit=10)
    with engine.execute(task) as rs:
        assert rs.read_all().num_rows == 10 and rs.truncated
    task = StatementTask("r", "SELECT * FROM nation", schema="tpch", row_limit=25)
    with engine.execute(task) as rs:
        assert rs.read_all().num_rows == 25 and not rs.truncated


def test_large_result_streams_in_batches(engine: Engine) -> None:
    sql = "SELECT * FROM lineitem, (VALUES (1), (2), (3), (4)) AS v(x)"
    with engine.execute(StatementTask("b", sql, schema="tpch")) as rs:
        sizes = [b.num_rows for b in rs]
    assert sum(sizes) == 4 * 60175 and len(sizes) > 1
    assert max(sizes) <= BATCH_ROWS


def test_interrupt_cancels_promptly(engine: Engine) -> None:
    task = StatementTask("slow-1", SLOW, schema="tpch")
    timer = threading.Timer(0.3, lambda: engine.interrupt("slow-1"))
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(Cancelled) as info, engine.execute(task) as rs:
        list(rs)
    assert time.monotonic() - t0 < 10
    assert info.value.error_code == "CANCELLED"
    assert not engine.interrupt("slow-1")  # no longer running
    assert run(engine, "SELECT 1 AS one").to_pylist() == [{"one": 1}]


def test_timeout(engine: Engine) -> None:
    task = StatementTask("slow-2", SLOW, schema="tpch", timeout_s=0.3)
    with pytest.raises(Timeout) as info, engine.execute(task) as rs:
        list(rs)
    assert info.value.error_code == "DEADLINE_EXCEEDED"


def test_concurrent_statements(engine: Engine) -> None:
    results: dict[int, object] = {}

    def work(i: int) -> None:
        got = run(engine, f"SELECT count(*) AS n FROM orders WHERE o_orderkey % 4 = {i % 4}")
        results[i] = got.to_pylist()[0]["n"]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 8 and sum(results[i] for i in range(4)) == 15000  # type: ignore[misc]


def test_catalog_statements(engine: Engine) -> None:
    assert run(engine, "SHOW CATALOGS").to_pylist() == [{"catalog": "main"}]
    assert run(engine, "SHOW SCHEMAS IN main").to_pylist() == [{"databaseName": "tpch"}]
    tables = run(engine, "SHOW TABLES IN main.tpch")
    assert tables.schema.names == ["database", "tableName", "isTemporary"]
    assert len(tables) == 8
    assert run(engine, "SHOW TABLES LIKE 'n*'").column("tableName").to_pylist() == ["nation"]
    desc = run(engine, "DESCRIBE TABLE nation")
    assert desc.schema.names == ["col_name", "data_type", "comment"]
    assert desc.column("col_name").to_pylist()[:2] == ["n_nationkey", "n_name"]
    info = run(engine, "SELECT table_name FROM information_schema.tables "
               "WHERE table_schema = 'tpch' ORDER BY 1")
    assert len(info) == 8
    assert run(engine, "SELECT catalog_name FROM main.information_schema.catalogs").num_rows == 1


@pytest.fixture
def scratch(scratch_engine: tuple[Engine, EngineSettings]) -> tuple[Engine, str]:
    eng, settings = scratch_engine
    uri = str(Path(settings.lake) / "main" / "default" / "t")
    write_deltalake(uri, pa.table({"k": pa.array([1, 2], pa.int64())}))
    return eng, uri


def test_new_commit_seen_by_next_statement(scratch: tuple[Engine, str]) -> None:
    eng, uri = scratch
    assert run(eng, "SELECT count(*) AS n FROM t", schema=None).to_pylist() == [{"n": 2}]
    write_deltalake(uri, pa.table({"k": pa.array([3], pa.int64())}), mode="append")
    assert run(eng, "SELECT count(*) AS n FROM t", schema=None).to_pylist() == [{"n": 3}]


def test_time_travel(scratch: tuple[Engine, str]) -> None:
    eng, uri = scratch
    write_deltalake(uri, pa.table({"k": pa.array([3], pa.int64())}), mode="append")
    v0 = run(eng, "SELECT count(*) AS n FROM t VERSION AS OF 0", schema=None)
    assert v0.to_pylist() == [{"n": 2}]
    # Delta's time of a version is its commit file's modification time (the protocol's rule
    # without in-commit timestamps), not commitInfo's timestamp, which is written a moment
    # before the file: take the file's, rounded up to the microsecond
    mtime_ns = os.stat(Path(uri) / "_delta_log" / f"{0:020d}.json").st_mtime_ns
    micros = -(-mtime_ns // 1000)
    ts = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(micros // 1_000_000))
    ts += f".{micros % 1_000_000:06d}"
    got = run(eng, f"SELECT count(*) AS n FROM t TIMESTAMP AS OF '{ts}'", schema=None)
    assert got.to_pylist() == [{"n": 2}]
    with pytest.raises(EngineError):
        run(eng, "SELECT * FROM t VERSION AS OF 99", schema=None)


def test_ctas_and_insert(scratch: tuple[Engine, str]) -> None:
    eng, _ = scratch
    run(eng, "CREATE SCHEMA main.s2", schema=None)
    with eng.execute(StatementTask("w", "CREATE TABLE main.s2.t2 AS SELECT k, k * 10 AS v "
                                        "FROM main.default.t")) as rs:
        assert rs.num_modified_rows == 2
        assert rs.read_all().to_pylist() == [{"num_affected_rows": 2, "num_inserted_rows": 2}]
    with eng.execute(StatementTask("w", "INSERT INTO main.s2.t2 VALUES (7, 70), (8, 80)")) as rs:
        assert rs.num_modified_rows == 2
    got = run(eng, "SELECT sum(v) AS s, count(*) AS n FROM main.s2.t2", schema=None)
    assert got.to_pylist() == [{"s": 180, "n": 4}]
    with pytest.raises(AlreadyExists):
        run(eng, "CREATE TABLE main.s2.t2 AS SELECT 1 AS k", schema=None)
    with pytest.raises(TableNotFound):
        run(eng, "INSERT INTO main.s2.nope VALUES (1)", schema=None)


def test_unsupported_table_features_are_refused(scratch_engine: tuple[Engine, EngineSettings]
                                                ) -> None:
    eng, settings = scratch_engine
    uri = str(Path(settings.lake) / "main" / "default" / "mapped")
    write_deltalake(uri, pa.table({"a": [1]}), configuration={
        "delta.columnMapping.mode": "name", "delta.minReaderVersion": "2",
        "delta.minWriterVersion": "5"})
    with pytest.raises(Unsupported, match="column mapping"):
        run(eng, "SELECT * FROM mapped", schema=None)


def test_closed_engine_refuses(tmp_path: Path) -> None:
    eng = Engine(EngineSettings(lake=str(tmp_path), threads=1, cache_dir=str(tmp_path / "c")))
    eng.close()
    with pytest.raises(EngineError):
        run(eng, "SELECT 1")


def test_time_travel_snapshots_are_a_bounded_cache(tmp_path: Path) -> None:
    settings = EngineSettings(lake=str(tmp_path / "lake"), threads=1, memory_limit="512MB",
                              cache_dir=str(tmp_path / "cache"), snapshot_cache_versions=2)
    uri = str(tmp_path / "lake" / "main" / "default" / "t")
    for k in range(4):
        write_deltalake(uri, pa.table({"k": pa.array([k], pa.int64())}), mode="append")
    eng = Engine(settings)
    try:
        for version in (0, 1, 2, 3, 1):
            got = run(eng, f"SELECT count(*) AS n FROM t VERSION AS OF {version}", schema=None)
            assert got.to_pylist() == [{"n": version + 1}]
        # the two most recently used versions stay; the oldest went first
        assert [v for (_, v) in eng.catalog._versions] == [3, 1]
    finally:
        eng.close()


def test_latest_snapshots_are_a_bounded_cache(tmp_path: Path) -> None:
    settings = EngineSettings(lake=str(tmp_path / "lake"), threads=1, memory_limit="512MB",
                              cache_dir=str(tmp_path / "cache"), snapshot_cache_tables=2)
    for name in ("a", "b", "c"):
        write_deltalake(str(tmp_path / "lake" / "main" / "default" / name),
                        pa.table({"k": pa.array([1], pa.int64())}))
    eng = Engine(settings)
    try:
        for name in ("a", "b", "c", "b"):
            assert run(eng, f"SELECT count(*) AS n FROM {name}", schema=None).to_pylist() == [
                {"n": 1}]
        # the two most recently used tables stay; "a" went first
        assert [t.table for t in eng.catalog._latest] == ["c", "b"]
    finally:
        eng.close()


def test_a_file_url_lake_root_is_a_local_lake(tmp_path: Path) -> None:
    write_deltalake(str(tmp_path / "lake" / "main" / "default" / "t"),
                    pa.table({"k": pa.array([1, 2], pa.int64())}))
    eng = Engine(EngineSettings(lake=(tmp_path / "lake").as_uri(), threads=1,
                                memory_limit="512MB", cache_dir=str(tmp_path / "cache")))
    try:
        assert not eng.catalog.remote
        assert run(eng, "SELECT sum(k) AS s FROM t", schema=None).to_pylist() == [{"s": 3}]
    finally:
        eng.close()
