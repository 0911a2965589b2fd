"""Which worker a granted statement runs on, and which workers are kept for short ones.

The scheduler decides *when* a statement runs; this decides *where*. It matters because a
worker's DuckDB threads are shared by every statement on it: a lookup placed next to two
long scans gets about a third of its worker's CPU, however early the queue let it in.

- In dual mode with two or more workers, `short_reserved_share` of them (at least one) is
  *reserved*: long statements run there only when no other worker has a free slot, and the
  scheduler's long limit is the other workers' slots. A pool of one worker keeps the
  share in slots instead (the scheduler's own rule).
- A short statement goes to a reserved worker, else to the one with the fewest long scans.
- The unreserved workers, where the long scans run, join at CPU niceness
  `long_worker_nice` (`join`): on fewer cores than DuckDB threads, a short statement on
  the reserved worker then gets the cores first, and the scans every idle cycle.
- FIFO mode reserves and renices nothing and places every statement on the least loaded
  worker: the same pool and slots, one lane.

Functions over `Member`s; the pool owns the members and calls these on its loop.

>>> from sqlgate.settings import PoolSettings
>>> ps = PoolSettings(worker_concurrency=4)
>>> layout([Member(None, 0.0, reserved=True), Member(None, 0.0)], ps)
(8, 4)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.pool.provider import Call, Worker
from gateway.pool.scheduler import Lane
from sqlgate.settings import PoolSettings


@dataclass(eq=False)
class Member:
    """A worker in the pool, with the statements it runs."""

    worker: Worker
    started_at: float
    calls: dict[str, Call] = field(default_factory=dict)
    misses: int = 0
    draining: bool = False
    lost_reason: str | None = None
    # Kept for short statements while other workers exist (dual mode only).
    reserved: bool = False
    # Statement ids of the long-lane calls among `calls`.
    long: set[str] = field(default_factory=set)

    @property
    def ready(self) -> bool:
        """Whether it may be given statements."""
        return not self.draining and self.lost_reason is None


def pick(
    members: Sequence[Member], lane: Lane, ps: PoolSettings, *, free_only: bool = True
) -> Member | None:
    """The least loaded worker with a free slot, within the lane's preference.

    With `free_only` False any ready worker counts: where a statement still waiting for a
    slot will likely run (the queued prefetch asks that worker).
    """
    free = [m for m in members
            if m.ready and (not free_only or len(m.calls) < ps.worker_concurrency)]
    if not free:
        return None
    if ps.fifo:
        return min(free, key=lambda m: len(m.calls))
    if lane is Lane.LONG:
        return min(free, key=lambda m: (m.reserved, len(m.calls)))
    return min(free, key=lambda m: (not m.reserved, len(m.long), len(m.calls)))


def layout(members: Sequence[Member], ps: PoolSettings) -> tuple[int, int | None]:
    """(slots, slots long statements may use) for `Scheduler.set_capacity`.

    The second is None unless both reserved and other workers are ready.
    """
    ready = [m for m in members if m.ready]
    others = sum(1 for m in ready if not m.reserved)
    slots = len(ready) * ps.worker_concurrency
    if others and others < len(ready):
        return slots, others * ps.worker_concurrency
    return slots, None


def wants_reserved(members: Sequence[Member], ps: PoolSettings) -> bool:
    """Whether a worker joining `members` now should be reserved for short statements."""
    if ps.fifo or not ps.reserve_short_workers or ps.short_reserved_share <= 0:
        return False
    ready = [m for m in members if m.ready]
    n = len(ready) + 1
    wanted = min(n, max(1, math.floor(n * ps.short_reserved_share)))
    return sum(1 for m in ready if m.reserved) < wanted


def join(members: Sequence[Member], worker: Worker, ps: PoolSettings, now: float) -> Member:
    """A started worker as a new member: reserved, or given the long workers' priority.

    Renicing is a couple of syscalls on /proc, not blocking I/O, so it runs on the loop.
    """
    member = Member(worker, started_at=now, reserved=wants_reserved(members, ps))
    if not member.reserved and not ps.fifo and ps.long_worker_nice > 0:
        # Local processes only: a remote worker answers False and keeps its priority.
        worker.lower_priority(ps.long_worker_nice)
    return member


def retire_order(members: Sequence[Member]) -> list[Member]:
    """Idle workers, the one to give back first: unreserved before reserved, newest first."""
    return sorted((m for m in reversed(members) if not m.calls), key=lambda m: m.reserved)


__all__ = ["Member", "join", "layout", "pick", "retire_order", "wants_reserved"]
