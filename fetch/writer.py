"""Write a result into the store as chunks, while the batches are still coming out of DuckDB.

::

    writer = ChunkWriter(store, prefix, ResultFormat.ARROW_STREAM, schema, compression=None,
                         target_bytes=16 * MiB, upload_concurrency=4, max_chunks=100_000)
    with writer:                      # an exception inside aborts: nothing is left behind
        for batch in reader:
            writer.write(batch)
    infos = writer.close()            # ChunkInfo per chunk: index, row offset, rows, bytes, key

`finished()` answers, without blocking, the chunks whose upload completed since it was last
called (in completion order): the worker reports them while the statement still runs, so a
client can download the first chunks while DuckDB is still producing the last ones.

Memory stays bounded whatever the result size: the writer buffers at most one chunk of
batches, and at most `upload_concurrency` serialized chunks are in flight (a further `write`
blocks until an upload finishes, which pushes back on the producer).

A chunk is cut when its rows would serialize to about `target_bytes`. Arrow size is the
measure; for CSV/JSON the writer learns the serialized/Arrow size ratio from the chunks so far
(in the calling thread, so boundaries are deterministic). Batches larger than a chunk are
sliced. LZ4 compression and the upload run on the upload threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

import pyarrow as pa

from fetch.errors import FetchError, ResultTooLarge, WriterClosed
from fetch.serialize import (
    LZ4_FRAME,
    Lz4FrameWriter,
    check_compression,
    chunk_extension,
    lz4_frame,
    serialize_chunk,
    wire_schema,
    write_arrow_stream,
)
from fetch.store import ResultStore, check_key
from sqlgate.settings import FetchSettings
from sqlgate.types import ChunkInfo, ResultFormat


class ChunkWriter:
    """Cuts a stream of record batches into chunks and uploads them, several at a time."""

    def __init__(
        self,
        store: ResultStore,
        prefix: str,
        format: ResultFormat,
        schema: pa.Schema,
        compression: str | None = None,
        target_bytes: int = 16 * 1024 * 1024,
        upload_concurrency: int = 4,
        max_chunks: int = 100_000,
    ) -> None:
        if target_bytes <= 0 or upload_concurrency <= 0 or max_chunks <= 0:
            raise FetchError("target_bytes, upload_concurrency and max_chunks must be positive")
        self.store = store
        self.prefix = check_key(prefix if prefix.endswith("/") else prefix + "/", prefix=True)
        self.format = ResultFormat(format)
        self.source_schema = schema
        self.schema = wire_schema(schema)
        self._cast = not self.schema.equals(schema)
        self.compression = check_compression(compression)
        self.target_bytes = target_bytes
        self.max_chunks = max_chunks
        self._ext = chunk_extension(self.format, self.compression)
        self._pending: list[pa.RecordBatch] = []
        self._pending_bytes = 0
        self._pending_rows = 0
        self._next_index = 0
        self._row_offset = 0
        # serialized bytes per Arrow byte, learned from the chunks written so far
        self._ratio = 1.0 if self.format is ResultFormat.ARROW_STREAM else 2.0
        self._arrow_total = 0
        self._plain_total = 0
        self._slots = threading.BoundedSemaphore(upload_concurrency)
        self._pool = ThreadPoolExecutor(upload_concurrency, thread_name_prefix="chunk-upload")
        self._futures: list[Future[ChunkInfo]] = []
        self._finished: list[ChunkInfo] = []
        self._finished_lock = threading.Lock()
        self._error: BaseException | None = None
        self._state = "open"

    @classmethod
    def from_settings(
        cls,
        store: ResultStore,
        settings: FetchSettings,
        prefix: str,
        format: ResultFormat,
        schema: pa.Schema,
        compression: str | None = None,
    ) -> ChunkWriter:
        """A writer sized by `FetchSettings` (chunk target, upload concurrency, max chunks)."""
        return cls(
            store, prefix, format, schema, compression,
            target_bytes=settings.chunk_target_bytes,
            upload_concurrency=settings.upload_concurrency,
            max_chunks=settings.max_chunks,
        )

    def __enter__(self) -> ChunkWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()

    @property
    def row_count(self) -> int:
        """Rows accepted so far."""
        return self._row_offset + self._pending_rows

    def write(self, batch: pa.RecordBatch) -> None:
        """Add a batch; may block while `upload_concurrency` uploads are in flight."""
        self._check_open()
        if not batch.schema.equals(self.source_schema):
            self.abort()
            raise FetchError(f"batch schema {batch.schema} differs from the result schema")
        if self._cast:
            batch = batch.cast(self.schema)
        try:
            while batch.num_rows:
                budget = self._budget()
                size = batch.nbytes
                if self._pending_bytes + size <= budget:
                    self._add(batch, size)
                    batch = batch.slice(0, 0)
                else:
                    room = max(budget - self._pending_bytes, 0)
                    rows = min(batch.num_rows, int(batch.num_rows * room / max(size, 1)))
                    if rows == 0 and not self._pending:
                        rows = 1  # one row wider than a chunk still has to go somewhere
                    if rows:
                        head = batch.slice(0, rows)
                        self._add(head, head.nbytes)
                        batch = batch.slice(rows)
                    self._flush()
                if self._pending_bytes >= budget:
                    self._flush()
        except BaseException:
            self.abort()
            raise

    def finished(self) -> list[ChunkInfo]:
        """The chunks stored since the last call (completion order; never blocks)."""
        with self._finished_lock:
            done, self._finished = self._finished, []
        return done

    def close(self) -> tuple[ChunkInfo, ...]:
        """Upload the last chunk, wait for every upload; returns the chunks in order."""
        self._check_open()
        try:
            if self._pending:
                self._flush()
            infos = tuple(f.result() for f in self._futures)
        except BaseException:
            self.abort()
            raise
        self._state = "closed"
        self._pool.shutdown(wait=True)
        return infos

    def abort(self) -> None:
        """Stop, wait for in-flight uploads, and delete everything written so far."""
        if self._state == "aborted":
            return
        self._state = "aborted"
        self._pending = []
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.store.delete_prefix(self.prefix)

    def _check_open(self) -> None:
        if self._state != "open":
            raise WriterClosed(f"the chunk writer is {self._state}")
        if self._error is not None:
            error = self._error
            self.abort()
            raise error

    def _budget(self) -> int:
        return max(int(self.target_bytes / self._ratio), 1)

    def _add(self, batch: pa.RecordBatch, size: int) -> None:
        self._pending.append(batch)
        self._pending_bytes += size
        self._pending_rows += batch.num_rows

    def _flush(self) -> None:
        if not self._pending:
            return
        if self._next_index >= self.max_chunks:
            raise ResultTooLarge(
                f"the result needs more than {self.max_chunks} chunks (max_chunks)"
            )
        index, rows, arrow_bytes = self._next_index, self._pending_rows, self._pending_bytes
        payload: list[pa.RecordBatch] | bytes
        if self.format is ResultFormat.ARROW_STREAM:
            # Serialized on the upload thread, straight into the store's sink: the producer
            # (DuckDB's reader) goes on with the next batches meanwhile, and no copy of the
            # chunk is built in memory. IPC is the Arrow size plus a little framing, so the
            # ratio stays 1 and chunk boundaries stay deterministic.
            payload = self._pending
        else:
            payload = serialize_chunk(self._pending, self.schema, self.format,
                                      header=(index == 0))
            self._arrow_total += arrow_bytes
            self._plain_total += len(payload)
            if self._arrow_total:
                self._ratio = max(self._plain_total / self._arrow_total, 0.05)
        info = ChunkInfo(
            chunk_index=index,
            row_offset=self._row_offset,
            row_count=rows,
            byte_count=0,
            key=f"{self.prefix}{index}.{self._ext}",
        )
        self._pending, self._pending_bytes, self._pending_rows = [], 0, 0
        self._next_index += 1
        self._row_offset += rows
        self._slots.acquire()  # back-pressure: at most upload_concurrency chunks in memory
        if self._error is not None:
            self._slots.release()
            raise self._error
        try:
            self._futures.append(self._pool.submit(self._upload, info, payload))
        except BaseException:
            self._slots.release()
            raise

    def _upload(self, info: ChunkInfo, payload: list[pa.RecordBatch] | bytes) -> ChunkInfo:
        try:
            assert info.key is not None
            if isinstance(payload, bytes):
                data = payload
                if self.compression == LZ4_FRAME:
                    data = lz4_frame(data)
                self.store.put(info.key, data)
                size = len(data)
            else:
                size = self.store.put_stream(info.key, self._arrow_filler(payload))
            done = ChunkInfo(info.chunk_index, info.row_offset, info.row_count, size, info.key)
            with self._finished_lock:
                self._finished.append(done)
            return done
        except BaseException as exc:
            self._error = self._error or exc
            raise
        finally:
            self._slots.release()

    def _arrow_filler(self, batches: list[pa.RecordBatch]) -> Callable[[pa.NativeFile], None]:
        """Writes one Arrow IPC stream chunk (one LZ4 frame around it, if asked) to a sink."""

        def fill(sink: pa.NativeFile) -> None:
            if self.compression == LZ4_FRAME:
                # One LZ4 frame per chunk, independent blocks (Arrow's own "lz4" stream
                # codec links them, which strict decoders refuse), streamed, not held whole.
                packed = Lz4FrameWriter(sink)
                write_arrow_stream(pa.PythonFile(packed, mode="w"), self.schema, batches)
                packed.close()
            else:
                write_arrow_stream(sink, self.schema, batches)

        return fill
