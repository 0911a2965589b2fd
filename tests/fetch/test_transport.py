"""LinkTransport against a scripted HTTP server: keep-alive, stale connections, bad bodies."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fetch.transport import LinkTransport, TransportError

BODY = bytes(range(256)) * 4096  # 1 MiB


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        # the client's (address, port) names the connection; id() of a closed socket is reused
        self.server.connections.add(self.client_address)
        self.server.paths.append(self.path)
        mode = self.path.split("?")[0].strip("/")
        if mode == "ok":
            self._send(200, BODY)
        elif mode == "denied":
            self._send(403, b'{"error_code":"PERMISSION_DENIED"}')
        elif mode == "short":  # promises more than it sends, then hangs up
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY[:1000])
            self.close_connection = True
        elif mode == "huge":
            self.send_response(200)
            self.send_header("Content-Length", str(10**12))
            self.end_headers()
            self.close_connection = True
        elif mode == "chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (BODY[:300_000], BODY[300_000:]):
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif mode == "once":  # answers, then closes the kept-alive connection behind it
            self._send(200, BODY)
            self.close_connection = True

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    connections: set[tuple[str, int]]
    paths: list[str]

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gives up mid-body (the size-limit cases) resets the connection
        # while the handler still writes: expected here, so not printed over the test run.
        pass


@pytest.fixture
def server() -> Iterator[tuple[_Server, str]]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.connections, srv.paths = set(), []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv, f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def test_bodies_arrive_whole_over_one_kept_alive_connection(
    server: tuple[_Server, str],
) -> None:
    srv, url = server
    transport = LinkTransport(timeout_s=5.0)
    try:
        for _ in range(3):
            resp = transport.get(f"{url}/ok?sig=x", {"x-amz-sse": "k"})
            assert resp.status == 200 and resp.body == BODY
        assert len(srv.connections) == 1
        assert srv.paths == ["/ok?sig=x"] * 3
    finally:
        transport.close()


def test_refusals_come_back_as_status_without_body(server: tuple[_Server, str]) -> None:
    _, url = server
    transport = LinkTransport(timeout_s=5.0)
    try:
        resp = transport.get(f"{url}/denied", {})
        assert (resp.status, resp.body) == (403, b"")
        assert transport.get(f"{url}/ok", {}).body == BODY  # the connection is still usable
    finally:
        transport.close()


def test_short_oversized_and_chunked_bodies(server: tuple[_Server, str]) -> None:
    _, url = server
    transport = LinkTransport(timeout_s=5.0, max_chunk_bytes=2 * len(BODY))
    try:
        with pytest.raises(TransportError, match="closed after 1000"):
            transport.get(f"{url}/short", {})
        with pytest.raises(TransportError, match="over"):
            transport.get(f"{url}/huge", {})
        assert transport.get(f"{url}/chunked", {}).body == BODY
        small = LinkTransport(timeout_s=5.0, max_chunk_bytes=1000)
        with pytest.raises(TransportError, match="larger than"):
            small.get(f"{url}/chunked", {})
        small.close()
    finally:
        transport.close()


def test_a_connection_closed_while_idle_is_replaced_transparently(
    server: tuple[_Server, str],
) -> None:
    srv, url = server
    transport = LinkTransport(timeout_s=5.0)
    try:
        assert transport.get(f"{url}/once", {}).body == BODY
        # the server hung up after answering; the next GET must not fail because of it
        assert transport.get(f"{url}/ok", {}).body == BODY
        assert len(srv.connections) == 2
    finally:
        transport.close()


def test_unreachable_and_non_http_links_raise_transport_errors() -> None:
    transport = LinkTransport(timeout_s=2.0)
    with pytest.raises(TransportError):
        transport.get("http://127.0.0.1:9/x", {})  # discard port: nobody listens
    with pytest.raises(TransportError, match="not an http"):
        transport.get("file:///etc/passwd", {})
    transport.close()


def test_api_calls_return_any_status_with_its_body_on_the_same_connection(
    server: tuple[_Server, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    srv, url = server
    transport = LinkTransport(timeout_s=5.0)
    try:
        assert transport.call(f"{url}/denied", {}) == (403, b'{"error_code":"PERMISSION_DENIED"}')
        assert transport.call(f"{url}/ok", {"Authorization": "Bearer t"}) == (200, BODY)
        assert transport.get(f"{url}/ok", {}).body == BODY  # links share the connection
        assert len(srv.connections) == 1
        monkeypatch.setattr("fetch.transport.MAX_API_BYTES", 1000)
        with pytest.raises(TransportError, match="larger than 1000"):
            transport.call(f"{url}/ok", {})
        assert transport.call(f"{url}/denied", {})[0] == 403  # a fresh connection after that
    finally:
        transport.close()
