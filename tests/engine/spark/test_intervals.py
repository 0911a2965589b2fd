"""engine.spark.intervals: where make_interval and interval arithmetic are refused."""

from __future__ import annotations

import pytest
import sqlglot

from engine.errors import Unsupported
from engine.spark import annotation, intervals


def _rewrite(sql: str) -> str:
    tree = annotation.annotate(sqlglot.parse_one(sql, read="databricks"))
    for rule in intervals.RULES:
        tree = rule(tree)
    return tree.sql("duckdb")


@pytest.mark.parametrize("sql", [
    "SELECT typeof(make_interval(1))",  # neither a result column nor beside a TIMESTAMP
    "SELECT DATE'2024-01-01' + make_interval(0, 1)",  # Spark keeps a DATE; DuckDB would not
    "SELECT INTERVAL '1' YEAR div INTERVAL '1' DAY",  # two kinds of interval
    "SELECT abs(x) + width_bucket(x, INTERVAL '0' DAY, INTERVAL '1' YEAR, 3) FROM t",
])
def test_unknown_kinds_are_refused(sql: str) -> None:
    with pytest.raises(Unsupported):
        _rewrite(sql)


def test_result_column_is_spark_text_and_timestamp_operand_an_interval() -> None:
    out = _rewrite("SELECT make_interval(1, 2), TIMESTAMP'2024-01-01 00:00:00' "
                   "+ try_make_interval(0, 0, 0, 1)")
    assert "SG_CI_TEXT(" in out and "SG_CI_VALUE(" in out


def test_interval_literal_sign_belongs_to_the_string() -> None:
    assert _rewrite("SELECT INTERVAL -'-3' DAY") == "SELECT INTERVAL '3' DAY"
