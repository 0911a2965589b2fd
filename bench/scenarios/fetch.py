"""`fetch`: one large result read four ways.

- EXTERNAL_LINKS + ARROW_STREAM, chunks downloaded in parallel straight from the store
  (the harness's own client, and the project's `fetch.client.download_arrow`);
- INLINE + JSON_ARRAY through the gateway, with the inline limit raised so it fits;
- DuckDB in-process reading the same rows into Arrow (the baseline of the goal);
- the bare path (bench/fetch_floor.py): the same stages as separate processes with nothing of
  sqlgate in them (DuckDB reader -> IPC chunk files -> sendfile -> recv_into), the floor of
  this architecture on this machine.

Every path must return the same row count; a mismatch is reported as an error. Goals of
issue 8: EXTERNAL_LINKS >= 10x the throughput of INLINE, and within 2x of DuckDB. For a
gateway the harness started, the peak RSS (VmHWM) of its worker processes and of the gateway
is read from /proc around each sample (reset before it), so the write's memory is on record.

A last part writes lineitem with `fetch.ChunkWriter` and reads it back with
`fetch.download_arrow` at several chunk targets (bench/fetch_client.py, local store).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from bench import plots
from bench.clients import ClientError, DuckDBClient, Fetched, RestClient, Target, duckdb_baseline
from bench.context import BenchContext, Section, Table
from bench.local import peak_rss, reset_peak_rss
from bench.queries import translate
from bench.stats import percentile, ratio

QUERY = "SELECT * FROM lineitem"
BASELINE = "duckdb in-process"
FLOOR = "bare path (floor)"
_INLINE_LIMIT = str(2 * 1024**3)
_THREADS = 8
GOAL_VS_INLINE = 10.0
GOAL_VS_DUCKDB = 2.0
EXTERNAL = "EXTERNAL_LINKS arrow (fetch.client)"
INLINE = "INLINE JSON_ARRAY"
_CHUNK_TARGETS_MIB = (4, 16, 64)


def run(ctx: BenchContext) -> Section:
    """Time each path `repeats` times; rows/s and MB/s against the DuckDB floor."""
    lake = ctx.lake()
    section = Section("fetch", params={"query": QUERY, "repeats": ctx.repeats,
                                       "download_threads": _THREADS,
                                       "inline_byte_limit": _INLINE_LIMIT})
    paths: dict[str, Callable[[], Fetched]] = {}
    samples: dict[str, list[dict[str, Any]]] = {}
    with ctx.gateway({"inline_byte_limit": _INLINE_LIMIT}, name="fetch") as target:
        clients: list[RestClient] = []
        if target is None:
            section.notes.append("no gateway: DuckDB and the bare path only")
        else:
            ext = RestClient(target, disposition="EXTERNAL_LINKS", format="ARROW_STREAM",
                             catalog=ctx.catalog, schema=ctx.schema,
                             timeout_s=ctx.query_timeout_s, download_threads=_THREADS)
            inline = RestClient(target, catalog=ctx.catalog, schema=ctx.schema,
                                timeout_s=ctx.query_timeout_s)
            # download_arrow's API calls (POST, manifest, DELETE): one client for every run,
            # as the DuckDB baseline keeps one connection (making an httpx client loads a TLS
            # trust store, ~17 ms, which is no part of reading a result)
            api = RestClient(target, disposition="EXTERNAL_LINKS", format="ARROW_STREAM",
                             catalog=ctx.catalog, schema=ctx.schema,
                             timeout_s=ctx.query_timeout_s)
            clients += [ext, inline, api]
            paths["EXTERNAL_LINKS arrow (bench client)"] = lambda: ext.run(QUERY)
            paths[EXTERNAL] = lambda: _fetch_client(ctx, target, api)
            paths[INLINE] = lambda: inline.run(QUERY)
        try:
            for name, call in paths.items():
                samples[name] = _repeat(ctx, name, call, target)
        finally:
            for c in clients:
                c.close()
    conn = duckdb_baseline(lake.files, ctx.engine_threads())
    try:
        duck = DuckDBClient(conn)
        samples[BASELINE] = _repeat(ctx, BASELINE, lambda: duck.run(translate(QUERY)))
        duck.close()
    finally:
        conn.close()

    _bare_path(ctx, lake.files["lineitem"], samples, section)

    summary: dict[str, Any] = {}
    for name, runs in samples.items():
        ok = [s for s in runs if s["ok"]]
        secs = [s["seconds"] for s in ok]
        rows = ok[0]["rows"] if ok else None
        p50 = percentile(secs, 50)
        summary[name] = {
            "n": len(ok), "errors": len(runs) - len(ok), "rows": rows, "p50_s": p50,
            "bytes": ok[0]["bytes"] if ok else None,
            "rows_per_s": rows / p50 if rows and p50 else None,
        }
    base = summary[BASELINE]
    row_counts = {s["rows"] for s in summary.values() if s["rows"] is not None}
    if len(row_counts) > 1:
        section.notes.append(f"ERROR: paths returned different row counts: {summary}")
    section.summary = summary
    section.raw = samples
    section.tables.append(_goals(summary))
    section.tables += _memory_table(samples)
    try:
        section.raw["chunk_targets"] = _chunk_targets(ctx, lake.files["lineitem"])
    except (OSError, RuntimeError, ValueError) as exc:
        section.notes.append(f"chunk-target part failed: {exc}")
    else:
        section.tables.append(Table(
            "ChunkWriter write + download_arrow, local store, lineitem (best of 2)",
            ["target MiB", "chunks", "write MiB/s", "download MiB/s"],
            [[r["target_mib"], r["chunks"], r["write_mb_s"], r["read_mb_s"]]
             for r in section.raw["chunk_targets"]]))
    table = []
    for name, s in summary.items():
        mbps = s["bytes"] / s["p50_s"] / 1e6 if s["bytes"] and s["p50_s"] else None
        table.append([name, s["n"], s["errors"], s["rows"], s["p50_s"], s["rows_per_s"], mbps,
                      ratio(s["p50_s"], base["p50_s"])])
    section.tables.insert(0, Table(
        f"Reading `{QUERY}`", ["path", "n", "errors", "rows", "p50 s", "rows/s",
                               "MB/s (bytes received)", "p50 ÷ duckdb"], table))
    section.plots.append(str(plots.bars(
        {n: s["rows_per_s"] or 0.0 for n, s in summary.items()}, ctx.out / "fetch-rows.png",
        f"{QUERY}: rows per second", "rows / s",
    ).relative_to(ctx.out)))
    return section


def _bare_path(
    ctx: BenchContext, files: list[str], samples: dict[str, list[dict[str, Any]]],
    section: Section,
) -> None:
    """Time the bare path with the gateway's engine threads, uploaders and chunk target."""
    from bench.fetch_floor import BarePath

    s = ctx.gateway_settings({"inline_byte_limit": _INLINE_LIMIT})
    try:
        with BarePath(files, threads=s.engine.threads, writers=s.fetch.upload_concurrency,
                      chunk_bytes=s.fetch.chunk_target_bytes, connections=_THREADS,
                      work=ctx.work / "fetch-floor") as bare:
            samples[FLOOR] = _repeat(ctx, FLOOR, bare.run)
    except (OSError, ValueError, ClientError) as exc:
        section.notes.append(f"bare path failed: {exc}")


def _goals(summary: dict[str, Any]) -> Table:
    """Throughput of EXTERNAL_LINKS against INLINE and DuckDB, with the issue's goals."""
    ext, inline, duck, floor = (summary.get(k, {}) for k in (EXTERNAL, INLINE, BASELINE, FLOOR))
    vs_inline = ratio(inline.get("p50_s"), ext.get("p50_s"))
    vs_duck = ratio(ext.get("p50_s"), duck.get("p50_s"))
    floor_vs_duck = ratio(floor.get("p50_s"), duck.get("p50_s"))
    vs_floor = ratio(ext.get("p50_s"), floor.get("p50_s"))

    def verdict(ok: bool | None) -> str | None:
        return None if ok is None else "met" if ok else "MISSED"

    return Table("Goals (p50 times of the same rows)", ["figure", "measured", "goal", "verdict"], [
        ["EXTERNAL_LINKS speed-up over INLINE (x)", vs_inline, f">= {GOAL_VS_INLINE}",
         verdict(None if vs_inline is None else vs_inline >= GOAL_VS_INLINE)],
        ["EXTERNAL_LINKS time ÷ DuckDB (x)", vs_duck, f"<= {GOAL_VS_DUCKDB}",
         verdict(None if vs_duck is None else vs_duck <= GOAL_VS_DUCKDB)],
        ["bare path (the architecture's floor here) ÷ DuckDB (x)", floor_vs_duck,
         "(context)", None],
        ["EXTERNAL_LINKS time ÷ bare path (x): sqlgate's own cost", vs_floor,
         "(context)", None],
    ])


def _memory_table(samples: dict[str, list[dict[str, Any]]]) -> list[Table]:
    rows = []
    for name, runs in samples.items():
        worker = [s["worker_peak_rss"] for s in runs if s.get("worker_peak_rss")]
        gateway = [s["gateway_peak_rss"] for s in runs if s.get("gateway_peak_rss")]
        if worker or gateway:
            rows.append([name, max(worker) / 2**20 if worker else None,
                         max(gateway) / 2**20 if gateway else None])
    if not rows:
        return []
    return [Table("Peak RSS during a sample (VmHWM, reset before each; max over samples)",
                  ["path", "worker MiB", "gateway MiB"], rows)]


def _chunk_targets(ctx: BenchContext, files: list[str]) -> list[dict[str, Any]]:
    """bench/fetch_client.py's measurement on this run's lineitem, local store."""
    import pyarrow.parquet as pq

    from bench.fetch_client import local_store, measure

    table = pq.ParquetDataset(files).read()
    out = []
    with local_store(ctx.work / "chunk-targets") as store:
        for mib in _CHUNK_TARGETS_MIB:
            runs = [measure(store, table, mib * 2**20, 4, None) for _ in range(2)]
            out.append({"target_mib": mib, "chunks": runs[0]["chunks"],
                        "write_mb_s": max(r["write_mb_s"] for r in runs),
                        "read_mb_s": max(r["read_mb_s"] for r in runs), "runs": runs})
    return out


def _repeat(
    ctx: BenchContext, name: str, call: Callable[[], Fetched], target: Target | None = None
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pgid = target.pgid if target is not None else None
    # One untimed run first, so the first sample does not pay for a cold pool or cache.
    try:
        warm = call()
        if warm.cleanup is not None:
            warm.cleanup()
    except ClientError as exc:
        return [{"ok": False, "seconds": 0.0, "error": f"warm-up: {exc}"}]
    for i in range(ctx.repeats):
        if pgid is not None:
            reset_peak_rss(pgid)
        start = time.perf_counter()
        try:
            got = call()
        except ClientError as exc:
            out.append({"ok": False, "seconds": time.perf_counter() - start, "error": str(exc)})
            continue
        seconds = time.perf_counter() - start
        if got.cleanup is not None:
            got.cleanup()
        out.append({"ok": True, "seconds": seconds, "rows": got.rows,
                    "bytes": got.bytes, "chunks": got.chunks})
        if pgid is not None:
            peaks = peak_rss(pgid)
            out[-1]["gateway_peak_rss"] = peaks.pop(pgid, None)
            out[-1]["worker_peak_rss"] = max(peaks.values(), default=None)
        if ctx.progress:
            print(f"  fetch {name} #{i + 1}: {out[-1]['seconds']:.3f}s", file=sys.stderr)
    return out


def _fetch_client(ctx: BenchContext, target: Target, api: RestClient) -> Fetched:
    """Execute with EXTERNAL_LINKS and download through the project's Cloud Fetch client.

    The POST does not wait (``wait_timeout: 0s``): `download_arrow` takes the running
    statement and fetches each chunk as soon as the worker stored it, while DuckDB is still
    producing the rest (the chunk endpoint answers chunks of a running statement).
    """
    from fetch.client import download_arrow
    from fetch.errors import FetchError

    resp = api.request("POST", "/api/2.0/sql/statements", {
        "statement": QUERY, "warehouse_id": target.warehouse_id, "wait_timeout": "0s",
        "disposition": "EXTERNAL_LINKS", "format": "ARROW_STREAM",
        "catalog": ctx.catalog, "schema": ctx.schema,
    })
    state = resp.get("status", {}).get("state")
    if state not in ("PENDING", "RUNNING", "SUCCEEDED"):
        raise ClientError("INTERNAL_ERROR", f"statement {state}: {resp.get('status')}")
    statement = f"/api/2.0/sql/statements/{resp['statement_id']}"
    try:
        table = download_arrow(resp, host=target.url, token=target.token,
                               max_in_flight=_THREADS, timeout_s=ctx.query_timeout_s)
    except FetchError as exc:
        api.request("DELETE", statement)
        raise ClientError("IO_ERROR", str(exc)) from exc
    done = api.request("GET", statement)  # ~1 ms: the manifest's chunk count

    def close() -> None:
        # After the clock: the rows are in the client; closing the statement (deleting
        # ~1 GB of chunks, ~0.07 s) is what a connector does in the background.
        api.request("DELETE", statement)

    chunks = int((done.get("manifest") or {}).get("total_chunk_count") or 0)
    return Fetched(table.num_rows, table.nbytes, chunks, cleanup=close)
