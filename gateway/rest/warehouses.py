"""The SQL Warehouses API: list, get, start and stop the caller's warehouse.

The warehouses themselves (one per workspace, created at first use) are
`gateway.pool.router.Warehouses`; these routes only read and drive them, and page lists with
opaque tokens.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.errors import InvalidParameter
from gateway.pool.router import Warehouses, warehouse_id_for
from gateway.state import gateway_of

T = TypeVar("T")
_MAX_PAGE = 1000


def page(items: Sequence[T], page_size: str | None, page_token: str | None,
         ) -> tuple[list[T], str | None]:
    """One page of `items` and the token of the next (None on the last page).

    Tokens are opaque (an encoded offset); a malformed one is 400. A missing or 0 page size
    means the server's maximum.

    >>> page(["a", "b", "c"], "2", None)
    (['a', 'b'], 'b2Zmc2V0OjI')
    >>> page(["a", "b", "c"], "2", "b2Zmc2V0OjI")
    (['c'], None)
    """
    if page_size is not None and not page_size.isdigit():
        raise InvalidParameter(f"page_size must be a non-negative integer, got {page_size!r}")
    size = min(int(page_size or 0) or _MAX_PAGE, _MAX_PAGE)
    start = _offset(page_token) if page_token else 0
    end = start + size
    return list(items[start:end]), (_token(end) if end < len(items) else None)


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind == "offset" and value.isdigit():
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidParameter(f"page_token {token[:40]!r} is not a token this server issued")


def _warehouses(request: Request) -> Warehouses:
    return gateway_of(request).warehouses


def _workspace(request: Request) -> str:
    return request.state.principal.workspace


async def list_warehouses(request: Request) -> Response:
    """GET /api/2.0/sql/warehouses: the caller's warehouses, paged by page_size/page_token."""
    wh = _warehouses(request)
    # A workspace sees its own warehouse only; the list is built the same way if that changes.
    visible = [wh.info(_workspace(request))]
    items, next_token = page(visible, request.query_params.get("page_size"),
                             request.query_params.get("page_token"))
    body: dict[str, Any] = {"warehouses": items}
    if next_token is not None:
        body["next_page_token"] = next_token
    return JSONResponse(body)


async def get_warehouse(request: Request) -> Response:
    """GET /api/2.0/sql/warehouses/{id}."""
    wh = _warehouses(request)
    wh.check(request.path_params["id"], _workspace(request))
    return JSONResponse(wh.info(_workspace(request)))


async def start_warehouse(request: Request) -> Response:
    """POST /api/2.0/sql/warehouses/{id}/start → {} with the state STARTING already."""
    wh = _warehouses(request)
    wh.check(request.path_params["id"], _workspace(request))
    await wh.start(_workspace(request))
    return JSONResponse({})


async def stop_warehouse(request: Request) -> Response:
    """POST /api/2.0/sql/warehouses/{id}/stop → {}."""
    wh = _warehouses(request)
    wh.check(request.path_params["id"], _workspace(request))
    wh.stop(_workspace(request))
    return JSONResponse({})


routes = [
    Route("/api/2.0/sql/warehouses", list_warehouses, methods=["GET"]),
    Route("/api/2.0/sql/warehouses/{id}", get_warehouse, methods=["GET"]),
    Route("/api/2.0/sql/warehouses/{id}/start", start_warehouse, methods=["POST"]),
    Route("/api/2.0/sql/warehouses/{id}/stop", stop_warehouse, methods=["POST"]),
]

__all__ = ["page", "routes", "warehouse_id_for"]
