"""Delta tables whose schema evolved: files written before a column was added read it as NULL."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

from engine import Engine
from engine.catalog import DataFileEntry
from sqlgate.settings import EngineSettings
from tests.engine.conftest import run


def _evolved_table(root: Path, partitioned: bool = False) -> None:
    uri = str(root / "main" / "s" / "t")
    part = ["p"] if partitioned else None
    write_deltalake(uri, pa.table({"id": pa.array([1, 2], pa.int64()), "p": ["a", "b"]}),
                    partition_by=part)
    # The added column only exists in the files of this second version.
    write_deltalake(uri, pa.table({"id": pa.array([3], pa.int64()), "p": ["a"],
                                   "score": pa.array([2.5], pa.float64())}),
                    mode="append", schema_mode="merge", partition_by=part)


def test_added_column_reads_null_in_old_files(
    scratch_engine: tuple[Engine, EngineSettings],
) -> None:
    eng, settings = scratch_engine
    _evolved_table(Path(settings.lake))
    rows = run(eng, "SELECT id, p, score FROM main.s.t ORDER BY id", schema=None)
    assert rows.to_pylist() == [
        {"id": 1, "p": "a", "score": None},
        {"id": 2, "p": "b", "score": None},
        {"id": 3, "p": "a", "score": 2.5},
    ]
    assert rows.schema.field("score").type == pa.float64()
    # Only old files survive this filter: the column is absent from every file scanned.
    only_old = run(eng, "SELECT id, score FROM main.s.t WHERE id < 3 ORDER BY id", schema=None)
    assert only_old.to_pylist() == [{"id": 1, "score": None}, {"id": 2, "score": None}]
    counted = run(eng, "SELECT count(score) AS n, count(*) AS m FROM main.s.t", schema=None)
    assert counted.to_pylist() == [{"n": 1, "m": 3}]


def test_added_column_in_a_partitioned_table(
    scratch_engine: tuple[Engine, EngineSettings],
) -> None:
    eng, settings = scratch_engine
    _evolved_table(Path(settings.lake), partitioned=True)
    rows = run(eng, "SELECT * FROM main.s.t WHERE p = 'a' ORDER BY id", schema=None)
    assert [(r["id"], r["p"], r["score"]) for r in rows.to_pylist()] == [
        (1, "a", None), (3, "a", 2.5)]


def test_files_whose_stats_cover_the_schema_keep_the_plain_scan() -> None:
    from engine.catalog import Snapshot, TableName
    from engine.translate import scan_sql

    schema = pa.schema([("id", pa.int64()), ("score", pa.float64())])
    full = DataFileEntry("f1", 1, 1, {}, {}, {}, {"id": 0, "score": 0})
    old = DataFileEntry("f0", 1, 1, {}, {}, {}, {"id": 0, "score": None})
    snap = Snapshot(TableName("main", "s", "t"), "u", 1, schema, (), (full, old))
    plain = scan_sql(snap, [full], ["/x/f1"])
    assert "union_by_name" not in plain and "read_parquet(['/x/f1'])" in plain
    mixed = scan_sql(snap, [full, old], ["/x/f1", "/x/f0"])
    assert "read_parquet(['/x/f1'])" in mixed
    assert "read_parquet(['/x/f0'], union_by_name = true)" in mixed


def test_tpch_tables_keep_the_plain_scan(engine_settings: EngineSettings) -> None:
    from engine.catalog import LakeCatalog, TableName
    from engine.translate import scan_sql

    snap = LakeCatalog(engine_settings).snapshot(TableName("main", "tpch", "lineitem"))
    sql = scan_sql(snap, snap.files, [f.uri for f in snap.files])
    assert "union_by_name" not in sql
