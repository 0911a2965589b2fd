"""The distributed lane (engine/distributed.py): the rewrite, the endpoint-down policy, and
the real thing against Sail in a network namespace (tests/engine/netns_distributed.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from engine import Engine, EngineError, PermissionDenied
from engine.distributed import DistributedUnavailable, spark_sql
from engine.translate import analyze
from sqlgate.settings import EngineSettings
from sqlgate.types import Parameter, StatementTask
from tests.fixtures import netns


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nobody listens


def test_tables_become_pinned_delta_locations(engine_settings: EngineSettings) -> None:
    eng = Engine(engine_settings)
    try:
        task = StatementTask("s", "SELECT n.n_name, count(*) FROM main.tpch.nation n "
                             "JOIN tpch.region ON n.n_regionkey = region.r_regionkey "
                             "WHERE n.n_nationkey > :k GROUP BY 1",
                             parameters=(Parameter("k", "3", "INT"),))
        analysis = analyze(task, eng.catalog, "main", "default")
        versions = {s.snapshot.uri: s.snapshot.version for s in analysis.scans}
        sql = spark_sql(analysis)
    finally:
        eng.close()
    lake = str(Path(engine_settings.lake).resolve())
    for uri, version in versions.items():
        assert f"delta.`{uri}` VERSION AS OF {version}" in sql
    assert f"delta.`{lake}/main/tpch/nation` VERSION AS OF" in sql
    # the unaliased table keeps its name as the alias, so `region.r_regionkey` still binds
    assert " AS region ON " in sql
    assert "CAST(:k AS INT)" in sql and "3" not in sql.split("WHERE", 1)[1].split("GROUP")[0]


def test_the_sandbox_runs_before_anything_is_sent(engine_settings: EngineSettings) -> None:
    # The endpoint does not exist: a refusal that came from it would be another error.
    eng = Engine(engine_settings.__class__(**{**engine_settings.__dict__,
                 "distributed_engine": f"sc://127.0.0.1:{_closed_port()}"}))
    try:
        for sql in ("SELECT * FROM read_files('/etc/passwd')",
                    "SELECT * FROM parquet.`/etc/x.parquet`"):
            with pytest.raises(PermissionDenied):
                eng.execute(StatementTask("x", sql, lane="distributed"))
    finally:
        eng.close()


@pytest.mark.parametrize("fallback", ["error", "local"])
def test_engine_down_errors_or_runs_locally(
        engine_settings: EngineSettings, fallback: str) -> None:
    pytest.importorskip("pyspark.sql.connect.session", reason="needs sqlgate[scale]")
    settings = EngineSettings(**{**engine_settings.__dict__,
                                 "distributed_engine": f"sc://127.0.0.1:{_closed_port()}",
                                 "distributed_fallback": fallback,
                                 "distributed_connect_retries": 1})
    eng = Engine(settings)
    task = StatementTask("d", "SELECT count(*) AS n FROM main.tpch.nation", lane="distributed")
    try:
        if fallback == "error":
            with pytest.raises(DistributedUnavailable) as info:
                eng.execute(task)
            assert info.value.error_code == "TEMPORARILY_UNAVAILABLE"
            assert "sc://127.0.0.1" in info.value.message
        else:
            with eng.execute(task) as rs:
                assert rs.read_all().to_pydict() == {"n": [25]}
                assert rs.lane is None  # it ran on this worker's DuckDB
    finally:
        eng.close()


def test_a_bad_fallback_setting_is_refused(engine_settings: EngineSettings) -> None:
    with pytest.raises(EngineError, match="distributed_fallback"):
        Engine(EngineSettings(**{**engine_settings.__dict__, "distributed_fallback": "maybe"}))


@pytest.mark.slow
@pytest.mark.cluster
def test_sail_local_cluster_in_a_namespace() -> None:
    """TPC-H, parameters, cancel and the gateway's three result paths against Sail."""
    netns.require()
    pytest.importorskip("pysail", reason="needs sqlgate[scale]")
    result = netns.pytest_session(["tests/engine/netns_distributed.py"], timeout=420)
    netns.check(result)
