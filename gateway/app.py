"""The ASGI app: routes, auth, the one error handler, and a lifespan that owns the resources.

    app = build_app(settings)                       # a WarehousePool per workspace, the store
    app = build_app(settings, backend=fake)         # tests: one shared gateway.core.backend.Backend
    app = build_app(settings, backend_factory=f)    # tests: f(workspace) -> that tenant's backend

Each workspace's warehouse is its own backend (gateway.pool.router), created at first use;
the default workspace's is created at startup when some token belongs to it, so `demo` is
warm. The lifespan also runs a periodic retention sweep, and on shutdown closes in order,
each step bounded: statements get ``shutdown_grace_s`` to finish and the rest are cancelled
(and logged), then every warehouse, then the result store. With ``links_port`` > 0 and a
local store, the lifespan also runs `fetch.linkserver.LinkServer` (local-store links point at
it; the ``/_results/`` route stays mounted) and stops it before the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator
from typing import cast

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fetch import LocalStore, ResultStore, open_store
from fetch.linkserver import LinkServer, listener_url
from gateway import thrift
from gateway.auth import DEFAULT_WORKSPACE, Authenticator
from gateway.core.backend import Backend, StatementResult
from gateway.core.cache import ResultCache
from gateway.core.control import ControlPlane
from gateway.core.orphans import sweep_orphans
from gateway.core.registry import Statement, StatementRegistry
from gateway.core.sessions import SessionBook
from gateway.core.store import default_state_url
from gateway.core.stores import open_state_store
from gateway.errors import handle_exception
from gateway.metrics import Metrics
from gateway.policy import StatementPolicy
from gateway.pool.router import BackendFactory, Warehouses, warehouse_id_for
from gateway.rest import history, openapi, sessions, statements, warehouses
from gateway.rest.links import links_routes
from gateway.state import Gateway
from sqlgate.settings import Settings

log = logging.getLogger("sqlgate.gateway")

# Paths that need no bearer token: discovery, health, metrics, the spec, signed result links.
_PUBLIC = ("/.well-known/", "/healthz", "/metrics", "/openapi.json", "/_results/",
           # the Thrift front authenticates itself (Bearer, or Basic token:<PAT>)
           "/sql/1.0/", "/cliservice", "/api/2.0/connector-service/")


class _Front:
    """Every HTTP request's one middleware: bearer auth for API paths, the request-latency
    histogram, and the one error handler for whatever a route raises (a `GatewayError`,
    Starlette's HTTPException for an unknown route or method, or a bug: the 500 body, never
    a stack trace). An exception after the response started is re-raised (uvicorn then
    closes the connection: there is no way left to answer).

    `_App` serves the router through this alone, instead of Starlette's ServerErrorMiddleware
    and ExceptionMiddleware around middlewares of our own: each layer is another coroutine
    and another `send` wrapper on every request, and the REST statement path is measured
    against a bare endpoint (`sqlgate bench select1`).
    """

    def __init__(self, app: ASGIApp, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        start = time.perf_counter()
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            if not path.startswith(_PUBLIC):
                raw = dict(scope["headers"]).get(b"authorization")
                principal = self.gateway.auth.authenticate(
                    raw.decode("latin-1") if raw else None)
                scope.setdefault("state", {})["principal"] = principal
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            response = await handle_exception(Request(scope), exc)
            await response(scope, receive, send)
        finally:
            self.gateway.metrics.http.observe(
                time.perf_counter() - start, route=_route_label(scope["method"], path)
            )


class _App(Starlette):
    """Starlette with `_Front` as its whole middleware stack (see there why)."""

    def build_middleware_stack(self) -> ASGIApp:
        """The router behind `_Front`: nothing else."""
        return _Front(self.router, self.state.gateway)


_ID = re.compile(r"^(/api/2\.0/sql/(?:statements|warehouses|sessions))/[^/]+(/.*)?$")
_KNOWN = {"/healthz", "/metrics", "/openapi.json", "/.well-known/databricks-config",
          "/api/2.0/sql/statements", "/api/2.0/sql/warehouses", "/api/2.0/sql/sessions"}


def _route_label(method: str, path: str) -> str:
    """A bounded label: ids become {id}, chunk numbers {n}, unknown paths 'other'."""
    m = _ID.match(path)
    if m:
        rest = re.sub(r"/chunks/[^/]+$", "/chunks/{n}", m.group(2) or "")
        return f"{method} {m.group(1)}/{{id}}{rest}"
    if path.startswith("/_results/"):
        return f"{method} /_results"
    return f"{method} {path}" if path in _KNOWN else "other"


async def _well_known(request: Request) -> Response:
    # 200 {} silences the SDK's host-metadata warning; no workspace_id, no oidc_endpoint.
    return JSONResponse({})


async def _healthz(request: Request) -> Response:
    gw: Gateway = request.app.state.gateway
    # Public: counts only, never a tenant's warehouse id.
    states: dict[str, int] = {}
    for tenant in gw.warehouses.tenants():
        states[tenant.state] = states.get(tenant.state, 0) + 1
    return JSONResponse({"status": "ok", "warehouses": states, "statements": len(gw.registry)})


async def _metrics(request: Request) -> Response:
    """Prometheus text. Anonymous scrapes see every warehouse's gauges summed, with no
    warehouse ids (they name workspaces); a token's scrape sees its own workspace's
    warehouses by id."""
    gw: Gateway = request.app.state.gateway
    pools = gw.pool_metrics()
    header = request.headers.get("authorization")
    if header is None:
        text = gw.metrics.render(gw.registry.statements(), pools, aggregate=True)
    else:
        workspace = gw.auth.authenticate(header).workspace  # a bad token is a 401
        own = {t.warehouse_id for t in gw.warehouses.tenants() if t.workspace == workspace}
        text = gw.metrics.render(gw.registry.statements(),
                                 {k: v for k, v in pools.items() if k in own})
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")


def build_app(
    settings: Settings,
    *,
    backend: Backend | None = None,
    backend_factory: BackendFactory | None = None,
    store: ResultStore | None = None,
    authenticator: Authenticator | None = None,
    external_results: bool | None = None,
) -> Starlette:
    """The gateway app; see the module docstring for `backend` and `backend_factory`."""
    generated: str | None = None
    if authenticator is None:
        authenticator, generated = Authenticator.from_settings(settings.gateway)
    g = settings.gateway
    if g.links_port > 0 and g.tls:
        # The listener speaks plain HTTP; links must not downgrade an HTTPS gateway.
        raise ValueError("links_port needs a plain-HTTP gateway: with TLS set links_port=0 "
                         "(links are then served by the gateway's HTTPS /_results/ route)")
    state_url = g.state_store or default_state_url(settings.fetch.results) or (
        "sqlite:///.sqlgate/state.db")
    state = None if state_url == "none" else open_state_store(state_url)
    if state is not None and store is None:
        # Links signed before a restart, or by another gateway, must still verify: every
        # gateway on this store signs with the secret the first one stored there.
        settings = settings.replace(
            signing_secret=state.key("signing_secret",
                                     settings.fetch.signing_secret or secrets.token_hex(32)))
    if store is None:
        fetch_settings = settings.fetch
        if g.links_port > 0:
            # Local-store links point at the sendfile listener instead of this app's route.
            fetch_settings = dataclasses.replace(fetch_settings, public_url=listener_url(
                g.host, g.links_port, g.links_public_url))
        store = open_store(fetch_settings)
    link_server = (
        LinkServer(store, host=g.host, port=g.links_port,
                   max_connections=g.links_max_connections, idle_s=g.links_idle_s)
        if g.links_port > 0 and isinstance(store, LocalStore) else None
    )
    metrics = Metrics()

    cache: ResultCache | None = None

    async def delete_chunks(stmt: Statement, result: StatementResult) -> None:
        # Chunk keys are <workspace>/<day>/<statement>-<random>/<n>.<ext>: drop their folder.
        keys = [c.key for c in result.manifest.chunks if c.key]
        prefixes = {k.rsplit("/", 1)[0] + "/" for k in keys if "/" in k}
        if cache is not None:
            cache.forget(prefixes)  # a cached answer must not outlive its chunks
        for prefix in prefixes:
            await asyncio.to_thread(store.delete_prefix, prefix)

    owned = backend is None
    if backend is not None:
        factory = _shared(backend)
    elif backend_factory is not None:
        factory = backend_factory
    else:
        cache = (ResultCache(settings.gateway.result_cache_bytes, store=store,
                             chunks_ttl_s=float(settings.fetch.result_ttl_s))
                 if settings.gateway.result_cache_bytes > 0 else None)
        factory = _pool_factory(settings, cache)
    houses = Warehouses(settings, factory, owned=owned)
    control = (None if state is None else
               ControlPlane(state, settings, lambda ws: warehouse_id_for(settings, ws)))
    registry = StatementRegistry(
        houses,
        max_statements=settings.gateway.max_statements,
        retention_s=settings.gateway.statement_retention_s,
        abandon_s=settings.gateway.statement_abandon_s,
        result_ttl_s=float(settings.fetch.result_ttl_s),
        inline_byte_limit=settings.gateway.inline_byte_limit,
        on_finish=metrics.statement_finished,
        on_change=control.note if control is not None else None,
        on_close=delete_chunks if store is not None else None,
        policy=StatementPolicy(authenticator, settings.engine),
    )
    if control is not None:
        control.bind(registry)
        if cache is not None and control.shared and g.result_cache_shared_bytes > 0:
            cache.share(control.store, g.result_cache_shared_bytes)
    gw = Gateway(
        settings=settings,
        registry=registry,
        warehouses=houses,
        auth=authenticator,
        metrics=metrics,
        store=store,
        generated_token=generated,
        control=control,
        state=state,
        sessions=SessionBook(state, shared=control.shared if control is not None else False,
                             idle_s=settings.gateway.session_idle_s),
    )
    gw.external_results = (
        external_results if external_results is not None
        else store is not None and backend is None and backend_factory is None
    )

    routes: list[BaseRoute] = [
        # The statement routes first: the router tries each route in turn, on every request.
        *statements.routes,
        Route("/.well-known/databricks-config", _well_known, methods=["GET"]),
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/metrics", _metrics, methods=["GET"]),
        Route("/openapi.json", openapi.openapi_endpoint, methods=["GET"]),
        *sessions.routes,
        *warehouses.routes,
        *history.routes,
    ]
    if store is not None:
        routes += list(links_routes(store))
    routes += thrift.thrift_routes(gw)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if DEFAULT_WORKSPACE in authenticator.workspaces:
            await houses.tenant(DEFAULT_WORKSPACE)
        if control is not None:
            await control.start()
            if store is not None and state is not None:
                try:
                    await sweep_orphans(store, state, authoritative=not control.shared
                                        and isinstance(store, LocalStore))
                except Exception as exc:  # the age sweep still comes by: never block startup
                    log.warning("orphaned result sweep failed: %s", exc)
        gw.tasks.append(asyncio.create_task(_sweeper(gw), name="sqlgate-sweeper"))
        if link_server is not None:
            try:
                link_server.start()
            except OSError as exc:
                await _shutdown(gw)
                raise RuntimeError(f"cannot listen for result links on "
                                   f"{g.host}:{g.links_port}: {exc}") from exc
        try:
            yield
        finally:
            if link_server is not None:
                await asyncio.to_thread(link_server.stop)
            await _shutdown(gw)

    app = _App(routes=routes, lifespan=lifespan)
    app.state.gateway = gw
    app.state.link_server = link_server
    return app


def _shared(backend: Backend) -> BackendFactory:
    def same(workspace: str) -> Backend:
        return backend

    return same


def _pool_factory(settings: Settings, cache: ResultCache | None) -> BackendFactory:
    # Imported here: the pool pulls in the engine's estimator, which apps built around a
    # given backend (tests) never need.
    from gateway.pool.warehouse import WarehousePool

    def make(workspace: str) -> Backend:
        # Each workspace its own pool: its own workers, queues, limits and idle stop; one
        # result cache for all (its keys hold the workspace and the user).
        return cast(Backend, WarehousePool(settings, results=cache))

    return make


async def _sweeper(gw: Gateway) -> None:
    while True:
        await asyncio.sleep(gw.settings.gateway.sweep_interval_s)
        try:
            await gw.registry.sweep()
            if gw.control is not None:
                await gw.control.sweep(gw.store.delete_prefix if gw.store is not None else None)
            if gw.sessions is not None:
                await gw.sessions.sweep()
            if gw.store is not None:
                await asyncio.to_thread(gw.store.sweep)
        except Exception as exc:  # the next round tries again
            log.warning("retention sweep failed: %s", exc)


async def _shutdown(gw: Gateway) -> None:
    """Ordered, bounded: background tasks, statements, the warehouses, the store."""
    for task in gw.tasks:
        task.cancel()
    await asyncio.gather(*gw.tasks, return_exceptions=True)
    await gw.registry.aclose(gw.settings.gateway.shutdown_grace_s)
    await gw.warehouses.aclose()
    if gw.control is not None:
        await gw.control.aclose()  # after the statements: their last states are written
    if gw.store is not None:
        with contextlib.suppress(Exception):
            gw.store.close()


__all__ = ["Gateway", "build_app"]
