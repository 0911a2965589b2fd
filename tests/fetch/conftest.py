"""Fixtures for the fetch tests: a local store, and a real uvicorn serving its signed links.

`link_server` runs a tiny starlette app on 127.0.0.1: the real `gateway.rest.links` route plus a
stand-in for the REST chunk endpoint (``GET /api/2.0/sql/statements/{id}/result/chunks/{n}``,
Bearer token required) that hands out fresh links for statements the test registered. Every
request's headers are recorded so tests can check that link GETs carry no Authorization.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fetch import LocalStore, ResultStore
from gateway.rest.links import links_routes
from sqlgate.settings import FetchSettings
from sqlgate.types import ChunkInfo

TOKEN = "dapi-test-token"


@pytest.fixture
def local_settings(tmp_path: Path) -> FetchSettings:
    """FetchSettings for a local store in a temp dir, with a fixed secret."""
    return FetchSettings(results=str(tmp_path / "results"), signing_secret="test-secret")


@pytest.fixture
def local_store(local_settings: FetchSettings) -> LocalStore:
    """A LocalStore in a temp dir."""
    return LocalStore(local_settings)


@dataclass
class LinkServer:
    """A running uvicorn with the links route and a stand-in chunk endpoint."""

    url: str
    store: LocalStore
    statements: dict[str, tuple[ResultStore, tuple[ChunkInfo, ...], int | None]] = field(
        default_factory=dict
    )
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def register(
        self, statement_id: str, store: ResultStore, chunks: tuple[ChunkInfo, ...],
        ttl_s: int | None = None,
    ) -> None:
        """Let the chunk endpoint hand out links (valid `ttl_s`) for these chunks."""
        self.statements[statement_id] = (store, chunks, ttl_s)


def _app(server: LinkServer) -> Starlette:
    async def chunk(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error_code": "UNAUTHENTICATED", "message": "no"}, 401)
        sid, index = request.path_params["sid"], int(request.path_params.get("n", 0))
        if sid not in server.statements:
            return JSONResponse({"error_code": "NOT_FOUND", "message": sid}, 404)
        store, chunks, ttl = server.statements[sid]
        info = chunks[index]
        assert info.key is not None
        link = store.link(info.key, ttl)
        entry: dict[str, Any] = {
            "chunk_index": info.chunk_index, "row_offset": info.row_offset,
            "row_count": info.row_count, "byte_count": info.byte_count,
            "external_link": link.url, "expiration": link.expiration_text(),
        }
        return JSONResponse({"chunk_index": index, "external_links": [entry]})

    async def statement(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error_code": "UNAUTHENTICATED", "message": "no"}, 401)
        sid = request.path_params["sid"]
        if sid not in server.statements:
            return JSONResponse({"error_code": "NOT_FOUND", "message": sid}, 404)
        _, chunks, _ = server.statements[sid]
        first = await chunk(request) if chunks else None
        body: dict[str, Any] = {
            "statement_id": sid,
            "status": {"state": "SUCCEEDED"},
            "manifest": {"format": "ARROW_STREAM", "total_chunk_count": len(chunks)},
        }
        if first is not None:
            body["result"] = json.loads(bytes(first.body))
        return JSONResponse(body)

    app = Starlette(routes=[
        *links_routes(server.store),
        Route("/api/2.0/sql/statements/{sid}/result/chunks/{n:int}", chunk),
        Route("/api/2.0/sql/statements/{sid}", statement),
    ])

    async def record(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            server.requests.append((scope["path"], headers))
        await app(scope, receive, send)

    return record  # type: ignore[return-value]


@pytest.fixture
def link_server(tmp_path: Path) -> Iterator[LinkServer]:
    """A real uvicorn on 127.0.0.1 serving a LocalStore's links; stopped after the test."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = FetchSettings(
        results=str(tmp_path / "served"), signing_secret="served-secret", public_url=url
    )
    server = LinkServer(url=url, store=LocalStore(settings))
    config = uvicorn.Config(_app(server), log_level="warning", lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert uv.started, "uvicorn did not start"
    try:
        yield server
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        sock.close()
