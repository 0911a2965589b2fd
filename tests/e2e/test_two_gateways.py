"""Two real gateways (uvicorn + warm pool each) on one PostgreSQL state store and one result
store: either answers the other's statements and chunks, and a cancel sent to one stops the
statement on the other's worker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow as pa
import pytest

from sqlgate.settings import EngineSettings
from tests.fixtures.server import TOKEN, free_socket, running_gateway, server_settings
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.e2e
API = "/api/2.0/sql/statements"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Seconds of work for one worker at SF 0.01 (a 60k x 60k comparison), cancelled long before.
SLOW = ("SELECT count(*) AS n FROM main.tpch.lineitem a JOIN main.tpch.lineitem b "
        "ON a.l_comment < b.l_comment")


@pytest.fixture
def gateways(engine_settings: EngineSettings, tmp_path: Path,
             postgres_url: str) -> Iterator[tuple[str, str]]:
    urls = []
    with contextlib_exit() as stack:
        for name in ("a", "b"):
            sock = free_socket()
            settings = server_settings(
                engine_settings, tmp_path / "results", sock.getsockname()[1],
                state_store=postgres_url, gateway_id=f"gw-{name}", min_workers=1,
                max_workers=1, state_poll_s=0.1)
            urls.append(stack.enter_context(running_gateway(settings, sock=sock)))
        yield urls[0], urls[1]


def contextlib_exit():  # type: ignore[no-untyped-def]
    import contextlib

    return contextlib.ExitStack()


def test_any_gateway_serves_the_others_chunks_and_cancels(gateways: tuple[str, str]) -> None:
    a, b = gateways
    with httpx.Client(headers=AUTH, timeout=120) as http:
        done = http.post(f"{a}{API}", json={
            "statement": "SELECT l_orderkey, l_comment FROM main.tpch.lineitem",
            "warehouse_id": "sqlgate0000000001", "wait_timeout": "50s",
            "disposition": "EXTERNAL_LINKS", "format": "ARROW_STREAM"}).json()
        assert done["status"]["state"] == "SUCCEEDED", done
        sid = done["statement_id"]
        seen = http.get(f"{b}{API}/{sid}").json()
        assert seen["manifest"] == done["manifest"]
        chunk = http.get(f"{b}{API}/{sid}/result/chunks/0").json()
        table = pa.ipc.open_stream(httpx.get(chunk["external_links"][0]["external_link"])
                                   .content).read_all()
        assert table.num_rows == done["manifest"]["chunks"][0]["row_count"]

        slow = http.post(f"{a}{API}", json={"statement": SLOW, "wait_timeout": "0s",
                                            "warehouse_id": "sqlgate0000000001"}).json()
        slow_id = slow["statement_id"]
        assert eventually(lambda: http.get(f"{a}{API}/{slow_id}").json()["status"]["state"]
                          == "RUNNING")
        started = time.monotonic()
        assert http.post(f"{b}{API}/{slow_id}/cancel").json() == {}
        assert eventually(lambda: http.get(f"{b}{API}/{slow_id}").json()["status"]["state"]
                          == "CANCELED", timeout=20)
        assert time.monotonic() - started < 20
        # The worker on A is free again: a new statement there runs at once.
        quick = http.post(f"{a}{API}", json={"statement": "SELECT 1 AS one",
                                             "warehouse_id": "sqlgate0000000001",
                                             "wait_timeout": "50s"}).json()
        assert quick["status"]["state"] == "SUCCEEDED"
        # B closes A's statement: its chunks go, for both.
        assert http.delete(f"{b}{API}/{sid}").status_code == 200
        assert http.get(f"{b}{API}/{sid}").json()["status"]["state"] == "CLOSED"
        assert httpx.get(chunk["external_links"][0]["external_link"]).status_code == 403
        assert eventually(
            lambda: http.get(f"{a}{API}/{sid}").json()["status"]["state"] == "CLOSED")
