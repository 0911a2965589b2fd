"""One statement's record as the registry keeps it (`gateway.core.registry` mutates it).

Kept apart from the state machine so the fronts, the renderer and the state store's codec
(`gateway.core.records`) can use the record without the machine.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

from gateway.core.backend import StatementResult
from gateway.errors import GatewayError
from sqlgate.types import ChunkInfo, CostEstimate, StatementError, StatementState, StatementTask


def new_statement_id() -> str:
    """An unguessable id in the Databricks form ``01f0xxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx``.

    >>> sid = new_statement_id()
    >>> (len(sid), sid[:4], sid.count("-"))
    (36, '01f0', 4)
    """
    h = "01f0" + secrets.token_hex(14)  # 112 random bits
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


@dataclass(eq=False)
class Statement:
    """One statement's record; mutated only by the registry, on the event loop."""

    task: StatementTask
    submitted_at: float
    state: StatementState = StatementState.PENDING
    error: StatementError | None = None
    result: StatementResult | None = None
    lane: str | None = None
    estimate: CostEstimate | None = None
    queued_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    # Last time the client asked about it; a statement nobody asks about is abandoned.
    polled_at: float = 0.0
    # Set (and replaced) on every state change, so waiters wake without polling.
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    admitted: asyncio.Event = field(default_factory=asyncio.Event)
    runner: asyncio.Task[None] | None = None
    # A gateway error raised by the backend before the statement was admitted (e.g. 429).
    rejection: GatewayError | None = None
    # Front-end caches derived from the result (e.g. the inline chunk layout).
    cache: dict[str, object] = field(default_factory=dict)
    # Result chunks already stored while the statement runs, by index (emptied when it
    # ends: the manifest has them all). A request waiting for chunk n waits on
    # `chunk_waiters[n]`, set when chunk n is stored, and (all of them) on every state change,
    # so it also wakes when the statement ends. Per index, not one event for all: a client
    # downloading 8 chunks at once would otherwise wake 8 waiters for every chunk stored.
    early_chunks: dict[int, ChunkInfo] = field(default_factory=dict)
    chunk_waiters: dict[int, asyncio.Event] = field(default_factory=dict)
    # The gateway that runs it, when another one does (read from the shared state store).
    owner: str | None = None
    # Sequence number of its last write-behind note (gateway.core.journal).
    journaled: int = 0

    @property
    def id(self) -> str:
        """The statement id."""
        return self.task.statement_id

    @property
    def workspace(self) -> str:
        """The owning workspace."""
        return self.task.workspace

    @property
    def queue_ms(self) -> float | None:
        """Milliseconds spent waiting for a worker, once known."""
        if self.started_at is None:
            return None
        return (self.started_at - (self.queued_at or self.submitted_at)) * 1000.0


def wake(stmt: Statement, index: int | None = None) -> None:
    """Wake the requests waiting for chunk `index` (None: every chunk waiter)."""
    if index is None:
        waiters, stmt.chunk_waiters = stmt.chunk_waiters, {}
        for event in waiters.values():
            event.set()
    elif index in stmt.chunk_waiters:
        stmt.chunk_waiters.pop(index).set()


__all__ = ["Statement", "new_statement_id", "wake"]
