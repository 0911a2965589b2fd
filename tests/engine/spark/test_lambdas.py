"""engine.spark.lambdas: the forms it refuses."""

from __future__ import annotations

import pytest
import sqlglot

from engine.errors import Unsupported
from engine.spark import lambdas


@pytest.mark.parametrize("sql", [
    "SELECT array_sort(a, x -> x) FROM t",
    "SELECT map_zip_with(m, n, (k, v) -> v) FROM t",
    "SELECT arrays_zip(t.a, u.a) FROM t, u",
])
def test_lambda_forms_without_spark_semantics_are_refused(sql: str) -> None:
    tree = sqlglot.parse_one(sql, read="databricks")
    with pytest.raises(Unsupported):
        for rule in lambdas.RULES:
            tree = rule(tree)
