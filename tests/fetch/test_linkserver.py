"""The sendfile link listener: signed chunks served, bad links refused, keep-alive, clean stop."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fetch import LocalStore
from fetch.linkserver import LinkServer, listener_url
from sqlgate.settings import FetchSettings

KEY = "ws/20240501/s1-ab/0.arrow"
DATA = bytes(range(256)) * 4096  # 1 MiB, every byte value


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[LocalStore, LinkServer]]:
    # Bind first on port 0, then sign links to the port we got: a second store over the same
    # directory and secret (what the server checks) whose public URL is the listener.
    server = LinkServer(LocalStore(FetchSettings(results=str(tmp_path), signing_secret="s")),
                        host="127.0.0.1", port=0, max_connections=4, idle_s=5.0)
    server.start()
    host, port = server.address
    store = LocalStore(FetchSettings(results=str(tmp_path), signing_secret="s",
                                     public_url=listener_url(host, port)))
    store.put(KEY, DATA)
    try:
        yield store, server
    finally:
        server.stop()


def _conn(server: LinkServer) -> http.client.HTTPConnection:
    host, port = server.address
    return http.client.HTTPConnection(host, port, timeout=10)


def _target(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def test_serves_a_signed_chunk_with_keep_alive(served: tuple[LocalStore, LinkServer]) -> None:
    store, server = served
    conn = _conn(server)
    try:
        for _ in range(3):  # three requests, one connection
            conn.request("GET", _target(store.link(KEY).url))
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.getheader("Content-Type") == "application/vnd.apache.arrow.stream"
            assert resp.getheader("Content-Length") == str(len(DATA))
            assert resp.read() == DATA
            assert not resp.will_close
        first_sock = conn.sock
        conn.request("HEAD", _target(store.link(KEY).url))
        head = conn.getresponse()
        assert head.status == 200 and head.getheader("Content-Length") == str(len(DATA))
        assert head.read() == b""
        assert conn.sock is first_sock  # still the same TCP connection
    finally:
        conn.close()


def test_refuses_tampered_expired_unknown(served: tuple[LocalStore, LinkServer]) -> None:
    store, server = served
    good = store.link(KEY).url
    parts = urlsplit(good)
    sig = parts.query.split("sig=")[1]
    tampered = good.replace(sig, ("0" if sig[0] != "0" else "1") + sig[1:])
    past = int(time.time()) - 5
    expired = f"{parts.path}?expires={past}&sig={store.signature(KEY, past)}"
    store.put("ws/20240501/s1-ab/1.arrow", b"x")
    unknown = store.link("ws/20240501/s1-ab/1.arrow").url
    store.delete_prefix("ws/20240501/s1-ab/1.arrow")
    other_key = good.replace("/0.arrow", "/2.arrow")
    conn = _conn(server)
    try:
        for target in (_target(tampered), expired, _target(unknown), _target(other_key),
                       parts.path, f"{parts.path}?expires=soon&sig=zz", "/_results/../x"):
            conn.request("GET", target)
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 403, target
            assert b'"error_code": "PERMISSION_DENIED"' in body
            assert DATA[:64] not in body
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        assert resp.status == 404 and b"NOT_FOUND" in resp.read()
        conn.request("POST", _target(good), body=b"{}")
        resp = conn.getresponse()
        assert resp.status == 405 and resp.getheader("Allow") == "GET, HEAD"
        resp.read()
    finally:
        conn.close()


def test_bounded_request_line_and_connections(served: tuple[LocalStore, LinkServer]) -> None:
    _, server = served
    conn = _conn(server)
    try:
        conn.request("GET", "/_results/" + "a" * 9000)
        resp = conn.getresponse()
        assert resp.status == 414
        resp.read()
    finally:
        conn.close()
    host, port = server.address
    held = [socket.create_connection((host, port), timeout=10) for _ in range(4)]
    try:
        deadline = time.monotonic() + 30
        extra = None
        while time.monotonic() < deadline:  # the four are registered by the accept thread
            extra = socket.create_connection((host, port), timeout=10)
            reply = extra.recv(4096)
            extra.close()
            if reply.startswith(b"HTTP/1.1 503"):
                break
            time.sleep(0.05)
        else:
            pytest.fail("a fifth connection was not refused with 503")
    finally:
        for s in held:
            s.close()


STOP_S = 30.0


def test_stop_closes_idle_connections_and_threads(tmp_path: Path) -> None:
    store = LocalStore(FetchSettings(results=str(tmp_path), signing_secret="s"))
    store.put(KEY, DATA)
    before = set(threading.enumerate())
    server = LinkServer(store, host="127.0.0.1", port=0, max_connections=4, idle_s=600.0)
    server.start()
    host, port = server.address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", _target(store.link(KEY).url))
    assert conn.getresponse().read() == DATA  # the connection stays open, idle
    started = time.monotonic()
    server.stop(timeout_s=STOP_S)
    # before its own bound (threads left waiting would use all of it), and not the 600 s
    # idle timeout
    assert time.monotonic() - started < STOP_S
    assert set(threading.enumerate()) - before == set()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, port), timeout=2)
    conn.close()


def test_listener_url() -> None:
    assert listener_url("0.0.0.0", 8001) == "http://127.0.0.1:8001"
    assert listener_url("::1", 8001) == "http://[::1]:8001"
    assert listener_url("10.0.0.5", 8001, "https://links.example/") == "https://links.example"


def test_links_port_auto_and_tls() -> None:
    from gateway.app import build_app
    from gateway.server import resolve_links
    from sqlgate.settings import Settings

    assert resolve_links(Settings().replace(port=9000)).gateway.links_port == 0  # default off
    auto = Settings().replace(links_port=-1)
    assert resolve_links(auto.replace(port=9000)).gateway.links_port == 9001
    with socket.create_server(("127.0.0.1", 0)) as taken:  # auto falls back, never fails
        busy = taken.getsockname()[1] - 1
        assert resolve_links(auto.replace(port=busy)).gateway.links_port == 0
    assert resolve_links(auto.replace(port=0)).gateway.links_port == 0
    tls = auto.replace(port=9000, tls_cert="c.pem", tls_key="k.pem")
    assert resolve_links(tls).gateway.links_port == 0  # HTTPS keeps the gateway's route
    assert resolve_links(Settings().replace(links_port=7000)).gateway.links_port == 7000
    with pytest.raises(ValueError, match="plain-HTTP"):
        build_app(tls.replace(links_port=9001))


def test_app_lifespan_runs_the_listener(tmp_path: Path) -> None:
    from gateway.app import build_app
    from sqlgate.settings import Settings
    from tests.fixtures.server import running_gateway
    from tests.gateway.fakes import FakeBackend

    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    settings = Settings().replace(results=str(tmp_path), links_port=port, token="t",
                                  signing_secret="s", log_level="warning")
    app = build_app(settings, backend=FakeBackend())
    store = app.state.gateway.store
    before = set(threading.enumerate())
    with running_gateway(settings, app=app):
        # stored once the gateway runs: a chunk nothing points to is swept at startup
        store.put(KEY, DATA)
        link = store.link(KEY).url
        assert link.startswith(f"http://127.0.0.1:{port}/_results/")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", _target(link))
        assert conn.getresponse().read() == DATA
        conn.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    assert not [t for t in set(threading.enumerate()) - before if "links" in t.name]
