"""Each workspace's own warehouse: the per-workspace router in front of the warm pools.

Every workspace (tenant) has exactly one warehouse, backed by a backend of its own — in
production a `gateway.pool.warehouse.WarehousePool`: its own workers, queues, limits and
idle stop. `Warehouses` creates a workspace's backend lazily at its first use (a statement,
or a ``start``), routes each statement to its workspace's backend (it is the `Backend` the
registry runs statements with), and closes them all at shutdown, each bounded. One tenant's
``stop`` therefore never touches another tenant's compute. The REST routes over it are
`gateway.rest.warehouses`.

The default workspace's warehouse has ``settings.gateway.warehouse_id``; any other workspace
gets an id derived from its name, so one tenant never learns another's id. A warehouse the
caller cannot see is answered 404 RESOURCE_DOES_NOT_EXIST (the SDK raises NotFound).

``start`` switches the reported state to STARTING *before* answering: the SDK's waiter fails
at once on a STOPPED warehouse, so a lagging state would break ``start_and_wait``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.core.backend import Backend, StatementEvents, StatementResult, Warehouse
from gateway.errors import NotFound, TemporarilyUnavailable
from sqlgate.settings import Settings
from sqlgate.types import StatementTask, WarehouseState

log = logging.getLogger("sqlgate.gateway")

# workspace -> the backend that runs its statements (and, when it has start/stop, its warehouse)
BackendFactory = Callable[[str], Backend]


class LocalWarehouse:
    """A Warehouse for backends without one (tests, in-process engines): a simple state flag."""

    def __init__(self, num_workers: int = 1) -> None:
        self._state = WarehouseState.RUNNING
        self._workers = num_workers

    @property
    def state(self) -> WarehouseState:
        """STARTING, RUNNING, STOPPING or STOPPED."""
        return self._state

    @property
    def num_workers(self) -> int:
        """Workers currently up."""
        return self._workers if self._state is WarehouseState.RUNNING else 0

    async def start(self) -> None:
        """Start: STARTING for one loop turn, then RUNNING."""
        if self._state is WarehouseState.RUNNING:
            return
        self._state = WarehouseState.STARTING
        await asyncio.sleep(0)
        self._state = WarehouseState.RUNNING

    async def stop(self) -> None:
        """Stop: STOPPED."""
        self._state = WarehouseState.STOPPED


def warehouse_id_for(settings: Settings, workspace: str) -> str:
    """The id of `workspace`'s warehouse.

    >>> warehouse_id_for(Settings(), "default")
    'sqlgate0000000001'
    """
    if workspace == "default":
        return settings.gateway.warehouse_id
    digest = hashlib.sha256(f"{settings.gateway.warehouse_id}/{workspace}".encode()).hexdigest()
    return digest[:16]


@dataclass(eq=False)
class Tenant:
    """One workspace's warehouse: its backend, the Warehouse view of it, background calls."""

    workspace: str
    warehouse_id: str
    backend: Backend
    warehouse: Warehouse
    owned: bool
    ready: asyncio.Future[None]
    # The state shown while a start/stop runs, so the answer never lags the request.
    override: WarehouseState | None = None

    @property
    def state(self) -> WarehouseState:
        """The state to report."""
        return self.override or self.warehouse.state


class Warehouses:
    """Each workspace's warehouse, created at first use; see the module docstring.

    `factory` builds a workspace's backend. With `owned`, the backends are this object's:
    their ``start_background()`` runs at creation and ``aclose()`` at `aclose`. Without it
    (tests sharing one fake backend) only the per-workspace warehouse state is separate.
    """

    def __init__(self, settings: Settings, factory: BackendFactory, *, owned: bool) -> None:
        self.settings = settings
        self._factory = factory
        self._owned = owned
        self._tenants: dict[str, Tenant] = {}
        self._pending: set[asyncio.Task[None]] = set()
        self._closing = False

    # -- tenants ----------------------------------------------------------------------------

    def check(self, warehouse_id: str, workspace: str) -> None:
        """NotFound unless `warehouse_id` is the caller's warehouse."""
        if warehouse_id != warehouse_id_for(self.settings, workspace):
            raise NotFound(
                f"Warehouse {warehouse_id} does not exist.", error_code="RESOURCE_DOES_NOT_EXIST"
            )

    def tenants(self) -> list[Tenant]:
        """Every warehouse created so far."""
        return list(self._tenants.values())

    async def tenant(self, workspace: str) -> Tenant:
        """The workspace's warehouse, created (and its backend started) on first use."""
        found = self._tenants.get(workspace)
        if found is None:
            if self._closing:
                raise TemporarilyUnavailable("The gateway is shutting down.", retry_after=5.0)
            backend = self._factory(workspace)
            warehouse: Warehouse = (
                backend if hasattr(backend, "start") and hasattr(backend, "state")  # type: ignore[assignment]
                else LocalWarehouse()
            )
            # No await between the lookup and this insert: concurrent first uses share one.
            found = Tenant(workspace, warehouse_id_for(self.settings, workspace), backend,
                           warehouse, self._owned,
                           asyncio.ensure_future(self._start_background(backend)))
            self._tenants[workspace] = found
            log.info("warehouse %s created for workspace %s", found.warehouse_id, workspace)
        await asyncio.shield(found.ready)
        return found

    async def _start_background(self, backend: Backend) -> None:
        start = getattr(backend, "start_background", None) if self._owned else None
        if start is not None:
            result = start()
            if inspect.isawaitable(result):
                await result

    # -- Backend: route each statement to its workspace's warehouse -------------------------

    async def run(self, task: StatementTask, events: StatementEvents) -> StatementResult:
        """Run `task` on its workspace's backend (created at first use)."""
        tenant = await self.tenant(task.workspace)
        return await tenant.backend.run(task, events)

    # -- the API's view -----------------------------------------------------------------------

    def state(self, workspace: str) -> WarehouseState:
        """The workspace's warehouse state; STOPPED until it is first used."""
        found = self._tenants.get(workspace)
        return found.state if found is not None else WarehouseState.STOPPED

    def info(self, workspace: str) -> dict[str, Any]:
        """The EndpointInfo / GetWarehouseResponse object."""
        g, p = self.settings.gateway, self.settings.pool
        found = self._tenants.get(workspace)
        state = self.state(workspace)
        running = found is not None and state == WarehouseState.RUNNING
        workers = found.warehouse.num_workers if found is not None and running else 0
        return {
            "id": warehouse_id_for(self.settings, workspace),
            "name": g.warehouse_name,
            "state": str(state),
            "auto_stop_mins": p.auto_stop_mins,
            "cluster_size": g.cluster_size,
            "min_num_clusters": 1,
            "max_num_clusters": p.max_workers,
            "num_clusters": workers,
            "num_active_sessions": 0,
            "enable_serverless_compute": True,
            "enable_photon": False,
            "warehouse_type": "PRO",
            "spot_instance_policy": "COST_OPTIMIZED",
            "creator_name": "sqlgate",
            "health": {"status": "HEALTHY", "summary": f"warehouse is {state.lower()}"},
            "tags": {"custom_tags": []},
        }

    def _spawn(self, tenant: Tenant, coro: Any, override: WarehouseState) -> None:
        tenant.override = override

        async def runner() -> None:
            try:
                await coro
            except Exception as exc:  # a failed start shows as the pool's own state
                log.warning("warehouse %s %s failed: %s", tenant.warehouse_id,
                            override.lower(), exc)
            finally:
                if tenant.override == override:
                    tenant.override = None

        task = asyncio.get_running_loop().create_task(runner())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def start(self, workspace: str) -> None:
        """Start in the background; the state reads STARTING at once unless already RUNNING."""
        tenant = await self.tenant(workspace)
        if tenant.warehouse.state == WarehouseState.RUNNING and tenant.override is None:
            return
        self._spawn(tenant, tenant.warehouse.start(), WarehouseState.STARTING)

    def stop(self, workspace: str) -> None:
        """Stop in the background; a warehouse never used is already STOPPED."""
        tenant = self._tenants.get(workspace)
        if tenant is None or (
                tenant.warehouse.state == WarehouseState.STOPPED and tenant.override is None):
            return
        self._spawn(tenant, tenant.warehouse.stop(), WarehouseState.STOPPING)

    def metrics(self) -> dict[str, Any]:
        """warehouse_id -> that warehouse's metrics (its backend's own, when it has them)."""
        out: dict[str, Any] = {}
        for tenant in self.tenants():
            base: dict[str, Any] = {"state": str(tenant.state),
                                    "workers": tenant.warehouse.num_workers}
            out[tenant.warehouse_id] = base
            fn = getattr(tenant.backend, "metrics", None) if tenant.owned else None
            if fn is not None:
                try:
                    own = fn()
                    out[tenant.warehouse_id] = own if isinstance(own, str) else {**base, **own}
                except Exception as exc:  # metrics must never break the scrape
                    log.warning("warehouse %s metrics failed: %s", tenant.warehouse_id, exc)
        return out

    async def aclose(self) -> None:
        """Shutdown: refuse new warehouses, let start/stop calls end (briefly), then close
        every owned backend concurrently, each within ``stop_grace_s + 5`` seconds."""
        self._closing = True
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=5.0)
        limit = self.settings.pool.stop_grace_s + 5.0
        owned = [t for t in self._tenants.values() if t.owned]
        await asyncio.gather(*(self._close(t, limit) for t in owned))

    async def _close(self, tenant: Tenant, limit: float) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(tenant.ready), limit)
        aclose = getattr(tenant.backend, "aclose", None)
        if aclose is None:
            return
        try:
            await asyncio.wait_for(aclose(), limit)
        except TimeoutError:
            log.warning("warehouse %s did not stop within %.0fs", tenant.warehouse_id, limit)
        except Exception as exc:  # the others still close
            log.warning("warehouse %s failed to close: %s", tenant.warehouse_id, exc)


__all__ = ["BackendFactory", "LocalWarehouse", "Tenant", "Warehouses", "warehouse_id_for"]
