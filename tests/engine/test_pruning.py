"""Data skipping: files are pruned from the Delta log before any is opened."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from engine import Engine
from engine.io import DataFile
from sqlgate.settings import EngineSettings
from sqlgate.types import StatementTask
from tests.engine.conftest import run

FILES = 10
ROWS = 100


class Spy:
    """Counts the files the engine hands to the I/O layer."""

    def __init__(self, eng: Engine) -> None:
        self.files: list[str] = []
        self._inner = eng.io.scan_paths

    def __call__(self, statement_id: str, files: Sequence[DataFile]) -> list[str]:
        self.files += [f.uri for f in files]
        return self._inner(statement_id, files)


@pytest.fixture(scope="module")
def lake_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Spy]]:
    root = tmp_path_factory.mktemp("prune")
    uri = str(root / "main" / "default" / "events")
    for i in range(FILES):  # one file per append: id ranges [i*ROWS, (i+1)*ROWS)
        ids = list(range(i * ROWS, (i + 1) * ROWS))
        write_deltalake(uri, pa.table({
            "id": pa.array(ids, pa.int64()),
            "name": pa.array([f"n{i:02d}"] * ROWS),
            "day": pa.array([dt.date(2024, 1, 1 + i)] * ROWS),
            "region": pa.array(["eu" if i % 2 else "us"] * ROWS),
        }), mode="append", partition_by=["region"])
    eng = Engine(EngineSettings(lake=str(root), threads=1, cache_dir=str(root / "c")))
    spy = Spy(eng)
    eng.io.scan_paths = spy  # type: ignore[method-assign]
    yield eng, spy
    eng.close()


@pytest.mark.parametrize(
    ("where", "files", "rows"),
    [
        ("id = 250", 1, 1),
        ("id < 100", 1, 100),
        ("id >= 900", 1, 100),
        ("250 > id", 3, 250),
        ("id BETWEEN 150 AND 349", 3, 200),
        ("id IN (5, 905)", 2, 2),
        ("region = 'eu'", 5, 500),
        ("region = 'eu' AND id < 300", 1, 100),
        ("day >= DATE '2024-01-09'", 2, 200),
        ("day = '2024-01-03'", 1, 100),
        ("name = 'n04'", 1, 100),
        ("id = 250 OR id = 950", 10, 2),   # OR is not used for skipping: all files kept
        ("id + 1 = 251", 10, 1),           # nor expressions over the column
        ("id = 5000", 0, 0),
    ],
)
def test_files_skipped(lake_engine: tuple[Engine, Spy], where: str, files: int, rows: int) -> None:
    eng, spy = lake_engine
    spy.files.clear()
    got = run(eng, f"SELECT * FROM events WHERE {where}", schema=None)
    assert got.num_rows == rows
    assert len(spy.files) == files
    est = eng.estimate(StatementTask("e", f"SELECT * FROM events WHERE {where}"))
    assert est.files == files and est.kind == "scan"


def test_empty_scan_keeps_schema(lake_engine: tuple[Engine, Spy]) -> None:
    eng, _ = lake_engine
    got = run(eng, "SELECT * FROM events WHERE id < 0", schema=None)
    assert got.num_rows == 0
    assert got.schema.names == ["id", "name", "day", "region"]
    assert pa.types.is_int64(got.schema.field("id").type)


def test_pruning_in_joins_and_subqueries(lake_engine: tuple[Engine, Spy]) -> None:
    eng, spy = lake_engine
    spy.files.clear()
    got = run(eng, "SELECT a.id, b.id AS bid FROM events a LEFT JOIN events b "
              "ON a.id = b.id + 1 WHERE a.id = 100 AND b.id < 100", schema=None)
    assert got.to_pylist() == [{"id": 100, "bid": 99}]
    assert len(spy.files) == 2  # one file for each side
    spy.files.clear()
    got = run(eng, "SELECT count(*) AS n FROM (SELECT id FROM events WHERE id < 100) t "
              "WHERE id > 50", schema=None)
    assert got.to_pylist() == [{"n": 49}]
    assert len(spy.files) == 1


def test_unqualified_column_of_another_source_is_not_used(lake_engine: tuple[Engine, Spy]) -> None:
    eng, spy = lake_engine
    spy.files.clear()
    got = run(eng, "SELECT count(*) AS n FROM events, (SELECT 1 AS k) s WHERE k = 1 AND id < 0",
              schema=None)
    assert got.to_pylist() == [{"n": 0}]


def test_estimate(lake_engine: tuple[Engine, Spy]) -> None:
    eng, _ = lake_engine
    est = eng.estimate(StatementTask("e", "SELECT * FROM main.default.events"))
    assert est.tables == ("main.default.events",) and est.files == FILES
    assert est.rows == FILES * ROWS and est.bytes > 0
    for sql in ("SELECT 1", "SHOW TABLES", "DESCRIBE events",
                "SELECT * FROM information_schema.tables"):
        assert eng.estimate(StatementTask("e", sql)).kind == "metadata", sql
