"""The gateway's exception root and the one handler that renders every error body.

Every error a client sees, from any route, has the Databricks body
``{"error_code": "...", "message": "..."}`` and the HTTP status carried by its class::

    GatewayError                      500 INTERNAL_ERROR (root; never raised bare for input)
    ├── InvalidParameter              400 INVALID_PARAMETER_VALUE
    ├── BadRequest                    400 BAD_REQUEST
    ├── Unauthenticated               401 UNAUTHENTICATED
    ├── PermissionDenied              403 PERMISSION_DENIED
    ├── NotFound                      404 NOT_FOUND (or RESOURCE_DOES_NOT_EXIST)
    │   └── EndpointNotFound          404 ENDPOINT_NOT_FOUND (no such route)
    ├── MethodNotAllowed              405 BAD_REQUEST
    ├── PayloadTooLarge               413 BAD_REQUEST
    ├── ResourceExhausted             429 RESOURCE_EXHAUSTED     (+ Retry-After)
    └── TemporarilyUnavailable        503 TEMPORARILY_UNAVAILABLE (+ Retry-After)

429 and 503 make the databricks-sdk retry the same request after ``Retry-After`` seconds,
so they may only be raised *before* a statement starts executing (the API has no
idempotency key; a retried POST after execution started would run the statement twice).

Starlette's own ``HTTPException`` (unknown route, wrong method) and any unexpected exception
go through the same handler; the latter becomes a 500 whose message carries no stack trace
(and deliberately not the words "Unexpected error", which would make the SDK retry).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("sqlgate.gateway")


class GatewayError(Exception):
    """Root of every gateway error: a Databricks ``error_code``, a message, an HTTP status."""

    error_code: str = "INTERNAL_ERROR"
    http_status: int = 500

    def __init__(
        self,
        message: str,
        *,
        error_code: str | None = None,
        http_status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if error_code is not None:
            self.error_code = error_code
        if http_status is not None:
            self.http_status = http_status
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, str]:
        """The JSON error body, as Databricks renders it."""
        return {"error_code": self.error_code, "message": self.message}


class InvalidParameter(GatewayError):
    """A request field is missing, of the wrong type or out of range."""

    error_code = "INVALID_PARAMETER_VALUE"
    http_status = 400


class BadRequest(GatewayError):
    """The request is malformed (e.g. the body is not JSON)."""

    error_code = "BAD_REQUEST"
    http_status = 400


class Unauthenticated(GatewayError):
    """No or an unknown bearer token."""

    error_code = "UNAUTHENTICATED"
    http_status = 401


class PermissionDenied(GatewayError):
    """The caller is known but may not do this."""

    error_code = "PERMISSION_DENIED"
    http_status = 403


class NotFound(GatewayError):
    """An unknown (or another workspace's) statement, warehouse or chunk."""

    error_code = "NOT_FOUND"
    http_status = 404


class EndpointNotFound(NotFound):
    """No route matches the method and path."""

    error_code = "ENDPOINT_NOT_FOUND"


class MethodNotAllowed(GatewayError):
    """The route exists but not for this HTTP method."""

    error_code = "BAD_REQUEST"
    http_status = 405


class PayloadTooLarge(GatewayError):
    """The request body or the statement text is over its limit."""

    error_code = "BAD_REQUEST"
    http_status = 413


class ResourceExhausted(GatewayError):
    """Too much work queued; the client should retry after ``retry_after`` seconds."""

    error_code = "RESOURCE_EXHAUSTED"
    http_status = 429

    def __init__(
        self,
        message: str,
        *,
        retry_after: float = 1.0,
        error_code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, error_code=error_code, headers=headers)
        self.retry_after = retry_after
        self.headers.setdefault("Retry-After", str(max(1, round(retry_after))))


class TemporarilyUnavailable(ResourceExhausted):
    """The warehouse cannot take work right now (starting, stopping, shutting down)."""

    error_code = "TEMPORARILY_UNAVAILABLE"
    http_status = 503


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


# Registered on the app's ExceptionMiddleware (inside the user middleware stack).
EXCEPTION_HANDLERS = {GatewayError: handle_exception, HTTPException: handle_exception}


class CatchAllMiddleware:
    """Turn any exception that escaped the routes into the 500 body, never a stack trace.

    Starlette sends `Exception` handlers through ServerErrorMiddleware, which re-raises
    after answering; this pure ASGI middleware answers and swallows instead (it logs).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            response = await handle_exception(Request(scope), exc)
            await response(scope, receive, send)


__all__ = [
    "EXCEPTION_HANDLERS",
    "BadRequest",
    "CatchAllMiddleware",
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
