"""System tables the gateway supplies with a statement: ``system.query.history``.

The query history lives in the gateway's state store, which a worker (on this host or
another) cannot and should not reach. So the gateway, which knows the caller's workspace,
attaches that workspace's history rows to the task as one Arrow IPC stream
(`StatementTask.attachments`), and the engine reads it here as a view like the
information_schema ones: a workspace never sees another's rows because it is never sent
them. A statement that names the table without the rows attached (no state store) fails with
an error saying so.

>>> is_system(TableName("system", "query", "history"))
True
"""

from __future__ import annotations

import base64

import pyarrow as pa

from engine.errors import TableNotFound
from engine.location import TableName

HISTORY = "system.query.history"
SYSTEM_TABLES = frozenset({HISTORY})


def is_system(name: TableName) -> bool:
    """Whether a resolved name is one of the system tables."""
    return name.catalog.lower() == "system"


def table(name: TableName, attachments: tuple[tuple[str, str], ...]) -> pa.Table:
    """The attached rows of a system table; TableNotFound when there are none."""
    key = f"{name.catalog}.{name.schema}.{name.table}".lower()
    for attached, data in attachments:
        if attached == key:
            return pa.ipc.open_stream(base64.b64decode(data)).read_all()
    if key in SYSTEM_TABLES:
        raise TableNotFound(f"{key} (this gateway keeps no query history: it runs without a "
                            "state store)")
    raise TableNotFound(key)


def attachment(name: str, data: pa.Table) -> tuple[str, str]:
    """A table to attach to a task: (name, base64 of its Arrow IPC stream, LZ4-compressed)."""
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with pa.ipc.new_stream(sink, data.schema, options=options) as writer:
        writer.write_table(data)
    return name, base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii")


__all__ = ["HISTORY", "SYSTEM_TABLES", "attachment", "is_system", "table"]
