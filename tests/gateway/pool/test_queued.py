"""The pool asks a worker to prefetch for a waiting long statement, and lets go when it leaves.

In-process fake workers record the ``prefetch`` / ``release_prefetch`` calls; the engine's
side (and the Flight action) is tested in tests/engine/test_prefetch_queued.py on moto.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pyarrow as pa
import pytest

from gateway.core.backend import StatementFailed, StatementResult
from gateway.pool.placement import Member
from gateway.pool.provider import Call
from gateway.pool.queued import QueuedPrefetch
from gateway.pool.scheduler import Lane, Slot
from gateway.pool.warehouse import RUNNING, WarehousePool
from sqlgate.protocol import PingReply
from sqlgate.settings import Settings
from sqlgate.types import CostEstimate, ResultFormat, ResultManifest, StatementTask
from tests.fixtures.waiting import until
from tests.gateway.pool.test_warehouse import Events


class FakeWorker:
    """Runs ``HOLD`` until released, anything else at once; records prefetch calls."""

    location = "fake://"

    def __init__(self, name: str) -> None:
        self.name = name
        self.gate = threading.Event()
        self.ran: list[str] = []
        self.prefetched: list[str] = []
        self.released: list[str] = []

    async def run(self, task: StatementTask, call: Call) -> StatementResult:
        self.ran.append(task.statement_id)
        if "HOLD" in task.sql:
            await asyncio.to_thread(self.gate.wait, 10)
        manifest = ResultManifest(ResultFormat.JSON_ARRAY, ())
        return StatementResult(manifest, pa.schema([]), [])

    def prefetch(self, task: StatementTask) -> int:
        time.sleep(0.05)  # an answer that takes a moment: a release must wait for it
        self.prefetched.append(task.statement_id)
        return 3

    def release_prefetch(self, statement_id: str) -> bool:
        self.released.append(statement_id)
        return statement_id in self.prefetched

    def cancel(self, statement_id: str) -> None:
        self.gate.set()

    node = "fake-node"

    def ping(self, timeout: float) -> PingReply:
        return PingReply()

    def lower_priority(self, nice: int) -> bool:
        return False

    def estimate(self, task: StatementTask) -> CostEstimate:
        raise NotImplementedError

    def alive(self) -> bool:
        return True

    def exit_cause(self) -> str | None:
        return None

    def stop(self, grace_s: float) -> None:
        self.gate.set()

    def kill(self) -> None:
        self.gate.set()


class Provider:
    def __init__(self) -> None:
        self.workers: list[FakeWorker] = []

    def prepare(self) -> None:
        pass

    def start(self) -> FakeWorker:
        self.workers.append(FakeWorker(f"w{len(self.workers)}"))
        return self.workers[-1]

    def close(self) -> None:
        pass


def estimate(task: StatementTask) -> CostEstimate:
    big = "BIG" in task.sql
    return CostEstimate(files=1000 if big else 1, bytes=10**12 if big else 100)


@asynccontextmanager
async def open_pool(**kw: Any) -> AsyncIterator[tuple[WarehousePool, FakeWorker]]:
    base: dict[str, Any] = dict(min_workers=1, max_workers=1, worker_concurrency=1,
                                heartbeat_s=5.0, auto_stop_s=0.0, shutdown_grace_s=1.0,
                                stop_grace_s=1.0, prefetch_queued=True)
    settings = Settings().replace(**{**base, **kw})
    provider = Provider()
    pool = WarehousePool(settings, provider=provider, estimator=estimate)
    await pool.start_background()
    try:
        await until(lambda: pool.state == RUNNING)
        yield pool, provider.workers[0]
    finally:
        for w in provider.workers:
            w.gate.set()
        await pool.aclose()


def run(fn: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(fn(), 60))


def task(sql: str, sid: str) -> StatementTask:
    return StatementTask(sid, sql)


def test_waiting_long_statement_is_prefetched_where_it_then_runs() -> None:
    async def body() -> None:
        async with open_pool() as (pool, worker):
            blocker = asyncio.ensure_future(pool.run(task("SELECT HOLD", "b"), Events()))
            await until(lambda: pool.scheduler.running == 1)
            waiting = asyncio.ensure_future(pool.run(task("SELECT BIG", "long"), Events()))
            short = asyncio.ensure_future(pool.run(task("SELECT 1", "short"), Events()))
            await until(lambda: worker.prefetched == ["long"])
            worker.gate.set()
            await asyncio.gather(blocker, waiting, short)
            assert set(worker.ran) == {"b", "long", "short"}
            await until(lambda: not pool._early.pending)
            # It ran where it was prefetched: the engine there took the blocks over.
            assert worker.released == []
            # Nothing asked for statements that never waited, nor for short ones.
            assert worker.prefetched == ["long"]

    run(body)


@pytest.mark.parametrize("how", ["cancel", "queue_timeout"])
def test_a_statement_leaving_the_queue_releases_its_prefetch(how: str) -> None:
    async def body() -> None:
        kw = {"queue_timeout_s": 0.3} if how == "queue_timeout" else {}
        async with open_pool(**kw) as (pool, worker):
            blocker = asyncio.ensure_future(pool.run(task("SELECT HOLD", "b"), Events()))
            await until(lambda: pool.scheduler.running == 1)
            waiting = asyncio.ensure_future(pool.run(task("SELECT BIG", "gone"), Events()))
            await until(lambda: pool.scheduler.queued == 1)
            if how == "cancel":
                waiting.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiting
            else:
                with pytest.raises(StatementFailed) as info:
                    await waiting
                assert info.value.error.error_code == "DEADLINE_EXCEEDED"
            # The release follows the prefetch's answer, never overtakes it.
            await until(lambda: worker.released == ["gone"])
            assert worker.prefetched == ["gone"] and "gone" not in worker.ran
            worker.gate.set()
            await blocker

    run(body)


def test_off_by_setting_asks_nothing() -> None:
    async def body() -> None:
        async with open_pool(prefetch_queued=False) as (pool, worker):
            blocker = asyncio.ensure_future(pool.run(task("SELECT HOLD", "b"), Events()))
            await until(lambda: pool.scheduler.running == 1)
            waiting = asyncio.ensure_future(pool.run(task("SELECT BIG", "l"), Events()))
            await until(lambda: pool.scheduler.queued == 1)
            worker.gate.set()
            await asyncio.gather(blocker, waiting)
            assert worker.prefetched == [] and worker.released == []

    run(body)


def test_runs_elsewhere_releases_and_bounded_per_worker() -> None:
    async def body() -> None:
        settings = Settings().replace(prefetch_queued=True, prefetch_queued_max=1)
        early = QueuedPrefetch(settings, executor=None)  # type: ignore[arg-type]
        a = Member(FakeWorker("a"), 0.0)  # type: ignore[arg-type]
        b = Member(FakeWorker("b"), 0.0, reserved=True)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()

        def waiting(lane: Lane = Lane.LONG) -> Slot:
            return Slot(lane, "fp", loop.time())

        first = early.ask(task("SELECT BIG", "x"), waiting(), [b, a])
        assert first is not None and first.target is a  # off the reserved worker
        # One request per worker at a time (prefetch_queued_max=1) ...
        assert early.ask(task("SELECT BIG", "y"), waiting(), [b, a]) is None
        # ... and never for a short statement.
        assert early.ask(task("SELECT 1", "z"), waiting(Lane.SHORT), [b, a]) is None
        early.end(first, b)  # it ran on the other worker: a lets go
        await until(lambda: a.worker.released == ["x"])  # type: ignore[attr-defined]
        assert not early.pending

    run(body)
