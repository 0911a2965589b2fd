"""Sessions in the state store: a session outlives a restart and is the same on every gateway.

Both fronts keep their open sessions in memory (`gateway.rest.sessions`,
`gateway.thrift.operations`); this is where those tables write through to and read back
from. A session is written when it is opened, when its defaults change (Thrift ``USE`` and
``SET``) and when it is closed (deleted), each in a thread before the client is answered,
so the next request on any gateway finds it as it is now. Sessions change rarely; they are
used on every statement, so reads are what this module saves:

- alone on the store (SQLite), memory is the truth and the store only brings a session back
  after a restart: a session unknown in memory is read once and kept;
- with a shared store (PostgreSQL, ``state_shared``), every use reads the stored record (one
  indexed read in a thread), so a close or a ``USE`` on another gateway is seen at once;
- a session used now and then is touched (``updated_at``) at most every eighth of
  ``session_idle_s``, and the sweep deletes those idle for longer: the table is bounded by
  the idle time, each gateway's memory by ``max_sessions``.

    book = SessionBook(store, shared=False, idle_s=3600)
    await book.save(Saved("id", "rest", "ws", "ann", {"catalog": "main"}))
    saved = await book.load("id", "rest", "ws")      # Saved | None (closed, idle, another's)
    await book.drop("id")
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from gateway.core.store import SessionRecord, StateStore
from gateway.errors import TemporarilyUnavailable

log = logging.getLogger("sqlgate.gateway")

# A used session's stored ``updated_at`` is refreshed once it is this share of the idle
# time old: the sweep never takes a live session, and use costs no write most times.
_TOUCH_SHARE = 8


@dataclass(frozen=True)
class Saved:
    """A session as stored: which front opened it, its owner, and the front's own fields."""

    id: str
    kind: str  # "rest" | "thrift"
    workspace: str
    user: str
    data: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0


class SessionBook:
    """The state store's sessions as both fronts use them; see the module docstring."""

    def __init__(self, store: StateStore | None, *, shared: bool, idle_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.shared = shared and store is not None
        self.idle_s = idle_s
        self.clock = clock

    @property
    def durable(self) -> bool:
        """Whether sessions are kept in a store at all (``state_store = none``: no)."""
        return self.store is not None

    async def save(self, saved: Saved) -> Saved:
        """Insert or replace the session, stamped used now; returns it as stored."""
        now = self.clock()
        saved = replace(saved, created_at=saved.created_at or now, updated_at=now)
        if self.store is not None:
            record = SessionRecord(saved.id, saved.workspace, saved.user,
                                   json.dumps({"kind": saved.kind, **saved.data}),
                                   saved.created_at, saved.updated_at)
            try:
                await asyncio.to_thread(self.store.put_session, record)
            except Exception as exc:  # a clear, retryable answer rather than a 5xx
                raise _unavailable(exc) from exc
        return saved

    async def load(self, session_id: str, kind: str, workspace: str) -> Saved | None:
        """The stored session, or None when it is unknown, closed, idle past
        ``session_idle_s``, of another front or of another workspace."""
        if self.store is None:
            return None
        try:
            record = await asyncio.to_thread(self.store.get_session, session_id)
        except Exception as exc:  # the store is down: retry later, not "no such session"
            raise _unavailable(exc) from exc
        if record is None or record.workspace != workspace:
            return None
        try:
            data = json.loads(record.conf)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.pop("kind", None) != kind:
            return None
        now = self.clock()
        if now - float(record.updated_at) > self.idle_s:
            return None
        saved = Saved(record.session_id, kind, record.workspace, record.user_name, data,
                      float(record.created_at), float(record.updated_at))
        if now - saved.updated_at > self.idle_s / _TOUCH_SHARE:
            saved = await self.save(saved)
        return saved

    async def touch(self, saved: Saved) -> Saved:
        """Refresh a session used from memory when its stored stamp is getting old."""
        if self.store is None or self.clock() - saved.updated_at <= self.idle_s / _TOUCH_SHARE:
            return saved
        return await self.save(saved)

    async def drop(self, session_id: str) -> None:
        """Forget the session on every gateway."""
        if self.store is not None:
            try:
                await asyncio.to_thread(self.store.delete_session, session_id)
            except Exception as exc:
                raise _unavailable(exc) from exc

    async def sweep(self) -> int:
        """Delete sessions idle past ``session_idle_s``; how many went."""
        if self.store is None:
            return 0
        return await asyncio.to_thread(self.store.delete_sessions,
                                       self.clock() - self.idle_s)


def _unavailable(exc: Exception) -> TemporarilyUnavailable:
    log.warning("state store: a session read or write failed: %s", exc)
    return TemporarilyUnavailable("The session store is unavailable; retry shortly.",
                                  retry_after=5)


__all__ = ["Saved", "SessionBook"]
