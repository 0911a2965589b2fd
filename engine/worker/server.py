"""The worker's side of the protocol: one warm engine behind an Arrow Flight server.

The messages and their wire form are `sqlgate.protocol`; the gateway's side is
`gateway.pool.client`. A statement runs in ``do_get`` (its result loop is
`engine.worker.results`); control calls are the protocol's `Action`s. At most
``worker_concurrency`` statements run at a time; ``ping`` answers even while they run.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import socket
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import AbstractContextManager
from typing import Protocol

import pyarrow as pa
import pyarrow.flight as flight

from engine.location import scrub_paths
from engine.worker.results import ResultSource, StreamItem, produce
from fetch import ChunkWriter, ResultStore, open_store, result_prefix
from sqlgate.errors import BadRequest, ResourceExhausted
from sqlgate.protocol import (
    Action,
    CancelReply,
    PingReply,
    PrefetchReply,
    ReleaseReply,
    decode_task,
    encode_error,
    encode_estimate,
    encode_reply,
    is_chunk_message,
)
from sqlgate.settings import Settings
from sqlgate.types import CostEstimate, StatementError, StatementTask

# A result this small is produced whole before do_get returns (`_first_burst`).
_BURST_BYTES = 1024 * 1024
# Given, so that GeneratorStream does not build default options (and read the environment
# for their legacy format flag) on every statement.
_IPC_OPTIONS = pa.ipc.IpcWriteOptions()
# How long do_get waits for a free slot before refusing (the gateway never oversubscribes;
# this only covers a cancelled statement still unwinding on the worker).
_SLOT_WAIT_S = 30.0


class WorkerEngine(Protocol):
    """What a worker needs of its engine (`engine.Engine`; tests hand in fakes)."""

    def execute(self, task: StatementTask) -> AbstractContextManager[ResultSource]: ...

    def estimate(self, task: StatementTask) -> CostEstimate: ...

    def interrupt(self, statement_id: str) -> object: ...

    def prefetch(self, task: StatementTask, ttl_s: float) -> int: ...

    def release_prefetch(self, statement_id: str) -> bool: ...

    def close(self) -> None: ...


class WorkerServer(flight.FlightServerBase):
    """Runs statements with one engine; at most `worker_concurrency` at a time."""

    def __init__(
        self, settings: Settings, location: str, engine: WorkerEngine,
        store: ResultStore | None = None,
    ):
        super().__init__(location)
        self._settings = settings
        self._engine = engine
        self._store = store
        self._store_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, settings.pool.worker_concurrency))
        self._running: dict[str, float] = {}
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._served = 0
        self._node = socket.gethostname()

    # -- statements

    def do_get(
        self, context: flight.ServerCallContext, ticket: flight.Ticket
    ) -> flight.FlightDataStream:
        try:
            schema, items = self.open(ticket.ticket)
        except BaseException as exc:
            raise translate(exc) from exc
        return flight.GeneratorStream(schema, _first_burst(_translated(items)),
                                      options=_IPC_OPTIONS)

    def open(self, body: bytes) -> tuple[pa.Schema, Generator[StreamItem, None, None]]:
        """Start the statement `body` encodes (`encode_task`): its schema and its messages.

        Each transport (Flight's ``do_get``, the local socket of `engine.worker.stream`)
        sends the messages its own way. Raises when the statement cannot start, and the
        messages raise when it fails; `statement_error` names either failure. Closing the
        messages early (the gateway hung up) leaves the engine and frees the slot.
        """
        try:
            task = decode_task(body)
        except (ValueError, TypeError, KeyError) as exc:
            raise BadRequest(f"malformed task: {exc}") from exc
        if not self._slots.acquire(timeout=_SLOT_WAIT_S):
            raise ResourceExhausted("worker has no free slot")
        with self._lock:
            self._running[task.statement_id] = time.monotonic()
            self._served += 1
        try:
            source = self._engine.execute(task)
        except BaseException:
            self._done(task.statement_id)
            raise
        try:
            stream = source.__enter__()
            schema = stream.schema
        except BaseException as exc:
            self._leave(task, source, exc)
            raise
        return schema, self._results(task, source, stream)

    def _results(
        self, task: StatementTask, source: AbstractContextManager[ResultSource],
        stream: ResultSource,
    ) -> Generator[StreamItem, None, None]:
        # The engine's context is left when the stream ends, fails or the gateway hangs up
        # (the generator is closed), and the slot is always given back. By hand, not with an
        # ExitStack: this runs for every statement and the stack's callbacks cost more than
        # the two calls they make.
        try:
            yield from produce(task, stream, lambda: self._chunk_writer(task, stream.schema))
        except BaseException as exc:  # GeneratorExit too: the gateway hung up
            self._leave(task, source, exc)
            raise
        self._leave(task, source, None)

    def _leave(self, task: StatementTask, source: AbstractContextManager[ResultSource],
               exc: BaseException | None) -> None:
        """Leave the engine's context (told of `exc`, as `with` would), then free the slot."""
        try:
            if exc is None:
                source.__exit__(None, None, None)
            else:
                source.__exit__(type(exc), exc, exc.__traceback__)
        finally:
            self._done(task.statement_id)

    def _done(self, statement_id: str) -> None:
        with self._lock:
            self._running.pop(statement_id, None)
        self._slots.release()

    def _chunk_writer(self, task: StatementTask, schema: pa.Schema) -> ChunkWriter:
        fs = self._settings.fetch
        with self._store_lock:
            if self._store is None:
                self._store = open_store(fs)
        return ChunkWriter.from_settings(
            self._store, fs, result_prefix(task.workspace, task.statement_id), task.format,
            schema, task.compression,
        )

    # -- control

    def do_action(
        self, context: flight.ServerCallContext, action: flight.Action
    ) -> Iterator[flight.Result]:
        body = action.body.to_pybytes() if action.body is not None else b""
        try:
            kind = Action(action.type)
        except ValueError:
            raise flight.FlightServerError(f"unknown action {action.type!r}") from None
        try:
            yield flight.Result(self._answer(kind, body))
        except flight.FlightServerError:
            raise
        except BaseException as exc:
            raise translate(exc) from exc

    def _answer(self, kind: Action, body: bytes) -> bytes:
        if kind is Action.PING:
            with self._lock:
                ping = PingReply(pid=os.getpid(), running=len(self._running), served=self._served,
                                 uptime_s=time.monotonic() - self._started, node=self._node)
            return encode_reply(ping)
        if kind is Action.CANCEL:
            statement_id = body.decode()
            with self._lock:
                known = statement_id in self._running
            if known:
                self._engine.interrupt(statement_id)
            return encode_reply(CancelReply(cancelled=known))
        if kind is Action.ESTIMATE:
            return encode_estimate(self._engine.estimate(decode_task(body)))
        if kind is Action.PREFETCH:
            # The queue timeout is the prefetch's time-to-live: past it the gateway has given
            # up on the statement.
            ttl_s = self._settings.pool.queue_timeout_s
            files = self._engine.prefetch(decode_task(body), ttl_s)
            return encode_reply(PrefetchReply(files=files))
        if kind is Action.RELEASE_PREFETCH:
            return encode_reply(ReleaseReply(released=self._engine.release_prefetch(body.decode())))
        # SHUTDOWN: shutdown() waits for in-flight calls, this one included: do it elsewhere.
        threading.Thread(target=self.shutdown, daemon=True).start()
        return b"{}"

    def list_actions(self, context: flight.ServerCallContext) -> list[tuple[str, str]]:
        return [(a.value, a.name.lower()) for a in Action]


def _first_burst(items: Iterator[StreamItem]) -> Iterator[StreamItem]:
    """`items`, run here up to the end of a small result, streamed lazily past it.

    A result that ends within `_BURST_BYTES` is produced (and its engine context left)
    before do_get returns, so Flight sends the schema, the rows and the end back to back and
    the gateway wakes once for all of them: on a `SELECT 1` that is ~0.05 ms of a ~1 ms round
    trip, against handing each message over as the generator yields it. A larger result, or
    an external one that announces a chunk before its end (the announcement must go out
    while the statement still runs), goes on streaming from where the burst stopped. Errors
    raised here fail do_get itself, which the gateway reads the same way as a failing stream.
    """
    burst: list[StreamItem] = []
    size = 0
    for item in items:
        burst.append(item)
        if isinstance(item, tuple):
            batch, meta = item
            if is_chunk_message(meta):
                return itertools.chain(burst, items)
        else:
            batch = item
        size += batch.nbytes
        if size > _BURST_BYTES:
            return itertools.chain(burst, items)
    return iter(burst)


def _translated(items: Iterator[StreamItem]) -> Iterator[StreamItem]:
    """`items`, a failure raised as the Flight error that carries it."""
    try:
        yield from items
    except GeneratorExit:
        raise
    except BaseException as exc:
        raise translate(exc) from exc


def statement_error(exc: BaseException) -> StatementError:
    """Any failure as the StatementError the gateway is told.

    Every failure leaves the worker through here, so here no message keeps a path of the
    lake, the cache or the result store (`engine.location.scrub_paths`).
    """
    err: StatementError | None = None
    to_err = getattr(exc, "to_statement_error", None)
    if callable(to_err):
        made = to_err()
        if isinstance(made, StatementError):
            err = made
    if err is None:
        code = getattr(exc, "error_code", None)
        if isinstance(code, str):
            err = StatementError(code, str(getattr(exc, "message", exc)),
                                 getattr(exc, "sql_state", None))
        else:
            err = StatementError("INTERNAL_ERROR",
                                 f"worker error: {type(exc).__name__}: {exc}")
    return dataclasses.replace(err, message=scrub_paths(err.message))


def flight_error(err: StatementError) -> flight.FlightServerError:
    """A statement error as the Flight error that carries it across (no path in it)."""
    err = dataclasses.replace(err, message=scrub_paths(err.message))
    return flight.FlightServerError(err.message, extra_info=encode_error(err))


def translate(exc: BaseException) -> flight.FlightServerError:
    """Any failure as a FlightServerError carrying its `statement_error`."""
    if isinstance(exc, flight.FlightServerError):
        return exc
    return flight_error(statement_error(exc))


__all__ = ["WorkerEngine", "WorkerServer", "flight_error", "statement_error", "translate"]
