"""The `sqlgate` command line: the only place that reads the environment.

    sqlgate serve --lake PATH_OR_URI [--host 127.0.0.1] [--port 8000] [--results PATH_OR_URI]
    sqlgate demo  [--sf 0.1] [--tls]  # build the demo lake if missing, then serve it
    sqlgate lake demo --lake DIR --sf N
    sqlgate lake import --lake DIR TABLE FILE...
    sqlgate worker ...                # a worker process (started by the pool)
    sqlgate bench SCENARIO ...
    sqlgate config                    # every setting: environment variable, default, meaning

Every setting also comes from `SQLGATE_<FIELD>` or `--config FILE` (see sqlgate.settings).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlgate.settings import Settings


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="TOML settings file")
    p.add_argument("--lake", help="lake root: a directory or s3://bucket/prefix")
    p.add_argument("--results", help="result store: a directory or s3://bucket/prefix")
    p.add_argument("--host", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to bind (default 8000)")
    p.add_argument("--token", help="the one API token of the default workspace")
    p.add_argument("--tokens-file", dest="tokens_file", help="file mapping token hashes to tenants")
    p.add_argument("--tls-cert", dest="tls_cert", help="TLS certificate (PEM) to serve HTTPS")
    p.add_argument("--tls-key", dest="tls_key", help="TLS private key (PEM)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="any other setting, e.g. --set auto_stop_s=30 (repeatable)",
    )


def build_settings(args: argparse.Namespace, env: dict[str, str] | None = None) -> Settings:
    """The one Settings object: defaults < config file < SQLGATE_* env < flags."""
    overrides: dict[str, Any] = {}
    for key in ("lake", "results", "host", "port", "token", "tokens_file", "tls_cert", "tls_key"):
        overrides[key] = getattr(args, key, None)
    for item in getattr(args, "set", []) or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"sqlgate: --set expects FIELD=VALUE, got {item!r}")
        overrides[key.strip()] = value
    try:
        settings = Settings.load(
            getattr(args, "config", None), env=os.environ if env is None else env,
            overrides=overrides,
        )
    except (ValueError, OSError) as exc:
        raise SystemExit(f"sqlgate: {exc}") from exc
    return settings


def parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    top = argparse.ArgumentParser(prog="sqlgate", description=__doc__.split("\n\n")[0])
    sub = top.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    _common(serve)

    demo = sub.add_parser("demo", help="build the demo lake if missing and serve it")
    _common(demo)
    demo.add_argument("--sf", type=float, default=0.1, help="TPC-H scale factor of the demo lake")
    demo.add_argument("--tls", action="store_true",
                      help="serve HTTPS with a self-signed certificate made in .demo-tls/ "
                           "(its cert.pem is the CA file for clients)")

    lake = sub.add_parser("lake", help="manage the lake")
    lake_sub = lake.add_subparsers(dest="lake_command", required=True)
    ldemo = lake_sub.add_parser("demo", help="write TPC-H as Delta tables under main.tpch")
    _common(ldemo)
    ldemo.add_argument("--sf", type=float, default=0.1)
    ldemo.add_argument("--catalog", default="main")
    ldemo.add_argument("--schema", default="tpch")
    limp = lake_sub.add_parser("import", help="write parquet/CSV files into the lake as Delta")
    _common(limp)
    limp.add_argument("table", help="catalog.schema.table")
    limp.add_argument("files", nargs="+")
    limp.add_argument("--mode", choices=["error", "append", "overwrite"], default="error")
    limp.add_argument("--partition-by", dest="partition_by", action="append", default=[])

    worker = sub.add_parser("worker", help="run one worker process (started by the pool)")
    _common(worker)
    worker.add_argument("--listen", default="grpc://127.0.0.1:0")
    worker.add_argument("--ready-fd", dest="ready_fd", type=int, default=None)
    worker.add_argument("--stream", default=None,
                        help="also take statements on this Unix socket (a gateway on this host)")

    sub.add_parser("config", help="print the settings reference (deploy/config.md)")

    bench = sub.add_parser("bench", help="run a benchmark scenario")
    bench.add_argument("scenario")
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sqlgate` console script."""
    args = parser().parse_args(argv)
    if args.command == "bench":
        from bench.extra import require

        require()  # one line naming the extra, not a traceback from a scenario's imports
        from bench.cli import main as bench_main

        return bench_main([args.scenario, *args.rest])
    if args.command == "config":
        from sqlgate.config_doc import reference_markdown

        print(reference_markdown())
        return 0
    settings = build_settings(args)
    if args.command == "serve":
        from gateway.server import serve

        return serve(settings)
    if args.command == "demo":
        from engine.lake import ensure_demo_lake
        from gateway.server import serve

        if args.tls and not settings.gateway.tls:
            from sqlgate.tlscert import self_signed

            cert, key = self_signed(Path(".demo-tls").resolve())
            settings = settings.replace(tls_cert=str(cert), tls_key=str(key))
        ensure_demo_lake(settings.engine, scale_factor=args.sf)
        return serve(settings, demo=True)
    if args.command == "lake":
        from engine import lake as lake_mod

        if args.lake_command == "demo":
            lake_mod.write_tpch(
                settings.engine, scale_factor=args.sf, catalog=args.catalog, schema=args.schema
            )
            return 0
        lake_mod.import_files(
            settings.engine, args.table, args.files, mode=args.mode,
            partition_by=args.partition_by,
        )
        return 0
    if args.command == "worker":
        from engine.worker.process import run_worker

        return run_worker(settings, listen=args.listen, ready_fd=args.ready_fd,
                          stream=args.stream)
    return 2


if __name__ == "__main__":
    sys.exit(main())
