"""gateway.core.control: statements survive restarts and span gateways on one state store."""

from __future__ import annotations

import contextlib
import json
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from gateway.app import build_app
from gateway.core.control import gateway_id
from gateway.core.store import StatementRecord
from gateway.core.stores import open_state_store
from sqlgate.settings import Settings
from tests.fixtures.server import TOKEN, running_gateway
from tests.fixtures.waiting import eventually
from tests.gateway.fakes import FakeBackend

API = "/api/2.0/sql/statements"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings().replace(token=TOKEN, results=str(tmp_path / "results"),
                              shutdown_grace_s=0.5, log_level="warning", **kw)


@contextlib.contextmanager
def _client(settings: Settings, backend: FakeBackend | None = None) -> Iterator[TestClient]:
    app = build_app(settings, backend=backend or FakeBackend())
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers.update(AUTH)
        yield c


def _run(c: Any, sql: str, wait: str = "10s") -> dict[str, Any]:
    r = c.post(API, json={"statement": sql, "warehouse_id": "sqlgate0000000001",
                          "wait_timeout": wait})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_restart_keeps_finished_statements_and_fails_running_ones(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with _client(settings) as c:
        done = _run(c, "SELECT 42 AS x")
        failed = _run(c, "SELECT nope")
        assert done["status"]["state"] == "SUCCEEDED"
    # A statement this gateway was running when it died (kill -9 leaves exactly this).
    state = open_state_store(f"sqlite:///{tmp_path / 'state.db'}")
    state.put_statements([StatementRecord(
        statement_id="01f0dead-0000-0000-0000-000000000001", workspace="default",
        owner=gateway_id(settings), state="RUNNING", submitted_at=time.time(),
        task=json.dumps({"statement_id": "01f0dead-0000-0000-0000-000000000001",
                         "sql": "SELECT 1", "workspace": "default"}))])
    state.close()
    with _client(settings) as c:
        got = c.get(f"{API}/{done['statement_id']}").json()
        assert got["status"]["state"] == "SUCCEEDED"
        assert got["result"]["data_array"] == [["42"]]
        assert got["manifest"]["schema"]["columns"][0]["name"] == "x"
        again = c.get(f"{API}/{failed['statement_id']}").json()
        assert again["status"]["state"] == "FAILED"
        assert again["status"]["error"] == failed["status"]["error"]
        lost = c.get(f"{API}/01f0dead-0000-0000-0000-000000000001").json()
        assert lost["status"]["state"] == "FAILED"
        assert "restarted" in lost["status"]["error"]["message"]
        # Closed after the restart: CLOSED now, and so after the next one too.
        assert c.delete(f"{API}/{done['statement_id']}").status_code == 200
    with _client(settings) as c:
        closed = c.get(f"{API}/{done['statement_id']}").json()
        assert closed["status"]["state"] == "CLOSED"
        assert c.get(f"{API}/01f0aaaa-0000-0000-0000-000000000000").status_code == 404


def test_links_signed_before_a_restart_still_verify(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    key = "default/20260101/s1-00/0.arrow"
    with _client(settings) as c:
        gw = c.app.state.gateway  # type: ignore[attr-defined]
        gw.store.put(key, b"chunk bytes")
        url = httpx.URL(gw.store.link(key).url)
        # a kept result points at the chunk (else the restart sweeps it as an orphan)
        gw.state.put_statements([StatementRecord(
            statement_id="s1", workspace="default", owner="x", state="SUCCEEDED",
            task="{}", submitted_at=time.time(), ended_at=time.time(),
            manifest=json.dumps({"chunks": [{"key": key}]}))])
    # A new process makes a new random secret: only the stored one can verify the link.
    with _client(settings.replace(signing_secret="a-different-one")) as c:
        r = c.get(f"{url.path}?{url.query.decode()}", headers={"Authorization": ""})
        assert r.status_code == 200 and r.content == b"chunk bytes"


def test_another_workspace_cannot_read_a_stored_statement(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"tokens": {
        "a": {"token": "tok-a", "workspace": "acme", "user": "ann"},
        "b": {"token": "tok-b", "workspace": "bravo", "user": "bob"}}}))
    settings = _settings(tmp_path, tokens_file=str(tokens))
    with _client(settings) as c:
        c.headers["Authorization"] = "Bearer tok-a"
        wh = c.get("/api/2.0/sql/warehouses").json()["warehouses"][0]["id"]
        sid = c.post(API, json={"statement": "SELECT 1", "warehouse_id": wh,
                                "wait_timeout": "10s"}).json()["statement_id"]
    with _client(settings) as c:
        c.headers["Authorization"] = "Bearer tok-b"
        assert c.get(f"{API}/{sid}").status_code == 404
        c.headers["Authorization"] = "Bearer tok-a"
        assert c.get(f"{API}/{sid}").json()["status"]["state"] == "SUCCEEDED"


@pytest.fixture
def two_gateways(postgres_url: str, tmp_path: Path) -> Iterator[tuple[str, str, FakeBackend]]:
    """Gateways A and B (real uvicorn) on one PostgreSQL and one result directory."""
    base = _settings(tmp_path, state_store=postgres_url, state_poll_s=0.05,
                     state_heartbeat_s=0.2)
    a_settings = base.replace(gateway_id="gw-a")
    b_settings = base.replace(gateway_id="gw-b")
    backend_a = FakeBackend()
    with running_gateway(a_settings, app=build_app(a_settings, backend=backend_a)) as a, \
         running_gateway(b_settings, app=build_app(b_settings, backend=FakeBackend())) as b:
        yield a, b, backend_a


def test_any_gateway_answers_and_cancels_any_statement(
        two_gateways: tuple[str, str, FakeBackend]) -> None:
    a, b, backend_a = two_gateways
    with httpx.Client(headers=AUTH, timeout=30) as http:
        done = _run_at(http, a, "SELECT 7 AS seven")
        got = http.get(f"{b}{API}/{done['statement_id']}").json()
        assert got["status"]["state"] == "SUCCEEDED"
        assert got["result"]["data_array"] == [["7"]]
        slow = _run_at(http, a, "SLEEP 30", wait="0s")
        sid = slow["statement_id"]
        assert http.get(f"{b}{API}/{sid}").json()["status"]["state"] in ("PENDING", "RUNNING")
        assert http.post(f"{b}{API}/{sid}/cancel").json() == {}
        assert eventually(lambda: sid in backend_a.cancelled), "A never cancelled it"
        assert eventually(
            lambda: http.get(f"{b}{API}/{sid}").json()["status"]["state"] == "CANCELED")
        assert http.get(f"{a}{API}/{sid}").json()["status"]["state"] == "CANCELED"


def test_a_dead_gateways_running_statements_fail_elsewhere(
        two_gateways: tuple[str, str, FakeBackend], postgres_url: str) -> None:
    a, b, _ = two_gateways
    state = open_state_store(postgres_url)
    sid = "01f0dead-0000-0000-0000-000000000002"
    state.put_statements([StatementRecord(
        statement_id=sid, workspace="default", owner="gw-ghost", state="RUNNING",
        submitted_at=time.time(),
        task=json.dumps({"statement_id": sid, "sql": "SELECT 1", "workspace": "default"}))])
    state.heartbeat("gw-ghost", "http://127.0.0.1:9", time.time() - 60)
    state.close()
    with httpx.Client(headers=AUTH, timeout=30) as http:
        def failed() -> bool:
            body = http.get(f"{a}{API}/{sid}").json()
            return bool(body["status"]["state"] == "FAILED"
                        and "stopped" in body["status"]["error"]["message"])
        assert eventually(failed), http.get(f"{a}{API}/{sid}").json()
        assert http.get(f"{b}{API}/{sid}").json()["status"]["state"] == "FAILED"


def _run_at(http: httpx.Client, base: str, sql: str, wait: str = "10s") -> dict[str, Any]:
    r = http.post(f"{base}{API}", json={"statement": sql, "warehouse_id": "sqlgate0000000001",
                                        "wait_timeout": wait})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_retention_over_the_store_leaves_no_orphan_chunks(tmp_path: Path) -> None:
    import asyncio

    from fetch import LocalStore
    from gateway.core.control import ControlPlane

    settings = _settings(tmp_path, result_ttl_s=60, statement_retention_s=600.0)
    results = LocalStore(settings.fetch)
    key = "default/20260101/old-00/0.arrow"
    results.put(key, b"x")
    manifest = json.dumps({"format": "ARROW_STREAM", "columns": [], "external": True,
                           "chunks": [{"chunk_index": 0, "row_offset": 0, "row_count": 1,
                                       "byte_count": 1, "key": key}]})
    state = open_state_store(f"sqlite:///{tmp_path / 'state.db'}")
    now = time.time()
    task = json.dumps({"statement_id": "old", "sql": "SELECT 1"})
    state.put_statements([
        StatementRecord("old", "default", "gw", "SUCCEEDED", task, now - 120,
                        ended_at=now - 100, manifest=manifest),
        StatementRecord("ancient", "default", "gw", "FAILED", task, now - 1000,
                        ended_at=now - 900),
        StatementRecord("fresh", "default", "gw", "SUCCEEDED", task, now, ended_at=now)])
    control = ControlPlane(state, settings, lambda ws: "wh")
    asyncio.run(control.sweep(results.delete_prefix))
    old = state.get_statement("old")
    assert old is not None and old.state == "CLOSED"
    assert results.list_keys("default/") == []
    assert state.get_statement("ancient") is None
    fresh = state.get_statement("fresh")
    assert fresh is not None and fresh.state == "SUCCEEDED"


def test_open_statements_are_written_after_the_linger_ended_ones_at_once(
        tmp_path: Path) -> None:
    """Alone on a local store: a statement that ends within the linger is written as it
    ended (one snapshot, no record of it as running); one still open then is written open,
    by the timer or by a flush; shutdown writes what is still open too."""
    import asyncio

    from gateway.core.control import ControlPlane
    from gateway.core.registry import Statement
    from sqlgate.types import StatementState, StatementTask

    settings = _settings(tmp_path)
    state = open_state_store(f"sqlite:///{tmp_path / 'state.db'}")

    def stmt(sid: str) -> Statement:
        return Statement(task=StatementTask(sid, "SELECT 1"), submitted_at=time.monotonic())

    async def main() -> None:
        control = ControlPlane(state, settings, lambda ws: "wh")
        assert not control.shared
        control.journal.start()
        quick, slow, late = stmt("quick"), stmt("slow"), stmt("late")
        control.note(quick)
        control.note(slow)
        assert control.journal.noted_seq == 0  # admitted: nothing snapshotted yet
        quick.state, quick.ended_at = StatementState.FAILED, time.monotonic()
        control.note(quick)
        assert control.journal.noted_seq == 1  # its end: at once
        slow.state = StatementState.RUNNING
        control.note(slow)
        await control.flush()
        got = state.get_statement("quick")
        assert got is not None and got.state == "FAILED"
        got = state.get_statement("slow")
        assert got is not None and got.state == "RUNNING"
        assert control.journal.noted_seq == 2  # quick was not written as open first
        control.note(late)  # nobody flushes: the linger's timer writes it
        for _ in range(100):
            if state.get_statement("late") is not None:
                break
            await asyncio.sleep(0.05)
        got = state.get_statement("late")
        assert got is not None and got.state == "PENDING"
        control.note(stmt("still"))
        await control.aclose()  # a clean stop writes what is still open

    asyncio.run(asyncio.wait_for(main(), 60))
    reopened = open_state_store(f"sqlite:///{tmp_path / 'state.db'}")
    got = reopened.get_statement("still")
    assert got is not None and got.state == "PENDING"
    reopened.close()
