"""The TCLIService RPCs over the shared statement registry.

Every operation that touches data is a registry statement: same dual queue, warm pool,
limits and tenancy as the REST API. The statement id and the operation GUID are the same
128 bits, so a Thrift query shows up under its id on the REST side too. Results use the
HYBRID disposition when the client can download and read Arrow (small results inline,
large ones as Cloud Fetch links), INLINE otherwise.

Errors answer in the response's `TStatus` (ERROR_STATUS, or INVALID_HANDLE_STATUS for a
handle this workspace does not own); only "retry later" refusals (429/503) propagate, so the
HTTP layer can answer them with Retry-After, which the clients honour.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from databricks.sql.thrift_api.TCLIService import ttypes

from fetch.store import ResultStore
from gateway.core.backend import StatementResult
from gateway.core.control import ControlPlane
from gateway.core.registry import StatementRegistry
from gateway.core.sessions import SessionBook
from gateway.errors import GatewayError, NotFound, ResourceExhausted
from gateway.thrift import jdbcmeta, results
from gateway.thrift import metadata as md
from gateway.thrift.operations import (
    ClientCaps,
    HandleTable,
    InvalidHandle,
    Operation,
    Session,
    new_handle,
    statement_task,
)
from gateway.thrift.params import bind_parameters
from gateway.thrift.shared import SharedOperations
from gateway.thrift.status import error_status, operation_status
from sqlgate.settings import Settings
from sqlgate.types import StatementState, StatementTask

P = ttypes.TProtocolVersion
OpType = ttypes.TOperationType
SERVER_PROTOCOL = P.SPARK_CLI_SERVICE_PROTOCOL_V8
DEFAULT_FETCH_ROWS = 10_000
# A FetchResults page stays under this many (Arrow) bytes: pyhive and impyla keep thrift's
# default ~16 MiB limit on one string/container when they decode a reply.
MAX_PAGE_BYTES = 8 * 1024 * 1024


class ThriftService:
    """Async implementations of the RPCs; `call` dispatches by method name."""

    METHODS = frozenset({
        "OpenSession", "CloseSession", "GetInfo", "ExecuteStatement", "GetTypeInfo",
        "GetCatalogs", "GetSchemas", "GetTables", "GetColumns", "GetOperationStatus",
        "CancelOperation", "CloseOperation", "GetResultSetMetadata", "FetchResults",
        "GetTableTypes", "GetFunctions", "GetPrimaryKeys", "GetCrossReference",
    })

    def __init__(
        self,
        registry: StatementRegistry,
        settings: Settings,
        store: ResultStore | None = None,
        *,
        direct_wait_s: float = 5.0,
        poll_hold_s: float = 3.0,
        book: SessionBook | None = None,
        control: ControlPlane | None = None,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.store = store
        # Sessions in the state store: they outlive a restart and span gateways.
        self.book = book or SessionBook(None, shared=False,
                                        idle_s=settings.gateway.session_idle_s)
        # Operations other gateways on a shared store answer too.
        self.shared = SharedOperations(self.book, control, store)
        self.direct_wait_s = direct_wait_s
        # The Python client polls GetOperationStatus with no sleep: hold each poll this long.
        self.poll_hold_s = poll_hold_s
        gw = settings.gateway
        self.sessions: HandleTable[Session] = HandleTable(gw.max_sessions, gw.session_idle_s)
        self.operations: HandleTable[Operation] = HandleTable(
            gw.max_statements, gw.statement_retention_s
        )

    async def call(self, name: str, request: Any, workspace: str, user: str = "") -> Any:
        """Run one RPC; handle and statement errors become the response's TStatus."""
        resp_cls = getattr(ttypes, f"T{name}Resp")
        try:
            if name == "OpenSession":  # the session keeps its user for its statements
                return await self.OpenSession(request, workspace, user)
            return await getattr(self, name)(request, workspace)
        except ResourceExhausted:
            raise
        except InvalidHandle as exc:
            return resp_cls(status=ttypes.TStatus(
                statusCode=ttypes.TStatusCode.INVALID_HANDLE_STATUS, errorMessage=exc.message))
        except GatewayError as exc:
            return resp_cls(status=error_status(exc.message, exc.error_code))

    # -- sessions --------------------------------------------------------------------------

    async def OpenSession(self, req: ttypes.TOpenSessionReq, ws: str,
                          user: str = "") -> ttypes.TOpenSessionResp:
        """Spark clients (client_protocol_i64) get V8; HiveServer2 clients get their own back."""
        if req.client_protocol_i64 is not None:
            protocol = SERVER_PROTOCOL
        else:
            protocol = min(req.client_protocol or P.HIVE_CLI_SERVICE_PROTOCOL_V10, SERVER_PROTOCOL)
        conf = dict(req.configuration or {})
        ns = req.initialNamespace
        session = Session(
            handle=new_handle(), workspace=ws, protocol=protocol, user=user,
            catalog=(ns.catalogName if ns else None) or None,
            schema=(ns.schemaName if ns else None) or conf.get("use:database") or None,
            configuration=conf,
        )
        self.sessions.add(session, evictable=self._evictable)
        try:
            session.saved = await self.book.save(session.to_saved())
        except GatewayError:
            self.sessions.pop(session.key)
            raise
        return ttypes.TOpenSessionResp(
            status=results.OK,
            serverProtocolVersion=protocol,
            sessionHandle=session.thrift_handle(),
            configuration={},
            canUseMultipleCatalogs=bool(ns and ns.catalogName),
        )

    async def CloseSession(self, req: ttypes.TCloseSessionReq, ws: str) -> Any:
        """Close the session and every operation it still has open."""
        session = await self._session(req.sessionHandle, ws)
        await self.book.drop(session.stored_id)
        self.sessions.pop(session.key)
        for op in self.operations.values():
            if op.session is session:
                await self._close_op(op)
        return ttypes.TCloseSessionResp(status=results.OK)

    async def GetInfo(self, req: ttypes.TGetInfoReq, ws: str) -> ttypes.TGetInfoResp:
        """The info values Spark's Thrift server answers; any other type is an error there too."""
        await self._session(req.sessionHandle, ws)
        value = jdbcmeta.info_value(req.infoType)
        if value is None:
            name = ttypes.TGetInfoType._VALUES_TO_NAMES.get(req.infoType, req.infoType)
            raise GatewayError(f"Unrecognized GetInfoType value: {name}",
                               error_code="INVALID_PARAMETER_VALUE")
        return ttypes.TGetInfoResp(status=results.OK, infoValue=value)

    # -- statements ------------------------------------------------------------------------

    async def ExecuteStatement(self, req: ttypes.TExecuteStatementReq, ws: str) -> Any:
        """Submit through the registry; answer with direct results when asked."""
        session = await self._session(req.sessionHandle, ws)
        caps = ClientCaps.from_request(req)
        sql = req.statement or ""
        if len(sql.encode()) > self.settings.gateway.max_statement_bytes:
            raise GatewayError(
                f"Statement text is over {self.settings.gateway.max_statement_bytes} bytes",
                error_code="INVALID_PARAMETER_VALUE")
        use = md.parse_use(sql)
        setting = md.parse_set(sql)
        if setting is not None:
            session.configuration[setting[0]] = setting[1]
            session.saved = await self.book.save(session.to_saved())
            op = self._local(session, OpType.EXECUTE_STATEMENT, caps, md.set_result(*setting))
        elif use is not None:
            if use.catalog is not None:
                session.catalog, session.schema = use.catalog, use.schema
            else:
                session.schema = use.schema
            session.saved = await self.book.save(session.to_saved())
            op = self._local(session, OpType.EXECUTE_STATEMENT, caps, md.empty_result())
        else:
            task = self._task(session, sql, caps, bind_parameters(req.parameters),
                              req.resultRowLimit, req.queryTimeout)
            op = await self._submit(session, task, OpType.EXECUTE_STATEMENT, caps)
            if not req.runAsync and op.statement is not None:
                # A synchronous (HiveServer2) caller learns of failures right here.
                await self.registry.wait(op.statement, self._statement_timeout(task))
                err = op.error
                if op.state is not StatementState.SUCCEEDED and err is not None:
                    return ttypes.TExecuteStatementResp(
                        status=error_status(err.message, err.error_code, err.sql_state),
                        operationHandle=op.thrift_handle())
        return ttypes.TExecuteStatementResp(
            status=results.OK,
            operationHandle=op.thrift_handle(),
            directResults=await self._direct(op, req.getDirectResults),
        )

    async def GetTypeInfo(self, req: ttypes.TGetTypeInfoReq, ws: str) -> Any:
        """The type list, answered locally."""
        return await self._local_rpc(req, ws, OpType.GET_TYPE_INFO, md.type_info(),
                                     ttypes.TGetTypeInfoResp)

    async def GetTableTypes(self, req: ttypes.TGetTableTypesReq, ws: str) -> Any:
        """TABLE and VIEW, answered locally."""
        return await self._local_rpc(req, ws, OpType.GET_TABLE_TYPES, jdbcmeta.table_types(),
                                     ttypes.TGetTableTypesResp)

    async def GetFunctions(self, req: ttypes.TGetFunctionsReq, ws: str) -> Any:
        """The built-in functions matching the name pattern, answered locally."""
        return await self._local_rpc(req, ws, OpType.GET_FUNCTIONS,
                                     jdbcmeta.functions(req.functionName),
                                     ttypes.TGetFunctionsResp)

    async def GetPrimaryKeys(self, req: ttypes.TGetPrimaryKeysReq, ws: str) -> Any:
        """No declared keys: the JDBC columns and no rows (typed GET_FUNCTIONS, as in Hive)."""
        return await self._local_rpc(req, ws, OpType.GET_FUNCTIONS, jdbcmeta.primary_keys(),
                                     ttypes.TGetPrimaryKeysResp)

    async def GetCrossReference(self, req: ttypes.TGetCrossReferenceReq, ws: str) -> Any:
        """No declared foreign keys: the JDBC columns and no rows."""
        return await self._local_rpc(req, ws, OpType.GET_FUNCTIONS,
                                     jdbcmeta.cross_reference(),
                                     ttypes.TGetCrossReferenceResp)

    async def _local_rpc(self, req: Any, ws: str, kind: int, result: Any, resp_cls: Any) -> Any:
        session = await self._session(req.sessionHandle, ws)
        op = self._local(session, kind, ClientCaps(), result)
        return resp_cls(status=results.OK, operationHandle=op.thrift_handle(),
                        directResults=await self._direct(op, req.getDirectResults))

    async def GetCatalogs(self, req: ttypes.TGetCatalogsReq, ws: str) -> Any:
        """SELECT over information_schema.catalogs."""
        return await self._catalog_rpc(req, ws, OpType.GET_CATALOGS, md.catalogs_query(),
                                       ttypes.TGetCatalogsResp)

    async def GetSchemas(self, req: ttypes.TGetSchemasReq, ws: str) -> Any:
        """SELECT over information_schema.schemata."""
        q = md.schemas_query(req.catalogName, req.schemaName)
        return await self._catalog_rpc(req, ws, OpType.GET_SCHEMAS, q, ttypes.TGetSchemasResp)

    async def GetTables(self, req: ttypes.TGetTablesReq, ws: str) -> Any:
        """SELECT over information_schema.tables."""
        q = md.tables_query(req.catalogName, req.schemaName, req.tableName, req.tableTypes)
        return await self._catalog_rpc(req, ws, OpType.GET_TABLES, q, ttypes.TGetTablesResp)

    async def GetColumns(self, req: ttypes.TGetColumnsReq, ws: str) -> Any:
        """SELECT over information_schema.columns."""
        q = md.columns_query(req.catalogName, req.schemaName, req.tableName, req.columnName)
        return await self._catalog_rpc(req, ws, OpType.GET_COLUMNS, q, ttypes.TGetColumnsResp)

    async def _catalog_rpc(self, req: Any, ws: str, kind: int, q: md.Query, resp_cls: Any) -> Any:
        session = await self._session(req.sessionHandle, ws)
        caps = ClientCaps()  # no result flags on these requests: columns suit every client
        op = await self._submit(session, self._task(session, q.sql, caps, q.parameters), kind,
                                caps)
        return resp_cls(status=results.OK, operationHandle=op.thrift_handle(),
                        directResults=await self._direct(op, req.getDirectResults))

    # -- operations ------------------------------------------------------------------------

    async def GetOperationStatus(self, req: ttypes.TGetOperationStatusReq, ws: str) -> Any:
        """Long-poll: hold until the state changes or `poll_hold_s` passes."""
        op = await self._op(req.operationHandle, ws)
        if op.remote:
            await self.shared.wait(op, self.poll_hold_s, change=True)
        elif op.statement is not None and not op.state.terminal:
            await self.registry.wait_change(op.statement, self.poll_hold_s)
        return operation_status(op)

    async def GetResultSetMetadata(self, req: ttypes.TGetResultSetMetadataReq, ws: str) -> Any:
        """The schema and format; failed operations answer their error."""
        op = await self._op(req.operationHandle, ws)
        return results.metadata(op, await self._result(op))

    async def FetchResults(self, req: ttypes.TFetchResultsReq, ws: str) -> Any:
        """The next page from the operation's offset (FETCH_FIRST starts over)."""
        if req.fetchType == 1:
            rowset, meta = results.log_page()
            return ttypes.TFetchResultsResp(status=results.OK, hasMoreRows=False,
                                            results=rowset, resultSetMetadata=meta)
        op = await self._op(req.operationHandle, ws)
        result = await self._result(op)
        return await self._fetch(op, result, req.maxRows, req.maxBytes,
                                 restart=req.orientation == ttypes.TFetchOrientation.FETCH_FIRST)

    async def CancelOperation(self, req: ttypes.TCancelOperationReq, ws: str) -> Any:
        """Cancel the statement (a finished one stays as it is)."""
        op = await self._op(req.operationHandle, ws)
        if op.statement is not None and self.shared.active:
            await self.shared.cancel(op)  # wherever it runs
        elif op.statement is not None:
            # Already forgotten by the registry: nothing is left to stop.
            with contextlib.suppress(NotFound):
                self.registry.cancel(op.statement.id, ws)
        return ttypes.TCancelOperationResp(status=results.OK)

    async def CloseOperation(self, req: ttypes.TCloseOperationReq, ws: str) -> Any:
        """Forget the operation and close its statement (result and chunks dropped)."""
        op = await self._op(req.operationHandle, ws)
        await self._close_op(op)
        return ttypes.TCloseOperationResp(status=results.OK)

    # -- helpers ---------------------------------------------------------------------------

    async def _session(self, handle: ttypes.TSessionHandle | None, ws: str) -> Session:
        """The caller's session: from memory, else (opened before a restart or on another
        gateway) from the state store; with a shared store the stored record is the truth,
        so a close or a USE/SET elsewhere is seen at once."""
        ident = handle.sessionId if handle else None
        session = self.sessions.find(ident, ws)
        book = self.book
        if book.durable and ident is not None and ident.guid is not None and (
                session is None or book.shared):
            saved = await book.load(bytes(ident.guid).hex(), "thrift", ws)
            if saved is None:
                if session is not None:  # closed (or expired) on another gateway
                    self.sessions.pop(session.key)
                    session = None
            elif session is not None:
                session.refresh(saved)
            else:
                session = Session.from_saved(saved, ident)
                if session is not None:
                    self.sessions.add(session, evictable=self._evictable)
        elif session is not None and session.saved is not None:
            session.saved = await book.touch(session.saved)
        if session is None:
            raise InvalidHandle("Invalid SessionHandle: unknown or closed session")
        return session

    def _evictable(self, session: Session) -> bool:
        # A stored session comes back from the store when next used; one only in memory
        # would be lost.
        return self.book.durable and not any(
            op.session is session for op in self.operations.values())

    async def _op(self, handle: ttypes.TOperationHandle | None, ws: str) -> Operation:
        op = self.operations.find(handle.operationId if handle else None, ws)
        if op is None:  # another gateway's, with a shared store?
            op = await self.shared.rebuild(handle.operationId if handle else None, ws)
            if op is not None:
                return op
            raise InvalidHandle("Invalid OperationHandle: unknown or closed operation")
        if self.book.shared and await self.book.load(op.session.stored_id, "thrift",
                                                     ws) is None:
            # Its session was closed on another gateway: so are its operations here.
            self.sessions.pop(op.session.key)
            for other in self.operations.values():
                if other.session is op.session:
                    await self._close_op(other)
            raise InvalidHandle("Invalid OperationHandle: its session was closed")
        return op

    def _task(self, session: Session, sql: str, caps: ClientCaps, *args: Any) -> StatementTask:
        return statement_task(self.settings, self.store is not None, session, sql, caps, *args)

    def _statement_timeout(self, task: StatementTask) -> float:
        return (task.timeout_s or self.settings.engine.statement_timeout_s) + 5.0

    async def _submit(self, session: Session, task: StatementTask, kind: int,
                      caps: ClientCaps) -> Operation:
        handle = new_handle(uuid.UUID(task.statement_id).bytes)
        op = Operation(handle=handle, session=session, kind=kind, caps=caps)
        self.operations.add(op, evictable=lambda o: o.state.terminal)
        try:
            op.statement = await self.registry.submit(task)
        except GatewayError:
            self.operations.pop(op.key)
            raise
        await self.shared.save(op)
        return op

    def _local(self, session: Session, kind: int, caps: ClientCaps, result: Any) -> Operation:
        op = Operation(handle=new_handle(), session=session, kind=kind, caps=caps, local=result)
        self.operations.add(op, evictable=lambda o: o.state.terminal)
        return op

    async def _result(self, op: Operation) -> Any:
        if op.remote:
            await self.shared.wait(op, self.poll_hold_s)
        elif op.statement is not None and not op.state.terminal:
            await self.registry.wait(op.statement, self.poll_hold_s)
        state, err, result = op.state, op.error, op.result
        if state is StatementState.FAILED and err is not None:
            raise GatewayError(err.message, error_code=err.error_code)
        if state is StatementState.CANCELED:
            raise GatewayError("The operation was canceled", error_code="CANCELLED")
        if not state.terminal:
            raise GatewayError("The operation is still running", error_code="INVALID_STATE")
        if result is None:
            raise GatewayError("The operation's result is closed", error_code="INVALID_STATE")
        return result

    async def _fetch(self, op: Operation, result: StatementResult, max_rows: int | None,
                     max_bytes: int | None, *, restart: bool = False) -> Any:
        """The next page as a TFetchResultsResp; the offset moves under the operation's lock."""
        cap = min(self.settings.fetch.chunk_target_bytes, MAX_PAGE_BYTES)
        async with op.lock:
            await self.shared.sync_cursor(op)  # a page may have been served elsewhere
            if restart:
                op.offset = 0
            fetched = await asyncio.to_thread(
                results.next_page, op, result, max_rows or DEFAULT_FETCH_ROWS,
                min(max_bytes or cap, cap), self.store)
            op.offset += fetched.rows
            await self.shared.save(op)
        return ttypes.TFetchResultsResp(
            status=results.OK, hasMoreRows=fetched.has_more, results=fetched.rowset,
            resultSetMetadata=results.metadata(op, result))

    async def _direct(self, op: Operation, want: ttypes.TSparkGetDirectResults | None) -> Any:
        if want is None:
            return None
        if op.statement is not None:
            await self.registry.wait(op.statement, self.direct_wait_s)
        direct = ttypes.TSparkDirectResults(operationStatus=operation_status(op))
        result = op.result
        if op.state is not StatementState.SUCCEEDED or result is None:
            return direct
        direct.resultSet = await self._fetch(op, result, want.maxRows, want.maxBytes)
        direct.resultSetMetadata = direct.resultSet.resultSetMetadata
        # Links point at chunks that closing would delete: those wait for CloseOperation.
        if not direct.resultSet.hasMoreRows and not (result.manifest.external
                                                     and op.caps.links):
            await self._close_op(op)
            direct.closeOperation = ttypes.TCloseOperationResp(status=results.OK)
        return direct

    async def _close_op(self, op: Operation) -> None:
        self.operations.pop(op.key)
        if op.statement is not None and not op.closed and self.shared.active:
            op.closed = True
            await self.shared.close(op)
        elif op.statement is not None and not op.closed:
            op.closed = True
            # Already forgotten by the registry: nothing is left to free.
            with contextlib.suppress(NotFound):
                await self.registry.close(op.statement.id, op.session.workspace)


__all__ = ["SERVER_PROTOCOL", "InvalidHandle", "ThriftService"]
