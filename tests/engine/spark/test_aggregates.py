"""Spark's aggregates over DuckDB (engine/spark/aggregates.py): rewrites and UDFs."""

from __future__ import annotations

import duckdb
import pytest
import sqlglot

from engine.spark import aggregates, install


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    db = duckdb.connect()
    install(db)
    return db


def _duckdb(sql: str) -> str:
    tree = sqlglot.parse_one(sql, read="databricks")
    for rule in aggregates.RULES:
        tree = rule(tree)
    return tree.sql("duckdb")


def test_list_keeps_filter_and_over() -> None:
    assert _duckdb("SELECT bitmap_or_agg(b) OVER (PARTITION BY k) FROM t") == (
        "SELECT SG_BITMAP_OR(LIST(b) OVER (PARTITION BY k)) FROM t")
    assert _duckdb("SELECT last(x, true) FILTER (WHERE k > 1) FROM t") == (
        "SELECT LAST(x) FILTER(WHERE (k > 1) AND NOT x IS NULL) FROM t")


def test_bitmaps(con: duckdb.DuckDBPyConnection) -> None:
    row = con.execute("SELECT hex(sg_bitmap_construct([0, 1, 2, 15])), "
                  "sg_bitmap_count(sg_bitmap_construct([0, 32767]))").fetchall()[0]
    assert row is not None
    assert row[0].startswith("078000") and len(row[0]) == 8192
    assert row[1] == 2
    with pytest.raises(duckdb.InvalidInputException, match="INVALID_BITMAP_POSITION"):
        con.sql("SELECT sg_bitmap_construct([32768])").fetchall()


def test_mode_tie_is_refused_single_mode_answered(con: duckdb.DuckDBPyConnection) -> None:
    assert con.execute("SELECT sg_unique_mode(histogram(x)) FROM (VALUES (1), (2), (2)) t(x)"
                   ).fetchall()[0] == (2,)
    with pytest.raises(duckdb.InvalidInputException, match="MODE_TIE"):
        con.sql("SELECT sg_unique_mode(histogram(x)) FROM (VALUES (1), (2)) t(x)").fetchall()


def test_moments_keep_their_digits_far_from_zero(con: duckdb.DuckDBPyConnection) -> None:
    """1e9 + small values: power sums cancel every digit; running moments do not."""
    shifted = [1e9 + v for v in (0.5, 1.0, 3.0, 0.0)]
    near_zero = [0.5, 1.0, 3.0, 0.0]
    far = con.execute("SELECT sg_central_moment(?, 4), sg_central_moment(?, 3)",
                      [shifted, shifted]).fetchall()[0]
    near = con.execute("SELECT sg_central_moment(?, 4), sg_central_moment(?, 3)",
                       [near_zero, near_zero]).fetchall()[0]
    assert far is not None and near is not None
    assert far == pytest.approx(near, rel=1e-6)
