"""Writing the lake: TPC-H demo tables from ``tpchgen-cli`` and parquet/CSV imports.

>>> from sqlgate.settings import EngineSettings
>>> ensure_demo_lake(EngineSettings(lake="/tmp/demo-lake"), scale_factor=0.01)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
from deltalake import WriterProperties, write_deltalake
from deltalake.exceptions import DeltaError

from engine.catalog import LakeCatalog, TableName
from engine.errors import AlreadyExists, EngineError, InvalidParameter, LakeIOError
from engine.location import part_problem
from sqlgate.settings import EngineSettings

TPCH_TABLES = ("region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem")
# bounds the memory a write holds: batches are streamed to the Delta writer
_BATCH_ROWS = 128 * 1024
_ROW_GROUP_ROWS = 122_880
# tpchgen-cli takes minutes at large scale factors; more than this means it is stuck
_TPCHGEN_TIMEOUT_S = 3600


def parse_name(
    name: str, default_catalog: str = "main", default_schema: str = "default"
) -> TableName:
    """``cat.sch.tbl`` / ``sch.tbl`` / ``tbl`` (backticks allowed) to a TableName."""
    parts = [p.strip().strip("`") for p in name.split(".")]
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise InvalidParameter(f"table name must be catalog.schema.table, got {name!r}")
    if len(parts) == 1:
        parts.insert(0, default_schema)
    if len(parts) == 2:
        parts.insert(0, default_catalog)
    problems = [part_problem(p) for p in parts]
    if any(problems):
        raise InvalidParameter(f"invalid table name {name!r}: {next(p for p in problems if p)}")
    return TableName(*parts)


def delta_schema(schema: pa.Schema) -> pa.Schema:
    """Arrow types Delta can store: view/large strings as plain, no parquet field metadata."""
    return pa.schema([pa.field(f.name, _delta_type(f.type), f.nullable) for f in schema])


def _delta_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_string_view(t) or pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_binary_view(t) or pa.types.is_large_binary(t):
        return pa.binary()
    if pa.types.is_timestamp(t) and t.unit != "us":
        return pa.timestamp("us", tz=t.tz)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return pa.list_(pa.field(t.value_field.name, _delta_type(t.value_type)))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _delta_type(f.type), f.nullable) for f in t])
    if pa.types.is_map(t):
        return pa.map_(_delta_type(t.key_type), _delta_type(t.item_type))
    return t


def _reader(files: Sequence[str | os.PathLike[str]]) -> pa.RecordBatchReader:
    """One batch stream over parquet or CSV files (by extension), cast for Delta."""
    paths = [str(f) for f in files]
    if not paths:
        raise InvalidParameter("no input files")
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise InvalidParameter(f"input file not found: {missing[0]}")
    csv = all(p.lower().endswith((".csv", ".csv.gz", ".tsv")) for p in paths)
    try:
        fmt: pads.FileFormat = (
            pads.CsvFileFormat(parse_options=pacsv.ParseOptions(delimiter="\t"))
            if csv and paths[0].lower().endswith(".tsv")
            else pads.CsvFileFormat() if csv else pads.ParquetFileFormat()
        )
        dataset = pads.dataset(paths, format=fmt)
        target = delta_schema(dataset.schema)
        batches = dataset.to_batches(batch_size=_BATCH_ROWS)
    except (pa.ArrowException, OSError) as exc:
        raise LakeIOError(f"cannot read input files: {exc}") from exc

    def cast() -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield pa.RecordBatch.from_arrays(
                [c.cast(f.type) for c, f in zip(batch.columns, target, strict=True)],
                schema=target,
            )

    return pa.RecordBatchReader.from_batches(target, cast())


def write_table(
    settings: EngineSettings,
    name: TableName,
    data: pa.RecordBatchReader | pa.Table,
    mode: str = "error",
    partition_by: Sequence[str] | None = None,
    *,
    catalog: LakeCatalog | None = None,
) -> None:
    """Write Arrow data as (a new version of) the Delta table `name`.

    ``catalog`` is the caller's, when it has one (the engine, a batch of writes): building
    a catalog opens a file system, which need not happen once per write.
    """
    catalog = catalog or LakeCatalog(settings)
    uri = catalog.uri(name)
    if mode == "error" and catalog.exists(name):
        raise AlreadyExists(f"[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create table `{name}` "
                            "because it already exists.")
    if not catalog.remote:
        os.makedirs(uri, exist_ok=True)
    try:
        # mode is checked by callers; the overloads of write_deltalake want a Literal
        options: dict[str, Any] = {
            "mode": mode,
            # DuckDB parallelises and skips by row group: its own default size suits it best
            "writer_properties": WriterProperties(max_row_group_size=_ROW_GROUP_ROWS),
            "partition_by": list(partition_by) if partition_by else None,
            "storage_options": catalog.storage_options,
        }
        write_deltalake(uri, data, **options)
    except (DeltaError, pa.ArrowException, OSError, ValueError) as exc:
        raise LakeIOError(f"cannot write {name}: {catalog.locations.scrub(str(exc))}") from exc


def import_files(
    settings: EngineSettings,
    table: str,
    files: Sequence[str | os.PathLike[str]],
    mode: str = "error",
    partition_by: Sequence[str] | None = None,
) -> TableName:
    """Write parquet or CSV files into the lake as the Delta table `table` (cat.sch.tbl)."""
    if mode not in ("error", "append", "overwrite"):
        raise InvalidParameter(f"mode must be error, append or overwrite, not {mode!r}")
    name = parse_name(table, settings.default_catalog, settings.default_schema)
    write_table(settings, name, _reader(files), mode=mode, partition_by=partition_by)
    return name


def _tpchgen() -> str:
    exe = Path(sys.executable).with_name("tpchgen-cli")
    found = str(exe) if exe.exists() else shutil.which("tpchgen-cli")
    if not found:
        raise EngineError("tpchgen-cli is not installed (pip install tpchgen-cli)")
    return found


def generate_tpch_parquet(out_dir: str | os.PathLike[str], scale_factor: float) -> Path:
    """Run tpchgen-cli into `out_dir`: one ``<table>.parquet`` per TPC-H table."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if all((out / f"{t}.parquet").exists() for t in TPCH_TABLES):
        return out
    cmd = [_tpchgen(), "parquet", "-s", str(scale_factor), "-o", str(out), "--overwrite"]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=_TPCHGEN_TIMEOUT_S)
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise EngineError(f"tpchgen-cli failed: {exc} {detail.decode(errors='replace')}") from exc
    return out


def write_tpch(
    settings: EngineSettings,
    scale_factor: float = 0.1,
    catalog: str = "main",
    schema: str = "tpch",
    parquet_dir: str | os.PathLike[str] | None = None,
) -> list[TableName]:
    """Generate TPC-H at `scale_factor` and write it as Delta tables `catalog.schema.*`.

    Existing tables are overwritten (a new Delta version). `parquet_dir` keeps the generated
    parquet (the tests use it as the oracle); otherwise a temporary directory is used.
    """
    names = []
    lake = LakeCatalog(settings)
    with tempfile.TemporaryDirectory(prefix="sqlgate-tpch-") as tmp:
        src = generate_tpch_parquet(parquet_dir or tmp, scale_factor)
        for table in TPCH_TABLES:
            name = TableName(catalog, schema, table)
            write_table(settings, name, _reader([src / f"{table}.parquet"]), mode="overwrite",
                        catalog=lake)
            names.append(name)
    return names


def ensure_demo_lake(settings: EngineSettings, scale_factor: float = 0.1) -> bool:
    """Build ``main.tpch.*`` under the lake root unless it is there; True if it was built."""
    cat = LakeCatalog(settings)
    if all(cat.exists(TableName("main", "tpch", t)) for t in TPCH_TABLES):
        return False
    write_tpch(settings, scale_factor, "main", "tpch")
    return True


__all__ = [
    "TPCH_TABLES",
    "delta_schema",
    "ensure_demo_lake",
    "generate_tpch_parquet",
    "import_files",
    "parse_name",
    "write_table",
    "write_tpch",
]
