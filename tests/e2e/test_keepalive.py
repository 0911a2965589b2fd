"""Idle keep-alive connections outlive uvicorn's 5 s default (settings.keep_alive_s): drivers
reuse idle sockets for minutes, and a server that closes them first turns the next request
into "socket hang up" (Node @databricks/sql did, during cloud-fetch downloads)."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlparse

import pytest

from sqlgate.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _get(sock: socket.socket, path: str) -> bytes:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        if not more:
            return data
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(ln.split(b":")[1] for ln in head.split(b"\r\n")
                      if ln.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_idle_connection_is_kept_past_uvicorn_default(
    gateway_server: tuple[str, str, Settings],
) -> None:
    url, _, settings = gateway_server
    assert settings.gateway.keep_alive_s >= 60
    with socket.create_connection(("127.0.0.1", urlparse(url).port), timeout=10) as sock:
        assert _get(sock, "/healthz").startswith(b"HTTP/1.1 200")
        time.sleep(6.5)  # past uvicorn's own 5 s
        assert _get(sock, "/healthz").startswith(b"HTTP/1.1 200")
