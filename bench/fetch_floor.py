"""The bare path of issue 8's architecture: the same rows, the same stages, none of sqlgate.

Issue 8 asks for a large result, written by a worker as chunks into a store and downloaded
by the client over HTTP, within 2x of DuckDB reading the same rows in-process. This module
measures how fast that architecture can go on this machine with every layer above the
kernel taken out, so the report can say how much room the goal leaves:

- a *producer* process runs DuckDB's Arrow reader with the worker's engine threads and writes
  Arrow IPC chunk files of about the worker's chunk target (cut at batch boundaries, so a
  little larger) with as many writer threads as the worker has uploaders, announcing each
  finished file on its stdout (the worker's stages, without Flight, the registry or the API);
- a *sender* process hands each announced file to ``socket.sendfile`` on one of N kept-open
  loopback TCP connections (the store's role, without HTTP, signing or an event loop);
- the harness receives each chunk with ``recv_into`` into one Arrow buffer and builds the
  Table from them without a copy (the client's role, without HTTP parsing or link requests).

Three processes move the bytes the way sqlgate must (into the store, out of it, into the
client) on the same cores, so `BarePath.run`'s time is a floor for any implementation of
this design here::

    with BarePath(files, threads=2, writers=4, chunk_bytes=16 * MiB, connections=8,
                  work=Path("/tmp/floor")) as bare:
        fetched = bare.run()      # one SELECT * over `files`, timed by the caller

The producer and sender are ``python -m bench.fetch_floor produce|send SPEC`` subprocesses
(not forks: the harness has DuckDB's and Arrow's thread pools running).
"""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import pyarrow as pa

from bench.clients import ClientError, Fetched
from fetch.transport import RECEIVE_POOL, fill  # the client's allocator: receiving pays alike

# One announcement: chunk index and byte size; index -1 ends a result (size = chunk count).
_HEADER = struct.Struct("<qq")
_END = -1
# Bounds: a round that has not finished in this long failed; processes get this to exit.
_ROUND_TIMEOUT_S = 300.0
_EXIT_TIMEOUT_S = 10.0


class BarePath:
    """The producer and sender processes plus the receiving side; one `run` per SELECT *."""

    def __init__(
        self, files: list[str], *, threads: int, writers: int, chunk_bytes: int,
        connections: int, work: Path,
    ) -> None:
        if min(threads, writers, chunk_bytes, connections) <= 0:
            raise ValueError("threads, writers, chunk_bytes and connections must be positive")
        self.chunks = work / "chunks"
        shutil.rmtree(self.chunks, ignore_errors=True)
        self.chunks.mkdir(parents=True)
        spec = work / "spec.json"
        spec.write_text(json.dumps({
            "files": files, "threads": threads, "writers": writers,
            "chunk_bytes": chunk_bytes, "dir": str(self.chunks),
        }))
        self._conns: list[socket.socket] = []
        self._procs: list[subprocess.Popen[bytes]] = []
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(_ROUND_TIMEOUT_S)
        try:
            port = listener.getsockname()[1]
            producer = subprocess.Popen(
                [sys.executable, "-m", "bench.fetch_floor", "produce", str(spec)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self._procs.append(producer)
            self._procs.append(subprocess.Popen(
                [sys.executable, "-m", "bench.fetch_floor", "send", str(spec), str(port),
                 str(connections)], stdin=producer.stdout))
            assert producer.stdout is not None
            producer.stdout.close()  # the sender holds it; it sees EOF when the producer exits
            for _ in range(connections):
                conn, _addr = listener.accept()
                conn.settimeout(_ROUND_TIMEOUT_S)
                self._conns.append(conn)
        except BaseException:
            self.close()
            raise
        finally:
            listener.close()

    def __enter__(self) -> BarePath:
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def run(self) -> Fetched:
        """Produce, send and receive the whole result once; the rows as a Table's count."""
        producer = self._procs[0]
        assert producer.stdin is not None
        parts: dict[int, pa.Table] = {}
        errors: list[BaseException] = []
        try:
            producer.stdin.write(b"go\n")
            producer.stdin.flush()
        except OSError as exc:
            raise ClientError("IO_ERROR", f"bare path producer is gone: {exc}") from exc
        threads = [threading.Thread(target=self._receive, args=(conn, parts, errors))
                   for conn in self._conns]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise ClientError("IO_ERROR", f"bare path: {errors[0]}")
        table = pa.concat_tables([parts[i] for i in sorted(parts)]) if parts else None
        rows = table.num_rows if table is not None else 0
        nbytes = table.nbytes if table is not None else 0
        count = len(parts)
        del table, parts

        def clear() -> None:
            for path in self.chunks.iterdir():
                path.unlink(missing_ok=True)

        return Fetched(rows, nbytes, count, cleanup=clear)

    def close(self) -> None:
        """Stop both processes (the producer on stdin EOF, the sender after it)."""
        for conn in self._conns:
            conn.close()
        self._conns = []
        if self._procs and self._procs[0].stdin is not None:
            with contextlib.suppress(OSError):
                self._procs[0].stdin.close()
        for proc in self._procs:
            try:
                proc.wait(_EXIT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs = []
        shutil.rmtree(self.chunks, ignore_errors=True)

    def _receive(
        self, conn: socket.socket, parts: dict[int, pa.Table], errors: list[BaseException]
    ) -> None:
        try:
            while True:
                index, size = _HEADER.unpack(bytes(_recv_exactly(conn, _HEADER.size)))
                if index == _END:
                    return
                buf = _recv_exactly(conn, size, pa.allocate_buffer(size, memory_pool=RECEIVE_POOL))
                parts[index] = pa.ipc.open_stream(buf).read_all()
        except (OSError, EOFError, pa.ArrowException) as exc:
            errors.append(exc)


def _recv_exactly(
    conn: socket.socket, size: int, buf: pa.Buffer | bytearray | None = None
) -> pa.Buffer | bytearray:
    target = bytearray(size) if buf is None else buf
    got = fill(conn.recv_into, memoryview(target).cast("B")[:size])
    if got < size:
        raise EOFError(f"connection closed after {got} of {size} bytes")
    return target


def _produce(spec: dict[str, Any], commands: IO[bytes], out: IO[bytes]) -> None:
    """For each ``go`` line: SELECT * into chunk files, announcing each one as it is stored."""
    import pyarrow.ipc as ipc

    from bench.clients import duckdb_baseline

    conn = duckdb_baseline({"t": spec["files"]}, spec["threads"])
    folder = Path(spec["dir"])
    lock = threading.Lock()
    writers = int(spec["writers"])
    slots = threading.BoundedSemaphore(writers)

    def write(index: int, batches: list[pa.RecordBatch], schema: pa.Schema) -> None:
        try:
            path = folder / f"{index}.arrow"
            with pa.OSFile(str(path), "wb") as sink, ipc.new_stream(sink, schema) as writer:
                for batch in batches:
                    writer.write_batch(batch)
            with lock:
                out.write(_HEADER.pack(index, path.stat().st_size))
                out.flush()
        finally:
            slots.release()

    for _line in commands:
        reader = conn.sql("SELECT * FROM t").to_arrow_reader(122_880)
        with ThreadPoolExecutor(writers) as pool:
            futures = []
            for index, batches in enumerate(_chunked(reader, spec["chunk_bytes"])):
                slots.acquire()  # as the worker: at most `writers` chunks in flight
                futures.append(pool.submit(write, index, batches, reader.schema))
            for f in futures:
                f.result()
        with lock:
            out.write(_HEADER.pack(_END, len(futures)))
            out.flush()


def _chunked(batches: Iterable[pa.RecordBatch], target: int) -> Iterator[list[pa.RecordBatch]]:
    """Batches grouped into chunks, each cut at the first batch that reaches `target` bytes."""
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in batches:
        pending.append(batch)
        size += batch.nbytes
        if size >= target:
            yield pending
            pending, size = [], 0
    if pending:
        yield pending


def _send(port: int, connections: int, announcements: IO[bytes], folder: Path) -> None:
    """Send each announced chunk file on connection ``index % connections``."""
    conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(connections)]
    queues: list[queue.Queue[tuple[int, int] | None]] = [queue.Queue() for _ in conns]

    def serve(conn: socket.socket, work: queue.Queue[tuple[int, int] | None]) -> None:
        while (item := work.get()) is not None:
            index, size = item
            conn.sendall(_HEADER.pack(index, size))
            if index != _END:
                with open(folder / f"{index}.arrow", "rb") as fh:
                    conn.sendfile(fh)

    threads = [threading.Thread(target=serve, args=(c, q)) for c, q in zip(conns, queues,
                                                                            strict=True)]
    for t in threads:
        t.start()
    try:
        while len(header := announcements.read(_HEADER.size)) == _HEADER.size:
            index, size = _HEADER.unpack(header)
            if index == _END:
                for q in queues:
                    q.put((index, size))
            else:
                queues[index % connections].put((index, size))
    finally:
        for q in queues:
            q.put(None)
        for t in threads:
            t.join()
        for c in conns:
            c.close()


def main(argv: list[str]) -> int:
    """``produce SPEC`` or ``send SPEC PORT CONNECTIONS`` (run by `BarePath`)."""
    role, spec_path = argv[0], Path(argv[1])
    spec = json.loads(spec_path.read_text())
    if role == "produce":
        _produce(spec, sys.stdin.buffer, sys.stdout.buffer)
    elif role == "send":
        _send(int(argv[2]), int(argv[3]), sys.stdin.buffer, Path(spec["dir"]))
    else:
        raise SystemExit(f"unknown role {role!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
