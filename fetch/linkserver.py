"""A zero-copy listener for the local result store's signed links (``GET /_results/{key}``).

The gateway's Starlette route reads each chunk file in 1 MiB pieces through the event loop
and a thread pool; this server hands the file to the kernel with ``socket.sendfile``, so a
chunk goes from the page cache to the socket without passing through Python. It runs on its
own port, in threads of the gateway process (stdlib ``http.server``, no web framework)::

    server = LinkServer(store, host="127.0.0.1", port=8001, max_connections=64, idle_s=15)
    server.start()           # binds, serves in a background thread
    ...                      # links: http://127.0.0.1:8001/_results/<key>?expires=..&sig=..
    server.stop()            # closes the listener and every open connection, joins threads

The same checks as the route: `LocalStore.open_signed` verifies the HMAC and the expiry, and a
tampered, expired or unknown link gets 403 with the Databricks JSON error body and no data.
No Authorization header is needed (the signature is the credential). GET and HEAD only,
HTTP/1.1 keep-alive, at most `max_connections` connections at once (one thread each; the next
one gets 503), an idle connection closed after `idle_s`. Plain HTTP only: with TLS the
gateway keeps serving links through its own HTTPS route.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import os
import socket
import threading
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from fetch.errors import FetchError
from fetch.local import LocalStore
from fetch.serialize import media_type

log = logging.getLogger("sqlgate.fetch.links")

PREFIX = "/_results/"
# A link's request line is a key plus two query parameters; anything longer is not a link.
_MAX_REQUEST_LINE = 8192


class _Handler(http.server.BaseHTTPRequestHandler):
    """One connection: signed GET/HEAD requests, kept alive until idle or closed."""

    protocol_version = "HTTP/1.1"
    server_version = "sqlgate-links"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        # An idle keep-alive connection times out instead of holding its thread forever.
        self.connection.settimeout(self.server.idle_s)
        # Headers and the file go out in separate writes; without NODELAY the last small
        # segment of a response can wait for the peer's delayed ACK (~40 ms).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self) -> None:
        # The stdlib accepts 64 KiB request lines; a signed link needs far less.
        try:
            line = self.rfile.readline(_MAX_REQUEST_LINE + 1)
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        if len(line) > _MAX_REQUEST_LINE:
            self.requestline, self.request_version, self.command = "", "HTTP/1.1", "GET"
            self._json(414, {"error_code": "INVALID_PARAMETER_VALUE",
                             "message": "request line too long"}, close=True)
            return
        if not line:
            self.close_connection = True
            return
        self.raw_requestline = line
        if not self.parse_request():
            return
        method = getattr(self, f"do_{self.command}", None)
        if method is None:
            self._json(405, {"error_code": "BAD_REQUEST",
                             "message": f"method {self.command} not allowed"},
                       close=True, extra={"Allow": "GET, HEAD"})
            return
        method()
        with contextlib.suppress(OSError, ValueError):
            self.wfile.flush()

    def do_GET(self) -> None:
        """Serve one signed chunk file."""
        self._serve(body=True)

    def do_HEAD(self) -> None:
        """Headers of one signed chunk file, no body."""
        self._serve(body=False)

    def _serve(self, *, body: bool) -> None:
        if self.headers.get("Content-Length", "0").strip() not in ("", "0"):
            # Links never carry a body; refusing it keeps every request bounded.
            self._json(413, {"error_code": "INVALID_PARAMETER_VALUE",
                             "message": "a link request has no body"}, close=True)
            return
        parts = urlsplit(self.path)
        if not parts.path.startswith(PREFIX):
            self._json(404, {"error_code": "NOT_FOUND", "message": "no such route"})
            return
        key = unquote(parts.path[len(PREFIX):])
        query = parse_qs(parts.query)
        try:
            path = self.server.store.open_signed(
                key, query.get("expires", [""])[0], query.get("sig", [""])[0]
            )
            # Opened before the headers go out: a chunk deleted in between is a 403, not a
            # truncated 200. An open file survives a concurrent delete (POSIX).
            fh = open(path, "rb")  # noqa: SIM115 - closed below, after sendfile
        except FetchError as exc:
            self._json(exc.http_status, exc.body())
            return
        except OSError:
            self._json(403, {"error_code": "PERMISSION_DENIED",
                             "message": "the result no longer exists"})
            return
        with fh:
            size = os.fstat(fh.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Type", media_type(path))
            self.send_header("Content-Length", str(size))
            self.send_header("Cache-Control", "private, no-store")
            self.end_headers()
            self.wfile.flush()
            if body and size:
                self.connection.sendfile(fh, 0, size)

    def _json(self, status: int, payload: dict[str, str], *, close: bool = False,
              extra: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Access logs off (like the gateway's); errors go to the module logger at debug."""
        log.debug("link %s: " + format, self.client_address[0], *args)


class _Server(http.server.ThreadingHTTPServer):
    """ThreadingHTTPServer with a bound on connections and a registry to close them on stop."""

    daemon_threads = True
    block_on_close = False  # stop() joins the threads itself, with a bound
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], store: LocalStore, max_connections: int,
                 idle_s: float) -> None:
        self.store = store
        self.idle_s = idle_s
        self.max_connections = max_connections
        self._lock = threading.Lock()
        self._open: dict[socket.socket, threading.Thread | None] = {}
        super().__init__(addr, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """One thread per connection, up to `max_connections`; the next one gets 503."""
        with self._lock:
            if len(self._open) >= self.max_connections:
                full = True
            else:
                full = False
                self._open[request] = None
        if full:
            with contextlib.suppress(OSError):
                body = b'{"error_code":"TEMPORARILY_UNAVAILABLE","message":"too many connections"}'
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
                                b"Content-Type: application/json\r\nRetry-After: 1\r\n"
                                b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            self.shutdown_request(request)
            return
        thread = threading.Thread(target=self.process_request_thread,
                                  args=(request, client_address),
                                  name="sqlgate-links-conn", daemon=True)
        with self._lock:
            self._open[request] = thread
        thread.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve the connection, then forget it."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._open.pop(request, None)

    def close_connections(self, timeout_s: float) -> int:
        """Shut every open connection down and join its thread; the count still alive."""
        with self._lock:
            open_now = list(self._open.items())
        for sock, _ in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        alive = 0
        for _, thread in open_now:
            if thread is not None:
                thread.join(timeout_s)
                alive += thread.is_alive()
        return alive


class _Server6(_Server):
    address_family = socket.AF_INET6


class LinkServer:
    """The link listener's lifecycle: `start()` binds and serves, `stop()` ends every thread."""

    def __init__(self, store: LocalStore, *, host: str, port: int, max_connections: int,
                 idle_s: float) -> None:
        self.store = store
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self.idle_s = idle_s
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually bound (port 0 asks the OS for a free one)."""
        if self._server is None:
            raise RuntimeError("link server not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Bind and serve in a background thread; OSError when the port is taken."""
        if self._server is not None:
            return
        server_cls = _Server6 if ":" in self.host else _Server
        self._server = server_cls((self.host, self.port), self.store, self.max_connections,
                                  self.idle_s)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
            name="sqlgate-links", daemon=True,
        )
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop accepting, close open connections, join every thread (bounded)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()  # returns once serve_forever has left its loop
        server.server_close()
        if thread is not None:
            thread.join(timeout_s)
        alive = server.close_connections(timeout_s)
        if alive:
            log.warning("link server: %d connection thread(s) still alive after stop", alive)


def listener_url(host: str, port: int, public_url: str = "") -> str:
    """The base URL of the link listener: `public_url` when set, else http://host:port."""
    if public_url:
        return public_url.rstrip("/")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


__all__ = ["PREFIX", "LinkServer", "listener_url"]
