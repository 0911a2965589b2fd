"""A Thrift operation answered by any gateway on one PostgreSQL state store.

Two real ``sqlgate serve`` processes (one state store, one result store) and a client
speaking raw TCLIService over HTTP, as a load balancer without stickiness would spread it:
the session opens and the statement runs on A; B polls its status, reads its schema and
serves every page after the first (A's) from where the client left off, checked row by row;
a cancel sent to B stops a long statement running on A; a close on B closes it on A.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from databricks.sql.thrift_api.TCLIService import TCLIService, ttypes
from thrift.protocol import TBinaryProtocol
from thrift.transport import THttpClient

from tests.fixtures.serve import Served, serve

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore::UserWarning")]
TOKEN = "dapi-thriftops"
WAREHOUSE = "sqlgate0000000001"
PATH = f"/sql/1.0/warehouses/{WAREHOUSE}"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROWS = "SELECT l_orderkey, l_linenumber FROM main.tpch.lineitem ORDER BY 1, 2"
# Seconds of work for one worker at SF 0.01 (a 60k x 60k comparison), cancelled long before.
SLOW = ("SELECT count(*) AS n FROM main.tpch.lineitem a JOIN main.tpch.lineitem b "
        "ON a.l_comment < b.l_comment")
State = ttypes.TOperationState


@pytest.fixture
def pair(tpch_lake: tuple[Path, Path], tmp_path: Path,
         postgres_url: str) -> Iterator[tuple[Served, Served]]:
    common = {"state_store": postgres_url, "state_poll_s": 0.1,
              "chunk_target_bytes": 256 << 10, "inline_byte_limit": 64 << 10}
    with serve(tmp_path, tpch_lake[0], name="a", token=TOKEN,
               settings={**common, "gateway_id": "gw-a"}) as a, \
            serve(tmp_path, tpch_lake[0], name="b", token=TOKEN,
                  settings={**common, "gateway_id": "gw-b"}) as b:
        yield a, b


class Client:
    """Raw TCLIService over HTTP to one gateway."""

    def __init__(self, gw: Served) -> None:
        self.transport = THttpClient.THttpClient(gw.url + PATH)
        self.transport.setCustomHeaders(AUTH)
        self.rpc = TCLIService.Client(TBinaryProtocol.TBinaryProtocol(self.transport))

    def status(self, op: Any) -> Any:
        return self.rpc.GetOperationStatus(ttypes.TGetOperationStatusReq(operationHandle=op))

    def fetch(self, op: Any, rows: int) -> Any:
        return self.rpc.FetchResults(ttypes.TFetchResultsReq(
            operationHandle=op, orientation=ttypes.TFetchOrientation.FETCH_NEXT,
            maxRows=rows))


def _rows(resp: Any) -> list[tuple[int, int]]:
    assert resp.status.statusCode == 0, resp.status
    cols = []
    for col in resp.results.columns:
        typed = next(v for v in (col.i64Val, col.i32Val, col.i16Val) if v is not None)
        cols.append(typed.values)
    return list(zip(*cols, strict=True))


def _scalar(gw: Served, text: str) -> int:
    body = httpx.post(f"{gw.url}/api/2.0/sql/statements", headers=AUTH, timeout=120, json={
        "statement": text, "warehouse_id": WAREHOUSE, "wait_timeout": "50s"}).json()
    assert body["status"]["state"] == "SUCCEEDED", body
    return int(body["result"]["data_array"][0][0])


def _open(client: Client) -> Any:
    return client.rpc.OpenSession(ttypes.TOpenSessionReq(
        client_protocol_i64=ttypes.TProtocolVersion.SPARK_CLI_SERVICE_PROTOCOL_V8)
    ).sessionHandle


def _run(client: Client, session: Any, text: str) -> Any:
    resp = client.rpc.ExecuteStatement(ttypes.TExecuteStatementReq(
        sessionHandle=session, statement=text, runAsync=True))
    assert resp.status.statusCode == 0, resp.status
    return resp.operationHandle


def test_any_gateway_answers_an_operation_run_on_another(pair: tuple[Served, Served]) -> None:
    a, b = pair
    on_a, on_b = Client(a), Client(b)
    try:
        session = _open(on_a)
        op = _run(on_a, session, ROWS)
        deadline = time.monotonic() + 120
        while (state := on_b.status(op)).operationState != State.FINISHED_STATE:
            assert state.status.statusCode == 0, state.status
            assert state.operationState in (State.INITIALIZED_STATE, State.PENDING_STATE,
                                            State.RUNNING_STATE), state
            assert time.monotonic() < deadline
        meta = on_b.rpc.GetResultSetMetadata(ttypes.TGetResultSetMetadataReq(
            operationHandle=op))
        assert [c.columnName for c in meta.schema.columns] == ["l_orderkey", "l_linenumber"]
        first = on_a.fetch(op, 5000)
        rows, pages = _rows(first), 1
        more = first.hasMoreRows
        while more:  # every later page from B, from where A left off
            page = on_b.fetch(op, 5000)
            rows += _rows(page)
            more, pages = page.hasMoreRows, pages + 1
        assert pages > 3
        assert len(rows) == _scalar(a, "SELECT count(*) FROM main.tpch.lineitem")
        assert rows == sorted(set(rows))  # in order, none twice (so none missing either)
        assert sum(r[0] for r in rows) == _scalar(
            b, "SELECT sum(l_orderkey) FROM main.tpch.lineitem")
        # a forged secret is no operation on B
        forged = ttypes.TOperationHandle(
            operationId=ttypes.THandleIdentifier(guid=op.operationId.guid, secret=b"\0" * 16),
            operationType=op.operationType, hasResultSet=True)
        assert on_b.status(forged).status.statusCode == \
            ttypes.TStatusCode.INVALID_HANDLE_STATUS
        # closed on B: gone on A too
        closed = on_b.rpc.CloseOperation(ttypes.TCloseOperationReq(operationHandle=op))
        assert closed.status.statusCode == 0, closed.status
        # (A answers "closed" either from the stored record or, once its poll saw the
        # close, from its own memory: the result is gone)
        after = on_a.fetch(op, 10).status
        assert after.statusCode in (ttypes.TStatusCode.INVALID_HANDLE_STATUS,
                                    ttypes.TStatusCode.ERROR_STATUS), after
        assert "closed" in after.errorMessage, after
        assert on_b.fetch(op, 10).status.statusCode == ttypes.TStatusCode.INVALID_HANDLE_STATUS
    finally:
        on_a.transport.close()
        on_b.transport.close()


def test_a_cancel_sent_to_another_gateway_stops_the_statement(
        pair: tuple[Served, Served]) -> None:
    a, b = pair
    on_a, on_b = Client(a), Client(b)
    try:
        session = _open(on_a)
        op = _run(on_a, session, SLOW)
        assert on_b.status(op).operationState in (State.PENDING_STATE, State.RUNNING_STATE)
        began = time.monotonic()
        resp = on_b.rpc.CancelOperation(ttypes.TCancelOperationReq(operationHandle=op))
        assert resp.status.statusCode == 0, resp.status
        while (state := on_a.status(op).operationState) != State.CANCELED_STATE:
            assert state in (State.PENDING_STATE, State.RUNNING_STATE), state
            assert time.monotonic() - began < 30
        assert on_b.status(op).operationState == State.CANCELED_STATE
        # the worker is free again: a new statement runs at once on A
        assert _scalar(a, "SELECT 1") == 1
    finally:
        on_a.transport.close()
        on_b.transport.close()


def test_cloud_fetch_links_of_an_operation_come_from_another_gateway(
        pair: tuple[Served, Served]) -> None:
    a, b = pair
    on_a, on_b = Client(a), Client(b)
    try:
        session = _open(on_a)
        resp = on_a.rpc.ExecuteStatement(ttypes.TExecuteStatementReq(
            sessionHandle=session, statement=ROWS, runAsync=True, canReadArrowResult=True,
            canDownloadResult=True))
        op = resp.operationHandle
        deadline = time.monotonic() + 120
        while on_b.status(op).operationState != State.FINISHED_STATE:
            assert time.monotonic() < deadline
        offsets, more = [], True
        while more:  # the client asked for links on A: B hands out links too
            page = on_b.fetch(op, 100_000)
            assert page.status.statusCode == 0, page.status
            links = page.results.resultLinks or []
            assert links, page.results
            offsets += [(link.startRowOffset, link.rowCount) for link in links]
            for link in links:
                data = httpx.get(link.fileLink, timeout=120).content
                assert pa.ipc.open_stream(data).read_all().num_rows == link.rowCount
            more = page.hasMoreRows
        assert len(offsets) > 1
        assert [o for o, _ in offsets] == [sum(n for _, n in offsets[:i])
                                           for i in range(len(offsets))]
        assert sum(n for _, n in offsets) == _scalar(
            a, "SELECT count(*) FROM main.tpch.lineitem")
    finally:
        on_a.transport.close()
        on_b.transport.close()
