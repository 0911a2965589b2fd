"""Prefetch for statements still waiting in the gateway's queue: bounded, and always let go.

A long statement may wait seconds for a slot. Its first data files can be on their way in that
time: `QueuedPrefetches.start` opens a background scan (`LakeIO.prefetch`) over the first
``max_files`` files of its pruned file list, within ``max_bytes``, for at most
``max_statements`` queued statements per worker at once. Each one ends exactly one way:

- `adopt`: the statement starts on this worker; its scan extends the background one and
  finds the blocks in memory or in the block cache;
- `release`: the gateway says it ran elsewhere, was cancelled or timed out in the queue;
- the time-to-live runs out (the gateway forgot, or died): the same as `release`.

A statement that started or was let go is remembered (bounded), so a prefetch request that
arrives late, after the statement already ran here, is refused instead of holding blocks.

>>> from engine.io.plan import DataFile
>>> first_files([DataFile("a", 5), DataFile("b", 5), DataFile("c", 5)], 10, 12)
[DataFile(uri='a', size=5), DataFile(uri='b', size=5)]
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from engine.io.lakeio import LakeIO
from engine.io.plan import DataFile

# Statement ids remembered as started or let go, to refuse late prefetch requests.
_ENDED_MAX = 1024


def first_files(files: Sequence[DataFile], max_files: int, max_bytes: int) -> list[DataFile]:
    """The leading files of a scan that fit both bounds (stops at the first that does not)."""
    chosen: list[DataFile] = []
    total = 0
    for f in files:
        if len(chosen) >= max_files or total + f.size > max_bytes:
            break
        chosen.append(f)
        total += f.size
    return chosen


class QueuedPrefetches:
    """The queued statements a worker prefetches for; thread-safe."""

    def __init__(self, io: LakeIO, max_files: int, max_bytes: int, max_statements: int) -> None:
        self.io = io
        self.max_files = max(0, max_files)
        self.max_bytes = max(0, max_bytes)
        self.max_statements = max(0, max_statements)
        self._lock = threading.Lock()
        self._live: dict[str, threading.Timer] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()

    @property
    def enabled(self) -> bool:
        """Whether a prefetch could do anything here (object-store lake, read-ahead on)."""
        return (self.io.remote and self.io.prefetcher.enabled and self.max_statements > 0
                and self.max_files > 0)

    def live(self) -> list[str]:
        """Statement ids with a background prefetch now."""
        with self._lock:
            return list(self._live)

    def accepting(self, statement_id: str) -> bool:
        """Whether `start` would take this statement now (checked before costly analysis)."""
        with self._lock:
            return self._accepting_locked(statement_id)

    def start(self, statement_id: str, files: Sequence[DataFile], ttl_s: float) -> int:
        """Prefetch the first files of a queued statement; how many files (0: refused)."""
        chosen = first_files(files, self.max_files, self.max_bytes)
        with self._lock:
            if not chosen or not self._accepting_locked(statement_id):
                return 0
            # Under the lock: an `adopt` racing this call either runs first (and the id is
            # in `_ended`) or finds the timer to cancel.
            started = self.io.prefetch(statement_id, chosen)
            if not started:
                return 0
            timer = threading.Timer(max(0.0, ttl_s), self.release, args=(statement_id,))
            timer.daemon = True
            self._live[statement_id] = timer
            timer.start()
        return started

    def adopt(self, statement_id: str) -> None:
        """The statement starts on this worker: its scan takes over the prefetched blocks."""
        with self._lock:
            timer = self._live.pop(statement_id, None)
            self._remember(statement_id)
        if timer is None:
            return
        timer.cancel()
        scan = self.io.prefetcher.scan(statement_id)
        if scan is not None and scan.error is not None:
            # A failed early read must not fail the run: start it afresh (the run's own
            # reads retry), and forget the failure so it is not reported for the run.
            self.io.release(statement_id)
            self.io.prefetcher.recent_failures.pop(statement_id, None)

    def release(self, statement_id: str) -> bool:
        """Drop a queued statement's prefetch (ran elsewhere, cancelled, expired)."""
        with self._lock:
            timer = self._live.pop(statement_id, None)
            self._remember(statement_id)
        if timer is None:
            return False
        timer.cancel()
        self.io.release(statement_id)
        return True

    def close(self) -> None:
        """Release every prefetch (the worker stops)."""
        for statement_id in self.live():
            self.release(statement_id)

    def _accepting_locked(self, statement_id: str) -> bool:
        return (self.enabled and statement_id not in self._ended
                and statement_id not in self._live and len(self._live) < self.max_statements)

    def _remember(self, statement_id: str) -> None:
        self._ended[statement_id] = None
        self._ended.move_to_end(statement_id)
        while len(self._ended) > _ENDED_MAX:
            self._ended.popitem(last=False)
