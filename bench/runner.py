"""Streams: N threads, each with its own client, running queries for a bounded time.

A stream runs its own permutation of the workload (seeded, so a run can be repeated),
round after round, until the duration or the round limit is reached; a query started
before the deadline runs to its end (each client bounds a statement's time itself).
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench.clients import Client, ClientError
from bench.stats import Record

# Extra seconds past the deadline a stream may take to finish its last statement.
_JOIN_GRACE_S = 30.0


class Progress:
    """A one-line progress report on stderr, refreshed at most twice a second."""

    def __init__(self, label: str, duration_s: float, enabled: bool = True) -> None:
        self.label = label
        self.duration_s = duration_s
        self.enabled = enabled
        self.done = 0
        self.errors = 0
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._shown = 0.0

    def tick(self, ok: bool) -> None:
        """Count one finished query and maybe redraw."""
        with self._lock:
            self.done += 1
            self.errors += 0 if ok else 1
            now = time.monotonic()
            if self.enabled and now - self._shown >= 0.5:
                self._shown = now
                self._draw(now)

    def finish(self) -> None:
        """Draw the final state and end the line."""
        if self.enabled:
            self._draw(time.monotonic())
            sys.stderr.write("\n")
            sys.stderr.flush()

    def _draw(self, now: float) -> None:
        elapsed = now - self._start
        share = min(1.0, elapsed / self.duration_s) if self.duration_s > 0 else 1.0
        bar = "#" * int(share * 20)
        sys.stderr.write(
            f"\r[{self.label}] [{bar:<20}] {elapsed:6.1f}/{self.duration_s:.0f}s "
            f"queries {self.done} errors {self.errors}"
        )
        sys.stderr.flush()


@dataclass
class StreamRun:
    """Everything one `run_streams` call measured."""

    records: list[Record] = field(default_factory=list)
    elapsed_s: float = 0.0
    orders: list[list[str]] = field(default_factory=list)


def run_streams(
    make_client: Callable[[int], Client],
    workload: Sequence[tuple[str, str]],
    streams: int,
    duration_s: float,
    *,
    max_rounds: int = 1000,
    permute: bool = True,
    seed: int = 0,
    lane: str = "",
    progress: Progress | None = None,
    first_stream: int = 0,
) -> StreamRun:
    """Run `streams` threads over `workload` ((name, sql) pairs) for at most `duration_s`.

    >>> run = run_streams(make_duckdb, [("q1", "SELECT 1")], 2, 1.0)  # doctest: +SKIP
    >>> run.records[0].ok                                               # doctest: +SKIP
    True
    """
    run = StreamRun()
    lock = threading.Lock()
    t0 = time.perf_counter()
    deadline = t0 + duration_s
    orders: list[list[int]] = []
    for i in range(streams):
        order = list(range(len(workload)))
        if permute:
            random.Random(seed * 100_003 + first_stream + i).shuffle(order)
        orders.append(order)
        run.orders.append([workload[j][0] for j in order])

    def stream(i: int) -> None:
        sid = first_stream + i
        try:
            client = make_client(sid)
        except (ClientError, OSError) as exc:
            now = time.perf_counter() - t0
            _add(Record(sid, "connect", now, now, False, error=str(exc), lane=lane))
            return
        try:
            for _ in range(max_rounds):
                for name, sql in (workload[j] for j in orders[i]):
                    # One instant for the check and the record: a thread descheduled in
                    # between (a loaded machine) must not log a start past the deadline.
                    start = time.perf_counter()
                    if start >= deadline:
                        return
                    try:
                        fetched = client.run(sql)
                    except ClientError as exc:
                        rec = Record(sid, name, start - t0, time.perf_counter() - t0, False,
                                     error=str(exc), lane=lane)
                    else:
                        rec = Record(sid, name, start - t0, time.perf_counter() - t0, True,
                                     rows=fetched.rows, lane=lane)
                    _add(rec)
        finally:
            client.close()

    def _add(rec: Record) -> None:
        with lock:
            run.records.append(rec)
        if progress is not None:
            progress.tick(rec.ok)

    threads = [threading.Thread(target=stream, args=(i,), daemon=True) for i in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.perf_counter()) + _JOIN_GRACE_S)
    run.elapsed_s = time.perf_counter() - t0
    run.records.sort(key=lambda r: (r.start, r.stream))
    return run

