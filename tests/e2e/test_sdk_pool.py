"""The databricks-sdk against the real stack: uvicorn, the warm pool, worker processes, the lake."""

from __future__ import annotations

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.sql import StatementState

from sqlgate.settings import Settings

pytestmark = pytest.mark.e2e
WH = "sqlgate0000000001"


@pytest.fixture(scope="module")
def w(gateway_server: tuple[str, str, Settings]) -> WorkspaceClient:
    url, token, _ = gateway_server
    return WorkspaceClient(host=url, token=token)


def test_tpch_query_through_pool(w: WorkspaceClient) -> None:
    r = w.statement_execution.execute_statement(
        warehouse_id=WH,
        statement="SELECT n_nationkey, n_name FROM main.tpch.nation ORDER BY n_nationkey",
        wait_timeout="50s",
    )
    assert r.status.state == StatementState.SUCCEEDED, r.status
    assert r.manifest.total_row_count == 25
    assert r.result.data_array[0] == ["0", "ALGERIA"]
    names = [c.name for c in r.manifest.schema.columns]
    assert names == ["n_nationkey", "n_name"]


def test_named_parameters_through_pool(w: WorkspaceClient) -> None:
    from databricks.sdk.service.sql import StatementParameterListItem as P

    r = w.statement_execution.execute_statement(
        warehouse_id=WH,
        statement="SELECT count(*) AS n FROM main.tpch.nation WHERE n_regionkey = :r",
        parameters=[P(name="r", value="1", type="INT")],
        wait_timeout="50s",
    )
    assert r.status.state == StatementState.SUCCEEDED, r.status
    assert r.result.data_array == [["5"]]


def test_sql_error_through_pool(w: WorkspaceClient) -> None:
    r = w.statement_execution.execute_statement(
        warehouse_id=WH, statement="SELECT * FROM main.tpch.no_such_table", wait_timeout="50s"
    )
    assert r.status.state == StatementState.FAILED
    assert r.status.error.message
