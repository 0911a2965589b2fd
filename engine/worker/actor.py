"""A worker inside a Ray actor: the same `WorkerServer` and `Engine`, on any node.

The Ray provider (``gateway.pool.ray``) wraps this class with ``ray.remote`` and creates one
actor per worker, spread over the cluster's nodes. The actor binds its Flight server to its
node's address and the gateway talks Flight to it directly: rows never pass through Ray.
Ray only places, watches and ends the process:

- `info` answers where the server listens and on which node (the provider waits on it
  as the actor's readiness);
- `serve` runs the server until `stop`; the provider holds its ObjectRef, which fails with
  the actor's death (node lost, OOM kill) — that is how the pool learns a worker is gone;
- the actor is owned by the gateway's Ray driver, so it ends when the gateway does.

Settings arrive as the TOML text the local provider writes to a file
(``gateway.pool.local.settings_toml``); the environment of the node is never read.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from pathlib import Path
from typing import Any

from engine.worker.server import WorkerEngine, WorkerServer
from sqlgate.settings import Settings


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


__all__ = ["WorkerActor"]
