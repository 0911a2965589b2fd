"""`engine_tpch`: the 22 TPC-H queries through the Engine vs DuckDB over the same files.

Both run in the harness process, one query after the other (engine first, then DuckDB,
per query; best of `repeats` each), with the same thread count and memory limit, so the
ratio is the engine's own overhead: translation, Delta log reading, pruning, the I/O
layer and Arrow streaming (bench/engine_tpch.py). Goal of issue 2: total <= 1.10x.
"""

from __future__ import annotations

from typing import Any

from bench import engine_tpch, plots
from bench.context import BenchContext, Section, Table
from bench.stats import ratio

GOAL_RATIO = 1.10


def run(ctx: BenchContext) -> Section:
    """Time every query both ways on the run's lake; per-query and total ratios."""
    lake = ctx.lake()
    settings = ctx.gateway_settings({"lake": str(lake.root),
                                     "cache_dir": str(ctx.work / "engine-cache")}).engine
    section = Section("engine_tpch", params={
        "sf": ctx.sf, "runs_per_query": ctx.repeats, "threads": settings.threads,
        "memory_limit": settings.memory_limit,
    })
    results = engine_tpch.measure(settings, runs=ctx.repeats, baseline_files=lake.files,
                                  only=ctx.only_queries)
    engine_total = sum(r["engine_s"] for r in results)
    duck_total = sum(r["duckdb_s"] for r in results)
    total_ratio = ratio(engine_total, duck_total)
    mismatched = [r["query"] for r in results if r["rows"] != r["duckdb_rows"]]
    section.raw = {"queries": results}
    section.summary = {
        "engine_total_s": engine_total, "duckdb_total_s": duck_total, "ratio": total_ratio,
        "goal_ratio": GOAL_RATIO, "queries": len(results), "row_count_mismatches": mismatched,
        "met": total_ratio is not None and total_ratio <= GOAL_RATIO,
    }
    rows: list[list[Any]] = [
        [r["query"], r["rows"], r["engine_s"], r["duckdb_s"], ratio(r["engine_s"], r["duckdb_s"])]
        for r in results
    ]
    rows.append(["total", None, engine_total, duck_total, total_ratio])
    section.tables.append(Table(
        f"TPC-H SF {ctx.sf:g}: engine vs DuckDB (best of {ctx.repeats}, "
        f"{settings.threads} threads each)",
        ["query", "rows", "engine s", "duckdb s", "engine ÷ duckdb"], rows))
    verdict = "met" if section.summary["met"] else "MISSED"
    section.notes.append(f"goal total engine ÷ duckdb <= {GOAL_RATIO}: "
                         f"{total_ratio if total_ratio is None else round(total_ratio, 3)} "
                         f"({verdict})")
    if mismatched:
        section.notes.append(f"ERROR: row counts differ from DuckDB for {mismatched}")
    section.plots.append(str(plots.bars(
        {r["query"]: ratio(r["engine_s"], r["duckdb_s"]) or 0.0 for r in results},
        ctx.out / "engine-tpch-ratio.png", "engine ÷ DuckDB per query", "ratio",
    ).relative_to(ctx.out)))
    return section
