"""json_tuple and schema_of_json, value by value as Spark 4.3 answers them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Engine
from engine.errors import EngineError
from fetch.jsonrows import rows_as_strings
from sqlgate.types import StatementTask
from tests.engine.spark.differential import open_engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = open_engine(Path(tmp_path_factory.mktemp("jsons")))
    yield eng
    eng.close()


def _run(engine: Engine, sql: str) -> tuple[list[str], list[list[str | None]]]:
    with engine.execute(StatementTask("j", sql)) as rs:
        table = rs.read_all()
        return [c.name for c in rs.columns], rows_as_strings(table)


def test_json_tuple_values_as_jackson_writes_them(engine: Engine) -> None:
    doc = ('{"a":1.50, "b":{"x": 1, "y" : [1, 2]}, "c":"s\\u00e9", "d":null, "e":true, '
           '"f":[1, 2], "g": 1e3, "h": -0}')
    names, rows = _run(engine, f"SELECT json_tuple('{doc}', 'a','b','c','d','e','f','g','h','zz')")
    assert names == [f"c{i}" for i in range(9)]
    assert rows == [["1.5", '{"x":1,"y":[1,2]}', "sé", None, "true", "[1,2]", "1000.0", "0",
                     None]]


def test_json_tuple_columns_and_names(engine: Engine) -> None:
    names, rows = _run(engine, "SELECT x, json_tuple(j, 'a') FROM VALUES (1, '{\"a\":\"q\"}') "
                               "AS t(x, j)")
    assert names == ["x", "c0"] and rows == [["1", "q"]]
    names, rows = _run(engine, "SELECT json_tuple('{\"a\":1, \"a\":2}', 'a') AS (k), "
                               "json_tuple('[1]', 'a'), json_tuple('not json', 'a') AS (m)")
    assert names == ["k", "c0", "m"] and rows == [["2", None, None]]


def test_json_tuple_refusals(engine: Engine) -> None:
    with pytest.raises(EngineError, match="scientific notation"):
        _run(engine, "SELECT json_tuple('{\"b\":1.0E23}', 'b')")  # Java 17: 9.999999999999999E22
    with pytest.raises(EngineError, match="SELECT list only"):
        _run(engine, "SELECT upper(json_tuple('{}', 'a'))")


def test_schema_of_json(engine: Engine) -> None:
    _, rows = _run(engine, "SELECT schema_of_json('1'), schema_of_json('null'), "
                           "schema_of_json('{}'), schema_of_json('[]'), schema_of_json('[null]'), "
                           "schema_of_json('[[1],[2.0]]'), schema_of_json('[1, {\"a\":1}]')")
    assert rows == [["BIGINT", "STRING", "STRUCT<>", "ARRAY<STRING>", "ARRAY<STRING>",
                     "ARRAY<ARRAY<DOUBLE>>", "ARRAY<STRING>"]]
    doc = ('{"b":1, "a":[1, 2.5], "c":{"z":null}, "d":[], "e":[{"x":1},{"y":"s"}], '
           '"f":[1,"a"], "g":12345678901234567890, "h":1e400}')
    _, rows = _run(engine, f"SELECT schema_of_json('{doc}'), "
                           "schema_of_json('{\"a b\":1, \"`x\":2}')")
    assert rows == [["STRUCT<a: ARRAY<DOUBLE>, b: BIGINT, c: STRUCT<z: STRING>, d: ARRAY<STRING>, "
                     "e: ARRAY<STRUCT<x: BIGINT, y: STRING>>, f: ARRAY<STRING>, g: DECIMAL(20,0), "
                     "h: DOUBLE>", "STRUCT<```x`: BIGINT, `a b`: BIGINT>"]]
