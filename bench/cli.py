"""`sqlgate bench SCENARIO [options]`: run scenarios, write results.json, report.md and plots.

    sqlgate bench concurrency --start-local --sf 0.1 --streams 8 --duration 60 --out bench-results
    sqlgate bench all --gateway http://127.0.0.1:8000 --token dapi... --out bench-results

Scenarios: concurrency, mixed, coldstart, select1, fetch, prefetch, peers, engine_tpch, all;
`scale` (Ray workers, the distributed lane, Sail as a peer) runs apart: bench/scale.py.
With neither `--gateway` nor `--start-local`, the in-process baselines still run and gateway
parts are reported as skipped.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.clients import ClientError, Target
from bench.context import BenchContext, Section
from bench.data import DataError
from bench.local import LocalError
from bench.queries import QueryError
from bench.report import write_report, write_results
from bench.scenarios import SCENARIOS, scenario


def parser() -> argparse.ArgumentParser:
    """The argument parser of `sqlgate bench`."""
    p = argparse.ArgumentParser(prog="sqlgate bench", description=__doc__.split("\n\n")[0])
    p.add_argument("scenario", choices=[*SCENARIOS, "all"])
    where = p.add_mutually_exclusive_group()
    where.add_argument("--gateway", help="URL of a running gateway (127.0.0.1 only)")
    where.add_argument("--start-local", action="store_true",
                       help="start gateways on 127.0.0.1 for the run and stop them after")
    p.add_argument("--token", help="API token of --gateway")
    p.add_argument("--warehouse-id", default="sqlgate0000000001")
    p.add_argument("--sf", type=float, default=0.1, help="TPC-H scale factor")
    p.add_argument("--out", type=Path, default=Path("bench-results"))
    p.add_argument("--data", type=Path, default=Path(".bench-data"),
                   help="where generated lakes are kept between runs")
    p.add_argument("--duration", type=float, default=60.0,
                   help="seconds per timed phase")
    p.add_argument("--streams", type=int, default=32)
    p.add_argument("--repeats", type=int, default=5, help="repetitions of single-shot timings")
    p.add_argument("--max-rounds", type=int, default=1000,
                   help="at most this many passes over the workload per stream")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--query", action="append", dest="queries",
                   help="run only these TPC-H queries (e.g. --query q01; repeatable)")
    p.add_argument("--query-timeout", type=float, default=600.0)
    p.add_argument("--thrift-path", help="HTTP path of the Thrift front, to add Thrift streams "
                   "(default with --start-local: /sql/1.0/warehouses/<id>)")
    p.add_argument("--no-thrift", action="store_true",
                   help="no Thrift streams in `concurrency` with --start-local")
    p.add_argument("--prefetch-files", type=int, default=200,
                   help="files (about 1 MB each) of the prefetch scenario's table")
    p.add_argument("--latency-ms", type=float, default=20.0,
                   help="latency the prefetch scenario's proxy adds to each S3 request")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="a setting for local gateways, e.g. --set max_workers=4")
    p.add_argument("--no-progress", action="store_true")
    return p


def context(args: argparse.Namespace) -> BenchContext:
    """A BenchContext from parsed arguments; refuses anything but 127.0.0.1 targets."""
    target = None
    if args.gateway:
        if not args.token:
            raise SystemExit("sqlgate bench: --gateway needs --token")
        host = args.gateway.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
        if host not in ("127.0.0.1", "localhost"):
            raise SystemExit("sqlgate bench: traffic goes to 127.0.0.1 only")
        target = Target(args.gateway.rstrip("/"), args.token, args.warehouse_id)
    settings = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"sqlgate bench: --set expects FIELD=VALUE, got {item!r}")
        settings[key.strip()] = value
    for name, low in (("streams", 1), ("repeats", 1), ("max_rounds", 1), ("prefetch_files", 1)):
        if getattr(args, name) < low:
            raise SystemExit(f"sqlgate bench: --{name.replace('_', '-')} must be >= {low}")
    if args.duration <= 0 or args.sf <= 0:
        raise SystemExit("sqlgate bench: --duration and --sf must be positive")
    return BenchContext(
        out=args.out.resolve(), sf=args.sf, duration_s=args.duration, streams=args.streams,
        repeats=args.repeats, max_rounds=args.max_rounds, seed=args.seed, target=target,
        start_local=args.start_local, data_dir=args.data.resolve(), settings=settings,
        query_timeout_s=args.query_timeout, only_queries=args.queries,
        thrift_path=args.thrift_path, thrift=not args.no_thrift, progress=not args.no_progress,
        prefetch_files=args.prefetch_files, latency_ms=args.latency_ms,
    )


def run(ctx: BenchContext, names: Sequence[str]) -> list[Section]:
    """Run scenarios in order and write the outputs after each, so a crash keeps the rest."""
    ctx.out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    sections: list[Section] = []
    for name in names:
        print(f"sqlgate bench: {name}", file=sys.stderr)
        try:
            section = scenario(name)(ctx)
        except (ClientError, DataError, LocalError, QueryError) as exc:
            section = Section(name, skipped=f"failed: {exc}")
        sections.append(section)
        write_results(ctx, sections, started)
        write_report(ctx, sections)
    return sections


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point behind `sqlgate bench`; 0 when every scenario ran, 1 otherwise."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["scale"]:  # Ray and Sail: measured inside a network namespace
        from bench import scale

        return scale.main(argv[1:])
    args = parser().parse_args(argv)
    ctx = context(args)
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    sections = run(ctx, names)
    print(f"sqlgate bench: wrote {ctx.out / 'report.md'} and {ctx.out / 'results.json'}",
          file=sys.stderr)
    return 1 if any(s.skipped and s.skipped.startswith("failed") for s in sections) else 0
