"""Statements to and from the state store's records: the codec, and nothing else.

A `Statement` lives on the event loop with monotonic times and asyncio events; its
`StatementRecord` is plain text and bytes with Unix times, written by the journal's thread.
`snapshot` runs on the loop and only copies references (cheap); `to_record` and
`to_history` run in the journal's thread, where the inline result is serialised to Arrow IPC;
`from_record` rebuilds a read-only `Statement` for a gateway that did not run it (or ran it
before a restart).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from gateway.core.backend import StatementResult
from gateway.core.registry import Statement
from gateway.core.store import HistoryRecord, StatementRecord
from sqlgate.protocol import plain, task_fields
from sqlgate.types import (
    ChunkInfo,
    ColumnInfo,
    CostEstimate,
    Disposition,
    Parameter,
    ResultFormat,
    ResultManifest,
    StatementError,
    StatementState,
    StatementTask,
)

# Statement states as the Query History API names them.
HISTORY_STATUS = {
    StatementState.PENDING: "QUEUED",
    StatementState.RUNNING: "RUNNING",
    StatementState.SUCCEEDED: "FINISHED",
    StatementState.CLOSED: "FINISHED",
    StatementState.FAILED: "FAILED",
    StatementState.CANCELED: "CANCELED",
}


@dataclass(slots=True)
class Snapshot:
    """A statement's fields at one moment, taken on the loop (references, no copies).

    Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__,
    and one is made at every step of every statement; nothing changes one once queued.
    """

    task: StatementTask
    owner: str
    warehouse_id: str
    state: StatementState
    error: StatementError | None
    result: StatementResult | None
    info: dict[str, Any]
    submitted_at: float
    started_at: float | None
    ended_at: float | None


def snapshot(stmt: Statement, owner: str, warehouse_id: str,
             clock: Callable[[], float]) -> Snapshot:
    """The statement now, with its monotonic times turned into Unix times."""
    offset = time.time() - clock()
    info: dict[str, Any] = {}
    if stmt.lane is not None:
        info["lane"] = stmt.lane
    if stmt.estimate is not None:
        # the (frozen) estimate itself: made plain in the journal's thread, not on the loop
        info["estimate"] = stmt.estimate
    if stmt.queue_ms is not None:
        info["queue_ms"] = stmt.queue_ms
    if stmt.result is not None and stmt.result.cache is not None:
        info["cache"] = stmt.result.cache
    return Snapshot(
        task=stmt.task, owner=owner, warehouse_id=warehouse_id, state=stmt.state,
        error=stmt.error, result=stmt.result, info=info,
        submitted_at=stmt.submitted_at + offset,
        started_at=None if stmt.started_at is None else stmt.started_at + offset,
        ended_at=None if stmt.ended_at is None else stmt.ended_at + offset,
    )


def to_record(snap: Snapshot) -> StatementRecord:
    """The store's record of a snapshot (serialises an inline result: call off the loop)."""
    manifest = result = None
    if snap.result is not None:
        manifest = json.dumps(_manifest_dict(snap.result.manifest))
        if not snap.result.manifest.external:
            result = _ipc(snap.result)
    return StatementRecord(
        statement_id=snap.task.statement_id, workspace=snap.task.workspace, owner=snap.owner,
        state=snap.state.value,
        task=task_json(snap.task),
        submitted_at=snap.submitted_at, started_at=snap.started_at, ended_at=snap.ended_at,
        error=None if snap.error is None else json.dumps(plain(snap.error)),
        manifest=manifest, result=result, info=_info_json(snap.info),
    )


def task_json(task: StatementTask) -> str:
    """A task's JSON for its record (`task_from_dict` reads it back): the ticket's fields
    (`sqlgate.protocol.task_fields`; the generic `plain` walk was most of the journal
    thread's CPU) without the attachments, the caller's history sent to the worker."""
    return json.dumps({**task_fields(task), "attachments": []}, default=str)


def _info_json(info: dict[str, Any]) -> str | None:
    if not info:
        return None
    info = dict(info)
    if "estimate" in info:
        info["estimate"] = plain(info["estimate"])
    if "chunks" in info:
        # (list, n): the first n chunks stored of a running statement (see ControlPlane.note)
        chunks, n = info["chunks"]
        info["chunks"] = [plain(c) for c in chunks[:n]]
    return json.dumps(info)


def to_history(snap: Snapshot) -> HistoryRecord:
    """The query-history row of a snapshot."""
    est: CostEstimate | None = snap.info.get("estimate")
    manifest = snap.result.manifest if snap.result is not None else None
    return HistoryRecord(
        statement_id=snap.task.statement_id, workspace=snap.task.workspace,
        user_name=snap.task.user, user_id=user_id(snap.task.workspace, snap.task.user),
        warehouse_id=snap.warehouse_id,
        status=HISTORY_STATUS[snap.state], statement_text=snap.task.sql,
        statement_type=statement_type(snap.task.sql), start_time=snap.submitted_at,
        end_time=snap.ended_at if snap.state.terminal else None,
        error_message=None if snap.error is None else snap.error.message,
        rows_produced=None if manifest is None else manifest.total_row_count,
        read_bytes=None if est is None else est.bytes,
        read_files=None if est is None else est.files,
        result_bytes=None if manifest is None else manifest.total_byte_count,
        queue_ms=snap.info.get("queue_ms"), from_cache=snap.info.get("cache") == "hit",
    )


def from_record(rec: StatementRecord, clock: Callable[[], float]) -> Statement:
    """A `Statement` rebuilt from its record (times back on this process's clock)."""
    offset = clock() - time.time()
    task = task_from_dict(json.loads(rec.task))
    stmt = Statement(task=task, submitted_at=rec.submitted_at + offset,
                     state=StatementState(rec.state), polled_at=clock())
    stmt.started_at = None if rec.started_at is None else rec.started_at + offset
    stmt.ended_at = None if rec.ended_at is None else rec.ended_at + offset
    if rec.error:
        raw = json.loads(rec.error)
        stmt.error = StatementError(raw["error_code"], raw["message"], raw.get("sql_state"))
    if rec.manifest and stmt.state is StatementState.SUCCEEDED:
        manifest = _manifest_from(json.loads(rec.manifest))
        if manifest.external:
            stmt.result = StatementResult(manifest, pa.schema([]))
        elif rec.result is not None:
            table = pa.ipc.open_stream(rec.result).read_all()
            stmt.result = StatementResult(manifest, table.schema, table.to_batches())
    info = json.loads(rec.info) if rec.info else {}
    stmt.lane = info.get("lane")
    if info.get("estimate"):
        est = dict(info["estimate"])
        est["tables"] = tuple(est.get("tables") or ())
        stmt.estimate = CostEstimate(**{k: v for k, v in est.items()
                                        if k in {f.name for f in dataclasses.fields(CostEstimate)}})
    if stmt.result is not None and isinstance(info.get("cache"), str):
        stmt.result.cache = info["cache"]
    if not stmt.state.terminal:
        for raw in info.get("chunks") or ():
            chunk = ChunkInfo(**raw)
            stmt.early_chunks[chunk.chunk_index] = chunk
    if stmt.state.terminal:
        stmt.admitted.set()
    return stmt


def task_from_dict(raw: dict[str, Any]) -> StatementTask:
    """A task from its JSON object; unknown fields are ignored (older/newer gateways)."""
    names = {f.name for f in dataclasses.fields(StatementTask)}
    kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                              for k, v in raw.items() if k in names}
    kwargs["parameters"] = tuple(Parameter(**p) for p in kwargs.get("parameters") or ())
    kwargs["disposition"] = Disposition(kwargs.get("disposition", Disposition.INLINE))
    kwargs["format"] = ResultFormat(kwargs.get("format", ResultFormat.JSON_ARRAY))
    return StatementTask(**kwargs)


def statement_type(sql: str) -> str:
    """The Query History ``statement_type`` from the statement's first keyword.

    >>> statement_type("  with t as (select 1) select * from t"), statement_type("merge into x")
    ('SELECT', 'MERGE')
    """
    words = sql.lstrip(" \t\r\n(").split(None, 1)
    first = words[0].upper() if words else ""
    if first in ("WITH", "SELECT", "VALUES", "FROM", "TABLE"):
        return "SELECT"
    known = {"ALTER", "ANALYZE", "COPY", "CREATE", "DELETE", "DESCRIBE", "DROP", "EXPLAIN",
             "GRANT", "INSERT", "MERGE", "OPTIMIZE", "REFRESH", "REPLACE", "REVOKE", "SET",
             "SHOW", "TRUNCATE", "UPDATE", "USE"}
    if first == "DESC":
        return "DESCRIBE"
    return first if first in known else "OTHER"


def user_id(workspace: str, user: str) -> int:
    """A stable positive 53-bit id for a user name (the API's ``user_id`` is a number).

    >>> user_id("ws", "alice") == user_id("ws", "alice") != user_id("ws", "bob")
    True
    """
    digest = hashlib.sha256(f"{workspace}\n{user}".encode()).digest()
    return int.from_bytes(digest[:7], "big") >> 3


def encode_result(result: StatementResult) -> tuple[str, bytes | None]:
    """A result as the store keeps it: its manifest (JSON) and, inline, its Arrow IPC."""
    manifest = json.dumps(_manifest_dict(result.manifest))
    return manifest, None if result.manifest.external else _ipc(result)


def decode_result(manifest: str, ipc: bytes | None) -> StatementResult:
    """`encode_result` read back."""
    m = _manifest_from(json.loads(manifest))
    if m.external or ipc is None:
        return StatementResult(m, pa.schema([]))
    table = pa.ipc.open_stream(ipc).read_all()
    return StatementResult(m, table.schema, table.to_batches())


def _ipc(result: StatementResult) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, result.schema) as writer:
        for batch in result.batches:
            writer.write_batch(batch)
    return bytes(sink.getvalue().to_pybytes())


def _manifest_dict(m: ResultManifest) -> dict[str, Any]:
    out: dict[str, Any] = plain(m)
    out["format"] = m.format.value
    out["extra"] = {k: v for k, v in m.extra.items() if _plain(v)}
    return out


def _plain(value: object) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _manifest_from(raw: dict[str, Any]) -> ResultManifest:
    raw = dict(raw)
    raw["format"] = ResultFormat(raw["format"])
    raw["columns"] = tuple(ColumnInfo(**c) for c in raw.get("columns") or ())
    raw["chunks"] = tuple(ChunkInfo(**c) for c in raw.get("chunks") or ())
    names = {f.name for f in dataclasses.fields(ResultManifest)}
    return ResultManifest(**{k: v for k, v in raw.items() if k in names})


__all__ = ["HISTORY_STATUS", "Snapshot", "decode_result", "encode_result", "from_record",
           "snapshot", "statement_type",
           "task_from_dict", "to_history", "to_record", "user_id"]
