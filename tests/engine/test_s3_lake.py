"""A lake on an S3-compatible store (moto): write, list, query, prune, with explicit options."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from engine import Engine
from engine.lake import import_files
from sqlgate.types import StatementTask
from tests.engine.conftest import run
from tests.fixtures.s3 import s3_engine_settings


def test_s3_lake_round_trip(s3_bucket: dict[str, str], tmp_path: Path) -> None:
    settings = s3_engine_settings(s3_bucket, threads=1, cache_dir=str(tmp_path / "cache"))
    pq.write_table(pa.table({"id": list(range(100)), "g": ["a", "b"] * 50}), tmp_path / "x.parquet")
    import_files(settings, "main.raw.things", [tmp_path / "x.parquet"], partition_by=["g"])
    eng = Engine(settings)
    try:
        assert run(eng, "SHOW CATALOGS").to_pylist() == [{"catalog": "main"}]
        assert run(eng, "SHOW TABLES IN main.raw").column("tableName").to_pylist() == ["things"]
        got = run(eng, "SELECT g, count(*) AS n, sum(id) AS s FROM main.raw.things "
                  "WHERE g = 'b' GROUP BY g")
        assert got.to_pylist() == [{"g": "b", "n": 50, "s": sum(range(1, 100, 2))}]
        est = eng.estimate(StatementTask("e", "SELECT * FROM main.raw.things WHERE g = 'b'"))
        assert est.files == 1 and est.tables == ("main.raw.things",)
    finally:
        eng.close()
