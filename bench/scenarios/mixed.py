"""`mixed`: long scans and short lookups at once, with the dual queue and in FIFO mode.

Long streams run heavy TPC-H queries (q01, q09, q18 over lineitem); short streams run
point lookups on orders and customer by key and tiny aggregates on the small tables.
With `--start-local` the scenario starts two gateways one after the other, the same pool
(`min_workers = max_workers`, so every slot is warm from the start) with the default
classification thresholds:

1. `fifo=false`: one untimed warm-up pass of the workload, the short streams alone
   (the *unloaded* baseline), then the mix;
2. `fifo=true`: the same warm-up, then the same mix.

There are as many long streams as the pool has slots (max_workers x worker_concurrency),
so long scans alone can fill it. Short streams start a statement at most every
`_SHORT_INTERVAL_S` (users with think time), so both modes offer the same short load and
the long throughputs compare. Every statement is labelled with the lane the gateway
reported in the response's extra ``sqlgate`` field, not with the stream it came from; a
lookup the gateway called long is a misprediction and counted as such. At the end of
each phase the pool's gauges are read from ``/metrics`` (lane waits, demotions).
DuckDB in-process runs the same mix as the in-run floor of the machine.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx

from bench import plots
from bench.clients import Client, DuckDBClient, Fetched, RestClient, Target, duckdb_baseline
from bench.context import BenchContext, Section, Table
from bench.queries import translate
from bench.runner import Progress, StreamRun, run_streams
from bench.stats import Record, latency_summary, ratio

LONG_QUERIES = ("q01", "q09", "q18")
_LOOKUPS = 64
# Short streams beside the long ones: enough to measure a p95, few enough not to be a load.
_SHORT_STREAMS = 4
# Each short stream starts a statement at most this often (a user with think time).
_SHORT_INTERVAL_S = 0.25
# Pool gauges carry warehouse_id (one pool per workspace); the bench drives one workspace.
_METRIC = re.compile(
    r'^(sqlgate_pool_[a-z0-9_]+)(\{(?:key="([^"]*)",?)?(?:warehouse_id="[^"]*")?\})? ([-0-9.e+]+)$')


def lookups(seed: int, sf: float) -> list[tuple[str, str]]:
    """Point lookups by key and tiny aggregates (Databricks SQL), deterministic per seed."""
    rnd = random.Random(seed)
    orders, customers = max(1, int(1_500_000 * sf)), max(1, int(150_000 * sf))
    shapes = (
        lambda: "SELECT o_orderstatus, o_totalprice, o_orderdate FROM orders "
                f"WHERE o_orderkey = {4 * rnd.randint(1, orders) - 3}",
        lambda: "SELECT c_name, c_acctbal, c_mktsegment FROM customer "
                f"WHERE c_custkey = {rnd.randint(1, customers)}",
        lambda: "SELECT n_name, r_name FROM nation JOIN region ON n_regionkey = r_regionkey "
                f"WHERE n_nationkey = {rnd.randint(0, 24)}",
        lambda: "SELECT count(*), sum(s_acctbal) FROM supplier "
                f"WHERE s_nationkey = {rnd.randint(0, 24)}",
    )
    return [("lookup", shapes[i % len(shapes)]()) for i in range(_LOOKUPS)]


class LaneClient(RestClient):
    """A REST client that keeps, per statement, the ``sqlgate`` extra the gateway reported."""

    def __init__(self, target: Target, **kw: Any) -> None:
        super().__init__(target, **kw)
        self.reports: list[dict[str, Any]] = []
        self._extra: dict[str, Any] = {}

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One API call, remembering the newest ``sqlgate`` field of a statement response."""
        resp = super().request(method, path, body)
        if isinstance(resp, dict) and isinstance(resp.get("sqlgate"), dict):
            self._extra = resp["sqlgate"]
        return resp

    def run(self, sql: str) -> Fetched:
        """Run like RestClient; one report per call, failed or not, in call order."""
        self._extra = {}
        try:
            return super().run(sql)
        finally:
            self.reports.append(dict(self._extra))


def run(ctx: BenchContext) -> Section:
    """Unloaded, dual queue and FIFO (local) or the given gateway, plus DuckDB in-process."""
    lake = ctx.lake()
    all_queries = ctx.queries()
    long_work = [(n, all_queries[n]) for n in LONG_QUERIES if n in all_queries] or list(
        all_queries.items())[:1]
    short_work = lookups(ctx.seed, ctx.sf)
    pool = ctx.gateway_settings().pool
    slots = pool.max_workers * pool.worker_concurrency
    n_long = slots if ctx.has_gateway else max(1, ctx.streams // 2)
    n_short = max(1, min(_SHORT_STREAMS, ctx.streams))
    section = Section("mixed", params={
        "long_streams": n_long, "short_streams": n_short, "duration_s": ctx.duration_s,
        "long_queries": [n for n, _ in long_work], "lookups": len(short_work),
        "pool_slots": slots, "short_max_bytes": pool.short_max_bytes,
    })
    runs: dict[str, StreamRun] = {}
    pool_metrics: dict[str, dict[str, Any]] = {}
    phases = [("dual queue", {"fifo": "false"}), ("fifo", {"fifo": "true"})]
    if ctx.target is not None:
        phases = [("given gateway", {})]
    elif not ctx.start_local:
        phases = []
        section.notes.append("no gateway: DuckDB baseline only")
    for mode, extra in phases:
        settings = {"min_workers": str(pool.max_workers), **extra}
        with ctx.gateway(settings, name=f"mixed-{mode.replace(' ', '-')}") as target:
            assert target is not None
            make = _lane_factory(ctx, target)
            _warm_up(make, long_work + short_work[:8])
            if mode != "fifo":
                runs["unloaded"] = _streams(
                    ctx, "mixed unloaded short", make, [], short_work, 0, n_short)
            runs[mode] = _streams(
                ctx, f"mixed {mode}", make, long_work, short_work, n_long, n_short)
            pool_metrics[mode] = scrape_pool_metrics(target)
    conn = duckdb_baseline(lake.files, ctx.engine_threads())
    try:
        runs["duckdb in-process"] = _streams(
            ctx, "mixed duckdb", lambda _: DuckDBClient(conn),
            [(n, translate(q)) for n, q in long_work],
            [(n, translate(q)) for n, q in short_work], n_long, n_short)
    finally:
        conn.close()
    _report(section, runs, pool_metrics, ctx)
    return section


def _report(section: Section, runs: dict[str, StreamRun],
            pool_metrics: dict[str, dict[str, Any]], ctx: BenchContext) -> None:
    summary: dict[str, Any] = {}
    for mode, r in runs.items():
        s: dict[str, Any] = {
            lane: {**latency_summary([x.seconds for x in r.records if x.lane == lane and x.ok]),
                   "errors": sum(1 for x in r.records if x.lane == lane and not x.ok)}
            for lane in ("short", "long")
        }
        longs_ok = sum(1 for x in r.records if x.query != "lookup" and x.ok)
        s["long_per_min"] = longs_ok / r.elapsed_s * 60.0 if r.elapsed_s > 0 else 0.0
        s["lookups_called_long"] = sum(
            1 for x in r.records if x.query == "lookup" and x.lane == "long")
        s["scans_called_short"] = sum(
            1 for x in r.records if x.query != "lookup" and x.lane == "short")
        s["elapsed_s"] = r.elapsed_s
        if mode in pool_metrics:
            s["pool"] = pool_metrics[mode]
        summary[mode] = s
    section.summary = summary
    section.raw = {m: {"elapsed_s": r.elapsed_s, "records": [x.to_json() for x in r.records]}
                   for m, r in runs.items()}
    fifo_p95 = summary.get("fifo", {}).get("short", {}).get("p95")
    unloaded_p95 = summary.get("unloaded", {}).get("short", {}).get("p95")
    rows = []
    for mode, s in summary.items():
        for lane in ("short", "long"):
            x = s[lane]
            rows.append([mode, lane, x["count"], x["errors"], x["p50"], x["p95"], x["p99"],
                         ratio(fifo_p95, x["p95"]) if lane == "short" else None,
                         ratio(x["p95"], unloaded_p95) if lane == "short" else None])
    section.tables.append(Table(
        "Latency per reported lane (short = the gateway classified it short)",
        ["mode", "lane", "n", "errors", "p50 s", "p95 s", "p99 s",
         "fifo short p95 ÷ this", "this ÷ unloaded p95"], rows))
    section.tables.append(Table(
        "Long throughput and mispredictions",
        ["mode", "long ok / min", "lookups called long", "scans called short",
         "demoted (pool)", "short wait p95 s (pool)", "long wait p95 s (pool)"],
        [[mode, s["long_per_min"], s["lookups_called_long"], s["scans_called_short"],
          s.get("pool", {}).get("mispredictions"),
          s.get("pool", {}).get("lane_wait_p95_s", {}).get("short"),
          s.get("pool", {}).get("lane_wait_p95_s", {}).get("long")]
         for mode, s in summary.items()]))
    lanes = {f"{m} {lane}": [x.seconds for x in r.records if x.lane == lane and x.ok]
             for m, r in runs.items() for lane in ("short", "long")}
    section.plots.append(str(plots.latency_boxes(
        lanes, ctx.out / "mixed-latency.png", "Short lookups vs long scans per mode",
    ).relative_to(ctx.out)))


def _lane_factory(ctx: BenchContext, target: Target) -> Callable[[int], Client]:
    def make(_: int) -> Client:
        return LaneClient(target, catalog=ctx.catalog, schema=ctx.schema,
                          timeout_s=ctx.query_timeout_s)

    return make


def _warm_up(make: Callable[[int], Client], work: Sequence[tuple[str, str]]) -> None:
    """One untimed pass, so both modes start with warm caches and the same fingerprints."""
    client = make(0)
    try:
        for _, sql in work:
            client.run(sql)
    finally:
        client.close()


class Paced:
    """Starts a stream's statements at most every `interval_s` (0: back to back).

    Short streams are users with think time, not a closed loop: otherwise whichever mode
    answers lookups faster also sends more of them, and that extra load would be billed
    to the long scans' throughput. Keeps, per call, the time it waited and what the
    gateway reported.
    """

    def __init__(self, inner: Client, interval_s: float) -> None:
        self.inner = inner
        self.name = inner.name
        self.interval_s = interval_s
        self.calls: list[tuple[float, dict[str, Any]]] = []
        self._next = 0.0

    def run(self, sql: str) -> Fetched:
        """Wait for the stream's next start, then run `sql` on the inner client."""
        waited = max(0.0, self._next - time.perf_counter())
        time.sleep(waited)
        self._next = time.perf_counter() + self.interval_s
        try:
            return self.inner.run(sql)
        finally:
            reports = getattr(self.inner, "reports", None)
            self.calls.append((waited, reports[-1] if reports else {}))

    def close(self) -> None:
        """Close the inner client."""
        self.inner.close()


def _relabel(result: StreamRun, clients: dict[int, Paced]) -> StreamRun:
    """Records without the pacing wait, and with the lane the gateway reported."""
    by_stream: dict[int, list[Record]] = {}
    for rec in result.records:
        if rec.query != "connect":
            by_stream.setdefault(rec.stream, []).append(rec)
    out: list[Record] = []
    for sid, recs in by_stream.items():
        # A stream runs one statement at a time: its records and calls share an order.
        for rec, (waited, rep) in zip(sorted(recs, key=lambda r: r.start), clients[sid].calls,
                                      strict=False):
            out.append(replace(rec, start=rec.start + waited,
                               lane=str(rep.get("lane") or rec.lane)))
    out.sort(key=lambda r: (r.start, r.stream))
    return StreamRun(out, result.elapsed_s, result.orders)


def scrape_pool_metrics(target: Target) -> dict[str, Any]:
    """The ``sqlgate_pool_*`` gauges of /metrics: plain values, or {key: value} for labelled."""
    out: dict[str, Any] = {}
    try:
        resp = httpx.get(f"{target.url}/metrics", timeout=10.0,
                         headers={"Authorization": f"Bearer {target.token}"})
    except httpx.HTTPError:
        return out
    for line in resp.text.splitlines():
        m = _METRIC.match(line)
        if m is None:
            continue
        name, key, value = m.group(1).removeprefix("sqlgate_pool_"), m.group(3), m.group(4)
        if key is None:
            out[name] = float(value)
        else:
            out.setdefault(name, {})[key] = float(value)
    return out


def _streams(
    ctx: BenchContext, label: str, make: Callable[[int], Client],
    long_work: list[tuple[str, str]], short_work: list[tuple[str, str]],
    n_long: int, n_short: int,
) -> StreamRun:
    """Long and short streams side by side for the run's duration, labelled by workload."""
    progress = Progress(label, ctx.duration_s, enabled=ctx.progress)

    def lane(name: str, work: list[tuple[str, str]], n: int, first: int,
             interval_s: float) -> StreamRun:
        clients: dict[int, Paced] = {}

        def tracked(sid: int) -> Client:
            clients[sid] = Paced(make(sid), interval_s)
            return clients[sid]

        return _relabel(run_streams(
            tracked, work, n, ctx.duration_s, max_rounds=ctx.max_rounds, seed=ctx.seed,
            lane=name, progress=progress, first_stream=first), clients)

    try:
        with ThreadPoolExecutor(2) as pool:
            longs = pool.submit(lane, "long", long_work, n_long, 0, 0.0) if n_long else None
            shorts = pool.submit(lane, "short", short_work, n_short, n_long, _SHORT_INTERVAL_S)
            a = longs.result() if longs is not None else StreamRun()
            b = shorts.result()
    finally:
        progress.finish()
    records: list[Record] = sorted(a.records + b.records, key=lambda r: (r.start, r.stream))
    return StreamRun(records, max(a.elapsed_s, b.elapsed_s), a.orders + b.orders)
