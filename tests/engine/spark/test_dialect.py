"""engine.spark.dialect: ``>>>`` and doubled quotes in literals read as Spark reads them."""

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


@pytest.mark.parametrize(("sql", "value"), [
    # Spark 4.3's answers: a doubled quote inside a literal is that quote
    ("SELECT 'a''b'", "a'b"), ("SELECT ''''", "'"), ("SELECT 'a''''b'", "a''b"),
    ("SELECT 'a'''", "a'"), ('SELECT "x""y"', 'x"y'), ("SELECT 'x\"\"y'", 'x""y'),
])
def test_doubled_quotes_inside_literals(sql: str, value: str) -> None:
    literal = sqlglot.parse_one(sql, read=SparkSql).expressions[0]
    assert isinstance(literal, sqlglot.exp.Literal) and literal.this == value


def test_adjacent_literals_with_space_still_concatenate() -> None:
    tree = sqlglot.parse_one("SELECT 'a' 'b', 'a''b' 'c'", read=SparkSql)
    assert [e.sql("duckdb") for e in tree.expressions] == ["'a' || 'b'", "'a''b' || 'c'"]
