"""Every Delta primitive and nested type round-trips, nulls included, in Databricks naming."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from engine import Engine, columns_for
from sqlgate.settings import EngineSettings
from sqlgate.types import StatementTask
from tests.engine.conftest import run

UTC = dt.UTC
FIELDS = [
    ("b", pa.int8(), [1, None], "BYTE", "TINYINT"),
    ("s", pa.int16(), [-2, None], "SHORT", "SMALLINT"),
    ("i", pa.int32(), [3, None], "INT", "INT"),
    ("l", pa.int64(), [2**40, None], "LONG", "BIGINT"),
    ("f", pa.float32(), [1.5, None], "FLOAT", "FLOAT"),
    ("d", pa.float64(), [2.25, None], "DOUBLE", "DOUBLE"),
    ("dec", pa.decimal128(18, 4), [Decimal("12.3456"), None], "DECIMAL", "DECIMAL(18,4)"),
    ("str", pa.string(), ["héllo", None], "STRING", "STRING"),
    ("bin", pa.binary(), [b"\x00\x01", None], "BINARY", "BINARY"),
    ("bool", pa.bool_(), [True, None], "BOOLEAN", "BOOLEAN"),
    ("date", pa.date32(), [dt.date(2024, 2, 29), None], "DATE", "DATE"),
    ("ts", pa.timestamp("us", tz="UTC"), [dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC), None],
     "TIMESTAMP", "TIMESTAMP"),
    ("ntz", pa.timestamp("us"), [dt.datetime(2024, 1, 2, 3, 4, 5), None],
     "TIMESTAMP_NTZ", "TIMESTAMP_NTZ"),
    ("arr", pa.list_(pa.string()), [["a", None], None], "ARRAY", "ARRAY<STRING>"),
    ("m", pa.map_(pa.string(), pa.int64()), [[("k", 1)], None], "MAP", "MAP<STRING, BIGINT>"),
    ("st", pa.struct([("x", pa.int32()), ("y", pa.list_(pa.float64()))]),
     [{"x": 1, "y": [1.0]}, None], "STRUCT", "STRUCT<x: INT, y: ARRAY<DOUBLE>>"),
]


@pytest.fixture(scope="module")
def typed_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    root = tmp_path_factory.mktemp("types")
    table = pa.table({n: pa.array(v, t) for n, t, v, _, _ in FIELDS})
    write_deltalake(str(root / "main" / "default" / "all_types"), table)
    eng = Engine(EngineSettings(lake=str(root), threads=1, cache_dir=str(root / "c")))
    yield eng
    eng.close()


def test_round_trip_values_and_nulls(typed_engine: Engine) -> None:
    got = run(typed_engine, "SELECT * FROM all_types ORDER BY i NULLS LAST", schema=None)
    rows = got.to_pylist()
    for name, _, values, _, _ in FIELDS:
        col = [r[name] for r in rows]
        if name == "m":
            col = [None if v is None else list(v) for v in col]
        if name == "ts":
            col = [None if v is None else v.astimezone(UTC) for v in col]
        assert col == values, name


def test_databricks_type_names(typed_engine: Engine) -> None:
    with typed_engine.execute(StatementTask("t", "SELECT * FROM all_types")) as rs:
        cols = {c.name: c for c in rs.columns}
        list(rs)
    for name, _, _, type_name, type_text in FIELDS:
        assert (cols[name].type_name, cols[name].type_text) == (type_name, type_text), name
    assert (cols["dec"].type_precision, cols["dec"].type_scale) == (18, 4)
    assert [c.position for c in rs.columns] == list(range(len(FIELDS)))


def test_describe_and_information_schema_types(typed_engine: Engine) -> None:
    desc = run(typed_engine, "DESCRIBE TABLE main.default.all_types", schema=None).to_pylist()
    types = {r["col_name"]: r["data_type"] for r in desc}
    assert types["l"] == "bigint" and types["dec"] == "decimal(18,4)"
    assert types["arr"] == "array<string>" and types["ntz"] == "timestamp_ntz"
    info = run(typed_engine, "SELECT column_name, data_type FROM information_schema.columns "
               "WHERE table_name = 'all_types' ORDER BY ordinal_position", schema=None)
    assert [r["data_type"] for r in info.to_pylist()] == [f[3] for f in FIELDS]


def test_string_views_are_plain_strings_downstream(typed_engine: Engine) -> None:
    got = run(typed_engine, "SELECT str, upper(str) AS u FROM all_types", schema=None)
    assert all(not pa.types.is_string_view(f.type) for f in got.schema)


def test_columns_for_unit() -> None:
    schema = pa.schema([("a", pa.string_view()), ("b", pa.decimal128(10, 2)),
                        ("c", pa.timestamp("us", tz="UTC")), ("d", pa.large_list(pa.int16()))])
    cols = columns_for(schema)
    assert [(c.type_name, c.type_text) for c in cols] == [
        ("STRING", "STRING"), ("DECIMAL", "DECIMAL(10,2)"), ("TIMESTAMP", "TIMESTAMP"),
        ("ARRAY", "ARRAY<SMALLINT>")]

