"""Chunk-size measurement for Cloud Fetch: write + parallel download per chunk target size.

    .venv/bin/python -m bench.fetch_client --sf 0.2 --targets 4,8,16,32 --stores local,s3

Generates TPC-H lineitem (tpchgen-cli, parquet), then for each store and target size writes
the table with `fetch.ChunkWriter` (batches of 122,880 rows, as DuckDB hands them out) and
downloads it again with `fetch.download_arrow` through real links: the local store behind a
uvicorn running `gateway.rest.links`, S3 presigned URLs on a `moto_server` subprocess. Prints
Arrow MB/s for both directions and the chunk count. A measurement script, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import uvicorn
from starlette.applications import Starlette

from fetch import ChunkWriter, ResultStore, download_arrow, open_store, result_prefix
from gateway.rest.links import links_routes
from sqlgate.settings import FetchSettings
from sqlgate.types import ResultFormat

MiB = 1024 * 1024


def lineitem(sf: float, workdir: Path) -> pa.Table:
    """TPC-H lineitem at scale factor `sf`, generated once into `workdir`."""
    out = workdir / f"tpch-{sf}"
    path = out / "lineitem.parquet"
    if not path.exists():
        exe = Path(sys.executable).with_name("tpchgen-cli")
        subprocess.run([str(exe), "parquet", "-s", str(sf), "--tables=lineitem",
                        f"--output-dir={out}"], check=True, timeout=600)
    return pq.read_table(path)


def free_socket() -> socket.socket:
    """A bound TCP socket on 127.0.0.1 for uvicorn.

    IPPROTO_TCP (not 0) so asyncio sets TCP_NODELAY on accepted connections; without it
    small answers wait ~40 ms for Nagle and delayed ACKs.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def local_store(root: Path) -> Iterator[ResultStore]:
    """A LocalStore whose links are served by a uvicorn thread on 127.0.0.1."""
    sock = free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    store = open_store(FetchSettings(results=str(root), signing_secret="bench", public_url=url))
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=links_routes(store)),
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.01)
    try:
        yield store
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def s3_store() -> Iterator[ResultStore]:
    """An S3Store on a moto_server subprocess (its own process: no GIL shared with us)."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="bench",
                              aws_secret_access_key="bench", region_name="us-east-1")
        for _ in range(100):
            try:
                client.create_bucket(Bucket="bench-results")
                break
            except Exception:  # the server is still starting
                time.sleep(0.1)
        yield open_store(FetchSettings(
            results="s3://bench-results/r", results_endpoint_url=endpoint,
            results_access_key_id="bench", results_secret_access_key="bench",
        ))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def measure(store: ResultStore, table: pa.Table, target: int, in_flight: int,
            compression: str | None) -> dict[str, float]:
    """One write + download of `table` with chunks of about `target` bytes."""
    prefix = result_prefix("bench", "chunks")
    start = time.perf_counter()
    with ChunkWriter(store, prefix, ResultFormat.ARROW_STREAM, table.schema,
                     compression=compression, target_bytes=target,
                     upload_concurrency=in_flight) as writer:
        for batch in table.to_batches(max_chunksize=122_880):
            writer.write(batch)
        infos = writer.close()
    wrote = time.perf_counter() - start
    links = [store.link(i.key) for i in infos if i.key]
    start = time.perf_counter()
    got = download_arrow(links, compression=compression, max_in_flight=in_flight)
    read = time.perf_counter() - start
    if got.num_rows != table.num_rows:
        raise RuntimeError(f"downloaded {got.num_rows} rows, wrote {table.num_rows}")
    store.delete_prefix(prefix)
    mb = table.nbytes / MiB
    return {"chunks": len(infos), "write_mb_s": mb / wrote, "read_mb_s": mb / read,
            "write_s": wrote, "read_s": read}


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print one line per store and target size."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sf", type=float, default=0.2)
    ap.add_argument("--targets", default="4,8,16,32", help="chunk targets in MiB")
    ap.add_argument("--stores", default="local,s3")
    ap.add_argument("--in-flight", type=int, default=4)
    ap.add_argument("--compression", default=None, choices=[None, "LZ4_FRAME"])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sqlgate-fetch-bench-") as tmp:
        table = lineitem(args.sf, Path(tmp))
        print(f"lineitem sf={args.sf}: {table.num_rows} rows, {table.nbytes / MiB:.0f} MiB Arrow")
        for name in args.stores.split(","):
            opener = local_store(Path(tmp) / "results") if name == "local" else s3_store()
            with opener as store:
                for target_mb in (int(t) for t in args.targets.split(",")):
                    runs = [measure(store, table, target_mb * MiB, args.in_flight,
                                    args.compression) for _ in range(args.repeats)]
                    best = {k: max(r[k] for r in runs) for k in ("write_mb_s", "read_mb_s")}
                    print(f"{name:5s} target={target_mb:3d}MiB chunks={runs[0]['chunks']:4.0f} "
                          f"write={best['write_mb_s']:7.1f} MiB/s "
                          f"download={best['read_mb_s']:7.1f} MiB/s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
