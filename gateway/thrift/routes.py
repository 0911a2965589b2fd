"""The Thrift front's HTTP routes, mounted in the gateway app next to the REST API.

    POST /sql/1.0/warehouses/{id}    databricks-sql-connector, Node @databricks/sql, impyla
    POST /sql/1.0/endpoints/{id}     the older http_path spelling
    POST /cliservice                 pyhive's HTTP mode (fixed path, default warehouse)
    GET  /api/2.0/connector-service/feature-flags/{driver}/{version}   {"flags": [], ...}

One HTTP POST carries one TBinaryProtocol call. These paths authenticate themselves: Bearer
`<token>` as everywhere, and Basic `token:<PAT>` (what pyhive and impyla's PLAIN mode send).
Decoding and encoding run in a worker thread; the RPCs run on the event loop against the
shared registry.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from thrift.Thrift import TApplicationException

from gateway.auth import Principal
from gateway.errors import (
    GatewayError,
    ResourceExhausted,
    Unauthenticated,
    error_response,
)
from gateway.rest.validation import read_body
from gateway.state import Gateway
from gateway.thrift import wire
from gateway.thrift.service import ThriftService

log = logging.getLogger("sqlgate.gateway.thrift")

# Path prefixes the app's Bearer middleware leaves to these routes.
PUBLIC_PREFIXES = ("/sql/1.0/", "/cliservice", "/api/2.0/connector-service/")


def bearer_header(header: str | None) -> str | None:
    """The header as `Bearer <token>`: Basic `token:<PAT>` (any user name) becomes the PAT.

    >>> bearer_header("Basic " + base64.b64encode(b"token:dapi1").decode())
    'Bearer dapi1'
    >>> bearer_header("Bearer x")
    'Bearer x'
    """
    if not header:
        return header
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return header
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthenticated("Invalid Basic credentials") from exc
    _, sep, password = decoded.partition(":")
    if not sep or not password:
        raise Unauthenticated("Basic credentials must be 'token:<personal access token>'")
    return f"Bearer {password}"


class ThriftFront:
    """The POST handler: auth, bounded body, decode, RPC, encode."""

    def __init__(self, service: ThriftService, gateway: Gateway) -> None:
        self.service = service
        self.gateway = gateway
        self.max_body = gateway.settings.gateway.max_body_bytes

    def _principal(self, request: Request) -> Principal:
        header = bearer_header(request.headers.get("authorization"))
        return self.gateway.auth.authenticate(header)

    async def post(self, request: Request) -> Response:
        """One Thrift call."""
        try:
            principal = self._principal(request)
            workspace = principal.workspace
        except Unauthenticated as exc:
            # The connector shows this header's text and does not retry a 401.
            return JSONResponse(exc.body(), status_code=401,
                                headers={"x-databricks-reason-phrase": exc.message})
        try:
            warehouse_id = request.path_params.get("warehouse_id")
            if warehouse_id is not None:
                self.gateway.warehouses.check(warehouse_id, workspace)
            body = await read_body(request, self.max_body)
        except GatewayError as exc:
            return error_response(exc)
        try:
            call = await asyncio.to_thread(wire.decode_call, body, ThriftService.METHODS,
                                           self.max_body)
        except wire.ThriftDecodeError as exc:
            return self._thrift(wire.encode_exception(exc.name, exc.seqid, exc.kind, str(exc)))
        try:
            response = await self.service.call(call.name, call.request, workspace,
                                               user=principal.user)
        except ResourceExhausted as exc:
            # 429/503 with Retry-After: the clients retry these, ExecuteStatement included.
            return error_response(exc)
        except Exception as exc:
            log.error("thrift %s failed", call.name, exc_info=exc)
            return self._thrift(wire.encode_exception(
                call.name, call.seqid, TApplicationException.INTERNAL_ERROR,
                "Internal error while serving the request"))
        try:
            reply = await asyncio.to_thread(wire.encode_reply, call.name, call.seqid, response)
        except Exception as exc:  # a response we cannot encode is still a Thrift answer
            log.error("thrift %s reply failed", call.name, exc_info=exc)
            reply = wire.encode_exception(call.name, call.seqid,
                                          TApplicationException.INTERNAL_ERROR,
                                          "Internal error while encoding the reply")
        return self._thrift(reply)

    @staticmethod
    def _thrift(data: bytes) -> Response:
        return Response(data, media_type=wire.CONTENT_TYPE)


async def feature_flags(request: Request) -> Response:
    """The Python connector's telemetry flags: none, re-asked every 15 minutes."""
    return JSONResponse({"flags": [], "ttl_seconds": 900})


def thrift_routes(gateway: Gateway) -> list[Route]:
    """The routes, sharing `gateway`'s registry, auth, warehouses and result store.

    `gateway` is the app's `gateway.app.Gateway`; its store is used for Cloud Fetch links
    only when the backend writes external results (`gateway.external_results`).
    """
    store = gateway.store if gateway.external_results else None
    service = ThriftService(gateway.registry, gateway.settings, store,
                            book=gateway.sessions, control=gateway.control)
    front = ThriftFront(service, gateway)
    return [
        Route("/sql/1.0/warehouses/{warehouse_id}", front.post, methods=["POST"]),
        Route("/sql/1.0/endpoints/{warehouse_id}", front.post, methods=["POST"]),
        Route("/cliservice", front.post, methods=["POST"]),
        Route("/cliservice/", front.post, methods=["POST"]),
        Route("/api/2.0/connector-service/feature-flags/{driver}/{version}", feature_flags,
              methods=["GET"]),
    ]


__all__ = ["PUBLIC_PREFIXES", "ThriftFront", "bearer_header", "feature_flags", "thrift_routes"]
