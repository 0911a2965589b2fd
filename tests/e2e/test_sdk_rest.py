"""The unmodified databricks-sdk against a real uvicorn running the gateway.

The fake backend (DuckDB in-process, scripted SLEEP/REJECT) keeps these fast; the pool-backed
round trip over the TPC-H lake is in test_sdk_pool.py.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue, NotFound, Unauthenticated
from databricks.sdk.service.sql import (
    Disposition,
    ExecuteStatementRequestOnWaitTimeout,
    Format,
    StatementParameterListItem,
)
from databricks.sdk.service.sql import (
    StatementState as State,
)

from gateway.app import build_app
from sqlgate.settings import Settings
from tests.fixtures.server import TOKEN, running_gateway
from tests.gateway.fakes import FakeBackend

pytestmark = pytest.mark.e2e
WH = "sqlgate0000000001"


@pytest.fixture(scope="module")
def sdk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings().replace(
        token=TOKEN, results=str(tmp_path_factory.mktemp("res")), log_level="warning",
        shutdown_grace_s=1.0,
    )
    app = build_app(settings, backend=FakeBackend())
    with running_gateway(settings, app=app) as url:
        yield url


@pytest.fixture(scope="module")
def w(sdk_server: str) -> WorkspaceClient:
    return WorkspaceClient(host=sdk_server, token=TOKEN)


def test_execute_poll_and_chunks(w: WorkspaceClient) -> None:
    r = w.statement_execution.execute_statement(
        warehouse_id=WH, statement="SELECT range AS i FROM range(5)", wait_timeout="30s"
    )
    assert r.status.state == State.SUCCEEDED
    assert r.manifest.total_row_count == 5
    assert r.manifest.schema.columns[0].type_name.value == "LONG"
    assert r.result.data_array == [[str(i)] for i in range(5)]
    got = w.statement_execution.get_statement(r.statement_id)
    assert got.result.data_array == r.result.data_array
    chunk = w.statement_execution.get_statement_result_chunk_n(r.statement_id, 0)
    assert chunk.data_array == r.result.data_array


def test_parameters_and_row_limit(w: WorkspaceClient) -> None:
    r = w.statement_execution.execute_statement(
        warehouse_id=WH,
        statement="SELECT range + :k AS v FROM range(10)",
        parameters=[StatementParameterListItem(name="k", value="100", type="INT")],
        row_limit=4,
    )
    assert r.status.state == State.SUCCEEDED
    assert r.manifest.truncated is True
    assert [row[0] for row in r.result.data_array] == ["100", "101", "102", "103"]


def test_async_cancel_and_close(w: WorkspaceClient) -> None:
    r = w.statement_execution.execute_statement(
        warehouse_id=WH, statement="SLEEP 30", wait_timeout="0s"
    )
    assert r.status.state in (State.PENDING, State.RUNNING)
    w.statement_execution.cancel_execution(r.statement_id)
    assert w.statement_execution.get_statement(r.statement_id).status.state == State.CANCELED
    r2 = w.statement_execution.execute_statement(
        warehouse_id=WH, statement="SLEEP 30", wait_timeout="5s",
        on_wait_timeout=ExecuteStatementRequestOnWaitTimeout.CANCEL,
    )
    assert r2.status.state == State.CANCELED


def test_wait_zero_then_poll_until_done(w: WorkspaceClient) -> None:
    r = w.statement_execution.execute_statement(
        warehouse_id=WH, statement="SLEEP 0.2", wait_timeout="0s"
    )
    deadline = time.monotonic() + 60
    state = r.status.state
    while state not in (State.SUCCEEDED, State.FAILED) and time.monotonic() < deadline:
        time.sleep(0.05)
        state = w.statement_execution.get_statement(r.statement_id).status.state
    assert state == State.SUCCEEDED


def test_errors_map_to_sdk_exceptions(w: WorkspaceClient, sdk_server: str) -> None:
    with pytest.raises(InvalidParameterValue):
        w.statement_execution.execute_statement(
            warehouse_id=WH, statement="SELECT 1",
            disposition=Disposition.INLINE, format=Format.ARROW_STREAM,
        )
    with pytest.raises(NotFound):
        w.statement_execution.get_statement("01f00000-0000-0000-0000-000000000000")
    with pytest.raises(NotFound):
        w.warehouses.get("no-such-warehouse")
    bad = WorkspaceClient(host=sdk_server, token="wrong")
    with pytest.raises(Unauthenticated):
        bad.warehouses.get(WH)


def test_failed_sql_is_a_failed_state(w: WorkspaceClient) -> None:
    r = w.statement_execution.execute_statement(warehouse_id=WH, statement="SELEC nonsense")
    assert r.status.state == State.FAILED
    assert r.status.error.error_code.value == "BAD_REQUEST"


def test_warehouses_list_get_start_stop(w: WorkspaceClient) -> None:
    listed = list(w.warehouses.list())
    assert [x.id for x in listed] == [WH]
    info = w.warehouses.get(WH)
    assert info.enable_serverless_compute is True and info.auto_stop_mins == 10
    w.warehouses.stop(WH).result(timeout=datetime.timedelta(seconds=30))
    assert w.warehouses.get(WH).state.value == "STOPPED"
    started = w.warehouses.start_and_wait(WH, timeout=datetime.timedelta(seconds=30))
    assert started.state.value == "RUNNING"


def test_well_known_and_no_warning(sdk_server: str, caplog: pytest.LogCaptureFixture) -> None:
    WorkspaceClient(host=sdk_server, token=TOKEN)
    assert "Failed to automatically resolve" not in caplog.text
