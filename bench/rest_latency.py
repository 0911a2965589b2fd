"""`SELECT 1` round trip through the REST API on a warm gateway, next to DuckDB in-process.

    python -m bench.rest_latency [--n 500] [--url URL --token T]

Without --url it starts its own gateway (``sqlgate serve`` in a subprocess, an empty lake,
one warm worker) on a free port, waits until a statement succeeds, then times ``--n``
sequential ``POST /api/2.0/sql/statements`` calls over one keep-alive connection (each
answers SUCCEEDED inline) and the same statement through ``duckdb.connect().sql``. The goal
is a REST p50 of at most 5 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import httpx

from bench.clients import Target
from bench.local import LocalError, LocalGateway

WAREHOUSE = "sqlgate0000000001"
TOKEN = "dapi-bench-token"


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """p50/p90/p99/mean in milliseconds."""
    ms = sorted(s * 1000.0 for s in samples_s)

    def pick(q: float) -> float:
        return ms[min(len(ms) - 1, int(q * len(ms)))]

    return {"p50": pick(0.50), "p90": pick(0.90), "p99": pick(0.99),
            "mean": statistics.fmean(ms)}


def timed(fn: Callable[[], object], n: int, warmup: int = 20) -> list[float]:
    """Run `fn` `warmup` times untimed, then `n` times timed; seconds per call."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


@contextmanager
def local_gateway(timeout_s: float = 90.0) -> Iterator[Target]:
    """A `LocalGateway` over an empty lake with one warm worker, once `SELECT 1` succeeds."""
    with tempfile.TemporaryDirectory(prefix="sqlgate-bench-") as tmp:
        work = Path(tmp)
        (work / "lake").mkdir()
        settings = {"log_level": "warning", "min_workers": "1",
                    "cache_dir": str(work / "cache")}
        with LocalGateway(work / "lake", work, settings) as gw, \
                httpx.Client(base_url=gw.url, timeout=60) as client:
            deadline = time.monotonic() + timeout_s
            # Healthy is not warm: wait until a statement runs on the pool's worker.
            while not _answers(client, gw.token, gw.warehouse_id):
                if time.monotonic() > deadline:
                    raise LocalError("gateway did not become ready")
                time.sleep(0.2)
            yield gw.target


def _answers(client: httpx.Client, token: str, warehouse: str) -> bool:
    try:
        return run_select_1(client, token, check=False, warehouse=warehouse)
    except httpx.HTTPError:
        return False


def run_select_1(
    client: httpx.Client, token: str = TOKEN, check: bool = True, warehouse: str = WAREHOUSE
) -> bool:
    """One `SELECT 1` through the API; True when it SUCCEEDED with the right row."""
    r = client.post(
        "/api/2.0/sql/statements",
        json={"statement": "SELECT 1", "warehouse_id": warehouse, "wait_timeout": "10s"},
        headers={"Authorization": f"Bearer {token}"},
    )
    ok = r.status_code == 200 and r.json().get("result", {}).get("data_array") == [["1"]]
    if check and not ok:
        raise RuntimeError(f"SELECT 1 failed: {r.status_code} {r.text[:300]}")
    return ok


def measure_rest(url: str, token: str, warehouse: str = WAREHOUSE, n: int = 500) -> list[float]:
    """`n` sequential `SELECT 1` POSTs over one keep-alive connection; seconds per call.

    >>> measure_rest("http://127.0.0.1:8000", "dapi...", n=10)  # doctest: +SKIP
    """
    with httpx.Client(base_url=url, timeout=60) as client:
        return timed(lambda: run_select_1(client, token, warehouse=warehouse), n)


def measure_duckdb(n: int = 500) -> list[float]:
    """`n` `SELECT 1` on an in-process DuckDB connection; seconds per call."""
    con = duckdb.connect()
    try:
        return timed(lambda: con.sql("SELECT 1").fetchall(), n)
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a small table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--url", help="an already running gateway")
    ap.add_argument("--token", default=TOKEN)
    args = ap.parse_args(argv)

    duck = percentiles(measure_duckdb(args.n))

    @contextmanager
    def target() -> Iterator[Target]:
        if args.url:
            yield Target(args.url, args.token, WAREHOUSE)
        else:
            with local_gateway() as local:
                yield local

    with target() as t:
        rest = percentiles(measure_rest(t.url, t.token, t.warehouse_id, n=args.n))
    print(f"SELECT 1, {args.n} sequential calls (ms)")
    print(f"{'path':<28}{'p50':>8}{'p90':>8}{'p99':>8}{'mean':>8}")
    for name, p in (("REST gateway (warm pool)", rest), ("DuckDB in-process", duck)):
        print(f"{name:<28}{p['p50']:>8.2f}{p['p90']:>8.2f}{p['p99']:>8.2f}{p['mean']:>8.2f}")
    verdict = "met" if rest["p50"] <= 5.0 else "missed"
    print(f"goal REST p50 <= 5 ms: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
