"""The distributed lane against a real Sail local cluster (2 workers), inside a namespace.

Run by tests/engine/test_distributed.py through tests.fixtures.netns; on its own it skips.
Checked: the 22 TPC-H queries through the lane equal DuckDB over the source parquet (the
oracle); cancel interrupts the Spark Connect operation; through the real gateway the lane
answers INLINE, EXTERNAL_LINKS chunks and Thrift alike, with ``sqlgate.lane = distributed``.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow as pa
import pytest

from bench.sail import running_sail
from engine import Cancelled, Engine
from engine.lake import TPCH_TABLES
from sqlgate.settings import EngineSettings
from sqlgate.types import StatementTask
from tests.engine.test_tpch import NUMBERS, QUERIES, _rows
from tests.fixtures import netns
from tests.fixtures.server import TOKEN, free_socket, running_gateway, server_settings

pytestmark = netns.inside_only

# Runs for minutes on Sail at SF 0.01 unless interrupted.
SLOW_SQL = ("SELECT count(*) FROM main.tpch.lineitem a, main.tpch.lineitem b "
            "WHERE a.l_orderkey < b.l_orderkey")


@pytest.fixture(scope="module")
def sail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("sail") / "sail.log"
    with running_sail(mode="local-cluster", workers=2, log=log) as url:
        yield url


@pytest.fixture(scope="module")
def lane_engine(sail: str, tpch_lake: tuple[Path, Path],
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = Engine(EngineSettings(lake=str(tpch_lake[0]), threads=2, distributed_engine=sail,
                                default_schema="tpch",
                                cache_dir=str(tmp_path_factory.mktemp("cache"))))
    yield eng
    eng.close()


def _lane(eng: Engine, sid: str, sql: str) -> tuple[pa.Table, str | None]:
    with eng.execute(StatementTask(sid, sql, lane="distributed")) as rs:
        return rs.read_all(), rs.lane


def test_tpch_through_sail_equals_duckdb_oracle(
        lane_engine: Engine, tpch_lake: tuple[Path, Path]) -> None:
    oracle = duckdb.connect()
    for t in TPCH_TABLES:
        oracle.execute(f"CREATE VIEW {t} AS SELECT * FROM "
                       f"read_parquet('{tpch_lake[1] / t}.parquet')")
    nonempty = 0
    for n in NUMBERS:
        sql = (QUERIES / "tpch" / f"q{n:02d}.sql").read_text()
        got, lane = _lane(lane_engine, f"q{n}", sql)
        assert lane == "distributed", f"q{n:02d} ran locally"
        expected = oracle.sql((QUERIES / "tpch_duckdb" / f"q{n:02d}.sql").read_text())
        want = expected.fetchall()
        assert len(got.schema) == len(expected.columns), f"q{n:02d} columns"
        assert _rows([tuple(d.values()) for d in got.to_pylist()]) == _rows(want), f"q{n:02d}"
        nonempty += bool(want)
    assert nonempty >= 20


def test_parameters_stay_bound(lane_engine: Engine) -> None:
    from sqlgate.types import Parameter

    task = StatementTask("p", "SELECT n_name FROM main.tpch.nation WHERE n_nationkey = :k "
                         "OR n_name = :n ORDER BY n_name", lane="distributed",
                         parameters=(Parameter("k", "3", "INT"),
                                     Parameter("n", "x' OR 1=1 --", "STRING")))
    with lane_engine.execute(task) as rs:
        assert rs.read_all().column(0).to_pylist() == ["CANADA"]


def test_cancel_interrupts_the_spark_operation(lane_engine: Engine) -> None:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["rows"] = _lane(lane_engine, "slow", SLOW_SQL)
        except Exception as exc:  # the point: which error
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(2.0)
    began = time.monotonic()
    assert lane_engine.interrupt("slow")
    thread.join(timeout=30)
    assert not thread.is_alive(), "the statement did not stop"
    assert isinstance(outcome.get("error"), Cancelled), outcome
    assert time.monotonic() - began < 15


@pytest.fixture(scope="module")
def gateway(sail: str, tpch_lake: tuple[Path, Path],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("gw")
    sock = free_socket()
    settings = server_settings(
        EngineSettings(lake=str(tpch_lake[0]), threads=2, default_schema="tpch",
                       cache_dir=str(base / "cache")),
        base / "results", sock.getsockname()[1], distributed_engine=sail,
        distributed_min_bytes=100_000, min_workers=1, max_workers=1,
        chunk_target_bytes=64 * 1024)
    with running_gateway(settings, sock=sock) as url:
        yield url


def _post(url: str, sql: str, **body: Any) -> dict[str, Any]:
    answer = httpx.post(f"{url}/api/2.0/sql/statements", timeout=120,
                        headers={"Authorization": f"Bearer {TOKEN}"},
                        json={"statement": sql, "warehouse_id": "sqlgate0000000001",
                              "wait_timeout": "50s", **body})
    assert answer.status_code == 200, answer.text
    out: dict[str, Any] = answer.json()
    assert out["status"]["state"] == "SUCCEEDED", out
    return out


def test_gateway_inline_external_and_thrift(gateway: str) -> None:
    # lineitem (SF 0.01) is over the 100 kB threshold: the lane; nation is not.
    small = _post(gateway, "SELECT count(*) AS n FROM main.tpch.nation")
    assert small["sqlgate"]["lane"] in ("short", "long")
    q6 = (QUERIES / "tpch" / "q06.sql").read_text()
    inline = _post(gateway, q6)
    assert inline["sqlgate"]["lane"] == "distributed"
    revenue = inline["result"]["data_array"][0][0]
    scan = "SELECT l_orderkey, l_linenumber, l_comment FROM main.tpch.lineitem"
    ext = _post(gateway, scan, disposition="EXTERNAL_LINKS", format="ARROW_STREAM")
    assert ext["sqlgate"]["lane"] == "distributed"
    chunks = ext["manifest"]["total_chunk_count"]
    assert chunks > 1
    rows = 0
    for index in range(chunks):
        meta = httpx.get(f"{gateway}/api/2.0/sql/statements/{ext['statement_id']}"
                         f"/result/chunks/{index}",
                         headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60).json()
        link = meta["external_links"][0]["external_link"]
        body = httpx.get(link, timeout=60).content
        rows += pa.ipc.open_stream(io.BytesIO(body)).read_all().num_rows
    assert rows == ext["manifest"]["total_row_count"] == 60175

    from databricks import sql as dbsql

    path = "/sql/1.0/warehouses/sqlgate0000000001"
    with dbsql.connect(server_hostname=gateway, http_path=path, access_token=TOKEN,
                       _connection_uri=gateway + path, enable_telemetry=False) as conn, \
            conn.cursor() as cur:
        cur.execute(q6)
        assert str(cur.fetchall()[0][0]) == revenue

