"""gateway/pool/estimate: which statements skip the worker's estimate, and what they get."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gateway.pool.estimate import Estimates, reads_no_table, text_fingerprint
from sqlgate.settings import Settings
from sqlgate.types import CostEstimate, StatementTask


@pytest.mark.parametrize("sql", [
    "SELECT 1", "  select 1 AS one, 'a'", "SELECT current_date()", "SELECT :p + 1",
    "SELECT array(1, 2)[0]",
])
def test_lone_selects_without_tables_read_no_table(sql: str) -> None:
    assert reads_no_table(sql)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM t", "select (select max(a) from t)", "SELECT 1; DROP TABLE t",
    "/* hint */ SELECT 1", "-- c\nSELECT 1", "SELECT 1 -- from t", "VALUES (1)",
    "WITH x AS (SELECT 1) SELECT * FROM x", "INSERT INTO t SELECT 1",
    "CREATE TABLE t AS SELECT 1", "SHOW TABLES", "SELECT 'from'", "SELECT a FROM t JOIN u",
    "SELECT * FROM range(10)", "", "   ", "SELECTED", "SELECT x FROM lateral",
])
def test_anything_that_may_touch_a_table_goes_to_a_worker(sql: str) -> None:
    assert not reads_no_table(sql)


class _Worker:
    """Counts estimate calls: the quick path must not make any."""

    def __init__(self) -> None:
        self.calls = 0

    def estimate(self, task: StatementTask) -> CostEstimate:
        self.calls += 1
        return CostEstimate(kind="scan", files=3, fingerprint="from-worker")


def test_a_constant_select_is_estimated_without_the_worker() -> None:
    worker = _Worker()
    estimates = Estimates(Settings())

    async def ready() -> Any:  # a Worker as far as estimates go
        return worker

    async def both() -> tuple[tuple[str, CostEstimate], tuple[str, CostEstimate]]:
        with ThreadPoolExecutor(1) as pool:
            quick = await estimates.estimate(StatementTask("s1", "SELECT 1"), ready, pool)
            asked = await estimates.estimate(StatementTask("s2", "SELECT * FROM t"), ready, pool)
        return quick, asked

    quick, asked = asyncio.run(both())
    assert quick == (text_fingerprint("SELECT 1"), CostEstimate(kind="metadata"))
    assert asked == ("from-worker", CostEstimate(kind="scan", files=3, fingerprint="from-worker"))
    assert worker.calls == 1


def test_an_injected_estimator_is_always_asked() -> None:
    seen: list[str] = []

    def estimator(task: StatementTask) -> CostEstimate:
        seen.append(task.sql)
        return CostEstimate(kind="scan", fingerprint="fp")

    estimates = Estimates(Settings(), estimator)
    assert estimates.quick(StatementTask("s1", "SELECT 1")) is None
    assert estimates.prepare(StatementTask("s1", "SELECT 1"), None) == (
        "fp", CostEstimate(kind="scan", fingerprint="fp"))
    assert seen == ["SELECT 1"]
