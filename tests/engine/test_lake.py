"""Writing the lake: `sqlgate lake import` of parquet/CSV and `sqlgate lake demo`."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from engine import AlreadyExists, Engine, InvalidParameter
from engine.lake import import_files, parse_name
from sqlgate.cli import main as cli_main
from sqlgate.settings import EngineSettings
from tests.engine.conftest import run


def test_import_parquet_and_csv(tmp_path: Path) -> None:
    settings = EngineSettings(lake=str(tmp_path / "lake"), threads=1,
                              cache_dir=str(tmp_path / "c"))
    pq.write_table(pa.table({"id": [1, 2, 3], "g": ["a", "b", "a"]}), tmp_path / "x.parquet")
    pacsv.write_csv(pa.table({"id": [4, 5], "g": ["b", "c"]}), tmp_path / "y.csv")
    import_files(settings, "main.raw.things", [tmp_path / "x.parquet"], partition_by=["g"])
    import_files(settings, "main.raw.things", [str(tmp_path / "y.csv")], mode="append")
    with pytest.raises(AlreadyExists):
        import_files(settings, "main.raw.things", [tmp_path / "x.parquet"])
    with pytest.raises(InvalidParameter):
        import_files(settings, "main.raw.other", [tmp_path / "missing.csv"])
    eng = Engine(settings)
    try:
        got = run(eng, "SELECT g, count(*) AS n FROM main.raw.things GROUP BY g ORDER BY g")
        assert got.to_pylist() == [{"g": "a", "n": 2}, {"g": "b", "n": 2}, {"g": "c", "n": 1}]
    finally:
        eng.close()


def test_cli_lake_commands(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    assert cli_main(["lake", "demo", "--lake", str(lake), "--sf", "0.001"]) == 0
    assert (lake / "main" / "tpch" / "lineitem" / "_delta_log").is_dir()
    pq.write_table(pa.table({"a": [1]}), tmp_path / "a.parquet")
    assert cli_main(["lake", "import", "--lake", str(lake), "main.x.a",
                     str(tmp_path / "a.parquet")]) == 0
    assert (lake / "main" / "x" / "a" / "_delta_log").is_dir()


def test_parse_name() -> None:
    assert str(parse_name("`c`.s.t")) == "c.s.t"
    assert str(parse_name("t", "main", "default")) == "main.default.t"
    assert str(parse_name("s.t", "main", "default")) == "main.s.t"
    with pytest.raises(InvalidParameter):
        parse_name("a.b.c.d")
    with pytest.raises(InvalidParameter):
        parse_name("main.x./etc")
