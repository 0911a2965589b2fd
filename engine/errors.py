"""The engine's exceptions: one root, every class carrying its Databricks error code.

    EngineError                      INTERNAL_ERROR      500
    ├── SqlError                     BAD_REQUEST         400  (sql_state set per class)
    │   ├── ParseError               BAD_REQUEST         400  42601  line and column in the message
    │   ├── TableNotFound            BAD_REQUEST         400  42P01
    │   ├── SchemaNotFound           BAD_REQUEST         400  42704
    │   ├── AnalysisError            BAD_REQUEST         400  42000  (binder/type errors)
    │   ├── InvalidParameter         INVALID_PARAMETER_VALUE 400 22023
    │   └── Unsupported              BAD_REQUEST         400  0A000  (feature not supported)
    ├── PermissionDenied             PERMISSION_DENIED   403  42501  (the sandbox)
    ├── AlreadyExists                RESOURCE_ALREADY_EXISTS 409 42P07
    ├── Cancelled                    CANCELLED           499  57014
    ├── Timeout                      DEADLINE_EXCEEDED   504  57014
    ├── ResourceExhausted            RESOURCE_EXHAUSTED  429  53200  (memory limit)
    ├── ConcurrentWrite              ABORTED             409  2D521  (DELTA_CONCURRENT_*, retry)
    └── LakeIOError                  IO_ERROR            502  58030  (Delta log / files unreadable)

Library exceptions (duckdb, deltalake, sqlglot, pyarrow) are translated where they are
caught, with ``raise ... from exc``, so callers only ever see these.
"""

from __future__ import annotations

from sqlgate.types import StatementError


class EngineError(Exception):
    """Root of every engine failure."""

    error_code = "INTERNAL_ERROR"
    http_status = 500
    sql_state: str | None = None

    def __init__(
        self,
        message: str,
        *,
        error_code: str | None = None,
        sql_state: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if error_code is not None:
            self.error_code = error_code
        if sql_state is not None:
            self.sql_state = sql_state
        if http_status is not None:
            self.http_status = http_status

    def to_statement_error(self) -> StatementError:
        """The failure as the contract type the gateway renders."""
        return StatementError(self.error_code, self.message, self.sql_state)


class SqlError(EngineError):
    """The statement is wrong; Databricks reports these as BAD_REQUEST with a SQLSTATE."""

    error_code = "BAD_REQUEST"
    http_status = 400
    sql_state = "42000"


class ParseError(SqlError):
    """The SQL text does not parse; the message names line and column."""

    sql_state = "42601"


class TableNotFound(SqlError):
    """A table or view name resolves to nothing in the lake."""

    sql_state = "42P01"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"[TABLE_OR_VIEW_NOT_FOUND] The table or view `{name}` cannot be found. Verify the "
            "spelling and correctness of the schema and catalog. SQLSTATE: 42P01"
        )
        self.name = name


class SchemaNotFound(SqlError):
    """A catalog or schema does not exist."""

    sql_state = "42704"


class AnalysisError(SqlError):
    """The statement parses but cannot be bound or run as written (types, columns)."""


class InvalidParameter(SqlError):
    """A named parameter is missing, unused or its value does not cast to its type."""

    error_code = "INVALID_PARAMETER_VALUE"
    sql_state = "22023"


class Unsupported(SqlError):
    """A feature the engine refuses rather than risk wrong rows (deletion vectors, ...)."""

    sql_state = "0A000"


class PermissionDenied(EngineError):
    """The sandbox refused the statement: only catalog tables may be read."""

    error_code = "PERMISSION_DENIED"
    http_status = 403
    sql_state = "42501"


class AlreadyExists(EngineError):
    """A table to create exists already."""

    error_code = "RESOURCE_ALREADY_EXISTS"
    http_status = 409
    sql_state = "42P07"


class Cancelled(EngineError):
    """The statement was cancelled while it ran."""

    error_code = "CANCELLED"
    http_status = 499
    sql_state = "57014"


class Timeout(EngineError):
    """The statement ran past its time limit."""

    error_code = "DEADLINE_EXCEEDED"
    http_status = 504
    sql_state = "57014"


class ResourceExhausted(EngineError):
    """The statement needed more memory than the worker may use."""

    error_code = "RESOURCE_EXHAUSTED"
    http_status = 429
    sql_state = "53200"


class ConcurrentWrite(EngineError):
    """Another writer committed first and its change conflicts with this one (Delta's
    optimistic concurrency): nothing was written, and running the statement again is safe.
    The message starts with Databricks' code (DELTA_CONCURRENT_APPEND, ...)."""

    error_code = "ABORTED"
    http_status = 409
    sql_state = "2D521"


class LakeIOError(EngineError):
    """A Delta log or data file could not be read or written."""

    error_code = "IO_ERROR"
    http_status = 502
    sql_state = "58030"


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
