"""engine.system: system.query.history reads the rows the gateway attached, and only those."""

from __future__ import annotations

import pyarrow as pa
import pytest

from engine import Engine
from engine.errors import TableNotFound
from engine.system import HISTORY, attachment

from .conftest import run


def _rows(ids: list[str]) -> pa.Table:
    return pa.table({"statement_id": ids, "executed_by": ["alice"] * len(ids),
                     "total_duration_ms": pa.array(range(len(ids)), pa.int64())})


def test_history_is_the_attached_table(engine: Engine) -> None:
    got = run(engine, "SELECT statement_id, total_duration_ms FROM system.query.history "
                      "WHERE total_duration_ms > 0 ORDER BY 1",
              attachments=(attachment(HISTORY, _rows(["a", "b", "c"])),))
    assert got.to_pylist() == [{"statement_id": "b", "total_duration_ms": 1},
                               {"statement_id": "c", "total_duration_ms": 2}]


def test_history_joins_lake_tables_and_uses_default_names(engine: Engine) -> None:
    got = run(engine, "SELECT count(*) AS n FROM history h JOIN main.tpch.nation n "
                      "ON n.n_nationkey = h.total_duration_ms",
              catalog="system", schema="query", attachments=(attachment(HISTORY, _rows(["x"])),))
    assert got.to_pylist() == [{"n": 1}]


def test_without_attached_rows_the_table_is_not_found(engine: Engine) -> None:
    with pytest.raises(TableNotFound, match="state store"):
        run(engine, "SELECT * FROM system.query.history")
    with pytest.raises(TableNotFound):
        run(engine, "SELECT * FROM system.billing.usage")
