"""The warm pool with real worker processes (scripted engine, see test_pool_fakes)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pyarrow.flight as flight
import pytest

from gateway.core.backend import StatementFailed, StatementResult
from gateway.pool.local import LocalProcessProvider
from gateway.pool.scheduler import QueueFull
from gateway.pool.warehouse import RUNNING, STARTING, STOPPED, WarehousePool
from sqlgate.settings import Settings
from sqlgate.types import CostEstimate, StatementTask
from tests.fixtures.waiting import until, until_in_thread
from tests.gateway.pool.test_warehouse_fakes import fake_estimate

FAKE_WORKER = [sys.executable, "-m", "tests.gateway.pool.test_warehouse_fakes"]
ROOT = str(Path(__file__).resolve().parents[3])


class Events:
    def __init__(self) -> None:
        self.lane: str | None = None
        self.estimate: CostEstimate | None = None
        self.started = False

    def queued(self, estimate: CostEstimate, lane: str) -> None:
        self.estimate, self.lane = estimate, lane

    def running(self) -> None:
        self.started = True


def settings(**kw: Any) -> Settings:
    base: dict[str, Any] = dict(
        min_workers=1, max_workers=1, worker_concurrency=2, heartbeat_s=5.0,
        worker_start_timeout_s=60.0, stop_grace_s=5.0, shutdown_grace_s=2.0,
        short_max_seconds=5.0, auto_stop_s=0.0,
    )
    base.update(kw)
    return Settings().replace(**base)


@asynccontextmanager
async def open_pool(**kw: Any) -> AsyncIterator[WarehousePool]:
    s = settings(**kw)
    pool = WarehousePool(s, provider=LocalProcessProvider(s, command=FAKE_WORKER),
                         estimator=fake_estimate)
    await pool.start_background()
    try:
        yield pool
    finally:
        await pool.aclose()
        assert children() == [], "worker processes left behind"


# Children that already existed when a test began belong to session-scoped fixtures (a
# gateway started for the end-to-end tests, say), not to the pool under test.
_PREEXISTING: set[int] = set()


@pytest.fixture(autouse=True)
def _baseline_children() -> None:
    _PREEXISTING.clear()
    _PREEXISTING.update(_all_children())


def children() -> list[int]:
    """Live child processes started since the test began."""
    return [pid for pid in _all_children() if pid not in _PREEXISTING]


def _all_children() -> list[int]:
    """Live (non-zombie) child processes of this test process."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == me and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def running_on(worker: Any) -> int:
    """Statements a worker process says it runs (its heartbeat answer); -1 if no answer.

    Tests that kill a worker mid-statement wait for this rather than sleep: a worker whose
    death is known before a statement was sent gets the statement retried elsewhere.
    """
    try:
        return int(worker.ping(timeout=5.0).running)
    except (flight.FlightError, OSError):
        return -1


def task(sql: str, n: int = 0) -> StatementTask:
    return StatementTask(statement_id=f"s{n}-{time.monotonic_ns()}", sql=sql)


def run(fn: Callable[[], Awaitable[Any]], timeout: float = 150.0) -> Any:
    os.environ.setdefault("PYTHONPATH", ROOT)
    return asyncio.run(asyncio.wait_for(fn(), timeout))


def test_runs_statements_and_reports_errors() -> None:
    async def body() -> None:
        async with open_pool() as pool:
            await until(lambda: pool.state == RUNNING)
            events = Events()
            result = await pool.run(task("SELECT 7"), events)
            assert isinstance(result, StatementResult)
            assert [b.to_pydict() for b in result.batches] == [{"n": [7]}]
            assert result.manifest.total_row_count == 1 and not result.manifest.external
            assert events.lane == "short" and events.started
            with pytest.raises(StatementFailed) as info:
                await pool.run(task("SELECT fail()"), Events())
            assert info.value.error.error_code == "BAD_REQUEST"
            assert info.value.error.sql_state == "42000"
            assert "FAKE_FAILURE" in info.value.error.message
            big = Events()
            await pool.run(task("SELECT 1 AS big"), big)
            assert big.lane == "long"

    run(body)


def test_idle_shutdown_then_pending_while_starting() -> None:
    async def body() -> None:
        async with open_pool(auto_stop_s=1.0) as pool:
            # RUNNING lasts the 1 s idle stop (counted from the start, however slow), which a
            # loaded machine may not poll in time: wait for the start to have happened, then
            # for the stop.
            await until(lambda: pool.metrics()["cold_starts"] >= 1)
            await until(lambda: pool.state == STOPPED)
            assert pool.num_workers == 0
            await until(lambda: children() == [])
            seen: list[tuple[str, bool]] = []

            class Watching(Events):
                def queued(self, estimate: CostEstimate, lane: str) -> None:
                    super().queued(estimate, lane)
                    # seen at admission: a fork-fast start may be RUNNING by the next poll
                    seen.append((pool.state, self.started))

            events = Watching()
            runner = asyncio.ensure_future(pool.run(task("SELECT 3"), events))
            await until(lambda: events.lane is not None)
            # the statement is admitted (PENDING) while the warehouse starts
            assert seen == [(STARTING, False)]
            result = await runner
            assert result.batches[0].to_pydict() == {"n": [3]}
            assert pool.state == RUNNING
            assert pool.metrics()["cold_starts"] >= 2

    run(body)


def test_worker_killed_mid_query_fails_only_its_statement() -> None:
    async def body() -> None:
        async with open_pool(worker_concurrency=2) as pool:
            await until(lambda: pool.state == RUNNING)
            victim = asyncio.ensure_future(pool.run(task("SELECT sleep(30)"), Events()))
            await until(lambda: pool.scheduler.running == 1)
            # once the worker runs it: a worker known dead before the statement was sent
            # would have it retried elsewhere, not failed
            await until_in_thread(lambda: running_on(pool._members[0].worker) == 1)
            [pid] = children()
            os.kill(pid, signal.SIGKILL)
            began = time.monotonic()
            with pytest.raises(StatementFailed) as info:
                await victim
            assert time.monotonic() - began < 10
            err = info.value.error
            assert err.error_code == "ABORTED"
            assert "signal 9" in err.message and "while running the statement" in err.message
            # replaced: the next statement runs on a new worker
            result = await pool.run(task("SELECT 5"), Events())
            assert result.batches[0].to_pydict() == {"n": [5]}
            assert pool.metrics()["workers_lost"] == 1

    run(body)


def test_hung_worker_is_found_by_heartbeat() -> None:
    async def body() -> None:
        async with open_pool(heartbeat_s=0.3) as pool:
            await until(lambda: pool.state == RUNNING)
            victim = asyncio.ensure_future(pool.run(task("SELECT sleep(30)"), Events()))
            await until(lambda: pool.scheduler.running == 1)
            [pid] = children()
            os.kill(pid, signal.SIGSTOP)
            with pytest.raises(StatementFailed) as info:
                await victim
            assert info.value.error.error_code == "ABORTED"
            assert "heartbeats" in info.value.error.message
            result = await pool.run(task("SELECT 2"), Events())
            assert result.batches[0].to_pydict() == {"n": [2]}

    run(body)


def test_cancel_reaches_the_worker() -> None:
    async def body() -> None:
        async with open_pool(worker_concurrency=1) as pool:
            await until(lambda: pool.state == RUNNING)
            runner = asyncio.ensure_future(pool.run(task("SELECT sleep(30)"), Events()))
            await until(lambda: pool.scheduler.running == 1)
            began = time.monotonic()
            runner.cancel()
            with pytest.raises(asyncio.CancelledError):
                await runner
            assert time.monotonic() - began < 5
            assert pool.scheduler.running == 0
            # the single slot is usable again long before the sleep(30) would end: interrupted
            result = await asyncio.wait_for(pool.run(task("SELECT 4"), Events()), 20)
            assert result.batches[0].to_pydict() == {"n": [4]}

    run(body)


def test_queue_full_is_refused_before_running() -> None:
    async def body() -> None:
        async with open_pool(worker_concurrency=1, queue_limit=1) as pool:
            await until(lambda: pool.state == RUNNING)
            first = asyncio.ensure_future(pool.run(task("SELECT sleep(1)"), Events()))
            await until(lambda: pool.scheduler.running == 1)
            second = asyncio.ensure_future(pool.run(task("SELECT 1"), Events()))
            await until(lambda: pool.scheduler.queued == 1)
            with pytest.raises(QueueFull) as info:
                await pool.run(task("SELECT 1"), Events())
            assert info.value.http_status == 429
            assert "Retry-After" in info.value.headers
            await first
            await second

    run(body)


def test_stop_cancels_after_grace_and_says_so() -> None:
    async def body() -> None:
        async with open_pool(stop_grace_s=0.5) as pool:
            await until(lambda: pool.state == RUNNING)
            runner = asyncio.ensure_future(pool.run(task("SELECT sleep(30)"), Events()))
            await until(lambda: pool.scheduler.running == 1)
            await pool.stop()
            assert pool.state == STOPPED
            with pytest.raises(StatementFailed) as info:
                await runner
            assert info.value.error.error_code == "CANCELLED"
            assert "grace period" in info.value.error.message
            assert children() == []
            await pool.start()
            assert pool.state == STARTING
            await until(lambda: pool.state == RUNNING)

    run(body)


def test_overrunning_short_statement_is_demoted_and_learned() -> None:
    async def body() -> None:
        async with open_pool(short_max_seconds=0.3) as pool:
            await until(lambda: pool.state == RUNNING)
            first = Events()
            await pool.run(task("SELECT sleep(0.8)"), first)
            assert first.lane == "short"
            m = pool.metrics()["scheduler"]
            assert m["mispredictions"] == 1
            again = Events()
            await pool.run(task("SELECT sleep(0.1)"), again)  # same fingerprint: learned as long
            assert again.lane == "long"

    run(body)


def test_grows_under_queue_wait_up_to_max() -> None:
    async def body() -> None:
        async with open_pool(min_workers=1, max_workers=2, worker_concurrency=1,
                             scale_cooldown_s=0.5) as pool:
            await until(lambda: pool.state == RUNNING)
            runs = [asyncio.ensure_future(pool.run(task("SELECT sleep(1.5)", i), Events()))
                    for i in range(3)]
            await until(lambda: pool.num_workers == 2)
            await asyncio.gather(*runs)
            assert pool.num_workers <= 2
            await until(lambda: pool.num_workers == 1, timeout=10)  # shrinks back

    run(body, timeout=90)


def _nice(pid: int) -> set[int]:
    """The niceness of every thread of a process (field 19 of /proc/<pid>/task/<tid>/stat)."""
    out = set()
    for tid in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            out.add(int((tid / "stat").read_text().rsplit(")", 1)[1].split()[16]))
    return out


@pytest.mark.parametrize("fifo", [False, True])
def test_long_statements_stay_off_the_reserved_worker(fifo: bool) -> None:
    async def body() -> None:
        async with open_pool(min_workers=2, max_workers=2, worker_concurrency=2,
                             long_worker_nice=7, fifo=fifo) as pool:
            await until(lambda: pool.num_workers == 2)
            members = list(pool._members)
            reserved = [m for m in members if m.reserved]
            # Longs that outlast any load's delays (cancelled at the end, not awaited), so
            # the checks below see them still holding their slots.
            longs = [asyncio.ensure_future(pool.run(task("SELECT sleep(60) AS big", i),
                                                    Events())) for i in range(3)]
            # all three placed: running on the 4 fifo slots, or 2 running + 1 queued
            await until(lambda: (pool.scheduler.running, pool.scheduler.queued)
                        == ((3, 0) if fifo else (2, 1)))
            short = Events()
            # it runs beside the longs, not after one of them (60 s)
            result = await asyncio.wait_for(pool.run(task("SELECT 9"), short), 30)
            assert short.lane == "short" and result.batches[0].to_pydict() == {"n": [9]}
            if fifo:
                # one lane, no reservation, no priorities: the baseline
                assert reserved == [] and pool.scheduler.running == 3
                assert all(_nice(m.worker.pid) == {0} for m in members)
            else:
                # two long scans on the unreserved worker, the third waits for its slot
                assert len(reserved) == 1 and pool.metrics()["workers_reserved_short"] == 1
                assert pool.scheduler.running == 2 and pool.scheduler.queued == 1
                assert not reserved[0].long
                [other] = [m for m in members if not m.reserved]
                assert len(other.long) == 2
                assert _nice(reserved[0].worker.pid) == {0}
                assert _nice(other.worker.pid) == {7}
            for long in longs:
                long.cancel()
            await asyncio.gather(*longs, return_exceptions=True)

    run(body)
