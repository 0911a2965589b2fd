"""Cold start and warm dispatch overhead of the pool, measured directly (no HTTP).

    python -m bench.coldstart [--runs 10] [--warm 300] [--lake DIR]

- cold start: warehouse STOPPED -> first row of ``SELECT 1`` through `WarehousePool.run`
  (worker process start, imports, Engine, Flight connect, statement); p50 and p99;
- warm dispatch: the same statement on a running pool, split into
  engine-only time (in-process `Engine.execute`), the Flight round trip
  gateway -> worker -> gateway (`FlightWorker.run`) and the whole `pool.run`
  (fingerprint, estimate, queue, dispatch). Overhead = round trip - engine-only.

Goals (issue 4): cold start p50 <= 1.5 s, warm dispatch overhead p50 <= 2 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gateway.pool.provider import Call
from gateway.pool.warehouse import STOPPED, WarehousePool
from sqlgate.settings import Settings
from sqlgate.types import ChunkInfo, CostEstimate, StatementTask

# Bounds a worker start that never ends (the run fails then), not a slow one.
_START_TIMEOUT_S = 120.0


class _Events:
    def queued(self, estimate: CostEstimate, lane: str) -> None:
        pass

    def running(self) -> None:
        pass

    def chunk_stored(self, chunk: ChunkInfo) -> None:
        pass  # inline results only here


def _q(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _task(i: int) -> StatementTask:
    return StatementTask(statement_id=f"bench-{i}", sql="SELECT 1")


async def _measure(settings: Settings, runs: int, warm: int) -> dict[str, Any]:
    pool = WarehousePool(settings)
    await pool.start_background()
    out: dict[str, Any] = {}
    try:
        cold: list[float] = []
        for i in range(runs):
            if pool.state != STOPPED:
                raise RuntimeError(f"pool not STOPPED before cold run {i}: {pool.state}")
            began = time.perf_counter()
            result = await pool.run(_task(i), _Events())
            cold.append(time.perf_counter() - began)
            if result.batches[0].num_rows != 1:
                raise RuntimeError("SELECT 1 did not return one row")
            await pool.stop()
        out["cold_start_s"] = {"p50": _q(cold, 0.5), "p99": _q(cold, 0.99), "n": len(cold)}
        out["cold_samples_s"] = cold

        await pool.start()
        for i in range(20):  # warm up the worker, the estimate path and the connections
            await pool.run(_task(1000 + i), _Events())
        member = pool._members[0]
        whole, trip = [], []
        for i in range(warm):
            began = time.perf_counter()
            await pool.run(_task(2000 + i), _Events())
            whole.append(time.perf_counter() - began)
            began = time.perf_counter()
            await member.worker.run(_task(5000 + i), Call("bench"))
            trip.append(time.perf_counter() - began)
    finally:
        await pool.aclose()

    from engine import Engine

    eng = Engine(settings.engine)
    local: list[float] = []
    for i in range(warm):
        began = time.perf_counter()
        with eng.execute(_task(9000 + i)) as rs:
            rs.read_all()
        local.append(time.perf_counter() - began)
    eng.close()
    p50 = {name: statistics.median(v) * 1000 for name, v in
           (("engine_only", local), ("worker_round_trip", trip), ("pool_run", whole))}
    out["warm_ms"] = {
        **{f"{k}_p50": round(v, 3) for k, v in p50.items()},
        "dispatch_overhead_p50": round(p50["worker_round_trip"] - p50["engine_only"], 3),
        "pool_overhead_p50": round(p50["pool_run"] - p50["engine_only"], 3),
        "n": warm,
    }
    return out


def measure(runs: int = 10, warm: int = 300, lake: str | None = None) -> dict[str, Any]:
    """Cold starts and warm dispatch of a one-worker pool; figures as in the module doc.

    >>> measure(runs=2, warm=20)["cold_start_s"]["n"]  # doctest: +SKIP
    2
    """
    with tempfile.TemporaryDirectory(prefix="sqlgate-coldstart-") as tmp:
        root = lake or str(Path(tmp) / "lake")
        Path(root).mkdir(parents=True, exist_ok=True)
        settings = Settings.load(env={}, overrides={
            "lake": root, "results": str(Path(tmp) / "results"),
            "cache_dir": str(Path(tmp) / "cache"), "min_workers": 0, "max_workers": 1,
            "auto_stop_s": 0, "threads": 1, "memory_limit": "1GB", "stop_grace_s": 1.0,
            # A slow start is a figure to report, not a reason to abort the run: on a loaded
            # machine the template's imports alone can pass the 30 s default.
            "worker_start_timeout_s": _START_TIMEOUT_S,
        })
        return asyncio.run(_measure(settings, runs, warm))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its numbers as JSON."""
    ap = argparse.ArgumentParser(prog="python -m bench.coldstart", description=__doc__)
    ap.add_argument("--runs", type=int, default=10, help="cold starts to time")
    ap.add_argument("--warm", type=int, default=300, help="warm statements to time")
    ap.add_argument("--lake", help="lake root (SELECT 1 reads no table; default: empty dir)")
    args = ap.parse_args(argv)
    print(json.dumps(measure(args.runs, args.warm, args.lake), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
