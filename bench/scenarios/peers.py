"""`peers`: the TPC-H queries on sqlgate, DuckDB in-process and ROAPI, in the same run.

Two passes per system: latency (one stream, every query `repeats` times in order) and
throughput (`streams` streams in permuted orders for `duration` seconds). ROAPI takes part
when its binary is installed; it gets the queries translated to its Postgres-like dialect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench import plots
from bench.clients import Client, DuckDBClient, duckdb_baseline
from bench.context import BenchContext, Section, Table
from bench.local import LocalError
from bench.peers_roapi import Roapi, RoapiClient, roapi_executable
from bench.queries import translate
from bench.runner import Progress, StreamRun, run_streams
from bench.scenarios.common import (
    OVERALL_HEADERS,
    overall_rows,
    records_json,
    rest_factory,
    run_system,
    summarize_run,
)

BASELINE = "duckdb in-process"


def run(ctx: BenchContext) -> Section:
    """Latency and throughput of each available system over the same lake."""
    lake = ctx.lake()
    queries = ctx.queries()
    section = Section("peers", params={"repeats": ctx.repeats, "streams": ctx.streams,
                                       "duration_s": ctx.duration_s, "queries": list(queries)})
    latency: dict[str, StreamRun] = {}
    throughput: dict[str, StreamRun] = {}

    def both(name: str, make: Callable[[int], Client], work: list[tuple[str, str]]) -> None:
        latency[name] = _latency_pass(ctx, name, make, work)
        throughput[name] = run_system(ctx, f"peers {name} throughput", make, work,
                                      ctx.streams, ctx.duration_s)

    with ctx.gateway() as target:
        if target is None:
            section.notes.append("no gateway: sqlgate not measured")
        else:
            both("sqlgate REST", rest_factory(ctx, target), list(queries.items()))
    conn = duckdb_baseline(lake.files, ctx.engine_threads())
    try:
        both(BASELINE, lambda _: DuckDBClient(conn),
             [(n, translate(q)) for n, q in queries.items()])
    finally:
        conn.close()
    if roapi_executable() is None:
        section.notes.append("roapi not installed (pip install roapi): ROAPI not measured")
    else:
        try:
            with Roapi(lake, ctx.work / "roapi.log") as roapi:
                both("roapi", lambda _: RoapiClient(roapi.url, ctx.query_timeout_s),
                     [(n, translate(q, "postgres")) for n, q in queries.items()])
        except LocalError as exc:
            section.notes.append(f"roapi failed to start: {exc}")

    lat = {n: summarize_run(r) for n, r in latency.items()}
    thr = {n: summarize_run(r) for n, r in throughput.items()}
    section.summary = {"latency": lat, "throughput": thr}
    section.raw = {
        "latency": {n: records_json(r.records) for n, r in latency.items()},
        "throughput": {n: {"elapsed_s": r.elapsed_s, "records": records_json(r.records)}
                       for n, r in throughput.items()},
    }
    section.tables.append(Table(f"Throughput, {ctx.streams} streams", OVERALL_HEADERS,
                                overall_rows(thr, BASELINE)))
    systems = list(lat)
    rows: list[list[Any]] = []
    for q in queries:
        rows.append([q, *[lat[s]["per_query"].get(q, {}).get("p50") for s in systems]])
    section.tables.append(Table("Latency, one stream: p50 seconds per query",
                                ["query", *systems], rows))
    section.plots.append(str(plots.latency_boxes(
        {n: [r.seconds for r in run.records if r.ok] for n, run in latency.items()},
        ctx.out / "peers-latency.png", "TPC-H latency, one stream",
    ).relative_to(ctx.out)))
    return section


def _latency_pass(
    ctx: BenchContext, name: str, make: Callable[[int], Client], work: list[tuple[str, str]]
) -> StreamRun:
    progress = Progress(f"peers {name} latency", ctx.duration_s, enabled=ctx.progress)
    try:
        return run_streams(make, work, 1, ctx.duration_s, max_rounds=ctx.repeats,
                           permute=False, progress=progress)
    finally:
        progress.finish()
