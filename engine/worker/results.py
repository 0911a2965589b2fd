"""The result loop of one statement on a worker: batches in, protocol messages out.

INLINE results stream back as the batches themselves; EXTERNAL_LINKS results (and HYBRID
ones past the inline limit) go to the result store through `fetch.ChunkWriter` and stream
no rows. Each chunk stored while the statement still runs is announced as a `ChunkStored`
message, so the gateway can hand out its link before the statement ends; the last message
is always `ResultEnd`. Messages travel as app-metadata: `ChunkStored` on empty batches,
`ResultEnd` on the last batch of rows (an empty one when there are none), so that a small
inline result is one Flight message, not two (each message is a write on the worker, a read
on the gateway and a trip through Python on both).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, TypeAlias

import pyarrow as pa

from engine.errors import EngineError
from fetch import ChunkWriter
from sqlgate.protocol import (
    EXTERNAL_DEFAULT_BYTE_LIMIT,
    ChunkStored,
    ResultEnd,
    encode_message,
    inline_limit_message,
)
from sqlgate.types import ChunkInfo, ColumnInfo, Disposition, StatementTask

# One item of a Flight GeneratorStream: a batch, or an (empty batch, app-metadata) pair.
StreamItem: TypeAlias = "pa.RecordBatch | tuple[pa.RecordBatch, pa.Buffer]"


class ResultSource(Protocol):
    """What an engine's result stream offers the loop (`engine.ResultStream`)."""

    schema: pa.Schema
    columns: tuple[ColumnInfo, ...]
    truncated: bool
    num_modified_rows: int | None

    def __iter__(self) -> Iterator[pa.RecordBatch]: ...


def produce(
    task: StatementTask, stream: ResultSource, open_writer: Callable[[], ChunkWriter],
) -> Iterator[StreamItem]:
    """Every message of `task`'s result stream, the `ResultEnd` last.

    `open_writer` makes the chunk writer the first time the result turns out external. A
    failure or cancel half-way through a write aborts the writer: the chunks written so far
    belong to no manifest, so nobody else would ever delete them.
    """
    schema = stream.schema
    external = task.disposition is Disposition.EXTERNAL_LINKS
    byte_limit = task.byte_limit
    if byte_limit is None and task.disposition is not Disposition.INLINE:
        byte_limit = EXTERNAL_DEFAULT_BYTE_LIMIT
    pending: list[pa.RecordBatch] = []
    # INLINE: the latest batch is held back one step so that `ResultEnd` can ride on it.
    held: pa.RecordBatch | None = None
    rows = nbytes = 0
    truncated = bool(getattr(stream, "truncated", False))
    writer: ChunkWriter | None = None
    try:
        for batch in stream:
            if byte_limit is not None and nbytes + batch.nbytes > byte_limit:
                batch = cut_to_bytes(batch, byte_limit - nbytes)
                truncated = True
            if batch.num_rows:
                rows += batch.num_rows
                nbytes += batch.nbytes
                if not external and nbytes > task.inline_byte_limit:
                    if task.disposition is Disposition.INLINE:
                        raise EngineError(inline_limit_message(task.inline_byte_limit),
                                          error_code="BAD_REQUEST", http_status=400)
                    external = True  # HYBRID past the limit: everything goes to the store
                if external:
                    if writer is None:
                        writer = open_writer()
                    for waiting in pending:
                        writer.write(waiting)
                    pending.clear()
                    writer.write(batch)
                    yield from progress(schema, writer.finished())
                elif task.disposition is Disposition.INLINE:
                    if held is not None:
                        yield held
                    held = batch
                else:
                    pending.append(batch)  # HYBRID: hold until we know it stays small
            if truncated:
                break
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    truncated = truncated or bool(getattr(stream, "truncated", False))
    chunks: tuple[ChunkInfo, ...] = ()
    if external:
        if writer is None:
            writer = open_writer()
        try:
            chunks = tuple(writer.close())
        except BaseException:
            writer.abort()
            raise
    else:
        if held is not None:
            pending.append(held)
        held = pending.pop() if pending else None
        yield from pending
    end = ResultEnd(
        columns=tuple(getattr(stream, "columns", ())),
        total_row_count=rows,
        total_byte_count=nbytes,
        truncated=truncated,
        external=external,
        chunks=chunks,
        num_modified_rows=getattr(stream, "num_modified_rows", None),
        compression=task.compression if external else None,
        lane=getattr(stream, "lane", None),
    )
    yield (empty(schema) if held is None else held), pa.py_buffer(encode_message(end))


def progress(schema: pa.Schema, stored: list[ChunkInfo]) -> Iterator[StreamItem]:
    """One `ChunkStored` message per chunk stored while the statement still runs.

    The gateway hands out links to these at once, so a client downloads the first chunks
    while DuckDB produces the last (`ResultEnd` lists every chunk again).
    """
    for info in stored:
        yield empty(schema), pa.py_buffer(encode_message(ChunkStored(info)))


def empty(schema: pa.Schema) -> pa.RecordBatch:
    """A batch of no rows, the carrier of a message."""
    return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)


def cut_to_bytes(batch: pa.RecordBatch, budget: int) -> pa.RecordBatch:
    """The longest prefix of `batch` that fits `budget` bytes (estimated per row)."""
    if budget <= 0 or batch.num_rows == 0:
        return batch.slice(0, 0)
    per_row = max(1, batch.nbytes // batch.num_rows)
    return batch.slice(0, min(batch.num_rows, budget // per_row))


__all__ = ["ResultSource", "StreamItem", "cut_to_bytes", "empty", "produce", "progress"]
