"""Running the gateway: uvicorn on settings.gateway.host/port, TLS when a cert and key are set.

`serve(settings, demo=False)` is what ``sqlgate serve`` and ``sqlgate demo`` call. The app's
lifespan owns the pool and the result store, so Ctrl-C drains and stops them in order
(bounded by ``shutdown_grace_s``). In demo mode it prints everything needed to try it: URL,
warehouse id, token, a curl line and a databricks-sdk snippet.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
import sys
from types import FrameType
from typing import Any, TextIO

import uvicorn
from starlette.applications import Starlette

from fetch.linkserver import listener_url
from gateway.app import Gateway, build_app
from gateway.pool.router import warehouse_id_for
from gateway.wire import JsonErrorProtocol
from sqlgate.settings import FetchSettings, Settings

log = logging.getLogger("sqlgate.gateway")
# A draining gateway stops early once no statement ended this recently (its client may be
# fetching the result).
_SETTLE_S = 2.0


def _base_url(settings: Settings) -> str:
    g = settings.gateway
    scheme = "https" if g.tls else "http"
    host = "127.0.0.1" if g.host in ("0.0.0.0", "::", "") else g.host
    return f"{scheme}://{host}:{g.port}"


def with_public_url(settings: Settings) -> Settings:
    """Point local result links at this server when no public URL was configured."""
    if settings.fetch.public_url != FetchSettings().public_url:
        return settings
    return dataclasses.replace(
        settings, fetch=dataclasses.replace(settings.fetch, public_url=_base_url(settings))
    )


def _bindable(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def resolve_links(settings: Settings) -> Settings:
    """Settle `links_port` = -1 (auto): port + 1 on a plain-HTTP gateway, off with TLS.

    With TLS the listener stays off (it has no TLS of its own) and links keep going through
    the gateway's HTTPS route; port 0 (a free port) has no "next" port, so it is off too.
    """
    g = settings.gateway
    if g.links_port != -1:
        return settings
    port = g.port + 1 if g.port > 0 and not g.tls and g.port < 65535 else 0
    if port and not _bindable(g.host, port):
        # Auto must never stop the gateway from starting: links fall back to its route.
        log.warning("port %d is taken: result links served by the gateway itself", port)
        port = 0
    return dataclasses.replace(settings, gateway=dataclasses.replace(g, links_port=port))


def banner(
    settings: Settings, token: str | None, *, demo: bool, generated: bool = True
) -> str:
    """The text printed at start: where to connect, and (demo) how."""
    url = _base_url(settings)
    wid = warehouse_id_for(settings, "default")
    shown = token or "<your SQLGATE_TOKEN>"
    lines = [f"sqlgate listening on {url}  (warehouse {wid})"]
    g = settings.gateway
    if g.links_port > 0 and not settings.fetch.results.startswith("s3://"):
        links = listener_url(g.host, g.links_port, g.links_public_url)
        lines.append(f"result links (sendfile listener) on {links}")
    if g.tls:
        lines.append(f"TLS certificate (clients trust it as their CA file): {g.tls_cert}")
    if token and generated:
        lines.append(f"generated API token (shown once, only its hash is kept): {token}")
    if demo:
        lines += [
            "",
            "Try it with curl:",
            f"  curl -s -H 'Authorization: Bearer {shown}' -H 'Content-Type: application/json' \\",
            f"    {url}/api/2.0/sql/statements -d '{{\"warehouse_id\": \"{wid}\", "
            "\"statement\": \"SELECT count(*) FROM main.tpch.lineitem\"}'",
            "",
            "Or with the databricks-sdk:",
            "  from databricks.sdk import WorkspaceClient",
            f"  w = WorkspaceClient(host='{url}', token='{shown}')",
            f"  r = w.statement_execution.execute_statement(warehouse_id='{wid}',",
            "      statement='SELECT n_name FROM main.tpch.nation LIMIT 5')",
            "  print(r.result.data_array)",
        ]
    return "\n".join(lines)


class _Server(uvicorn.Server):
    """uvicorn with a draining SIGTERM, minus the re-raise of the signal after shutdown.

    The first SIGTERM/SIGINT does not close the listener: the registry starts draining (new
    statements get 503 TEMPORARILY_UNAVAILABLE with Retry-After) while polls, fetches and
    result links of the statements already submitted are still answered, for
    ``shutdown_grace_s`` or until no statement is open and none ended in the last
    `_SETTLE_S` (its client may still be fetching). Then uvicorn's own shutdown runs (the
    lifespan stops the pool and the store). A second signal stops at once.

    uvicorn (>= 0.29) raises the captured signal again once it has shut down, so the process
    dies by it (status -15, or a KeyboardInterrupt traceback on Ctrl-C) and `serve` never
    returns its exit code. The gateway has drained its statements and stopped its workers by
    then: that is a clean exit, status 0.
    """

    def __init__(self, config: uvicorn.Config, gateway: Gateway | None = None) -> None:
        super().__init__(config)
        self.gateway = gateway
        self.drain: asyncio.Task[None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.gateway is not None and self.drain is None and not self.should_exit:
            with contextlib.suppress(RuntimeError):  # no running loop: stop at once
                self.drain = asyncio.get_running_loop().create_task(self._drain(self.gateway))
                return
        super().handle_exit(sig, frame)
        self._captured_signals.clear()

    async def _drain(self, gateway: Gateway) -> None:
        registry = gateway.registry
        registry.draining = True
        grace = gateway.settings.gateway.shutdown_grace_s
        log.warning("draining: new statements get 503; open ones are answered for up to "
                    "%g s", grace)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while loop.time() < deadline and not self.should_exit:
            if registry.quiet(registry.clock(), _SETTLE_S):
                break
            await asyncio.sleep(0.1)
        self.should_exit = True


def make_server(
    settings: Settings, *, app: Any = None, log_level: str | None = None
) -> uvicorn.Server:
    """A configured (not started) uvicorn server for the gateway app."""
    g = settings.gateway
    config = uvicorn.Config(
        app if app is not None else build_app(settings),
        host=g.host,
        port=g.port,
        ssl_certfile=g.tls_cert if g.tls else None,
        ssl_keyfile=g.tls_key if g.tls else None,
        log_level=log_level or g.log_level,
        lifespan="on",
        # uvicorn waits this long for open connections; the lifespan then drains statements.
        timeout_graceful_shutdown=max(1, int(g.shutdown_grace_s)),
        # Long-lived driver connections reuse idle sockets (settings.keep_alive_s says why).
        timeout_keep_alive=max(1, int(g.keep_alive_s)),
        access_log=False,
        server_header=False,
        # an unparsable request gets the API's JSON error body, not uvicorn's plain text
        http=JsonErrorProtocol,
    )
    built = config.app
    gateway = built.state.gateway if isinstance(built, Starlette) else None
    return _Server(config, gateway)


def listen_socket(host: str, port: int) -> socket.socket:
    """The bound (not yet listening) TCP socket uvicorn serves on; raises OSError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
    # proto says TCP, and without it every small response waits ~40 ms (Nagle + delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve(settings: Settings, demo: bool = False, *, out: TextIO | None = None) -> int:
    """Run the gateway until interrupted; returns the process exit code."""
    logging.basicConfig(
        level=settings.gateway.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = resolve_links(with_public_url(settings))
    try:
        app = build_app(settings)
    except ValueError as exc:
        print(f"sqlgate: {exc}", file=sys.stderr)
        return 1
    token = app.state.gateway.generated_token
    generated = token is not None
    if demo and token is None and settings.gateway.token:
        token = settings.gateway.token
    server = make_server(settings, app=app)
    try:
        # Bind first, so the banner only ever names a port that is really ours.
        sock = listen_socket(settings.gateway.host, settings.gateway.port)
    except OSError as exc:
        print(f"sqlgate: cannot listen on {settings.gateway.host}:{settings.gateway.port}: "
              f"{exc}", file=sys.stderr)
        return 1
    text = banner(settings, token, demo=demo, generated=generated)
    print(text, file=out or sys.stdout, flush=True)
    server.run(sockets=[sock])
    return 0 if server.started else 1


__all__ = ["banner", "listen_socket", "make_server", "resolve_links", "serve", "with_public_url"]
