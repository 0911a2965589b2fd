"""TPC-H through the Engine (Delta lake, Databricks SQL) vs DuckDB over the same parquet.

    .venv/bin/python -m bench.engine_tpch --sf 1 --work /tmp/sqlgate-bench-sf1 [--runs 1]

Both sides run in the same process, same thread count, one query after the other (engine
first, then DuckDB, per query), so the ratio measures the engine's overhead: translation,
Delta log reading, pruning, the I/O layer and Arrow streaming. Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

from engine import Engine
from engine.catalog import TableName
from engine.lake import TPCH_TABLES, write_tpch
from sqlgate.settings import EngineSettings
from sqlgate.types import StatementTask

QUERIES = Path(__file__).resolve().parent / "queries"


def _engine_run(eng: Engine, sql: str, n: int) -> int:
    task = StatementTask(f"bench-{n}-{time.monotonic_ns()}", sql, catalog="main", schema="tpch")
    with eng.execute(task) as rs:
        return sum(b.num_rows for b in rs)


def measure(
    settings: EngineSettings, runs: int = 1, baseline_files: dict[str, list[str]] | None = None,
    only: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Per TPC-H query: best engine and DuckDB seconds over `runs`, and the row count.

    DuckDB reads `baseline_files` (table -> parquet paths), by default the very files of the
    Delta tables' current snapshots, with the engine's thread count and memory limit.

    >>> measure(EngineSettings(lake="/tmp/lake", threads=2))[0]["query"]  # doctest: +SKIP
    'q01'
    """
    eng = Engine(settings)
    con = duckdb.connect(config={"threads": settings.threads,
                                 "memory_limit": settings.memory_limit})
    out: list[dict[str, Any]] = []
    try:
        for t in TPCH_TABLES:
            if baseline_files is not None:
                files = baseline_files[t]
            else:
                files = [f.uri for f in eng.catalog.snapshot(TableName("main", "tpch", t)).files]
            con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet({files!r})")
        for n in range(1, 23):
            name = f"q{n:02d}"
            if only and name not in only:
                continue
            ours = (QUERIES / "tpch" / f"{name}.sql").read_text()
            theirs = (QUERIES / "tpch_duckdb" / f"{name}.sql").read_text()
            best = {"engine": float("inf"), "duckdb": float("inf")}
            rows = {"engine": 0, "duckdb": 0}
            for _ in range(max(1, runs)):
                t0 = time.perf_counter()
                rows["engine"] = _engine_run(eng, ours, n)
                best["engine"] = min(best["engine"], time.perf_counter() - t0)
                t0 = time.perf_counter()
                reader = con.sql(theirs).to_arrow_reader(64 * 1024)
                rows["duckdb"] = sum(batch.num_rows for batch in reader)
                best["duckdb"] = min(best["duckdb"], time.perf_counter() - t0)
            out.append({"query": name, "engine_s": best["engine"], "duckdb_s": best["duckdb"],
                        "rows": rows["engine"], "duckdb_rows": rows["duckdb"]})
    finally:
        eng.close()
        con.close()
    return out


def main(argv: list[str] | None = None) -> int:
    """Build the lake if needed, run the 22 queries both ways, print times and the ratio."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sf", type=float, default=1.0)
    p.add_argument("--work", default="/tmp/sqlgate-bench-tpch")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=1, help="timed runs per query (best is kept)")
    p.add_argument("--baseline", choices=["delta", "source"], default="delta",
                   help="DuckDB reads the Delta tables' files (default) or tpchgen's parquet")
    p.add_argument("--rebuild", action="store_true", help="regenerate the lake")
    args = p.parse_args(argv)

    work = Path(args.work) / f"sf{args.sf:g}"
    lake, parquet = work / "lake", work / "parquet"
    settings = EngineSettings(lake=str(lake), threads=args.threads, memory_limit="8GB",
                              cache_dir=str(work / "cache"))
    if args.rebuild or not (lake / "main" / "tpch" / "lineitem" / "_delta_log").is_dir():
        t0 = time.perf_counter()
        write_tpch(settings, args.sf, "main", "tpch", parquet_dir=parquet)
        print(f"built TPC-H SF{args.sf:g} lake in {time.perf_counter() - t0:.1f}s")
    source = ({t: [str(parquet / f"{t}.parquet")] for t in TPCH_TABLES}
              if args.baseline == "source" else None)
    print(f"baseline: DuckDB over the {args.baseline} parquet")
    print(f"{'query':>5} {'engine s':>9} {'duckdb s':>9} {'ratio':>6} {'rows':>6}")
    results = measure(settings, args.runs, source)
    for r in results:
        print(f"  {r['query']} {r['engine_s']:9.3f} {r['duckdb_s']:9.3f} "
              f"{r['engine_s'] / r['duckdb_s']:6.2f} {r['rows']:6d}")
    engine_total = sum(r["engine_s"] for r in results)
    duck_total = sum(r["duckdb_s"] for r in results)
    print(f"total engine {engine_total:.2f}s  duckdb {duck_total:.2f}s  "
          f"ratio {engine_total / duck_total:.3f}x (goal <= 1.10x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
