"""The catalog database: what the lake's Delta logs cannot hold — views, temporary views,
comments, owners and grants.

Tables keep their data, schema, partitioning and TBLPROPERTIES in their own Delta log; this
store keeps the rest, keyed by three-level name. It is a small relational database, SQLite
by default (a file beside the lake: ``<lake>/_sqlgate/catalog.sqlite``) and PostgreSQL when
several gateways on different hosts share a lake (``catalog_db =
"postgresql://..."``). Every statement reads it afresh — nothing is cached in a worker —
so a view created through one gateway is resolved by the next statement of any other.

>>> store = CatalogStore(":memory:")
>>> store.put_object(Securable("view", "main", "s", "v"), owner="ada", definition="SELECT 1")
>>> store.get_object(Securable("view", "main", "s", "v")).definition
'SELECT 1'
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import EngineError

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS objects (
        kind TEXT NOT NULL, catalog TEXT NOT NULL, schema_name TEXT NOT NULL,
        name TEXT NOT NULL, owner TEXT, comment TEXT, definition TEXT, properties TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (kind, catalog, schema_name, name))""",
    """CREATE TABLE IF NOT EXISTS column_comments (
        catalog TEXT NOT NULL, schema_name TEXT NOT NULL, name TEXT NOT NULL,
        column_name TEXT NOT NULL, comment TEXT NOT NULL,
        PRIMARY KEY (catalog, schema_name, name, column_name))""",
    """CREATE TABLE IF NOT EXISTS grants (
        kind TEXT NOT NULL, catalog TEXT NOT NULL, schema_name TEXT NOT NULL,
        name TEXT NOT NULL, principal TEXT NOT NULL, privilege TEXT NOT NULL,
        PRIMARY KEY (kind, catalog, schema_name, name, principal, privilege))""",
    """CREATE TABLE IF NOT EXISTS temp_views (
        session_id TEXT NOT NULL, name TEXT NOT NULL, definition TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (session_id, name))""",
]
# Temporary views of sessions that ended without dropping them are swept after this long:
# a Thrift session idles out well before (the gateway's session timeout).
_TEMP_VIEW_TTL_S = 7 * 24 * 3600.0
# Seconds a writer waits for another's lock (SQLite) before the statement fails.
_BUSY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Securable:
    """A catalog (schema and name ''), a schema (name ''), a table or a view."""

    kind: str  # "catalog" | "schema" | "table" | "view"
    catalog: str
    schema: str = ""
    name: str = ""

    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.catalog, self.schema, self.name)

    def __str__(self) -> str:
        return ".".join(p for p in (self.catalog, self.schema, self.name) if p)


@dataclass(frozen=True)
class ObjectRecord:
    """One row of the objects table."""

    securable: Securable
    owner: str | None
    comment: str | None
    definition: str | None
    properties: dict[str, str]
    created_at: float


class CatalogStore:
    """Views, comments, owners and grants in SQLite (a path) or PostgreSQL (a URL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith(("postgresql://", "postgres://"))
        self._ph = "%s" if self.postgres else "?"
        self._local = threading.local()
        # ":memory:" is one database per connection: keep a single shared one
        self._shared: Any = None
        if not self.postgres and url != ":memory:":
            Path(url).parent.mkdir(parents=True, exist_ok=True)
        with self._tx() as cur:
            for ddl in _SCHEMA:
                cur.execute(ddl)

    # -- connections -----------------------------------------------------------------

    def _connect(self) -> Any:
        if self.postgres:
            try:
                import psycopg
            except ImportError as exc:
                raise EngineError("catalog_db is a postgresql:// URL but psycopg is not "
                                  "installed: pip install 'sqlgate[postgres]'") from exc
            return psycopg.connect(self.url, connect_timeout=10)
        if self.url == ":memory:":
            if self._shared is None:
                self._shared = sqlite3.connect(":memory:", check_same_thread=False)
            return self._shared
        con = sqlite3.connect(self.url, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        # WAL: readers in other worker processes never wait for a writer
        con.execute("PRAGMA journal_mode=WAL")
        return con

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        """One transaction on this thread's connection."""
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = self._connect()
        try:
            if self.postgres:
                with con.transaction():
                    yield con.cursor()
            else:
                cur = con.cursor()
                cur.execute("BEGIN IMMEDIATE" if self.url != ":memory:" else "BEGIN")
                try:
                    yield cur
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                cur.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            raise EngineError(f"the catalog database failed: {exc}") from exc
        except Exception as exc:
            if type(exc).__module__.startswith("psycopg"):
                self._local.con = None
                raise EngineError(f"the catalog database failed: {exc}") from exc
            raise

    def _sql(self, text: str) -> str:
        return text.replace("?", self._ph)

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._tx() as cur:
            cur.execute(self._sql(sql), tuple(args))
            return list(cur.fetchall())

    def _run(self, *statements: tuple[str, Sequence[Any]]) -> None:
        with self._tx() as cur:
            for sql, args in statements:
                cur.execute(self._sql(sql), tuple(args))

    # -- objects ---------------------------------------------------------------------

    def put_object(self, sec: Securable, *, owner: str | None = None,
                   comment: str | None = None, definition: str | None = None,
                   properties: dict[str, str] | None = None, replace: bool = True) -> None:
        """Record an object (a view's definition, a schema's comment, a table's owner)."""
        props = json.dumps(properties or {})
        stmts: list[tuple[str, Sequence[Any]]] = []
        if replace:
            stmts.append(("DELETE FROM objects WHERE kind=? AND catalog=? AND schema_name=? "
                          "AND name=?", sec.key()))
        stmts.append(("INSERT INTO objects (kind, catalog, schema_name, name, owner, comment, "
                      "definition, properties, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (*sec.key(), owner, comment, definition, props, time.time())))
        self._run(*stmts)

    def get_object(self, sec: Securable) -> ObjectRecord | None:
        """The record of one object, or None."""
        rows = self._rows("SELECT owner, comment, definition, properties, created_at FROM "
                          "objects WHERE kind=? AND catalog=? AND schema_name=? AND name=?",
                          sec.key())
        if not rows:
            return None
        owner, comment, definition, props, created = rows[0]
        return ObjectRecord(sec, owner, comment, definition, json.loads(props or "{}"), created)

    def objects(self, kind: str, catalog: str | None = None,
                schema: str | None = None) -> list[ObjectRecord]:
        """Every object of a kind, optionally in one catalog or schema, by name."""
        sql = ("SELECT catalog, schema_name, name, owner, comment, definition, properties, "
               "created_at FROM objects WHERE kind=?")
        args: list[Any] = [kind]
        if catalog is not None:
            sql += " AND catalog=?"
            args.append(catalog)
        if schema is not None:
            sql += " AND schema_name=?"
            args.append(schema)
        return [ObjectRecord(Securable(kind, c, s, n), o, cm, d, json.loads(p or "{}"), t)
                for c, s, n, o, cm, d, p, t in self._rows(sql + " ORDER BY name", args)]

    def update_object(self, sec: Securable, **fields: Any) -> None:
        """Change some fields of an object, creating its record when there is none."""
        current = self.get_object(sec)
        values: dict[str, Any] = {"owner": None, "comment": None, "definition": None,
                                  "properties": {}}
        if current is not None:
            values.update(owner=current.owner, comment=current.comment,
                          definition=current.definition, properties=current.properties)
        values.update(fields)
        self.put_object(sec, owner=values["owner"], comment=values["comment"],
                        definition=values["definition"], properties=values["properties"])

    def drop_object(self, sec: Securable) -> None:
        """Forget an object with its grants and column comments; for a catalog or schema,
        everything inside it too."""
        kind, cat, sch, name = sec.key()
        args: tuple[str, ...]
        if kind == "catalog":
            where, args = "catalog=?", (cat,)
        elif kind == "schema":
            where, args = "catalog=? AND schema_name=?", (cat, sch)
        else:
            where, args = "catalog=? AND schema_name=? AND name=?", (cat, sch, name)
        stmts: list[tuple[str, Sequence[Any]]] = [
            (f"DELETE FROM objects WHERE {where}", args),
            (f"DELETE FROM grants WHERE {where}", args)]
        if kind in ("table", "view") or kind in ("catalog", "schema"):
            stmts.append((f"DELETE FROM column_comments WHERE {where}", args))
        self._run(*stmts)

    def rename_object(self, old: Securable, new: Securable) -> None:
        """Move an object's record, grants and column comments to a new name."""
        o, n = old.key()[1:], new.key()[1:]
        self._run(
            ("UPDATE objects SET catalog=?, schema_name=?, name=? WHERE kind=? AND catalog=? "
             "AND schema_name=? AND name=?", (*n, old.kind, *o)),
            ("UPDATE grants SET catalog=?, schema_name=?, name=? WHERE catalog=? AND "
             "schema_name=? AND name=?", (*n, *o)),
            ("UPDATE column_comments SET catalog=?, schema_name=?, name=? WHERE catalog=? AND "
             "schema_name=? AND name=?", (*n, *o)),
        )

    # -- column comments --------------------------------------------------------------

    def set_column_comment(self, sec: Securable, column: str, comment: str | None) -> None:
        """Set (or clear, with None) the comment of one column of a table or view."""
        key = (sec.catalog, sec.schema, sec.name, column)
        stmts: list[tuple[str, Sequence[Any]]] = [
            ("DELETE FROM column_comments WHERE catalog=? AND schema_name=? AND name=? AND "
             "column_name=?", key)]
        if comment is not None:
            stmts.append(("INSERT INTO column_comments VALUES (?, ?, ?, ?, ?)", (*key, comment)))
        self._run(*stmts)

    def column_comments(self, sec: Securable) -> dict[str, str]:
        """Column name -> comment for one table or view."""
        rows = self._rows("SELECT column_name, comment FROM column_comments WHERE catalog=? "
                          "AND schema_name=? AND name=?", (sec.catalog, sec.schema, sec.name))
        return {r[0]: r[1] for r in rows}

    # -- grants -----------------------------------------------------------------------

    def grant(self, sec: Securable, principal: str, privileges: Sequence[str]) -> None:
        """Grant privileges (idempotent)."""
        stmts: list[tuple[str, Sequence[Any]]] = []
        for p in privileges:
            args = (*sec.key(), principal, p)
            stmts.append(("DELETE FROM grants WHERE kind=? AND catalog=? AND schema_name=? AND "
                          "name=? AND principal=? AND privilege=?", args))
            stmts.append(("INSERT INTO grants VALUES (?, ?, ?, ?, ?, ?)", args))
        self._run(*stmts)

    def revoke(self, sec: Securable, principal: str, privileges: Sequence[str]) -> None:
        """Revoke privileges; revoking one not held is not an error (as in Unity Catalog)."""
        self._run(*[("DELETE FROM grants WHERE kind=? AND catalog=? AND schema_name=? AND "
                     "name=? AND principal=? AND privilege=?", (*sec.key(), principal, p))
                    for p in privileges])

    def grants(self, sec: Securable) -> list[tuple[str, str]]:
        """(principal, privilege) pairs granted directly on one securable."""
        rows = self._rows("SELECT principal, privilege FROM grants WHERE kind=? AND catalog=? "
                          "AND schema_name=? AND name=? ORDER BY principal, privilege",
                          sec.key())
        return [(r[0], r[1]) for r in rows]

    # -- temporary views ----------------------------------------------------------------

    def put_temp_view(self, session: str, name: str, definition: str) -> None:
        """Create or replace a session's temporary view; sweeps abandoned ones."""
        now = time.time()
        self._run(("DELETE FROM temp_views WHERE created_at < ?", (now - _TEMP_VIEW_TTL_S,)),
                  ("DELETE FROM temp_views WHERE session_id=? AND name=?", (session, name)),
                  ("INSERT INTO temp_views VALUES (?, ?, ?, ?)", (session, name, definition, now)))

    def get_temp_view(self, session: str, name: str) -> str | None:
        """A session's temporary view definition, or None."""
        rows = self._rows("SELECT definition FROM temp_views WHERE session_id=? AND name=?",
                          (session, name))
        return rows[0][0] if rows else None

    def temp_views(self, session: str) -> list[str]:
        """The names of a session's temporary views."""
        return [r[0] for r in self._rows(
            "SELECT name FROM temp_views WHERE session_id=? ORDER BY name", (session,))]

    def drop_temp_view(self, session: str, name: str) -> bool:
        """Drop a session's temporary view; whether there was one."""
        found = self.get_temp_view(session, name) is not None
        self._run(("DELETE FROM temp_views WHERE session_id=? AND name=?", (session, name)))
        return found


__all__ = ["CatalogStore", "ObjectRecord", "Securable"]
