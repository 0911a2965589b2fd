"""fetch: result chunks, result stores and their links, and a parallel download client.

The curated public surface; everything else is private to the package::

    from fetch import open_store, result_prefix, ChunkWriter, download_arrow
    store = open_store(settings.fetch)                        # LocalStore or S3Store
    with ChunkWriter.from_settings(store, settings.fetch, result_prefix(ws, sid),
                                   ResultFormat.ARROW_STREAM, schema) as writer:
        for batch in batches:
            writer.write(batch)
        chunks = writer.close()                               # tuple[ChunkInfo, ...]
    link = store.link(chunks[0].key)                          # Link(url, expiration, headers)
    table = download_arrow([store.link(c.key) for c in chunks])

`rows_as_strings(batch)` renders values exactly as JSON_ARRAY does (the REST gateway reuses it
for INLINE results). `S3Store` is imported lazily so importing `fetch` never imports boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fetch.client import download_arrow, download_chunks
from fetch.errors import (
    DownloadError,
    FetchError,
    InvalidKey,
    LinkRefused,
    ObjectNotFound,
    ResultTooLarge,
    StoreIOError,
    WriterClosed,
)
from fetch.jsonrows import rows_as_strings
from fetch.local import LocalStore
from fetch.serialize import LZ4_FRAME, chunk_extension, decompress_chunk, serialize_chunk
from fetch.store import Link, ResultStore, result_prefix
from fetch.stores import open_store
from fetch.writer import ChunkWriter

if TYPE_CHECKING:
    from fetch.s3 import S3Store

__all__ = [
    "LZ4_FRAME",
    "ChunkWriter",
    "DownloadError",
    "FetchError",
    "InvalidKey",
    "Link",
    "LinkRefused",
    "LocalStore",
    "ObjectNotFound",
    "ResultStore",
    "ResultTooLarge",
    "S3Store",
    "StoreIOError",
    "WriterClosed",
    "chunk_extension",
    "decompress_chunk",
    "download_arrow",
    "download_chunks",
    "open_store",
    "result_prefix",
    "rows_as_strings",
    "serialize_chunk",
]


def __getattr__(name: str) -> Any:
    if name == "S3Store":
        from fetch.s3 import S3Store

        return S3Store
    raise AttributeError(f"module 'fetch' has no attribute {name!r}")
