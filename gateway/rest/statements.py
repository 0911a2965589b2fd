"""The Statement Execution API 2.0 routes.

    POST   /api/2.0/sql/statements                       execute (waits up to wait_timeout)
    GET    /api/2.0/sql/statements/{id}                  status, manifest, first chunk
    GET    /api/2.0/sql/statements/{id}/result/chunks/{n}  one chunk (row_offset ignored)
                                                          (also while RUNNING: see get_chunk)
    POST   /api/2.0/sql/statements/{id}/cancel           {} (best effort)
    DELETE /api/2.0/sql/statements/{id}                  close: CLOSED, result dropped

The POST answers within its wait_timeout plus a small margin: the databricks-sdk re-sends a
POST that takes over 60 s, and the API has no idempotency key. Refusals (429/503) come only
from `registry.submit`, before the statement runs.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.core.registry import Statement
from gateway.core.statement import new_statement_id
from gateway.errors import InvalidParameter
from gateway.rest.render import render
from gateway.rest.sessions import sessions_of
from gateway.rest.validation import parse_execute, read_json_body
from gateway.state import Gateway, gateway_of
from sqlgate.types import Disposition, StatementTask

_JSON = "application/json"


def _gw(request: Request) -> Gateway:
    return gateway_of(request)


def _workspace(request: Request) -> str:
    return request.state.principal.workspace


async def _find(request: Request) -> Statement:
    """The statement, whichever gateway on this state store ran it (gateway.core.control)."""
    gw = _gw(request)
    if gw.control is None:
        stmt: Statement = gw.registry.get(request.path_params["id"], _workspace(request))
        return stmt
    found: Statement = await gw.control.find(request.path_params["id"], _workspace(request))
    return found


async def _respond(request: Request, stmt: Statement, chunk: int | None = None) -> Response:
    control = _gw(request).control
    if control is not None:
        await control.settled(stmt)
    body = await render(stmt, _gw(request).store, chunk)
    return Response(body, media_type=_JSON)


async def execute_statement(request: Request) -> Response:
    """POST /api/2.0/sql/statements."""
    gw = _gw(request)
    settings = gw.settings
    workspace = _workspace(request)
    body = await read_json_body(request, settings.gateway.max_body_bytes)
    req = parse_execute(body, max_statement_bytes=settings.gateway.max_statement_bytes)
    gw.warehouses.check(req.warehouse_id, workspace)
    disposition = req.disposition
    if disposition is not Disposition.INLINE and not gw.external_results:
        if disposition is Disposition.EXTERNAL_LINKS:
            raise InvalidParameter(
                "disposition EXTERNAL_LINKS is not available: this gateway has no result store "
                "for external results; use disposition INLINE (format JSON_ARRAY)"
            )
        # Hybrid without a store degrades to inline, which is what the client accepts first.
        disposition = Disposition.INLINE
    catalog, schema = req.catalog, req.schema
    timeout_s = settings.engine.statement_timeout_s
    use_cached = True
    if req.session_id is not None:
        session = await sessions_of(gw).get(req.session_id, workspace, req.warehouse_id)
        catalog, schema = catalog or session.catalog, schema or session.schema
        timeout_s = min(timeout_s, session.timeout_s or timeout_s)
        use_cached = session.confs.get("USE_CACHED_RESULT", "true").lower() != "false"
    task = StatementTask(
        statement_id=new_statement_id(),  # here, not in submit: one dataclasses.replace less
        sql=req.statement,
        workspace=workspace,
        user=request.state.principal.user,
        catalog=catalog,
        schema=schema,
        parameters=req.parameters,
        row_limit=req.row_limit,
        byte_limit=req.byte_limit,
        disposition=disposition,
        format=req.format,
        compression=req.compression,
        timeout_s=timeout_s,
        inline_byte_limit=settings.gateway.inline_byte_limit,
        use_cached_result=use_cached,
    )
    if gw.control is not None:
        task = await gw.control.prepare(task)
    registry = gw.registry
    # Admission is awaited even for 0s, bounded, so a full queue is a retryable 429 now
    # rather than a FAILED statement later.
    stmt = await registry.submit(task, admission_timeout=min(0.5, max(req.wait_timeout_s, 0.05)))
    if req.wait_timeout_s > 0:
        await registry.wait(stmt, req.wait_timeout_s)
        if not stmt.state.terminal and req.on_wait_timeout == "CANCEL":
            registry.cancel(stmt.id, workspace)
    return await _respond(request, stmt)


async def get_statement(request: Request) -> Response:
    """GET /api/2.0/sql/statements/{id}."""
    return await _respond(request, await _find(request))


async def get_chunk(request: Request) -> Response:
    """GET /api/2.0/sql/statements/{id}/result/chunks/{n}; `row_offset` is accepted, ignored.

    Beyond the Databricks API (which answers only SUCCEEDED statements): on a running
    EXTERNAL_LINKS/HYBRID statement, chunk n is answered as soon as the worker stored it,
    waiting up to ``chunk_wait_s``; past that, the usual "no result: RUNNING" error.
    """
    gw = _gw(request)
    stmt = await _find(request)
    index = request.path_params["n"]
    if not stmt.state.terminal and stmt.task.disposition is not Disposition.INLINE:
        # Chunks are stored while the statement runs: wait (bounded) for this one, so a
        # client can download the first chunks while the last are still being produced.
        wait_s = gw.settings.gateway.chunk_wait_s
        if stmt.owner is None:
            await gw.registry.wait_chunk(stmt, index, wait_s)
        elif gw.control is not None:  # running on another gateway: its record lists them
            stmt = await gw.control.wait_chunk(stmt.id, _workspace(request), index, wait_s)
    return await _respond(request, stmt, chunk=index)


async def cancel_statement(request: Request) -> Response:
    """POST /api/2.0/sql/statements/{id}/cancel → {}."""
    gw = _gw(request)
    if gw.control is None:
        gw.registry.cancel(request.path_params["id"], _workspace(request))
    else:
        await gw.control.cancel(request.path_params["id"], _workspace(request))
    return JSONResponse({})


async def close_statement(request: Request) -> Response:
    """DELETE /api/2.0/sql/statements/{id} → {}."""
    gw = _gw(request)
    if gw.control is None:
        await gw.registry.close(request.path_params["id"], _workspace(request))
    else:
        await gw.control.close(request.path_params["id"], _workspace(request),
                               gw.store.delete_prefix if gw.store is not None else None)
    return JSONResponse({})


routes = [
    Route("/api/2.0/sql/statements", execute_statement, methods=["POST"]),
    Route("/api/2.0/sql/statements/", execute_statement, methods=["POST"]),
    Route("/api/2.0/sql/statements/{id}", get_statement, methods=["GET"]),
    Route("/api/2.0/sql/statements/{id}", close_statement, methods=["DELETE"]),
    Route("/api/2.0/sql/statements/{id}/result/chunks/{n:int}", get_chunk, methods=["GET"]),
    Route("/api/2.0/sql/statements/{id}/cancel", cancel_statement, methods=["POST"]),
]

__all__ = ["routes"]
