"""The engine's exceptions: the product's one tree (`sqlgate.errors`), under the engine's names.

`EngineError` is the product root, `sqlgate.errors.SqlgateError`; the classes below are the
ones the engine raises. Library exceptions (duckdb, deltalake, sqlglot, pyarrow) are
translated where they are caught, with ``raise ... from exc``, so callers only ever see
these.
"""

from __future__ import annotations

from sqlgate.errors import (
    AlreadyExists,
    AnalysisError,
    Cancelled,
    ConcurrentWrite,
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
from sqlgate.errors import SqlgateError as EngineError

__all__ = [
    "AlreadyExists",
    "AnalysisError",
    "Cancelled",
    "ConcurrentWrite",
    "EngineError",
    "InvalidParameter",
    "LakeIOError",
    "ParseError",
    "PermissionDenied",
    "ResourceExhausted",
    "SchemaNotFound",
    "SqlError",
    "TableNotFound",
    "Timeout",
    "Unsupported",
]
