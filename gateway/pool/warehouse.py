"""The warm pool: worker processes behind the dual queue, scaled to zero when idle.

`WarehousePool` is both the `Backend` the statement registry runs statements with and the
`Warehouse` the Warehouses API shows and drives (gateway/core/backend.py):

    STOPPED --statement or start()--> STARTING --first worker ready--> RUNNING
    RUNNING --idle auto_stop_seconds, or stop()--> STOPPING --workers gone--> STOPPED

- A statement is estimated by a worker (pool/estimate.py); a result cache hit (by the
  tables' versions: core/cache.py) answers at once, else it is put in a lane and admitted
  (429 when the queue is full, before anything runs). A STOPPED warehouse starts first.
- The control loop replaces dead workers and sizes the pool as gateway/pool/autoscale.py
  decides (grow while statements wait, shrink after a calm cool-down, stop when idle);
  pool/heartbeat.py kills a live worker that misses three pings in a row.
- A worker that dies fails only the statements running on it, with the cause; one sent
  after its death was known runs on another worker (gateway/pool/dispatch.py).
- Dual mode keeps whole workers for short statements (pool/placement.py) and runs the
  other workers, where the long scans go, at a lower CPU priority (`long_worker_nice`),
  so on a machine with fewer cores than threads a short statement still gets the cores
  first. FIFO mode does neither: same pool, same slots, one lane.
- A long statement that waits may have its first files fetched (gateway/pool/queued.py).
- A statement's worker call is a coroutine on the loop (`Worker.run`); the blocking calls
  (process starts, pings, prefetch) run in the pool's thread pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gateway.core.backend import StatementEvents, StatementFailed, StatementResult
from gateway.core.cache import ResultCache
from gateway.errors import TemporarilyUnavailable
from gateway.pool import placement
from gateway.pool.autoscale import Autoscaler
from gateway.pool.dispatch import Placed, run_placed
from gateway.pool.estimate import Estimates, Estimator
from gateway.pool.heartbeat import heartbeat
from gateway.pool.placement import Member
from gateway.pool.provider import Call, Worker, WorkerProvider, WorkerUnreachable
from gateway.pool.providers import open_provider
from gateway.pool.queued import QueuedPrefetch
from gateway.pool.scheduler import Lane, Scheduler, Slot, route
from sqlgate.settings import Settings
from sqlgate.types import ChunkInfo, StatementError, StatementTask, WarehouseState

log = logging.getLogger("sqlgate.pool")

# The states by their short names (the module's own use, and callers that compare states).
STARTING, RUNNING, STOPPING, STOPPED = (
    WarehouseState.STARTING, WarehouseState.RUNNING, WarehouseState.STOPPING,
    WarehouseState.STOPPED)
_TICK_S = 0.1


class WarehousePool:
    """Runs statements on a pool of workers; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        provider: WorkerProvider | None = None,
        estimator: Estimator | None = None,
        clock: Callable[[], float] = time.monotonic,
        results: ResultCache | None = None,
    ):
        self.settings = settings
        self.results = results
        self._ps = settings.pool
        self._provider = provider or open_provider(settings)
        self._estimates = Estimates(settings, estimator)
        self.clock = clock
        self.scheduler = Scheduler(self._ps, clock=clock)
        self._members: list[Member] = []
        self._spawns: set[asyncio.Task[None]] = set()
        self._stopping: set[asyncio.Future[None]] = set()
        self._state: WarehouseState = STOPPED
        self._closing = False
        self._restart_after_stop = False
        self._scaler = Autoscaler(self._ps, clock)
        self._lost = 0
        self._start_failures = 0
        self._tasks: list[asyncio.Task[None]] = []
        threads = self._ps.max_workers * (self._ps.worker_concurrency + 2) + 8
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="sqlgate-pool")
        self._early = QueuedPrefetch(settings, self._executor)
        # Set whenever a worker joins or a start fails: statements waiting for their estimate
        # (`_first_ready`) look again.
        self._joined = asyncio.Event()

    # -- Warehouse

    @property
    def state(self) -> WarehouseState:
        """STARTING, RUNNING, STOPPING or STOPPED."""
        return self._state

    @property
    def num_workers(self) -> int:
        """Workers ready to run statements."""
        return sum(1 for m in self._members if not m.draining)

    async def start(self) -> None:
        """Start the warehouse; the state is STARTING when this returns (unless running)."""
        if self._closing:
            raise TemporarilyUnavailable("The gateway is shutting down.")
        self._wake()

    async def stop(self) -> None:
        """Stop: fail queued statements, let running ones finish within `stop_grace_s`,
        cancel the rest (saying so in their error), stop every worker."""
        await self._stop(self._ps.stop_grace_s)

    async def _stop(self, grace: float) -> None:
        if self._state in (STOPPED, STOPPING):
            return
        self._state = STOPPING
        self.scheduler.fail_queued(StatementFailed(StatementError(
            "CANCELLED", "The warehouse was stopped before the statement ran.")))
        self.scheduler.set_capacity(0)
        deadline = self.clock() + grace
        while self.scheduler.running and self.clock() < deadline:
            await asyncio.sleep(_TICK_S)
        reason = (f"The warehouse was stopped; the statement was cancelled after the "
                  f"{grace:g} s grace period.")
        for member in self._members:
            for call in list(member.calls.values()):
                call.reason = reason
                call.hang_up()
        await self._retire(list(self._members), grace_s=min(grace, 5.0))
        self._state = STOPPED
        if self._restart_after_stop or (self.scheduler.queued and not self._closing):
            self._restart_after_stop = False
            self._ensure_started()

    # -- lifespan

    async def start_background(self) -> None:
        """App startup: start the control and heartbeat loops and warm min_workers."""
        self._tasks = [
            asyncio.create_task(self._control_loop(), name="pool-control"),
            asyncio.create_task(heartbeat(self._ps, self._executor, lambda: self._members,
                                          self._lose), name="pool-heartbeat"),
        ]
        # Warm the provider (the template process) off the loop, ahead of any worker.
        self._tasks.append(asyncio.create_task(self._prepare_provider(self._provider.prepare)))
        if self._ps.min_workers > 0:
            self._ensure_started()

    async def _prepare_provider(self, prepare: Callable[[], None]) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, prepare)
        except Exception as exc:  # workers still start, only slower: say so
            log.warning("worker provider could not prepare: %s", exc)

    async def aclose(self) -> None:
        """App shutdown: refuse new work, drain within the grace, stop every worker."""
        self._closing = True
        grace = self.settings.gateway.shutdown_grace_s
        deadline = self.clock() + grace
        while (self.scheduler.running or self.scheduler.queued) and self.clock() < deadline:
            await asyncio.sleep(_TICK_S)
        if self._spawns:
            await asyncio.wait(self._spawns, timeout=self._ps.worker_start_timeout_s + 5)
        if self._state not in (STOPPED, STOPPING):
            # The drain above was the grace; whatever still runs is cancelled now.
            await self._stop(min(self._ps.stop_grace_s, 1.0))
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # Anything left (a stop in progress elsewhere, a late spawn) is killed outright.
        for member in list(self._members):
            member.worker.kill()
        self._members.clear()
        if self._stopping:  # workers retired by a cancelled control tick, still exiting
            await asyncio.wait(self._stopping, timeout=15.0)
        await asyncio.get_running_loop().run_in_executor(self._executor, self._provider.close)
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- Backend

    async def run(self, task: StatementTask, events: StatementEvents) -> StatementResult:
        """Queue, then run `task` on a worker; see gateway.core.backend.Backend."""
        if self._closing:
            raise TemporarilyUnavailable("The gateway is shutting down.", retry_after=5)
        loop = asyncio.get_running_loop()
        fp, estimate = await self._estimates.estimate(task, self._first_ready, self._executor)
        results = self.results
        key = results.key(task, estimate) if results is not None else None
        hit = (await results.lookup(key, task, estimate.versions, self._executor)
               if key is not None and results is not None else None)
        if hit is not None:
            events.queued(estimate, "cache")  # no lane, no worker: the result is at hand
            return hit
        task, lane = route(self.settings, task, estimate, self.scheduler.classify(estimate, fp))
        slot = self.scheduler.admit(lane, fp)  # QueueFull (429) before anything runs
        self._scaler.note_active(self.clock())
        try:
            self._wake()
            events.queued(estimate, task.lane or lane.value)
        except BaseException:
            self.scheduler.leave(slot)
            raise
        early = self._early.ask(task, slot, self._members)
        try:
            await self.scheduler.wait(slot)
        except BaseException:
            self._early.end(early, None)  # cancelled, timed out, warehouse stopped
            raise
        demote: asyncio.TimerHandle | None = None
        member = placement.pick(self._members, slot.lane, self._ps)
        self._early.end(early, member)

        def stored(info: ChunkInfo) -> None:
            # From the reading thread (or the loop) to the registry on the loop: the chunk's
            # link can be handed out before the statement ends.
            loop.call_soon_threadsafe(events.chunk_stored, info)

        if member is None:  # the slot's worker was lost since the grant: wait for another
            try:
                member = await self._another(slot.lane, StatementFailed(StatementError(
                    "TEMPORARILY_UNAVAILABLE", "No worker was available to run the statement.")))
            except BaseException:
                self.scheduler.release(slot)
                raise
        placed = Placed(member, Call(task.statement_id, on_chunk=stored), lane is Lane.LONG)
        try:
            placed.attach()
            events.running()
            if lane is Lane.SHORT:
                demote = loop.call_later(self._ps.short_max_seconds, self._demote, slot,
                                         member, task.statement_id)
            began = self.clock()
            result = await run_placed(
                placed, task, lose=self._lose,
                another=lambda cause: self._another(slot.lane, cause))
            self.scheduler.observe(fp, self.clock() - began)
            if key is not None and results is not None:
                return results.put(key, result, estimate.versions)
            return result
        except StatementFailed as exc:
            if slot.granted_at is not None and self.clock() - slot.granted_at > (
                    self._ps.short_max_seconds):
                self.scheduler.observe(fp, self.clock() - slot.granted_at)
            raise self._explain(placed.member, placed.call, exc) from exc.__cause__
        finally:
            if demote is not None:
                demote.cancel()
            placed.detach()
            self.scheduler.release(slot)
            self._scaler.note_active(self.clock())

    async def _another(self, lane: Lane, cause: StatementFailed) -> Member:
        """A ready worker to run a statement whose worker was gone, waiting (bounded) for a
        replacement to start when none is ready; `cause` is raised if none comes."""
        deadline = self.clock() + self._ps.worker_start_timeout_s
        while not self._closing and self.clock() < deadline:
            if self._state in (RUNNING, STARTING) and not self._members and not self._spawns:
                self._spawn()
            found = placement.pick(self._members, lane, self._ps, free_only=False)
            if found is not None and found.worker.alive():  # the control tick drops the dead
                return found
            await asyncio.sleep(_TICK_S)
        raise cause

    def _demote(self, slot: Slot, member: Member, statement_id: str) -> None:
        """The short budget ran out: the statement now counts as a long one, where it runs."""
        if self.scheduler.demote(slot) and statement_id in member.calls:
            member.long.add(statement_id)

    def _explain(self, member: Member | None, call: Call, exc: StatementFailed) -> StatementFailed:
        """The error a statement reports: the stop or heartbeat reason wins over the symptom."""
        if member is None or isinstance(exc, WorkerUnreachable):
            return exc
        if member.lost_reason and exc.error.error_code in ("ABORTED", "CANCELLED"):
            return StatementFailed(StatementError(
                "ABORTED", f"{member.lost_reason} while running the statement"))
        if call.reason and exc.error.error_code in ("CANCELLED", "ABORTED"):
            return StatementFailed(StatementError("CANCELLED", call.reason))
        if exc.error.error_code == "ABORTED" and not member.worker.alive():
            self._lose(member, member.worker.exit_cause() or "worker process exited")
        return exc

    async def _first_ready(self) -> Worker:
        """The least busy ready worker, starting the warehouse and waiting for one if need be."""
        deadline = self.clock() + self._ps.worker_start_timeout_s + self._ps.queue_timeout_s
        failures = self._start_failures
        while True:
            ready = self._ready()
            if ready:
                return min(ready, key=lambda m: len(m.calls)).worker
            if self._closing:
                raise TemporarilyUnavailable("The gateway is shutting down.", retry_after=5)
            left = deadline - self.clock()
            if left <= 0 or (self._start_failures > failures and not self._spawns):
                raise StatementFailed(StatementError("TEMPORARILY_UNAVAILABLE", (
                    "The warehouse could not start." if left > 0
                    else "No worker was ready to take the statement.")))
            self._wake()
            self._joined.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._joined.wait(), timeout=min(left, 1.0))

    # -- membership

    def _ready(self) -> list[Member]:
        return [m for m in self._members if m.ready]

    def _capacity(self) -> None:
        if self._state in (STOPPING, STOPPED):
            self.scheduler.set_capacity(0)
            return
        self.scheduler.set_capacity(*placement.layout(self._members, self._ps))

    def _wake(self) -> None:
        """Start the warehouse, or have it start again right after the stop in progress."""
        if self._state == STOPPING:
            self._restart_after_stop = True
        else:
            self._ensure_started()

    def _ensure_started(self) -> None:
        if self._closing or self._state in (RUNNING, STARTING, STOPPING):
            return
        self._state = STARTING
        self._scaler.note_cold_start(self.clock())
        for _ in range(self._scaler.initial_size()):
            self._spawn()

    def _spawn(self) -> None:
        task = asyncio.get_running_loop().create_task(self._spawn_one())
        self._spawns.add(task)
        task.add_done_callback(self._spawns.discard)

    async def _spawn_one(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            worker = await loop.run_in_executor(self._executor, self._provider.start)
        except Exception as exc:
            self._start_failures += 1
            log.error("worker start failed: %s", exc)
            if not self._members and len(self._spawns) <= 1 and self._state == STARTING:
                self._state = STOPPED
                self.scheduler.fail_queued(StatementFailed(StatementError(
                    "TEMPORARILY_UNAVAILABLE", f"The warehouse could not start: {exc}")))
            self._joined.set()
            return
        if self._closing or self._state in (STOPPING, STOPPED):
            await loop.run_in_executor(self._executor, worker.stop, 1.0)
            return
        self._members.append(placement.join(self._members, worker, self._ps, self.clock()))
        self._joined.set()
        self._scaler.note_resize(self.clock())
        if self._state == STARTING:
            self._state = RUNNING
            self._scaler.note_running(self.clock())
        self._capacity()

    def _lose(self, member: Member, reason: str) -> None:
        """A worker died or hung: take it out; its statements fail on their own calls."""
        if member.lost_reason is not None:
            return
        member.lost_reason = reason
        self._lost += 1
        log.warning("%s; replacing it", reason)
        if member in self._members:
            self._members.remove(member)
        for call in member.calls.values():
            call.hang_up()
        asyncio.get_running_loop().run_in_executor(self._executor, member.worker.kill)
        self._capacity()
        if self._scaler.replace_lost(self._state, self._members, len(self._spawns),
                                     self.scheduler):
            self._spawn()

    async def _retire(self, members: list[Member], grace_s: float) -> None:
        for m in members:
            m.draining = True
            if m in self._members:
                self._members.remove(m)
        self._capacity()
        loop = asyncio.get_running_loop()
        stops = [loop.run_in_executor(self._executor, m.worker.stop, grace_s) for m in members]
        # Remembered so that shutdown waits for them even if this task is cancelled.
        self._stopping.update(stops)
        for stop in stops:
            stop.add_done_callback(self._stopping.discard)
        if stops:
            await asyncio.wait(stops, timeout=grace_s + 10)

    # -- loops

    async def _control_loop(self) -> None:
        while True:
            await asyncio.sleep(_TICK_S)
            try:
                await self._control_tick()
            except Exception as exc:  # the loop must outlive one bad tick; it says so
                log.error("pool control tick failed", exc_info=exc)

    async def _control_tick(self) -> None:
        for member in list(self._members):
            if not member.worker.alive():
                self._lose(member, member.worker.exit_cause() or "worker process exited")
        if self._state not in (RUNNING, STARTING):
            return
        decision = self._scaler.decide(self.clock(), self._state, self._members,
                                       len(self._spawns), self.scheduler)
        if decision.spawn:
            self._spawn()
        if decision.stop:
            await self.stop()
            return
        if decision.retire is not None:
            await self._retire([decision.retire], grace_s=2.0)

    # -- metrics

    def metrics(self) -> dict[str, Any]:
        """Pool size, state, cold starts and their durations, plus the scheduler's metrics."""
        sched = self.scheduler.metrics()
        return {
            "state": self._state,
            "workers": self.num_workers,
            "workers_reserved_short": sum(1 for m in self._ready() if m.reserved),
            "workers_starting": len(self._spawns),
            "worker_concurrency": self._ps.worker_concurrency,
            "workers_lost": self._lost,
            "worker_start_failures": self._start_failures,
            **self._scaler.metrics(self.clock()),
            "scheduler": sched,
            # The per-lane figures again, flat ({lane: value}): /metrics renders those as
            # labelled gauges, not nested mappings.
            "mispredictions": sched["mispredictions"],
            **{f"lane_{name}": {lane: figures[name] for lane, figures in sched["lanes"].items()}
               for name in ("queued", "running", "wait_p50_s", "wait_p95_s", "wait_max_s")},
        }


__all__ = ["RUNNING", "STARTING", "STOPPED", "STOPPING", "WarehousePool"]
