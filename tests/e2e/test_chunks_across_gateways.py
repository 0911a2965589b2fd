"""Chunks of a statement still running on one gateway are handed out by another at once.

Two real ``sqlgate serve`` processes on one PostgreSQL state store and one result store,
1 MiB chunks: a long EXTERNAL_LINKS statement is submitted to A; B answers its first chunks
(links that download) while A still reports it RUNNING, because A adds each chunk to the
stored record as its worker stores it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow as pa
import pytest

from tests.fixtures.serve import Served, serve

pytestmark = pytest.mark.e2e
TOKEN = "dapi-chunks"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
API = "/api/2.0/sql/statements"
# Rows stream out of a cross join for many seconds; the byte limit ends it if nothing else.
LONG = ("SELECT a.l_orderkey, a.l_comment, b.l_comment AS other "
        "FROM main.tpch.lineitem a CROSS JOIN main.tpch.lineitem b")


@pytest.fixture
def pair(tpch_lake: tuple[Path, Path], tmp_path: Path,
         postgres_url: str) -> Iterator[tuple[Served, Served]]:
    common = {"state_store": postgres_url, "state_poll_s": 0.1,
              "chunk_target_bytes": 1 << 20, "chunk_wait_s": 20}
    with serve(tmp_path, tpch_lake[0], name="a", token=TOKEN,
               settings={**common, "gateway_id": "gw-a"}) as a, \
            serve(tmp_path, tpch_lake[0], name="b", token=TOKEN,
                  settings={**common, "gateway_id": "gw-b"}) as b:
        yield a, b


def test_another_gateway_hands_out_chunks_while_the_statement_runs(
        pair: tuple[Served, Served]) -> None:
    a, b = pair
    with httpx.Client(headers=AUTH, timeout=60) as http:
        sid = http.post(f"{a.url}{API}", json={
            "statement": LONG, "warehouse_id": "sqlgate0000000001", "wait_timeout": "0s",
            "disposition": "EXTERNAL_LINKS", "format": "ARROW_STREAM",
            "byte_limit": 2 << 30}).json()["statement_id"]
        try:
            began = time.monotonic()
            rows = 0
            for n in range(3):
                chunk = http.get(f"{b.url}{API}/{sid}/result/chunks/{n}")
                assert chunk.status_code == 200, (
                    chunk.text, http.get(f"{a.url}{API}/{sid}").json()["status"])
                link = chunk.json()["external_links"][0]
                assert link["chunk_index"] == n
                data = httpx.get(link["external_link"]).content
                rows += pa.ipc.open_stream(data).read_all().num_rows
            assert rows > 0
            # Still running on A (and so on B): the links came from its progressive record.
            assert http.get(f"{b.url}{API}/{sid}").json()["status"]["state"] == "RUNNING"
            assert http.get(f"{a.url}{API}/{sid}").json()["status"]["state"] == "RUNNING"
            assert time.monotonic() - began < 20
        finally:
            http.post(f"{b.url}{API}/{sid}/cancel")
