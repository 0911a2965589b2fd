"""CAST of ARRAY/MAP/STRUCT to STRING, as Spark 4.3 (ANSI mode) prints them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Engine
from engine.errors import Unsupported
from fetch.jsonrows import rows_as_strings
from sqlgate.types import StatementTask
from tests.engine.spark.differential import open_engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = open_engine(Path(tmp_path_factory.mktemp("casts")))
    yield eng
    eng.close()


def _row(engine: Engine, sql: str) -> list[str | None]:
    with engine.execute(StatementTask("c", sql)) as rs:
        return rows_as_strings(rs.read_all())[0]


def test_nested_values_print_as_spark_prints_them(engine: Engine) -> None:
    assert _row(engine, "SELECT CAST(array(1, NULL) AS STRING), CAST(array() AS STRING), "
                        "CAST(map('a', NULL) AS STRING), CAST(named_struct('a', NULL, 'b', "
                        "array('x', NULL)) AS STRING), CAST(array(array(1), NULL) AS STRING), "
                        "CAST(array(true, false) AS STRING), CAST(array(DATE'2020-01-01') AS "
                        "STRING), CAST(CAST(NULL AS ARRAY<INT>) AS STRING), CAST(map() AS "
                        "STRING), CAST(array('a b', '') AS STRING)") == [
        "[1, null]", "[]", "{a -> null}", "{null, [x, null]}", "[[1], null]", "[true, false]",
        "[2020-01-01]", None, "{}", "[a b, ]"]


def test_leaves_printed_differently_stay_refused(engine: Engine) -> None:
    with pytest.raises(Unsupported, match="ARRAY<DOUBLE>"):
        _row(engine, "SELECT CAST(array(1.5D) AS STRING)")
