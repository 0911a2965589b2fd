"""The worker seam: what the pool holds of a worker and of whatever starts workers.

The pool only ever holds a `WorkerProvider` and the `Worker`s it started; it never knows
which kind. Local processes (`gateway.pool.local`) are the default; another provider (Ray
actors on many hosts, say) is one new module implementing these two interfaces. A
statement's `Worker.run` is a coroutine on the pool's event loop (a worker that can only
block runs it in a thread of its own); every other call blocks, and the pool makes those in
its threads, never on the loop.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from gateway.core.backend import StatementFailed, StatementResult
from gateway.errors import GatewayError
from sqlgate.protocol import PingReply
from sqlgate.types import ChunkInfo, CostEstimate, StatementTask


class WorkerStartFailed(GatewayError):
    """A worker could not be started (503: the warehouse cannot take work right now)."""

    error_code = "TEMPORARILY_UNAVAILABLE"
    http_status = 503


class WorkerUnreachable(StatementFailed):
    """The statement never reached the worker (its connection was refused: the process is
    gone). Nothing ran, so the pool may run it on another worker."""


class Reader(Protocol):
    """The part of a result-stream reader a `Call` can hang up on."""

    def cancel(self) -> None: ...


@dataclass
class Call:
    """One statement in flight on a worker; lets another thread hang up on it."""

    statement_id: str
    reader: Reader | None = None
    cancelled: bool = False
    # Why it was hung up on, for the statement's error (stop grace ran out, cancel, ...).
    reason: str | None = None
    # Told of each result chunk stored while the statement runs (on the reading thread).
    on_chunk: Callable[[ChunkInfo], None] | None = None

    def hang_up(self) -> None:
        """Stop reading (best effort); the worker sees the stream closed."""
        self.cancelled = True
        reader = self.reader
        if reader is not None:
            with contextlib.suppress(Exception):  # a reader already closed or broken
                reader.cancel()


class Worker(Protocol):
    """A started worker as the pool drives it."""

    name: str
    location: str

    @property
    def node(self) -> str:
        """The host the worker runs on (for the response's ``sqlgate.worker``)."""
        ...

    async def run(self, task: StatementTask, call: Call) -> StatementResult:
        """Run `task`; raise StatementFailed on any failure."""
        ...

    def cancel(self, statement_id: str) -> None:
        """Interrupt a statement; best effort."""
        ...

    def ping(self, timeout: float) -> PingReply:
        """Heartbeat; raises when the worker does not answer within `timeout`."""
        ...

    def estimate(self, task: StatementTask) -> CostEstimate:
        """The engine's cost estimate, computed on the worker."""
        ...

    def prefetch(self, task: StatementTask) -> int:
        """Start fetching a queued statement's first files; how many (0 on any error)."""
        ...

    def release_prefetch(self, statement_id: str) -> bool:
        """Drop a queued statement's prefetch; best effort."""
        ...

    def lower_priority(self, nice: int) -> bool:
        """Run at a lower CPU priority; False where the provider cannot."""
        ...

    def alive(self) -> bool:
        """False once the worker is known to be gone."""
        ...

    def exit_cause(self) -> str | None:
        """Why the worker ended, in words; None while it runs or when unknown."""
        ...

    def stop(self, grace_s: float) -> None:
        """Ask the worker to shut down, forcing it after `grace_s`."""
        ...

    def kill(self) -> None:
        """End the worker at once."""
        ...


class WorkerProvider(Protocol):
    """Starts workers; `start` blocks until the worker is ready or raises WorkerStartFailed."""

    def prepare(self) -> None:
        """Get ready ahead of the first `start` (a template, warm standbys); may block."""
        ...

    def start(self) -> Worker:
        """Start one worker and wait (bounded) until it is ready to run statements."""
        ...

    def close(self) -> None:
        """Release what `prepare` made; the workers themselves are stopped by the pool."""
        ...


def describe_exit(pid: int, returncode: int) -> str:
    """'worker process 123 exited with signal 9 (SIGKILL)' and the like."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown"
        return f"worker process {pid} exited with signal {-returncode} ({name})"
    return f"worker process {pid} exited with code {returncode}"


__all__ = ["Call", "Worker", "WorkerProvider", "WorkerStartFailed", "WorkerUnreachable",
           "describe_exit"]
