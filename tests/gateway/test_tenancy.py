"""Tenancy: each workspace's warehouse is its own pool, and no tenant sees or affects another's.

Real `WarehousePool`s with real worker processes (the scripted engine of test_pool_fakes),
one per workspace, created by the app at each workspace's first use.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.app import build_app
from gateway.auth import hash_token
from gateway.core.backend import Backend
from gateway.pool.local import LocalProcessProvider
from gateway.pool.router import warehouse_id_for
from gateway.pool.warehouse import WarehousePool
from sqlgate.settings import Settings
from tests.fixtures.waiting import eventually
from tests.gateway.conftest import TestClient
from tests.gateway.pool.test_warehouse_fakes import fake_estimate

ROOT = str(Path(__file__).resolve().parents[2])
FAKE_WORKER = [sys.executable, "-m", "tests.gateway.pool.test_warehouse_fakes"]
URL = "/api/2.0/sql/statements"
A = {"Authorization": "Bearer tok-a"}
B = {"Authorization": "Bearer tok-b"}


def _children() -> set[int]:
    me, found = os.getpid(), set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me and fields[0] != "Z":
                found.add(int(entry.name))
    return found


@pytest.fixture
def tenants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[
        tuple[TestClient, Settings, list[WarehousePool]]]:
    """The app over two workspaces (acme: tok-a, globex: tok-b), each its own pool."""
    monkeypatch.setenv("PYTHONPATH", ROOT)  # the fake worker is a module of this repo
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"tokens": {
        hash_token("tok-a"): {"workspace": "acme", "user": "alice"},
        hash_token("tok-b"): {"workspace": "globex", "user": "bob"},
    }}))
    settings = Settings().replace(
        tokens_file=str(tokens), results=str(tmp_path / "r"), min_workers=1, max_workers=1,
        worker_concurrency=2, heartbeat_s=5.0, worker_start_timeout_s=60.0, stop_grace_s=1.0,
        shutdown_grace_s=1.0, auto_stop_s=0.0, queue_limit=5,
    )
    pools: list[WarehousePool] = []

    def factory(workspace: str) -> Backend:
        pool = WarehousePool(settings, estimator=fake_estimate,
                             provider=LocalProcessProvider(settings, command=FAKE_WORKER))
        pools.append(pool)
        return pool

    before = _children()
    with TestClient(build_app(settings, backend_factory=factory)) as client:
        yield client, settings, pools
    # The ordered shutdown closed every workspace's pool: no worker left behind.
    assert eventually(lambda: _children() <= before, timeout=10.0)


def _run(c: TestClient, headers: dict[str, str], wh: str, sql: str) -> dict[str, object]:
    r = c.post(URL, headers=headers,
               json={"statement": sql, "warehouse_id": wh, "wait_timeout": "50s"})
    assert r.status_code == 200, r.text
    return r.json()


def _state(c: TestClient, headers: dict[str, str], wh: str) -> str:
    return c.get(f"/api/2.0/sql/warehouses/{wh}", headers=headers).json()["state"]


def test_stop_in_one_workspace_leaves_the_other_running(
    tenants: tuple[TestClient, Settings, list[WarehousePool]],
) -> None:
    c, settings, pools = tenants
    wh_a, wh_b = warehouse_id_for(settings, "acme"), warehouse_id_for(settings, "globex")
    # Nothing is created before a workspace's first use (no default-workspace token here).
    assert pools == [] and _state(c, A, wh_a) == "STOPPED"
    assert _run(c, A, wh_a, "SELECT 1")["status"] == {"state": "SUCCEEDED"}
    assert len(pools) == 1 and _state(c, B, wh_b) == "STOPPED"
    assert _run(c, B, wh_b, "SELECT 2")["result"]["data_array"] == [["2"]]  # type: ignore[index]
    assert len(pools) == 2 and pools[0] is not pools[1]

    assert c.post(f"/api/2.0/sql/warehouses/{wh_a}/stop", headers=A).json() == {}
    assert eventually(lambda: _state(c, A, wh_a) == "STOPPED")
    assert _state(c, B, wh_b) == "RUNNING"
    assert c.get(f"/api/2.0/sql/warehouses/{wh_b}", headers=B).json()["num_clusters"] == 1
    assert _run(c, B, wh_b, "SELECT 3")["result"]["data_array"] == [["3"]]  # type: ignore[index]
    # A's next statement starts A's warehouse again, B's is untouched.
    assert _run(c, A, wh_a, "SELECT 4")["result"]["data_array"] == [["4"]]  # type: ignore[index]
    assert _state(c, A, wh_a) == "RUNNING"

    for wh, headers in ((wh_a, A), (wh_b, B)):
        # a token's scrape: its own warehouse by id, never the other workspace's
        metrics = c.get("/metrics", headers=headers).text
        assert f'sqlgate_pool_workers{{warehouse_id="{wh}"}} 1' in metrics
        assert f'sqlgate_pool_scheduler_lanes_queued{{lane="short",warehouse_id="{wh}"}} 0' \
            in metrics
        assert ({wh_a, wh_b} - {wh}).pop() not in metrics
    assert f'sqlgate_pool_cold_starts{{warehouse_id="{wh_a}"}}' in c.get(
        "/metrics", headers=A).text
    # the anonymous scrape: summed over warehouses, no id (an id names a workspace)
    anonymous = c.get("/metrics").text
    assert "sqlgate_pool_workers 2" in anonymous
    assert 'sqlgate_pool_state{state="RUNNING"} 2' in anonymous
    assert wh_a not in anonymous and wh_b not in anonymous
    assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_a_tenant_never_sees_another_workspace(
    tenants: tuple[TestClient, Settings, list[WarehousePool]],
) -> None:
    c, settings, pools = tenants
    wh_a, wh_b = warehouse_id_for(settings, "acme"), warehouse_id_for(settings, "globex")
    sid = _run(c, A, wh_a, "SELECT rows(3)")["statement_id"]
    for method, path in [("GET", f"{URL}/{sid}"), ("GET", f"{URL}/{sid}/result/chunks/0"),
                         ("POST", f"{URL}/{sid}/cancel"), ("DELETE", f"{URL}/{sid}"),
                         ("GET", f"/api/2.0/sql/warehouses/{wh_a}"),
                         ("POST", f"/api/2.0/sql/warehouses/{wh_a}/stop"),
                         ("POST", f"/api/2.0/sql/warehouses/{wh_a}/start")]:
        r = c.request(method, path, headers=B)
        assert r.status_code == 404, (method, path, r.text)
    # B running on A's warehouse id is refused too, before anything runs.
    r = c.post(URL, headers=B, json={"statement": "SELECT 1", "warehouse_id": wh_a})
    assert r.status_code == 404
    assert [w["id"] for w in c.get("/api/2.0/sql/warehouses", headers=B).json()[
        "warehouses"]] == [wh_b]
    # None of that touched A: its statement and warehouse are as they were, B has no pool.
    assert c.get(f"{URL}/{sid}/result/chunks/0", headers=A).json()["data_array"] == [
        ["0"], ["1"], ["2"]]
    assert _state(c, A, wh_a) == "RUNNING" and len(pools) == 1
