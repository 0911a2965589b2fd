"""`dashboard`: a few queries repeated by many clients, with occasional commits; the result
cache on vs off in one run.

A dashboard's tiles are a handful of aggregations that every viewer's browser sends again and
again; the data changes now and then. The workload: `QUERIES` (over TPC-H, one of them over a
small table the run commits to), `--streams` clients each repeating them in its own order for
`--duration` seconds, while a writer INSERTs one row into that table every `COMMIT_EVERY_S`
(every commit must invalidate that tile's cached answer: the run checks each answer of the
committed tile against the rows written so far). The same workload runs against a gateway with
the result cache off (``result_cache_bytes=0``) and one with it on; the report gives
throughput and latency for both, and on ÷ off for all queries and for repeats (queries answered
from the cache, counted through the Query History API's ``result_from_cache``). Goal (issue
20): ≥ 20x on repeats.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.clients import ClientError, Fetched, RestClient, Target
from bench.context import BenchContext, Section, Table
from bench.runner import StreamRun
from bench.scenarios.common import records_json, run_system, summarize_run
from bench.stats import latency_summary, ratio

GOAL_REPEAT_RATIO = 20.0
COMMIT_EVERY_S = 5.0
MODES = {"cache off": {"result_cache_bytes": "0"}, "cache on": {}}

# The tiles: (name, SQL). {events} is the table the writer commits to.
QUERIES = (
    ("revenue_by_nation",
     "SELECT n.n_name, sum(l.l_extendedprice * (1 - l.l_discount)) AS revenue "
     "FROM lineitem l JOIN orders o ON l.l_orderkey = o.o_orderkey "
     "JOIN customer c ON o.o_custkey = c.c_custkey JOIN nation n ON c.c_nationkey = n.n_nationkey "
     "GROUP BY n.n_name ORDER BY revenue DESC"),
    ("pricing_summary",
     "SELECT l_returnflag, l_linestatus, sum(l_quantity) AS qty, avg(l_discount) AS disc, "
     "count(*) AS n FROM lineitem WHERE l_shipdate <= DATE '1998-09-02' "
     "GROUP BY l_returnflag, l_linestatus ORDER BY 1, 2"),
    ("orders_by_priority",
     "SELECT o_orderpriority, count(*) AS n FROM orders "
     "WHERE o_orderdate >= DATE '1995-01-01' GROUP BY o_orderpriority ORDER BY 1"),
    ("top_customers",
     "SELECT c_name, c_acctbal FROM customer ORDER BY c_acctbal DESC LIMIT 10"),
    ("live_events", "SELECT count(*) AS n, max(id) AS last FROM {events}"),
)


def run(ctx: BenchContext) -> Section:
    """Both modes, the same workload and commits; the on ÷ off table."""
    section = Section("dashboard", params={
        "streams": ctx.streams, "duration_s": ctx.duration_s, "sf": ctx.sf,
        "queries": [q for q, _ in QUERIES], "commit_every_s": COMMIT_EVERY_S,
    })
    runs: dict[str, StreamRun] = {}
    extra: dict[str, dict[str, Any]] = {}
    for mode, settings in MODES.items():
        name = f"dashboard-{mode.replace(' ', '-')}"
        with ctx.gateway(settings, name=name) as target:
            if target is None:
                section.notes.append("no gateway (pass --start-local): nothing to measure")
                return section
            events = f"{ctx.catalog}.{ctx.schema}.dashboard_events_{mode.split()[-1]}"
            runs[mode], extra[mode] = _measure(ctx, target, events, mode)
    summaries = {mode: summarize_run(r) for mode, r in runs.items()}
    for mode in summaries:
        summaries[mode].update(extra[mode])
    section.summary = dict(summaries)
    section.raw = {m: {"elapsed_s": r.elapsed_s, "records": records_json(r.records)}
                   for m, r in runs.items()}
    off, on = summaries["cache off"], summaries["cache on"]
    rows = []
    for label, key in (("queries/h", "queries_per_hour"),):
        rows.append([label, off[key], on[key], ratio(on[key], off[key])])
    for q in ("p50", "p95"):
        rows.append([f"latency {q} s", off["latency"][q], on["latency"][q],
                     ratio(off["latency"][q], on["latency"][q])])
    rep_off, rep_on = off["repeat_latency"], on["repeat_latency"]
    for q in ("p50", "p95"):
        rows.append([f"repeat latency {q} s", rep_off[q], rep_on[q],
                     ratio(rep_off[q], rep_on[q])])
    section.summary["repeat_ratio_p50"] = rows[-2][-1]
    section.summary["throughput_ratio"] = rows[0][-1]
    section.tables.append(Table(
        f"Dashboard, {ctx.streams} clients, a commit every {COMMIT_EVERY_S:g} s: on vs off",
        ["metric", "cache off", "cache on", "gain (on vs off)"], rows))
    section.tables.append(Table(
        "Cache answers and correctness",
        ["mode", "answers", "from cache", "commits", "stale live_events answers"],
        [[m, s["succeeded"], s["from_cache"], s["commits"], s["stale"]]
         for m, s in summaries.items()]))
    verdict = rows[-2][-1]
    section.notes.append(
        f"repeats (answers from the cache) vs the same queries run: p50 {verdict}x "
        f"(goal >= {GOAL_REPEAT_RATIO:g}x: "
        f"{'met' if verdict and verdict >= GOAL_REPEAT_RATIO else 'MISSED'})")
    return section


def _measure(ctx: BenchContext, target: Target, events: str,
             mode: str) -> tuple[StreamRun, dict[str, Any]]:
    admin = RestClient(target, catalog=ctx.catalog, schema=ctx.schema,
                       timeout_s=ctx.query_timeout_s)
    try:
        admin.run(f"CREATE OR REPLACE TABLE {events} AS SELECT 0 AS id")
        workload = [(n, sql.format(events=events)) for n, sql in QUERIES]
        for _, sql in workload:  # warm: workers up, the tables' snapshots read once
            admin.run(sql)
        writer = _Writer(admin, events)
        answers: list[tuple[float, str | None]] = []
        writer.start()
        try:
            run = run_system(ctx, f"dashboard {mode}", _factory(ctx, target, writer, answers),
                             workload, ctx.streams, ctx.duration_s)
        finally:
            writer.stop()
    finally:
        admin.close()
    hits = [t for t, cache in answers if cache == "hit"]
    # Repeats: with the cache on, the answers it gave; off, every answer (each one is a
    # repeat of a tile run just before, only run again).
    repeats = hits if mode == "cache on" else [t for t, _ in answers]
    return run, {"from_cache": len(hits), "commits": writer.commits, "stale": writer.stale,
                 "repeat_latency": latency_summary(repeats)}


class _Writer:
    """INSERTs one row every COMMIT_EVERY_S; knows the latest committed id for the checks."""

    def __init__(self, client: RestClient, table: str) -> None:
        self.client, self.table = client, table
        self.committed = 0  # ids 0..committed are in the table
        self.commits = 0
        self.stale = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _loop(self) -> None:
        while not self._stop.wait(COMMIT_EVERY_S):
            nxt = self.committed + 1
            try:
                self.client.run(f"INSERT INTO {self.table} VALUES ({nxt})")
            except ClientError:
                continue
            self.committed = nxt
            self.commits += 1


class _Tile:
    """A dashboard viewer: one POST per tile (small INLINE results), noting each answer's
    latency and ``sqlgate.cache``; a live_events answer older than the last commit that
    finished before it was asked is counted as stale (a cache must never give one)."""

    def __init__(self, client: RestClient, writer: _Writer,
                 answers: list[tuple[float, str | None]]) -> None:
        self.client, self.writer, self.answers = client, writer, answers

    def run(self, sql: str) -> Fetched:
        floor = self.writer.committed
        start = time.perf_counter()
        resp = self.client.request("POST", "/api/2.0/sql/statements", {
            "statement": sql, "warehouse_id": self.client.target.warehouse_id,
            "wait_timeout": "50s", "catalog": self.client.catalog,
            "schema": self.client.schema})
        status = resp.get("status", {})
        if status.get("state") != "SUCCEEDED":
            error = status.get("error") or {}
            raise ClientError(error.get("error_code", "FAILED"), error.get("message", ""))
        rows = resp.get("result", {}).get("data_array") or []
        self.answers.append((time.perf_counter() - start, resp.get("sqlgate", {}).get("cache")))
        if self.writer.table in sql and rows and int(rows[0][1]) < floor:
            self.writer.stale += 1
        return Fetched(rows=len(rows))

    def close(self) -> None:
        self.client.close()


def _factory(ctx: BenchContext, target: Target, writer: _Writer,
             answers: list[tuple[float, str | None]]) -> Any:
    def make(_: int) -> _Tile:
        client = RestClient(target, catalog=ctx.catalog, schema=ctx.schema,
                            timeout_s=ctx.query_timeout_s)
        return _Tile(client, writer, answers)

    return make


__all__ = ["QUERIES", "run"]
