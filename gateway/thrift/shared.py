"""Thrift operations across gateways sharing a state store (PostgreSQL, or `state_shared`).

An operation lives in the memory of the gateway that ran ExecuteStatement; behind a load
balancer without stickiness its GetOperationStatus, GetResultSetMetadata, FetchResults,
CancelOperation and CloseOperation reach other gateways too. So, with a shared store only,
each statement operation is also written to the store's sessions table (kind ``thrift-op``,
id ``op-<guid hex>``): its session, the SHA-256 of its handle secret, its type, what the
client reads (`ClientCaps`) and the read cursor, rewritten after every page served. Another
gateway given the handle rebuilds the `Operation` from that record and reads the statement
through the control plane (`ControlPlane.find`: the same cross-gateway lookup REST GETs use);
the operation GUID is the statement id's 128 bits. A rebuilt operation is never kept: it is
read again on every request, as another gateway's statement is. Alone on a store nothing
here runs: the single-gateway path is unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import pyarrow as pa
from databricks.sql.thrift_api.TCLIService import ttypes

from fetch.serialize import decompress_chunk
from fetch.store import ResultStore
from gateway.core.control import ControlPlane
from gateway.core.sessions import Saved, SessionBook
from gateway.errors import GatewayError, NotFound
from gateway.thrift.operations import ClientCaps, InvalidHandle, Operation, Session
from gateway.thrift.schema import NativeTypes

KIND = "thrift-op"
# Arrow schemas of other gateways' external results, read from their first chunk.
_SCHEMAS_KEPT = 256


def record_id(guid: bytes) -> str:
    """The operation's id in the store's sessions table (never a session's plain hex)."""
    return "op-" + guid.hex()


def statement_id(guid: bytes) -> str:
    """The registry id of the statement an operation GUID names (the same 128 bits)."""
    return str(uuid.UUID(bytes=guid))


def _caps(data: Any) -> ClientCaps | None:
    if not isinstance(data, dict) or not isinstance(data.get("native"), dict):
        return None
    native = NativeTypes(**{k: bool(v) for k, v in data["native"].items()
                            if k in NativeTypes.__dataclass_fields__})
    return ClientCaps(arrow=bool(data.get("arrow")), lz4=bool(data.get("lz4")),
                      links=bool(data.get("links")), native=native)


class SharedOperations:
    """Operations written to, and rebuilt from, a shared state store."""

    def __init__(self, book: SessionBook, control: ControlPlane | None,
                 store: ResultStore | None = None) -> None:
        self.book = book
        self.control = control
        self.store = store
        self.delete_prefix: Callable[[str], Any] | None = (
            store.delete_prefix if store is not None else None)
        self._schemas: dict[str, pa.Schema] = {}

    @property
    def active(self) -> bool:
        """Whether other gateways share the store (and this one answers their operations)."""
        return self.book.shared and self.control is not None

    async def save(self, op: Operation) -> None:
        """Write the operation as it is now (its cursor included)."""
        if not self.active or op.statement is None:
            return
        await self.book.save(Saved(record_id(op.key), KIND, op.workspace, op.session.user, {
            "session": op.session.stored_id, "type": op.kind, "offset": op.offset,
            "secret_sha256": hashlib.sha256(bytes(op.handle.secret)).hexdigest(),
            "caps": {"arrow": op.caps.arrow, "lz4": op.caps.lz4, "links": op.caps.links,
                     "native": asdict(op.caps.native)},
        }))

    async def sync_cursor(self, op: Operation) -> None:
        """Take the stored cursor (moved by a page served on any gateway); InvalidHandle
        once the operation was closed on another gateway."""
        if not self.active or op.statement is None:
            return
        saved = await self.book.load(record_id(op.key), KIND, op.workspace)
        offset = saved.data.get("offset") if saved is not None else None
        if not isinstance(offset, int) or offset < 0:
            raise InvalidHandle("Invalid OperationHandle: closed on another gateway")
        op.offset = offset

    async def rebuild(self, ident: ttypes.THandleIdentifier | None,
                      workspace: str) -> Operation | None:
        """Another gateway's operation for a client's handle: None unless it is stored for
        this workspace, the secret is the one it was handed out with and its session is
        still open."""
        if not self.active or ident is None or ident.guid is None:
            return None
        guid = bytes(ident.guid)
        saved = await self.book.load(record_id(guid), KIND, workspace)
        if saved is None:
            return None
        d = saved.data
        digest = hashlib.sha256(bytes(ident.secret or b"")).hexdigest()
        caps, kind, offset = _caps(d.get("caps")), d.get("type"), d.get("offset")
        if (not secrets.compare_digest(digest, str(d.get("secret_sha256", "")))
                or caps is None or not isinstance(kind, int) or not isinstance(offset, int)):
            return None
        stored = await self.book.load(str(d.get("session", "")), "thrift", workspace)
        protocol = stored.data.get("protocol") if stored is not None else None
        if stored is None or not isinstance(protocol, int):
            return None  # its session was closed: so are its operations
        session = Session(handle=ttypes.THandleIdentifier(guid=bytes.fromhex(stored.id),
                                                          secret=b""),
                          workspace=workspace, protocol=protocol, user=stored.user)
        session.refresh(stored)
        assert self.control is not None
        try:
            stmt = await self.control.find(statement_id(guid), workspace)
        except NotFound:
            return None
        op = Operation(handle=ttypes.THandleIdentifier(guid=guid, secret=bytes(ident.secret)),
                       session=session, kind=kind, caps=caps, statement=stmt, offset=offset,
                       remote=True)
        await self._with_schema(op)
        return op

    async def _with_schema(self, op: Operation) -> None:
        """A stored external result keeps no Arrow schema (its manifest only the column
        names and SQL types); Thrift answers need it: read it from the first chunk."""
        result = op.statement.result if op.statement is not None else None
        if (result is None or not result.manifest.external or len(result.schema) > 0
                or self.store is None):
            return
        sid = op.statement.id if op.statement is not None else ""
        schema = self._schemas.get(sid)
        key = next((c.key for c in result.manifest.chunks if c.key is not None), None)
        if schema is None and key is not None:
            store, compression = self.store, result.manifest.compression
            try:
                data = await asyncio.to_thread(
                    lambda: decompress_chunk(store.get(key), compression))
                schema = pa.ipc.open_stream(data).schema
            except (OSError, ValueError, pa.ArrowException) as exc:
                raise GatewayError(f"The operation's result cannot be read: {exc}",
                                   error_code="INVALID_STATE") from exc
            if len(self._schemas) >= _SCHEMAS_KEPT:
                self._schemas.pop(next(iter(self._schemas)))
            self._schemas[sid] = schema
        if schema is not None:
            result.schema = schema

    async def wait(self, op: Operation, timeout: float, *, change: bool = False) -> None:
        """A rebuilt operation's statement read again every ``state_poll_s`` until it
        ended (or, with `change`, changed state) or `timeout` passed."""
        assert self.control is not None and op.statement is not None
        loop = asyncio.get_running_loop()
        deadline, first = loop.time() + timeout, op.statement.state
        poll = self.control.settings.gateway.state_poll_s
        while not op.statement.state.terminal and not (change and op.statement.state != first):
            left = deadline - loop.time()
            if left <= 0:
                return
            await asyncio.sleep(min(poll, left))
            with contextlib.suppress(NotFound):
                op.statement = await self.control.find(op.statement.id, op.workspace)
                await self._with_schema(op)

    async def cancel(self, op: Operation) -> None:
        """Cancel wherever the statement runs (its owner is asked through the store)."""
        assert self.control is not None and op.statement is not None
        with contextlib.suppress(NotFound):  # already forgotten: nothing is left to stop
            await self.control.cancel(op.statement.id, op.workspace)

    async def close(self, op: Operation) -> None:
        """Close the statement wherever it ran and forget the operation on every gateway."""
        assert self.control is not None and op.statement is not None
        with contextlib.suppress(NotFound):
            await self.control.close(op.statement.id, op.workspace, self.delete_prefix)
        await self.book.drop(record_id(op.key))


__all__ = ["KIND", "SharedOperations", "record_id", "statement_id"]
