"""The I/O layer between DuckDB and the lake's storage: read-ahead and a block cache on disk.

    from engine.io import LakeIO, DataFile
    io = LakeIO(settings.engine)
    io.register(conn)                      # before the engine locks DuckDB's configuration
    conn.execute(f"SET allowed_directories={io.allowed_directories()!r}")
    paths = io.scan_paths(statement_id, [DataFile(uri, size), ...])
    conn.sql(f"SELECT ... FROM read_parquet({paths!r})")
    io.release(statement_id)               # finished or cancelled

Failures are the engine's: `engine.errors.LakeIOError` (IO_ERROR) once ``io_retries`` are
spent, `engine.errors.Cancelled` for reads of a released statement. DuckDB wraps them in its
own exception; `LakeIO.failure(statement_id)` gives back the original.
"""

from engine.errors import LakeIOError
from engine.io.cache import BlockCache, BlockKey, CacheStats
from engine.io.lakeio import LakeIO
from engine.io.plan import DataFile
from engine.io.prefetch import IOStats
from engine.io.store import LocalStore, ObjectStore, S3Store

__all__ = [
    "BlockCache",
    "BlockKey",
    "CacheStats",
    "DataFile",
    "IOStats",
    "LakeIO",
    "LakeIOError",
    "LocalStore",
    "ObjectStore",
    "S3Store",
]
