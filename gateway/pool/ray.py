"""Workers on many hosts: Ray actors (``worker_provider = "ray"``, ``ray_address``).

Each worker is a Ray actor running the same `WorkerServer` and `Engine` as a local worker
(``engine.worker.actor``), with the CPUs and memory the settings ask for; the gateway then
talks Arrow Flight to each one directly (`gateway.pool.client.FlightWorker`), so rows never
pass through Ray.

- Each new actor is asked (softly: Ray may place it elsewhere when that node is full) to
  start on the alive node with the fewest of this gateway's workers and standbys, and a
  standby is handed out from the node with the fewest workers, so ``min_workers`` warm
  workers end up one per node before any node gets a second.
- An actor takes 1-3 s to become ready (a Python start, the imports, an Engine): the
  provider keeps ``ray_standby_workers`` ready actors besides the pool's, and `start` hands
  one out at once and starts its replacement in the background. The pool's own
  ``min_workers`` are thus warm, and scaling up is never a cold actor start.
- A lost node is noticed on the Flight side first: the actor ends itself as soon as its
  raylet is gone (``engine.worker.actor``), which breaks its Flight streams at once; a
  statement whose stream broke pings the worker, and a worker that does not answer is
  marked gone right there (`RayWorker._lost`), so the pool drops it and starts a
  replacement without waiting for Ray. A host that vanishes without closing connections
  is caught by the pool's heartbeat (three missed pings). Ray's own report of the actor's
  death (the ObjectRef of its `serve` call, seconds to tens of seconds later, as its GCS
  gives up on the node) is the backstop. Either way only the statements running there
  fail; ones sent later go to another worker (``gateway.pool.dispatch``), and Ray places
  the replacement on a node that is still up.
- Stopping a worker (idle shutdown, retirement) asks its server to stop, then kills the
  actor. Actors are owned by this gateway's Ray driver: they end with it.

The lake and the result store must be reachable from every node (``s3://``, or one shared
path); a local directory only works while every node is this host.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
import ray
from ray.exceptions import GetTimeoutError, RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from engine.worker.actor import WorkerActor
from gateway.pool.client import FlightWorker
from gateway.pool.local import settings_toml
from gateway.pool.provider import WorkerStartFailed
from sqlgate.settings import Settings
from sqlgate.types import StatementError

log = logging.getLogger("sqlgate.pool.ray")
# A remote call that answers while a statement runs (the actor has spare threads).
_ACTOR_THREADS = 8
# After a statement's stream broke: how long the worker has to answer a ping before it is
# taken as gone. A live worker answers in ~1 ms (p50 0.6-1.5 ms measured on this host).
_LOST_PING_S = 1.0
# How long a node whose worker stopped answering gets no new workers or standbys. Ray drops
# a dead node from `ray.nodes()` once its GCS gives up on it (1-45 s here); this covers the
# time until then. A node that is fine after all is used again afterwards.
_SUSPECT_S = 60.0


@dataclass
class _Pending:
    """An actor created and asked for its `info`; ready once that answers."""

    actor: Any
    info: Any  # ObjectRef of WorkerActor.info
    created: float
    node: str  # the node it was asked to start on ("" when Ray chose)


class _Silent(WorkerStartFailed):
    """A ready actor that did not answer its first ping (its node is gone)."""


class ActorHandle:
    """A Ray actor seen as a process (`gateway.pool.client.WorkerProcess`)."""

    def __init__(self, name: str, actor: Any, info: dict[str, Any],
                 on_lost: Callable[[str], None] | None = None) -> None:
        self.name = name
        self.actor = actor
        self._on_lost = on_lost  # told the node id when the actor stops answering
        self.pid = int(info["pid"])
        self.node_id = str(info["node_id"])
        self._done = actor.serve.remote()
        self._code: int | None = None
        self.cause: str | None = None
        self.target = ""  # the node it was asked to start on

    @property
    def returncode(self) -> int | None:
        return self.poll()

    def poll(self) -> int | None:
        """None while the actor serves; 0 after a clean stop, -9 after its death.

        Only reads what the provider's watcher thread found (`settle`): the pool calls this
        on its event loop, where no Ray call may block.
        """
        return self._code

    def settle(self) -> None:
        """Record how the actor ended; its `serve` ObjectRef is ready (watcher thread)."""
        try:
            code = int(ray.get(self._done, timeout=5.0))
        except RayError as exc:
            code = -9
            self.cause = (f"Ray actor {self.name} on node {self.node_id[:12]} died: "
                          f"{_first_line(exc)}")
        if self._code is None:
            self._code = code

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                import subprocess

                raise subprocess.TimeoutExpired(f"actor {self.name}", timeout or 0)
            time.sleep(0.05)
        return self._code or 0

    def terminate(self) -> None:
        with contextlib.suppress(RayError):
            self.actor.stop.remote()

    def kill(self) -> None:
        with contextlib.suppress(RayError, ValueError):
            ray.kill(self.actor, no_restart=True)
        if self._code is None:
            self._code, self.cause = -9, f"Ray actor {self.name} was killed"

    def mark_lost(self, cause: str) -> None:
        """Record the actor as gone before Ray says so (its Flight server stopped answering)."""
        if self._code is None:
            self._code, self.cause = -9, cause
            if self._on_lost is not None:
                self._on_lost(self.node_id)


class RayWorker(FlightWorker):
    """A Flight worker whose process is a Ray actor on some node."""

    handle: ActorHandle

    def __init__(self, name: str, location: str, handle: ActorHandle) -> None:
        super().__init__(name, location, handle, node=handle.node_id)
        self.handle = handle

    def kill(self) -> None:
        """Kill the actor through Ray, also when it is already known gone (marked lost by a
        failed ping, Ray still counts it alive until the node is declared dead)."""
        self.handle.kill()

    def lower_priority(self, nice: int) -> bool:
        """Not for actors: their process lives on another node (Ray sets its resources)."""
        return False

    def exit_cause(self) -> str | None:
        """How the actor ended ("Ray actor … on node … died: …"); None while it serves."""
        if self.handle.poll() is None:
            return None
        return self.handle.cause or f"Ray actor {self.name} stopped"

    def _lost(self, exc: BaseException) -> StatementError:
        """A call's connection broke: ping once, and a worker that does not answer is gone.

        Without this the pool would wait for Ray's verdict on the actor (its GCS declaring
        the node dead) before replacing the worker and naming the cause.
        """
        if self.handle.poll() is None:
            try:
                self.ping(_LOST_PING_S)
            except (flight.FlightError, pa.ArrowException, OSError) as ping_exc:
                self.handle.mark_lost(
                    f"Ray actor {self.name} on node {self.node[:12]} stopped answering "
                    f"({_first_line(ping_exc)})")
        return super()._lost(exc)


class RayProvider:
    """Starts workers as Ray actors; see the module docstring."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._ps = settings.pool
        self._toml = settings_toml(settings)
        self._lock = threading.Lock()
        self._standby: list[_Pending] = []
        self._count = 0
        self._closed = False
        self._actor_class: Any = None
        self._handed: list[ActorHandle] = []  # workers handed out (alive or not)
        self._watcher: threading.Thread | None = None
        self._starting: list[_Pending] = []  # launched by `start`, not ready yet
        self._suspects: dict[str, float] = {}  # node id -> when a worker there went silent

    # -- WorkerProvider

    def prepare(self) -> None:
        """Connect to the cluster and start the warm standbys (blocking)."""
        self._connect()
        self._refill()

    def start(self) -> RayWorker:
        """A ready worker: a warm standby when there is one, else a new actor (bounded).

        A standby that does not answer its first ping (its node was lost since it became
        ready) is dropped and the next one, or a new actor, is taken instead; a new actor
        that does not answer fails the start (bounded: standbys are few).
        """
        self._connect()
        try:
            while True:
                standby = self._take_ready()
                try:
                    return self._ready(standby or self._launch(),
                                       self._ps.worker_start_timeout_s)
                except _Silent:
                    if standby is None:
                        raise
                    # its node is a suspect now: the next pick avoids it
        finally:
            threading.Thread(target=self._refill, name="ray-standby", daemon=True).start()

    def close(self) -> None:
        """Kill the standbys and leave the cluster (the pool has stopped its workers)."""
        with self._lock:
            self._closed = True
            standby, self._standby = self._standby, []
        for pending in standby:
            with contextlib.suppress(RayError, ValueError):
                ray.kill(pending.actor, no_restart=True)
        if ray.is_initialized():
            ray.shutdown()

    # -- internals

    def _connect(self) -> None:
        with self._lock:
            if self._closed:
                raise WorkerStartFailed("the worker provider is closed")
            if self._actor_class is not None:
                return
            address = self._ps.ray_address or None
            try:
                if not ray.is_initialized():
                    ray.init(address=address, namespace=self._ps.ray_namespace,
                             log_to_driver=False, logging_level=logging.WARNING)
            except (RayError, ConnectionError, RuntimeError, ValueError) as exc:
                raise WorkerStartFailed(
                    f"cannot reach the Ray cluster at {address or 'a new local one'}: {exc}"
                ) from exc
            options: dict[str, Any] = {"num_cpus": self._ps.ray_worker_cpus,
                                       "max_concurrency": _ACTOR_THREADS, "max_restarts": 0}
            if self._ps.ray_worker_memory_bytes > 0:
                options["memory"] = self._ps.ray_worker_memory_bytes
            self._actor_class = ray.remote(**options)(WorkerActor)

    def _alive_nodes(self) -> list[str]:
        """Nodes Ray reports alive with CPUs, less those suspected lost (`_suspect`)."""
        now = time.monotonic()
        with self._lock:
            self._suspects = {n: at for n, at in self._suspects.items() if now - at < _SUSPECT_S}
            suspects = set(self._suspects)
        return [str(n["NodeID"]) for n in ray.nodes()
                if n.get("Alive") and n.get("Resources", {}).get("CPU")
                and str(n["NodeID"]) not in suspects]

    def _suspect(self, node: str) -> None:
        """A worker on `node` stopped answering: no new workers there for a while, and its
        standbys there are dropped (they went with the node)."""
        with self._lock:
            self._suspects[node] = time.monotonic()
            gone = [p for p in self._standby if p.node == node]
            self._standby = [p for p in self._standby if p.node != node]
        for pending in gone:
            with contextlib.suppress(RayError, ValueError):
                ray.kill(pending.actor, no_restart=True)

    def _load(self, nodes: list[str], standby: bool) -> dict[str, int]:
        """Alive node -> this gateway's live workers there, those being started, and (with
        `standby`) its standbys. Call with the lock held."""
        counts = dict.fromkeys(nodes, 0)
        self._handed = [h for h in self._handed if h.poll() is None]
        where = [h.node_id for h in self._handed] + [p.node for p in self._starting]
        if standby:
            where += [p.node for p in self._standby]
        for node in where:
            if node in counts:
                counts[node] += 1
        return counts

    def _launch(self, standby: bool = False) -> _Pending:
        nodes = self._alive_nodes()
        with self._lock:
            if self._closed:  # a `.remote()` after `close` would start a local Ray instead
                raise WorkerStartFailed("the worker provider is closed")
            # A worker goes where the fewest workers are; a standby also avoids the others.
            counts = self._load(nodes, standby=standby)
            node = min(counts, key=counts.__getitem__) if counts else ""
            options: dict[str, Any] = {}
            if node:
                options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=True)
            actor = self._actor_class.options(**options).remote(self._toml)
            pending = _Pending(actor, actor.info.remote(), time.monotonic(), node)
            (self._standby if standby else self._starting).append(pending)
        return pending

    def _take_ready(self) -> _Pending | None:
        """The standby on the node with the fewest workers, a ready one before a starting
        one; None when there is none."""
        if not self._standby:
            return None
        nodes = self._alive_nodes()
        with self._lock:
            if not self._standby:
                return None
            counts = self._load(nodes, standby=False)
            ready, _ = ray.wait([p.info for p in self._standby],
                                num_returns=len(self._standby), timeout=0)
            done = {r.hex() for r in ready}
            chosen = min(self._standby, key=lambda p: (
                p.info.hex() not in done, counts.get(p.node, 0), p.created))
            if counts and counts.get(chosen.node, 0) > min(counts.values()):
                return None  # a new actor on the emptier node keeps the workers spread
            self._standby.remove(chosen)
            self._starting.append(chosen)
            return chosen

    def _ready(self, pending: _Pending, timeout: float) -> RayWorker:
        left = max(0.1, timeout - (time.monotonic() - pending.created))
        try:
            info = ray.get(pending.info, timeout=left)
        except (GetTimeoutError, RayError) as exc:
            with self._lock:
                self._starting.remove(pending)
            with contextlib.suppress(RayError, ValueError):
                ray.kill(pending.actor, no_restart=True)
            raise WorkerStartFailed(f"a Ray worker actor was not ready: {_first_line(exc)}"
                                    ) from exc
        with self._lock:
            self._count += 1
            name = f"ray-worker-{self._count}"
        handle = ActorHandle(name, pending.actor, info, on_lost=self._suspect)
        handle.target = pending.node
        with self._lock:
            self._starting.remove(pending)
        worker = RayWorker(name, str(info["location"]), handle)
        try:  # a standby readied long ago may have lost its node since: ~1 ms when fine
            worker.ping(_LOST_PING_S)
        except (flight.FlightError, pa.ArrowException, OSError) as exc:
            cause = f"Ray actor {name} at {info['location']} did not answer a Flight ping"
            handle.mark_lost(f"{cause}: {_first_line(exc)}")
            worker.kill()  # lets Ray forget it at once, before its node is declared dead
            raise _Silent(f"{cause} (can the gateway reach the Ray nodes?): "
                          f"{_first_line(exc)}") from exc
        with self._lock:
            self._handed.append(handle)
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, name="ray-watch",
                                                 daemon=True)
                self._watcher.start()
        return worker

    def _refill(self) -> None:
        """Start standbys until ``ray_standby_workers`` are ready or starting."""
        while True:
            with self._lock:
                if self._closed or len(self._standby) >= self._ps.ray_standby_workers:
                    return
            try:
                self._launch(standby=True)
            except WorkerStartFailed:  # closed meanwhile
                return
            except RayError as exc:
                log.warning("could not start a standby Ray worker: %s", exc)
                return

    def _watch(self) -> None:
        """Notice actors that end (stopped, killed, their node lost) as Ray reports them."""
        while True:
            with self._lock:
                if self._closed:
                    return
                live = {h._done.hex(): h for h in self._handed if h.poll() is None}
            if not live:
                time.sleep(0.2)
                continue
            try:
                ready, _ = ray.wait([h._done for h in live.values()], num_returns=1,
                                    timeout=0.5)
            except RayError as exc:  # the cluster connection itself: try again shortly
                log.warning("watching Ray workers: %s", exc)
                time.sleep(0.5)
                continue
            for ref in ready:
                live[ref.hex()].settle()

    def metrics(self) -> dict[str, Any]:
        """Standbys held (ready or starting)."""
        with self._lock:
            return {"ray_standby": len(self._standby)}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = ["ActorHandle", "RayProvider", "RayWorker"]
