"""`statestore`: what the durable control plane costs the hot path, measured in one run.

Two local gateways over the same lake, alike but for ``state_store``: the default (SQLite
beside the results, every statement and state change written behind) and ``none``. Both
have the result cache off, so every statement runs. Measured:

- REST ``SELECT 1``, sequential calls from one keep-alive client, in interleaved rounds (store,
  none, store, none...) so drift of the machine hits both alike: p50/p95 and the ratio;
- the `concurrency` workload (`--streams` streams of the TPC-H queries, `--duration` s each),
  first with the store, then without: throughput and p95, and the ratios.

Goal: the store costs the hot path nothing measurable (ratios ~1.0).
"""

from __future__ import annotations

from typing import Any

from bench import rest_latency
from bench.context import BenchContext, Section, Table
from bench.scenarios.common import rest_factory, run_system, summarize_run
from bench.scenarios.select1 import _warm
from bench.stats import latency_summary, ratio

MODES = {"state store (sqlite)": {"result_cache_bytes": "0"},
         "no state store": {"result_cache_bytes": "0", "state_store": "none"}}
_PER_ROUND = 200


def run(ctx: BenchContext) -> Section:
    """SELECT 1 interleaved on both gateways, then the concurrency workload on each."""
    section = Section("statestore", params={
        "streams": ctx.streams, "duration_s": ctx.duration_s, "sf": ctx.sf,
        "select1_rounds": ctx.repeats, "select1_calls_per_round": _PER_ROUND,
    })
    names = list(MODES)
    samples: dict[str, list[float]] = {m: [] for m in names}
    with ctx.gateway(MODES[names[0]], name="state-on") as on, \
         ctx.gateway(MODES[names[1]], name="state-off") as off:
        if on is None or off is None:
            section.notes.append("no gateway (pass --start-local): nothing to measure")
            return section
        targets = dict(zip(names, (on, off), strict=True))
        for t in targets.values():
            _warm(t)
        for _ in range(ctx.repeats):
            for mode, t in targets.items():
                samples[mode] += rest_latency.measure_rest(t.url, t.token, t.warehouse_id,
                                                           n=_PER_ROUND)
        workload = list(ctx.queries().items())
        runs = {mode: run_system(ctx, f"statestore {mode}", rest_factory(ctx, t), workload,
                                 ctx.streams, ctx.duration_s)
                for mode, t in targets.items()}
    select1: dict[str, Any] = {m: latency_summary(s) for m, s in samples.items()}
    streams = {m: summarize_run(r) for m, r in runs.items()}
    a, b = names
    section.summary = {"select1": select1, "concurrency": streams}
    rows = [[f"SELECT 1 {q} ms", _ms(select1[a][q]), _ms(select1[b][q]),
             ratio(select1[a][q], select1[b][q])] for q in ("p50", "p95")]
    rows.append(["concurrency queries/h", streams[a]["queries_per_hour"],
                 streams[b]["queries_per_hour"],
                 ratio(streams[a]["queries_per_hour"], streams[b]["queries_per_hour"])])
    rows += [[f"concurrency latency {q} s", streams[a]["latency"][q], streams[b]["latency"][q],
              ratio(streams[a]["latency"][q], streams[b]["latency"][q])] for q in ("p50", "p95")]
    rows.append(["concurrency failed", streams[a]["failed"], streams[b]["failed"], None])
    section.tables.append(Table(
        f"With vs without the state store (SELECT 1: {ctx.repeats} x {_PER_ROUND} calls each, "
        f"interleaved; concurrency: {ctx.streams} streams x {ctx.duration_s:g} s each)",
        ["metric", a, b, "ratio (store ÷ none)"], rows))
    section.raw = {"select1": samples}
    return section


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


__all__ = ["run"]
