"""`concurrency`: N streams, each the TPC-H queries in its own order, for a bounded time.

The baseline in the same run is DuckDB in-process over the same parquet files with as many
threads as the gateway's whole pool (max_workers * threads), driven by the same streams in
the same orders.
"""

from __future__ import annotations

from typing import Any

from bench import plots, thrift_vs_rest
from bench.clients import Client, DuckDBClient, Target, ThriftClient, duckdb_baseline
from bench.context import BenchContext, Section, Table
from bench.queries import translate
from bench.scenarios.common import (
    OVERALL_HEADERS,
    overall_rows,
    records_json,
    rest_factory,
    run_system,
    summarize_run,
)
from bench.stats import ratio, throughput_series

BASELINE = "duckdb in-process"


def run(ctx: BenchContext) -> Section:
    """Run the gateway (REST, and Thrift when its path is given) and the DuckDB baseline."""
    lake = ctx.lake()
    queries = ctx.queries()
    threads = ctx.engine_threads()
    section = Section("concurrency", params={
        "streams": ctx.streams, "duration_s": ctx.duration_s, "sf": ctx.sf,
        "queries": list(queries), "baseline_threads": threads, "max_rounds": ctx.max_rounds,
    })
    runs = {}
    with ctx.gateway() as target:
        if target is None:
            section.notes.append("no gateway (pass --gateway URL --token T or --start-local): "
                                 "baseline only")
        else:
            workload = list(queries.items())
            _warm_up(ctx, target)
            runs["sqlgate REST"] = run_system(
                ctx, "concurrency sqlgate REST", rest_factory(ctx, target), workload,
                ctx.streams, ctx.duration_s,
            )
            path = ctx.thrift_path or (
                f"/sql/1.0/warehouses/{target.warehouse_id}"
                if ctx.start_local and ctx.thrift else None)
            if path:
                section.params["thrift_path"] = path
                runs["sqlgate Thrift"] = run_system(
                    ctx, "concurrency sqlgate Thrift", _thrift_factory(ctx, target, path),
                    workload, ctx.streams, ctx.duration_s,
                )
    conn = duckdb_baseline(lake.files, threads)
    try:
        workload = [(name, translate(sql)) for name, sql in queries.items()]
        runs[BASELINE] = run_system(
            ctx, "concurrency duckdb", lambda _: DuckDBClient(conn), workload,
            ctx.streams, ctx.duration_s,
        )
    finally:
        conn.close()

    summaries = {name: summarize_run(r) for name, r in runs.items()}
    section.summary = summaries
    section.raw = {
        name: {"elapsed_s": r.elapsed_s, "orders": r.orders, "records": records_json(r.records),
               "throughput_per_s": throughput_series(r.records)}
        for name, r in runs.items()
    }
    section.tables.append(Table("Throughput and latency (all queries)", OVERALL_HEADERS,
                                overall_rows(summaries, BASELINE)))
    if "sqlgate Thrift" in summaries:
        section.tables.append(Table(
            "Thrift (databricks-sql-connector) vs REST, same streams and orders",
            ["metric", "REST", "Thrift", "Thrift ÷ REST"], thrift_vs_rest.compare(summaries)))
    section.tables.append(_per_query_table(summaries, list(queries)))
    out = ctx.out
    section.plots.append(str(plots.latency_boxes(
        {name: [rec.seconds for rec in r.records if rec.ok] for name, r in runs.items()},
        out / "concurrency-latency.png", f"TPC-H latency, {ctx.streams} streams",
    ).relative_to(out)))
    section.plots.append(str(plots.throughput_lines(
        {name: section.raw[name]["throughput_per_s"] for name in runs},
        out / "concurrency-throughput.png", "Queries finished per second",
    ).relative_to(out)))
    return section


def _per_query_table(summaries: dict[str, dict[str, Any]], names: list[str]) -> Table:
    systems = list(summaries)
    headers = ["query"]
    for s in systems:
        headers += [f"{s} n", f"{s} p50 s", f"{s} p95 s", f"{s} p99 s", f"{s} err"]
    headers.append("p50 ÷ baseline (first system)")
    rows = []
    for q in names:
        row: list[Any] = [q]
        for s in systems:
            pq = summaries[s]["per_query"].get(q, {})
            row += [pq.get("count", 0), pq.get("p50"), pq.get("p95"), pq.get("p99"),
                    pq.get("errors", 0)]
        first = summaries[systems[0]]["per_query"].get(q, {})
        base = summaries.get(BASELINE, {}).get("per_query", {}).get(q, {})
        row.append(ratio(first.get("p50"), base.get("p50")))
        rows.append(row)
    return Table("Per query", headers, rows)


def _warm_up(ctx: BenchContext, target: Target) -> None:
    """One untimed statement, so the first system measured does not pay the pool's start."""
    client = rest_factory(ctx, target)(0)
    try:
        client.run("SELECT 1")
    finally:
        client.close()


def _thrift_factory(ctx: BenchContext, target: Target, path: str) -> Any:
    def make(_: int) -> Client:
        return ThriftClient(target, path, ctx.catalog, ctx.schema)

    return make
