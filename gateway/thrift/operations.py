"""Thrift sessions and operations: handles, per-client result choices, bounded tables.

A `Session` is what OpenSession hands out (a 16-byte GUID + secret), owned by the workspace
whose token opened it; every later RPC must come with a token of the same workspace or the
handle is unknown to it. An `Operation` is one ExecuteStatement or metadata call: it points at
the registry's `Statement` (same queue, pool, limits as REST) or, for the few things the
front answers itself (USE, GetTypeInfo), at a local result. It remembers how this client
reads results (Arrow, LZ4, links) and how far it has read.

Both tables are bounded; a full table refuses new entries after dropping idle/closed ones.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import pyarrow as pa
from databricks.sql.thrift_api.TCLIService import ttypes

from gateway.core.backend import StatementResult
from gateway.core.registry import Statement, new_statement_id
from gateway.core.sessions import Saved
from gateway.errors import GatewayError, ResourceExhausted
from gateway.thrift.schema import NativeTypes
from sqlgate.settings import Settings
from sqlgate.types import (
    Disposition,
    Parameter,
    ResultFormat,
    StatementError,
    StatementState,
    StatementTask,
)


class InvalidHandle(GatewayError):
    """A session or operation handle that is unknown to (or not owned by) this workspace."""

    error_code = "INVALID_STATE"
    http_status = 400


class RowFormat(enum.Enum):
    """How results reach this client (TSparkRowSetType for the inline part)."""

    ARROW = ttypes.TSparkRowSetType.ARROW_BASED_SET
    COLUMNS = ttypes.TSparkRowSetType.COLUMN_BASED_SET


def new_handle(guid: bytes | None = None) -> ttypes.THandleIdentifier:
    """A handle: `guid` (default a random UUID) with a fresh 16-byte secret.

    GUIDs must be valid RFC 4122 UUIDs: the Node driver stringifies them with a validating
    `uuid.stringify` and fails on arbitrary bytes.
    """
    return ttypes.THandleIdentifier(guid=guid or uuid.uuid4().bytes,
                                    secret=secrets.token_bytes(16))


def uuid_statement_id(statement_id: str) -> str:
    """A registry-style statement id made a valid UUID (version 4, RFC 4122 variant), so the
    operation GUID and the statement id are the same 128 bits.

    >>> sid = uuid_statement_id("01f0abcd-0123-0567-0abc-0123456789ab")
    >>> (sid, uuid.UUID(sid).version)
    ('01f0abcd-0123-4567-8abc-0123456789ab', 4)
    """
    return str(uuid.UUID(statement_id, version=4))


@dataclass(eq=False)
class Session:
    """One OpenSession: its owner, its defaults and the protocol it speaks."""

    handle: ttypes.THandleIdentifier
    workspace: str
    protocol: int
    # the token's user: statements of the session run with their privileges
    user: str = ""
    catalog: str | None = None
    schema: str | None = None
    configuration: dict[str, str] = field(default_factory=dict)
    last_used: float = field(default_factory=time.monotonic)
    # As last written to the state store (None without one): its stamp says when to touch.
    saved: Saved | None = None

    @property
    def key(self) -> bytes:
        """The table key: the GUID."""
        return bytes(self.handle.guid)

    @property
    def stored_id(self) -> str:
        """The session's id in the state store: its GUID in hex."""
        return bytes(self.handle.guid).hex()

    def to_saved(self) -> Saved:
        """The session as the state store keeps it: the secret only as its SHA-256."""
        return Saved(self.stored_id, "thrift", self.workspace, self.user, {
            "protocol": self.protocol,
            "secret_sha256": hashlib.sha256(bytes(self.handle.secret)).hexdigest(),
            "catalog": self.catalog, "schema": self.schema,
            "configuration": self.configuration,
        }, self.saved.created_at if self.saved else 0.0)

    def refresh(self, saved: Saved) -> None:
        """Take the defaults as stored (a USE or SET on another gateway)."""
        d = saved.data
        self.catalog, self.schema = d.get("catalog"), d.get("schema")
        conf = d.get("configuration")
        if isinstance(conf, dict):
            self.configuration = {str(k): str(v) for k, v in conf.items()}
        self.saved = saved

    @classmethod
    def from_saved(cls, saved: Saved, ident: ttypes.THandleIdentifier) -> Session | None:
        """The stored session for a client's handle; None unless the handle's secret is the
        one the session was opened with."""
        digest = hashlib.sha256(bytes(ident.secret or b"")).hexdigest()
        if not secrets.compare_digest(digest, str(saved.data.get("secret_sha256", ""))):
            return None
        protocol = saved.data.get("protocol")
        if not isinstance(protocol, int):
            return None
        session = cls(handle=ttypes.THandleIdentifier(guid=bytes(ident.guid),
                                                      secret=bytes(ident.secret)),
                      workspace=saved.workspace, protocol=protocol, user=saved.user)
        session.refresh(saved)
        return session

    def thrift_handle(self) -> ttypes.TSessionHandle:
        """The handle as sent to the client."""
        return ttypes.TSessionHandle(sessionId=self.handle, serverProtocolVersion=self.protocol)


@dataclass(frozen=True)
class ClientCaps:
    """What the client said it can read, fixed per operation."""

    arrow: bool = False
    lz4: bool = False
    links: bool = False
    native: NativeTypes = field(default_factory=NativeTypes)

    @classmethod
    def from_request(cls, req: ttypes.TExecuteStatementReq | None) -> ClientCaps:
        """From ExecuteStatement; metadata RPCs carry no flags and get column-based results."""
        if req is None:
            return cls()
        arrow = bool(req.canReadArrowResult)
        return cls(
            arrow=arrow,
            lz4=arrow and bool(req.canDecompressLZ4Result),
            # A client without pyarrow still says canDownloadResult; it must read Arrow too.
            links=arrow and bool(req.canDownloadResult),
            native=NativeTypes.from_request(req.useArrowNativeTypes),
        )

    @property
    def row_format(self) -> RowFormat:
        """The inline row set type."""
        return RowFormat.ARROW if self.arrow else RowFormat.COLUMNS


@dataclass(frozen=True)
class StoredChunk:
    """One result chunk read back from the store for a client that pages through FetchResults."""

    key: str | None
    row_offset: int
    rows: int
    batches: list[pa.RecordBatch]


@dataclass(eq=False)
class Operation:
    """One operation: a registry statement or a local result, and the client's read cursor."""

    handle: ttypes.THandleIdentifier
    session: Session
    kind: int
    caps: ClientCaps
    statement: Statement | None = None
    local: StatementResult | None = None
    # Rows (inline) or rows covered by links already handed out.
    offset: int = 0
    closed: bool = False
    # The stored chunk being paged through (external results read without links).
    chunk: StoredChunk | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = field(default_factory=time.monotonic)
    # Rebuilt from the shared state store for this request (run on another gateway).
    remote: bool = False

    @property
    def key(self) -> bytes:
        """The table key: the GUID."""
        return bytes(self.handle.guid)

    @property
    def workspace(self) -> str:
        """The owning workspace: its session's."""
        return self.session.workspace

    @property
    def state(self) -> StatementState:
        """The statement state; a local result is always SUCCEEDED."""
        if self.statement is not None:
            return self.statement.state
        return StatementState.SUCCEEDED

    @property
    def error(self) -> StatementError | None:
        """Why the statement failed, if it did (a local result never fails)."""
        return self.statement.error if self.statement is not None else None

    @property
    def result(self) -> StatementResult | None:
        """The finished result, while it is kept."""
        return self.statement.result if self.statement is not None else self.local

    @property
    def has_result_set(self) -> bool:
        """False only for statements the front answered with nothing to read."""
        return self.local is None or len(self.local.schema) > 0

    def thrift_handle(self) -> ttypes.TOperationHandle:
        """The handle as sent to the client."""
        return ttypes.TOperationHandle(
            operationId=self.handle, operationType=self.kind, hasResultSet=self.has_result_set
        )


def statement_task(settings: Settings, stored: bool, session: Session, sql: str,
                   caps: ClientCaps, params: tuple[Parameter, ...], row_limit: int | None = None,
                   timeout: int | None = None) -> StatementTask:
    """The registry task for a statement of `session`.

    With a result store (`stored`) every result may go external: Cloud Fetch clients
    download the chunks, every other client pages through them (no INLINE byte cap for
    Thrift).
    """
    return StatementTask(
        statement_id=uuid_statement_id(new_statement_id()), sql=sql,
        workspace=session.workspace, user=session.user,
        session_id=bytes(session.handle.guid).hex(),
        catalog=session.catalog, schema=session.schema, parameters=params,
        row_limit=row_limit or None,
        use_cached_result=session.configuration.get("use_cached_result", "true").lower()
        not in ("false", "0", "no", "off"),
        disposition=Disposition.HYBRID if stored else Disposition.INLINE,
        format=ResultFormat.ARROW_STREAM if stored else ResultFormat.JSON_ARRAY,
        compression="LZ4_FRAME" if stored and caps.links and caps.lz4 else None,
        # a client's timeout only shortens the operator's limit (huge ones included)
        timeout_s=settings.engine.time_limit(float(timeout)) if timeout else None,
        inline_byte_limit=settings.gateway.inline_byte_limit,
    )


T = TypeVar("T", Session, Operation)


class HandleTable(Generic[T]):
    """A bounded GUID -> record map that checks the secret and the owning workspace."""

    def __init__(self, limit: int, idle_s: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.idle_s = idle_s
        self.clock = clock
        self._items: dict[bytes, T] = {}

    def __len__(self) -> int:
        return len(self._items)

    def values(self) -> list[T]:
        """A snapshot of the records."""
        return list(self._items.values())

    def add(self, item: T, evictable: Callable[[T], bool]) -> None:
        """Insert, first dropping idle (and, if still full, evictable) records."""
        if len(self._items) >= self.limit:
            now = self.clock()
            for old in list(self._items.values()):
                if now - old.last_used > self.idle_s:
                    self._items.pop(old.key, None)
            for old in list(self._items.values()):
                if len(self._items) < self.limit:
                    break
                if evictable(old):
                    self._items.pop(old.key, None)
        if len(self._items) >= self.limit:
            raise ResourceExhausted(
                f"Too many open Thrift handles (limit {self.limit}); close some and retry"
            )
        self._items[item.key] = item

    def find(self, ident: ttypes.THandleIdentifier | None, workspace: str) -> T | None:
        """The record for a handle, if it exists, the secret matches and the workspace owns it."""
        if ident is None or ident.guid is None:
            return None
        item = self._items.get(bytes(ident.guid))
        if item is None or not secrets.compare_digest(bytes(item.handle.secret),
                                                      bytes(ident.secret or b"")):
            return None
        if item.workspace != workspace:
            return None
        item.last_used = self.clock()
        return item

    def pop(self, key: bytes) -> T | None:
        """Remove and return a record."""
        return self._items.pop(key, None)


__all__ = [
    "ClientCaps",
    "HandleTable",
    "InvalidHandle",
    "Operation",
    "RowFormat",
    "Session",
    "StoredChunk",
    "new_handle",
    "statement_task",
    "uuid_statement_id",
]
