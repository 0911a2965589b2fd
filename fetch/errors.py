"""The fetch package's exceptions: the product's one tree (`sqlgate.errors`), fetch's names.

`FetchError` is the product root, `sqlgate.errors.SqlgateError`; the classes below are the
ones result stores, the chunk writer and the download client raise. Library exceptions
(OSError, botocore, http.client) are translated at the boundary with ``raise ... from exc``
so callers only ever catch these.
"""

from __future__ import annotations

from sqlgate.errors import (
    DownloadError,
    InvalidKey,
    LinkRefused,
    ObjectNotFound,
    ResultTooLarge,
    StoreIOError,
    WriterClosed,
)
from sqlgate.errors import SqlgateError as FetchError

__all__ = [
    "DownloadError",
    "FetchError",
    "InvalidKey",
    "LinkRefused",
    "ObjectNotFound",
    "ResultTooLarge",
    "StoreIOError",
    "WriterClosed",
]
