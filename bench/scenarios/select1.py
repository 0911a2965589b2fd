"""`select1`: REST `SELECT 1` through a real gateway against its floor, measured in one run.

The floor of a REST statement is what no gateway can avoid: an HTTP request and JSON answer
on the same uvicorn stack (bench/floor_server.py: a bare Starlette endpoint served through
`gateway.server.make_server`, the gateway's loop and HTTP settings, in its own process as
the gateway is) plus DuckDB's own `SELECT 1` in-process. The three are timed in interleaved
rounds (gateway, bare endpoint, DuckDB) of sequential calls from one keep-alive client, so
drift of the machine hits all of them alike, and the report gives

    ratio = gateway ÷ (bare endpoint + DuckDB SELECT 1)

at p50 and p95. Goal (issue 14): ratio at p50 <= 3. Without a gateway (neither --gateway nor
--start-local) only the floor is measured.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from bench import rest_latency
from bench.clients import Target
from bench.context import BenchContext, Section, Table
from bench.floor_server import FloorServer
from bench.local import LocalError
from bench.stats import latency_summary, ratio

GOAL_RATIO_P50 = 3.0
# Calls per part per repeat: each call is ~1 ms, so rounds stay short and interleave well.
_PER_REPEAT = 200
_WARM_TIMEOUT_S = 90.0
PARTS = ("gateway", "bare endpoint", "duckdb select 1")


def run(ctx: BenchContext) -> Section:
    """Interleaved rounds of the three parts; the ratio at p50 and p95."""
    per = _PER_REPEAT if ctx.repeats > 2 else _PER_REPEAT // 4
    section = Section("select1", params={"rounds": ctx.repeats, "calls_per_round": per})
    samples: dict[str, list[float]] = {p: [] for p in PARTS}
    with ctx.gateway() as target, FloorServer() as floor_url:
        if target is None:
            section.notes.append("no gateway: only the floor (bare endpoint + DuckDB) measured")
        else:
            _warm(target)
        floor = Target(floor_url, "unused", target.warehouse_id if target else "floor")
        for _ in range(ctx.repeats):
            if target is not None:
                samples["gateway"] += rest_latency.measure_rest(
                    target.url, target.token, target.warehouse_id, n=per)
            samples["bare endpoint"] += rest_latency.measure_rest(
                floor.url, floor.token, floor.warehouse_id, n=per)
            samples["duckdb select 1"] += rest_latency.measure_duckdb(per)
    summary: dict[str, Any] = {p: latency_summary(s) for p, s in samples.items()}
    for q in ("p50", "p95"):
        base = [summary[p][q] for p in PARTS[1:]]
        floor_s = None if None in base else sum(base)
        summary[f"floor_{q}"] = floor_s
        summary[f"ratio_{q}"] = ratio(summary["gateway"][q], floor_s)
    section.summary = summary
    section.raw = {p: s for p, s in samples.items()}
    section.tables.append(Table(
        "REST SELECT 1 and its floor (sequential calls, one keep-alive client)",
        ["part", "n", "p50 ms", "p95 ms", "p99 ms"],
        [[p, summary[p]["count"], *(_ms(summary[p][q]) for q in ("p50", "p95", "p99"))]
         for p in PARTS],
    ))
    r50, r95 = summary["ratio_p50"], summary["ratio_p95"]
    section.tables.append(Table(
        "gateway ÷ (bare endpoint + DuckDB SELECT 1)",
        ["percentile", "floor ms", "ratio", "goal", "verdict"],
        [["p50", _ms(summary["floor_p50"]), r50, GOAL_RATIO_P50,
          None if r50 is None else "met" if r50 <= GOAL_RATIO_P50 else "MISSED"],
         ["p95", _ms(summary["floor_p95"]), r95, None, None]],
    ))
    return section


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def _warm(target: Target) -> None:
    """Until a SELECT 1 answers inline: the pool has a running worker (bounded)."""
    deadline = time.monotonic() + _WARM_TIMEOUT_S
    with httpx.Client(base_url=target.url, timeout=30) as client:
        while True:
            try:
                if rest_latency.run_select_1(client, target.token, check=False,
                                             warehouse=target.warehouse_id):
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise LocalError(f"SELECT 1 did not succeed within {_WARM_TIMEOUT_S}s")
            time.sleep(0.2)
