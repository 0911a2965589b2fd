"""The gateway's side of the durable control plane: restarts, and several gateways on one store.

    control = ControlPlane(store, settings, warehouse_of)
    registry = StatementRegistry(..., on_change=control.note)
    control.bind(registry)
    await control.start()                     # lifespan: fail leftovers, heartbeat, cancel poll
    stmt = await control.find(sid, workspace) # ours, or read back from the store
    await control.cancel(sid, workspace)      # ours: now; else asked through the store
    await control.close(sid, workspace, store.delete_prefix)
    await control.sweep()                     # retention across restarts and gateways
    await control.aclose()

What it promises:

- Every admitted statement and every state change is written behind (`gateway.core.journal`)
  with its result once finished (inline: the Arrow bytes; external: the manifest naming its
  chunks in the shared result store), so any gateway, and this one after a restart, answers
  GET, chunk and close for it; while an external result is being written, each chunk is
  added to the record as it is stored, so any gateway hands its link out at once; the
  result-link signing secret is kept in the store (`signing_secret`), so links signed
  before a restart or by another gateway still verify.
- A statement is run by the gateway that accepted it (its workers). Its record names that
  gateway (`owner`); a cancel arriving elsewhere is recorded in the store and the owner,
  which polls for cancel requests every ``state_poll_s``, cancels it on its worker. A close
  elsewhere marks it CLOSED in the store at once and deletes its chunks; the owner, told the
  same way, drops it from memory.
- Each gateway beats in the store every ``state_heartbeat_s``. At start a gateway fails its
  own leftovers (same ``gateway_id``: it restarted) with "the gateway restarted"; a gateway
  whose beat is older than three intervals is dead, and any live one fails its pending and
  running statements. Finished statements of a dead gateway stay answerable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from gateway.core.journal import Journal
from gateway.core.records import from_record, snapshot
from gateway.core.registry import StatementRegistry
from gateway.core.statement import Statement
from gateway.core.store import StateStore
from gateway.core.system import attach_history, wants_history
from gateway.errors import NotFound
from sqlgate.settings import Settings
from sqlgate.types import ChunkInfo, StatementTask

log = logging.getLogger("sqlgate.gateway")

# Seconds the write-behind gathers writes when no other gateway reads the store: a crash
# loses at most this much of the record (the statements ran; their clients were answered),
# and a sequential client's statements (a few ms each) share one commit rather than one each.
_LINGER_S = 0.05
# Longest an answer waits for its statement's record to be written (shared store).
_SETTLE_S = 2.0
# Beats a gateway may miss before the others call it dead.
_MISSED_BEATS = 3
# A statement id unknown here may have been accepted by another gateway a moment ago, its
# record still in that gateway's write-behind queue: look once more after this long.
_RECHECK_S = 0.05


def _error(message: str) -> str:
    return json.dumps({"error_code": "ABORTED", "message": message})


def gateway_id(settings: Settings) -> str:
    """This gateway's id: ``gateway_id``, else host:port (stable across restarts)."""
    g = settings.gateway
    return g.gateway_id or f"{socket.gethostname()}:{g.port}"


class ControlPlane:
    """The state store as this gateway uses it; see the module docstring."""

    def __init__(self, store: StateStore, settings: Settings,
                 warehouse_of: Callable[[str], str],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.settings = settings
        self.id = gateway_id(settings)
        self.url = f"http://{settings.gateway.host}:{settings.gateway.port}"
        # Other gateways may read this store (PostgreSQL): answers wait for their records.
        self.shared = settings.gateway.state_shared or not store.url.startswith("sqlite:")
        # Alone on the store nobody waits for a record: gather writes for a few ms, so a
        # steady stream of statements costs a commit per batch, not per statement.
        self.journal = Journal(store, linger_s=0.0 if self.shared else _LINGER_S)
        self.clock = clock
        self._warehouse_of = warehouse_of
        self._registry: StatementRegistry | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.remote_cancels = 0
        # Chunks stored so far of this gateway's running external results (shared store).
        self._chunks: dict[str, list[ChunkInfo]] = {}
        # Statements noted while admitted or running, not yet written (local store only).
        self._open: dict[str, Statement] = {}
        self._open_timer: asyncio.TimerHandle | None = None

    def bind(self, registry: StatementRegistry) -> None:
        """The registry whose statements this gateway runs."""
        self._registry = registry

    @property
    def registry(self) -> StatementRegistry:
        assert self._registry is not None, "ControlPlane.bind(registry) first"
        return self._registry

    # -- the registry's hook -----------------------------------------------------------

    def note(self, stmt: Statement) -> None:
        """A statement was admitted, changed state or stored a chunk: write it behind (no
        I/O here). A chunk stored while it runs is news only to other gateways."""
        chunks = None
        if stmt.early_chunks and not stmt.state.terminal:
            if not self.shared:
                return
            # Called once per chunk stored, the newest last in the dict: an append-only
            # list per statement, passed with its length, keeps this O(1) on the loop
            # (copying the list per chunk was quadratic: 100,000 chunks are allowed).
            chunks = self._chunks.setdefault(stmt.id, [])
            chunks.append(next(reversed(stmt.early_chunks.values())))
        elif stmt.id in self._chunks:
            del self._chunks[stmt.id]  # ended: the manifest lists them all
        elif not self.shared and not stmt.state.terminal:
            # Admitted or running, with nobody else reading the store: the record is only
            # due within the linger, and most statements end before then. Their end is
            # written (below, at once); the ones still open then are written as they are
            # (`note_open`). A short statement is then one snapshot, not three.
            self._open[stmt.id] = stmt
            if self._open_timer is None:
                self._open_timer = asyncio.get_running_loop().call_later(
                    _LINGER_S, self.note_open)
            return
        self._write(stmt, chunks)

    def note_open(self) -> None:
        """Write behind the statements noted while open that are still open now."""
        if self._open_timer is not None:
            self._open_timer.cancel()
            self._open_timer = None
        noted, self._open = self._open, {}
        for stmt in noted.values():
            if not stmt.state.terminal:  # else its end was written when it came
                self._write(stmt, None)

    def _write(self, stmt: Statement, chunks: list[ChunkInfo] | None) -> None:
        snap = snapshot(stmt, stmt.owner or self.id, self._warehouse_of(stmt.workspace),
                        self.clock)
        if chunks is not None:
            snap.info["chunks"] = (chunks, len(chunks))
        stmt.journaled = self.journal.note(snap)

    async def flush(self) -> None:
        """Wait until everything noted so far is stored (read your own writes)."""
        self.note_open()
        await self.journal.flush()

    async def settled(self, stmt: Statement) -> None:
        """Before showing a statement: with a shared store, wait until its latest record
        is written, so a client sent to another gateway next (a GET, its chunks, a cancel)
        finds it there as shown here — submitted, or finished. One write-behind batch (and
        nothing when it is already written); nothing to wait for alone on the store."""
        if self.shared and stmt.owner is None:
            # Bounded: with the store down the journal retries for a while; the answer
            # then goes out as it is rather than hang.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.journal.written(stmt.journaled), _SETTLE_S)

    # -- answering any statement ----------------------------------------------------------

    async def find(self, statement_id: str, workspace: str) -> Statement:
        """The statement, whichever gateway ran it; NotFound as `StatementRegistry.get`."""
        try:
            return self.registry.get(statement_id, workspace)
        except NotFound:
            pass
        rec = await asyncio.to_thread(self.store.get_statement, statement_id)
        if rec is None:
            await asyncio.sleep(_RECHECK_S)
            rec = await asyncio.to_thread(self.store.get_statement, statement_id)
        if rec is None or rec.workspace != workspace:
            raise NotFound(f"Statement {statement_id} not found", error_code="NOT_FOUND")
        stmt = await asyncio.to_thread(from_record, rec, self.clock)
        if rec.owner != self.id:
            # Another gateway's: read afresh on every request (it may change there), never
            # kept here. Ours (from before a restart): kept and answered like any other.
            stmt.owner = rec.owner
            return stmt
        if not stmt.state.terminal:
            return stmt  # (only for a moment: start() fails our leftovers)
        self.registry.adopt(stmt)
        return self.registry.get(statement_id, workspace)

    async def wait_chunk(self, statement_id: str, workspace: str, index: int,
                         timeout: float) -> Statement:
        """Another gateway's running statement, read again every ``state_poll_s`` until
        its stored record lists chunk `index` (its owner writes each chunk as it is
        stored), the statement ended, or `timeout` passed."""
        deadline = self.clock() + timeout
        while True:
            stmt = await self.find(statement_id, workspace)
            left = deadline - self.clock()
            if (stmt.owner is None or stmt.state.terminal or index in stmt.early_chunks
                    or left <= 0):
                return stmt
            await asyncio.sleep(min(self._poll_s, left))

    async def cancel(self, statement_id: str, workspace: str) -> None:
        """Cancel here if it runs here; else ask its owner through the store."""
        stmt = await self.find(statement_id, workspace)
        if stmt.owner is None or stmt.state.terminal:
            self.registry.cancel(statement_id, workspace)
            return
        if await asyncio.to_thread(self.store.request_cancel, statement_id):
            log.info("statement %s: cancel requested from %s", statement_id, stmt.owner)

    async def close(self, statement_id: str, workspace: str,
                    delete_prefix: Callable[[str], Any] | None) -> None:
        """Close here if ours; another gateway's is CLOSED in the store at once (its chunks
        deleted from the shared result store) and its owner told to drop it from memory."""
        stmt = await self.find(statement_id, workspace)
        if stmt.owner is None:
            await self.registry.close(statement_id, workspace)
            return
        before = await asyncio.to_thread(self.store.request_close, statement_id)
        if before is not None and before.state == "SUCCEEDED" and delete_prefix is not None:
            for prefix in chunk_prefixes(before.manifest):
                await asyncio.to_thread(delete_prefix, prefix)

    async def prepare(self, task: StatementTask) -> StatementTask:
        """The task with what the worker cannot fetch itself: system.query.history rows."""
        if not wants_history(task):
            return task
        await self.flush()  # read your own writes
        return await asyncio.to_thread(attach_history, task, self.store,
                                       self.settings.gateway.history_sql_max_rows)

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Fail this gateway's leftovers, start beating, polling and writing behind."""
        self.journal.start()
        failed = await asyncio.to_thread(
            self.store.fail_statements, [self.id],
            _error("The gateway restarted while the statement was running; run it again."),
            time.time())
        if failed:
            log.warning("gateway %s restarted: %d unfinished statement(s) failed",
                        self.id, len(failed))
        await self._beat()
        self._tasks = [asyncio.create_task(self._loop(self._beat, self._beat_s),
                                           name="sqlgate-heartbeat"),
                       asyncio.create_task(self._loop(self._poll_cancels, self._poll_s),
                                           name="sqlgate-cancel-poll")]

    async def aclose(self) -> None:
        """Stop the loops, write what is queued, leave the store (a clean stop is not death)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.note_open()
        await self.journal.aclose()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.store.forget_gateway, self.id)
        self.store.close()

    async def sweep(self, delete_prefix: Callable[[str], Any] | None) -> None:
        """Retention over the whole store (the registry sweeps what it holds in memory):
        results past ``result_ttl_s`` are closed and their chunks deleted, statements past
        ``statement_retention_s`` forgotten, history past ``history_retention_s`` dropped."""
        now = time.time()
        s = self.settings
        closed = await asyncio.to_thread(self.store.close_results,
                                         now - float(s.fetch.result_ttl_s))
        gone = await asyncio.to_thread(self.store.delete_statements,
                                       now - s.gateway.statement_retention_s)
        await asyncio.to_thread(self.store.delete_history, now - s.gateway.history_retention_s)
        if delete_prefix is None:
            return
        for rec in [*closed, *(g for g in gone if g.state == "SUCCEEDED")]:
            for prefix in chunk_prefixes(rec.manifest):
                await asyncio.to_thread(delete_prefix, prefix)

    # -- loops --------------------------------------------------------------------------

    @property
    def _beat_s(self) -> float:
        return self.settings.gateway.state_heartbeat_s

    @property
    def _poll_s(self) -> float:
        return self.settings.gateway.state_poll_s

    async def _loop(self, step: Callable[[], Any], every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await step()
            except Exception as exc:  # the store is down: the next round tries again
                log.warning("state store: %s failed: %s", getattr(step, "__name__", step), exc)

    async def _beat(self) -> None:
        now = time.time()
        await asyncio.to_thread(self.store.heartbeat, self.id, self.url, now)
        beats = await asyncio.to_thread(self.store.gateways)
        dead = [gid for gid, (_, at) in beats.items()
                if gid != self.id and now - at > _MISSED_BEATS * self._beat_s]
        if not dead:
            return
        failed = await asyncio.to_thread(
            self.store.fail_statements, dead,
            _error("The gateway running the statement stopped; run it again."), now)
        for gid in dead:
            await asyncio.to_thread(self.store.forget_gateway, gid)
        log.warning("gateway(s) %s stopped beating: %d statement(s) failed",
                    ", ".join(dead), len(failed))

    async def _poll_cancels(self) -> None:
        requests = await asyncio.to_thread(self.store.cancel_requests, self.id)
        if not requests:
            return
        ours = {stmt.id: stmt for stmt in self.registry.statements()}
        for sid, close in requests:
            stmt = ours.get(sid)
            if stmt is None:
                continue
            self.remote_cancels += 1
            if close:
                await self.registry.close(sid, stmt.workspace)
            else:
                self.registry.cancel(sid, stmt.workspace)
        await asyncio.to_thread(self.store.clear_requests, [sid for sid, _ in requests])


def chunk_prefixes(manifest: str | None) -> set[str]:
    """The result-store folders a stored manifest's chunks live in."""
    if not manifest:
        return set()
    chunks = json.loads(manifest).get("chunks") or []
    keys = [c.get("key") for c in chunks if c.get("key")]
    return {k.rsplit("/", 1)[0] + "/" for k in keys if "/" in k}


__all__ = ["ControlPlane", "chunk_prefixes", "gateway_id"]
