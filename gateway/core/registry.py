"""The statement registry: ids, the state machine, ownership, waiting, cancel, close, retention.

Both front-ends (REST and Thrift) use it the same way::

    stmt = await registry.submit(task)            # PENDING, running in its own asyncio task
    stmt = await registry.wait(stmt, timeout=10)  # until terminal or the timeout
    stmt = registry.get(statement_id, workspace)  # NotFound for unknown / other workspace
    stmt.state, stmt.error, stmt.result           # StatementResult when SUCCEEDED
    registry.cancel(statement_id, workspace)      # best effort; CANCELED unless already done
    await registry.close(statement_id, workspace) # CLOSED, result dropped (and its chunks)

State machine: PENDING → RUNNING → SUCCEEDED | FAILED | CANCELED, and SUCCEEDED → CLOSED
(by close, or ``result_ttl_s`` after success). A terminal statement is forgotten
``statement_retention_s`` after it ended (then `get` raises NotFound). A pending or running
statement its client stopped polling (`get`, `wait`, `wait_change`) for ``abandon_s`` is
cancelled by the sweep, as Databricks does after 15 minutes, then forgotten like any other.
The registry holds at most ``max_statements``; past that, the oldest forgotten-able ones go
first, and when every statement is still running a submit is refused with 429 before
anything executes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable

from gateway.core.backend import Backend, StatementFailed, StatementResult
from gateway.core.statement import Statement, new_statement_id, wake
from gateway.errors import GatewayError, NotFound, ResourceExhausted, TemporarilyUnavailable
from sqlgate.protocol import inline_limit_message
from sqlgate.types import ChunkInfo, CostEstimate, StatementError, StatementState, StatementTask

log = logging.getLogger("sqlgate.gateway")

OnClose = Callable[[Statement, StatementResult], Awaitable[None]]


class _Events:
    """The backend's progress callbacks, bound to one statement."""

    def __init__(self, registry: StatementRegistry, stmt: Statement) -> None:
        self._registry = registry
        self._stmt = stmt

    def queued(self, estimate: CostEstimate, lane: str) -> None:
        self._stmt.estimate = estimate
        self._stmt.lane = lane
        self._stmt.queued_at = self._registry.clock()
        self._stmt.admitted.set()

    def running(self) -> None:
        stmt = self._stmt
        stmt.admitted.set()
        if stmt.state is StatementState.PENDING:
            stmt.started_at = self._registry.clock()
            self._registry._transition(stmt, StatementState.RUNNING)

    def chunk_stored(self, chunk: ChunkInfo) -> None:
        stmt = self._stmt
        if stmt.state.terminal:
            return  # late news: the manifest (or the failure) already said everything
        stmt.early_chunks[chunk.chunk_index] = chunk
        wake(stmt, chunk.chunk_index)
        if self._registry._on_change is not None:
            self._registry._on_change(stmt)  # the stored record lists the chunk too


class StatementRegistry:
    """Owns every statement of the process; see the module docstring for the lifecycle."""

    def __init__(
        self,
        backend: Backend,
        *,
        max_statements: int = 10_000,
        retention_s: float = 12 * 3600.0,
        result_ttl_s: float = 3600.0,
        inline_byte_limit: int = 25 * 1024 * 1024,
        on_close: OnClose | None = None,
        on_finish: Callable[[Statement], None] | None = None,
        on_change: Callable[[Statement], None] | None = None,
        abandon_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        policy: Callable[[StatementTask], StatementTask] | None = None,
    ) -> None:
        self.backend = backend
        # the operator's bounds on every task (catalogs, time limit), whichever front built it
        self.policy = policy
        self.max_statements = max_statements
        self.retention_s = retention_s
        self.result_ttl_s = result_ttl_s
        self.inline_byte_limit = inline_byte_limit
        self.abandon_s = abandon_s
        self.clock = clock
        self._on_close = on_close
        self._on_finish = on_finish
        # Told of every statement admitted and every state change (the state store's journal).
        self._on_change = on_change
        # Set on SIGTERM (gateway.server): new statements get 503 while the ones already
        # submitted are still polled and fetched for the grace period.
        self.draining = False
        # Insertion-ordered, so eviction goes oldest first.
        self._statements: dict[str, Statement] = {}
        self._background: set[asyncio.Task[None]] = set()

    # -- queries ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._statements)

    def statements(self) -> list[Statement]:
        """A snapshot of the statements currently known (for metrics)."""
        return list(self._statements.values())

    def quiet(self, now: float, settle_s: float) -> bool:
        """No statement is open, and none ended within `settle_s` (its client may still be
        fetching the result): a draining gateway may stop early."""
        return all(s.state.terminal and (s.ended_at is None or now - s.ended_at >= settle_s)
                   for s in self._statements.values())

    def get(self, statement_id: str, workspace: str) -> Statement:
        """The statement, or NotFound if unknown, forgotten or owned by another workspace."""
        stmt = self._statements.get(statement_id)
        if stmt is None or stmt.workspace != workspace:
            raise NotFound(f"Statement {statement_id} not found", error_code="NOT_FOUND")
        now = self.clock()
        if self._expired(stmt, now):
            self._forget(stmt)
            raise NotFound(f"Statement {statement_id} not found", error_code="NOT_FOUND")
        self._expire_result(stmt, now)
        stmt.polled_at = now
        return stmt

    # -- lifecycle -------------------------------------------------------------------------

    async def submit(self, task: StatementTask, *, admission_timeout: float = 0.5) -> Statement:
        """Register and start a statement; raise the backend's refusal if it refuses at once.

        The id is generated here unless the task already carries one. The call returns as
        soon as the backend admitted the statement (queued or running), it ended, or
        ``admission_timeout`` passed; a GatewayError raised by the backend before admission
        (429 queue full, 503 stopping) is raised from here and the statement is forgotten,
        so the client may safely retry.
        """
        if self.draining:
            raise TemporarilyUnavailable(
                "The gateway is shutting down: statements already submitted are still "
                "answered; submit new ones to another gateway or after the restart.",
                retry_after=5)
        if not task.statement_id:
            task = dataclasses.replace(task, statement_id=new_statement_id())
        if self.policy is not None:
            task = self.policy(task)
        self._make_room()
        now = self.clock()
        stmt = Statement(task=task, submitted_at=now, polled_at=now)
        self._statements[stmt.id] = stmt
        stmt.runner = asyncio.create_task(self._run(stmt), name=f"statement-{stmt.id}")
        if admission_timeout > 0 and not stmt.admitted.is_set():
            # asyncio.timeout, not wait_for: wait_for wraps the wait in one more Task (3.11)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(admission_timeout):
                    await stmt.admitted.wait()
        if stmt.rejection is not None:
            self._forget(stmt)
            raise stmt.rejection
        self._changed(stmt)
        return stmt

    def adopt(self, stmt: Statement) -> Statement:
        """Keep a finished statement read back from the state store (restart, other gateway);
        it is then answered, closed and expired like one of ours."""
        known = self._statements.get(stmt.id)
        if known is not None:
            return known
        self._make_room()
        self._statements[stmt.id] = stmt
        return stmt

    async def wait(self, stmt: Statement, timeout: float) -> Statement:
        """Wait until the statement is terminal or ``timeout`` seconds passed."""
        deadline = self.clock() + timeout
        stmt.polled_at = self.clock()
        while not stmt.state.terminal:
            left = deadline - self.clock()
            if left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await stmt.changed.wait()
        return stmt

    async def wait_chunk(self, stmt: Statement, index: int, timeout: float) -> Statement:
        """Wait until chunk `index` was stored early, the statement ended, or the timeout."""
        deadline = self.clock() + timeout
        stmt.polled_at = self.clock()
        while not stmt.state.terminal and index not in stmt.early_chunks:
            left = deadline - self.clock()
            if left <= 0:
                break
            event = stmt.chunk_waiters.setdefault(index, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await event.wait()
        return stmt

    async def wait_change(self, stmt: Statement, timeout: float) -> Statement:
        """Wait for the next state change (or the timeout); for long-polling fronts."""
        stmt.polled_at = self.clock()
        if not stmt.state.terminal:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await stmt.changed.wait()
        return stmt

    def cancel(self, statement_id: str, workspace: str) -> Statement:
        """Cancel a pending or running statement; a finished one is left as it is."""
        stmt = self.get(statement_id, workspace)
        self._cancel(stmt)
        return stmt

    async def close(self, statement_id: str, workspace: str) -> Statement:
        """Close a statement: cancel it if still running, drop its result and chunks."""
        stmt = self.get(statement_id, workspace)
        await self._close(stmt)
        return stmt

    async def sweep(self) -> int:
        """Cancel abandoned statements, drop expired results and forget expired statements;
        returns how many were forgotten."""
        now = self.clock()
        gone = 0
        for stmt in list(self._statements.values()):
            if self._abandoned(stmt, now):
                log.info("statement %s cancelled: not polled for %.0f s", stmt.id, self.abandon_s)
                self._cancel(stmt)
            elif self._expired(stmt, now):
                self._forget(stmt)
                gone += 1
            elif self._result_expired(stmt, now):
                await self._close(stmt)
        return gone

    async def aclose(self, grace_s: float = 5.0) -> list[str]:
        """Shutdown: give running statements ``grace_s`` to end, cancel the rest.

        Returns the ids of the statements that had to be cancelled.
        """
        running = [s for s in self._statements.values() if s.runner and not s.runner.done()]
        if running and grace_s > 0:
            await asyncio.wait([s.runner for s in running if s.runner], timeout=grace_s)
        cancelled = [s for s in running if s.runner and not s.runner.done()]
        for stmt in cancelled:
            self._cancel(stmt)
        tasks = [s.runner for s in cancelled if s.runner]
        if tasks:
            await asyncio.wait(tasks, timeout=max(1.0, grace_s))
        if cancelled:
            log.warning("shutdown cancelled %d statement(s): %s",
                        len(cancelled), ", ".join(s.id for s in cancelled))
        return [s.id for s in cancelled]

    # -- internals -------------------------------------------------------------------------

    async def _run(self, stmt: Statement) -> None:
        events = _Events(self, stmt)
        try:
            result = await self.backend.run(stmt.task, events)
        except asyncio.CancelledError:
            self._finish(stmt, StatementState.CANCELED)
            return
        except StatementFailed as exc:
            self._finish(stmt, StatementState.FAILED, exc.error)
            return
        except GatewayError as exc:
            if stmt.state is StatementState.PENDING and not stmt.admitted.is_set():
                stmt.rejection = exc
            self._finish(stmt, StatementState.FAILED,
                         StatementError(exc.error_code, exc.message))
            return
        except Exception as exc:  # a backend bug must not kill the loop; it ends the statement
            log.error("statement %s: backend error", stmt.id, exc_info=exc)
            self._finish(stmt, StatementState.FAILED,
                         StatementError("INTERNAL_ERROR", "Internal error while running"))
            return
        too_big = self._inline_too_big(stmt, result)
        if too_big is not None:
            self._finish(stmt, StatementState.FAILED, too_big)
            return
        stmt.result = result
        self._finish(stmt, StatementState.SUCCEEDED)

    def _inline_too_big(self, stmt: Statement, result: StatementResult) -> StatementError | None:
        # The worker enforces the limit too; this guards the gateway's memory whatever it did.
        if result.manifest.external:
            return None
        limit = min(self.inline_byte_limit, stmt.task.inline_byte_limit)
        size = sum(b.nbytes for b in result.batches)
        if size <= limit:
            return None
        return StatementError("BAD_REQUEST", inline_limit_message(limit))

    def _transition(self, stmt: Statement, state: StatementState) -> None:
        stmt.state = state
        event, stmt.changed = stmt.changed, asyncio.Event()
        event.set()
        wake(stmt)
        if stmt.rejection is None:
            self._changed(stmt)

    def _changed(self, stmt: Statement) -> None:
        if self._on_change is not None:
            self._on_change(stmt)

    def _finish(
        self, stmt: Statement, state: StatementState, error: StatementError | None = None
    ) -> None:
        if stmt.state.terminal:
            return
        stmt.error = error
        stmt.ended_at = self.clock()
        stmt.early_chunks.clear()
        if stmt.started_at is None and state is StatementState.SUCCEEDED:
            stmt.started_at = stmt.ended_at
        stmt.admitted.set()
        self._transition(stmt, state)
        if self._on_finish is not None:
            self._on_finish(stmt)

    def _cancel(self, stmt: Statement) -> None:
        if stmt.state.terminal:
            return
        if stmt.runner is not None and not stmt.runner.done():
            stmt.runner.cancel()
        # Answer CANCELED at once; the runner's own CancelledError path is then a no-op.
        self._finish(stmt, StatementState.CANCELED)

    async def _close(self, stmt: Statement) -> None:
        self._cancel(stmt)
        if stmt.state is StatementState.SUCCEEDED:
            await self._delete_chunks(stmt, self._drop_result(stmt))

    def _drop_result(self, stmt: Statement) -> StatementResult | None:
        result, stmt.result = stmt.result, None
        stmt.cache.clear()
        self._transition(stmt, StatementState.CLOSED)
        return result

    async def _delete_chunks(self, stmt: Statement, result: StatementResult | None) -> None:
        if result is None or not result.manifest.external or self._on_close is None:
            return
        try:
            await self._on_close(stmt, result)
        except Exception as exc:  # the close succeeded; leftover chunks are swept by age
            log.warning("statement %s: could not delete result chunks: %s", stmt.id, exc)

    def _expired(self, stmt: Statement, now: float) -> bool:
        return (
            stmt.state.terminal
            and stmt.ended_at is not None
            and now - stmt.ended_at > self.retention_s
        )

    def _abandoned(self, stmt: Statement, now: float) -> bool:
        return (
            self.abandon_s > 0
            and not stmt.state.terminal
            and now - stmt.polled_at > self.abandon_s
        )

    def _result_expired(self, stmt: Statement, now: float) -> bool:
        return (
            stmt.state is StatementState.SUCCEEDED
            and stmt.ended_at is not None
            and now - stmt.ended_at > self.result_ttl_s
        )

    def _expire_result(self, stmt: Statement, now: float) -> None:
        if self._result_expired(stmt, now):
            # Callers of get() are synchronous; the chunk deletion runs in the background.
            self._delete_in_background(stmt, self._drop_result(stmt))

    def _forget(self, stmt: Statement) -> None:
        self._statements.pop(stmt.id, None)
        if stmt.result is not None:
            # Forgotten before its result expired (the registry was full): its chunks go too,
            # now, rather than waiting for the store's age sweep.
            self._delete_in_background(stmt, self._drop_result(stmt))

    def _delete_in_background(self, stmt: Statement, result: StatementResult | None) -> None:
        task = asyncio.get_running_loop().create_task(self._delete_chunks(stmt, result))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _make_room(self) -> None:
        if len(self._statements) < self.max_statements:
            return
        now = self.clock()
        for stmt in list(self._statements.values()):
            if self._expired(stmt, now):
                self._forget(stmt)
        # Still full: forget the oldest finished statements (their results go with them).
        for stmt in list(self._statements.values()):
            if len(self._statements) < self.max_statements:
                break
            if stmt.state.terminal:
                self._forget(stmt)
        if len(self._statements) >= self.max_statements:
            raise ResourceExhausted(
                f"Too many statements in flight (limit {self.max_statements}); retry later",
                retry_after=2.0,
            )


__all__ = ["Statement", "StatementRegistry", "new_statement_id"]
