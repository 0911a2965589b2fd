"""Sending a statement to a worker, and to another one when its worker was already gone.

`Placed` is where a statement runs: a pool member and the call on it. `run_placed` runs it
there; when the worker is known to be gone before the statement was sent (its exit was
reported, or it refused the connection: `WorkerUnreachable`, nothing ran) the member is
reported lost and the statement goes to another worker, up to `TRIES` times. A statement
that may have reached its worker is never sent twice: a connection lost then fails it with
ABORTED.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gateway.core.backend import StatementFailed, StatementResult
from gateway.pool.placement import Member
from gateway.pool.provider import Call, WorkerUnreachable
from sqlgate.types import StatementError, StatementTask

TRIES = 4
_CANCEL_WAIT_S = 5.0


@dataclass
class Placed:
    """A statement's member and call; `long` marks it as using a long-lane slot there."""

    member: Member
    call: Call
    long: bool

    def attach(self) -> None:
        """Count the statement on its member."""
        self.member.calls[self.call.statement_id] = self.call
        if self.long:
            self.member.long.add(self.call.statement_id)

    def detach(self) -> None:
        """The statement no longer runs on its member."""
        self.member.calls.pop(self.call.statement_id, None)
        self.member.long.discard(self.call.statement_id)


async def execute(member: Member, task: StatementTask, call: Call) -> StatementResult:
    """Run `task` on `member`'s worker; on cancellation hang up, ask the worker to
    interrupt, and wait (bounded) for the call to unwind, so the slot is not handed out
    while the statement still runs."""
    fut = asyncio.ensure_future(member.worker.run(task, call))
    try:
        result = await asyncio.shield(fut)
    except asyncio.CancelledError:
        call.reason = call.reason or "statement cancelled"
        call.hang_up()
        cancel = asyncio.ensure_future(asyncio.to_thread(member.worker.cancel,
                                                         task.statement_id))
        with contextlib.suppress(BaseException):
            await asyncio.wait((fut, cancel), timeout=_CANCEL_WAIT_S)
        for done in (fut, cancel):  # their failures are expected now: not worth a log line
            done.add_done_callback(_quiet)
        raise
    # The response's ``sqlgate.worker``: which worker ran it, on which host (or Ray node).
    result.manifest.extra["worker"] = {"id": member.worker.name, "node": member.worker.node}
    return result


def _quiet(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()


async def run_placed(
    placed: Placed, task: StatementTask, *,
    lose: Callable[[Member, str], None],
    another: Callable[[StatementFailed], Awaitable[Member]],
) -> StatementResult:
    """Run `task` where it is placed, moving it while its worker turns out to be gone."""
    for _ in range(TRIES):
        try:
            if not placed.member.worker.alive():  # its exit is known: do not even try
                raise WorkerUnreachable(StatementError(
                    "ABORTED", f"worker {placed.member.worker.name} is gone"))
            return await execute(placed.member, task, placed.call)
        except WorkerUnreachable as exc:
            placed.detach()
            worker = placed.member.worker
            lose(placed.member, worker.exit_cause() or f"worker {worker.name} is gone")
            placed.member = await another(exc)
            placed.call = Call(task.statement_id, on_chunk=placed.call.on_chunk)
            placed.attach()
    raise StatementFailed(StatementError(
        "ABORTED", f"no worker could be reached in {TRIES} tries; nothing ran"))


__all__ = ["TRIES", "Placed", "execute", "run_placed"]
