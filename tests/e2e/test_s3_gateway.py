"""The real CLI over an S3 lake and an S3 result store (moto), driven by the real clients.

`sqlgate lake demo` writes TPC-H to the bucket, then `python -m sqlgate.cli serve` runs as a
subprocess with every storage option passed explicitly (the child's environment carries no
AWS_* or SQLGATE_* variable, so nothing can come from an ambient profile). The databricks-sdk
runs a TPC-H query (compared with DuckDB over the source parquet) and downloads an
EXTERNAL_LINKS result from presigned S3 links; databricks-sql-connector runs one query over
Thrift. SIGTERM then stops the gateway, which must exit 0 and leave no process behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import httpx
import pyarrow as pa
import pytest
from databricks import sql
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.sql import Disposition, Format, StatementState

from fetch import download_arrow
from tests.fixtures.server import free_socket

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "bench" / "queries"
TOKEN = "dapi-s3-gateway-test"
WH = "sqlgate0000000001"
SF = "0.01"  # the same data as the session's tpch_lake fixture: tpchgen is deterministic


@dataclass
class Served:
    url: str
    bucket: dict[str, str]
    proc: subprocess.Popen[bytes]


def _env() -> dict[str, str]:
    # Nothing ambient: no AWS profile, keys or endpoint, no SQLGATE_* settings.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "SQLGATE_", "DATABRICKS_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _storage_flags(b: dict[str, str]) -> list[str]:
    sets = {
        "lake_endpoint_url": b["endpoint_url"], "lake_access_key_id": b["access_key_id"],
        "lake_secret_access_key": b["secret_access_key"], "lake_region": b["region"],
        "lake_allow_http": "true",
        "results_endpoint_url": b["endpoint_url"], "results_access_key_id": b["access_key_id"],
        "results_secret_access_key": b["secret_access_key"], "results_region": b["region"],
    }
    return [arg for k, v in sets.items() for arg in ("--set", f"{k}={v}")]


def _descendants(pid: int) -> set[int]:
    """Every process below `pid`; children are listed per thread that forked them."""
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            for kid in map(int, kids):
                if kid not in found:
                    found.add(kid)
                    frontier.append(kid)
    return found


def _started(pid: int) -> str | None:
    """The process's start time (field 22 of its stat), None when it is gone or a zombie;
    comparing it tells a live process from a later one that reused the pid."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]


@pytest.fixture(scope="module")
def served(
    s3_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    from tests.fixtures.s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, s3_client

    name = f"cli-{os.getpid()}-{int(time.time())}"
    bucket = {"endpoint_url": s3_server, "bucket": name, "access_key_id": ACCESS_KEY_ID,
              "secret_access_key": SECRET_ACCESS_KEY, "region": REGION}
    s3_client(bucket).create_bucket(Bucket=name)
    work = tmp_path_factory.mktemp("s3-cli")
    lake, results = f"s3://{name}/lake", f"s3://{name}/results"
    cli = [sys.executable, "-m", "sqlgate.cli"]
    subprocess.run(
        [*cli, "lake", "demo", "--lake", lake, "--sf", SF, *_storage_flags(bucket)],
        env=_env(), cwd=work, check=True, timeout=120, capture_output=True,
    )
    sock = free_socket()  # a free port; released just before the child binds it
    port = sock.getsockname()[1]
    sock.close()
    log = (work / "serve.log").open("wb")
    proc = subprocess.Popen(
        [*cli, "serve", "--lake", lake, "--results", results, "--host", "127.0.0.1",
         "--port", str(port), "--token", TOKEN, *_storage_flags(bucket),
         "--set", f"cache_dir={work / 'cache'}", "--set", "chunk_target_bytes=262144",
         "--set", "min_workers=1", "--set", "max_workers=1", "--set", "threads=2",
         "--set", "memory_limit=1GB", "--set", "stop_grace_s=2", "--set", "shutdown_grace_s=2",
         "--set", "log_level=warning"],
        env=_env(), cwd=work, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (work / "serve.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the gateway did not come up in 60 s"
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield Served(url, bucket, proc)
    finally:
        if proc.poll() is None:  # a failed test: stop it anyway, by its own pid only
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def w(served: Served) -> WorkspaceClient:
    return WorkspaceClient(host=served.url, token=TOKEN)


def _norm(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return [tuple(round(float(v), 4) if isinstance(v, (float, Decimal)) else v for v in r)
            for r in rows]


def test_tpch_query_via_sdk_equals_duckdb(
    w: WorkspaceClient, tpch_lake: tuple[Path, Path]
) -> None:
    _, parquet = tpch_lake
    r = w.statement_execution.execute_statement(
        warehouse_id=WH, statement=(QUERIES / "tpch" / "q03.sql").read_text(),
        catalog="main", schema="tpch", format=Format.ARROW_STREAM,
        disposition=Disposition.EXTERNAL_LINKS, wait_timeout="50s",
    )
    assert r.status is not None and r.status.state == StatementState.SUCCEEDED, r.status
    got = download_arrow(r.as_dict())  # presigned S3 links in the response itself
    con = duckdb.connect()
    try:
        for t in ("customer", "orders", "lineitem"):
            con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{parquet / t}.parquet')")
        want = con.sql((QUERIES / "tpch_duckdb" / "q03.sql").read_text()).fetchall()
    finally:
        con.close()
    assert len(want) == 10
    assert _norm([tuple(d.values()) for d in got.to_pylist()]) == _norm(want)


def test_external_links_from_presigned_s3(
    w: WorkspaceClient, served: Served, tpch_lake: tuple[Path, Path]
) -> None:
    _, parquet = tpch_lake
    r = w.statement_execution.execute_statement(
        warehouse_id=WH, statement="SELECT * FROM main.tpch.orders ORDER BY o_orderkey",
        disposition=Disposition.EXTERNAL_LINKS, format=Format.ARROW_STREAM, wait_timeout="50s",
    )
    assert r.status is not None and r.status.state == StatementState.SUCCEEDED, r.status
    assert r.manifest is not None and (r.manifest.total_chunk_count or 0) >= 2
    links = []
    for i in range(r.manifest.total_chunk_count or 0):
        link = w.statement_execution.get_statement_result_chunk_n(r.statement_id or "", i)
        assert link.external_links
        links.append(link.external_links[0].as_dict())
    # The links point at the S3 server itself, not the gateway: the bytes never pass through it.
    endpoint = served.bucket["endpoint_url"]
    assert all(x["external_link"].startswith(f"{endpoint}/{served.bucket['bucket']}/results/")
               and "X-Amz-Signature=" in x["external_link"] for x in links)
    table = download_arrow(links)
    want = pa.Table.from_batches(
        duckdb.connect().sql(
            f"SELECT * FROM read_parquet('{parquet / 'orders.parquet'}') ORDER BY o_orderkey"
        ).to_arrow_table().to_batches())
    assert table.num_rows == want.num_rows == r.manifest.total_row_count
    assert table.to_pylist() == want.to_pylist()
    w.api_client.do("DELETE", f"/api/2.0/sql/statements/{r.statement_id}")


def test_connector_query(served: Served) -> None:
    path = f"/sql/1.0/warehouses/{WH}"
    with (
        sql.connect(server_hostname=served.url, http_path=path, access_token=TOKEN,
                    _connection_uri=served.url + path, enable_telemetry=False) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SELECT r_regionkey, r_name FROM main.tpch.region ORDER BY r_regionkey")
        rows = [tuple(row) for row in cur.fetchall()]
    assert rows == [(0, "AFRICA"), (1, "AMERICA"), (2, "ASIA"), (3, "EUROPE"),
                    (4, "MIDDLE EAST")]


def test_sigterm_exits_cleanly_without_children(served: Served) -> None:
    # Last in the module: stops the shared gateway.
    proc = served.proc
    kids = {pid: _started(pid) for pid in _descendants(proc.pid)}
    assert kids, "the warm pool should have started worker processes"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0

    def left() -> list[int]:
        return [pid for pid, t in kids.items() if t is not None and _started(pid) == t]

    deadline = time.monotonic() + 60
    while left() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left(), "processes left after the gateway exited"
