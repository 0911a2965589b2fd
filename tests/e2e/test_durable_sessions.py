"""Sessions live in the state store: real ``sqlgate serve`` processes and real clients.

- Restart (the default SQLite store): a databricks-sql-connector Thrift session that said
  ``USE`` and ``SET`` and an SEA (``use_sea=True``) session opened with a catalog and schema
  keep working, defaults kept, after the gateway restarts under them.
- Two gateways on one PostgreSQL store: a REST session opened on A runs statements on B with
  its catalog, schema and confs; closing it on B closes it on A. A Thrift session opened on A
  (the TCLIService wire protocol the connector speaks) takes a ``USE`` on B, and a
  CloseSession on B makes its handle, and its operations, invalid on A.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from databricks import sql
from databricks.sql.thrift_api.TCLIService import TCLIService, ttypes
from thrift.protocol import TBinaryProtocol
from thrift.transport import THttpClient

from tests.fixtures.serve import Served, serve

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore::UserWarning")]
TOKEN = "dapi-sessions"
WAREHOUSE = "sqlgate0000000001"
PATH = f"/sql/1.0/warehouses/{WAREHOUSE}"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_sessions_of_both_fronts_survive_a_restart(
        tpch_lake: tuple[Path, Path], tmp_path: Path) -> None:
    with serve(tmp_path, tpch_lake[0], token=TOKEN) as gw, \
            sql.connect(server_hostname=gw.url, http_path=PATH, access_token=TOKEN,
                        _connection_uri=gw.url + PATH, enable_telemetry=False) as thrift, \
            sql.connect(server_hostname="http://127.0.0.1", _port=urlparse(gw.url).port,
                        http_path=PATH, access_token=TOKEN, use_sea=True,
                        enable_telemetry=False, catalog="main", schema="tpch") as sea:
        with thrift.cursor() as cur:
            cur.execute("USE main.tpch")
            cur.execute("SET use_cached_result = false")
        gw.restart()
        with thrift.cursor() as cur:
            cur.execute("SELECT count(*) AS n FROM nation")  # the schema the USE chose
            assert cur.fetchall()[0][0] == 25
            cur.execute("SELECT count(*) AS n FROM nation")
            assert cur.fetchall()[0][0] == 25
        with sea.cursor() as cur:
            cur.execute("SELECT n_name FROM nation WHERE n_nationkey = :k", {"k": 3})
            assert cur.fetchall()[0][0] == "CANADA"
        # The restarted gateway answered the Thrift session's statements with its conf: no
        # cache hit for the repeat.
        history = httpx.get(f"{gw.url}/api/2.0/sql/history/queries", headers=AUTH,
                            params={"include_metrics": "true"}).json()
        runs = [q for q in history["res"] if q["query_text"].endswith("FROM nation")]
        assert len(runs) == 2 and not any(q["metrics"].get("result_from_cache") for q in runs)


@pytest.fixture
def pair(tpch_lake: tuple[Path, Path], tmp_path: Path,
         postgres_url: str) -> Iterator[tuple[Served, Served]]:
    common = {"state_store": postgres_url, "state_poll_s": 0.1}
    with serve(tmp_path, tpch_lake[0], name="a", token=TOKEN,
               settings={**common, "gateway_id": "gw-a"}) as a, \
            serve(tmp_path, tpch_lake[0], name="b", token=TOKEN,
                  settings={**common, "gateway_id": "gw-b"}) as b:
        yield a, b


def _statement(gw: Served, session: str, text: str) -> httpx.Response:
    return httpx.post(f"{gw.url}/api/2.0/sql/statements", headers=AUTH, timeout=60, json={
        "statement": text, "warehouse_id": WAREHOUSE, "session_id": session,
        "wait_timeout": "30s"})


def test_a_rest_session_spans_gateways_and_closes_everywhere(
        pair: tuple[Served, Served]) -> None:
    a, b = pair
    session = httpx.post(f"{a.url}/api/2.0/sql/sessions/", headers=AUTH, json={
        "warehouse_id": WAREHOUSE, "catalog": "main", "schema": "tpch",
        "session_confs": {"use_cached_result": "false"}}).json()["session_id"]
    for gw in (b, a, b):
        body = _statement(gw, session, "SELECT n_name FROM nation WHERE n_nationkey = 3").json()
        assert body["status"]["state"] == "SUCCEEDED", body
        assert body["result"]["data_array"] == [["CANADA"]]
        assert "cache" not in body["sqlgate"]  # the session's conf opted out, on both
    assert httpx.request("DELETE", f"{b.url}/api/2.0/sql/sessions/{session}", headers=AUTH,
                         params={"warehouse_id": WAREHOUSE}).status_code == 200
    for gw in (a, b):
        gone = _statement(gw, session, "SELECT 1")
        assert gone.status_code == 404, gone.text
        assert gone.json()["error_code"] == "NOT_FOUND"


def _client(gw: Served) -> tuple[TCLIService.Client, THttpClient.THttpClient]:
    transport = THttpClient.THttpClient(gw.url + PATH)
    transport.setCustomHeaders(AUTH)
    return TCLIService.Client(TBinaryProtocol.TBinaryProtocol(transport)), transport


def _execute(client: TCLIService.Client, handle: Any, text: str) -> Any:
    return client.ExecuteStatement(ttypes.TExecuteStatementReq(
        sessionHandle=handle, statement=text, runAsync=False,
        getDirectResults=ttypes.TSparkGetDirectResults(maxRows=100)))


def test_a_thrift_session_spans_gateways_and_closes_everywhere(
        pair: tuple[Served, Served]) -> None:
    a, b = pair
    (on_a, ta), (on_b, tb) = _client(a), _client(b)
    try:
        opened = on_a.OpenSession(ttypes.TOpenSessionReq(
            client_protocol_i64=ttypes.TProtocolVersion.SPARK_CLI_SERVICE_PROTOCOL_V8,
            initialNamespace=ttypes.TNamespace(catalogName="main", schemaName="default")))
        handle = opened.sessionHandle
        assert _execute(on_b, handle, "USE tpch").status.statusCode == 0
        resp = _execute(on_a, handle, "SELECT count(*) AS n FROM nation")
        assert resp.status.statusCode == 0, resp.status
        assert resp.directResults.resultSet.results.columns[0].i64Val.values == [25]
        # a handle with the wrong secret is no session, on either gateway
        forged = ttypes.TSessionHandle(sessionId=ttypes.THandleIdentifier(
            guid=handle.sessionId.guid, secret=b"\0" * 16))
        for client in (on_a, on_b):
            bad = _execute(client, forged, "SELECT 1")
            assert bad.status.statusCode == ttypes.TStatusCode.INVALID_HANDLE_STATUS
        running = on_a.ExecuteStatement(ttypes.TExecuteStatementReq(
            sessionHandle=handle, statement="SELECT 1 AS one", runAsync=True))
        assert on_b.CloseSession(ttypes.TCloseSessionReq(sessionHandle=handle)).status \
            .statusCode == 0
        after = _execute(on_a, handle, "SELECT 1")
        assert after.status.statusCode == ttypes.TStatusCode.INVALID_HANDLE_STATUS
        # the operations it had open on A went with it
        fetched = on_a.FetchResults(ttypes.TFetchResultsReq(
            operationHandle=running.operationHandle, orientation=0, maxRows=10))
        assert fetched.status.statusCode == ttypes.TStatusCode.INVALID_HANDLE_STATUS
    finally:
        ta.close()
        tb.close()
