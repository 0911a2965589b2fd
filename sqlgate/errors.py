"""The product's one exception tree: every class carries its Databricks code and HTTP status.

Every error a client can see, raised anywhere (engine, fetch, gateway), is one of these;
the HTTP fronts only render them (`gateway.errors`, `gateway.thrift.status`) and a worker
sends one across as a `StatementError` (`to_statement_error`). Library exceptions (duckdb,
deltalake, sqlglot, botocore, OSError) are translated where they are caught, with
``raise ... from exc``::

    SqlgateError                  500 INTERNAL_ERROR            (root; the packages' own names
    │                                                             EngineError, FetchError and
    │                                                             GatewayError are this class)
    ├── BadRequest                400 BAD_REQUEST               (a malformed request)
    │   └── SqlError              400 BAD_REQUEST          42000 (the statement is wrong)
    │       ├── ParseError        400 BAD_REQUEST          42601 (line and column in the message)
    │       ├── TableNotFound     400 BAD_REQUEST          42P01
    │       ├── SchemaNotFound    400 BAD_REQUEST          42704
    │       ├── AnalysisError     400 BAD_REQUEST          42000 (binder/type errors)
    │       ├── Unsupported       400 BAD_REQUEST          0A000 (refused, never wrong rows)
    │       └── InvalidParameter  400 INVALID_PARAMETER_VALUE 22023 (a field, a parameter)
    │           └── InvalidKey    400 INVALID_PARAMETER_VALUE      (a store key out of bounds)
    ├── Unauthenticated           401 UNAUTHENTICATED
    ├── PermissionDenied          403 PERMISSION_DENIED    42501
    │   └── LinkRefused           403 PERMISSION_DENIED            (tampered or expired link)
    ├── NotFound                  404 NOT_FOUND
    │   ├── EndpointNotFound      404 ENDPOINT_NOT_FOUND           (no such route)
    │   └── ObjectNotFound        404 NOT_FOUND                    (no such object in the store)
    ├── MethodNotAllowed          405 BAD_REQUEST
    ├── AlreadyExists             409 RESOURCE_ALREADY_EXISTS 42P07
    ├── ConcurrentWrite           409 ABORTED              2D521 (DELTA_CONCURRENT_*, retry)
    ├── PayloadTooLarge           413 BAD_REQUEST
    ├── ResultTooLarge            400 RESOURCE_EXHAUSTED   54000 (more chunks than max_chunks)
    ├── ResourceExhausted         429 RESOURCE_EXHAUSTED   53200 (+ Retry-After)
    │   └── TemporarilyUnavailable 503 TEMPORARILY_UNAVAILABLE     (+ Retry-After)
    ├── Cancelled                 499 CANCELLED            57014
    ├── Timeout                   504 DEADLINE_EXCEEDED    57014
    ├── LakeIOError               502 IO_ERROR             58030 (Delta log / files unreadable)
    ├── StoreIOError              500 IO_ERROR                   (the result store failed)
    ├── DownloadError             500 IO_ERROR                   (a chunk could not be downloaded)
    └── WriterClosed              500 INTERNAL_ERROR             (write after close/abort)

429 and 503 make the databricks-sdk retry the same request after ``Retry-After`` seconds,
so the gateway raises them only *before* a statement starts executing.

>>> TableNotFound("main.s.t").to_statement_error().sql_state
'42P01'
>>> InvalidParameter("bad").body()
{'error_code': 'INVALID_PARAMETER_VALUE', 'message': 'bad'}
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlgate.types import StatementError


class SqlgateError(Exception):
    """Root of every sqlgate error: a Databricks ``error_code``, a message, an HTTP status."""

    error_code: str = "INTERNAL_ERROR"
    http_status: int = 500
    sql_state: str | None = None

    def __init__(
        self,
        message: str,
        *,
        error_code: str | None = None,
        sql_state: str | None = None,
        http_status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if error_code is not None:
            self.error_code = error_code
        if sql_state is not None:
            self.sql_state = sql_state
        if http_status is not None:
            self.http_status = http_status
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, str]:
        """The JSON error body, as Databricks renders it."""
        return {"error_code": self.error_code, "message": self.message}

    def to_statement_error(self) -> StatementError:
        """The failure as the contract type a statement reports."""
        return StatementError(self.error_code, self.message, self.sql_state)


class BadRequest(SqlgateError):
    """The request is malformed (e.g. the body is not JSON)."""

    error_code = "BAD_REQUEST"
    http_status = 400


class SqlError(BadRequest):
    """The statement is wrong; Databricks reports these as BAD_REQUEST with a SQLSTATE."""

    sql_state: str | None = "42000"


class ParseError(SqlError):
    """The SQL text does not parse; the message names line and column."""

    sql_state: str | None = "42601"


class TableNotFound(SqlError):
    """A table or view name resolves to nothing in the lake."""

    sql_state: str | None = "42P01"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"[TABLE_OR_VIEW_NOT_FOUND] The table or view `{name}` cannot be found. Verify the "
            "spelling and correctness of the schema and catalog. SQLSTATE: 42P01"
        )
        self.name = name


class SchemaNotFound(SqlError):
    """A catalog or schema does not exist."""

    sql_state: str | None = "42704"


class AnalysisError(SqlError):
    """The statement parses but cannot be bound or run as written (types, columns)."""


class Unsupported(SqlError):
    """A feature the engine refuses rather than risk wrong rows (deletion vectors, ...)."""

    sql_state: str | None = "0A000"


class InvalidParameter(SqlError):
    """A request field or a named parameter is missing, of the wrong type or out of range."""

    error_code = "INVALID_PARAMETER_VALUE"
    sql_state: str | None = "22023"


class InvalidKey(InvalidParameter):
    """A result-store key or prefix that is empty, absolute or climbs out of the store."""

    sql_state: str | None = None


class Unauthenticated(SqlgateError):
    """No or an unknown bearer token."""

    error_code = "UNAUTHENTICATED"
    http_status = 401


class PermissionDenied(SqlgateError):
    """The caller is known but may not do this (the sandbox, a grant, a workspace wall)."""

    error_code = "PERMISSION_DENIED"
    http_status = 403
    sql_state: str | None = "42501"


class LinkRefused(PermissionDenied):
    """A signed link that was tampered with, has expired, or names no object."""

    sql_state: str | None = None


class NotFound(SqlgateError):
    """An unknown (or another workspace's) statement, warehouse or chunk."""

    error_code = "NOT_FOUND"
    http_status = 404


class EndpointNotFound(NotFound):
    """No route matches the method and path."""

    error_code = "ENDPOINT_NOT_FOUND"


class ObjectNotFound(NotFound):
    """The result store holds no object under that key."""


class MethodNotAllowed(SqlgateError):
    """The route exists but not for this HTTP method."""

    error_code = "BAD_REQUEST"
    http_status = 405


class AlreadyExists(SqlgateError):
    """A table to create exists already."""

    error_code = "RESOURCE_ALREADY_EXISTS"
    http_status = 409
    sql_state: str | None = "42P07"


class ConcurrentWrite(SqlgateError):
    """Another writer committed first and its change conflicts with this one (Delta's
    optimistic concurrency): nothing was written, and running the statement again is safe.
    The message starts with Databricks' code (DELTA_CONCURRENT_APPEND, ...)."""

    error_code = "ABORTED"
    http_status = 409
    sql_state: str | None = "2D521"


class PayloadTooLarge(SqlgateError):
    """The request body or the statement text is over its limit."""

    error_code = "BAD_REQUEST"
    http_status = 413


class ResultTooLarge(SqlgateError):
    """The result needs more chunks than `max_chunks` allows."""

    error_code = "RESOURCE_EXHAUSTED"
    http_status = 400
    sql_state: str | None = "54000"


class ResourceExhausted(SqlgateError):
    """Too much work (a full queue, a worker's memory limit); retry after ``retry_after`` s."""

    error_code = "RESOURCE_EXHAUSTED"
    http_status = 429
    sql_state: str | None = "53200"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float = 1.0,
        error_code: str | None = None,
        sql_state: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, error_code=error_code, sql_state=sql_state, headers=headers)
        self.retry_after = retry_after
        self.headers.setdefault("Retry-After", str(max(1, round(retry_after))))


class TemporarilyUnavailable(ResourceExhausted):
    """The warehouse cannot take work right now (starting, stopping, shutting down)."""

    error_code = "TEMPORARILY_UNAVAILABLE"
    http_status = 503
    sql_state: str | None = None


class Cancelled(SqlgateError):
    """The statement was cancelled while it ran."""

    error_code = "CANCELLED"
    http_status = 499
    sql_state: str | None = "57014"


class Timeout(SqlgateError):
    """The statement ran past its time limit."""

    error_code = "DEADLINE_EXCEEDED"
    http_status = 504
    sql_state: str | None = "57014"


class LakeIOError(SqlgateError):
    """A Delta log or data file could not be read or written."""

    error_code = "IO_ERROR"
    http_status = 502
    sql_state: str | None = "58030"


class StoreIOError(SqlgateError):
    """The result store failed (local disk or S3)."""

    error_code = "IO_ERROR"
    http_status = 500


class DownloadError(SqlgateError):
    """A chunk could not be downloaded after its retries."""

    error_code = "IO_ERROR"
    http_status = 500


class WriterClosed(SqlgateError):
    """The chunk writer was already closed or aborted."""

    error_code = "INTERNAL_ERROR"
    http_status = 500


__all__ = [
    "AlreadyExists",
    "AnalysisError",
    "BadRequest",
    "Cancelled",
    "ConcurrentWrite",
    "DownloadError",
    "EndpointNotFound",
    "InvalidKey",
    "InvalidParameter",
    "LakeIOError",
    "LinkRefused",
    "MethodNotAllowed",
    "NotFound",
    "ObjectNotFound",
    "ParseError",
    "PayloadTooLarge",
    "PermissionDenied",
    "ResourceExhausted",
    "ResultTooLarge",
    "SchemaNotFound",
    "SqlError",
    "SqlgateError",
    "StoreIOError",
    "TableNotFound",
    "TemporarilyUnavailable",
    "Timeout",
    "Unauthenticated",
    "Unsupported",
    "WriterClosed",
]
