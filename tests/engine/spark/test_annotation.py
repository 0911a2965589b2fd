"""Column types for the typed rules (engine.spark.annotation, .precision, .decimals): what
the Spark comparison of tables.jsonl cannot see — views, the cost of statements that read
no table, the template cache across a schema change, result types, the fallbacks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

from engine import Engine
from engine.catalog import TableName
from engine.errors import EngineError, Unsupported
from engine.spark import annotation, precision
from fetch.jsonrows import rows_as_strings
from sqlgate.types import StatementTask
from tests.engine.spark.differential import open_engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = open_engine(Path(tmp_path_factory.mktemp("annotation")))
    yield eng
    eng.close()


def _run(engine: Engine, sql: str) -> tuple[list[str], list[list[str | None]]]:
    with engine.execute(StatementTask("a", sql)) as rs:
        return [c.type_text for c in rs.columns], rows_as_strings(rs.read_all())


def _typed(sql: str, **schemas: pa.Schema) -> exp.Expr:
    tree = sqlglot.parse_one(sql, read="databricks")
    tables = {id(t): schemas[t.name] for t in tree.find_all(exp.Table) if t.name in schemas}
    return annotation.annotate(tree, tables)


def test_columns_are_typed_through_ctes_subqueries_and_joins() -> None:
    schema = pa.schema([("d", pa.float64()), ("n", pa.decimal128(10, 2))])
    tree = _typed("WITH c AS (SELECT d AS x, n FROM t) SELECT q.x, c.n FROM "
                  "(SELECT x FROM c) q JOIN c ON true", t=schema)
    types = [annotation.spark_type(s) for s in tree.selects]
    assert [t.sql("databricks") if t else None for t in types] == ["DOUBLE", "DECIMAL(10, 2)"]


def test_statements_without_tables_skip_the_qualification(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """SELECT 1 pays nothing for column types: no schema, no qualify."""
    def fail(*args: object) -> None:
        raise AssertionError("qualified a statement that reads no table")

    monkeypatch.setattr(annotation, "_with_columns", fail)
    tree = annotation.annotate(sqlglot.parse_one("SELECT CAST(1.5 AS INT)", read="databricks"))
    assert annotation.spark_type(tree.selects[0].this).sql("databricks") == "DECIMAL(2, 1)"
    annotation.annotate(sqlglot.parse_one("SELECT 1", read="databricks"), {})


def test_lateral_view_columns_stay_untyped() -> None:
    """sqlglot types ``LATERAL VIEW explode(a) e AS x`` as the array: no column types then."""
    schema = pa.schema([("a", pa.list_(pa.float64()))])
    tree = _typed("SELECT CAST(x AS INT) FROM t LATERAL VIEW explode(a) e AS x", t=schema)
    assert annotation.spark_type(tree.selects[0].this) is None


def test_decimal_types_follow_spark() -> None:
    schema = pa.schema([("a", pa.decimal128(38, 10)), ("b", pa.decimal128(10, 2)),
                        ("i", pa.int32())])
    tree = _typed("SELECT a * a, a / b, b / i, sum(b), avg(b), sum(i), avg(i), b + 1.5, "
                  "round(b, 1) / 2, greatest(b, 1) / 2 FROM t", t=schema)
    types = [annotation.spark_type(s) for s in tree.selects]
    assert [precision.params(t) if t is not None and t.this == exp.DType.DECIMAL else
            t.sql("databricks") if t else None for t in types] == [
        (38, 6), (38, 8), (21, 13), (20, 2), (14, 6), "BIGINT", "DOUBLE", (11, 2), (15, 6),
        None]


def test_a_quotient_of_a_decimal_of_unknown_precision_is_refused(engine: Engine) -> None:
    """greatest of decimals: sqlglot's type is not Spark's precision, so refused."""
    with pytest.raises(Unsupported, match="DECIMAL division"):
        _run(engine, "SELECT greatest(dec, 1) / 2 FROM nums")


def test_result_types_are_sparks(engine: Engine) -> None:
    types, rows = _run(engine, "SELECT avg(dec2), sum(i) FROM nums WHERE id = 1")
    assert types == ["DECIMAL(9,7)", "BIGINT"]
    assert rows == [["1.2550000", "7"]]
    types, rows = _run(engine, "SELECT dec / dec2 FROM nums WHERE id = 1")
    assert (types, rows) == (["DECIMAL(19,8)"], [["10.15936255"]])


def test_views_are_typed(engine: Engine) -> None:
    engine.execute(StatementTask("v", "CREATE VIEW halves AS SELECT id, d / 2 AS h, dec "
                                      "FROM nums")).read_all()
    _, rows = _run(engine, "SELECT id, CAST(h AS INT), dec / 4 FROM halves WHERE id = 2")
    assert rows == [["2", "-6", "-3.187500"]]


def test_a_schema_change_rewrites_the_cached_template(engine: Engine,
                                                      tmp_path: Path) -> None:
    """The translation cache is keyed by the scanned schemas: the same text over a column
    that became a DOUBLE truncates instead of reading it as a BIGINT."""
    from deltalake import write_deltalake

    lake = Path(engine.settings.lake) / "main" / "default" / "evolving"
    write_deltalake(str(lake), pa.table({"v": pa.array([7], pa.int64())}))
    assert _run(engine, "SELECT CAST(v AS INT) FROM evolving")[1] == [["7"]]
    write_deltalake(str(lake), pa.table({"v": pa.array([-2.7])}), mode="overwrite",
                    schema_mode="overwrite")
    engine.invalidate(TableName("main", "default", "evolving"))
    assert _run(engine, "SELECT CAST(v AS INT) FROM evolving")[1] == [["-2"]]


def test_decimal_overflow_raises(engine: Engine) -> None:
    with pytest.raises(EngineError):
        _run(engine, "SELECT big * big FROM nums")


def test_values_columns_are_typed(engine: Engine) -> None:
    """A VALUES column is typed as its rows: to_char of a DATE formats it (Spark: '9')."""
    _, rows = _run(engine, "SELECT to_char(x, '9') FROM VALUES (DATE'2020-01-01') AS t(x)")
    assert rows == [["9"]]
