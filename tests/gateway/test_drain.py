"""SIGTERM drains (gateway/server.py): the listener keeps answering the statements already
submitted for the grace period while new ones get 503, then the process exits 0.

A real ``sqlgate serve`` process over the session's TPC-H lake.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.server import free_socket
from tests.fixtures.waiting import eventually
from tests.gateway.pool.test_warehouse_engine import SLOW_SQL

TOKEN = "dapi-drain"
URL = "/api/2.0/sql/statements"
# The checks below run inside the drain; on a loaded CI machine (2 cores, load 15-28) three
# requests can take seconds, so the grace leaves room for them.
GRACE_S = 12
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def served(tpch_lake: tuple[Path, Path],
           tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sqlgate.cli", "serve", "--lake", str(tpch_lake[0]),
         "--results", str(tmp_path / "results"), "--host", "127.0.0.1", "--port", str(port),
         "--token", TOKEN, "--set", f"cache_dir={tmp_path / 'cache'}",
         "--set", "min_workers=1", "--set", "max_workers=1", "--set", "threads=1",
         "--set", "memory_limit=1GB", "--set", "stop_grace_s=1",
         "--set", "worker_start_timeout_s=120",
         "--set", f"shutdown_grace_s={GRACE_S}", "--set", "log_level=warning"],
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the gateway did not come up in 120 s"
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield url, proc
    finally:
        if proc.poll() is None:  # a failed test: stop it anyway, by its own pid only
            proc.kill()
            proc.wait(timeout=10)


def test_sigterm_answers_open_statements_and_refuses_new_ones(
        served: tuple[str, subprocess.Popen[bytes]], tmp_path: Path) -> None:
    url, proc = served
    wh = "sqlgate0000000001"
    # the API's longest wait: the first statement may wait for the worker to start
    done = httpx.post(url + URL, headers=AUTH, timeout=120, json={
        "statement": "SELECT count(*) AS n FROM main.tpch.nation", "warehouse_id": wh,
        "wait_timeout": "50s"}).json()
    assert done["status"]["state"] == "SUCCEEDED"
    running = httpx.post(url + URL, headers=AUTH, timeout=60, json={
        "statement": SLOW_SQL, "warehouse_id": wh, "wait_timeout": "0s"}).json()
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    # The gateway logs when the drain begins: wait for that, not a fixed time (under load
    # the signal may not have been handled yet, and SELECT 1 would rightly be accepted).
    log = tmp_path / "serve.log"  # the fixture's (tmp_path is one directory per test)
    assert eventually(lambda: "draining: new statements get 503" in log.read_text(),
                      timeout=GRACE_S), log.read_text()[-2000:]
    new = httpx.post(url + URL, headers=AUTH, timeout=10, json={
        "statement": "SELECT 1", "warehouse_id": wh})
    assert new.status_code == 503, new.text
    assert new.json()["error_code"] == "TEMPORARILY_UNAVAILABLE" and "retry-after" in new.headers
    polled = httpx.get(f"{url}{URL}/{running['statement_id']}", headers=AUTH, timeout=10)
    assert polled.status_code == 200 and polled.json()["status"]["state"] in (
        "PENDING", "RUNNING")
    fetched = httpx.get(f"{url}{URL}/{done['statement_id']}/result/chunks/0", headers=AUTH,
                        timeout=10)
    assert fetched.status_code == 200 and fetched.json()["data_array"] == [["25"]]
    assert time.monotonic() - began < GRACE_S
    assert proc.wait(timeout=GRACE_S + 30) == 0
