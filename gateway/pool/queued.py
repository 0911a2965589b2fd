"""Prefetch while a statement waits: the pool's side of issue 5's queued read-ahead.

When a long statement is admitted and has to wait for a slot (`prefetch_queued` on), the
pool asks the worker most likely to run it (off the reserved worker, least loaded) to
start fetching its first data files: the ``prefetch`` Flight action, `Engine.prefetch` on
the worker, bounded there by ``prefetch_queued_files`` / ``prefetch_queued_bytes`` and here
by ``prefetch_queued_max`` requests per worker. When the statement leaves the queue:

- it runs on that worker: nothing to do, its scan takes the prefetched blocks over;
- it runs elsewhere, is cancelled, times out or the warehouse stops: ``release_prefetch``,
  sent only after the prefetch call answered so it can never overtake it. A sibling on the
  same host still finds the blocks in the shared block cache.

The worker releases a prefetch by itself after the queue timeout, should the release never
come. All calls are best effort and run on the pool's executor, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from gateway.pool import placement
from gateway.pool.placement import Member
from gateway.pool.scheduler import Lane, Slot
from sqlgate.settings import Settings
from sqlgate.types import StatementTask

log = logging.getLogger("sqlgate.pool")


@dataclass(eq=False)
class Early:
    """One queued statement's prefetch request: the worker asked and the call in flight."""

    statement_id: str
    target: Member
    call: asyncio.Future[int]


class QueuedPrefetch:
    """Asks workers to prefetch for waiting long statements, and lets go when they leave."""

    def __init__(self, settings: Settings, executor: Executor) -> None:
        self.enabled = settings.pool.prefetch_queued
        self._ps = settings.pool
        self.per_worker = settings.engine.prefetch_queued_max
        self._executor = executor
        # Statement id -> its request, until the statement left the queue and the call answered.
        self.pending: dict[str, Early] = {}

    def ask(self, task: StatementTask, slot: Slot, members: Sequence[Member]) -> Early | None:
        """Ask a worker to prefetch for `task` if it is a long one that must wait."""
        if not self.enabled or slot.lane is not Lane.LONG or slot.granted:
            return None
        # Where `placement.pick` will likely put it once a slot frees.
        target = placement.pick(members, Lane.LONG, self._ps, free_only=False)
        if target is None or sum(
                1 for e in self.pending.values() if e.target is target) >= self.per_worker:
            return None
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(self._executor, target.worker.prefetch, task)
        early = Early(task.statement_id, target, call)
        self.pending[task.statement_id] = early
        return early

    def end(self, early: Early | None, member: Member | None) -> None:
        """The statement left the queue for `member` (None: it will not run)."""
        if early is None:
            return
        loop = asyncio.get_running_loop()

        def answered(fut: asyncio.Future[int]) -> None:
            self.pending.pop(early.statement_id, None)
            _quiet(fut)
            if member is early.target:
                return  # the engine there takes the prefetched blocks over
            with contextlib.suppress(RuntimeError):  # executor closed: the worker's TTL frees it
                release = loop.run_in_executor(
                    self._executor, early.target.worker.release_prefetch, early.statement_id)
                release.add_done_callback(_quiet)

        early.call.add_done_callback(answered)


def _quiet(fut: asyncio.Future[Any]) -> None:
    """Retrieve a best-effort call's outcome so asyncio does not report it as lost."""
    if not fut.cancelled() and fut.exception() is not None:
        log.debug("best-effort worker call failed: %s", fut.exception())


__all__ = ["Early", "QueuedPrefetch"]
