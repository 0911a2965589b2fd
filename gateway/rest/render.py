"""Statement records as Statement Execution API JSON: status, manifest, result chunks.

Inline results are split into chunks of at most `INLINE_CHUNK_BYTES` of Arrow data (a few MB
of JSON), computed once per statement as row ranges; each chunk is stringified on request, so
chunks can be fetched in any order and in parallel. External results list the manifest's
chunks and sign a fresh link from the result store on every call.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from fetch.jsonrows import rows_as_strings
from gateway.core.registry import Statement
from gateway.errors import InvalidParameter, NotFound
from sqlgate.types import ChunkInfo, ColumnInfo, ResultManifest, StatementState

# Arrow bytes per inline chunk; JSON text is typically 1-3x that.
INLINE_CHUNK_BYTES = 2 * 1024 * 1024
# Below this many cells a chunk is rendered on the event loop; above, in a thread.
_THREAD_CELLS = 20_000


class LinkLike(Protocol):
    """What `ResultStore.link` answers (fetch.store.Link)."""

    @property
    def url(self) -> str: ...

    @property
    def headers(self) -> dict[str, str]: ...

    def expiration_text(self) -> str: ...


class LinkSigner(Protocol):
    """The part of the result store the gateway uses: signing a link for a chunk key."""

    def link(self, key: str, ttl_s: int | None = None) -> LinkLike: ...


@dataclass(frozen=True)
class InlineLayout:
    """An inline result cut into row ranges: its rows and (row_offset, row_count) per chunk.

    `batch` holds the rows when they are one batch (a small result: no Table is built, each
    pyarrow call on this path is measured against a bare endpoint in `bench select1`);
    `table` otherwise.
    """

    table: pa.Table | None
    batch: pa.RecordBatch | None
    num_rows: int
    chunks: tuple[tuple[int, int], ...]
    truncated: bool

    def rows(self, offset: int, count: int) -> pa.RecordBatch | pa.Table:
        """The rows of one chunk."""
        if self.batch is not None:
            return self.batch if (offset, count) == (0, self.num_rows) else (
                self.batch.slice(offset, count))
        assert self.table is not None
        return self.table.slice(offset, count)


def inline_layout(stmt: Statement, chunk_bytes: int = INLINE_CHUNK_BYTES) -> InlineLayout:
    """The (cached) chunk layout of a statement's inline result, row/byte limits applied."""
    cached = stmt.cache.get("inline_layout")
    if isinstance(cached, InlineLayout):
        return cached
    result = stmt.result
    if result is None:
        raise NotFound(f"The result of statement {stmt.id} is no longer available")
    truncated = result.manifest.truncated
    row_limit, byte_limit = stmt.task.row_limit, stmt.task.byte_limit
    batches = [b for b in result.batches if b.num_rows] or result.batches[:1]
    if len(batches) == 1 and row_limit is None and byte_limit is None and (
            batches[0].nbytes <= chunk_bytes):
        # One batch, no limit to apply again, one chunk: the common small result.
        batch = batches[0]
        layout = InlineLayout(table=None, batch=batch, num_rows=batch.num_rows,
                              chunks=((0, batch.num_rows),), truncated=truncated)
        stmt.cache["inline_layout"] = layout
        return layout
    table = pa.Table.from_batches(result.batches, schema=result.schema)
    # The engine applies the limits; applying them again here is cheap and keeps the API's
    # promise even if a backend ignores them.
    if row_limit is not None and table.num_rows > row_limit:
        table, truncated = table.slice(0, row_limit), True
    if byte_limit is not None and table.num_rows and table.nbytes > byte_limit:
        keep = int(table.num_rows * byte_limit / table.nbytes)
        table, truncated = table.slice(0, keep), True
    rows = table.num_rows
    per_row = max(1.0, table.nbytes / rows) if rows else 1.0
    step = max(1, int(chunk_bytes / per_row))
    chunks = tuple((off, min(step, rows - off)) for off in range(0, rows, step)) or ((0, 0),)
    layout = InlineLayout(table=table, batch=None, num_rows=rows, chunks=chunks,
                          truncated=truncated)
    stmt.cache["inline_layout"] = layout
    return layout


def _column(col: ColumnInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": col.name,
        "position": col.position,
        "type_name": col.type_name,
        "type_text": col.type_text,
    }
    for key in ("type_precision", "type_scale", "type_interval_type"):
        value = getattr(col, key)
        if value is not None:
            out[key] = value
    return out


def manifest_json(stmt: Statement) -> dict[str, Any]:
    """The `manifest` object of a succeeded statement."""
    assert stmt.result is not None
    m: ResultManifest = stmt.result.manifest
    out: dict[str, Any] = {
        "format": m.format.value,
        "schema": {"column_count": len(m.columns), "columns": [_column(c) for c in m.columns]},
    }
    if m.external:
        out["total_chunk_count"] = len(m.chunks)
        out["chunks"] = [
            {"chunk_index": c.chunk_index, "row_offset": c.row_offset,
             "row_count": c.row_count, "byte_count": c.byte_count}
            for c in m.chunks
        ]
        out["total_row_count"] = m.total_row_count
        out["total_byte_count"] = m.total_byte_count
        out["truncated"] = m.truncated
        if m.compression:
            out["result_compression"] = m.compression
    else:
        layout = inline_layout(stmt)
        out["total_chunk_count"] = len(layout.chunks)
        out["chunks"] = [
            {"chunk_index": i, "row_offset": off, "row_count": n}
            for i, (off, n) in enumerate(layout.chunks)
        ]
        out["total_row_count"] = layout.num_rows
        out["truncated"] = layout.truncated
    return out


def _next(stmt: Statement, index: int, total: int, row_offset: int) -> dict[str, Any]:
    if index + 1 >= total:
        return {}
    return {
        "next_chunk_index": index + 1,
        "next_chunk_internal_link": (
            f"/api/2.0/sql/statements/{stmt.id}/result/chunks/{index + 1}?row_offset={row_offset}"
        ),
    }


def _check_index(stmt: Statement, index: int, total: int) -> None:
    if not 0 <= index < total:
        raise InvalidParameter(
            f"chunk_index {index} is out of range: statement {stmt.id} has {total} chunk(s)"
        )


def _inline_chunk(stmt: Statement, index: int) -> dict[str, Any]:
    layout = inline_layout(stmt)
    _check_index(stmt, index, len(layout.chunks))
    off, n = layout.chunks[index]
    data = rows_as_strings(layout.rows(off, n)) if n else []
    out: dict[str, Any] = {"chunk_index": index, "row_offset": off, "row_count": n}
    if data:
        out["data_array"] = data
    out.update(_next(stmt, index, len(layout.chunks), off + n))
    return out


def _external_chunk(stmt: Statement, index: int, store: LinkSigner | None) -> dict[str, Any]:
    assert stmt.result is not None
    chunks = stmt.result.manifest.chunks
    _check_index(stmt, index, len(chunks))
    c = chunks[index]
    return _link_entry(stmt, c, store, _next(stmt, index, len(chunks), c.row_offset + c.row_count))


def _link_entry(
    stmt: Statement, c: ChunkInfo, store: LinkSigner | None, nxt: dict[str, Any]
) -> dict[str, Any]:
    if store is None:
        raise NotFound("No result store is configured for external results")
    if c.key is None:
        raise NotFound(f"Chunk {c.chunk_index} of statement {stmt.id} has no stored object")
    link: LinkLike = store.link(c.key)
    entry: dict[str, Any] = {
        "chunk_index": c.chunk_index,
        "row_offset": c.row_offset,
        "row_count": c.row_count,
        "byte_count": c.byte_count,
        "external_link": link.url,
        "expiration": link.expiration_text(),
        **nxt,
    }
    if link.headers:
        entry["http_headers"] = dict(link.headers)
    return {"external_links": [entry], **nxt}


def chunk_json(stmt: Statement, index: int, store: LinkSigner | None) -> dict[str, Any]:
    """The ResultData of chunk `index` (the body of GET …/result/chunks/{index}).

    While an external result is still being written, a chunk already stored is answered
    too; its next_chunk_index then only says that more chunks may follow (the manifest, once
    the statement SUCCEEDED, gives the count).
    """
    early = stmt.early_chunks.get(index)
    if early is not None and not stmt.state.terminal:
        offset = early.row_offset + early.row_count
        # The count is not known yet: a total one past the next index says "more may follow".
        return _link_entry(stmt, early, store, _next(stmt, index, index + 2, offset))
    if stmt.state is not StatementState.SUCCEEDED or stmt.result is None:
        if stmt.state is StatementState.CLOSED:
            raise NotFound(f"Statement {stmt.id} is closed; its result is no longer available")
        raise InvalidParameter(
            f"Statement {stmt.id} has no result: its state is {stmt.state.value}"
        )
    if stmt.result.manifest.external:
        return _external_chunk(stmt, index, store)
    return _inline_chunk(stmt, index)


def status_json(stmt: Statement) -> dict[str, Any]:
    """The `status` object: state, and error + sql_state when FAILED."""
    status: dict[str, Any] = {"state": stmt.state.value}
    if stmt.error is not None and stmt.state in (StatementState.FAILED, StatementState.CANCELED):
        status["error"] = {"error_code": stmt.error.error_code, "message": stmt.error.message}
        if stmt.error.sql_state:
            status["sql_state"] = stmt.error.sql_state
    return status


def statement_json(stmt: Statement, store: LinkSigner | None) -> dict[str, Any]:
    """The StatementResponse; manifest and the first chunk only when SUCCEEDED."""
    out: dict[str, Any] = {"statement_id": stmt.id, "status": status_json(stmt)}
    if stmt.state is StatementState.SUCCEEDED and stmt.result is not None:
        out["manifest"] = manifest_json(stmt)
        out["result"] = chunk_json(stmt, 0, store)
    extra: dict[str, Any] = {}
    ran = stmt.result.manifest.extra.get("lane") if stmt.result is not None else None
    if ran is not None or stmt.lane is not None:
        # The lane that produced the rows wins over the one it was queued in: a statement
        # queued for the distributed lane may have run locally (distributed_fallback).
        extra["lane"] = ran or stmt.lane
    worker = stmt.result.manifest.extra.get("worker") if stmt.result is not None else None
    if worker is not None:
        extra["worker"] = worker  # {"id", "node"}: which worker ran it, on which host
    if stmt.estimate is not None:
        e = stmt.estimate
        extra["estimate"] = {"kind": e.kind, "files": e.files, "bytes": e.bytes, "rows": e.rows}
    if stmt.queue_ms is not None:
        extra["queue_ms"] = round(stmt.queue_ms, 3)
    if stmt.result is not None and stmt.result.cache is not None:
        extra["cache"] = stmt.result.cache  # "hit": answered from the result cache
    if extra:
        # Documented extension; the SDK ignores fields it does not know.
        out["sqlgate"] = extra
    return out


def _size_hint(stmt: Statement) -> int:
    layout = stmt.cache.get("inline_layout")
    if isinstance(layout, InlineLayout) and layout.chunks:
        return layout.chunks[0][1] * max(1, len(stmt.result.schema) if stmt.result else 1)
    if stmt.result is None or stmt.result.manifest.external:
        return 0
    return sum(b.num_rows for b in stmt.result.batches) * max(1, len(stmt.result.schema))


async def render(stmt: Statement, store: LinkSigner | None, chunk: int | None = None) -> bytes:
    """The JSON body for a statement (chunk None) or one chunk, big ones off the event loop."""

    def build() -> bytes:
        body = statement_json(stmt, store) if chunk is None else chunk_json(stmt, chunk, store)
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    if _size_hint(stmt) > _THREAD_CELLS:
        return await asyncio.to_thread(build)
    return build()


__all__ = [
    "INLINE_CHUNK_BYTES",
    "InlineLayout",
    "chunk_json",
    "inline_layout",
    "manifest_json",
    "render",
    "statement_json",
    "status_json",
]
