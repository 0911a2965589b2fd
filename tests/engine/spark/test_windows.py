"""engine.spark.windows: counter_diff and time windows, the forms they refuse."""

from __future__ import annotations

import pytest
import sqlglot

from engine.errors import Unsupported
from engine.spark import windows


def test_counter_diff_needs_an_ordered_window_without_frame() -> None:
    tree = sqlglot.parse_one("SELECT counter_diff(c) OVER (ORDER BY t ROWS BETWEEN 1 "
                             "PRECEDING AND CURRENT ROW) FROM x", read="databricks")
    with pytest.raises(Unsupported, match="counter_diff"):
        windows.RULES[0](tree)


def test_counter_diff_without_over_is_refused() -> None:
    tree = sqlglot.parse_one("SELECT counter_diff(c) FROM x", read="databricks")
    with pytest.raises(Unsupported, match="window function"):
        windows.RULES[0](tree)


@pytest.mark.parametrize("sql", [
    "SELECT window(b, '10 minutes', '5 minutes') FROM t",  # sliding: in GROUP BY only
    "SELECT a, count(*) FROM t GROUP BY a, session_window(b, '5 minutes')",
    "SELECT window(b, d) FROM t",
])
def test_time_windows_without_spark_semantics_are_refused(sql: str) -> None:
    tree = sqlglot.parse_one(sql, read="databricks")
    with pytest.raises(Unsupported):
        for rule in windows.RULES:
            tree = rule(tree)


def test_window_columns_of_a_real_table_named_window_are_left_alone() -> None:
    tree = sqlglot.parse_one("SELECT window.start FROM t AS window", read="databricks")
    for rule in windows.RULES:
        tree = rule(tree)
    assert tree.sql("duckdb") == 'SELECT "window".start FROM t AS "window"'
