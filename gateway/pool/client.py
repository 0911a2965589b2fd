"""Worker providers and the Flight client the pool talks to its workers with.

A seam you can fake: the pool only holds `WorkerProvider` and `Worker`.

- `LocalProcessProvider` starts ``sqlgate worker`` as a child process on this host and
  waits for the location it writes to its ready pipe;
- `FlightWorker` is a started worker as the pool sees it: run a task, cancel, ping,
  estimate, prefetch a queued task's first files, stop. It would work the same against a
  worker on another host; only `exit_cause` (why the process died) needs the local process.

Every call here blocks; the pool runs them in threads, never on the event loop.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa
import pyarrow.flight as flight

from engine.worker.server import (
    columns_from_json,
    error_from_json,
    estimate_from_json,
    task_to_json,
)
from gateway.core.backend import StatementFailed, StatementResult
from gateway.errors import GatewayError
from sqlgate.settings import Settings
from sqlgate.types import ChunkInfo, CostEstimate, ResultManifest, StatementError, StatementTask

if TYPE_CHECKING:
    from gateway.pool.forkserver import Template

_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])
# Slack on top of the statement's own timeout before the gateway gives up on a worker call;
# the worker's engine enforces the timeout itself, this only bounds a worker that does not.
_CALL_SLACK_S = 30.0
# How long to wait for a dead connection's process to be reaped, to name the cause.
_EXIT_WAIT_S = 2.0


class WorkerStartFailed(GatewayError):
    """A worker could not be started (503: the warehouse cannot take work right now)."""

    error_code = "TEMPORARILY_UNAVAILABLE"
    http_status = 503


@dataclass
class Call:
    """One statement in flight on a worker; lets another thread hang up on it."""

    statement_id: str
    reader: Any = None
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
            with contextlib.suppress(flight.FlightError, OSError, pa.ArrowException):
                reader.cancel()


class Worker(Protocol):
    """A started worker as the pool drives it."""

    name: str
    location: str

    def run(self, task: StatementTask, call: Call) -> StatementResult: ...

    def cancel(self, statement_id: str) -> None: ...

    def ping(self, timeout: float) -> dict[str, Any]: ...

    def estimate(self, task: StatementTask) -> CostEstimate: ...

    def prefetch(self, task: StatementTask) -> int: ...

    def release_prefetch(self, statement_id: str) -> bool: ...

    def alive(self) -> bool: ...

    def exit_cause(self) -> str | None: ...

    def stop(self, grace_s: float) -> None: ...

    def kill(self) -> None: ...


class WorkerProvider(Protocol):
    """Starts workers; `start` blocks until the worker is ready or raises WorkerStartFailed."""

    def start(self) -> Worker: ...


class FlightWorker:
    """A worker reached over Arrow Flight, optionally owning its local process."""

    def __init__(self, name: str, location: str, proc: Any = None):
        self.name = name
        self.location = location
        self.proc = proc
        self._client = flight.FlightClient(location)

    @property
    def pid(self) -> int | None:
        """The local process id, None for a remote worker."""
        return self.proc.pid if self.proc is not None else None

    # -- statements

    def run(self, task: StatementTask, call: Call) -> StatementResult:
        """Run `task` and collect its result; raise StatementFailed on any failure."""
        timeout = (task.timeout_s or 0) + _CALL_SLACK_S if task.timeout_s else None
        options = flight.FlightCallOptions(timeout=timeout)
        batches: list[pa.RecordBatch] = []
        meta: dict[str, Any] | None = None
        inline_bytes = 0
        try:
            reader = self._client.do_get(flight.Ticket(task_to_json(task)), options)
            call.reader = reader
            if call.cancelled:
                reader.cancel()
            schema = reader.schema
            while True:
                try:
                    chunk = reader.read_chunk()
                except StopIteration:
                    break
                if chunk.app_metadata is not None:
                    message = json.loads(chunk.app_metadata.to_pybytes())
                    if "chunk" in message:  # a chunk stored early, not the manifest
                        if call.on_chunk is not None:
                            call.on_chunk(ChunkInfo(**message["chunk"]))
                        continue
                    meta = message
                data = chunk.data
                if data is not None and data.num_rows:
                    inline_bytes += data.nbytes
                    # The worker enforces the inline limit; this bounds the gateway regardless.
                    if inline_bytes > task.inline_byte_limit * 2:
                        reader.cancel()
                        raise StatementFailed(StatementError(
                            "BAD_REQUEST", "worker sent more inline bytes than the limit"))
                    batches.append(data)
        except flight.FlightServerError as exc:
            err = error_from_json(exc.extra_info)
            if err is None:
                err = StatementError("INTERNAL_ERROR", f"worker error: {_first_line(exc)}")
            raise StatementFailed(err) from exc
        except flight.FlightTimedOutError as exc:
            raise StatementFailed(StatementError(
                "DEADLINE_EXCEEDED", f"statement did not finish within {task.timeout_s} s",
                "57014")) from exc
        except (flight.FlightError, pa.ArrowException, OSError) as exc:
            if call.cancelled:
                raise StatementFailed(StatementError(
                    "CANCELLED", call.reason or "statement cancelled")) from exc
            raise StatementFailed(self._lost(exc)) from exc
        if meta is None:
            raise StatementFailed(StatementError(
                "INTERNAL_ERROR", "worker ended the result stream without its manifest"))
        manifest = ResultManifest(
            format=task.format,
            columns=columns_from_json(meta.get("columns") or []),
            chunks=tuple(ChunkInfo(**c) for c in meta.get("chunks") or ()),
            total_row_count=int(meta.get("total_row_count") or 0),
            total_byte_count=int(meta.get("total_byte_count") or 0),
            truncated=bool(meta.get("truncated")),
            external=bool(meta.get("external")),
            compression=meta.get("compression"),
            num_modified_rows=meta.get("num_modified_rows"),
        )
        return StatementResult(manifest, schema, [] if manifest.external else batches)

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

    def _action(self, kind: str, body: bytes, timeout: float) -> bytes:
        options = flight.FlightCallOptions(timeout=timeout)
        results = list(self._client.do_action(flight.Action(kind, body), options))
        return results[0].body.to_pybytes() if results else b""

    def cancel(self, statement_id: str) -> None:
        """Ask the worker to interrupt a statement; best effort, errors are swallowed."""
        with contextlib.suppress(flight.FlightError, pa.ArrowException, OSError):
            self._action("cancel", statement_id.encode(), timeout=5.0)

    def prefetch(self, task: StatementTask) -> int:
        """Ask the worker to fetch a queued statement's first data files; how many it fetches.

        Best effort, like `cancel`: an error (a statement that will fail anyway, a worker that
        went away) answers 0 and the statement simply runs without it.
        """
        with contextlib.suppress(flight.FlightError, pa.ArrowException, OSError, ValueError):
            answer = json.loads(self._action("prefetch", task_to_json(task), 30.0) or b"{}")
            return int(answer.get("files") or 0)
        return 0

    def release_prefetch(self, statement_id: str) -> bool:
        """Drop a queued statement's prefetch on the worker; best effort."""
        with contextlib.suppress(flight.FlightError, pa.ArrowException, OSError, ValueError):
            answer = json.loads(
                self._action("release_prefetch", statement_id.encode(), 5.0) or b"{}")
            return bool(answer.get("released"))
        return False

    def ping(self, timeout: float) -> dict[str, Any]:
        """Heartbeat; raises flight.FlightError (or OSError) when the worker does not answer."""
        info: dict[str, Any] = json.loads(self._action("ping", b"", timeout) or b"{}")
        return info

    def estimate(self, task: StatementTask) -> CostEstimate:
        """The engine's cost estimate, computed on the worker."""
        try:
            return estimate_from_json(self._action("estimate", task_to_json(task), 30.0))
        except flight.FlightServerError as exc:
            err = error_from_json(exc.extra_info) or StatementError(
                "INTERNAL_ERROR", _first_line(exc))
            raise StatementFailed(err) from exc

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
        return describe_exit(self.proc.pid, self.proc.returncode)

    def stop(self, grace_s: float) -> None:
        """Ask the worker to shut down, then terminate and kill it if it lingers."""
        with contextlib.suppress(flight.FlightError, pa.ArrowException, OSError):
            self._action("shutdown", b"", timeout=min(2.0, max(0.1, grace_s)))
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

    def kill(self) -> None:
        """SIGKILL the local process and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5.0)


def describe_exit(pid: int, returncode: int) -> str:
    """'worker process 123 exited with signal 9 (SIGKILL)' and the like."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown"
        return f"worker process {pid} exited with signal {-returncode} ({name})"
    return f"worker process {pid} exited with code {returncode}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).split(". Detail:", 1)[0]
    return text.splitlines()[0] if text else type(exc).__name__


class LocalProcessProvider:
    """Starts workers as child processes of the gateway: ``python -m sqlgate.cli worker``."""

    def __init__(
        self, settings: Settings, host: str = "127.0.0.1", command: Sequence[str] | None = None,
        preload: bool | None = None,
    ):
        self._settings = settings
        self._host = host
        self._count = 0
        # The argv before the worker flags; tests swap in a worker with a fake engine.
        self._command = list(command or [sys.executable, "-m", "sqlgate.cli", "worker"])
        # Fork workers from a template that already paid for the imports (the cold start is
        # then a fork, not a Python start); not with a custom command.
        self._preload = command is None if preload is None else preload
        self._template: Template | None = None
        self._template_lock = threading.Lock()
        self._tmp = tempfile.TemporaryDirectory(prefix="sqlgate-workers-")

    def prepare(self) -> None:
        """Start the template ahead of the first worker (blocking; the pool runs it in a thread)."""
        if self._preload:
            self._ensure_template()

    def _ensure_template(self) -> Template:
        from gateway.pool.forkserver import Template

        with self._template_lock:
            if self._template is None or self._template.gone:
                self._template = Template(self._settings.pool.worker_start_timeout_s)
            return self._template

    def close(self) -> None:
        """Stop the template (its workers die with it) and remove the settings files."""
        with self._template_lock:
            if self._template is not None:
                self._template.close()
                self._template = None
        self._tmp.cleanup()

    def start(self) -> FlightWorker:
        """Start one worker and wait (bounded) until it is ready to run statements."""
        self._count += 1
        name = f"worker-{self._count}"
        timeout = self._settings.pool.worker_start_timeout_s
        if self._preload:
            return self._fork(name, timeout)
        with tempfile.TemporaryDirectory(prefix="sqlgate-worker-") as tmp:
            config = Path(tmp) / "settings.toml"
            config.write_text(settings_toml(self._settings))
            config.chmod(0o600)
            read_fd, write_fd = os.pipe()
            try:
                proc = subprocess.Popen(
                    [*self._command,
                     "--listen", f"grpc://{self._host}:0", "--ready-fd", str(write_fd),
                     "--config", str(config)],
                    pass_fds=(write_fd,), env=child_env(), stdin=subprocess.DEVNULL,
                )
            except OSError as exc:
                os.close(read_fd)
                os.close(write_fd)
                raise WorkerStartFailed(f"could not start a worker process: {exc}") from exc
            os.close(write_fd)
            try:
                location = _read_ready(read_fd, timeout)
            finally:
                os.close(read_fd)
            if location is None:
                cause = None
                if proc.poll() is not None:
                    cause = describe_exit(proc.pid, proc.returncode)
                proc.kill()
                proc.wait()
                raise WorkerStartFailed(
                    cause or f"worker process {proc.pid} was not ready within {timeout} s"
                )
        return FlightWorker(name, location, proc)


    def _fork(self, name: str, timeout: float) -> FlightWorker:
        template = self._ensure_template()
        config = Path(self._tmp.name) / "settings.toml"
        if not config.exists():
            config.write_text(settings_toml(self._settings))
            config.chmod(0o600)
        pid, location = template.spawn(name, str(config), f"grpc://{self._host}:0", timeout)
        from gateway.pool.forkserver import ForkedProcess

        return FlightWorker(name, location, ForkedProcess(pid, template))


def _read_ready(fd: int, timeout: float) -> str | None:
    """The location line the worker writes when ready, or None (EOF or timeout)."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        readable, _, _ = select.select([fd], [], [], left)
        if not readable:
            return None
        piece = os.read(fd, 4096)
        if not piece:
            return None
        data += piece
        if len(data) > 4096:
            return None
    return data.split(b"\n", 1)[0].decode().strip() or None


def child_env() -> dict[str, str]:
    # The worker gets its settings from the config file only: SQLGATE_* variables would
    # otherwise override what the gateway was built with.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQLGATE_")}
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = _PROJECT_ROOT + (os.pathsep + path if path else "")
    return env


def settings_toml(settings: Settings) -> str:
    """Every set field of `settings` as a TOML document the CLI's --config reads back."""
    lines: list[str] = []
    for section in fields(settings):
        lines.append(f"[{section.name}]")
        obj = getattr(settings, section.name)
        for f in fields(obj):
            value = getattr(obj, f.name)
            if value is None:
                continue
            lines.append(f"{f.name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # A JSON string with ensure_ascii is a valid TOML basic string.
    return json.dumps(str(value))


__all__ = [
    "Call",
    "FlightWorker",
    "LocalProcessProvider",
    "Worker",
    "WorkerProvider",
    "WorkerStartFailed",
    "describe_exit",
    "settings_toml",
]
