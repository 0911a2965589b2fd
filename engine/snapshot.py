"""One version of one Delta table as the engine reads it: schema, partitions, live files.

`build_snapshot` reads a deltalake `DeltaTable` into a `Snapshot`, resolving each data file
through `engine.location.Locations` (a log that points outside the lake is refused) and
refusing tables whose rows this reader would get wrong (column mapping, deletion vectors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from engine.errors import LakeIOError, Unsupported
from engine.location import Locations, TableName


@dataclass(frozen=True)
class DataFileEntry:
    """One live data file of a snapshot, with what pruning needs from its add action."""

    uri: str
    size: int
    num_records: int | None
    partition: dict[str, Any]
    mins: dict[str, Any]
    maxs: dict[str, Any]
    null_counts: dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    """One version of one Delta table: schema, partition columns and live files."""

    name: TableName
    uri: str
    version: int
    schema: pa.Schema
    partition_columns: tuple[str, ...]
    files: tuple[DataFileEntry, ...] = field(repr=False)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def _check_features(name: TableName, dt: DeltaTable, actions: pa.Table) -> None:
    """Refuse tables whose rows this reader would get wrong."""
    mode = dt.metadata().configuration.get("delta.columnMapping.mode") or "none"
    if mode != "none":
        raise Unsupported(
            f"[DELTA_UNSUPPORTED_FEATURE] table {name} uses column mapping (mode '{mode}'), "
            "which this engine does not read"
        )
    features = set(dt.protocol().reader_features or ())
    if "deletionVectors" in features and len(actions) and _deletion_vectors_in_use(dt):
        raise Unsupported(
            f"[DELTA_UNSUPPORTED_FEATURE] table {name} has deletion vectors, which this "
            "engine does not apply; run OPTIMIZE/PURGE to rewrite the files first"
        )


def _deletion_vectors_in_use(dt: DeltaTable) -> bool:
    """True when a live file of the snapshot carries a deletion vector, or we cannot tell.

    The feature is on by default for new Databricks tables, long before any row is deleted,
    so the protocol alone would refuse tables we read correctly. deltalake's add actions do
    not show the descriptor; `deletion_vectors()` lists only the files that have one.
    """
    try:
        reader = pa.RecordBatchReader.from_stream(dt.deletion_vectors())
        return any(batch.num_rows for batch in reader)
    except (DeltaError, OSError, ValueError, pa.ArrowException):
        return True  # an unreadable vector is still a vector: refuse rather than guess


def build_snapshot(name: TableName, uri: str, dt: DeltaTable,
                   locations: Locations | None = None) -> Snapshot:
    """Read a DeltaTable's schema and add actions into a Snapshot.

    Data files resolve through `locations` (the table's lake by default), which refuses
    a log that points outside the lake.
    """
    locations = locations or Locations(uri)
    try:
        actions = pa.table(dt.get_add_actions(flatten=True))
        schema = pa.schema(dt.schema().to_arrow())
        partition_columns = tuple(dt.metadata().partition_columns)
        version = dt.version()
    except (DeltaError, OSError, ValueError) as exc:
        raise LakeIOError(f"cannot read the Delta log of {name}: "
                          f"{locations.scrub(str(exc))}") from exc
    _check_features(name, dt, actions)
    files = []
    for row in actions.to_pylist():
        path = unquote(row["path"])
        file_uri = locations.data_file(name, uri, path)
        mins, maxs, nulls, part = {}, {}, {}, {}
        for key, value in row.items():
            prefix, _, col = key.partition(".")
            if prefix == "min":
                mins[col] = value
            elif prefix == "max":
                maxs[col] = value
            elif prefix == "null_count":
                nulls[col] = value
            elif prefix == "partition":
                part[col] = value
        files.append(
            DataFileEntry(
                uri=file_uri,
                size=int(row["size_bytes"]),
                num_records=row.get("num_records"),
                partition=part,
                mins=mins,
                maxs=maxs,
                null_counts=nulls,
            )
        )
    # Delta's schema marks columns nullable as declared; the data files may say otherwise,
    # so keep the log's schema as the single truth for result types.
    return Snapshot(name, uri, version, schema, partition_columns, tuple(files))


__all__ = ["DataFileEntry", "Snapshot", "build_snapshot"]
