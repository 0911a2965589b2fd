"""The SQL Warehouses API: list, get, start, stop, as the databricks-sdk uses them.

Every workspace sees exactly one warehouse, backed by the process's one pool. The default
workspace's warehouse has ``settings.gateway.warehouse_id``; any other workspace gets an id
derived from its name, so one tenant never learns another's id. Statements naming a warehouse
the caller cannot see are answered 404 RESOURCE_DOES_NOT_EXIST (the SDK raises NotFound).

``start`` switches the reported state to STARTING *before* answering: the SDK's waiter fails
at once on a STOPPED warehouse, so a lagging state would break ``start_and_wait``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.backend import Warehouse
from gateway.errors import InvalidParameter, NotFound
from sqlgate.settings import Settings

log = logging.getLogger("sqlgate.gateway")


class LocalWarehouse:
    """A Warehouse for backends without one (tests, in-process engines): a simple state flag."""

    def __init__(self, num_workers: int = 1) -> None:
        self._state = "RUNNING"
        self._workers = num_workers

    @property
    def state(self) -> str:
        """STARTING, RUNNING, STOPPING or STOPPED."""
        return self._state

    @property
    def num_workers(self) -> int:
        """Workers currently up."""
        return self._workers if self._state == "RUNNING" else 0

    async def start(self) -> None:
        """Start: STARTING for one loop turn, then RUNNING."""
        if self._state == "RUNNING":
            return
        self._state = "STARTING"
        await asyncio.sleep(0)
        self._state = "RUNNING"

    async def stop(self) -> None:
        """Stop: STOPPED."""
        self._state = "STOPPED"


def warehouse_id_for(settings: Settings, workspace: str) -> str:
    """The id of `workspace`'s warehouse.

    >>> warehouse_id_for(Settings(), "default")
    'sqlgate0000000001'
    """
    if workspace == "default":
        return settings.gateway.warehouse_id
    digest = hashlib.sha256(f"{settings.gateway.warehouse_id}/{workspace}".encode()).hexdigest()
    return digest[:16]


class Warehouses:
    """The warehouse view of one pool, per workspace; drives start/stop in the background."""

    def __init__(self, settings: Settings, warehouse: Warehouse) -> None:
        self.settings = settings
        self.warehouse = warehouse
        self._pending: set[asyncio.Task[None]] = set()
        # The state we show while a start/stop runs, so the answer never lags the request.
        self._override: str | None = None

    def check(self, warehouse_id: str, workspace: str) -> None:
        """NotFound unless `warehouse_id` is the caller's warehouse."""
        if warehouse_id != warehouse_id_for(self.settings, workspace):
            raise NotFound(
                f"Warehouse {warehouse_id} does not exist.", error_code="RESOURCE_DOES_NOT_EXIST"
            )

    @property
    def state(self) -> str:
        """The state to report."""
        return self._override or self.warehouse.state

    def info(self, workspace: str) -> dict[str, Any]:
        """The EndpointInfo / GetWarehouseResponse object."""
        g, p = self.settings.gateway, self.settings.pool
        state = self.state
        return {
            "id": warehouse_id_for(self.settings, workspace),
            "name": g.warehouse_name,
            "state": state,
            "auto_stop_mins": p.auto_stop_mins,
            "cluster_size": g.cluster_size,
            "min_num_clusters": 1,
            "max_num_clusters": p.max_workers,
            "num_clusters": self.warehouse.num_workers if state == "RUNNING" else 0,
            "num_active_sessions": 0,
            "enable_serverless_compute": True,
            "enable_photon": False,
            "warehouse_type": "PRO",
            "spot_instance_policy": "COST_OPTIMIZED",
            "creator_name": "sqlgate",
            "health": {"status": "HEALTHY", "summary": f"warehouse is {state.lower()}"},
            "tags": {"custom_tags": []},
        }

    def _spawn(self, coro: Any, override: str) -> None:
        self._override = override

        async def runner() -> None:
            try:
                await coro
            except Exception as exc:  # a failed start shows as the pool's own state
                log.warning("warehouse %s failed: %s", override.lower(), exc)
            finally:
                if self._override == override:
                    self._override = None

        task = asyncio.get_running_loop().create_task(runner())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def start(self) -> None:
        """Start in the background; the state reads STARTING at once unless already RUNNING."""
        if self.warehouse.state == "RUNNING" and self._override is None:
            return
        self._spawn(self.warehouse.start(), "STARTING")

    def stop(self) -> None:
        """Stop in the background; the state reads STOPPING at once unless already STOPPED."""
        if self.warehouse.state == "STOPPED" and self._override is None:
            return
        self._spawn(self.warehouse.stop(), "STOPPING")

    async def aclose(self) -> None:
        """Wait (briefly) for background start/stop calls."""
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=5.0)


def _warehouses(request: Request) -> Warehouses:
    return request.app.state.gateway.warehouses


def _workspace(request: Request) -> str:
    return request.state.principal.workspace


async def list_warehouses(request: Request) -> Response:
    """GET /api/2.0/sql/warehouses: one warehouse per workspace, so one page."""
    page_size = request.query_params.get("page_size")
    if page_size is not None and (not page_size.isdigit()):
        raise InvalidParameter(f"page_size must be a non-negative integer, got {page_size!r}")
    # There is one page; any page token (ours are never issued) reads past the end.
    if request.query_params.get("page_token"):
        return JSONResponse({"warehouses": []})
    return JSONResponse({"warehouses": [_warehouses(request).info(_workspace(request))]})


async def get_warehouse(request: Request) -> Response:
    """GET /api/2.0/sql/warehouses/{id}."""
    wh = _warehouses(request)
    wh.check(request.path_params["id"], _workspace(request))
    return JSONResponse(wh.info(_workspace(request)))


async def start_warehouse(request: Request) -> Response:
    """POST /api/2.0/sql/warehouses/{id}/start → {} with the state STARTING already."""
    wh = _warehouses(request)
    wh.check(request.path_params["id"], _workspace(request))
    wh.start()
    return JSONResponse({})


async def stop_warehouse(request: Request) -> Response:
    """POST /api/2.0/sql/warehouses/{id}/stop → {}."""
    wh = _warehouses(request)
    wh.check(request.path_params["id"], _workspace(request))
    wh.stop()
    return JSONResponse({})


routes = [
    Route("/api/2.0/sql/warehouses", list_warehouses, methods=["GET"]),
    Route("/api/2.0/sql/warehouses/{id}", get_warehouse, methods=["GET"]),
    Route("/api/2.0/sql/warehouses/{id}/start", start_warehouse, methods=["POST"]),
    Route("/api/2.0/sql/warehouses/{id}/stop", stop_warehouse, methods=["POST"]),
]

__all__ = ["LocalWarehouse", "Warehouses", "routes", "warehouse_id_for"]
