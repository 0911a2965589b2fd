"""The app around the statements: auth and tenancy, error shapes, warehouses, metrics, spec."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request
from starlette.routing import Route

from gateway.app import build_app
from gateway.auth import Authenticator, hash_token
from gateway.rest.warehouses import page, warehouse_id_for
from sqlgate.settings import Settings
from tests.gateway.conftest import TestClient
from tests.gateway.fakes import FakeBackend

URL = "/api/2.0/sql/statements"
WH = "sqlgate0000000001"


def test_missing_and_bad_token_are_401(gw_settings: Settings, backend: FakeBackend) -> None:
    with TestClient(build_app(gw_settings, backend=backend)) as c:
        r = c.get("/api/2.0/sql/warehouses")
        assert r.status_code == 401
        assert r.json()["error_code"] == "UNAUTHENTICATED"
        r = c.get("/api/2.0/sql/warehouses", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401 and set(r.json()) == {"error_code", "message"}
        assert c.get("/.well-known/databricks-config").json() == {}
        assert c.get("/healthz").status_code == 200


def test_tokens_file_tenants_are_isolated(tmp_path: Path, backend: FakeBackend) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"tokens": {
        hash_token("tok-a"): {"workspace": "acme", "user": "alice"},
        hash_token("tok-b"): {"workspace": "globex", "user": "bob"},
    }}))
    settings = Settings().replace(tokens_file=str(tokens), results=str(tmp_path / "r"))
    app = build_app(settings, backend=backend)
    assert app.state.gateway.generated_token is None
    with TestClient(app) as c:
        a = {"Authorization": "Bearer tok-a"}
        b = {"Authorization": "Bearer tok-b"}
        wh_a = c.get("/api/2.0/sql/warehouses", headers=a).json()["warehouses"]
        wh_b = c.get("/api/2.0/sql/warehouses", headers=b).json()["warehouses"]
        assert wh_a[0]["id"] == warehouse_id_for(settings, "acme") != wh_b[0]["id"]
        # The default warehouse id is not acme's: 404.
        r = c.post(URL, json={"statement": "SELECT 1", "warehouse_id": WH}, headers=a)
        assert r.status_code == 404
        r = c.post(URL, json={"statement": "SELECT 1", "warehouse_id": wh_a[0]["id"]}, headers=a)
        sid = r.json()["statement_id"]
        assert backend.tasks[-1].workspace == "acme"
        assert c.get(f"{URL}/{sid}", headers=b).status_code == 404
        assert c.post(f"{URL}/{sid}/cancel", headers=b).status_code == 404
        assert c.delete(f"{URL}/{sid}", headers=b).status_code == 404
        assert c.get(f"{URL}/{sid}/result/chunks/0", headers=b).status_code == 404
        assert c.get(f"{URL}/{sid}", headers=a).json()["status"]["state"] == "SUCCEEDED"


def test_toml_tokens_and_generated_token(tmp_path: Path) -> None:
    f = tmp_path / "tokens.toml"
    f.write_text('[tokens.x]\ntoken = "plain"\nworkspace = "w1"\n')
    auth, generated = Authenticator.from_settings(Settings().replace(tokens_file=str(f)).gateway)
    assert generated is None and auth.authenticate("Bearer plain").workspace == "w1"
    auth, generated = Authenticator.from_settings(Settings().gateway)
    assert generated is not None and auth.authenticate(f"Bearer {generated}").user == "token"


def test_unknown_route_method_and_crash(client: TestClient) -> None:
    r = client.post("/api/2.0/sql/statements/execute/x")
    assert r.status_code == 404
    assert r.json() == {"error_code": "ENDPOINT_NOT_FOUND",
                        "message": "No API found for 'POST /api/2.0/sql/statements/execute/x'"}
    r = client.put(URL, json={})
    assert r.status_code == 405 and "error_code" in r.json()


def test_unexpected_exception_is_a_plain_500(gw_settings: Settings, backend: FakeBackend) -> None:
    app = build_app(gw_settings, backend=backend)

    async def boom(request: Request) -> None:
        raise RuntimeError("secret internals")

    app.router.routes.append(Route("/api/2.0/boom", boom))
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/2.0/boom", headers={"Authorization": "Bearer dapi-test-token"})
    assert r.status_code == 500
    assert r.json()["error_code"] == "INTERNAL_ERROR"
    assert "secret" not in r.text and "Traceback" not in r.text


def test_warehouse_get_start_stop(client: TestClient) -> None:
    info = client.get(f"/api/2.0/sql/warehouses/{WH}").json()
    assert info["state"] == "RUNNING" and info["enable_serverless_compute"] is True
    assert info["auto_stop_mins"] == 10 and info["num_clusters"] == 1
    assert client.post(f"/api/2.0/sql/warehouses/{WH}/stop", json={}).json() == {}
    assert client.get(f"/api/2.0/sql/warehouses/{WH}").json()["state"] == "STOPPED"
    assert client.post(f"/api/2.0/sql/warehouses/{WH}/start", json={}).status_code == 200
    assert client.get(f"/api/2.0/sql/warehouses/{WH}").json()["state"] in ("STARTING", "RUNNING")
    assert client.get("/api/2.0/sql/warehouses/nope").status_code == 404

def test_warehouse_list_paging(client: TestClient) -> None:
    listed = client.get("/api/2.0/sql/warehouses?page_size=1").json()
    assert [w["id"] for w in listed["warehouses"]] == [WH] and "next_page_token" not in listed
    r = client.get("/api/2.0/sql/warehouses?page_token=abc")
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert client.get("/api/2.0/sql/warehouses?page_size=-1").status_code == 400
    # A token past the end (issued for a longer list) reads an empty page.
    _, token = page([1, 2, 3], "2", None)
    assert client.get(f"/api/2.0/sql/warehouses?page_token={token}").json() == {
        "warehouses": []}


def test_page_walks_every_item_once() -> None:
    items = list(range(7))
    for size in ("1", "2", "3", "7", "50"):
        seen: list[int] = []
        token: str | None = None
        for _ in range(10):
            got, token = page(items, size, token)
            seen += got
            if token is None:
                break
        assert seen == items, size
    assert page(items, "0", None) == (items, None)


def test_metrics_and_openapi(client: TestClient) -> None:
    client.post(URL, json={"statement": "SELECT 1", "warehouse_id": WH})
    client.post(URL, json={"statement": "SELECT * FROM nope", "warehouse_id": WH})
    text = client.get("/metrics").text
    assert 'sqlgate_statements_finished_total{state="SUCCEEDED"} 1' in text
    assert 'sqlgate_statements_finished_total{state="FAILED"} 1' in text
    assert 'sqlgate_statement_seconds_count{state="SUCCEEDED"} 1' in text
    assert 'route="POST /api/2.0/sql/statements"' in text
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/api/2.0/sql/statements/{id}/result/chunks/{chunk_index}" in spec["paths"]


def test_pool_metrics_are_merged() -> None:
    from gateway.metrics import Metrics

    pools = {
        "wh1": {"state": "RUNNING", "workers": 2, "cold_starts": 1,
                "scheduler": {"capacity": 8, "lanes": {"short": {"queued": 3}}}},
        "wh2": {"state": "STOPPED", "workers": 0, "cold_starts": 0},
    }
    text = Metrics().render([], pools)
    assert 'sqlgate_pool_state{state="RUNNING",warehouse_id="wh1"} 1' in text
    assert 'sqlgate_pool_state{state="STOPPED",warehouse_id="wh2"} 1' in text
    assert 'sqlgate_pool_workers{warehouse_id="wh1"} 2' in text
    assert 'sqlgate_pool_cold_starts{warehouse_id="wh1"} 1' in text
    assert 'sqlgate_pool_scheduler{key="capacity",warehouse_id="wh1"} 8' in text
    assert 'sqlgate_pool_scheduler_lanes_queued{lane="short",warehouse_id="wh1"} 3' in text
    assert 'sqlgate_statements{state="RUNNING"} 0' in text
    # One TYPE line per family, whatever the number of warehouses.
    assert text.count("# TYPE sqlgate_pool_workers gauge") == 1
