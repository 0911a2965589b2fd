"""`select1`: REST `SELECT 1` through a real gateway against its floor, measured in one run.

The floor of a REST statement is what no gateway can avoid: an HTTP request and JSON answer
on the same uvicorn stack (bench/floor_server.py: a bare Starlette endpoint served through
`gateway.server.make_server`, the gateway's loop and HTTP settings, in its own process as
the gateway is) plus DuckDB's own `SELECT 1` in-process. The three are timed in many short
interleaved rounds (25 sequential calls of each part, the order rotated every round, one
keep-alive client per endpoint opened once), so drift of a shared, loaded machine hits all of
them alike, and the report gives

    ratio = gateway ÷ (bare endpoint + DuckDB SELECT 1)

at p50 and p95 over all calls, and the median of the per-round p50 ratios (each round's three
parts measured within a second of each other), with the load average around the run. Goal
(issue 14): ratio at p50 <= 3. Without a gateway (neither --gateway nor --start-local) only
the floor is measured. A local run also times a second gateway whose worker takes
statements over Flight (``worker_stream = false``, as a worker on another host is reached)
in the same rounds: what the local worker's Unix-socket lane saves, measured side by side.
"""

from __future__ import annotations

import contextlib
import functools
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import duckdb
import httpx

from bench import rest_latency
from bench.clients import Target
from bench.context import BenchContext, Section, Table
from bench.floor_server import FloorServer
from bench.local import LocalError
from bench.stats import latency_summary, ratio

GOAL_RATIO_P50 = 3.0
# Calls per part per round: each call is ~1-10 ms, so a round of all the parts takes about a
# second and the parts see the same machine.
_PER_ROUND = 25
# Rounds per --repeats: 5 repeats give 40 rounds, 1,000 calls a part.
_ROUNDS_PER_REPEAT = 8
_WARM_CALLS = 20
_WARM_TIMEOUT_S = 90.0
FLIGHT = "gateway, Flight lane"
PARTS = ("gateway", "bare endpoint", "duckdb select 1", FLIGHT)
FLOOR = ("bare endpoint", "duckdb select 1")


def run(ctx: BenchContext) -> Section:
    """Interleaved rounds of the parts; the ratio at p50 and p95."""
    rounds = ctx.repeats * (_ROUNDS_PER_REPEAT if ctx.repeats > 2 else 2)
    section = Section("select1", params={"rounds": rounds, "calls_per_round": _PER_ROUND,
                                         "load_before": _load()})
    samples: dict[str, list[float]] = {p: [] for p in PARTS}
    round_ratios: list[float] = []
    with ctx.gateway() as target, FloorServer() as floor_url, \
            httpx.Client(base_url=floor_url, timeout=60) as bare, \
            contextlib.ExitStack() as stack:
        calls: dict[str, Callable[[], object]] = {}
        if target is None:
            section.notes.append("no gateway: only the floor (bare endpoint + DuckDB) measured")
        else:
            calls["gateway"] = _statement(stack, target)
            if ctx.target is None:  # a gateway of our own: its Flight-lane twin too
                flight = stack.enter_context(ctx.gateway({"worker_stream": "false"},
                                                         name="gateway-flight"))
                if flight is not None:
                    calls[FLIGHT] = _statement(stack, flight)
        calls["bare endpoint"] = functools.partial(
            rest_latency.run_select_1, bare, "unused",
            warehouse=target.warehouse_id if target else "floor")
        con = stack.enter_context(duckdb.connect())
        calls["duckdb select 1"] = lambda: con.sql("SELECT 1").fetchall()
        for call in calls.values():
            for _ in range(_WARM_CALLS):
                call()
        names = list(calls)
        for i in range(rounds):
            got: dict[str, list[float]] = {}
            for name in names[i % len(names):] + names[:i % len(names)]:
                got[name] = _timed(calls[name], _PER_ROUND)
                samples[name] += got[name]
            r = _round_ratio(got)
            if r is not None:
                round_ratios.append(r)
    section.params["load_after"] = _load()
    summary: dict[str, Any] = {p: latency_summary(s) for p, s in samples.items()}
    for q in ("p50", "p95"):
        base = [summary[p][q] for p in FLOOR]
        floor_s = None if None in base else sum(base)
        summary[f"floor_{q}"] = floor_s
        summary[f"ratio_{q}"] = ratio(summary["gateway"][q], floor_s)
    summary["ratio_p50_rounds_median"] = (
        statistics.median(round_ratios) if round_ratios else None)
    summary["flight_lane_ratio_p50"] = ratio(summary[FLIGHT]["p50"], summary["floor_p50"])
    summary["stream_over_flight_p50"] = ratio(summary["gateway"]["p50"], summary[FLIGHT]["p50"])
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
         ["p95", _ms(summary["floor_p95"]), r95, None, None],
         ["p50, median of rounds", None, summary["ratio_p50_rounds_median"], None, None],
         ["p50, Flight lane", None, summary["flight_lane_ratio_p50"], None, None]],
    ))
    section.tables.append(Table(
        "the local worker's Unix-socket lane against its Flight lane (same rounds)",
        ["part", "p50 ms", "gateway ÷ Flight lane"],
        [[FLIGHT, _ms(summary[FLIGHT]["p50"]), summary["stream_over_flight_p50"]]],
    ))
    section.notes.append(
        "load average (1/5/15 min) before: {} after: {} on {} CPUs".format(
            section.params["load_before"], section.params["load_after"], os.cpu_count()))
    return section


def _timed(call: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        out.append(time.perf_counter() - t0)
    return out


def _statement(stack: contextlib.ExitStack, target: Target) -> Callable[[], object]:
    """One REST SELECT 1 on `target` (warmed first), over a keep-alive client of its own."""
    _warm(target)
    client = stack.enter_context(httpx.Client(base_url=target.url, timeout=60))
    return functools.partial(rest_latency.run_select_1, client, target.token,
                             warehouse=target.warehouse_id)


def _round_ratio(got: dict[str, list[float]]) -> float | None:
    """One round's gateway p50 over its floor's (None without a gateway)."""
    if "gateway" not in got:
        return None
    floor = statistics.median(got["bare endpoint"]) + statistics.median(got["duckdb select 1"])
    return statistics.median(got["gateway"]) / floor if floor > 0 else None


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # no load average on this platform
        return None


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
