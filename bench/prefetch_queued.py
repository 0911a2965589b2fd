"""Benchmark: does prefetching a long statement's first files while it waits in the queue pay?

A lake on a moto S3 server behind the latency proxy of `bench.prefetch` (``--latency-ms`` per
request) holds a table of ``--files`` files of about 1 MB and a small table for a CPU-bound
blocker. Each round starts a fresh pool of one real worker with one slot and a fresh block
cache, warms the table's Delta log (a query pruned to no file), then:

1. the blocker (a self-join of the small table, a few seconds of CPU) takes the only slot;
2. the long scan of the big table is submitted and waits in the long lane;
3. the blocker ends, the scan runs: its time from start of execution to finish is measured.

Rounds alternate ``prefetch_queued`` off and on (same run, same server, same proxy); the
report gives the medians and their ratio, and whether both modes gave the same answer.

    flock /tmp/sqlgate-bench.lock python -m bench.prefetch_queued --files 64 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import write_deltalake

from bench.prefetch import BUCKET, KEY, REGION, SECRET, make_table, services, upload
from gateway.pool.warehouse import RUNNING, WarehousePool
from sqlgate.settings import EngineSettings, Settings
from sqlgate.types import ChunkInfo, CostEstimate, StatementTask

SCAN = "SELECT count(*), sum(id), sum(qty), sum(price) FROM main.bench.t"
WARM = "SELECT count(*) FROM main.bench.t WHERE id < 0"  # resolves the log, prunes every file
BLOCK = "SELECT count(*) FROM main.bench.blk a, main.bench.blk b WHERE (a.id * 7 + b.id) % 13 = 3"


class Timing:
    """StatementEvents that note when the statement started running."""

    def __init__(self) -> None:
        self.lane: str | None = None
        self.running_at: float | None = None

    def queued(self, estimate: CostEstimate, lane: str) -> None:
        self.lane = lane

    def running(self) -> None:
        self.running_at = time.perf_counter()

    def chunk_stored(self, chunk: ChunkInfo) -> None:
        pass  # inline results only here


def make_lake(root: Path, files: int, blocker_rows: int) -> None:
    """main.bench.t (``files`` files of ~1 MB) and main.bench.blk (one file) under ``root``."""
    table = root / "main" / "bench" / "t"
    if not (table / "_delta_log").exists():
        make_table(table, files)
    blk = root / "main" / "bench" / "blk"
    if not (blk / "_delta_log").exists():
        write_deltalake(str(blk), pa.table({"id": pa.array(range(blocker_rows), pa.int64())}))


async def one_round(settings: Settings, n: int) -> dict[str, Any]:
    """One pool, one blocker, one queued scan; seconds from the scan's start to its end."""
    pool = WarehousePool(settings)
    await pool.start_background()
    try:
        deadline = time.monotonic() + 60
        while pool.state != RUNNING:
            assert time.monotonic() < deadline, "the pool did not start"
            await asyncio.sleep(0.05)
        await pool.run(StatementTask(f"warm-{n}", WARM), Timing())
        blocker = asyncio.ensure_future(pool.run(StatementTask(f"block-{n}", BLOCK), Timing()))
        while pool.scheduler.running < 1:
            await asyncio.sleep(0.01)
        timing = Timing()
        queued_at = time.perf_counter()
        result = await pool.run(StatementTask(f"scan-{n}", SCAN), timing)
        done = time.perf_counter()
        await blocker
        assert timing.running_at is not None
        row = tuple(result.batches[0].to_pylist()[0].values())
        return {"lane": timing.lane, "waited_s": timing.running_at - queued_at,
                "run_s": done - timing.running_at, "answer": row[:3]}
    finally:
        await pool.aclose()


def run(files: int = 64, latency_ms: float = 20.0, rounds: int = 3, blocker_rows: int = 30_000,
        workdir: str | None = None, queued_files: int = 32) -> dict[str, Any]:
    """Alternate rounds with prefetch_queued off and on; medians and their ratio."""
    work = Path(workdir or tempfile.mkdtemp(prefix="sqlgate-bench-pq-"))
    root = work / f"lake-{files}"
    make_lake(root, files, blocker_rows)
    out: dict[str, Any] = {"files": files, "latency_ms": latency_ms, "rounds": rounds,
                           "prefetch_queued_files": queued_files, "off": [], "on": []}
    with services(latency_ms, "moto") as (direct, proxied):
        upload(root, direct, "lake")
        for n in range(rounds * 2):
            mode = "on" if (n + n // 2) % 2 else "off"  # off, on, on, off, off, on, ...
            cache = work / f"cache-{n}"
            shutil.rmtree(cache, ignore_errors=True)
            engine = EngineSettings(
                lake=f"s3://{BUCKET}/lake", lake_endpoint_url=proxied, lake_access_key_id=KEY,
                lake_secret_access_key=SECRET, lake_region=REGION, lake_allow_http=True,
                cache_dir=str(cache), threads=2, prefetch_queued_files=queued_files,
                prefetch_queued_bytes=queued_files * 2 * 1024 * 1024)
            settings = Settings(engine=engine).replace(
                results=str(work / "results"), min_workers=1, max_workers=1,
                worker_concurrency=1, short_max_files=4, auto_stop_s=0.0, queue_timeout_s=300.0,
                prefetch_queued=mode == "on", signing_secret="bench")
            out[mode].append(asyncio.run(one_round(settings, n)))
            shutil.rmtree(cache, ignore_errors=True)
    for mode in ("off", "on"):
        out[f"{mode}_run_s_median"] = round(statistics.median(r["run_s"] for r in out[mode]), 3)
        out[f"{mode}_waited_s_median"] = round(
            statistics.median(r["waited_s"] for r in out[mode]), 3)
    out["speedup"] = round(out["off_run_s_median"] / out["on_run_s_median"], 2)
    out["same_answer"] = len({r["answer"] for r in out["off"] + out["on"]}) == 1
    out["all_long"] = all(r["lane"] == "long" for r in out["off"] + out["on"])
    for mode in ("off", "on"):
        for r in out[mode]:
            r["run_s"], r["waited_s"] = round(r["run_s"], 3), round(r["waited_s"], 3)
            r.pop("answer")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=64, help="data files of ~1 MB")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per mode")
    parser.add_argument("--blocker-rows", type=int, default=30_000)
    parser.add_argument("--queued-files", type=int, default=32,
                        help="prefetch_queued_files (bytes bound: 2 MiB per file)")
    parser.add_argument("--workdir", default=None, help="reuse generated tables across runs")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.files, args.latency_ms, args.rounds, args.blocker_rows,
                         args.workdir, args.queued_files), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
