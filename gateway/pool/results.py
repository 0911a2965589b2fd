"""A statement's answer as a worker's messages arrive, whichever way they travel.

Flight (`gateway.pool.client`) and a local worker's socket (`gateway.pool.stream`) carry the
same messages (`sqlgate.protocol`); both hand them here, one at a time, and take the
`StatementResult` at the end.
"""

from __future__ import annotations

import pyarrow as pa

from gateway.core.backend import StatementFailed, StatementResult
from gateway.pool.provider import Call
from sqlgate.protocol import ChunkStored, ResultEnd, decode_message
from sqlgate.types import StatementError, StatementTask


class Answer:
    """What one statement's worker has answered so far."""

    __slots__ = ("batches", "call", "end", "heard", "inline_bytes", "task")

    def __init__(self, task: StatementTask, call: Call) -> None:
        self.task = task
        self.call = call
        self.batches: list[pa.RecordBatch] = []
        self.end: ResultEnd | None = None
        self.inline_bytes = 0
        self.heard = False  # whether any of the answer has arrived (the worker got the task)

    def message(self, data: bytes) -> None:
        """One `ChunkStored` (told to the call at once) or the `ResultEnd`.

        Raises ValueError when `data` is not a message of the protocol.
        """
        message = decode_message(data)
        if isinstance(message, ChunkStored):
            if self.call.on_chunk is not None:
                self.call.on_chunk(message.chunk)
        else:
            self.end = message

    def batch(self, data: pa.RecordBatch) -> None:
        """Keep a batch of inline rows; StatementFailed past twice the inline limit."""
        if not data.num_rows:
            return
        # Not `nbytes`: it lets go of the GIL (a thread switch when another thread waits for
        # it), and a bound needs no more than the buffers' sizes.
        self.inline_bytes += data.get_total_buffer_size()
        # The worker enforces the inline limit; this bounds the gateway regardless.
        if self.inline_bytes > self.task.inline_byte_limit * 2:
            raise StatementFailed(StatementError(
                "BAD_REQUEST", "worker sent more inline bytes than the limit"))
        self.batches.append(data)

    def result(self, schema: pa.Schema) -> StatementResult:
        """The statement's result; StatementFailed when the stream ended without its end."""
        if self.end is None:
            raise StatementFailed(StatementError(
                "INTERNAL_ERROR", "worker ended the result stream without its manifest"))
        manifest = self.end.manifest(self.task.format)
        return StatementResult(manifest, schema, [] if manifest.external else self.batches)


def cancelled(call: Call) -> StatementFailed:
    """The failure of a statement hung up on (cancel, stop grace run out: `call.reason`)."""
    return StatementFailed(StatementError("CANCELLED", call.reason or "statement cancelled"))


def past_deadline(task: StatementTask) -> StatementFailed:
    """The failure of a statement whose worker call outlived the statement's timeout."""
    return StatementFailed(StatementError(
        "DEADLINE_EXCEEDED", f"statement did not finish within {task.timeout_s} s", "57014"))


def malformed(exc: ValueError) -> StatementFailed:
    """A message that is not the protocol's, as the statement's failure."""
    return StatementFailed(StatementError(
        "INTERNAL_ERROR", f"worker sent a malformed message: {exc}"))


__all__ = ["Answer", "cancelled", "malformed", "past_deadline"]
