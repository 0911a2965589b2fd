"""``system.query.history`` rows for a statement that reads it, from the state store.

Workers run the SQL (DuckDB) but never reach the state store, and the gateway never runs
SQL. So when a statement may read the system table, the gateway attaches the caller's
workspace's history (newest ``max_rows`` rows) to the task as Arrow, in Databricks' column
names, and `engine.system` serves it as a view. The decision to attach is a cheap look at
the text (does it mention ``history``, and ``system`` or a ``system`` default catalog?); the
engine parses and decides what is read — a false positive only costs the attachment.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt

import pyarrow as pa

from gateway.core.store import HistoryFilter, HistoryRecord, StateStore
from sqlgate.types import StatementTask

# The attachment's name and wire form, as engine.system reads them (the gateway does not
# import the engine: that would pull DuckDB into it).
HISTORY = "system.query.history"

_COMPUTE = pa.struct([("type", pa.string()), ("cluster_id", pa.string()),
                      ("warehouse_id", pa.string())])
_TS = pa.timestamp("us", tz="UTC")

SCHEMA = pa.schema([
    ("account_id", pa.string()), ("workspace_id", pa.string()),
    ("statement_id", pa.string()), ("session_id", pa.string()),
    ("execution_status", pa.string()), ("compute", _COMPUTE),
    ("executed_by_user_id", pa.string()), ("executed_by", pa.string()),
    ("executed_as_user_id", pa.string()), ("executed_as", pa.string()),
    ("statement_text", pa.string()), ("statement_type", pa.string()),
    ("error_message", pa.string()), ("client_application", pa.string()),
    ("total_duration_ms", pa.int64()), ("waiting_at_capacity_duration_ms", pa.int64()),
    ("execution_duration_ms", pa.int64()), ("start_time", _TS), ("end_time", _TS),
    ("update_time", _TS), ("read_files", pa.int64()), ("read_bytes", pa.int64()),
    ("produced_rows", pa.int64()), ("from_result_cache", pa.bool_()),
])


def wants_history(task: StatementTask) -> bool:
    """Whether the statement may read system.query.history (cheap, may say yes wrongly)."""
    text = task.sql.lower()
    return "history" in text and ("system" in text or (task.catalog or "").lower() == "system")


def _ts(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC)


def history_table(records: list[HistoryRecord]) -> pa.Table:
    """History rows as ``system.query.history`` (Databricks' names and types)."""
    rows = []
    for r in records:
        total = None if r.end_time is None else round((r.end_time - r.start_time) * 1000)
        queue = None if r.queue_ms is None else round(r.queue_ms)
        rows.append({
            "account_id": None, "workspace_id": r.workspace, "statement_id": r.statement_id,
            "session_id": None, "execution_status": r.status,
            "compute": {"type": "WAREHOUSE", "cluster_id": None,
                        "warehouse_id": r.warehouse_id},
            "executed_by_user_id": str(r.user_id), "executed_by": r.user_name,
            "executed_as_user_id": str(r.user_id), "executed_as": r.user_name,
            "statement_text": r.statement_text, "statement_type": r.statement_type,
            "error_message": r.error_message, "client_application": r.client_application,
            "total_duration_ms": total, "waiting_at_capacity_duration_ms": queue,
            "execution_duration_ms": None if total is None else max(0, total - (queue or 0)),
            "start_time": _ts(r.start_time), "end_time": _ts(r.end_time),
            "update_time": _ts(r.end_time if r.end_time is not None else r.start_time),
            "read_files": r.read_files, "read_bytes": r.read_bytes,
            "produced_rows": r.rows_produced, "from_result_cache": r.from_cache,
        })
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def attachment(name: str, data: pa.Table) -> tuple[str, str]:
    """(name, base64 of an LZ4-compressed Arrow IPC stream): `StatementTask.attachments`."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, data.schema,
                           options=pa.ipc.IpcWriteOptions(compression="lz4")) as writer:
        writer.write_table(data)
    return name, base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii")


def attach_history(task: StatementTask, store: StateStore, max_rows: int) -> StatementTask:
    """The task with its workspace's history attached (blocking: call in a thread)."""
    records = store.list_history(HistoryFilter(task.workspace, limit=max_rows))
    return dataclasses.replace(
        task, attachments=(*task.attachments, attachment(HISTORY, history_table(records))))


__all__ = ["HISTORY", "SCHEMA", "attach_history", "attachment", "history_table", "wants_history"]
