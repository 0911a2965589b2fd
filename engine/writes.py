"""Every commit the engine makes to a Delta table goes through here.

deltalake gives each write Delta's optimistic concurrency: a writer reads version N, and
its commit N+1 fails if a commit that landed in between conflicts with what it read or
removed (appends that touch nothing it read are retried by deltalake itself). Such a
failure becomes `ConcurrentWrite` with Databricks' DELTA_CONCURRENT_* code: nothing was
written and running the statement again is safe. A statement whose work fails before the
commit (a bad row, a cast, a cancelled query) writes nothing visible: files written for a
commit that never happens are not in the log, and VACUUM removes them later.

After a commit the engine forgets its cached snapshot of that table (`Command.invalidate`),
so the next statement of this worker reads the new version without waiting.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable, WriterProperties, write_deltalake
from deltalake.exceptions import (
    CommitFailedError,
    DeltaError,
    DeltaProtocolError,
    SchemaMismatchError,
    TableNotFoundError,
)

from engine.catalog import LakeCatalog, TableName
from engine.errors import AnalysisError, ConcurrentWrite, EngineError, LakeIOError, TableNotFound
from engine.lake import delta_schema

# DuckDB parallelises and skips by row group: its own default size suits it best (lake.py)
ROW_GROUP_ROWS = 122_880

# deltalake's conflict messages -> Databricks' error classes
_CONFLICTS = (
    ("added new data", "DELTA_CONCURRENT_APPEND"),
    ("concurrent append", "DELTA_CONCURRENT_APPEND"),
    ("deleted data this operation read", "DELTA_CONCURRENT_DELETE_READ"),
    ("deleted the same data", "DELTA_CONCURRENT_DELETE_DELETE"),
    ("metadata", "DELTA_METADATA_CHANGED"),
    ("protocol", "DELTA_PROTOCOL_CHANGED"),
    ("transaction", "DELTA_CONCURRENT_TRANSACTION"),
)


def writer_properties() -> WriterProperties:
    """The Parquet settings of every file the engine writes."""
    return WriterProperties(max_row_group_size=ROW_GROUP_ROWS)


def translate(exc: Exception, lake: LakeCatalog, name: TableName) -> EngineError:
    """A deltalake or Arrow failure writing `name` as the engine error the client sees."""
    text = lake.locations.scrub(str(exc))
    if isinstance(exc, CommitFailedError) or "conflict" in text.lower():
        lowered = text.lower()
        code = next((c for key, c in _CONFLICTS if key in lowered), "DELTA_CONCURRENT_WRITE")
        # the first line says what happened; deltalake's "Help:" about isolation levels is
        # advice for its own API, not for a SQL user
        return ConcurrentWrite(
            f"[{code}] Transaction conflict detected: a concurrent update to {name.quoted()} "
            f"conflicts with this statement, which wrote nothing; retry it. "
            f"({text.splitlines()[0]})")
    if isinstance(exc, TableNotFoundError):
        return TableNotFound(str(name))
    if isinstance(exc, (SchemaMismatchError, pa.ArrowInvalid, pa.ArrowTypeError,
                        DeltaProtocolError)):
        return AnalysisError(f"[DELTA_FAILED_TO_MERGE_FIELDS] cannot write {name.quoted()}: "
                             f"{text}", sql_state="22000")
    if "invariant" in text.lower() or "not null" in text.lower() or "null value" in text.lower():
        return AnalysisError(f"[DELTA_NOT_NULL_CONSTRAINT_VIOLATED] {text}", sql_state="23502")
    return LakeIOError(f"cannot write {name.quoted()}: {text}")


# every library failure a write can raise, caught where it is translated
ERRORS: tuple[type[Exception], ...] = (DeltaError, pa.ArrowException, OSError, ValueError)


def open_table(lake: LakeCatalog, name: TableName) -> DeltaTable:
    """The latest version of a table, opened to be written (not from the engine's cache)."""
    if not lake.exists(name):
        raise TableNotFound(str(name))
    try:
        return DeltaTable(lake.uri(name), storage_options=lake.storage_options)
    except ERRORS as exc:
        raise translate(exc, lake, name) from exc


def cast_batches(batches: Iterable[pa.RecordBatch],
                 schema: pa.Schema, counter: list[int]) -> pa.RecordBatchReader:
    """Batches cast to `schema` (by position), counting rows into counter[0]."""

    def cast() -> Iterator[pa.RecordBatch]:
        for batch in batches:
            arrays = [col.cast(f.type) for col, f in zip(batch.columns, schema, strict=True)]
            counter[0] += batch.num_rows
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)

    return pa.RecordBatchReader.from_batches(schema, cast())


def write(lake: LakeCatalog, name: TableName, data: pa.RecordBatchReader | pa.Table,
          mode: str, *, partition_by: Sequence[str] | None = None,
          predicate: str | None = None, schema_mode: str | None = None,
          configuration: Mapping[str, str | None] | None = None,
          description: str | None = None) -> None:
    """One commit of Arrow data: append, overwrite (optionally of the rows matching a
    predicate: REPLACE WHERE), or create ("error": fails if the table exists)."""
    uri = lake.uri(name)
    if not lake.remote:
        os.makedirs(uri, exist_ok=True)
    options: dict[str, Any] = {
        # [] (not None) when replacing: the new definition has no partitions, whatever the
        # table had; None keeps the table's own
        "mode": mode, "partition_by": list(partition_by) if partition_by is not None else None,
        "writer_properties": writer_properties(), "storage_options": lake.storage_options,
        "predicate": predicate, "schema_mode": schema_mode,
        "configuration": dict(configuration) if configuration else None,
        "description": description,
    }
    try:
        write_deltalake(uri, data, **options)
    except ERRORS as exc:
        raise translate(exc, lake, name) from exc


def arrow_schema(schema: pa.Schema) -> pa.Schema:
    """A result schema as Delta stores it."""
    return delta_schema(schema)


__all__ = ["ERRORS", "ROW_GROUP_ROWS", "arrow_schema", "cast_batches", "open_table",
           "translate", "write", "writer_properties"]
