"""Spark's DataSketches functions (engine/spark/sketches.py, kll.py): the bytes Spark writes."""

from __future__ import annotations

import duckdb
import pytest

from engine.spark import install


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    db = duckdb.connect()
    install(db)
    return db


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    return con.sql(sql).fetchall()[0][0]


# Spark 4.3's answers to hex(...) of the same sketches
SPARK_HLL_1_2_2 = "0201070C030002082BF2FB06862FF90D" + "0" * 48
SPARK_THETA_1_2_2 = "0104033D011ACC93022D0C35EE5BEFC8AE3EFA70D1DFA7AB80"
SPARK_THETA_EMPTY = "01030300001E0000"
SPARK_KLL_BIGINT_1_2 = ("05010F00C80008000200000000000000C8000100C6000000"
                        "0100000000000000020000000000000001000000000000000200000000000000")


def test_sketch_bytes_are_sparks(con: duckdb.DuckDBPyConnection) -> None:
    values = "FROM (VALUES (1), (2), (2)) t(x)"
    assert _one(con, f"SELECT hex(sg_hll_agg(typeof(list(x)), CAST(list(x) AS VARIANT), 12)) "
                     f"{values}") == SPARK_HLL_1_2_2
    assert _one(con, f"SELECT hex(sg_theta_agg(typeof(list(x)), CAST(list(x) AS VARIANT), 12)) "
                     f"{values}") == SPARK_THETA_1_2_2
    assert _one(con, "SELECT hex(sg_theta_union_agg([], 12))") == SPARK_THETA_EMPTY
    assert _one(con, "SELECT hex(sg_kll_agg_bigint([1, 2], 200))") == SPARK_KLL_BIGINT_1_2


def test_estimates_read_sparks_bytes(con: duckdb.DuckDBPyConnection) -> None:
    assert _one(con, f"SELECT sg_hll_estimate(from_hex('{SPARK_HLL_1_2_2}'))") == 2
    assert _one(con, f"SELECT sg_theta_estimate(from_hex('{SPARK_THETA_1_2_2}'))") == 2
    assert _one(con, f"SELECT sg_kll_n_bigint(from_hex('{SPARK_KLL_BIGINT_1_2}'))") == 2


def test_spark_errors(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(duckdb.InvalidInputException, match="HLL_INVALID_LG_K"):
        con.sql("SELECT sg_hll_agg('INTEGER[]', CAST([1] AS VARIANT), 3)").fetchall()
    with pytest.raises(duckdb.InvalidInputException, match="HLL_INVALID_INPUT_SKETCH_BUFFER"):
        con.sql("SELECT sg_hll_estimate('\\x01\\x02'::BLOB)").fetchall()
    with pytest.raises(duckdb.InvalidInputException, match="UNEXPECTED_INPUT_TYPE"):
        con.sql("SELECT sg_hll_agg('DOUBLE[]', CAST([1.5] AS VARIANT), 12)").fetchall()
    with pytest.raises(duckdb.InvalidInputException, match="KLL_SKETCH_K_OUT_OF_RANGE"):
        con.sql("SELECT sg_kll_agg_bigint([1], 7)").fetchall()
    with pytest.raises(duckdb.InvalidInputException, match="UNEXPECTED_INPUT_TYPE"):
        con.sql("SELECT sg_kll_bigint_values([1.5])").fetchall()


def test_hll_union_refuses_different_lg_k_unless_allowed(con: duckdb.DuckDBPyConnection) -> None:
    a = "sg_hll_agg('INTEGER[]', CAST([1, 2] AS VARIANT), 12)"
    b = "sg_hll_agg('INTEGER[]', CAST([3] AS VARIANT), 10)"
    with pytest.raises(duckdb.InvalidInputException, match="HLL_UNION_DIFFERENT_LG_K"):
        con.sql(f"SELECT sg_hll_union({a}, {b}, false)").fetchall()
    assert _one(con, f"SELECT sg_hll_estimate(sg_hll_union({a}, {b}, true))") == 3


def test_kll_quantiles_and_ranks(con: duckdb.DuckDBPyConnection) -> None:
    sketch = "sg_kll_agg_double([1.0, 2.0, 3.0], 200)"
    assert _one(con, f"SELECT sg_kll_quantiles_double({sketch}, [0.1, 0.9])") == [1.0, 3.0]
    assert _one(con, f"SELECT sg_kll_rank_double({sketch}, 2.0)") == pytest.approx(2 / 3)
    with pytest.raises(duckdb.InvalidInputException, match="KLL_SKETCH_INVALID_QUANTILE_RANGE"):
        con.sql(f"SELECT sg_kll_quantile_double({sketch}, 1.5)").fetchall()
