"""A small in-process Backend for gateway tests: DuckDB in a thread, plus scripted statements.

- ``SLEEP <seconds>``: runs that long (for wait_timeout, cancel and shutdown tests);
- ``REJECT``: refused before admission with 429 (queue full);
- anything else: executed by DuckDB; DuckDB errors become FAILED with BAD_REQUEST.
"""

from __future__ import annotations

import asyncio

import duckdb
import pyarrow as pa

from gateway.core.backend import StatementEvents, StatementFailed, StatementResult
from gateway.errors import ResourceExhausted
from sqlgate.types import (
    ColumnInfo,
    CostEstimate,
    ResultFormat,
    ResultManifest,
    StatementError,
    StatementTask,
)

_TYPES = {
    pa.int64(): ("LONG", "BIGINT"),
    pa.int32(): ("INT", "INT"),
    pa.int16(): ("SHORT", "SMALLINT"),
    pa.int8(): ("BYTE", "TINYINT"),
    pa.float64(): ("DOUBLE", "DOUBLE"),
    pa.float32(): ("FLOAT", "FLOAT"),
    pa.bool_(): ("BOOLEAN", "BOOLEAN"),
    pa.string(): ("STRING", "STRING"),
    pa.large_string(): ("STRING", "STRING"),
    pa.date32(): ("DATE", "DATE"),
}


def column_info(i: int, f: pa.Field) -> ColumnInfo:
    if pa.types.is_decimal(f.type):
        t = f.type
        return ColumnInfo(f.name, i, "DECIMAL", f"DECIMAL({t.precision},{t.scale})",
                          type_precision=t.precision, type_scale=t.scale)
    if pa.types.is_timestamp(f.type):
        return ColumnInfo(f.name, i, "TIMESTAMP", "TIMESTAMP")
    name, text = _TYPES.get(f.type, ("STRING", "STRING"))
    return ColumnInfo(f.name, i, name, text)


class FakeBackend:
    """Backend protocol over an in-memory DuckDB; records the tasks it saw."""

    def __init__(self) -> None:
        self.tasks: list[StatementTask] = []
        self.cancelled: list[str] = []

    def _execute(self, task: StatementTask) -> pa.Table:
        con = duckdb.connect()
        try:
            params = {p.name: (None if p.value is None else p.value) for p in task.parameters}
            sql = task.sql
            for p in task.parameters:
                if p.type.upper() in ("INT", "BIGINT", "LONG"):
                    sql = sql.replace(f":{p.name}", f"CAST(${p.name} AS BIGINT)")
                else:
                    sql = sql.replace(f":{p.name}", f"${p.name}")
            return con.sql(sql, params=params or None).to_arrow_table()
        except duckdb.Error as exc:
            raise StatementFailed(StatementError("BAD_REQUEST", str(exc), "42000")) from exc
        finally:
            con.close()

    async def run(self, task: StatementTask, events: StatementEvents) -> StatementResult:
        self.tasks.append(task)
        words = task.sql.split()
        if words[0].upper() == "REJECT":
            raise ResourceExhausted("queue is full", retry_after=1)
        events.queued(CostEstimate(kind="metadata"), "short")
        events.running()
        if words[0].upper() == "SLEEP":
            try:
                await asyncio.sleep(float(words[1]))
            except asyncio.CancelledError:
                self.cancelled.append(task.statement_id)
                raise
            table = pa.table({"slept": [words[1]]})
        else:
            table = await asyncio.to_thread(self._execute, task)
        truncated = False
        if task.row_limit is not None and table.num_rows > task.row_limit:
            table, truncated = table.slice(0, task.row_limit), True
        manifest = ResultManifest(
            format=ResultFormat.JSON_ARRAY,
            columns=tuple(column_info(i, f) for i, f in enumerate(table.schema)),
            total_row_count=table.num_rows,
            total_byte_count=table.nbytes,
            truncated=truncated,
        )
        return StatementResult(manifest, table.schema, table.to_batches())
