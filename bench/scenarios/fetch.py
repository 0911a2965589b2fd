"""`fetch`: one large result read four ways.

- EXTERNAL_LINKS + ARROW_STREAM, chunks downloaded in parallel straight from the store
  (the harness's own client, and the project's `fetch.client.download_arrow`);
- INLINE + JSON_ARRAY through the gateway, with the inline limit raised so it fits;
- DuckDB in-process reading the same rows into Arrow (the floor).

Every path must return the same row count; a mismatch is reported as an error.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from bench import plots
from bench.clients import ClientError, DuckDBClient, Fetched, RestClient, Target, duckdb_baseline
from bench.context import BenchContext, Section, Table
from bench.queries import translate
from bench.stats import percentile, ratio

QUERY = "SELECT * FROM lineitem"
BASELINE = "duckdb in-process"
_INLINE_LIMIT = str(2 * 1024**3)
_THREADS = 8


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
            section.notes.append("no gateway: DuckDB floor only")
        else:
            ext = RestClient(target, disposition="EXTERNAL_LINKS", format="ARROW_STREAM",
                             catalog=ctx.catalog, schema=ctx.schema,
                             timeout_s=ctx.query_timeout_s, download_threads=_THREADS)
            inline = RestClient(target, catalog=ctx.catalog, schema=ctx.schema,
                                timeout_s=ctx.query_timeout_s)
            clients += [ext, inline]
            paths["EXTERNAL_LINKS arrow (bench client)"] = lambda: ext.run(QUERY)
            paths["EXTERNAL_LINKS arrow (fetch.client)"] = lambda: _fetch_client(ctx, target)
            paths["INLINE JSON_ARRAY"] = lambda: inline.run(QUERY)
        try:
            for name, call in paths.items():
                samples[name] = _repeat(ctx, name, call)
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
    table = []
    for name, s in summary.items():
        mbps = s["bytes"] / s["p50_s"] / 1e6 if s["bytes"] and s["p50_s"] else None
        table.append([name, s["n"], s["errors"], s["rows"], s["p50_s"], s["rows_per_s"], mbps,
                      ratio(s["p50_s"], base["p50_s"])])
    section.tables.append(Table(
        f"Reading `{QUERY}`", ["path", "n", "errors", "rows", "p50 s", "rows/s",
                               "MB/s (bytes received)", "p50 ÷ duckdb"], table))
    section.plots.append(str(plots.bars(
        {n: s["rows_per_s"] or 0.0 for n, s in summary.items()}, ctx.out / "fetch-rows.png",
        f"{QUERY}: rows per second", "rows / s",
    ).relative_to(ctx.out)))
    return section


def _repeat(ctx: BenchContext, name: str, call: Callable[[], Fetched]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    # One untimed run first, so the first sample does not pay for a cold pool or cache.
    try:
        call()
    except ClientError as exc:
        return [{"ok": False, "seconds": 0.0, "error": f"warm-up: {exc}"}]
    for i in range(ctx.repeats):
        start = time.perf_counter()
        try:
            got = call()
        except ClientError as exc:
            out.append({"ok": False, "seconds": time.perf_counter() - start, "error": str(exc)})
            continue
        out.append({"ok": True, "seconds": time.perf_counter() - start, "rows": got.rows,
                    "bytes": got.bytes, "chunks": got.chunks})
        if ctx.progress:
            print(f"  fetch {name} #{i + 1}: {out[-1]['seconds']:.3f}s", file=sys.stderr)
    return out


def _fetch_client(ctx: BenchContext, target: Target) -> Fetched:
    """Execute with EXTERNAL_LINKS, then download through the project's Cloud Fetch client."""
    from fetch.client import download_arrow
    from fetch.errors import FetchError

    api = RestClient(target, disposition="EXTERNAL_LINKS", format="ARROW_STREAM",
                     catalog=ctx.catalog, schema=ctx.schema, timeout_s=ctx.query_timeout_s)
    try:
        resp = api.request("POST", "/api/2.0/sql/statements", {
            "statement": QUERY, "warehouse_id": target.warehouse_id, "wait_timeout": "50s",
            "disposition": "EXTERNAL_LINKS", "format": "ARROW_STREAM",
            "catalog": ctx.catalog, "schema": ctx.schema,
        })
        if resp.get("status", {}).get("state") != "SUCCEEDED":
            raise ClientError("INTERNAL_ERROR", f"statement not done in 50s: {resp.get('status')}")
        try:
            table = download_arrow(resp, host=target.url, token=target.token,
                                   max_in_flight=_THREADS, timeout_s=ctx.query_timeout_s)
        except FetchError as exc:
            raise ClientError("IO_ERROR", str(exc)) from exc
        chunks = int((resp.get("manifest") or {}).get("total_chunk_count") or 0)
        return Fetched(table.num_rows, table.nbytes, chunks)
    finally:
        api.close()
