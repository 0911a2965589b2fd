"""A worker inside a Ray actor: the same `WorkerServer` and `Engine`, on any node.

The Ray provider (``gateway.pool.ray``) wraps this class with ``ray.remote`` and creates one
actor per worker, spread over the cluster's nodes. The actor binds its Flight server to its
node's address and the gateway talks Flight to it directly: rows never pass through Ray.
Ray only places, watches and ends the process:

- `info` answers where the server listens and on which node (the provider waits on it
  as the actor's readiness);
- `serve` runs the server until `stop`; the provider holds its ObjectRef, which fails with
  the actor's death (node lost, OOM kill) — that is how the pool learns a worker is gone;
- the actor is owned by the gateway's Ray driver, so it ends when the gateway does;
- the actor ends itself as soon as its node's raylet is gone (`_watch_raylet`). Ray leaves
  a lost raylet's worker processes running (measured: still alive a minute later, orphaned)
  and reports their actors dead only once its GCS gives up on the node (1-45 s here, with
  the machine's load); a process that exits at once breaks its Flight connections, so the
  gateway knows within a fraction of a second and the statement's memory is freed.

Settings arrive as the TOML text the local provider writes to a file
(``gateway.pool.local.settings_toml``); the environment of the node is never read.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from engine.worker.server import WorkerEngine, WorkerServer
from sqlgate.settings import Settings

# How often the actor checks that its raylet still runs: the gateway learns of a lost node
# within about this much (plus its Flight call noticing the closed connection).
_RAYLET_CHECK_S = 0.2
# Exit code of an actor that ended because its raylet did (the process has no one to tell).
RAYLET_LOST_EXIT = 75


def _raylet_pid() -> int | None:
    """The PID of this node's raylet when running as a Ray worker, else None.

    Ray's raylet starts the worker processes that host actors as its own children, so the
    parent is the raylet when its process name says so (the engine reads no environment).
    """
    parent = os.getppid()
    try:
        name = Path(f"/proc/{parent}/comm").read_text().strip()
    except OSError:  # no /proc: no way to tell the raylet from another parent
        return None
    return parent if name == "raylet" else None


def _gone(pid: int) -> bool:
    """Whether process `pid` has ended (a zombie counts: nobody reaped it yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    except OSError:  # no /proc: ask the kernel whether the PID exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")


def _watch_raylet(pid: int, interval: float = _RAYLET_CHECK_S) -> None:
    """End this process once `pid` (the raylet) is gone; runs on a daemon thread.

    A dead parent re-parents this process at once, so `getppid` tells first when the raylet
    is the parent (Ray's usual case); `_gone` covers a raylet that is not.
    """
    parent = os.getppid()
    while True:
        time.sleep(interval)
        if (parent == pid and os.getppid() != pid) or _gone(pid):
            os._exit(RAYLET_LOST_EXIT)


def _node() -> tuple[str, str]:
    """(node id, node address) of the Ray node this process runs on."""
    try:
        import ray

        node_id = ray.get_runtime_context().get_node_id()
        return node_id, ray.util.get_node_ip_address()
    except Exception:  # outside Ray (tests build the class directly): this host
        return socket.gethostname(), "127.0.0.1"


class WorkerActor:
    """One warm Engine behind a Flight server bound to this node's address."""

    def __init__(self, settings_toml: str, engine: WorkerEngine | None = None) -> None:
        with tempfile.TemporaryDirectory(prefix="sqlgate-actor-") as tmp:
            config = Path(tmp) / "settings.toml"
            config.write_text(settings_toml)
            settings = Settings.load(config, env={})
        self._node_id, self._host = _node()
        if engine is None:
            from engine import Engine

            engine = Engine(settings.engine)
        self._engine = engine
        self._server = WorkerServer(settings, f"grpc://{self._host}:0", engine)
        self._stopped = threading.Event()
        raylet = _raylet_pid()
        if raylet is not None:
            threading.Thread(target=_watch_raylet, args=(raylet,), name="raylet-watch",
                             daemon=True).start()

    def info(self) -> dict[str, Any]:
        """Where the Flight server listens, and on which node (readiness of the actor)."""
        return {"location": f"grpc://{self._host}:{self._server.port}",
                "node_id": self._node_id, "node_ip": self._host, "pid": os.getpid()}

    def serve(self) -> int:
        """Serve statements until `stop`; 0 when stopped cleanly."""
        self._server.serve()
        self._engine.close()
        self._stopped.set()
        return 0

    def stop(self) -> bool:
        """Stop serving (in-flight statements end first); the `serve` call then returns."""
        threading.Thread(target=self._server.shutdown, daemon=True).start()
        return True


__all__ = ["RAYLET_LOST_EXIT", "WorkerActor"]
