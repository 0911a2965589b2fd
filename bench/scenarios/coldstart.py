"""`coldstart`: STOPPED -> first row, repeated; and the warm dispatch overhead.

Each cold sample stops the warehouse (`POST /api/2.0/sql/warehouses/{id}/stop`), waits
until it reports STOPPED, then times `SELECT 1` from the POST to the first row: the
statement auto-starts the pool, as on Databricks. Warm samples time the same statement on a
running pool; DuckDB in-process `SELECT 1` is the floor, so warm p50 minus its p50 is what
the gateway adds per statement (HTTP, queueing, the hop to a worker process).

Two more parts, with the goals of issues 3 and 4:
- `rest_latency`: `SELECT 1` POSTs over one keep-alive connection (bench/rest_latency.py),
  each answered SUCCEEDED inline; goal p50 <= 5 ms;
- `pool`: the warehouse pool driven in-process, no HTTP (bench/coldstart.py): STOPPED ->
  first row, goal p50 <= 1.5 s; warm dispatch overhead (Flight round trip minus the engine
  alone), goal p50 <= 2 ms.
"""

from __future__ import annotations

import time
from typing import Any

import duckdb
import httpx

from bench import coldstart as pool_bench
from bench import plots, rest_latency
from bench.clients import ClientError, RestClient, Target
from bench.context import BenchContext, Section, Table
from bench.stats import latency_summary

_STOP_WAIT_S = 120.0
# Warm samples are cheap; take more of them than cold ones for stable percentiles.
_WARM_PER_REPEAT = 20
# The REST round trip and the pool's dispatch are a few ms: many samples per repeat.
_REST_PER_REPEAT = 100
_POOL_WARM_PER_REPEAT = 60
GOAL_REST_P50_S = 0.005
GOAL_COLD_P50_S = 1.5
GOAL_DISPATCH_P50_S = 0.002


def run(ctx: BenchContext) -> Section:
    """Cold and warm SELECT 1 through the gateway, and SELECT 1 in DuckDB in-process."""
    warm_n = ctx.repeats * _WARM_PER_REPEAT
    section = Section("coldstart", params={"cold_repeats": ctx.repeats, "warm_repeats": warm_n})
    floor = _duckdb_select1(warm_n)
    cold: list[float] = []
    warm: list[float] = []
    errors: list[str] = []
    stop_s: list[float] = []
    rest: list[float] = []
    with ctx.gateway() as target:
        if target is None:
            section.notes.append("no gateway: only the DuckDB floor was measured")
        else:
            client = RestClient(target, timeout_s=ctx.query_timeout_s)
            try:
                for i in range(ctx.repeats):
                    try:
                        stop_s.append(_stop(client, target))
                        cold.append(_timed(client))
                    except ClientError as exc:
                        errors.append(f"cold {i}: {exc}")
                for i in range(warm_n):
                    try:
                        warm.append(_timed(client))
                    except ClientError as exc:
                        errors.append(f"warm {i}: {exc}")
            finally:
                client.close()
            try:
                rest = rest_latency.measure_rest(target.url, target.token, target.warehouse_id,
                                                 ctx.repeats * _REST_PER_REPEAT)
            except (RuntimeError, httpx.HTTPError) as exc:
                errors.append(f"rest_latency: {exc}")
    pool = pool_bench.measure(runs=ctx.repeats, warm=ctx.repeats * _POOL_WARM_PER_REPEAT)
    summary: dict[str, Any] = {
        "cold": latency_summary(cold), "warm": latency_summary(warm),
        "duckdb_select1": latency_summary(floor), "stop_wait": latency_summary(stop_s),
        "errors": len(errors), "rest_select1": latency_summary(rest),
        "pool": {k: v for k, v in pool.items() if k != "cold_samples_s"},
    }
    w50, f50 = summary["warm"]["p50"], summary["duckdb_select1"]["p50"]
    summary["warm_dispatch_overhead_p50_s"] = None if w50 is None else w50 - f50
    section.summary = summary
    section.raw = {"cold_s": cold, "warm_s": warm, "duckdb_select1_s": floor,
                   "stop_wait_s": stop_s, "errors": errors, "rest_select1_s": rest,
                   "pool_cold_s": pool["cold_samples_s"]}
    rows = [[name, s["count"], s["p50"], s["p95"], s["p99"], s["max"]]
            for name, s in (("cold (STOPPED -> first row)", summary["cold"]),
                            ("warm SELECT 1", summary["warm"]),
                            ("duckdb in-process SELECT 1", summary["duckdb_select1"]))]
    section.tables.append(Table("First-row latency", ["path", "n", "p50 s", "p95 s", "p99 s",
                                                      "max s"], rows))
    section.notes.append(
        f"warm dispatch overhead (warm p50 - DuckDB p50): "
        f"{summary['warm_dispatch_overhead_p50_s'] if w50 is not None else '-'} s")
    section.tables.append(_goals(summary))
    section.notes += errors[:10]
    section.plots.append(str(plots.histogram(
        {"cold": cold, "warm": warm}, ctx.out / "coldstart-histogram.png",
        "SELECT 1: cold start vs warm",
    ).relative_to(ctx.out)))
    return section


def _goals(summary: dict[str, Any]) -> Table:
    """Each goal of issues 3 and 4 with the figure measured in this run."""
    pool = summary["pool"]
    rows = [
        ["REST SELECT 1 p50 (keep-alive POST)", summary["rest_select1"]["p50"],
         GOAL_REST_P50_S],
        ["pool cold start p50 (STOPPED -> first row)", pool["cold_start_s"]["p50"],
         GOAL_COLD_P50_S],
        ["pool warm dispatch overhead p50", pool["warm_ms"]["dispatch_overhead_p50"] / 1000,
         GOAL_DISPATCH_P50_S],
        ["pool.run overhead p50 (estimate, queue, dispatch)",
         pool["warm_ms"]["pool_overhead_p50"] / 1000, None],
    ]
    for row in rows:
        row.append(None if row[1] is None or row[2] is None
                   else "met" if row[1] <= row[2] else "MISSED")
    return Table("Goals", ["figure", "measured s", "goal s", "verdict"], rows)


def _timed(client: RestClient) -> float:
    start = time.perf_counter()
    fetched = client.run("SELECT 1")
    if fetched.rows != 1:
        raise ClientError("INTERNAL_ERROR", f"SELECT 1 returned {fetched.rows} rows")
    return time.perf_counter() - start


def _stop(client: RestClient, target: Target) -> float:
    """Stop the warehouse and wait (bounded) for STOPPED; seconds it took."""
    path = f"/api/2.0/sql/warehouses/{target.warehouse_id}"
    start = time.perf_counter()
    client.request("POST", f"{path}/stop", {})
    deadline = time.monotonic() + _STOP_WAIT_S
    while time.monotonic() < deadline:
        if client.request("GET", path).get("state") == "STOPPED":
            return time.perf_counter() - start
        time.sleep(0.05)
    raise ClientError("DEADLINE_EXCEEDED", f"warehouse not STOPPED within {_STOP_WAIT_S}s")


def _duckdb_select1(n: int) -> list[float]:
    conn = duckdb.connect()
    try:
        out = []
        for _ in range(n):
            start = time.perf_counter()
            conn.sql("SELECT 1").fetchall()
            out.append(time.perf_counter() - start)
        return out
    finally:
        conn.close()
