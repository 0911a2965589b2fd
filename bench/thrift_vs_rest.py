"""The `concurrency` scenario through databricks-sql-connector (Thrift) vs through REST,
same run, same local gateway, same streams and query orders.

    python -m bench.thrift_vs_rest [--sf 0.1] [--streams 8] [--duration 60] [--out DIR]
                                   [--query q01 ...] [any other `sqlgate bench` option]

It runs `sqlgate bench concurrency --start-local --thrift-path /sql/1.0/warehouses/<id>`
(so `report.md`/`results.json` in --out hold every raw figure and the DuckDB baseline) and
prints the two fronts side by side: queries per hour, latency percentiles, errors, and the
Thrift/REST ratios. Traffic stays on 127.0.0.1; every phase is bounded by --duration.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from bench import cli as bench_cli
from bench.stats import ratio

REST, THRIFT = "sqlgate REST", "sqlgate Thrift"


def _args(argv: Sequence[str]) -> list[str]:
    known = argparse.ArgumentParser(add_help=False)
    known.add_argument("--warehouse-id", default="sqlgate0000000001")
    ns, rest = known.parse_known_args(list(argv))
    out = ["concurrency", "--warehouse-id", ns.warehouse_id,
           "--thrift-path", f"/sql/1.0/warehouses/{ns.warehouse_id}", *rest]
    if "--gateway" not in rest and "--start-local" not in rest:
        out.append("--start-local")
    return out


def compare(summary: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """Rows of (metric, REST, Thrift, Thrift/REST) from the concurrency summaries."""
    rest, thrift = summary.get(REST, {}), summary.get(THRIFT, {})
    rows: list[list[Any]] = []
    for label, key in (("queries/hour", "queries_per_hour"), ("succeeded", "succeeded"),
                       ("failed", "failed")):
        a, b = rest.get(key), thrift.get(key)
        rows.append([label, a, b, ratio(b, a)])
    for pct in ("p50", "p95", "p99"):
        a = rest.get("latency", {}).get(pct)
        b = thrift.get("latency", {}).get(pct)
        rows.append([f"latency {pct} s", a, b, ratio(b, a)])
    return rows


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 1000 else f"{value:,.0f}"
    return "-" if value is None else str(value)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison; 0 when both fronts ran."""
    args = bench_cli.parser().parse_args(_args(sys.argv[1:] if argv is None else argv))
    ctx = bench_cli.context(args)
    (section,) = bench_cli.run(ctx, ["concurrency"])
    if section.skipped or THRIFT not in (section.summary or {}):
        print(f"thrift_vs_rest: concurrency did not run both fronts: {section.skipped}",
              file=sys.stderr)
        return 1
    print(f"concurrency: {ctx.streams} streams, {ctx.duration_s:.0f}s, TPC-H SF {ctx.sf}")
    print(f"{'metric':<16}{'REST':>14}{'Thrift':>14}{'Thrift/REST':>14}")
    for metric, a, b, r in compare(section.summary):
        print(f"{metric:<16}{_fmt(a):>14}{_fmt(b):>14}{_fmt(r):>14}")
    print(f"full report: {ctx.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
