"""The gateway's side of the worker protocol: a worker reached over Arrow Flight.

The messages are `sqlgate.protocol`; the server is `engine.worker.server`. A worker on this
host also takes statements on a Unix socket (`gateway.pool.stream`); control always goes
over Flight. `FlightWorker`
works the same against a worker on another host; only what a local process can tell (why it
died, its CPU priority) needs the optional `WorkerProcess` handle a local provider gives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import time
from typing import Protocol

import pyarrow as pa
import pyarrow.flight as flight

from gateway.core.backend import StatementFailed, StatementResult
from gateway.pool.callthreads import CallThreads
from gateway.pool.forkserver import ForkedProcess
from gateway.pool.provider import Call, WorkerUnreachable, describe_exit
from gateway.pool.results import Answer, cancelled, malformed, past_deadline
from gateway.pool.stream import Broken, StreamLane
from sqlgate.protocol import (
    Action,
    PingReply,
    PrefetchReply,
    ReleaseReply,
    decode_error,
    decode_estimate,
    decode_reply,
    encode_task,
)
from sqlgate.types import CostEstimate, StatementError, StatementTask

# Slack on top of the statement's own timeout before the gateway gives up on a worker call;
# the worker's engine enforces the timeout itself, this only bounds a worker that does not.
_CALL_SLACK_S = 30.0
# How long to wait for a dead connection's process to be reaped, to name the cause.
_EXIT_WAIT_S = 2.0
# Threads for one worker's Flight statements: the pool never runs more statements on a
# worker than its slots (``worker_concurrency``); this only caps a pool that would.
_FLIGHT_THREADS = 64


class WorkerProcess(Protocol):
    """A local worker process: the part of `subprocess.Popen` the client uses."""

    pid: int

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


class FlightWorker:
    """A worker reached over Arrow Flight, optionally owning its local process."""

    def __init__(
        self, name: str, location: str, proc: WorkerProcess | None = None, node: str = "",
        stream: str | None = None,
    ):
        self.name = name
        self.location = location
        self.proc = proc
        self._node = node or socket.gethostname()
        self._client = flight.FlightClient(location)
        self._lane = StreamLane(stream) if stream else None
        # Started as Flight statements need them: never, for a worker with a stream lane.
        self._threads = CallThreads(_FLIGHT_THREADS, name=f"sqlgate-{name}")

    @property
    def pid(self) -> int | None:
        """The local process id, None for a remote worker."""
        return self.proc.pid if self.proc is not None else None

    @property
    def node(self) -> str:
        """The host the worker runs on."""
        return self._node

    # -- statements

    async def run(self, task: StatementTask, call: Call) -> StatementResult:
        """Run `task` and collect its result; raise StatementFailed on any failure.

        Over the worker's Unix socket when it has one (`gateway.pool.stream`, read on the
        loop), else over Flight in one of this worker's call threads.
        """
        timeout = (task.timeout_s or 0) + _CALL_SLACK_S if task.timeout_s else None
        if self._lane is None:
            return await self._threads.call(self._run_flight, task, call, timeout)
        try:
            return await self._lane.run(task, call, timeout)
        except Broken as exc:
            if not exc.sent:
                raise self._refused(str(exc)) from exc
            # (in a thread: naming the cause waits, bounded, for the process's exit)
            raise await asyncio.to_thread(
                self._broken, exc.cause, exc.answered, exc.sent_at) from exc

    def _run_flight(self, task: StatementTask, call: Call,
                    timeout: float | None) -> StatementResult:
        options = flight.FlightCallOptions(timeout=timeout)
        answer = Answer(task, call)
        answered = False
        sent_at = time.monotonic()
        try:
            reader = self._client.do_get(flight.Ticket(encode_task(task)), options)
            call.reader = reader
            if call.cancelled:
                reader.cancel()
            schema = reader.schema
            answered = True
            while True:
                try:
                    chunk = reader.read_chunk()
                except StopIteration:
                    break
                if chunk.app_metadata is not None:
                    answer.message(chunk.app_metadata.to_pybytes())
                data = chunk.data
                if data is not None:
                    try:
                        answer.batch(data)
                    except StatementFailed:
                        reader.cancel()
                        raise
        except flight.FlightServerError as exc:
            err = decode_error(exc.extra_info)
            if err is None:
                err = StatementError("INTERNAL_ERROR", f"worker error: {_first_line(exc)}")
            raise StatementFailed(err) from exc
        except flight.FlightTimedOutError as exc:
            raise past_deadline(task) from exc
        except (flight.FlightError, pa.ArrowException, OSError) as exc:
            if call.cancelled:
                raise cancelled(call) from exc
            if not answered and _refused(exc):
                raise self._refused(_first_line(exc)) from exc
            raise self._broken(exc, answered, sent_at) from exc
        except ValueError as exc:  # a message that is not the protocol's
            raise malformed(exc) from exc
        return answer.result(schema)

    def _refused(self, detail: str) -> WorkerUnreachable:
        """No connection, so no task reached any worker: the statement never ran."""
        return WorkerUnreachable(StatementError(
            "ABORTED", f"worker {self.name} refused the connection: {detail}"))

    def _broken(self, exc: BaseException, answered: bool, sent_at: float) -> StatementFailed:
        """The failure of a statement whose connection was lost: WorkerUnreachable when the
        worker was known gone before it was sent (nothing ran), else ABORTED."""
        lost = self._lost(exc)  # waits (bounded) for the process's exit to be known
        if not answered and self._gone_before(sent_at):
            # its exit was reported before the statement was sent: nothing ran there
            return WorkerUnreachable(lost)
        return StatementFailed(lost)

    def _gone_before(self, moment: float) -> bool:
        """Whether the process's exit was known before `moment` (forked workers only: their
        template reports each exit as it happens)."""
        if not isinstance(self.proc, ForkedProcess):
            return False
        ended = self.proc.exited_at()
        return ended is not None and ended < moment

    def _lost(self, exc: BaseException) -> StatementError:
        cause = None
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=_EXIT_WAIT_S)
            cause = self.exit_cause()
        if cause is None:
            return StatementError(
                "ABORTED", f"lost the connection to worker {self.name} while running the "
                f"statement: {_first_line(exc)}")
        return StatementError("ABORTED", f"{cause} while running the statement")

    # -- control

    def _action(self, kind: Action, body: bytes, timeout: float) -> bytes:
        options = flight.FlightCallOptions(timeout=timeout)
        results = list(self._client.do_action(flight.Action(kind.value, body), options))
        return results[0].body.to_pybytes() if results else b""

    def cancel(self, statement_id: str) -> None:
        """Ask the worker to interrupt a statement; best effort, errors are swallowed."""
        with contextlib.suppress(flight.FlightError, pa.ArrowException, OSError):
            self._action(Action.CANCEL, statement_id.encode(), timeout=5.0)

    def prefetch(self, task: StatementTask) -> int:
        """Ask the worker to fetch a queued statement's first data files; how many it fetches.

        Best effort, like `cancel`: an error (a statement that will fail anyway, a worker that
        went away) answers 0 and the statement simply runs without it.
        """
        with contextlib.suppress(flight.FlightError, pa.ArrowException, OSError, ValueError):
            body = self._action(Action.PREFETCH, encode_task(task), 30.0)
            return decode_reply(PrefetchReply, body).files
        return 0

    def release_prefetch(self, statement_id: str) -> bool:
        """Drop a queued statement's prefetch on the worker; best effort."""
        with contextlib.suppress(flight.FlightError, pa.ArrowException, OSError, ValueError):
            body = self._action(Action.RELEASE_PREFETCH, statement_id.encode(), 5.0)
            return decode_reply(ReleaseReply, body).released
        return False

    def ping(self, timeout: float) -> PingReply:
        """Heartbeat; raises flight.FlightError (or OSError) when the worker does not answer."""
        return decode_reply(PingReply, self._action(Action.PING, b"", timeout))

    def estimate(self, task: StatementTask) -> CostEstimate:
        """The engine's cost estimate, computed on the worker."""
        try:
            return decode_estimate(self._action(Action.ESTIMATE, encode_task(task), 30.0))
        except flight.FlightServerError as exc:
            err = decode_error(exc.extra_info) or StatementError(
                "INTERNAL_ERROR", _first_line(exc))
            raise StatementFailed(err) from exc
        except (flight.FlightError, pa.ArrowException, OSError) as exc:
            raise StatementFailed(self._lost(exc)) from exc

    def lower_priority(self, nice: int) -> bool:
        """Run the local process at CPU niceness `nice`; False when remote or not allowed.

        Linux keeps a niceness per thread, and DuckDB's threads exist by the time a worker
        is ready, so every thread of the process is reniced; threads started later inherit
        it from the thread that starts them.
        """
        if self.proc is None or nice <= 0:
            return False
        pid = self.proc.pid
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except OSError:  # no /proc (macOS): the process's own priority is all there is
            tids = [pid]
        changed = False
        for tid in tids:
            with contextlib.suppress(OSError):  # a thread that just ended, or no permission
                os.setpriority(os.PRIO_PROCESS, tid, nice)
                changed = True
        return changed

    def alive(self) -> bool:
        """Whether the local process still runs (a remote worker counts as alive)."""
        return self.proc is None or self.proc.poll() is None

    def exit_cause(self) -> str | None:
        """How the local process ended, in words; None while it runs."""
        if self.proc is None or self.proc.poll() is None:
            return None
        return describe_exit(self.proc.pid, self.proc.returncode or 0)

    def stop(self, grace_s: float) -> None:
        """Ask the worker to shut down, then terminate and kill it if it lingers."""
        with contextlib.suppress(flight.FlightError, pa.ArrowException, OSError):
            self._action(Action.SHUTDOWN, b"", timeout=min(2.0, max(0.1, grace_s)))
        if self.proc is not None:
            try:
                self.proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=2.0)
                except subprocess.TimeoutExpired:
                    self.kill()
        self._client.close()
        self._threads.close()
        if self._lane is not None:
            self._lane.close()

    def kill(self) -> None:
        """SIGKILL the local process and reap it; its idle socket connections go too (the
        pool kills a lost worker without stopping it)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5.0)
        if self._lane is not None:
            self._lane.close()


def _refused(exc: BaseException) -> bool:
    """Whether gRPC could not connect at all (the worker's port is closed), as opposed to a
    connection lost after the request went out."""
    text = str(exc)
    return isinstance(exc, flight.FlightUnavailableError) and (
        "Connection refused" in text or "failed to connect to all addresses" in text)


def _first_line(exc: BaseException) -> str:
    text = str(exc).split(". Detail:", 1)[0]
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = ["FlightWorker", "WorkerProcess"]
