"""`statestore`: what the durable control plane costs the hot path, measured in one run.

Two local gateways over the same lake, alike but for ``state_store``: the default (SQLite
beside the results, every statement and state change written behind) and ``none``. Both
have the result cache off, so every statement runs. Measured:

- REST ``SELECT 1``, sequential calls from one keep-alive client, in interleaved rounds (store,
  none, store, none...) so drift of the machine hits both alike: p50/p95 and the ratio, and
  the median and spread (min to max) of the per-round p50 ratios;
- the `concurrency` workload (`--streams` streams of the TPC-H queries, `--duration` s each)
  in `--repeats` interleaved rounds (store first in odd rounds, none first in even ones):
  per-round throughput and p95 ratios, reported as their median and spread. One long run
  each was noise on a loaded host (the load moved more than the store could).

Goal: the store costs the hot path nothing measurable (ratios ~1.0).
"""

from __future__ import annotations

import statistics
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
    select1_ratios: list[float] = []
    rounds: list[dict[str, dict[str, Any]]] = []
    with ctx.gateway(MODES[names[0]], name="state-on") as on, \
         ctx.gateway(MODES[names[1]], name="state-off") as off:
        if on is None or off is None:
            section.notes.append("no gateway (pass --start-local): nothing to measure")
            return section
        targets = dict(zip(names, (on, off), strict=True))
        for t in targets.values():
            _warm(t)
        for _ in range(ctx.repeats):
            p50: dict[str, float | None] = {}
            for mode, t in targets.items():
                got = rest_latency.measure_rest(t.url, t.token, t.warehouse_id, n=_PER_ROUND)
                samples[mode] += got
                p50[mode] = latency_summary(got)["p50"]
            r = ratio(p50[names[0]], p50[names[1]])
            if r is not None:
                select1_ratios.append(r)
        workload = list(ctx.queries().items())
        for n in range(ctx.repeats):
            order = names if n % 2 == 0 else names[::-1]
            rounds.append({mode: summarize_run(run_system(
                ctx, f"statestore {mode} round {n + 1}", rest_factory(ctx, targets[mode]),
                workload, ctx.streams, ctx.duration_s)) for mode in order})
    select1: dict[str, Any] = {m: latency_summary(s) for m, s in samples.items()}
    a, b = names
    qph = [ratio(r[a]["queries_per_hour"], r[b]["queries_per_hour"]) for r in rounds]
    p95 = [ratio(r[a]["latency"]["p95"], r[b]["latency"]["p95"]) for r in rounds]
    section.summary = {"select1": select1, "select1_p50_ratio": spread(select1_ratios),
                       "concurrency_rounds": rounds,
                       "concurrency_qph_ratio": spread([x for x in qph if x is not None]),
                       "concurrency_p95_ratio": spread([x for x in p95 if x is not None])}
    rows = [[f"SELECT 1 {q} ms", _ms(select1[a][q]), _ms(select1[b][q]),
             ratio(select1[a][q], select1[b][q])] for q in ("p50", "p95")]
    section.tables.append(Table(
        f"SELECT 1 with vs without the state store ({ctx.repeats} x {_PER_ROUND} calls each, "
        f"interleaved)", ["metric", a, b, "ratio (store ÷ none)"], rows))
    per_round = [[n + 1, r[a]["queries_per_hour"], r[b]["queries_per_hour"], qph[n],
                  r[a]["latency"]["p95"], r[b]["latency"]["p95"], p95[n],
                  r[a]["failed"] + r[b]["failed"]] for n, r in enumerate(rounds)]
    section.tables.append(Table(
        f"Concurrency with vs without the state store, per round ({ctx.streams} streams x "
        f"{ctx.duration_s:g} s each, interleaved)",
        ["round", f"{a} q/h", f"{b} q/h", "q/h ratio", f"{a} p95 s", f"{b} p95 s",
         "p95 ratio", "failed"], per_round))
    summary_rows = [[name, *_cells(spread(values))] for name, values in (
        ("SELECT 1 p50 (store ÷ none)", select1_ratios),
        ("concurrency queries/h (store ÷ none)", [x for x in qph if x is not None]),
        ("concurrency p95 (store ÷ none)", [x for x in p95 if x is not None]))]
    section.tables.append(Table("Same-run ratios: median and spread over the rounds",
                                ["ratio", "median", "min", "max", "rounds"], summary_rows))
    section.raw = {"select1": samples}
    return section


def spread(values: list[float]) -> dict[str, float | int | None]:
    """Median, min and max of per-round ratios (and how many rounds).

    >>> spread([1.1, 0.9, 1.0])
    {'median': 1.0, 'min': 0.9, 'max': 1.1, 'rounds': 3}
    """
    if not values:
        return {"median": None, "min": None, "max": None, "rounds": 0}
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "rounds": len(values)}


def _cells(s: dict[str, float | int | None]) -> list[float | int | None]:
    return [s["median"], s["min"], s["max"], s["rounds"]]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


__all__ = ["run", "spread"]
