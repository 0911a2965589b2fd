"""The engine: Databricks SQL over Delta Lake tables, executed by DuckDB.

    from engine import Engine, EngineError, columns_for
    eng = Engine(settings.engine)
    eng.estimate(task)                 # CostEstimate from the Delta log, nothing executed
    with eng.execute(task) as rs:      # ResultStream of Arrow batches
        for batch in rs: ...
    eng.interrupt(statement_id)        # from another thread
    fingerprint(sql), session_command(sql), parameter_type(text)   # text helpers for the
                                       # gateway (no sqlglot there)
"""

from engine.columns import columns_for
from engine.engine import Engine
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
from engine.result import ResultStream
from engine.sqltext import fingerprint, parameter_type, session_command

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
