"""DuckDB SQL that reads a Delta snapshot's pruned files with the table's full schema."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from engine.catalog import DataFileEntry, Snapshot
from engine.columns import duck_type


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A DuckDB quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def scan_sql(snapshot: Snapshot, files: Sequence[DataFileEntry], paths: Sequence[str]) -> str:
    """DuckDB SQL reading the given files of a snapshot with its full Delta schema.

    Files are grouped by partition values and by whether their stats vouch for every data
    column. A table whose schema evolved (``schema_mode="merge"``) has old files without
    the newer columns, and selecting a column a file lacks is a DuckDB binder error; those
    files (and files without stats, which cannot vouch) are read by name against a typed
    empty row, so a missing column reads as NULL of its Delta type.
    """
    schema = snapshot.schema
    parts = set(snapshot.partition_columns)
    if not files:
        nulls = ", ".join(f"CAST(NULL AS {duck_type(f.type)}) AS {ident(f.name)}" for f in schema)
        return f"SELECT {nulls} WHERE false"
    data_columns = [f.name for f in schema if f.name not in parts]
    groups: dict[tuple[Any, ...], list[str]] = {}
    for entry, path in zip(files, paths, strict=True):
        key = tuple(entry.partition.get(c) for c in snapshot.partition_columns)
        complete = _vouches(entry, data_columns)
        groups.setdefault((*key, complete), []).append(path)
    selects = []
    for (*part_values, complete), group in groups.items():
        values = dict(zip(snapshot.partition_columns, part_values, strict=True))
        cols = []
        for f in schema:
            if f.name in parts:
                v = values[f.name]
                lit = "NULL" if v is None else _quote(str(v))
                cols.append(f"CAST({lit} AS {duck_type(f.type)}) AS {ident(f.name)}")
            elif complete:
                cols.append(ident(f.name))
            else:
                cols.append(f"CAST({ident(f.name)} AS {duck_type(f.type)}) AS {ident(f.name)}")
        files_sql = "[" + ", ".join(_quote(p) for p in group) + "]"
        source = f"read_parquet({files_sql})" if complete else _by_name(schema, parts, files_sql)
        selects.append(f"SELECT {', '.join(cols)} FROM {source}")
    return " UNION ALL ".join(selects)


def _vouches(entry: DataFileEntry, columns: Sequence[str]) -> bool:
    """Whether the file's stats name every column: a null count, of the column or (struct
    columns are flattened) of one of its fields. The log reports absent stats as None."""
    present = {k for k, v in entry.null_counts.items() if v is not None}
    present |= {k.split(".", 1)[0] for k in present}
    return all(c in present for c in columns)


def _by_name(schema: pa.Schema, parts: set[str], files_sql: str) -> str:
    """The files' columns matched by name, absent ones NULL (DuckDB prunes the empty branch,
    and projections and filters still reach the Parquet reader)."""
    typed = ", ".join(f"CAST(NULL AS {duck_type(f.type)}) AS {ident(f.name)}"
                      for f in schema if f.name not in parts)
    return (f"(SELECT {typed} WHERE false UNION ALL BY NAME "
            f"SELECT * FROM read_parquet({files_sql}, union_by_name = true))")


__all__ = ["ident", "scan_sql"]
