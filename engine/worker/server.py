"""The worker process: one warm `Engine` behind an Arrow Flight server.

The pool (gateway.pool) starts
``sqlgate worker --listen grpc://127.0.0.1:0 --ready-fd FD``; the worker builds its Engine,
binds, writes its location as one line to FD and serves until
told to stop, its parent dies, or SIGTERM. The protocol works across hosts:

- ``do_get(Ticket(task json))`` runs a statement. INLINE results stream back as Arrow
  batches; EXTERNAL_LINKS results (and HYBRID ones past the inline limit) are written to the
  result store as chunks and stream no rows. Either way the last message carries the
  manifest as JSON app-metadata on an empty batch (built at the end of
  `WorkerServer._produce`; the gateway's reader is ``gateway.pool.client``). Before it, each
  chunk stored while the statement still runs is announced the same way as
  ``{"chunk": ChunkInfo}`` (`_progress`), so its link can be handed out early.
- Failures are ``FlightServerError`` whose ``extra_info`` is the JSON of a StatementError.
- Actions: ``ping`` (heartbeat; answers even while statements run), ``cancel``
  (statement_id), ``estimate`` (task json -> CostEstimate json), ``prefetch`` /
  ``release_prefetch`` (a queued statement's first files, `prefetch_action`), ``shutdown``.

The codec helpers (`task_to_json`, `task_from_json`, `error_from_json`, ...) are the wire
format both sides share; they import nothing heavy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight

from engine.location import scrub_paths
from sqlgate.settings import Settings
from sqlgate.types import (
    ColumnInfo,
    CostEstimate,
    Disposition,
    Parameter,
    ResultFormat,
    StatementError,
    StatementTask,
)

# EXTERNAL_LINKS results are cut (truncated) here when the client set no byte_limit.
EXTERNAL_DEFAULT_BYTE_LIMIT = 100 * 1024**3
# How long do_get waits for a free slot before refusing (the gateway never oversubscribes;
# this only covers a cancelled statement still unwinding on the worker).
_SLOT_WAIT_S = 30.0
_PARENT_POLL_S = 1.0


def inline_limit_message(limit: int) -> str:
    """The Databricks text for an INLINE result over the inline byte limit."""
    return (
        "Inline byte limit exceeded. Statements executed with disposition=INLINE can have a "
        f"result size of at most {limit} bytes. Please execute the statement with "
        "disposition=EXTERNAL_LINKS if you want to download the full result."
    )


# --------------------------------------------------------------------------- wire codec


def task_to_json(task: StatementTask) -> bytes:
    """Encode a task as the do_get ticket / estimate body."""
    return json.dumps(dataclasses.asdict(task), default=_enum_value).encode()


def task_from_json(data: bytes) -> StatementTask:
    """Decode a ticket; unknown fields are ignored so old workers accept newer gateways."""
    raw = json.loads(data)
    names = {f.name for f in dataclasses.fields(StatementTask)}
    kwargs = {k: v for k, v in raw.items() if k in names}
    kwargs["parameters"] = tuple(Parameter(**p) for p in kwargs.get("parameters") or ())
    kwargs["disposition"] = Disposition(kwargs.get("disposition", Disposition.INLINE))
    kwargs["format"] = ResultFormat(kwargs.get("format", ResultFormat.JSON_ARRAY))
    kwargs["attachments"] = tuple((str(n), str(d)) for n, d in kwargs.get("attachments") or ())
    if kwargs.get("catalogs") is not None:
        kwargs["catalogs"] = tuple(str(c) for c in kwargs["catalogs"])
    return StatementTask(**kwargs)


def estimate_to_json(est: CostEstimate) -> bytes:
    """Encode a cost estimate (the ``estimate`` action's answer)."""
    return json.dumps(dataclasses.asdict(est)).encode()


def estimate_from_json(data: bytes) -> CostEstimate:
    """Decode a cost estimate."""
    raw = json.loads(data)
    raw["tables"] = tuple(raw.get("tables") or ())
    raw["versions"] = tuple((str(t), int(v)) for t, v in raw.get("versions") or ())
    return CostEstimate(**raw)


def error_to_json(err: StatementError) -> bytes:
    """Encode a statement error as FlightServerError extra_info."""
    return json.dumps(dataclasses.asdict(err)).encode()


def error_from_json(data: bytes | None) -> StatementError | None:
    """Decode FlightServerError extra_info; None when it is not ours."""
    if not data:
        return None
    try:
        raw = json.loads(data)
        return StatementError(raw["error_code"], raw["message"], raw.get("sql_state"))
    except (ValueError, KeyError, TypeError):
        return None


def columns_from_json(raw: list[dict[str, Any]]) -> tuple[ColumnInfo, ...]:
    """Decode the manifest's column list."""
    return tuple(ColumnInfo(**c) for c in raw)


def _enum_value(obj: object) -> object:
    value = getattr(obj, "value", None)
    if value is None:
        raise TypeError(f"not JSON serializable: {obj!r}")
    return value


def _flight_error(err: StatementError) -> flight.FlightServerError:
    # every failure leaves the worker here: no message shows where the lake or cache is
    err = dataclasses.replace(err, message=scrub_paths(err.message))
    return flight.FlightServerError(err.message, extra_info=error_to_json(err))


# --------------------------------------------------------------------------- the server


class WorkerServer(flight.FlightServerBase):
    """Runs statements with one Engine; at most `worker_concurrency` at a time."""

    def __init__(self, settings: Settings, location: str, engine: Any, store: Any = None):
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

    # -- statements

    def do_get(self, context: Any, ticket: flight.Ticket) -> flight.FlightDataStream:
        try:
            task = task_from_json(ticket.ticket)
        except (ValueError, TypeError, KeyError) as exc:
            raise _flight_error(StatementError("BAD_REQUEST", f"malformed task: {exc}")) from exc
        if not self._slots.acquire(timeout=_SLOT_WAIT_S):
            raise _flight_error(StatementError("RESOURCE_EXHAUSTED", "worker has no free slot"))
        stack = contextlib.ExitStack()
        stack.callback(self._slots.release)
        stack.callback(self._forget, task.statement_id)
        with self._lock:
            self._running[task.statement_id] = time.monotonic()
            self._served += 1
        try:
            stream = stack.enter_context(self._engine.execute(task))
            schema = stream.schema
        except BaseException as exc:
            stack.close()
            raise _translate(exc) from exc
        return flight.GeneratorStream(schema, self._results(task, stream, schema, stack))

    def _results(
        self, task: StatementTask, stream: Any, schema: pa.Schema, stack: contextlib.ExitStack
    ) -> Iterator[Any]:
        # The ExitStack leaves the engine context when the stream ends, fails or the gateway
        # hangs up (the generator is closed), so the slot is always given back.
        with stack:
            try:
                yield from self._produce(task, stream, schema)
            except GeneratorExit:
                raise
            except BaseException as exc:
                raise _translate(exc) from exc

    def _produce(self, task: StatementTask, stream: Any, schema: pa.Schema) -> Iterator[Any]:
        external = task.disposition is Disposition.EXTERNAL_LINKS
        byte_limit = task.byte_limit
        if byte_limit is None and task.disposition is not Disposition.INLINE:
            byte_limit = EXTERNAL_DEFAULT_BYTE_LIMIT
        pending: list[pa.RecordBatch] = []
        rows = nbytes = 0
        truncated = bool(getattr(stream, "truncated", False))
        writer = None
        try:
            for batch in stream:
                if byte_limit is not None and nbytes + batch.nbytes > byte_limit:
                    batch = _cut_to_bytes(batch, byte_limit - nbytes)
                    truncated = True
                if batch.num_rows:
                    rows += batch.num_rows
                    nbytes += batch.nbytes
                    if not external and nbytes > task.inline_byte_limit:
                        if task.disposition is Disposition.INLINE:
                            raise _flight_error(
                                StatementError("BAD_REQUEST", inline_limit_message(
                                    task.inline_byte_limit))
                            )
                        external = True  # HYBRID past the limit: everything goes to the store
                    if external:
                        if writer is None:
                            writer = self._chunk_writer(task, schema)
                        for held in pending:
                            writer.write(held)
                        pending.clear()
                        writer.write(batch)
                        yield from _progress(schema, writer.finished())
                    elif task.disposition is Disposition.INLINE:
                        yield batch
                    else:
                        pending.append(batch)  # HYBRID: hold until we know it stays small
                if truncated:
                    break
        except BaseException:
            # A failure or cancel (GeneratorExit) half-way through the write: the chunks
            # written so far belong to no manifest, so nobody else would ever delete them.
            if writer is not None:
                writer.abort()
            raise
        truncated = truncated or bool(getattr(stream, "truncated", False))
        chunks: list[dict[str, Any]] = []
        if external:
            if writer is None:
                writer = self._chunk_writer(task, schema)
            try:
                infos = writer.close()
            except BaseException:
                writer.abort()
                raise
            chunks = [dataclasses.asdict(c) for c in infos]
        else:
            yield from pending
        meta = {
            "columns": [dataclasses.asdict(c) for c in getattr(stream, "columns", ())],
            "total_row_count": rows,
            "total_byte_count": nbytes,
            "truncated": truncated,
            "external": external,
            "chunks": chunks,
            "num_modified_rows": getattr(stream, "num_modified_rows", None),
            "compression": task.compression if external else None,
        }
        yield _empty(schema), pa.py_buffer(json.dumps(meta).encode())

    def _chunk_writer(self, task: StatementTask, schema: pa.Schema) -> Any:
        from fetch import ChunkWriter, open_store, result_prefix

        fs = self._settings.fetch
        with self._store_lock:
            if self._store is None:
                self._store = open_store(fs)
        return ChunkWriter.from_settings(
            self._store, fs, result_prefix(task.workspace, task.statement_id), task.format,
            schema, task.compression,
        )

    def _forget(self, statement_id: str) -> None:
        with self._lock:
            self._running.pop(statement_id, None)

    # -- control

    def do_action(self, context: Any, action: flight.Action) -> Iterator[flight.Result]:
        kind = action.type
        body = action.body.to_pybytes() if action.body is not None else b""
        if kind == "ping":
            with self._lock:
                info = {
                    "pid": os.getpid(),
                    "running": len(self._running),
                    "served": self._served,
                    "uptime_s": time.monotonic() - self._started,
                }
            yield flight.Result(json.dumps(info).encode())
        elif kind == "cancel":
            statement_id = body.decode()
            with self._lock:
                known = statement_id in self._running
            if known:
                try:
                    self._engine.interrupt(statement_id)
                except BaseException as exc:
                    raise _translate(exc) from exc
            yield flight.Result(json.dumps({"cancelled": known}).encode())
        elif kind == "estimate":
            try:
                est = self._engine.estimate(task_from_json(body))
            except BaseException as exc:
                raise _translate(exc) from exc
            yield flight.Result(estimate_to_json(est))
        elif kind in ("prefetch", "release_prefetch"):
            try:
                answer = prefetch_action(self._engine, kind, body,
                                         self._settings.pool.queue_timeout_s)
            except BaseException as exc:
                raise _translate(exc) from exc
            yield flight.Result(answer)
        elif kind == "shutdown":
            # shutdown() waits for in-flight calls, this one included: do it from elsewhere.
            threading.Thread(target=self.shutdown, daemon=True).start()
            yield flight.Result(b"{}")
        else:
            raise flight.FlightServerError(f"unknown action {kind!r}")

    def list_actions(self, context: Any) -> list[tuple[str, str]]:
        return [
            ("ping", "heartbeat"),
            ("cancel", "interrupt a running statement"),
            ("estimate", "cost estimate of a task"),
            ("prefetch", "fetch the first files of a queued statement"),
            ("release_prefetch", "drop a queued statement's prefetch"),
            ("shutdown", "stop serving"),
        ]


def prefetch_action(engine: Any, kind: str, body: bytes, ttl_s: float) -> bytes:
    """``prefetch`` (task json -> {"files": n}) or ``release_prefetch`` (statement id).

    The queue timeout is the prefetch's time-to-live: past it the gateway has given up on
    the statement. An engine without queued prefetch (a test double) answers 0 / false.
    """
    if kind == "prefetch":
        start = getattr(engine, "prefetch", None)
        files = start(task_from_json(body), ttl_s) if callable(start) else 0
        return json.dumps({"files": files}).encode()
    release = getattr(engine, "release_prefetch", None)
    released = release(body.decode()) if callable(release) else False
    return json.dumps({"released": released}).encode()


def _progress(schema: pa.Schema, stored: list[Any]) -> Iterator[Any]:
    """One ``{"chunk": ChunkInfo}`` message per chunk stored while the statement still runs.

    The gateway hands out links to these at once, so a client downloads the first chunks
    while DuckDB produces the last (the final manifest lists every chunk again).
    """
    for info in stored:
        body = json.dumps({"chunk": dataclasses.asdict(info)}).encode()
        yield _empty(schema), pa.py_buffer(body)


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)


def _cut_to_bytes(batch: pa.RecordBatch, budget: int) -> pa.RecordBatch:
    """The longest prefix of `batch` that fits `budget` bytes (estimated per row)."""
    if budget <= 0 or batch.num_rows == 0:
        return batch.slice(0, 0)
    per_row = max(1, batch.nbytes // batch.num_rows)
    return batch.slice(0, min(batch.num_rows, budget // per_row))


def _translate(exc: BaseException) -> flight.FlightServerError:
    """Any failure as a FlightServerError carrying a StatementError."""
    if isinstance(exc, flight.FlightServerError):
        return exc
    to_err = getattr(exc, "to_statement_error", None)
    if callable(to_err):
        err = to_err()
        if isinstance(err, StatementError):
            return _flight_error(err)
    code = getattr(exc, "error_code", None)
    if isinstance(code, str):
        return _flight_error(
            StatementError(code, str(getattr(exc, "message", exc)), getattr(exc, "sql_state", None))
        )
    return _flight_error(
        StatementError("INTERNAL_ERROR", f"worker error: {type(exc).__name__}: {exc}")
    )


# --------------------------------------------------------------------------- process main


def _watch_parent(server: WorkerServer, parent: int) -> None:
    """Exit when the gateway that started us is gone, so no worker outlives it."""
    while True:
        time.sleep(_PARENT_POLL_S)
        if os.getppid() != parent:
            threading.Thread(target=server.shutdown, daemon=True).start()
            time.sleep(2.0)
            os._exit(1)


def run_worker(
    settings: Settings, *, listen: str = "grpc://127.0.0.1:0", ready_fd: int | None = None,
    engine: Any = None,
) -> int:
    """Serve statements until shut down; returns the process exit code.

    `engine` is for tests that run a worker in-process; normally the Engine is built here,
    before the ready line is written, so the first statement finds it warm.
    """
    if engine is None:
        from engine import Engine

        engine = Engine(settings.engine)
    server = WorkerServer(settings, listen, engine)
    host = listen.split("://", 1)[-1].rsplit(":", 1)[0] or "127.0.0.1"
    location = f"grpc://{host}:{server.port}"
    parent = os.getppid()
    threading.Thread(target=_watch_parent, args=(server, parent), daemon=True).start()

    def _on_term(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_term)
    if ready_fd is not None:
        with os.fdopen(ready_fd, "w") as ready:
            ready.write(location + "\n")
    else:
        print(location, file=sys.stdout, flush=True)
    server.serve()
    close = getattr(engine, "close", None)
    if callable(close):
        close()
    return 0


def serve_template() -> int:
    """A template process: imports done once, forks a warm worker per request.

    Started by the gateway as ``python -m engine.worker.server --template``. Reads one JSON
    request a line on stdin (``{"id", "config", "listen"}``), forks, and the child runs
    `run_worker` with the settings of that config file. Writes to stdout, one line each:
    ``ready``, ``spawned ID PID LOCATION`` (or ``failed ID PID``) and ``exit PID CODE``
    (CODE negative for a signal) for every child that ends. EOF on stdin (the gateway is
    gone) kills the children and ends the template.
    """
    import engine  # noqa: F401  (the point: pay for the imports once, before any fork)
    import fetch  # noqa: F401

    out_lock = threading.Lock()
    children: set[int] = set()

    def say(line: str) -> None:
        with out_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def reap() -> None:
        while True:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                time.sleep(0.05)
                continue
            children.discard(pid)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            say(f"exit {pid} {code}")

    threading.Thread(target=reap, daemon=True).start()
    say("ready")
    for line in sys.stdin:
        req = json.loads(line)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: only this thread survives the fork
            os.close(read_fd)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            # The template's stdio is its channel to the gateway: not the worker's to touch.
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            code = 1
            try:
                settings = Settings.load(req["config"], env={})
                code = run_worker(settings, listen=req["listen"], ready_fd=write_fd)
            finally:
                os._exit(code)
        children.add(pid)
        os.close(write_fd)
        with os.fdopen(read_fd, "r") as ready:
            location = ready.readline().strip()
        say(f"spawned {req['id']} {pid} {location}" if location else f"failed {req['id']} {pid}")
    for pid in list(children):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return 0


__all__ = [
    "WorkerServer",
    "columns_from_json",
    "error_from_json",
    "error_to_json",
    "estimate_from_json",
    "estimate_to_json",
    "inline_limit_message",
    "prefetch_action",
    "run_worker",
    "serve_template",
    "task_from_json",
    "task_to_json",
]


if __name__ == "__main__" and sys.argv[1:] == ["--template"]:
    sys.exit(serve_template())
