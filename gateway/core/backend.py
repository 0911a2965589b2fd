"""The seam between the statement front-ends (REST, Thrift) and whatever runs statements.

`gateway.core.registry` (the statement state machine) calls `Backend.run` once per statement
in its own asyncio task; `gateway.pool.warehouse` implements it with the dual-queue scheduler
and the warm pool of worker processes. Cancelling the asyncio task cancels the statement:
the backend must then stop the work on the worker (best effort) and re-raise `CancelledError`.

Results come back as `StatementResult`: the manifest plus, for inline results, the Arrow
batches (bounded by the task's `inline_byte_limit`); external results carry only the manifest,
whose chunks already sit in the result store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa

from sqlgate.types import (
    ChunkInfo,
    CostEstimate,
    ResultManifest,
    StatementError,
    StatementTask,
    WarehouseState,
)


@dataclass
class StatementResult:
    """A finished statement: its manifest, its Arrow schema and, when inline, its batches."""

    manifest: ResultManifest
    schema: pa.Schema
    batches: list[pa.RecordBatch] = field(default_factory=list)
    # "hit": answered from the result cache; "miss": run and kept there (gateway/core/cache).
    cache: str | None = None


class StatementFailed(Exception):
    """The statement ran and failed (SQL error, worker crash, timeout): HTTP 200 + FAILED."""

    def __init__(self, error: StatementError) -> None:
        super().__init__(error.message)
        self.error = error


class StatementEvents(Protocol):
    """Progress callbacks from the backend to the registry; called on the event loop."""

    def queued(self, estimate: CostEstimate, lane: str) -> None: ...

    def running(self) -> None: ...

    def chunk_stored(self, chunk: ChunkInfo) -> None:
        """A result chunk was stored while the statement still runs (its link may go out)."""


class Backend(Protocol):
    """Runs statements. Raises StatementFailed, or a gateway error before anything runs."""

    async def run(self, task: StatementTask, events: StatementEvents) -> StatementResult: ...


class Warehouse(Protocol):
    """The warehouse a backend serves, as the Warehouses API shows and drives it."""

    @property
    def state(self) -> WarehouseState: ...

    @property
    def num_workers(self) -> int: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
