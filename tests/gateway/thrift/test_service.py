"""The RPCs over the real statement registry and a scripted backend, called in-process."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import lz4.frame
import pyarrow as pa
import pytest
from databricks.sql.thrift_api.TCLIService import ttypes

from fetch.stores import open_store
from gateway.core.registry import StatementRegistry
from gateway.errors import ResourceExhausted
from gateway.thrift.service import ThriftService
from sqlgate.settings import Settings
from sqlgate.types import Disposition
from tests.gateway.thrift.fakes import ScriptedBackend, rows_table

S = ttypes.TStatusCode
OS = ttypes.TOperationState
WS = "default"


class Harness:
    def __init__(self, tmp: Path, external: bool = False) -> None:
        self.settings = Settings().replace(results=str(tmp / "results"), max_statements=20)
        self.store = open_store(self.settings.fetch) if external else None
        self.backend = ScriptedBackend(self.store)
        self.registry = StatementRegistry(self.backend, max_statements=20)
        self.svc = ThriftService(self.registry, self.settings, self.store,
                                 direct_wait_s=2.0, poll_hold_s=0.3)

    async def rpc(self, name: str, req: Any, ws: str = WS) -> Any:
        return await self.svc.call(name, req, ws)

    async def open(self, **kw: Any) -> ttypes.TSessionHandle:
        resp = await self.rpc("OpenSession", ttypes.TOpenSessionReq(**kw))
        assert resp.status.statusCode == S.SUCCESS_STATUS
        return resp.sessionHandle

    async def execute(self, session: Any, sql: str, direct: bool = True, **kw: Any) -> Any:
        kw.setdefault("canReadArrowResult", True)
        req = ttypes.TExecuteStatementReq(
            sessionHandle=session, statement=sql, runAsync=True,
            getDirectResults=ttypes.TSparkGetDirectResults(maxRows=100_000, maxBytes=10**8)
            if direct else None, **kw)
        return await self.rpc("ExecuteStatement", req)


def run(tmp: Path, body: Callable[[Harness], Awaitable[None]], external: bool = False) -> None:
    async def main() -> None:
        await body(Harness(tmp, external))

    asyncio.run(main())


def read_arrow(meta: Any, rowset: Any) -> pa.Table:
    data = meta.arrowSchema
    for b in rowset.arrowBatches:
        data += lz4.frame.decompress(b.batch) if meta.lz4Compressed else b.batch
    return pa.ipc.open_stream(data).read_all()


def test_open_session_protocol_versions(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        spark = await h.rpc("OpenSession", ttypes.TOpenSessionReq(client_protocol_i64=42247))
        assert spark.serverProtocolVersion == ttypes.TProtocolVersion.SPARK_CLI_SERVICE_PROTOCOL_V8
        hive = await h.rpc("OpenSession", ttypes.TOpenSessionReq(client_protocol=5))
        assert hive.serverProtocolVersion == 5
        assert len(spark.sessionHandle.sessionId.guid) == 16
    run(tmp_path, body)


@pytest.mark.parametrize("lz4_on", [False, True])
def test_execute_direct_results_arrow(tmp_path: Path, lz4_on: bool) -> None:
    async def body(h: Harness) -> None:
        s = await h.open(client_protocol_i64=42248)
        resp = await h.execute(s, "ROWS 700", canDecompressLZ4Result=lz4_on,
                               useArrowNativeTypes=ttypes.TSparkArrowTypes(decimalAsArrow=True))
        d = resp.directResults
        assert d.operationStatus.operationState == OS.FINISHED_STATE
        assert d.resultSetMetadata.resultFormat == ttypes.TSparkRowSetType.ARROW_BASED_SET
        assert d.resultSetMetadata.lz4Compressed is lz4_on
        assert read_arrow(d.resultSetMetadata, d.resultSet.results).equals(rows_table(700))
        assert d.resultSet.hasMoreRows is False and d.closeOperation is not None
        # the operation was closed with the result: its handle is gone
        st = await h.rpc("GetOperationStatus", ttypes.TGetOperationStatusReq(
            operationHandle=resp.operationHandle))
        assert st.status.statusCode == S.INVALID_HANDLE_STATUS
        assert h.backend.tasks[0].disposition is Disposition.INLINE
    run(tmp_path, body)


def test_paging_columns_and_offsets(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        s = await h.open(client_protocol=5)
        resp = await h.execute(s, "ROWS 1000", direct=False, canReadArrowResult=False)
        op = resp.operationHandle
        assert resp.directResults is None and op.hasResultSet
        seen: list[int] = []
        more, pages = True, 0
        while more and pages < 20:
            f = await h.rpc("FetchResults", ttypes.TFetchResultsReq(
                operationHandle=op, orientation=0, maxRows=333))
            assert f.resultSetMetadata.resultFormat == ttypes.TSparkRowSetType.COLUMN_BASED_SET
            assert f.results.startRowOffset == len(seen)
            seen += f.results.columns[0].i64Val.values
            more, pages = f.hasMoreRows, pages + 1
        assert seen == list(range(1000)) and pages == 4
        # pyhive fetches until an empty page
        f = await h.rpc("FetchResults", ttypes.TFetchResultsReq(operationHandle=op, maxRows=10))
        assert f.results.columns[0].i64Val.values == [] and not f.hasMoreRows
        first = await h.rpc("FetchResults", ttypes.TFetchResultsReq(
            operationHandle=op, orientation=ttypes.TFetchOrientation.FETCH_FIRST, maxRows=2))
        assert first.results.columns[0].i64Val.values == [0, 1]
        dec = first.results.columns[1].stringVal.values
        assert dec == ["0.00", "0.25"]
        closed = await h.rpc("CloseOperation", ttypes.TCloseOperationReq(operationHandle=op))
        assert closed.status.statusCode == S.SUCCESS_STATUS
    run(tmp_path, body)


def test_failed_operation_stays_answerable(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        s = await h.open(client_protocol_i64=42248)
        resp = await h.execute(s, "FAIL now")
        st = resp.directResults.operationStatus
        assert st.operationState == OS.ERROR_STATE and "no such table" in st.errorMessage
        assert st.sqlState == "42P01"
        op = resp.operationHandle
        meta = await h.rpc("GetResultSetMetadata", ttypes.TGetResultSetMetadataReq(op))
        assert meta.status.statusCode == S.ERROR_STATUS
        assert "no such table" in meta.status.errorMessage
        again = await h.rpc("GetOperationStatus", ttypes.TGetOperationStatusReq(op))
        assert again.operationState == OS.ERROR_STATE
        # a synchronous (HiveServer2) caller gets the error in the ExecuteStatement status
        sync = await h.rpc("ExecuteStatement", ttypes.TExecuteStatementReq(
            sessionHandle=s, statement="FAIL", runAsync=False))
        assert sync.status.statusCode == S.ERROR_STATUS
    run(tmp_path, body)


def test_long_poll_cancel_and_async(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        s = await h.open(client_protocol_i64=42248)
        resp = await h.execute(s, "SLEEP 30", direct=False)
        op = resp.operationHandle
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        st = await h.rpc("GetOperationStatus", ttypes.TGetOperationStatusReq(op))
        assert st.operationState == OS.RUNNING_STATE
        assert loop.time() - t0 >= 0.25  # held for poll_hold_s, not answered at once
        c = await h.rpc("CancelOperation", ttypes.TCancelOperationReq(op))
        assert c.status.statusCode == S.SUCCESS_STATUS
        st = await h.rpc("GetOperationStatus", ttypes.TGetOperationStatusReq(op))
        assert st.operationState == OS.CANCELED_STATE
    run(tmp_path, body)


def test_handles_are_scoped_to_workspace(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        s = await h.open(client_protocol_i64=42248)
        other = await h.rpc("ExecuteStatement", ttypes.TExecuteStatementReq(
            sessionHandle=s, statement="ROWS 1"), ws="acme")
        assert other.status.statusCode == S.INVALID_HANDLE_STATUS
        forged = ttypes.TSessionHandle(sessionId=ttypes.THandleIdentifier(
            guid=s.sessionId.guid, secret=b"x" * 16))
        bad = await h.rpc("ExecuteStatement", ttypes.TExecuteStatementReq(
            sessionHandle=forged, statement="ROWS 1"))
        assert bad.status.statusCode == S.INVALID_HANDLE_STATUS
        await h.rpc("CloseSession", ttypes.TCloseSessionReq(s))
        gone = await h.execute(s, "ROWS 1")
        assert gone.status.statusCode == S.INVALID_HANDLE_STATUS
    run(tmp_path, body)


def test_parameters_use_and_metadata_sql(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        s = await h.open(client_protocol=5)
        use = await h.execute(s, "USE CATALOG lake")
        assert use.directResults.operationStatus.operationState == OS.FINISHED_STATE
        await h.execute(s, "USE `tpch`")
        params = [ttypes.TSparkParameter(name="p", type="INT",
                                         value=ttypes.TSparkParameterValue(stringValue="7")),
                  ttypes.TSparkParameter(name="q", type="VOID")]
        await h.execute(s, "SELECT :p, :q", parameters=params)
        task = h.backend.tasks[-1]
        assert (task.catalog, task.schema) == ("lake", "tpch")
        assert [(p.name, p.value, p.type) for p in task.parameters] == [
            ("p", "7", "INT"), ("q", None, "STRING")]
        resp = await h.rpc("GetTables", ttypes.TGetTablesReq(
            sessionHandle=s, catalogName="lake", tableName="line%",
            getDirectResults=ttypes.TSparkGetDirectResults(maxRows=10, maxBytes=10**6)))
        assert resp.operationHandle.operationType == ttypes.TOperationType.GET_TABLES
        task = h.backend.tasks[-1]
        assert "information_schema.tables" in task.sql
        assert {p.name: p.value for p in task.parameters}["tbl"] == "line%"
        assert resp.directResults.resultSetMetadata.resultFormat == 1  # columns for all
    run(tmp_path, body)


def test_rejection_propagates_for_http_retry(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        s = await h.open(client_protocol_i64=42248)
        with pytest.raises(ResourceExhausted):
            await h.execute(s, "REJECT")
        assert len(h.svc.operations) == 0
    run(tmp_path, body)


def test_cloud_fetch_links_for_large_results(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        s = await h.open(client_protocol_i64=42248)
        resp = await h.execute(s, "ROWS 2000", canDownloadResult=True,
                               canDecompressLZ4Result=True, direct=False)
        assert h.backend.tasks[-1].disposition is Disposition.HYBRID
        assert h.backend.tasks[-1].compression == "LZ4_FRAME"
        op = resp.operationHandle
        meta = await h.rpc("GetResultSetMetadata", ttypes.TGetResultSetMetadataReq(op))
        assert meta.resultFormat == ttypes.TSparkRowSetType.URL_BASED_SET
        f = await h.rpc("FetchResults", ttypes.TFetchResultsReq(
            operationHandle=op, maxRows=100, maxBytes=1))  # one link per page at least
        (link,) = f.results.resultLinks
        assert (link.startRowOffset, link.rowCount) == (0, 400) and f.hasMoreRows
        assert link.expiryTime > 1_600_000_000_000  # epoch milliseconds
        f = await h.rpc("FetchResults", ttypes.TFetchResultsReq(operationHandle=op))
        links = f.results.resultLinks
        assert [lk.startRowOffset for lk in links] == [400, 800, 1200, 1600]
        assert not f.hasMoreRows
        assert h.store is not None
        key = h.backend.tasks[-1].workspace
        assert key == WS
        tables = []
        for lk in [link, *links]:
            name = lk.fileLink.split("?")[0].split("/_results/", 1)[-1]
            data = h.store.get(name)
            tables.append(pa.ipc.open_stream(io.BytesIO(data)).read_all())
        assert pa.concat_tables(tables).equals(rows_table(2000))
    run(tmp_path, body, external=True)


@pytest.mark.parametrize("arrow", [False, True])
def test_stored_result_paged_without_links(tmp_path: Path, arrow: bool) -> None:
    """A client that does not download links (no pyarrow, cloud fetch off, Hive JDBC) reads an
    external result through FetchResults pages cut from the stored chunks, across chunk
    boundaries (chunks of 400 rows, pages of at most 300 that end where a chunk ends), never
    as links."""
    async def body(h: Harness) -> None:
        s = await h.open(client_protocol_i64=42248)
        resp = await h.execute(s, "ROWS 2000", direct=False, canReadArrowResult=arrow,
                               canDownloadResult=not arrow)
        task = h.backend.tasks[-1]
        assert task.disposition is Disposition.HYBRID and task.compression is None
        op = resp.operationHandle
        seen: list[int] = []
        more, pages = True, 0
        while more and pages < 20:
            f = await h.rpc("FetchResults", ttypes.TFetchResultsReq(
                operationHandle=op, orientation=0, maxRows=300))
            assert not f.results.resultLinks
            assert f.results.startRowOffset == len(seen)
            if arrow:
                seen += read_arrow(f.resultSetMetadata, f.results).column("x").to_pylist()
            else:
                seen += f.results.columns[0].i64Val.values
            more, pages = f.hasMoreRows, pages + 1
        assert seen == list(range(2000)) and pages == 10
        f = await h.rpc("FetchResults", ttypes.TFetchResultsReq(operationHandle=op, maxRows=10))
        assert not f.hasMoreRows
    run(tmp_path, body, external=True)
