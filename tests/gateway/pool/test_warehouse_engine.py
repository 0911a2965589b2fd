"""The pool with the real engine: forked warm workers over the TPC-H lake."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import pytest

from gateway.core.backend import StatementFailed
from gateway.pool.warehouse import RUNNING, STOPPED, WarehousePool
from sqlgate.settings import EngineSettings, Settings
from sqlgate.types import StatementTask
from tests.fixtures.waiting import WAIT_S, until, until_in_thread
from tests.gateway.pool.test_warehouse import (
    Events,
    _baseline_children,
    children,
    running_on,
)

# The same baseline of pre-existing children as test_pool (pytest collects imported fixtures).
__all__ = ["_baseline_children"]

# A self-join the sandbox allows that runs for many seconds at SF 0.01.
SLOW_SQL = ("SELECT count(*) FROM main.tpch.lineitem a, main.tpch.lineitem b "
            "WHERE a.l_orderkey < b.l_orderkey AND a.l_partkey < 100000")


# Bounds a worker's start (template imports, fork, Engine): a failure only, never how long
# the test takes. WAIT_S bounds the conditions that take well under a second when idle.
START_S = 60.0


def descendants() -> list[int]:
    """Every live process below this one (workers are grandchildren via the template)."""
    found, frontier = [], [os.getpid()]
    while frontier:
        parent = frontier.pop()
        for pid in children_of(parent):
            found.append(pid)
            frontier.append(pid)
    return found


def children_of(parent: int) -> list[int]:
    me = os.getpid()
    try:
        return children() if parent == me else [
            int(p) for p in open(f"/proc/{parent}/task/{parent}/children").read().split()]
    except OSError:
        return []


@pytest.mark.slow
def test_forked_workers_run_fail_on_kill_and_leave_nothing(
    engine_settings: EngineSettings, tmp_path: Any
) -> None:
    # The deadlines are generous on purpose: on a loaded CI machine (2 cores, load 15-28) the
    # template's imports alone took over 30 s, the default start timeout. None of them is
    # what this test checks; the idle stop (auto_stop_s) and the kill are. Heartbeats are
    # slow too (a 0.5 s ping timeout can miss three times under load, and the kill must be
    # the template's report, not the heartbeat's).
    settings = Settings(engine=engine_settings).replace(
        results=str(tmp_path / "results"), min_workers=1, max_workers=1, worker_concurrency=2,
        heartbeat_s=5.0, auto_stop_s=1.5, stop_grace_s=2.0, shutdown_grace_s=2.0,
        worker_start_timeout_s=START_S, signing_secret="x",
    )

    async def body() -> None:
        pool = WarehousePool(settings)
        await pool.start_background()
        try:
            await until(lambda: pool.state == RUNNING, timeout=2 * START_S)
            ok = await pool.run(StatementTask("a", "SELECT count(*) AS n FROM main.tpch.nation"),
                                Events())
            assert ok.batches[0].to_pydict() == {"n": [25]}
            victim = asyncio.ensure_future(pool.run(StatementTask("b", SLOW_SQL), Events()))
            await until(lambda: pool.scheduler.running == 1, timeout=WAIT_S)
            # Kill it once the worker itself has the statement (its ping counts it), not after
            # a fixed sleep: under load the statement may not have left the gateway yet, and a
            # worker known dead before the statement was sent is retried elsewhere instead.
            worker = pool._members[0].worker
            await until_in_thread(lambda: running_on(worker) == 1, timeout=WAIT_S)
            worker_pid = worker.proc.pid  # type: ignore[attr-defined]
            os.kill(worker_pid, signal.SIGKILL)
            began = time.monotonic()
            with pytest.raises(StatementFailed) as info:
                await victim
            assert time.monotonic() - began < 10
            assert info.value.error.error_code == "ABORTED"
            assert f"worker process {worker_pid} exited with signal 9" in info.value.error.message
            again = await pool.run(StatementTask("c", "SELECT 1 AS x"), Events())
            assert again.batches[0].to_pydict() == {"x": [1]}
            await until(lambda: pool.state == STOPPED, timeout=WAIT_S)  # idle shutdown
            assert pool.metrics()["cold_starts"] >= 1
        finally:
            await pool.aclose()
        await until(lambda: descendants() == [], timeout=WAIT_S)

    asyncio.run(asyncio.wait_for(body(), 4 * START_S))
