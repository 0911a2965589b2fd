"""The fetch package's exception root; every error carries its Databricks code and HTTP status.

::

    FetchError                 500 INTERNAL_ERROR (root)
    ├── InvalidKey             400 INVALID_PARAMETER_VALUE  (a key escaping its store, bad prefix)
    ├── LinkRefused            403 PERMISSION_DENIED        (tampered, expired or unknown link)
    ├── ObjectNotFound         404 NOT_FOUND                (no such object in the store)
    ├── ResultTooLarge         400 RESOURCE_EXHAUSTED       (more chunks than max_chunks)
    ├── StoreIOError           500 IO_ERROR                 (the store failed: disk, S3, network)
    ├── DownloadError          500 IO_ERROR                 (a chunk could not be downloaded)
    └── WriterClosed           500 INTERNAL_ERROR           (write after close/abort)

Library exceptions (OSError, botocore, httpx) are translated at the boundary with
``raise ... from exc`` so callers only ever catch `FetchError`.
"""

from __future__ import annotations


class FetchError(Exception):
    """Root of every fetch error: a Databricks ``error_code``, a message, an HTTP status."""

    error_code: str = "INTERNAL_ERROR"
    http_status: int = 500
    sql_state: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, str]:
        """The JSON error body, as Databricks renders it."""
        return {"error_code": self.error_code, "message": self.message}


class InvalidKey(FetchError):
    """A key or prefix that is empty, absolute or climbs out of the store."""

    error_code = "INVALID_PARAMETER_VALUE"
    http_status = 400


class LinkRefused(FetchError):
    """A signed link that was tampered with, has expired, or names no object."""

    error_code = "PERMISSION_DENIED"
    http_status = 403


class ObjectNotFound(FetchError):
    """The store holds no object under that key."""

    error_code = "NOT_FOUND"
    http_status = 404


class ResultTooLarge(FetchError):
    """The result needs more chunks than `max_chunks` allows."""

    error_code = "RESOURCE_EXHAUSTED"
    http_status = 400
    sql_state = "54000"


class StoreIOError(FetchError):
    """The result store failed (local disk or S3)."""

    error_code = "IO_ERROR"
    http_status = 500


class DownloadError(FetchError):
    """A chunk could not be downloaded after its retries."""

    error_code = "IO_ERROR"
    http_status = 500


class WriterClosed(FetchError):
    """The chunk writer was already closed or aborted."""

    error_code = "INTERNAL_ERROR"
    http_status = 500
