"""Rules whose effect the value comparison of test_functions.py cannot see: result column
names, the sandbox's table functions, the rendering of intervals in both fronts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from engine import Engine
from engine.errors import EngineError, PermissionDenied
from fetch.jsonrows import rows_as_strings
from sqlgate.types import StatementTask
from tests.engine.spark.differential import open_engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = open_engine(Path(tmp_path_factory.mktemp("rules")))
    yield eng
    eng.close()


def _run(engine: Engine, sql: str) -> tuple[list[str], pa.Table]:
    with engine.execute(StatementTask("r", sql)) as rs:
        table = rs.read_all()
        return [c.name for c in rs.columns], table


def test_rewritten_columns_keep_the_name_written(engine: Engine) -> None:
    names, table = _run(engine, "SELECT mask('aB1'), 7 / 2, upper('x') AS u")
    assert names == ["mask('aB1')", "7 / 2", "u"]
    assert rows_as_strings(table) == [["xXn", "3.5", "X"]]


def test_generators_in_from_are_allowed_and_file_readers_are_not(engine: Engine) -> None:
    names, table = _run(engine, "SELECT * FROM range(2)")
    assert names == ["id"] and table.column(0).to_pylist() == [0, 1]
    names, _ = _run(engine, "SELECT * FROM posexplode(array('a'))")
    assert names == ["pos", "col"]
    with pytest.raises(PermissionDenied):
        _run(engine, "SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(PermissionDenied):
        _run(engine, "SELECT * FROM generate_series(1, 3)")


def test_intervals_render_as_spark_prints_them(engine: Engine) -> None:
    from gateway.thrift.rowsets import column_rowset

    _, table = _run(engine, "SELECT INTERVAL '1-2' YEAR TO MONTH AS ym, "
                            "INTERVAL '3 04:05:06.5' DAY TO SECOND AS dt")
    assert rows_as_strings(table) == [["1-2", "3 04:05:06.500000000"]]
    rowset = column_rowset(table, start=0)
    assert rowset.columns[0].stringVal.values == ["1-2"]
    assert rowset.columns[1].stringVal.values == ["3 04:05:06.500000000"]


def test_ansi_errors_name_their_class(engine: Engine) -> None:
    for sql, error_class in (("SELECT 1 / 0", "DIVIDE_BY_ZERO"),
                             ("SELECT element_at(array(1), 5)",
                              "INVALID_ARRAY_INDEX_IN_ELEMENT_AT"),
                             ("SELECT make_date(2023, 2, 29)", "DATETIME_FIELD_OUT_OF_BOUNDS")):
        with pytest.raises(EngineError, match=error_class):
            _run(engine, sql)
