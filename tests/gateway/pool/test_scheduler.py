"""The dual queue's rules, driven directly on an event loop with a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from engine import fingerprint
from gateway.core.backend import StatementFailed
from gateway.pool.scheduler import Lane, QueueFull, Scheduler, Slot
from sqlgate.settings import PoolSettings
from sqlgate.types import CostEstimate


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(fn: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(fn(), 10))


def make(**kw: Any) -> tuple[Scheduler, Clock]:
    clock = Clock()
    return Scheduler(PoolSettings(**kw), clock=clock), clock


def granted(slots: list[Slot]) -> list[int]:
    return [i for i, s in enumerate(slots) if s.granted]


def test_classify_by_estimate_then_history() -> None:
    async def body() -> None:
        sched, _ = make(short_max_bytes=1000, short_max_files=4, short_max_seconds=1.0)
        fp = fingerprint("SELECT * FROM t WHERE a = 1")
        assert sched.classify(CostEstimate(bytes=10, files=1), fp) is Lane.SHORT
        assert sched.classify(CostEstimate(bytes=5000, files=1), fp) is Lane.LONG
        assert sched.classify(CostEstimate(bytes=10, files=9), fp) is Lane.LONG
        assert sched.classify(CostEstimate(bytes=10**12, kind="metadata"), fp) is Lane.SHORT
        # a slow earlier run of the same shape (other literal) makes it long despite the estimate
        sched.observe(fingerprint("select * from t where a = 2"), 5.0)
        assert sched.classify(CostEstimate(bytes=10, files=1), fp) is Lane.LONG
        for _ in range(4):  # a moving average: fast runs win it back over a few runs
            sched.observe(fp, 0.01)
        assert sched.classify(CostEstimate(bytes=10, files=1), fp) is Lane.SHORT
        # ...but a quick history never makes a big scan short (it was timed alone)
        assert sched.classify(CostEstimate(bytes=5000), fp) is Lane.LONG

    run(body)


def test_short_runs_ahead_of_long_and_reserved_share() -> None:
    async def body() -> None:
        sched, _ = make(short_reserved_share=0.25)
        sched.set_capacity(4)
        assert (sched.reserved_short, sched.long_limit) == (1, 3)
        longs = [sched.admit(Lane.LONG, "l") for _ in range(5)]
        # a burst of long statements never takes the reserved slot
        assert granted(longs) == [0, 1, 2]
        short = sched.admit(Lane.SHORT, "s")
        assert short.granted
        later_short = sched.admit(Lane.SHORT, "s")
        assert not later_short.granted
        sched.release(longs[0])
        # the freed slot goes to the waiting short one, not to the older long one
        assert later_short.granted and not longs[3].granted
        sched.release(short)
        assert longs[3].granted  # 2 longs ran: the third long slot is free again
        sched.release(later_short)
        # longs are at their limit (3 running): the free slot stays for short statements
        assert not longs[4].granted and sched.running == 3
        sched.release(longs[1])
        assert longs[4].granted

    run(body)


def test_long_statements_age_so_none_starves() -> None:
    async def body() -> None:
        sched, clock = make(long_aging_s=30.0, short_reserved_share=0.5)
        sched.set_capacity(2)
        running = [sched.admit(Lane.SHORT, "s") for _ in range(2)]
        long = sched.admit(Lane.LONG, "l")
        shorts = [sched.admit(Lane.SHORT, "s") for _ in range(3)]
        sched.release(running[0])
        assert shorts[0].granted and not long.granted  # young long waits behind short
        clock.now += 31
        sched.release(running[1])
        assert long.granted and not shorts[1].granted  # aged long goes first

    run(body)


def test_demotion_frees_the_short_accounting_and_counts() -> None:
    async def body() -> None:
        sched, _ = make(short_reserved_share=0.5)
        sched.set_capacity(2)
        short = sched.admit(Lane.SHORT, "s")
        long = sched.admit(Lane.LONG, "l")
        assert short.granted and long.granted
        waiting_long = sched.admit(Lane.LONG, "l")
        sched.release(long)
        assert waiting_long.granted
        assert sched.demote(short) and short.lane is Lane.LONG
        assert not sched.demote(short)
        assert sched.mispredictions == 1
        m = sched.metrics()
        assert m["lanes"]["long"]["running"] == 2 and m["lanes"]["short"]["running"] == 0
        sched.release(short)
        assert sched.running == 1

    run(body)


def test_queue_limit_refuses_with_retry_after() -> None:
    async def body() -> None:
        sched, _ = make(queue_limit=3)
        sched.set_capacity(0)
        for _ in range(3):
            sched.admit(Lane.SHORT, "s")
        with pytest.raises(QueueFull) as info:
            sched.admit(Lane.LONG, "l")
        assert info.value.http_status == 429
        assert info.value.error_code == "RESOURCE_EXHAUSTED"
        assert int(info.value.headers["Retry-After"]) >= 1
        assert sched.metrics()["rejected"] == 1

    run(body)


def test_queue_timeout_fails_and_leaves_the_queue() -> None:
    async def body() -> None:
        sched, _ = make(queue_timeout_s=0.05)
        slot = sched.admit(Lane.SHORT, "s")
        with pytest.raises(StatementFailed) as info:
            await sched.wait(slot)
        assert info.value.error.error_code == "DEADLINE_EXCEEDED"
        assert sched.queued == 0
        sched.set_capacity(1)
        assert sched.running == 0

    run(body)


def test_cancelled_waiter_leaves_and_granted_slot_is_returned() -> None:
    async def body() -> None:
        sched, _ = make()
        slot = sched.admit(Lane.LONG, "l")
        waiter = asyncio.ensure_future(sched.wait(slot))
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert sched.queued == 0
        sched.set_capacity(1)
        assert sched.running == 0
        ok = sched.admit(Lane.SHORT, "s")
        await sched.wait(ok)
        assert sched.running == 1

    run(body)


def test_fifo_serves_by_arrival() -> None:
    async def body() -> None:
        sched, clock = make(fifo=True)
        sched.set_capacity(1)
        first = sched.admit(Lane.LONG, "l")
        clock.now += 1
        long = sched.admit(Lane.LONG, "l")
        clock.now += 1
        short = sched.admit(Lane.SHORT, "s")
        sched.release(first)
        assert long.granted and not short.granted
        assert sched.reserved_short == 0

    run(body)


def test_reserved_workers_set_the_long_limit() -> None:
    async def body() -> None:
        sched, _ = make(short_reserved_share=0.25)
        # 2 workers x 4 slots, one worker reserved: long statements get the other's 4
        sched.set_capacity(8, long_slots=4)
        assert (sched.reserved_short, sched.long_limit) == (4, 4)
        longs = [sched.admit(Lane.LONG, "l") for _ in range(6)]
        assert granted(longs) == [0, 1, 2, 3]
        shorts = [sched.admit(Lane.SHORT, "s") for _ in range(4)]
        assert granted(shorts) == [0, 1, 2, 3]
        # the reserved worker went away: back to the share counted in slots
        sched.set_capacity(4)
        assert (sched.reserved_short, sched.long_limit) == (1, 3)
        fifo, _ = make(fifo=True)
        fifo.set_capacity(8, long_slots=4)
        assert (fifo.reserved_short, fifo.long_limit) == (0, 8)

    run(body)
