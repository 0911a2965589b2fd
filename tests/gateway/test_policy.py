"""The operator's bounds on every statement: workspace catalogs and the time limit."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from databricks.sql.thrift_api.TCLIService import ttypes

from gateway.app import build_app
from gateway.auth import Authenticator, hash_token
from gateway.core.registry import StatementRegistry
from gateway.policy import StatementPolicy
from gateway.pool.router import warehouse_id_for
from gateway.thrift.service import ThriftService
from sqlgate.settings import EngineSettings, Settings
from sqlgate.types import StatementTask
from tests.gateway.conftest import TestClient
from tests.gateway.fakes import FakeBackend
from tests.gateway.thrift.fakes import ScriptedBackend


def _tokens(tmp_path: Path, entries: dict[str, dict[str, object]]) -> Settings:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"tokens": {hash_token(k): v for k, v in entries.items()}}))
    return Settings().replace(tokens_file=str(path), results=str(tmp_path / "r"),
                              statement_timeout_s=5.0, shutdown_grace_s=0.5)


def test_tokens_file_binds_workspaces_to_catalogs(tmp_path: Path) -> None:
    settings = _tokens(tmp_path, {
        "a1": {"workspace": "acme", "catalogs": ["acme", "shared"]},
        "a2": {"workspace": "acme", "catalogs": ["acme", "shared"]},
        "g": {"workspace": "globex"},
    })
    auth, _ = Authenticator.from_settings(settings.gateway)
    assert auth.catalogs("acme") == ("acme", "shared")
    assert auth.catalogs("globex") is None and auth.catalogs("nobody") is None
    # the single token keeps every catalog
    single, _ = Authenticator.from_settings(Settings().replace(token="t").gateway)
    assert single.catalogs("default") is None


@pytest.mark.parametrize("entries", [
    {"a1": {"workspace": "acme", "catalogs": ["acme"]}, "a2": {"workspace": "acme"}},
    {"a1": {"workspace": "acme", "catalogs": "acme"}},
    {"a1": {"workspace": "acme", "catalogs": [""]}},
])
def test_tokens_file_catalogs_must_be_one_list_per_workspace(
        tmp_path: Path, entries: dict[str, dict[str, object]]) -> None:
    with pytest.raises(ValueError):
        Authenticator.from_settings(_tokens(tmp_path, entries).gateway)


def test_rest_statements_carry_catalogs_and_the_time_limit(tmp_path: Path) -> None:
    settings = _tokens(tmp_path, {"tok": {"workspace": "acme", "catalogs": ["acme"]}})
    backend = FakeBackend()
    with TestClient(build_app(settings, backend=backend)) as client:
        r = client.post("/api/2.0/sql/statements", headers={"Authorization": "Bearer tok"},
                        json={"statement": "SELECT 1", "wait_timeout": "5s",
                              "warehouse_id": warehouse_id_for(settings, "acme")})
        assert r.status_code == 200, r.text
    task = backend.tasks[-1]
    assert (task.catalogs, task.timeout_s) == (("acme",), 5.0)


@pytest.mark.parametrize("query_timeout", [2, 20, 10**12, 2**63 - 1])
def test_thrift_query_timeout_only_shortens_the_limit(tmp_path: Path,
                                                      query_timeout: int) -> None:
    settings = Settings().replace(results=str(tmp_path / "r"), statement_timeout_s=5.0)
    auth, _ = Authenticator.from_settings(settings.replace(token="t").gateway)
    backend = ScriptedBackend(None)
    registry = StatementRegistry(backend, policy=StatementPolicy(auth, settings.engine))
    svc = ThriftService(registry, settings, None, direct_wait_s=2.0, poll_hold_s=0.3)

    async def main() -> None:
        opened = await svc.call("OpenSession", ttypes.TOpenSessionReq(), "default")
        resp = await svc.call("ExecuteStatement", ttypes.TExecuteStatementReq(
            sessionHandle=opened.sessionHandle, statement="SELECT 1", runAsync=True,
            queryTimeout=query_timeout), "default")
        assert resp.status.statusCode == ttypes.TStatusCode.SUCCESS_STATUS
        stmt = registry.statements()[-1]
        await registry.wait(stmt, 5)
        assert stmt.task.timeout_s == min(5.0, query_timeout)

    asyncio.run(main())


def test_time_limits_are_bounded() -> None:
    engine = EngineSettings(statement_timeout_s=5)
    assert [engine.time_limit(t) for t in (None, 0, -1, float("nan"), float("inf"), 3)] == [
        5.0, 5.0, 5.0, 5.0, 5.0, 3.0]
    unbounded = EngineSettings(statement_timeout_s=float("inf"))
    assert unbounded.time_limit(10**12) == unbounded.time_limit(None) <= 30 * 24 * 3600
    task = StatementTask("s", "SELECT 1", timeout_s=1e18)
    policy = StatementPolicy(Authenticator({}), engine)
    assert policy(task).timeout_s == 5.0
