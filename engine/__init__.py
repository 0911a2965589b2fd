"""The engine: Databricks SQL over Delta Lake tables, executed by DuckDB.

    from engine import Engine, EngineError, columns_for
    eng = Engine(settings.engine)
    eng.estimate(task)                 # CostEstimate from the Delta log, nothing executed
    with eng.execute(task) as rs:      # ResultStream of Arrow batches
        for batch in rs: ...
    eng.interrupt(statement_id)        # from another thread
    fingerprint(sql), session_command(sql), parameter_type(text)   # statement text helpers

Names load on first use (PEP 562): importing one engine module, say `engine.sqltext` for
a USE statement, must not pull duckdb and deltalake into a process that only needs that
module — the gateway's never loads them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The errors and the parameter grammar import nothing heavy (sqlgate.errors, re): eager.
from engine.errors import (
    AlreadyExists,
    AnalysisError,
    Cancelled,
    EngineError,
    InvalidParameter,
    LakeIOError,
    ParseError,
    PermissionDenied,
    ResourceExhausted,
    SchemaNotFound,
    SqlError,
    TableNotFound,
    Timeout,
    Unsupported,
)
from engine.paramtypes import parameter_type

if TYPE_CHECKING:
    from engine.columns import columns_for
    from engine.engine import Engine
    from engine.result import ResultStream
    from engine.sqltext import fingerprint, session_command

# What loads duckdb, deltalake or sqlglot: only on first use.
_HOMES = {
    "Engine": "engine.engine",
    "ResultStream": "engine.result",
    "columns_for": "engine.columns",
    "fingerprint": "engine.sqltext",
    "session_command": "engine.sqltext",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


__all__ = [
    "AlreadyExists",
    "AnalysisError",
    "Cancelled",
    "Engine",
    "EngineError",
    "InvalidParameter",
    "LakeIOError",
    "ParseError",
    "PermissionDenied",
    "ResourceExhausted",
    "ResultStream",
    "SchemaNotFound",
    "SqlError",
    "TableNotFound",
    "Timeout",
    "Unsupported",
    "columns_for",
    "fingerprint",
    "parameter_type",
    "session_command",
]
