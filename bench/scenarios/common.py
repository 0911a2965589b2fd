"""Pieces the scenarios share: running one system's streams and tabulating it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bench.clients import Client, RestClient, Target
from bench.context import BenchContext
from bench.runner import Progress, StreamRun, run_streams
from bench.stats import Record, ratio, summarize


def rest_factory(ctx: BenchContext, target: Target, **kw: Any) -> Callable[[int], Client]:
    """A per-stream REST client maker with the run's catalog, schema and timeout."""

    def make(_: int) -> Client:
        return RestClient(target, catalog=ctx.catalog, schema=ctx.schema,
                          timeout_s=ctx.query_timeout_s, **kw)

    return make


def run_system(
    ctx: BenchContext, label: str, make_client: Callable[[int], Client],
    workload: Sequence[tuple[str, str]], streams: int, duration_s: float, *,
    permute: bool = True, lane: str = "", first_stream: int = 0,
) -> StreamRun:
    """`run_streams` with the run's seed, round limit and a progress line."""
    progress = Progress(label, duration_s, enabled=ctx.progress)
    try:
        return run_streams(
            make_client, workload, streams, duration_s, max_rounds=ctx.max_rounds,
            permute=permute, seed=ctx.seed, lane=lane, progress=progress,
            first_stream=first_stream,
        )
    finally:
        progress.finish()


def records_json(records: Sequence[Record]) -> list[dict[str, object]]:
    """Raw records for results.json."""
    return [r.to_json() for r in records]


def overall_rows(
    summaries: dict[str, dict[str, Any]], baseline: str
) -> list[list[Any]]:
    """One row per system: counts, queries/hour, percentiles, and ratios to the baseline."""
    base = summaries.get(baseline)
    rows = []
    for name, s in summaries.items():
        lat = s["latency"]
        rows.append([
            name, s["sent"], s["succeeded"], s["failed"], s["queries_per_hour"],
            lat["p50"], lat["p95"], lat["p99"],
            ratio(s["queries_per_hour"], base["queries_per_hour"]) if base else None,
            ratio(lat["p50"], base["latency"]["p50"]) if base else None,
        ])
    return rows


OVERALL_HEADERS = [
    "system", "sent", "ok", "failed", "queries/h", "p50 s", "p95 s", "p99 s",
    "q/h ÷ baseline", "p50 ÷ baseline",
]


def summarize_run(run: StreamRun) -> dict[str, Any]:
    """`summarize` of a StreamRun."""
    return summarize(run.records, run.elapsed_s)
