"""The one handler that renders every error body; the errors themselves are `sqlgate.errors`.

Every error a client sees, from any route, has the Databricks body
``{"error_code": "...", "message": "..."}`` and the HTTP status carried by its class (the
tree is drawn in `sqlgate.errors`; `GatewayError` is its root under the gateway's name).

Starlette's own ``HTTPException`` (unknown route, wrong method) and any unexpected exception
go through the same handler, called by the app's one middleware (`gateway.app._Front`); the
latter becomes a 500 whose message carries no stack trace (and deliberately not the words
"Unexpected error", which would make the SDK retry).
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sqlgate.errors import (
    BadRequest,
    EndpointNotFound,
    InvalidParameter,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    ResourceExhausted,
    TemporarilyUnavailable,
    Unauthenticated,
)
from sqlgate.errors import SqlgateError as GatewayError

log = logging.getLogger("sqlgate.gateway")


def error_response(exc: GatewayError) -> JSONResponse:
    """Render a gateway error as its Databricks JSON body and status."""
    return JSONResponse(exc.body(), status_code=exc.http_status, headers=exc.headers or None)


def _from_http_exception(request: Request, exc: HTTPException) -> GatewayError:
    if exc.status_code == 404:
        return EndpointNotFound(f"No API found for '{request.method} {request.url.path}'")
    if exc.status_code == 405:
        return MethodNotAllowed(
            f"Method {request.method} is not allowed for '{request.url.path}'",
            headers=exc.headers,
        )
    detail = exc.detail if isinstance(exc.detail, str) else "request rejected"
    code = "BAD_REQUEST" if 400 <= exc.status_code < 500 else "INTERNAL_ERROR"
    return GatewayError(detail, error_code=code, http_status=exc.status_code, headers=exc.headers)


async def handle_exception(request: Request, exc: Exception) -> Response:
    """The one exception handler: every error body in the same Databricks shape."""
    if isinstance(exc, GatewayError):
        err = exc
    elif isinstance(exc, HTTPException):
        err = _from_http_exception(request, exc)
    else:
        # Logged with its trace here, never sent: the client gets a plain 500 body.
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        err = GatewayError("Internal error while serving the request")
    return error_response(err)


__all__ = [
    "BadRequest",
    "EndpointNotFound",
    "GatewayError",
    "InvalidParameter",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "ResourceExhausted",
    "TemporarilyUnavailable",
    "Unauthenticated",
    "error_response",
    "handle_exception",
]
