"""A scripted Backend for Thrift front tests (no engine, no pool).

- ``ROWS <n>``: one BIGINT column ``x`` = 0..n-1, a DECIMAL(10,2) ``d`` and a STRING ``s``;
  written as external Arrow chunks of ``chunk_rows`` to a result store when the task is
  HYBRID and n >= ``external_rows``;
- ``FAIL``: fails with a SQL error; ``SLEEP <s>``: runs that long (cancel tests);
- ``REJECT``: refused before admission with 429;
- anything else: one row echoing the SQL text and the bound parameters.
"""

from __future__ import annotations

import asyncio
import decimal
import io

import pyarrow as pa

from gateway.core.backend import StatementEvents, StatementFailed, StatementResult
from gateway.errors import ResourceExhausted
from sqlgate.types import (
    ChunkInfo,
    ColumnInfo,
    CostEstimate,
    Disposition,
    ResultFormat,
    ResultManifest,
    StatementError,
    StatementTask,
)


def rows_table(n: int) -> pa.Table:
    return pa.table({
        "x": pa.array(range(n), pa.int64()),
        "d": pa.array([decimal.Decimal(i) / 4 for i in range(n)], pa.decimal128(10, 2)),
        "s": pa.array([f"r{i}" for i in range(n)], pa.string()),
    })


class ScriptedBackend:
    """Backend protocol over scripted statements; records the tasks it saw."""

    def __init__(self, store: object | None = None, external_rows: int = 1000,
                 chunk_rows: int = 400) -> None:
        self.tasks: list[StatementTask] = []
        self.store = store
        self.external_rows = external_rows
        self.chunk_rows = chunk_rows

    async def run(self, task: StatementTask, events: StatementEvents) -> StatementResult:
        self.tasks.append(task)
        words = task.sql.split()
        head = words[0].upper() if words else ""
        if head == "REJECT":
            raise ResourceExhausted("queue is full", retry_after=1)
        events.queued(CostEstimate(kind="metadata"), "short")
        events.running()
        if head == "SLEEP":
            await asyncio.sleep(float(words[1]))
        if head == "FAIL":
            raise StatementFailed(StatementError("BAD_REQUEST", "no such table: nope", "42P01"))
        if head == "ROWS":
            table = rows_table(int(words[1]))
        else:
            table = pa.table({
                "sql": [task.sql],
                "params": [";".join(f"{p.name}={p.value}:{p.type}" for p in task.parameters)],
            })
        columns = tuple(ColumnInfo(f.name, i, "STRING", "STRING") for i, f in
                        enumerate(table.schema))
        if (task.disposition is Disposition.HYBRID and self.store is not None
                and table.num_rows >= self.external_rows):
            return self._external(task, table, columns)
        manifest = ResultManifest(format=task.format, columns=columns,
                                  total_row_count=table.num_rows, total_byte_count=table.nbytes)
        return StatementResult(manifest, table.schema, table.to_batches(max_chunksize=300))

    def _external(self, task: StatementTask, table: pa.Table,
                  columns: tuple[ColumnInfo, ...]) -> StatementResult:
        chunks = []
        for i, start in enumerate(range(0, table.num_rows, self.chunk_rows)):
            part = table.slice(start, self.chunk_rows)
            sink = io.BytesIO()
            with pa.ipc.new_stream(sink, part.schema) as writer:
                writer.write_table(part)
            key = f"{task.workspace}/20250101/{task.statement_id}-abc/{i}.arrow"
            self.store.put(key, sink.getvalue())  # type: ignore[attr-defined]
            chunks.append(ChunkInfo(i, start, part.num_rows, len(sink.getvalue()), key))
        manifest = ResultManifest(format=ResultFormat.ARROW_STREAM, columns=columns,
                                  chunks=tuple(chunks), total_row_count=table.num_rows,
                                  external=True)
        return StatementResult(manifest, table.schema, [])
