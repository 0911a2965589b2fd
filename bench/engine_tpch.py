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

    eng = Engine(settings)
    # The baseline reads the very parquet files of the Delta tables' current snapshots, so
    # the ratio is the engine's own overhead; --baseline source reads tpchgen's parquet.
    con = duckdb.connect(config={"threads": args.threads, "memory_limit": "8GB"})
    for t in TPCH_TABLES:
        if args.baseline == "source":
            files = [str(parquet / f"{t}.parquet")]
        else:
            files = [f.uri for f in eng.catalog.snapshot(TableName("main", "tpch", t)).files]
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet({files!r})")
    totals = {"engine": 0.0, "duckdb": 0.0}
    print(f"baseline: DuckDB over the {args.baseline} parquet")
    print(f"{'query':>5} {'engine s':>9} {'duckdb s':>9} {'ratio':>6} {'rows':>6}")
    try:
        for n in range(1, 23):
            ours = (QUERIES / "tpch" / f"q{n:02d}.sql").read_text()
            theirs = (QUERIES / "tpch_duckdb" / f"q{n:02d}.sql").read_text()
            best = {"engine": float("inf"), "duckdb": float("inf")}
            rows = 0
            for _ in range(args.runs):
                t0 = time.perf_counter()
                rows = _engine_run(eng, ours, n)
                best["engine"] = min(best["engine"], time.perf_counter() - t0)
                t0 = time.perf_counter()
                reader = con.sql(theirs).to_arrow_reader(64 * 1024)
                for _batch in reader:
                    pass
                best["duckdb"] = min(best["duckdb"], time.perf_counter() - t0)
            for k in totals:
                totals[k] += best[k]
            print(f"  q{n:02d} {best['engine']:9.3f} {best['duckdb']:9.3f} "
                  f"{best['engine'] / best['duckdb']:6.2f} {rows:6d}")
    finally:
        eng.close()
        con.close()
    ratio = totals["engine"] / totals["duckdb"]
    print(f"total engine {totals['engine']:.2f}s  duckdb {totals['duckdb']:.2f}s  "
          f"ratio {ratio:.3f}x (goal <= 1.10x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
