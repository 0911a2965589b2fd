"""Workers that die: statements that had not reached them run elsewhere, and the pool
notices at once (the template reports exits; its own death ends its workers).

The real engine, forked warm workers over the TPC-H lake.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import pytest

from gateway.core.backend import StatementFailed
from gateway.pool.warehouse import RUNNING, WarehousePool
from sqlgate.settings import EngineSettings, Settings
from sqlgate.types import StatementTask
from tests.fixtures.waiting import until, until_in_thread
from tests.gateway.pool.test_warehouse import Events, _baseline_children, running_on
from tests.gateway.pool.test_warehouse_engine import SLOW_SQL, descendants

__all__ = ["_baseline_children"]
QUERY = "SELECT count(*) AS n FROM main.tpch.nation"


# A lost worker is noticed at once (its template reports the exit); the heartbeats, three
# missed beats of HEARTBEAT_S, would take at least 2 * HEARTBEAT_S. "At once" is checked as
# "within NOTICED_S", well below that and well above a loaded machine's scheduling delays.
HEARTBEAT_S = 10.0
NOTICED_S = 10.0
# Bounds a worker's start (template imports, fork, Engine); the default 30 s was passed on a
# loaded CI machine (2 cores, load 15-28).
START_S = 60.0


def _settings(engine_settings: EngineSettings, tmp_path: Any) -> Settings:
    return Settings(engine=engine_settings).replace(
        results=str(tmp_path / "results"), min_workers=2, max_workers=2,
        worker_concurrency=4, heartbeat_s=HEARTBEAT_S, auto_stop_s=0.0, stop_grace_s=2.0,
        shutdown_grace_s=2.0, signing_secret="x", queue_limit=100,
        worker_start_timeout_s=START_S,
    )


def _pids(pool: WarehousePool) -> list[int]:
    return [m.worker.proc.pid for m in pool._members]  # type: ignore[attr-defined]


async def _burst(pool: WarehousePool, n: int, prefix: str) -> list[Any]:
    runs = [pool.run(StatementTask(f"{prefix}{i}", QUERY), Events()) for i in range(n)]
    return list(await asyncio.gather(*runs, return_exceptions=True))


def _run(body: Any, engine_settings: EngineSettings, tmp_path: Any) -> None:
    async def main() -> None:
        pool = WarehousePool(_settings(engine_settings, tmp_path))
        await pool.start_background()
        try:
            await until(lambda: pool.state == RUNNING and len(pool._members) == 2,
                        timeout=2 * START_S)
            await body(pool)
        finally:
            await pool.aclose()
        await until(lambda: descendants() == [])

    asyncio.run(asyncio.wait_for(main(), 4 * START_S))


@pytest.mark.slow
def test_an_idle_worker_killed_under_a_burst(engine_settings: EngineSettings,
                                             tmp_path: Any) -> None:
    async def body(pool: WarehousePool) -> None:
        os.kill(_pids(pool)[0], signal.SIGKILL)
        results = await _burst(pool, 20, "burst-")  # sent within milliseconds of the kill
        failed = [r for r in results if isinstance(r, BaseException)]
        assert failed == [], failed[:3]
        assert all(r.batches[0].to_pydict() == {"n": [25]} for r in results)
        assert pool.metrics()["workers_lost"] == 1

    _run(body, engine_settings, tmp_path)


@pytest.mark.slow
def test_every_worker_and_the_template_killed(engine_settings: EngineSettings,
                                              tmp_path: Any) -> None:
    async def body(pool: WarehousePool) -> None:
        template = pool._provider._template  # type: ignore[attr-defined]
        for pid in [*_pids(pool), template.proc.pid]:
            os.kill(pid, signal.SIGKILL)
        began = time.monotonic()
        # noticed at once, not after three missed heartbeats
        await until(lambda: pool.metrics()["workers_lost"] == 2, timeout=NOTICED_S)
        assert time.monotonic() - began < NOTICED_S
        results = await _burst(pool, 10, "after-")
        failed = [r for r in results if isinstance(r, BaseException)]
        assert failed == [], failed[:3]

    _run(body, engine_settings, tmp_path)


@pytest.mark.slow
def test_only_the_running_statement_fails(engine_settings: EngineSettings,
                                          tmp_path: Any) -> None:
    async def body(pool: WarehousePool) -> None:
        victim = asyncio.ensure_future(pool.run(StatementTask("slow", SLOW_SQL), Events()))
        await until(lambda: any(m.calls for m in pool._members))
        runner = next(m for m in pool._members if m.calls)
        # killed once the worker itself runs it (not after a fixed sleep: under load it may
        # not have been sent yet, and then it would rightly run elsewhere)
        await until_in_thread(lambda: running_on(runner.worker) == 1)
        pid = runner.worker.proc.pid  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGKILL)
        # statements sent once the death is known (the template reports it at once) run
        # elsewhere; streams opened in the milliseconds while the kernel tears the process
        # down cannot be told from ones it was running, and fail with it
        await until(lambda: pool.metrics()["workers_lost"] == 1, timeout=NOTICED_S)
        others = await _burst(pool, 8, "other-")
        with pytest.raises(StatementFailed) as info:
            await victim
        assert info.value.error.error_code == "ABORTED"
        assert f"worker process {pid} exited with signal 9" in info.value.error.message
        assert [r for r in others if isinstance(r, BaseException)] == []

    _run(body, engine_settings, tmp_path)
