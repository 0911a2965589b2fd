"""The SQL both state stores share: tables, upserts and queries in the dialect common to
SQLite (3.35+) and PostgreSQL; `gateway.core.sqlite` and `gateway.core.postgres` only connect.

Statements are written with ``?`` placeholders; a store whose driver wants ``%s`` sets
`RelationalStore.placeholder`. Connections come from a small pool (one per thread at a time),
so a reader never waits behind the write-behind journal's transaction in another thread.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import queue
from collections.abc import Iterator, Sequence
from typing import Any

from gateway.core.store import (
    ACTIVE_STATES,
    CachedRecord,
    HistoryFilter,
    HistoryRecord,
    SessionRecord,
    StatementRecord,
    StateStore,
)

_STATEMENT_COLUMNS = [f.name for f in dataclasses.fields(StatementRecord)]
_HISTORY_COLUMNS = [f.name for f in dataclasses.fields(HistoryRecord)]
_SESSION_COLUMNS = [f.name for f in dataclasses.fields(SessionRecord)]


def schema(blob: str) -> list[str]:
    """The DDL, with `blob` the dialect's binary type (BLOB, BYTEA)."""
    return [
        f"""CREATE TABLE IF NOT EXISTS statements (
            statement_id TEXT PRIMARY KEY, workspace TEXT NOT NULL, owner TEXT NOT NULL,
            state TEXT NOT NULL, task TEXT NOT NULL, submitted_at DOUBLE PRECISION NOT NULL,
            started_at DOUBLE PRECISION, ended_at DOUBLE PRECISION, error TEXT,
            manifest TEXT, result {blob}, info TEXT,
            cancel_requested INTEGER NOT NULL DEFAULT 0)""",
        "CREATE INDEX IF NOT EXISTS statements_owner ON statements (owner, state)",
        "CREATE INDEX IF NOT EXISTS statements_ended ON statements (ended_at)",
        """CREATE TABLE IF NOT EXISTS history (
            statement_id TEXT PRIMARY KEY, workspace TEXT NOT NULL, user_name TEXT NOT NULL,
            user_id BIGINT NOT NULL, warehouse_id TEXT NOT NULL, status TEXT NOT NULL,
            statement_text TEXT NOT NULL, statement_type TEXT NOT NULL,
            start_time DOUBLE PRECISION NOT NULL,
            end_time DOUBLE PRECISION, error_message TEXT, rows_produced BIGINT,
            read_bytes BIGINT, read_files BIGINT, result_bytes BIGINT,
            queue_ms DOUBLE PRECISION, from_cache INTEGER NOT NULL DEFAULT 0,
            client_application TEXT)""",
        "CREATE INDEX IF NOT EXISTS history_start ON history (workspace, start_time)",
        """CREATE TABLE IF NOT EXISTS sessions (
            session_id TEXT PRIMARY KEY, workspace TEXT NOT NULL, user_name TEXT NOT NULL,
            conf TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS result_cache (
            key TEXT PRIMARY KEY, versions TEXT NOT NULL,
            manifest TEXT NOT NULL, size BIGINT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL, result {blob})""",
        "CREATE INDEX IF NOT EXISTS result_cache_age ON result_cache (created_at)",
        "CREATE TABLE IF NOT EXISTS keys (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE IF NOT EXISTS gateways (
            gateway_id TEXT PRIMARY KEY, url TEXT NOT NULL,
            heartbeat_at DOUBLE PRECISION NOT NULL)""",
    ]


def _upsert(table: str, columns: list[str], key: str, keep: tuple[str, ...] = ()) -> str:
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key and c not in keep)
    return (f"INSERT INTO {table} ({names}) VALUES ({marks}) "
            f"ON CONFLICT ({key}) DO UPDATE SET {updates}")


_PUT_STATEMENT = _upsert("statements", _STATEMENT_COLUMNS, "statement_id",
                         keep=("cancel_requested",))
_PUT_HISTORY = _upsert("history", _HISTORY_COLUMNS, "statement_id")
_PUT_SESSION = _upsert("sessions", _SESSION_COLUMNS, "session_id")
_CACHED_COLUMNS = [f.name for f in dataclasses.fields(CachedRecord)]
_PUT_CACHED = _upsert("result_cache", _CACHED_COLUMNS, "key")
_ACTIVE = "('" + "', '".join(ACTIVE_STATES) + "')"
_SELECT_STATEMENT = f"SELECT {', '.join(_STATEMENT_COLUMNS)} FROM statements"


def _statement(row: Sequence[Any]) -> StatementRecord:
    values = dict(zip(_STATEMENT_COLUMNS, row, strict=True))
    values["cancel_requested"] = bool(values["cancel_requested"])
    if values["result"] is not None:
        values["result"] = bytes(values["result"])
    return StatementRecord(**values)


def _history(row: Sequence[Any]) -> HistoryRecord:
    values = dict(zip(_HISTORY_COLUMNS, row, strict=True))
    values["from_cache"] = bool(values["from_cache"])
    return HistoryRecord(**values)


def _row(record: Any) -> tuple[Any, ...]:
    # Records hold plain values only: a shallow read (astuple deep-copies every field).
    names = _COLUMN_NAMES.get(type(record))
    if names is None:
        names = _COLUMN_NAMES[type(record)] = tuple(f.name for f in dataclasses.fields(record))
    values = (getattr(record, name) for name in names)
    return tuple(int(v) if isinstance(v, bool) else v for v in values)


_COLUMN_NAMES: dict[type, tuple[str, ...]] = {}


class RelationalStore(StateStore):
    """A `StateStore` over a DB-API connection; subclasses say how to connect."""

    placeholder = "?"
    blob_type = "BLOB"
    pool_size = 4

    def __init__(self, url: str) -> None:
        self.url = url
        self._pool: queue.LifoQueue[Any] = queue.LifoQueue()
        self._made = 0
        with self._connection() as conn:
            for ddl in schema(self.blob_type):
                conn.execute(ddl)

    @abc.abstractmethod
    def _connect(self) -> Any:
        """A new DB-API connection (autocommit off)."""

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        """A pooled connection inside one transaction: committed on success."""
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = self._connect()
        try:
            yield _Cursor(conn, self.placeholder)
            conn.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                conn.rollback()
            with contextlib.suppress(Exception):
                conn.close()
            raise
        if self._pool.qsize() < self.pool_size:
            self._pool.put(conn)
        else:
            conn.close()

    def close(self) -> None:
        while True:
            try:
                conn = self._pool.get_nowait()
            except queue.Empty:
                return
            with contextlib.suppress(Exception):
                conn.close()

    # -- statements ---------------------------------------------------------------------

    def put_statements(self, records: Sequence[StatementRecord],
                       history: Sequence[HistoryRecord] = ()) -> None:
        if not records and not history:
            return
        with self._connection() as conn:
            if records:
                conn.executemany(_PUT_STATEMENT, [_row(r) for r in records])
            if history:
                conn.executemany(_PUT_HISTORY, [_row(r) for r in history])

    def get_statement(self, statement_id: str) -> StatementRecord | None:
        with self._connection() as conn:
            rows = conn.query(f"{_SELECT_STATEMENT} WHERE statement_id = ?", (statement_id,))
        return _statement(rows[0]) if rows else None

    def active_statements(self, owners: Sequence[str] | None = None) -> list[StatementRecord]:
        sql = f"{_SELECT_STATEMENT} WHERE state IN {_ACTIVE}"
        params: tuple[Any, ...] = ()
        if owners is not None:
            if not owners:
                return []
            sql += f" AND owner IN ({', '.join('?' for _ in owners)})"
            params = tuple(owners)
        with self._connection() as conn:
            return [_statement(r) for r in conn.query(sql, params)]

    def fail_statements(self, owners: Sequence[str], error: str, now: float) -> list[str]:
        if not owners:
            return []
        marks = ", ".join("?" for _ in owners)
        with self._connection() as conn:
            rows = conn.query(
                f"UPDATE statements SET state = 'FAILED', error = ?, ended_at = ?, result = NULL "
                f"WHERE state IN {_ACTIVE} AND owner IN ({marks}) RETURNING statement_id",
                (error, now, *owners))
            ids = [r[0] for r in rows]
            if ids:
                # The history says the same as the statement.
                conn.execute(
                    f"UPDATE history SET status = 'FAILED', end_time = ?, error_message = ? "
                    f"WHERE status IN ('QUEUED', 'RUNNING') AND statement_id IN "
                    f"({', '.join('?' for _ in ids)})", (now, _message(error), *ids))
        return ids

    def request_cancel(self, statement_id: str) -> bool:
        with self._connection() as conn:
            rows = conn.query(
                f"UPDATE statements SET cancel_requested = 1 WHERE statement_id = ? "
                f"AND cancel_requested = 0 AND state IN {_ACTIVE} RETURNING statement_id",
                (statement_id,))
        return bool(rows)

    def request_close(self, statement_id: str) -> StatementRecord | None:
        with self._connection() as conn:
            rows = conn.query(f"{_SELECT_STATEMENT} WHERE statement_id = ?", (statement_id,))
            conn.execute("UPDATE statements SET cancel_requested = 2, result = NULL, "
                         "state = CASE WHEN state = 'SUCCEEDED' THEN 'CLOSED' ELSE state END "
                         f"WHERE statement_id = ? AND state IN ('SUCCEEDED', "
                         f"{_ACTIVE[1:-1]})", (statement_id,))
        return _statement(rows[0]) if rows else None

    def cancel_requests(self, owner: str) -> list[tuple[str, bool]]:
        with self._connection() as conn:
            rows = conn.query(
                "SELECT statement_id, cancel_requested FROM statements WHERE owner = ? "
                "AND cancel_requested > 0", (owner,))
        return [(r[0], int(r[1]) == 2) for r in rows]

    def clear_requests(self, statement_ids: Sequence[str]) -> None:
        if not statement_ids:
            return
        with self._connection() as conn:
            conn.execute(f"UPDATE statements SET cancel_requested = 0 WHERE statement_id IN "
                         f"({', '.join('?' for _ in statement_ids)})", tuple(statement_ids))

    def close_results(self, ended_before: float) -> list[StatementRecord]:
        with self._connection() as conn:
            rows = conn.query(
                f"{_SELECT_STATEMENT} WHERE state = 'SUCCEEDED' AND ended_at < ?",
                (ended_before,))
            if rows:
                conn.execute(
                    "UPDATE statements SET state = 'CLOSED', result = NULL "
                    "WHERE state = 'SUCCEEDED' AND ended_at < ?", (ended_before,))
        return [_statement(r) for r in rows]

    def delete_statements(self, ended_before: float) -> list[StatementRecord]:
        with self._connection() as conn:
            rows = conn.query(
                f"DELETE FROM statements WHERE state NOT IN {_ACTIVE} AND ended_at < ? "
                f"RETURNING {', '.join(_STATEMENT_COLUMNS)}", (ended_before,))
        return [_statement(r) for r in rows]

    # -- history ------------------------------------------------------------------------

    def put_history(self, records: Sequence[HistoryRecord]) -> None:
        if not records:
            return
        with self._connection() as conn:
            conn.executemany(_PUT_HISTORY, [_row(r) for r in records])

    def list_history(self, flt: HistoryFilter) -> list[HistoryRecord]:
        where = ["workspace = ?"]
        params: list[Any] = [flt.workspace]
        if flt.start_from is not None:
            where.append("start_time >= ?")
            params.append(flt.start_from)
        if flt.start_until is not None:
            where.append("start_time <= ?")
            params.append(flt.start_until)
        values: Sequence[Any]
        for column, values in (("user_name", flt.user_names), ("user_id", flt.user_ids),
                               ("warehouse_id", flt.warehouse_ids),
                               ("status", flt.statuses),
                               ("statement_id", flt.statement_ids)):
            if values:
                where.append(f"{column} IN ({', '.join('?' for _ in values)})")
                params.extend(values)
        if flt.after is not None:
            where.append("(start_time < ? OR (start_time = ? AND statement_id < ?))")
            params.extend([flt.after[0], flt.after[0], flt.after[1]])
        sql = (f"SELECT {', '.join(_HISTORY_COLUMNS)} FROM history WHERE {' AND '.join(where)} "
               f"ORDER BY start_time DESC, statement_id DESC LIMIT ?")
        params.append(max(0, int(flt.limit)))
        with self._connection() as conn:
            return [_history(r) for r in conn.query(sql, tuple(params))]

    def delete_history(self, started_before: float) -> int:
        with self._connection() as conn:
            rows = conn.query("DELETE FROM history WHERE start_time < ? RETURNING statement_id",
                              (started_before,))
        return len(rows)

    # -- sessions -----------------------------------------------------------------------

    def put_session(self, record: SessionRecord) -> None:
        with self._connection() as conn:
            conn.execute(_PUT_SESSION, _row(record))

    def get_session(self, session_id: str) -> SessionRecord | None:
        with self._connection() as conn:
            rows = conn.query(f"SELECT {', '.join(_SESSION_COLUMNS)} FROM sessions "
                              f"WHERE session_id = ?", (session_id,))
        return SessionRecord(*rows[0]) if rows else None

    def delete_session(self, session_id: str) -> bool:
        with self._connection() as conn:
            rows = conn.query("DELETE FROM sessions WHERE session_id = ? RETURNING session_id",
                              (session_id,))
        return bool(rows)

    def delete_sessions(self, updated_before: float) -> int:
        with self._connection() as conn:
            rows = conn.query("DELETE FROM sessions WHERE updated_at < ? RETURNING session_id",
                              (updated_before,))
        return len(rows)

    # -- the shared result cache ---------------------------------------------------------

    def put_cached(self, record: CachedRecord, max_bytes: int) -> None:
        with self._connection() as conn:
            conn.execute(_PUT_CACHED, _row(record))
            # Newest first, a running total: whatever pushes it past the bound goes.
            conn.execute(
                "DELETE FROM result_cache WHERE key IN (SELECT key FROM (SELECT key, "
                "SUM(size) OVER (ORDER BY created_at DESC, key DESC) AS total "
                "FROM result_cache) AS ranked WHERE total > ?)", (max_bytes,))

    def get_cached(self, key: str) -> CachedRecord | None:
        with self._connection() as conn:
            rows = conn.query(f"SELECT {', '.join(_CACHED_COLUMNS)} FROM result_cache "
                              f"WHERE key = ?", (key,))
        if not rows:
            return None
        values = dict(zip(_CACHED_COLUMNS, rows[0], strict=True))
        if values["result"] is not None:
            values["result"] = bytes(values["result"])
        return CachedRecord(**values)

    def delete_cached(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        with self._connection() as conn:
            conn.execute(f"DELETE FROM result_cache WHERE key IN "
                         f"({', '.join('?' for _ in keys)})", tuple(keys))

    # -- keys and gateways --------------------------------------------------------------

    def key(self, name: str, default: str) -> str:
        with self._connection() as conn:
            conn.execute("INSERT INTO keys (name, value) VALUES (?, ?) "
                         "ON CONFLICT (name) DO NOTHING", (name, default))
            rows = conn.query("SELECT value FROM keys WHERE name = ?", (name,))
        return str(rows[0][0])

    def heartbeat(self, gateway_id: str, url: str, now: float) -> None:
        with self._connection() as conn:
            conn.execute("INSERT INTO gateways (gateway_id, url, heartbeat_at) VALUES (?, ?, ?) "
                         "ON CONFLICT (gateway_id) DO UPDATE SET url = excluded.url, "
                         "heartbeat_at = excluded.heartbeat_at", (gateway_id, url, now))

    def gateways(self) -> dict[str, tuple[str, float]]:
        with self._connection() as conn:
            rows = conn.query("SELECT gateway_id, url, heartbeat_at FROM gateways", ())
        return {r[0]: (r[1], float(r[2])) for r in rows}

    def forget_gateway(self, gateway_id: str) -> None:
        with self._connection() as conn:
            conn.execute("DELETE FROM gateways WHERE gateway_id = ?", (gateway_id,))


def _message(error: str) -> str:
    import json

    try:
        return str(json.loads(error).get("message", error))
    except (ValueError, AttributeError):
        return error


class _Cursor:
    """The two calls the store makes, with ``?`` rewritten to the driver's placeholder."""

    def __init__(self, conn: Any, placeholder: str) -> None:
        self._conn = conn
        self._mark = placeholder

    def _sql(self, sql: str) -> str:
        return sql if self._mark == "?" else sql.replace("?", self._mark)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        cur = self._conn.cursor()
        try:
            cur.execute(self._sql(sql), tuple(params))
        finally:
            cur.close()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        cur = self._conn.cursor()
        try:
            cur.executemany(self._sql(sql), rows)
        finally:
            cur.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cur = self._conn.cursor()
        try:
            cur.execute(self._sql(sql), tuple(params))
            return list(cur.fetchall())
        finally:
            cur.close()


__all__ = ["RelationalStore", "schema"]
