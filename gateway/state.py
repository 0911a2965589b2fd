"""The app's shared state, typed: what every route reaches as ``request.app.state.gateway``.

Routes take it through `gateway_of(request)`, so a route module depends on this small module
rather than on the app that imports the routes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from fetch import ResultStore
from gateway.auth import Authenticator
from gateway.core.control import ControlPlane
from gateway.core.registry import StatementRegistry
from gateway.core.sessions import SessionBook
from gateway.core.store import StateStore
from gateway.metrics import Metrics
from gateway.pool.router import Warehouses
from sqlgate.settings import Settings


@dataclass
class Gateway:
    """Everything the routes share, reachable as ``request.app.state.gateway``."""

    settings: Settings
    registry: StatementRegistry
    warehouses: Warehouses
    auth: Authenticator
    metrics: Metrics
    store: ResultStore | None = None
    # The durable control plane (None with state_store = none) and its store.
    control: ControlPlane | None = None
    state: StateStore | None = None
    # Sessions of both fronts as the state store keeps them (no store: memory only).
    sessions: SessionBook | None = None
    external_results: bool = False
    generated_token: str | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def pool_metrics(self) -> dict[str, Any]:
        """warehouse_id -> that warehouse's metrics (mapping or Prometheus text)."""
        return self.warehouses.metrics()


def gateway_of(request: Request) -> Gateway:
    """The app's state from a request."""
    gw: Gateway = request.app.state.gateway
    return gw


__all__ = ["Gateway", "gateway_of"]
