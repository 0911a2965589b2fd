"""engine.spark.dialect: ``>>>`` reads as Spark reads it; nothing else changes."""

from __future__ import annotations

import pytest
import sqlglot

from engine.spark.dialect import SparkSql


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT 4 >>> 1", "SELECT SHIFTRIGHTUNSIGNED(4, 1)"),
    # the shifts bind looser than + and tighter than comparisons
    ("SELECT 1 + 8 >>> 1 + 1 > 0", "SELECT SHIFTRIGHTUNSIGNED(1 + 8, 1 + 1) > 0"),
    ("SELECT a >> 2, b > c", "SELECT SHIFTRIGHT(a, 2), b > c"),
])
def test_unsigned_shift_parses(sql: str, expected: str) -> None:
    assert sqlglot.parse_one(sql, read=SparkSql).sql("databricks") == expected


def test_spaced_greater_than_signs_stay_an_error() -> None:
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse_one("SELECT a >> > b", read=SparkSql)
