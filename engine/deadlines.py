"""One thread for every statement's time limit, instead of a `threading.Timer` (a new thread)
per statement.

Starting a thread and waiting for it to run costs about half a millisecond, which is more than
DuckDB takes for a small query; the deadlines of all statements share one sleeping thread::

    deadlines = Deadlines()
    handle = deadlines.call_later(30.0, interrupter.stop, "timeout")
    ...
    handle.cancel()          # the statement ended first: nothing runs

A callback runs on the deadlines thread; it must be short (an interrupt), as the next one
waits for it.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("sqlgate.engine")


class Deadline:
    """A scheduled call; `cancel` before it runs and it never does."""

    __slots__ = ("_owner", "args", "at", "cancelled", "fn")

    def __init__(self, owner: Deadlines, at: float, fn: Callable[..., Any],
                 args: tuple[Any, ...]) -> None:
        self._owner = owner
        self.at = at
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run the call (a no-op once it ran)."""
        if not self.cancelled:
            self.cancelled = True
            self._owner._cancelled += 1  # approximate under races: it only paces compaction


class Deadlines:
    """Calls due at monotonic times, run in order on one daemon thread started on first use."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, Deadline]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        # Statements end long before their limit: cancelled entries pile up under the first
        # live one, so the heap is rebuilt without them once they are most of it.
        self._cancelled = 0

    def call_later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> Deadline:
        """Run ``fn(*args)`` once ``delay_s`` seconds passed, unless cancelled first."""
        entry = Deadline(self, self._clock() + max(0.0, delay_s), fn, args)
        with self._cond:
            if self._cancelled > 64 and self._cancelled * 2 > len(self._heap):
                self._heap = [item for item in self._heap if not item[2].cancelled]
                heapq.heapify(self._heap)
                self._cancelled = 0
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="sqlgate-deadlines",
                                                daemon=True)
                self._thread.start()
            first = not self._heap or entry.at < self._heap[0][0]
            heapq.heappush(self._heap, (entry.at, next(self._seq), entry))
            if first:
                self._cond.notify()
        return entry

    def close(self) -> None:
        """Stop the thread; pending calls never run."""
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify()

    def __len__(self) -> int:
        """Calls scheduled and not yet run (cancelled ones included until their time)."""
        return len(self._heap)

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    # Cancelled entries at the top are dropped now rather than at their time.
                    while self._heap and self._heap[0][2].cancelled:
                        heapq.heappop(self._heap)
                        self._cancelled -= 1
                    if not self._heap:
                        self._cond.wait()
                        continue
                    left = self._heap[0][0] - self._clock()
                    if left <= 0:
                        entry = heapq.heappop(self._heap)[2]
                        break
                    self._cond.wait(left)
            if entry.cancelled:
                continue
            entry.cancelled = True  # ran: a late cancel() is a no-op
            try:
                entry.fn(*entry.args)
            except Exception as exc:  # one bad callback must not end every statement's limit
                log.error("deadline callback failed", exc_info=exc)


__all__ = ["Deadline", "Deadlines"]
