"""A real gateway (uvicorn + warm pool) restarted on the same state store and result store:
its finished statements answer with their results, and the links it signed still work."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pyarrow as pa
import pytest

from sqlgate.settings import EngineSettings
from tests.fixtures.server import TOKEN, free_socket, running_gateway, server_settings

pytestmark = pytest.mark.e2e
API = "/api/2.0/sql/statements"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _same_port(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def test_restart_keeps_inline_and_external_results_and_links(
        engine_settings: EngineSettings, tmp_path: Path) -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    settings = server_settings(engine_settings, tmp_path / "results", port,
                               gateway_id="gw-restart", min_workers=1, max_workers=1)
    with running_gateway(settings, sock=sock) as url, httpx.Client(headers=AUTH,
                                                                   timeout=120) as http:
        inline = http.post(f"{url}{API}", json={
            "statement": "SELECT n_name FROM main.tpch.nation ORDER BY n_nationkey LIMIT 3",
            "warehouse_id": settings.gateway.warehouse_id, "wait_timeout": "50s"}).json()
        external = http.post(f"{url}{API}", json={
            "statement": "SELECT l_orderkey, l_comment FROM main.tpch.lineitem",
            "warehouse_id": settings.gateway.warehouse_id, "wait_timeout": "50s",
            "disposition": "EXTERNAL_LINKS", "format": "ARROW_STREAM"}).json()
        assert external["status"]["state"] == "SUCCEEDED", external
        link = external["result"]["external_links"][0]["external_link"]
        before = httpx.get(link).content
    with running_gateway(settings, sock=_same_port(port)) as url, httpx.Client(
            headers=AUTH, timeout=120) as http:
        again = http.get(f"{url}{API}/{inline['statement_id']}").json()
        assert again["status"]["state"] == "SUCCEEDED"
        assert again["result"]["data_array"] == inline["result"]["data_array"]
        ext = http.get(f"{url}{API}/{external['statement_id']}").json()
        assert ext["manifest"] == external["manifest"]
        rows = 0
        for n in range(ext["manifest"]["total_chunk_count"]):
            chunk = http.get(f"{url}{API}/{external['statement_id']}/result/chunks/{n}").json()
            data = httpx.get(chunk["external_links"][0]["external_link"]).content
            rows += pa.ipc.open_stream(data).read_all().num_rows
        assert rows == external["manifest"]["total_row_count"] > 0
        # The link signed before the restart is still good (the secret lives in the store).
        assert httpx.get(link).content == before
        # Closing after the restart deletes the chunks: the old link now answers 403.
        assert http.delete(f"{url}{API}/{external['statement_id']}").status_code == 200
        assert httpx.get(link).status_code == 403
