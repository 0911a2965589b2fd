"""The result cache through the real pool: a repeat is answered from it, a commit to a table
read invalidates it (never a stale answer), and ``SET use_cached_result = false`` opts out."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pyarrow as pa
import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.sql import Disposition, Format

from sqlgate.settings import EngineSettings, Settings
from tests.e2e.test_connector import connect
from tests.fixtures.server import TOKEN, free_socket, running_gateway, server_settings

pytestmark = pytest.mark.e2e
API = "/api/2.0/sql/statements"


@pytest.fixture(scope="module")
def cache_server(engine_settings: EngineSettings,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Settings]]:
    """A gateway over a lake of its own: these tests write tables, the session lake stays
    as the other tests expect it."""
    base = tmp_path_factory.mktemp("cache-lake")
    (base / "lake" / "main").mkdir(parents=True)  # the catalog: a folder under the root
    engine = dataclasses.replace(engine_settings, lake=str(base / "lake"))
    sock = free_socket()
    settings = server_settings(engine, base / "results", sock.getsockname()[1],
                               min_workers=1, max_workers=1)
    with running_gateway(settings, sock=sock) as url:
        _run(url, TOKEN, "CREATE SCHEMA IF NOT EXISTS main.cache_test")
        yield url, TOKEN, settings


def _run(url: str, token: str, sql: str) -> dict[str, Any]:
    r = httpx.post(f"{url}{API}", headers={"Authorization": f"Bearer {token}"}, timeout=120,
                   json={"statement": sql, "warehouse_id": "sqlgate0000000001",
                         "wait_timeout": "50s"})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["status"]["state"] == "SUCCEEDED", body
    return body


def test_repeat_hits_and_a_commit_invalidates(cache_server: tuple[str, str, Settings]) -> None:
    url, token, _ = cache_server
    table = f"main.cache_test.t_{uuid.uuid4().hex[:8]}"
    _run(url, token, f"CREATE TABLE {table} AS SELECT 1 AS k")
    query = f"SELECT sum(k) AS s, count(*) AS n FROM {table}"
    first = _run(url, token, query)
    assert first["sqlgate"].get("cache") == "miss"
    again = _run(url, token, f"select  sum(k) as s,  count(*) as n from {table}")
    assert again["sqlgate"]["cache"] == "hit"
    assert again["result"]["data_array"] == first["result"]["data_array"] == [["1", "1"]]
    _run(url, token, f"INSERT INTO {table} VALUES (41)")
    after = _run(url, token, query)
    assert after["sqlgate"]["cache"] == "miss"
    assert after["result"]["data_array"] == [["42", "2"]]
    assert _run(url, token, query)["sqlgate"]["cache"] == "hit"


def test_thrift_session_can_opt_out(cache_server: tuple[str, str, Settings]) -> None:
    url, token, settings = cache_server
    table = f"main.cache_test.u_{uuid.uuid4().hex[:8]}"
    _run(url, token, "CREATE SCHEMA IF NOT EXISTS main.cache_test")
    _run(url, token, f"CREATE TABLE {table} AS SELECT 7 AS k")
    query = f"SELECT k FROM {table}"
    with connect(url, token, settings) as conn, conn.cursor() as cur:
        cur.execute("SET use_cached_result = false")
        assert cur.fetchall()[0].asDict() == {"key": "use_cached_result", "value": "false"}
        for _ in range(2):
            cur.execute(query)
            assert cur.fetchall()[0][0] == 7
    with connect(url, token, settings) as conn, conn.cursor() as cur:
        for _ in range(2):
            cur.execute(query)
            assert cur.fetchall()[0][0] == 7
    w = WorkspaceClient(host=url, token=token)
    runs = [q for q in w.query_history.list(include_metrics=True, max_results=50).res or []
            if q.query_text == query]
    cached = [bool(q.metrics and q.metrics.result_from_cache) for q in reversed(runs)]
    assert cached == [False, False, False, True]


def test_rest_session_conf_opts_out(cache_server: tuple[str, str, Settings]) -> None:
    url, token, _ = cache_server
    table = f"main.cache_test.v_{uuid.uuid4().hex[:8]}"
    _run(url, token, f"CREATE TABLE {table} AS SELECT 3 AS k")
    auth = {"Authorization": f"Bearer {token}"}
    session = httpx.post(f"{url}/api/2.0/sql/sessions/", headers=auth, json={
        "warehouse_id": "sqlgate0000000001",
        "session_confs": {"use_cached_result": "false"}}).json()["session_id"]
    answers = []
    for _ in range(2):
        r = httpx.post(f"{url}{API}", headers=auth, timeout=120, json={
            "statement": f"SELECT k FROM {table}", "warehouse_id": "sqlgate0000000001",
            "session_id": session, "wait_timeout": "50s"}).json()
        answers.append((r["result"]["data_array"], r["sqlgate"].get("cache")))
    assert answers == [([["3"]], None), ([["3"]], None)]
    bad = httpx.post(f"{url}/api/2.0/sql/sessions/", headers=auth, json={
        "warehouse_id": "sqlgate0000000001", "session_confs": {"use_cached_result": "maybe"}})
    assert bad.status_code == 400


def _external(url: str, token: str, sql: str) -> dict[str, Any]:
    r = httpx.post(f"{url}{API}", headers={"Authorization": f"Bearer {token}"}, timeout=120,
                   json={"statement": sql, "warehouse_id": "sqlgate0000000001",
                         "wait_timeout": "50s", "disposition": "EXTERNAL_LINKS",
                         "format": "ARROW_STREAM"})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["status"]["state"] == "SUCCEEDED", body
    return body


def _download(body: dict[str, Any]) -> pa.Table:
    links = body["result"]["external_links"]
    assert len(links) == 1 and body["manifest"]["total_chunk_count"] == 1
    got = httpx.get(links[0]["external_link"])
    assert got.status_code == 200
    return pa.ipc.open_stream(got.content).read_all()


def test_external_links_results_are_cached_each_hit_with_its_own_chunks(
        cache_server: tuple[str, str, Settings]) -> None:
    url, token, _ = cache_server
    table = f"main.cache_test.x_{uuid.uuid4().hex[:8]}"
    _run(url, token, f"CREATE TABLE {table} AS SELECT id, id * 2 AS twice "
                     f"FROM (SELECT explode(sequence(1, 1000)) AS id)")
    query = f"SELECT id, twice FROM {table} ORDER BY id"
    first = _external(url, token, query)
    again = _external(url, token, query)
    assert (first["sqlgate"]["cache"], again["sqlgate"]["cache"]) == ("miss", "hit")
    a, b = (x["result"]["external_links"][0]["external_link"] for x in (first, again))
    assert a != b  # its own copy, its own freshly signed link
    assert _download(again) == _download(first) and _download(first).num_rows == 1000
    # The SDK reads the cached answer like any other.
    w = WorkspaceClient(host=url, token=token)
    sdk = w.statement_execution.execute_statement(
        statement=query, warehouse_id="sqlgate0000000001", wait_timeout="50s",
        disposition=Disposition.EXTERNAL_LINKS, format=Format.ARROW_STREAM)
    assert sdk.result is not None and sdk.result.external_links
    link = sdk.result.external_links[0].external_link or ""
    assert pa.ipc.open_stream(httpx.get(link).content).read_all() == _download(first)
    # Closing the statement that wrote the chunks: the hits keep theirs, the entry goes.
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.delete(f"{url}{API}/{first['statement_id']}", headers=auth).status_code == 200
    assert httpx.get(a).status_code == 403
    assert _download(again).num_rows == 1000
    assert _external(url, token, query)["sqlgate"]["cache"] == "miss"
