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


def test_external_links_arrow_stream(w: WorkspaceClient) -> None:
    import httpx
    import pyarrow as pa
    from databricks.sdk.service.sql import Disposition, Format

    r = w.statement_execution.execute_statement(
        warehouse_id=WH,
        statement="SELECT l_orderkey, l_comment FROM main.tpch.lineitem",
        disposition=Disposition.EXTERNAL_LINKS,
        format=Format.ARROW_STREAM,
        wait_timeout="50s",
    )
    assert r.status.state == StatementState.SUCCEEDED, r.status
    m = r.manifest
    assert m.total_chunk_count == len(m.chunks) >= 1
    assert m.total_byte_count and m.total_byte_count > 0
    first = r.result.external_links[0]
    assert first.expiration.endswith("Z")
    rows = 0
    for i in range(m.total_chunk_count):
        link = w.statement_execution.get_statement_result_chunk_n(r.statement_id, i)
        ext = link.external_links[0]
        assert ext.chunk_index == i
        # Links need no Authorization: the signature in the URL is the credential.
        got = httpx.get(ext.external_link, headers=ext.http_headers or {}, timeout=30)
        assert got.status_code == 200
        table = pa.ipc.open_stream(got.content).read_all()
        assert table.num_rows == ext.row_count
        rows += table.num_rows
    assert rows == m.total_row_count > 50_000
    # Closing drops the chunks from the store: the (still signed) link stops working.
    w.api_client.do("DELETE", f"/api/2.0/sql/statements/{r.statement_id}")
    assert w.statement_execution.get_statement(r.statement_id).status.state == (
        StatementState.CLOSED
    )
    assert httpx.get(first.external_link, timeout=30).status_code in (403, 404)


def test_metrics_of_the_real_pool(
    w: WorkspaceClient, gateway_server: tuple[str, str, Settings],
) -> None:
    import httpx

    url, _, settings = gateway_server
    r = w.statement_execution.execute_statement(
        warehouse_id=WH, statement="SELECT count(*) FROM main.tpch.region", wait_timeout="50s")
    assert r.status.state == StatementState.SUCCEEDED
    token = settings.gateway.token
    text = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"},
                     timeout=10.0).text
    wh = f'warehouse_id="{settings.gateway.warehouse_id}"'
    assert 'sqlgate_statements{state="SUCCEEDED"}' in text  # statements by state
    assert 'sqlgate_statement_seconds_bucket{le="0.1",state="SUCCEEDED"}' in text  # latency
    assert "# TYPE sqlgate_statement_queue_seconds histogram" in text
    for lane in ("short", "long"):  # queue depth per lane
        assert f'sqlgate_pool_scheduler_lanes_queued{{lane="{lane}",{wh}}}' in text
    assert f'sqlgate_pool_workers{{{wh}}}' in text
    assert f'sqlgate_pool_cold_starts{{{wh}}}' in text
    assert f'sqlgate_pool_state{{state="RUNNING",{wh}}} 1' in text
