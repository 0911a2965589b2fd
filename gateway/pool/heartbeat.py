"""The pool's heartbeat: a worker that stops answering pings is taken out and replaced.

A dead process is noticed sooner by the control loop (its exit) or by the statement that
loses its connection; the heartbeat catches the worker that is alive but hung (or a remote
one whose host went away), which nothing else would notice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

from gateway.pool.placement import Member
from sqlgate.settings import PoolSettings

# Pings in a row a worker may miss before it is killed and replaced.
MISSED_BEATS = 3


async def heartbeat(
    ps: PoolSettings, executor: Executor, members: Callable[[], Sequence[Member]],
    lose: Callable[[Member, str], None],
) -> None:
    """Ping every live member each `heartbeat_s` (in `executor`) until cancelled."""
    beat = ps.heartbeat_s
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(beat)
        live = [m for m in members() if m.lost_reason is None]
        pings = [loop.run_in_executor(executor, m.worker.ping, beat) for m in live]
        answers = await asyncio.gather(*pings, return_exceptions=True)
        for member, answer in zip(live, answers, strict=True):
            if not isinstance(answer, BaseException):
                member.misses = 0
                continue
            member.misses += 1
            if member.misses >= MISSED_BEATS and member.worker.alive():
                lose(member, f"worker {member.worker.name} stopped answering "
                     f"heartbeats for {member.misses * beat:g} s and was killed")


__all__ = ["MISSED_BEATS", "heartbeat"]
