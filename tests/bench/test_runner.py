from __future__ import annotations

import pytest

from bench.clients import DuckDBClient, duckdb_baseline
from bench.data import TpchLake
from bench.queries import load_queries, translate
from bench.runner import run_streams


@pytest.fixture
def workload() -> list[tuple[str, str]]:
    queries = load_queries(only=["q01", "q06", "q14"])
    return [(name, translate(sql)) for name, sql in queries.items()]


def test_one_round_sends_every_query_once_per_stream(
    bench_lake: TpchLake, workload: list[tuple[str, str]]
) -> None:
    conn = duckdb_baseline(bench_lake.files, threads=2)
    run = run_streams(lambda _: DuckDBClient(conn), workload, 3, 60.0, max_rounds=1, seed=7)
    conn.close()
    assert len(run.records) == 3 * len(workload)
    assert all(r.ok for r in run.records)
    for stream in range(3):
        mine = sorted((r.start, r.query) for r in run.records if r.stream == stream)
        assert [q for _, q in mine] == run.orders[stream]
        assert sorted(run.orders[stream]) == ["q01", "q06", "q14"]
    rows = {r.query: r.rows for r in run.records}
    assert rows["q01"] == 4 and rows["q06"] == 1


def test_orders_are_seeded_and_the_deadline_bounds_the_run(
    bench_lake: TpchLake, workload: list[tuple[str, str]]
) -> None:
    conn = duckdb_baseline(bench_lake.files, threads=1)
    a = run_streams(lambda _: DuckDBClient(conn), workload, 4, 0.5, seed=1)
    b = run_streams(lambda _: DuckDBClient(conn), workload, 4, 0.5, seed=1)
    conn.close()
    assert a.orders == b.orders
    assert a.elapsed_s < 10.0
    # Nothing starts after the deadline.
    assert max(r.start for r in a.records) <= 0.5 + 0.05


def test_errors_are_recorded_not_raised(bench_lake: TpchLake) -> None:
    conn = duckdb_baseline(bench_lake.files, threads=1)
    run = run_streams(lambda _: DuckDBClient(conn), [("bad", "SELECT nope FROM nation")],
                      2, 30.0, max_rounds=2)
    conn.close()
    assert len(run.records) == 4
    assert not any(r.ok for r in run.records)
    assert all((r.error or "").startswith("BAD_REQUEST") for r in run.records)
