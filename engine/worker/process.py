"""The worker process: its main, and the fork template that makes cold starts a fork.

The local provider (``gateway.pool.local``) starts
``sqlgate worker --listen grpc://127.0.0.1:0 --ready-fd FD [--stream PATH]`` (or asks the
template to fork one): the worker builds its Engine, binds (and listens on the Unix socket
PATH for the gateway's statements: `engine.worker.stream`), writes its location as one line
to FD and serves until told to stop, its parent dies, or SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from types import FrameType

from engine.worker.server import WorkerEngine, WorkerServer
from engine.worker.stream import StreamServer
from sqlgate.settings import Settings

_PARENT_POLL_S = 1.0


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
    engine: WorkerEngine | None = None, stream: str | None = None,
) -> int:
    """Serve statements until shut down; returns the process exit code.

    `engine` is for tests that run a worker in-process; normally the Engine is built here,
    before the ready line is written, so the first statement finds it warm.
    """
    if engine is None:
        from engine import Engine

        engine = Engine(settings.engine)
    server = WorkerServer(settings, listen, engine)
    # The gateway keeps one connection per statement it runs here (at most
    # worker_concurrency) and a few idle ones; the cap is only a margin over that.
    lane = (StreamServer(server, stream, 4 * settings.pool.worker_concurrency + 4)
            if stream else None)
    host = listen.split("://", 1)[-1].rsplit(":", 1)[0] or "127.0.0.1"
    location = f"grpc://{host}:{server.port}"
    parent = os.getppid()
    threading.Thread(target=_watch_parent, args=(server, parent), daemon=True).start()

    def _on_term(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_term)
    if ready_fd is not None:
        with os.fdopen(ready_fd, "w") as ready:
            ready.write(location + "\n")
    else:
        print(location, file=sys.stdout, flush=True)
    server.serve()
    if lane is not None:
        lane.close()
    engine.close()
    return 0


def serve_template() -> int:
    """A template process: imports done once, forks a warm worker per request.

    Started by the gateway as ``python -m engine.worker.process --template``. Reads one JSON
    request a line on stdin (``{"id", "config", "listen", "stream"}``), forks, and the child runs
    `run_worker` with the settings of that config file. Writes to stdout, one line each:
    ``ready``, ``spawned ID PID LOCATION`` (or ``failed ID PID``) and ``exit PID CODE``
    (CODE negative for a signal) for every child that ends. EOF on stdin (the gateway is
    gone) kills the children and ends the template.
    """
    # The point of the template: pay for the imports once, before any fork. `engine` loads
    # its heavy names lazily (PEP 562), so name the Engine itself: that loads duckdb,
    # deltalake, sqlglot and the Spark rules (with their libraries) here, not in each worker.
    import fetch  # noqa: F401
    from engine import Engine  # noqa: F401

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
                code = run_worker(settings, listen=req["listen"], ready_fd=write_fd,
                                  stream=req.get("stream"))
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


__all__ = ["run_worker", "serve_template"]


if __name__ == "__main__" and sys.argv[1:] == ["--template"]:
    sys.exit(serve_template())
