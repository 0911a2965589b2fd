"""The dual queue: short statements ahead of long ones, without starving either.

Pure bookkeeping on the event loop, no I/O: the pool tells the scheduler how many worker
slots exist (`set_capacity`), statements wait for a `Slot` and give it back.

- `classify` puts a statement in the short lane when the engine's estimate (bytes and
  files to scan after pruning) is within `short_max_bytes` / `short_max_files` and earlier
  statements with the same fingerprint ran within `short_max_seconds`, else in the long.
- Dispatch order when a slot frees: a long statement that waited `long_aging_s` first
  (so none starves), then the oldest short one, then the oldest long one. Long statements
  never hold more than capacity minus the `short_reserved_share` of slots (or, when the
  pool reserves whole workers for short statements, more than the other workers' slots),
  so a burst of long scans leaves room for short lookups.
- `demote` moves a running short statement that overran its budget to the long lane
  without restarting it: it now counts against the long share, and is a misprediction.
- Both lanes together hold at most `queue_limit` statements; one more is refused with
  `QueueFull` (429 RESOURCE_EXHAUSTED + Retry-After) before anything runs. A statement that
  waits longer than `queue_timeout_s` fails with DEADLINE_EXCEEDED.
- `fifo=True` serves strictly by arrival, lanes only counted, for comparison.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gateway.core.backend import StatementFailed
from gateway.errors import ResourceExhausted
from sqlgate.settings import PoolSettings, Settings
from sqlgate.types import CostEstimate, StatementError, StatementTask

_HISTORY_MAX = 10_000
_WAIT_SAMPLES = 1_000
# Weight of the newest runtime in a fingerprint's moving average.
_EWMA_ALPHA = 0.5



class Lane(StrEnum):
    """The two queues."""

    SHORT = "short"
    LONG = "long"


class QueueFull(ResourceExhausted):
    """Both lanes are full; the client should retry later (429 + Retry-After)."""


@dataclass(eq=False)
class Slot:
    """A statement's place in a lane, then its grant of one worker slot."""

    lane: Lane
    fingerprint: str
    enqueued_at: float
    granted_at: float | None = None
    demoted: bool = False
    released: bool = False
    future: asyncio.Future[None] = field(default_factory=lambda: _loop_future())

    @property
    def granted(self) -> bool:
        """Whether the slot was handed out (the statement may run)."""
        return self.granted_at is not None


def route(settings: Settings, task: StatementTask, estimate: CostEstimate,
          lane: Lane) -> tuple[StatementTask, Lane]:
    """The distributed lane for a scan over ``distributed_min_bytes``, when one is set.

    Such a task is flagged (``task.lane``) so the worker that gets it sends it to the
    distributed engine (engine/distributed.py); it holds a long-lane slot meanwhile.
    """
    if settings.engine.distributed_engine and estimate.kind == "scan" and (
            estimate.bytes > settings.pool.distributed_min_bytes):
        return dataclasses.replace(task, lane="distributed"), Lane.LONG
    return task, lane


def _loop_future() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


@dataclass
class _LaneStats:
    queued: deque[Slot] = field(default_factory=deque)
    running: int = 0
    admitted: int = 0
    waits: deque[float] = field(default_factory=lambda: deque(maxlen=_WAIT_SAMPLES))
    timeouts: int = 0


class Scheduler:
    """Slots for statements, in two lanes; see the module docstring for the rules."""

    def __init__(self, settings: PoolSettings, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.clock = clock
        self.capacity = 0
        self._long_slots: int | None = None
        self._lanes = {Lane.SHORT: _LaneStats(), Lane.LONG: _LaneStats()}
        self._history: OrderedDict[str, float] = OrderedDict()
        self.mispredictions = 0
        self.rejected = 0

    # -- classification

    def classify(self, estimate: CostEstimate, fingerprint: str) -> Lane:
        """Short when the estimate is small and earlier runs of the fingerprint were quick.

        Both must hold. A fast history does not make a big scan short: it was likely
        timed on an idle warehouse, and next to other scans it is slow again (a TPC-H SF1
        query runs in 0.15 s alone, in seconds beside seven others).
        """
        if estimate.kind != "metadata" and (
                estimate.bytes > self.settings.short_max_bytes
                or estimate.files > self.settings.short_max_files):
            return Lane.LONG
        seen = self._history.get(fingerprint)
        if seen is not None and seen > self.settings.short_max_seconds:
            return Lane.LONG
        return Lane.SHORT

    def observe(self, fingerprint: str, seconds: float) -> None:
        """Remember how long a statement with this fingerprint ran (bounded LRU)."""
        old = self._history.pop(fingerprint, None)
        self._history[fingerprint] = (
            seconds if old is None else _EWMA_ALPHA * seconds + (1 - _EWMA_ALPHA) * old)
        while len(self._history) > _HISTORY_MAX:
            self._history.popitem(last=False)

    # -- capacity

    @property
    def reserved_short(self) -> int:
        """Slots only short statements may take."""
        share = self.settings.short_reserved_share
        if self.settings.fifo or self.capacity < 2 or share <= 0:
            return 0
        if self._long_slots is not None:
            return self.capacity - min(self.capacity, self._long_slots)
        return min(self.capacity - 1, max(1, math.floor(self.capacity * share)))

    @property
    def long_limit(self) -> int:
        """The most slots long statements may hold at once."""
        return self.capacity - self.reserved_short

    def set_capacity(self, slots: int, long_slots: int | None = None) -> None:
        """The number of worker slots now available (ready workers x concurrency).

        `long_slots`, when given, is how many of them long statements may use: the pool
        reserves whole workers for short statements, and long ones get the rest.
        """
        self.capacity = max(0, slots)
        self._long_slots = None if long_slots is None else max(0, long_slots)
        self._dispatch()

    # -- queueing

    @property
    def queued(self) -> int:
        """Statements waiting in either lane."""
        return sum(len(s.queued) for s in self._lanes.values())

    @property
    def running(self) -> int:
        """Slots handed out and not yet released."""
        return sum(s.running for s in self._lanes.values())

    def admit(self, lane: Lane, fingerprint: str) -> Slot:
        """Queue a statement; raises QueueFull when both lanes hold `queue_limit` already."""
        if self.queued >= self.settings.queue_limit:
            self.rejected += 1
            raise QueueFull(
                f"The warehouse queue is full ({self.settings.queue_limit} statements "
                "waiting); retry later.",
                retry_after=self.retry_after(),
            )
        slot = Slot(lane=lane, fingerprint=fingerprint, enqueued_at=self.clock())
        stats = self._lanes[lane]
        stats.queued.append(slot)
        stats.admitted += 1
        self._dispatch()
        return slot

    async def wait(self, slot: Slot) -> None:
        """Wait until `slot` is granted; DEADLINE_EXCEEDED after `queue_timeout_s`.

        Cancelling the caller leaves the queue (or gives back a slot granted meanwhile).
        """
        if slot.future.done():
            # Granted at admission (a free slot): no wait_for, whose callbacks would cost a
            # trip through the event loop on every statement that does not queue.
            try:
                slot.future.result()
            except BaseException:
                self.leave(slot)
                raise
            return
        timeout = self.settings.queue_timeout_s
        try:
            await asyncio.wait_for(asyncio.shield(slot.future), timeout)
        except TimeoutError as exc:
            self.leave(slot)
            self._lanes[slot.lane].timeouts += 1
            raise StatementFailed(StatementError(
                "DEADLINE_EXCEEDED",
                f"The statement waited in the queue longer than {timeout:g} s.",
            )) from exc
        except BaseException:
            self.leave(slot)
            raise

    def leave(self, slot: Slot) -> None:
        """Withdraw a statement: out of its queue if waiting, its slot given back if granted."""
        if slot.granted:
            self.release(slot)
            return
        queue = self._lanes[slot.lane].queued
        if slot in queue:
            queue.remove(slot)
        if not slot.future.done():
            slot.future.cancel()

    def release(self, slot: Slot) -> None:
        """Give a granted slot back (idempotent) and let the next statement in."""
        if slot.released or not slot.granted:
            return
        slot.released = True
        self._lanes[slot.lane].running -= 1
        self._dispatch()

    def demote(self, slot: Slot) -> bool:
        """Move a running short statement to the long lane; True if it was moved."""
        if slot.lane is not Lane.SHORT or not slot.granted or slot.released:
            return False
        self._lanes[Lane.SHORT].running -= 1
        self._lanes[Lane.LONG].running += 1
        slot.lane = Lane.LONG
        slot.demoted = True
        self.mispredictions += 1
        self._dispatch()
        return True

    def fail_queued(self, error: BaseException) -> int:
        """Fail every waiting statement with `error` (the warehouse stopped); returns how many."""
        failed = 0
        for stats in self._lanes.values():
            while stats.queued:
                slot = stats.queued.popleft()
                if not slot.future.done():
                    slot.future.set_exception(error)
                    failed += 1
        return failed

    def retry_after(self) -> float:
        """Seconds a refused client should wait: the recent mean queue wait, 1..60."""
        waits = [w for s in self._lanes.values() for w in s.waits]
        mean = sum(waits) / len(waits) if waits else 1.0
        return min(60.0, max(1.0, mean))

    # -- dispatch

    def _dispatch(self) -> None:
        while self.running < self.capacity:
            slot = self._next()
            if slot is None:
                return
            self._lanes[slot.lane].queued.remove(slot)
            self._grant(slot)

    def _next(self) -> Slot | None:
        short_q = self._lanes[Lane.SHORT].queued
        long_q = self._lanes[Lane.LONG].queued
        if self.settings.fifo:
            heads = [q[0] for q in (short_q, long_q) if q]
            return min(heads, key=lambda s: s.enqueued_at) if heads else None
        long_head = None
        if long_q and self._lanes[Lane.LONG].running < self.long_limit:
            long_head = long_q[0]
        if long_head is not None and (
            self.clock() - long_head.enqueued_at >= self.settings.long_aging_s
        ):
            return long_head
        if short_q:
            return short_q[0]
        return long_head

    def _grant(self, slot: Slot) -> None:
        slot.granted_at = self.clock()
        stats = self._lanes[slot.lane]
        stats.running += 1
        stats.waits.append(slot.granted_at - slot.enqueued_at)
        if not slot.future.done():
            slot.future.set_result(None)

    # -- metrics

    def oldest_wait(self) -> float:
        """Seconds the longest-waiting queued statement has waited (0 when none)."""
        heads = [q.queued[0].enqueued_at for q in self._lanes.values() if q.queued]
        return self.clock() - min(heads) if heads else 0.0

    def metrics(self) -> dict[str, Any]:
        """Queue depth, running and wait statistics per lane, mispredictions, refusals."""
        lanes: dict[str, Any] = {}
        for lane, stats in self._lanes.items():
            waits = sorted(stats.waits)
            lanes[lane.value] = {
                "queued": len(stats.queued),
                "running": stats.running,
                "admitted": stats.admitted,
                "timeouts": stats.timeouts,
                "wait_p50_s": _quantile(waits, 0.5),
                "wait_p95_s": _quantile(waits, 0.95),
                "wait_max_s": waits[-1] if waits else 0.0,
                "oldest_wait_s": (self.clock() - stats.queued[0].enqueued_at
                                  if stats.queued else 0.0),
            }
        return {
            "mode": "fifo" if self.settings.fifo else "dual",
            "capacity": self.capacity,
            "reserved_short": self.reserved_short,
            "lanes": lanes,
            "mispredictions": self.mispredictions,
            "rejected": self.rejected,
            "fingerprints": len(self._history),
        }


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


__all__ = ["Lane", "QueueFull", "Scheduler", "Slot", "route"]
