"""A request uvicorn cannot parse gets the API's JSON error body, not plain text."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from gateway.app import build_app
from gateway.wire import bad_request_bytes
from sqlgate.settings import Settings
from tests.fixtures.server import TOKEN, running_gateway
from tests.gateway.fakes import FakeBackend


@pytest.fixture(scope="module")
def address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    s = Settings().replace(token=TOKEN, results=str(tmp_path_factory.mktemp("res")),
                           log_level="warning", shutdown_grace_s=0.5)
    with running_gateway(s, app=build_app(s, backend=FakeBackend())) as url:
        parts = urlsplit(url)
        yield parts.hostname or "127.0.0.1", parts.port or 80


def _exchange(address: tuple[str, int], raw: bytes) -> bytes:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):  # the server closes the connection after a 400
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("raw", [
    b"GET /api/2.0/sql/statements/\x01 HTTP/1.1\r\nHost: x\r\n\r\n",   # control char in target
    b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",               # header without a colon
    b"NOT AN HTTP REQUEST\r\n\r\n",
])
def test_unparsable_request_gets_a_json_400(address: tuple[str, int], raw: bytes) -> None:
    head, _, body = _exchange(address, raw).partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 400 Bad Request"
    assert b"content-type: application/json" in head.lower()
    error = json.loads(body)
    assert error["error_code"] == "BAD_REQUEST" and error["message"]


def test_a_good_request_on_the_same_server_still_works(address: tuple[str, int]) -> None:
    raw = b"GET /api/2.0/sql/statements/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    head, _, body = _exchange(address, raw).partition(b"\r\n\r\n")
    assert b" 401 " in head.split(b"\r\n")[0]  # no token: the app itself answered
    assert json.loads(body)["error_code"]


def test_response_bytes_are_one_well_formed_http_message() -> None:
    raw = bad_request_bytes("Invalid HTTP request received.")
    head, _, body = raw.partition(b"\r\n\r\n")
    length = [line for line in head.split(b"\r\n") if line.startswith(b"content-length")]
    assert int(length[0].split(b":")[1]) == len(body)
