"""CREATE TABLE ... AS SELECT and INSERT INTO ... through the Delta writer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

from engine.catalog import LakeCatalog
from engine.errors import AlreadyExists, AnalysisError
from engine.lake import delta_schema, write_table
from engine.translate import Analysis
from sqlgate.settings import EngineSettings

if TYPE_CHECKING:
    from engine.result import ResultStream


def write_result(settings: EngineSettings, catalog: LakeCatalog, analysis: Analysis,
                 source: ResultStream) -> int:
    """Stream a query's batches into the target table; returns the rows written."""
    target = analysis.target
    assert target is not None
    if analysis.kind == "ctas":
        if catalog.exists(target) and not analysis.overwrite:
            raise AlreadyExists(f"[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create table "
                                f"`{target}` because it already exists.")
        schema = delta_schema(source.schema)
        mode = "overwrite" if analysis.overwrite else "error"
    else:
        schema = catalog.snapshot(target).schema
        if len(schema) != len(source.schema):
            raise AnalysisError(
                f"[INSERT_COLUMN_ARITY_MISMATCH] Cannot write to `{target}`: the table has "
                f"{len(schema)} columns, the data has {len(source.schema)}.", sql_state="21S01")
        mode = "overwrite" if analysis.overwrite else "append"
    written = [0]

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in source:
            arrays = [col.cast(f.type) for col, f in zip(batch.columns, schema, strict=True)]
            written[0] += batch.num_rows
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)

    reader = pa.RecordBatchReader.from_batches(schema, batches())
    write_table(settings, target, reader, mode="append" if mode == "error" else mode,
                catalog=catalog)
    return written[0]


__all__ = ["write_result"]
