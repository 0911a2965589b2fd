"""Statements to a worker on this host over its Unix socket, read on the event loop.

The worker's side is `engine.worker.stream`; the frames are `sqlgate.protocol.Frame`. A
statement takes an idle connection (or opens one), sends its task and reads the answer's
frames as they come: the event loop itself waits on the socket, with no thread between the
statement and its worker. A connection whose answer was read to its end goes back to the
idle ones (at most ``max_idle``); one left half-way (cancel, timeout, failure) is dropped.

Failures come out as `StatementFailed` (the worker's error, a deadline, a malformed frame)
or as `Broken` (the connection could not be made, or was lost), which the worker handle
(`gateway.pool.client.FlightWorker`) turns into its own account of the worker's fate.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pyarrow as pa

from gateway.core.backend import StatementFailed, StatementResult
from gateway.pool.provider import Call
from gateway.pool.results import Answer, cancelled, malformed, past_deadline
from sqlgate.protocol import FRAME_HEADER, Frame, decode_error, encode_task
from sqlgate.types import StatementError, StatementTask

# Past the inline limit's bound (`Answer.batch`), a frame may hold a `ResultEnd` listing
# every chunk of a large external result.
_FRAME_SLACK = 64 * 1024 * 1024

# The reader's buffer: a batch frame of a large inline result is read in pieces this big
# (asyncio's 64 KiB default pauses and resumes the socket every 128 KiB).
_READ_BUFFER = 1024 * 1024

_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Broken(Exception):
    """The connection to the worker could not be made (``sent`` False: nothing ran) or was
    lost; ``answered`` tells whether any of the answer had arrived, ``sent_at`` when."""

    def __init__(self, cause: BaseException, *, sent: bool, answered: bool,
                 sent_at: float) -> None:
        super().__init__(str(cause) or type(cause).__name__)
        self.cause = cause
        self.sent = sent
        self.answered = answered
        self.sent_at = sent_at


class _Hangup:
    """A `Call`'s reader: hanging up aborts the statement's connection (from any thread)."""

    __slots__ = ("_loop", "_writer")

    def __init__(self, loop: asyncio.AbstractEventLoop, writer: asyncio.StreamWriter) -> None:
        self._loop = loop
        self._writer = writer

    def cancel(self) -> None:
        transport = self._writer.transport
        with contextlib.suppress(RuntimeError):  # the loop is closed: so is the connection
            self._loop.call_soon_threadsafe(transport.abort)


class StreamLane:
    """A local worker's statement socket at `path`."""

    def __init__(self, path: str, max_idle: int = 8) -> None:
        self.path = path
        self._max_idle = max_idle
        self._idle: list[tuple[asyncio.AbstractEventLoop, _Conn]] = []

    async def run(self, task: StatementTask, call: Call, timeout: float | None) -> (
            StatementResult):
        """Run `task`; StatementFailed on the worker's error, Broken on the connection's."""
        loop = asyncio.get_running_loop()
        conn = await self._connect(loop)
        if call.cancelled:  # hung up on before it was sent: the connection stays unused
            self._release(loop, conn, clean=True)
            raise cancelled(call)
        reader, writer = conn
        call.reader = _Hangup(loop, writer)
        answer = Answer(task, call)
        body = encode_task(task)
        sent_at = time.monotonic()
        clean = False  # read to the end of the answer: the connection can take another
        try:
            async with asyncio.timeout(timeout):
                writer.write(FRAME_HEADER.pack(Frame.TASK, len(body)) + body)
                got = await self._read(reader, answer)
            clean = True
        except TimeoutError as exc:
            raise past_deadline(task) from exc
        except (OSError, asyncio.IncompleteReadError) as exc:
            if call.cancelled:
                raise cancelled(call) from exc
            raise Broken(exc, sent=True, answered=answer.heard, sent_at=sent_at) from exc
        except ValueError as exc:
            raise malformed(exc) from exc
        finally:
            call.reader = None
            self._release(loop, conn, clean)
        if isinstance(got, StatementError):
            raise StatementFailed(got)
        return answer.result(got)

    def _release(self, loop: asyncio.AbstractEventLoop, conn: _Conn, clean: bool) -> None:
        """Back to the idle ones when `clean` (between answers) and there is room."""
        if not clean:
            conn[1].transport.abort()
        elif len(self._idle) < self._max_idle:
            self._idle.append((loop, conn))
        else:
            conn[1].close()

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Conn:
        while self._idle:
            owner, conn = self._idle.pop()
            if owner is loop and not conn[0].at_eof():
                return conn
            # One the worker closed while it was idle (the worker is gone), or another
            # loop's (a test's earlier run), is of no use.
            with contextlib.suppress(RuntimeError):  # that loop is closed
                owner.call_soon_threadsafe(conn[1].close)
        try:
            return await asyncio.open_unix_connection(self.path, limit=_READ_BUFFER)
        except OSError as exc:
            raise Broken(exc, sent=False, answered=False, sent_at=time.monotonic()) from exc

    async def _read(self, reader: asyncio.StreamReader,
                    answer: Answer) -> pa.Schema | StatementError:
        """The answer's frames up to its end: the result's schema, or the worker's error."""
        limit = 2 * answer.task.inline_byte_limit + _FRAME_SLACK
        schema: pa.Schema | None = None
        while True:
            kind, length = FRAME_HEADER.unpack(await reader.readexactly(FRAME_HEADER.size))
            if length > limit:
                raise ValueError(f"a frame of {length} bytes")
            payload = await reader.readexactly(length)
            answer.heard = True
            if kind == Frame.BATCH:
                stream = pa.ipc.open_stream(payload)
                schema = stream.schema
                for batch in stream:
                    answer.batch(batch)
            elif kind == Frame.MESSAGE:
                answer.message(payload)
                if answer.end is not None:
                    if schema is None:
                        raise ValueError("a result without its schema")
                    return schema
            elif kind == Frame.ERROR:
                return decode_error(payload) or StatementError(
                    "INTERNAL_ERROR", "worker failed the statement without saying why")
            else:
                raise ValueError(f"a frame of unknown kind {kind}")

    def close(self) -> None:
        """Close the idle connections (from any thread)."""
        idle, self._idle = self._idle, []
        for loop, (_, writer) in idle:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(writer.close)


__all__ = ["Broken", "StreamLane"]
