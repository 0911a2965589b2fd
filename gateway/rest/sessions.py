"""Statement Execution API sessions: what the Databricks drivers' newer mode speaks
(databricks-sql-connector ``use_sea=True``, the JDBC driver's SEA mode).

    POST   /api/2.0/sql/sessions/        {warehouse_id, catalog?, schema?, session_confs?}
                                         -> {"session_id": "..."}
    DELETE /api/2.0/sql/sessions/{id}    (warehouse_id as body field or query parameter) -> {}

A statement posted with ``session_id`` runs with the session's catalog and schema (a
``catalog``/``schema`` in the request itself still wins, as for a session-less statement) and
its STATEMENT_TIMEOUT. A session belongs to the workspace and warehouse that created it; any
other caller gets 404, as for an unknown id. Sessions live in the state store too
(`gateway.core.sessions`): one opened before a restart, or on another gateway sharing the
store, works here with its catalog, schema and confs, and a DELETE on any gateway closes it
on all. Idle sessions are dropped after ``session_idle_s``; a gateway holds at most
``max_sessions`` in memory.

Session confs: only the parameters Databricks allows here are accepted, and only with values
this warehouse honours (ANSI_MODE true, TIMEZONE UTC): anything else is a 400 naming it,
never a silently different answer. USE inside a session is not supported (set ``catalog`` /
``schema`` when creating it).
"""

from __future__ import annotations

import math
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.core.sessions import Saved, SessionBook
from gateway.errors import InvalidParameter, NotFound, ResourceExhausted
from gateway.rest.validation import read_json_body
from gateway.state import gateway_of

# Databricks' session parameters -> None (accepted, no effect on results here) or the values
# sqlgate honours (upper-cased).
_CONFS: dict[str, frozenset[str] | None] = {
    "ANSI_MODE": frozenset({"TRUE"}),
    "TIMEZONE": frozenset({"UTC", "ETC/UTC", "Z", "+00:00", "GMT"}),
    "ENABLE_PHOTON": None,
    "LEGACY_TIME_PARSER_POLICY": frozenset({"EXCEPTION"}),
    "MAX_FILE_PARTITION_BYTES": None,
    "READ_ONLY_EXTERNAL_METASTORE": None,
    "STATEMENT_TIMEOUT": None,
    "USE_CACHED_RESULT": frozenset({"TRUE", "FALSE"}),  # the result cache (gateway/core)
    "QUERY_TAGS": None,
}


@dataclass
class SqlSession:
    """One session: its owner, warehouse and defaults."""

    id: str
    workspace: str
    warehouse_id: str
    catalog: str | None
    schema: str | None
    confs: dict[str, str]
    last_used: float = field(default_factory=time.monotonic)
    # As last written to the state store (None without one): its stamp says when to touch.
    saved: Saved | None = None

    @property
    def timeout_s(self) -> float | None:
        """STATEMENT_TIMEOUT in seconds (0 or unset: the warehouse's own limit)."""
        value = float(self.confs.get("STATEMENT_TIMEOUT", "0"))
        return value or None

    def to_saved(self, user: str) -> Saved:
        """The session as the state store keeps it."""
        return Saved(self.id, "rest", self.workspace, user,
                     {"warehouse_id": self.warehouse_id, "catalog": self.catalog,
                      "schema": self.schema, "confs": self.confs},
                     self.saved.created_at if self.saved else 0.0)

    @classmethod
    def from_saved(cls, saved: Saved) -> SqlSession | None:
        """A session read back from the store; None when its fields are not a session's."""
        d = saved.data
        confs = d.get("confs")
        if not isinstance(d.get("warehouse_id"), str) or not isinstance(confs, dict):
            return None
        return cls(saved.id, saved.workspace, d["warehouse_id"], d.get("catalog"),
                   d.get("schema"), {str(k): str(v) for k, v in confs.items()}, saved=saved)


def check_confs(confs: Any) -> dict[str, str]:
    """Validated session_confs, keys upper-cased; InvalidParameter names what is refused.

    >>> check_confs({"ansi_mode": "true", "statement_timeout": 30})
    {'ANSI_MODE': 'true', 'STATEMENT_TIMEOUT': '30'}
    """
    if confs is None:
        return {}
    if not isinstance(confs, dict):
        raise InvalidParameter("session_confs must be an object of parameter names to values")
    out: dict[str, str] = {}
    for key, value in confs.items():
        name = str(key).upper()
        if name not in _CONFS:
            raise InvalidParameter(f"session_confs: {key} is not a session parameter this "
                                   f"warehouse accepts ({', '.join(sorted(_CONFS))})")
        if not isinstance(value, (str, int, float, bool)):
            raise InvalidParameter(f"session_confs: {key} must be a string")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        allowed = _CONFS[name]
        if allowed is not None and text.upper() not in allowed:
            raise InvalidParameter(f"session_confs: {name}={text} is not supported here "
                                   f"(supported: {', '.join(sorted(allowed))})")
        if name == "STATEMENT_TIMEOUT":
            try:
                if not math.isfinite(float(text)) or float(text) < 0:
                    raise ValueError(text)
            except ValueError as exc:
                raise InvalidParameter("session_confs: STATEMENT_TIMEOUT must be a number "
                                       "of seconds >= 0") from exc
        out[name] = text
    return out


class SqlSessions:
    """The bounded session table (id -> SqlSession), idle ones dropped first, written
    through to the state store's sessions (`gateway.core.sessions`) when there is one."""

    def __init__(self, limit: int, idle_s: float, book: SessionBook | None = None) -> None:
        self.limit = limit
        self.idle_s = idle_s
        self.book = book or SessionBook(None, shared=False, idle_s=idle_s)
        self._items: OrderedDict[str, SqlSession] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    async def create(self, workspace: str, warehouse_id: str, catalog: str | None,
                     schema: str | None, confs: dict[str, str], user: str = "") -> SqlSession:
        """A new session; 429 when the table is full of live ones."""
        self._make_room(evict=False)
        session = SqlSession(str(uuid.uuid4()), workspace, warehouse_id, catalog, schema, confs)
        session.saved = await self.book.save(session.to_saved(user))
        self._items[session.id] = session
        return session

    async def get(self, session_id: str, workspace: str,
                  warehouse_id: str | None) -> SqlSession:
        """The caller's session, whichever gateway opened it (or this one before a restart);
        NotFound for unknown, closed, expired or someone else's."""
        session = self._items.get(session_id)
        now = time.monotonic()
        if session is not None and now - session.last_used > self.idle_s:
            del self._items[session_id]
            session = None
        if session is None or self.book.shared:
            # Shared store: the stored record is the truth (closed or changed elsewhere).
            saved = await self.book.load(session_id, "rest", workspace)
            if saved is None:
                if session is not None and self.book.durable:
                    del self._items[session_id]  # closed on another gateway
                    session = None
            else:
                session = SqlSession.from_saved(saved)
                if session is not None:
                    self._items.pop(session_id, None)
                    self._make_room(evict=True)
                    self._items[session_id] = session
        elif session.saved is not None:
            session.saved = await self.book.touch(session.saved)
        if (session is None or session.workspace != workspace
                or (warehouse_id is not None and warehouse_id != session.warehouse_id)):
            raise NotFound(f"Session {session_id} does not exist or has been closed")
        session.last_used = now
        self._items.move_to_end(session_id)
        return session

    async def delete(self, session_id: str, workspace: str, warehouse_id: str | None) -> None:
        """Close a session, on every gateway (NotFound as for `get`)."""
        await self.get(session_id, workspace, warehouse_id)
        await self.book.drop(session_id)
        self._items.pop(session_id, None)

    def _make_room(self, *, evict: bool) -> None:
        now = time.monotonic()
        for old in list(self._items.values()):
            if now - old.last_used > self.idle_s:
                del self._items[old.id]
        if len(self._items) < self.limit:
            return
        if evict and self.book.durable:
            # Kept in the store: the least recently used comes back from there when used.
            self._items.popitem(last=False)
            return
        raise ResourceExhausted(f"Too many open sessions (limit {self.limit}); close some "
                                "and retry")


def sessions_of(gw: Any) -> SqlSessions:
    """The gateway's session table (made on first use, bounded by ``max_sessions``)."""
    table = getattr(gw, "sql_sessions", None)
    if table is None:
        g = gw.settings.gateway
        table = SqlSessions(g.max_sessions, g.session_idle_s, gw.sessions)
        gw.sql_sessions = table
    return table


async def create_session(request: Request) -> Response:
    """POST /api/2.0/sql/sessions/."""
    gw = gateway_of(request)
    workspace = request.state.principal.workspace
    body = await read_json_body(request, gw.settings.gateway.max_body_bytes)
    if not isinstance(body, dict):
        raise InvalidParameter("The request body must be a JSON object")
    warehouse_id = body.get("warehouse_id")
    if not isinstance(warehouse_id, str) or not warehouse_id:
        raise InvalidParameter("warehouse_id is required and must be a non-empty string")
    gw.warehouses.check(warehouse_id, workspace)
    names = {}
    for key in ("catalog", "schema"):
        value = body.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise InvalidParameter(f"{key} must be a non-empty string")
        names[key] = value
    session = await sessions_of(gw).create(
        workspace, warehouse_id, names["catalog"], names["schema"],
        check_confs(body.get("session_confs")), request.state.principal.user or "")
    return JSONResponse({"session_id": session.id})


async def delete_session(request: Request) -> Response:
    """DELETE /api/2.0/sql/sessions/{id}."""
    gw = gateway_of(request)
    warehouse_id = request.query_params.get("warehouse_id")
    if warehouse_id is None and int(request.headers.get("content-length") or 0) > 0:
        body = await read_json_body(request, gw.settings.gateway.max_body_bytes)
        if isinstance(body, dict) and isinstance(body.get("warehouse_id"), str):
            warehouse_id = body["warehouse_id"]
    await sessions_of(gw).delete(request.path_params["id"],
                                 request.state.principal.workspace, warehouse_id)
    return JSONResponse({})


routes = [
    Route("/api/2.0/sql/sessions", create_session, methods=["POST"]),
    Route("/api/2.0/sql/sessions/", create_session, methods=["POST"]),
    Route("/api/2.0/sql/sessions/{id}", delete_session, methods=["DELETE"]),
]

__all__ = ["SqlSession", "SqlSessions", "check_confs", "routes", "sessions_of"]
