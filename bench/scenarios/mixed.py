"""`mixed`: long scans and short lookups at once, with the dual queue and in FIFO mode.

Long streams run heavy TPC-H queries over lineitem; short streams run point lookups on
the small tables. With `--start-local` the scenario runs two gateways one after the
other (`fifo=false`, then `fifo=true`) with `short_max_bytes` set between the small tables
and lineitem, so the estimate puts each statement in its lane; a given `--gateway` runs in
whatever mode it has. DuckDB in-process runs the same mix as the in-run baseline.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench import plots
from bench.clients import Client, DuckDBClient, duckdb_baseline
from bench.context import BenchContext, Section, Table
from bench.queries import translate
from bench.runner import Progress, StreamRun, run_streams
from bench.scenarios.common import records_json, rest_factory
from bench.stats import Record, latency_summary, ratio

LONG_QUERIES = ("q01", "q09", "q18", "q21")
_LOOKUPS = 64
_SHORT_TABLES = ("nation", "region", "supplier")


def lookups(seed: int, sf: float) -> list[tuple[str, str]]:
    """Point lookups by key on the small tables (Databricks SQL), deterministic per seed."""
    rnd = random.Random(seed)
    suppliers = max(1, int(10_000 * sf))
    out = []
    for i in range(_LOOKUPS):
        if i % 2:
            out.append(("lookup", f"SELECT s_name, s_acctbal FROM supplier "
                                  f"WHERE s_suppkey = {rnd.randint(1, suppliers)}"))
        else:
            out.append(("lookup", f"SELECT n_name, r_name FROM nation JOIN region "
                                  f"ON n_regionkey = r_regionkey "
                                  f"WHERE n_nationkey = {rnd.randint(0, 24)}"))
    return out


def run(ctx: BenchContext) -> Section:
    """Dual queue vs FIFO (local) or the given gateway, plus the DuckDB baseline."""
    lake = ctx.lake()
    all_queries = ctx.queries()
    long_work = [(n, all_queries[n]) for n in LONG_QUERIES if n in all_queries] or list(
        all_queries.items())[:1]
    short_work = lookups(ctx.seed, ctx.sf)
    n_long = max(1, ctx.streams // 2)
    n_short = max(1, ctx.streams - n_long)
    small = max(sum(Path(f).stat().st_size for f in lake.files[t]) for t in _SHORT_TABLES)
    threshold = str(small * 4)
    section = Section("mixed", params={
        "long_streams": n_long, "short_streams": n_short, "duration_s": ctx.duration_s,
        "long_queries": [n for n, _ in long_work], "lookups": len(short_work),
        "short_max_bytes": threshold,
        "lineitem_bytes": sum(Path(f).stat().st_size for f in lake.files["lineitem"]),
    })
    modes: dict[str, StreamRun] = {}
    phases = [("dual queue", {"fifo": "false"}), ("fifo", {"fifo": "true"})]
    if ctx.target is not None:
        phases = [("given gateway", {})]
    elif not ctx.start_local:
        phases = []
        section.notes.append("no gateway: DuckDB baseline only")
    for mode, extra in phases:
        settings = {"short_max_bytes": ctx.settings.get("short_max_bytes", threshold), **extra}
        with ctx.gateway(settings, name=f"mixed-{mode.replace(' ', '-')}") as target:
            assert target is not None
            make = rest_factory(ctx, target)
            modes[mode] = _mix(ctx, f"mixed {mode}", make, long_work, short_work,
                               n_long, n_short)
    conn = duckdb_baseline(lake.files, ctx.engine_threads())
    try:
        modes["duckdb in-process"] = _mix(
            ctx, "mixed duckdb", lambda _: DuckDBClient(conn),
            [(n, translate(q)) for n, q in long_work],
            [(n, translate(q)) for n, q in short_work], n_long, n_short)
    finally:
        conn.close()

    summary: dict[str, Any] = {}
    for mode, r in modes.items():
        summary[mode] = {
            lane: {**latency_summary([x.seconds for x in r.records if x.lane == lane and x.ok]),
                   "errors": sum(1 for x in r.records if x.lane == lane and not x.ok)}
            for lane in ("short", "long")
        }
        summary[mode]["elapsed_s"] = r.elapsed_s
    section.summary = summary
    section.raw = {m: {"elapsed_s": r.elapsed_s, "records": records_json(r.records)}
                   for m, r in modes.items()}
    rows = []
    fifo = summary.get("fifo", {})
    for mode in modes:
        for lane in ("short", "long"):
            s = summary[mode][lane]
            rows.append([mode, lane, s["count"], s["errors"], s["p50"], s["p95"], s["p99"],
                         ratio(s["p95"], fifo.get(lane, {}).get("p95"))])
    section.tables.append(Table(
        "Latency per lane", ["mode", "lane", "n", "errors", "p50 s", "p95 s", "p99 s",
                             "p95 ÷ fifo p95"], rows))
    lanes = {f"{m} {lane}": [x.seconds for x in r.records if x.lane == lane and x.ok]
             for m, r in modes.items() for lane in ("short", "long")}
    section.plots.append(str(plots.latency_boxes(
        lanes, ctx.out / "mixed-latency.png", "Short lookups vs long scans per mode",
    ).relative_to(ctx.out)))
    return section


def _mix(
    ctx: BenchContext, label: str, make: Any, long_work: list[tuple[str, str]],
    short_work: list[tuple[str, str]], n_long: int, n_short: int,
) -> StreamRun:
    progress = Progress(label, ctx.duration_s, enabled=ctx.progress)

    def lane(name: str, work: list[tuple[str, str]], n: int, first: int) -> StreamRun:
        def client(i: int) -> Client:
            c: Client = make(i)
            return c

        return run_streams(client, work, n, ctx.duration_s, max_rounds=ctx.max_rounds,
                           seed=ctx.seed, lane=name, progress=progress, first_stream=first)

    try:
        with ThreadPoolExecutor(2) as pool:
            longs = pool.submit(lane, "long", long_work, n_long, 0)
            shorts = pool.submit(lane, "short", short_work, n_short, n_long)
            a, b = longs.result(), shorts.result()
    finally:
        progress.finish()
    records: list[Record] = sorted(a.records + b.records, key=lambda r: (r.start, r.stream))
    return StreamRun(records, max(a.elapsed_s, b.elapsed_s), a.orders + b.orders)
