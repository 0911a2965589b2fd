"""GET /api/2.0/sql/history/queries through the unmodified databricks-sdk, and its bad input."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue
from databricks.sdk.service.sql import QueryFilter, QueryStatus, TimeRange

from gateway.app import build_app
from sqlgate.settings import Settings
from tests.fixtures.server import running_gateway
from tests.gateway.fakes import FakeBackend

pytestmark = pytest.mark.e2e
API = "/api/2.0/sql/statements"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("history")
    tokens = base / "tokens.json"
    tokens.write_text(json.dumps({"tokens": {
        "a": {"token": "tok-ann", "workspace": "default", "user": "ann@x.com"},
        "b": {"token": "tok-bob", "workspace": "default", "user": "bob@x.com"},
        "c": {"token": "tok-eve", "workspace": "other", "user": "eve@x.com"}}}))
    settings = Settings().replace(tokens_file=str(tokens), results=str(base / "results"),
                                  log_level="warning", shutdown_grace_s=1.0)
    with running_gateway(settings, app=build_app(settings, backend=FakeBackend())) as url:
        for token, sql in [("tok-ann", "SELECT 1 AS a"), ("tok-bob", "SELECT 2 AS b"),
                           ("tok-ann", "SELECT broken"), ("tok-eve", "SELECT 3 AS secret")]:
            wh = "sqlgate0000000001" if token != "tok-eve" else _warehouse(url, token)
            httpx.post(f"{url}{API}", headers={"Authorization": f"Bearer {token}"},
                       json={"statement": sql, "warehouse_id": wh, "wait_timeout": "10s"})
            time.sleep(0.01)  # distinct start times, so the order is known
        yield url


def _warehouse(url: str, token: str) -> str:
    r = httpx.get(f"{url}/api/2.0/sql/warehouses", headers={"Authorization": f"Bearer {token}"})
    return str(r.json()["warehouses"][0]["id"])


def test_sdk_lists_newest_first_with_its_fields(server: str) -> None:
    w = WorkspaceClient(host=server, token="tok-ann")
    res = w.query_history.list(include_metrics=True).res or []
    assert [q.query_text for q in res] == ["SELECT broken", "SELECT 2 AS b", "SELECT 1 AS a"]
    failed, bobs, first = res
    assert failed.status is QueryStatus.FAILED and failed.error_message
    assert first.status is QueryStatus.FINISHED and first.user_name == "ann@x.com"
    assert bobs.user_name == "bob@x.com" and bobs.user_id != first.user_id
    assert first.warehouse_id == "sqlgate0000000001" and first.rows_produced == 1
    assert first.query_end_time_ms is not None and first.query_start_time_ms is not None
    assert first.duration == first.query_end_time_ms - first.query_start_time_ms
    assert first.metrics is not None and first.metrics.rows_produced_count == 1
    assert first.metrics.result_from_cache is False
    assert first.statement_type is not None and first.statement_type.value == "SELECT"


def test_sdk_filters_and_pages(server: str) -> None:
    w = WorkspaceClient(host=server, token="tok-ann")
    every = w.query_history.list().res or []
    ann = every[-1].user_id
    mine = w.query_history.list(filter_by=QueryFilter(user_ids=[ann])).res or []
    assert {q.user_name for q in mine} == {"ann@x.com"} and len(mine) == 2
    failed = w.query_history.list(filter_by=QueryFilter(statuses=[QueryStatus.FAILED])).res
    assert [q.query_text for q in failed or []] == ["SELECT broken"]
    start = every[1].query_start_time_ms
    window = w.query_history.list(filter_by=QueryFilter(
        query_start_time_range=TimeRange(start_time_ms=start, end_time_ms=start))).res
    assert [q.query_id for q in window or []] == [every[1].query_id]
    page = w.query_history.list(max_results=2)
    assert page.has_next_page is True and page.next_page_token
    rest = w.query_history.list(page_token=page.next_page_token, max_results=2)
    assert [q.query_id for q in (page.res or []) + (rest.res or [])] == [
        q.query_id for q in every]
    assert rest.has_next_page is False


def test_each_workspace_sees_only_its_own(server: str) -> None:
    eve = WorkspaceClient(host=server, token="tok-eve").query_history.list().res or []
    assert [q.query_text for q in eve] == ["SELECT 3 AS secret"]


@pytest.mark.parametrize("query", [
    "max_results=0", "max_results=1001", "max_results=x", "page_token=garbage!",
    "filter_by.statuses=DONE", "filter_by.user_ids=abc",
    "filter_by.query_start_time_range.start_time_ms=yesterday", "include_metrics=maybe",
])
def test_bad_input_is_a_400_in_the_api_shape(server: str, query: str) -> None:
    r = httpx.get(f"{server}/api/2.0/sql/history/queries?{query}",
                  headers={"Authorization": "Bearer tok-ann"})
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_sdk_raises_its_own_error_on_bad_input(server: str) -> None:
    with pytest.raises(InvalidParameterValue):
        WorkspaceClient(host=server, token="tok-ann").query_history.list(max_results=5000)


def test_without_a_state_store_history_says_so(tmp_path: Path) -> None:
    settings = Settings().replace(token="t", results=str(tmp_path / "r"), state_store="none",
                                  log_level="warning")
    with running_gateway(settings, app=build_app(settings, backend=FakeBackend())) as url:
        r = httpx.get(f"{url}/api/2.0/sql/history/queries", headers={"Authorization": "Bearer t"})
    assert r.status_code == 400 and r.json()["error_code"] == "FEATURE_DISABLED"
