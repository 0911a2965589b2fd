"""One result chunk as bytes, in the formats of the Statement Execution API (§3 of the reference).

- ARROW_STREAM: a complete Arrow IPC *stream* (schema, batches, end-of-stream marker); with
  ``LZ4_FRAME`` the whole stream is one LZ4 frame (not Arrow's per-buffer compression).
- CSV: RFC 4180 (CRLF, minimal quoting), values as in JSON_ARRAY, NULL as ``null``; only the
  first chunk carries the header row.
- JSON_ARRAY: compact JSON, an array of row arrays of strings (NULL as ``null``).

Every LZ4 frame sqlgate writes (here, in the chunk writer and in Thrift Arrow batches) has
*independent* blocks (`lz4_frame`): strict decoders, such as some JDBC drivers', refuse
linked-block frames ("BLOCK_INDEPENDENCE must be set"), which lz4.frame writes by default.

>>> import pyarrow as pa
>>> b = pa.record_batch({"a": [1, None]})
>>> serialize_chunk([b], b.schema, ResultFormat.CSV, header=True)
b'a\\r\\n1\\r\\nnull\\r\\n'
>>> serialize_chunk([b], b.schema, ResultFormat.JSON_ARRAY)
b'[["1"],[null]]'
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import PurePath

import lz4.frame
import pyarrow as pa

from fetch.errors import FetchError
from fetch.jsonrows import rows_as_strings
from sqlgate.types import ResultFormat

LZ4_FRAME = "LZ4_FRAME"
COMPRESSIONS = (None, LZ4_FRAME)

EXTENSIONS = {
    ResultFormat.ARROW_STREAM: "arrow",
    ResultFormat.CSV: "csv",
    ResultFormat.JSON_ARRAY: "json",
}

MEDIA_TYPES = {
    "arrow": "application/vnd.apache.arrow.stream",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "lz4": "application/octet-stream",
}


def wire_schema(schema: pa.Schema) -> pa.Schema:
    """`schema` with view types as their classic forms (string_view -> string, ...).

    Chunks are read by clients that may predate Arrow's view types, and a sliced view column
    drags its whole variadic buffers into every IPC message (and into `nbytes`).
    """
    return pa.schema(
        [f.with_type(_wire_type(f.type)) for f in schema], metadata=schema.metadata
    )


def _wire_type(typ: pa.DataType) -> pa.DataType:
    if pa.types.is_string_view(typ):
        return pa.string()
    if pa.types.is_binary_view(typ):
        return pa.binary()
    return typ


def media_type(path: PurePath) -> str:
    """The Content-Type a link serves for the chunk file `path` (by its last extension)."""
    return MEDIA_TYPES.get(path.suffix.lstrip("."), "application/octet-stream")


def chunk_extension(fmt: ResultFormat, compression: str | None = None) -> str:
    """The file extension of a chunk, e.g. ``arrow`` or ``arrow.lz4``."""
    ext = EXTENSIONS[ResultFormat(fmt)]
    return f"{ext}.lz4" if compression == LZ4_FRAME else ext


def check_compression(compression: str | None) -> str | None:
    """Validate a `result_compression` value; only None and ``LZ4_FRAME`` exist."""
    if compression not in COMPRESSIONS:
        raise FetchError(f"unsupported result compression {compression!r}")
    return compression


def serialize_chunk(
    batches: Sequence[pa.RecordBatch],
    schema: pa.Schema,
    fmt: ResultFormat,
    *,
    compression: str | None = None,
    header: bool = False,
) -> bytes:
    """The bytes of one chunk holding `batches`; `header` only matters for CSV."""
    fmt = ResultFormat(fmt)
    if fmt is ResultFormat.ARROW_STREAM:
        data = arrow_stream_bytes(batches, schema)
    elif fmt is ResultFormat.CSV:
        data = csv_bytes(batches, schema, header=header)
    else:
        data = json_array_bytes(batches)
    if check_compression(compression) == LZ4_FRAME:
        return lz4_frame(data)
    return data


def lz4_frame(data: bytes | bytearray | memoryview) -> bytes:
    """`data` as one LZ4 frame of independent blocks (every decoder reads those).

    >>> frame = lz4_frame(b"x" * 100)
    >>> bool(frame[4] & 0x20), lz4.frame.decompress(frame) == b"x" * 100
    (True, True)
    """
    return bytes(lz4.frame.compress(data, block_linked=False))


class Lz4FrameWriter:
    """A write-only file object that LZ4-frames (independent blocks) what it is given into
    `sink`, for streaming a chunk without holding it whole; `close` ends the frame."""

    def __init__(self, sink: pa.NativeFile) -> None:
        self._sink = sink
        self._packer = lz4.frame.LZ4FrameCompressor(block_linked=False)
        self._sink.write(self._packer.begin())
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview | pa.Buffer) -> int:
        """Compress and forward `data`; returns its plain length."""
        view = memoryview(data)
        out = self._packer.compress(view)
        if out:
            self._sink.write(out)
        return view.nbytes

    def flush(self) -> None:
        """Nothing buffered here beyond what the LZ4 block needs; the frame ends at close."""

    def close(self) -> None:
        """Write the frame's end mark (the sink stays open)."""
        if not self.closed:
            self._sink.write(self._packer.flush())
            self.closed = True


def arrow_stream_bytes(batches: Sequence[pa.RecordBatch], schema: pa.Schema) -> bytes:
    """A complete Arrow IPC stream: schema message, the batches, end-of-stream."""
    sink = pa.BufferOutputStream()
    write_arrow_stream(sink, schema, batches)
    return sink.getvalue().to_pybytes()


def write_arrow_stream(
    sink: pa.NativeFile, schema: pa.Schema, batches: Sequence[pa.RecordBatch]
) -> None:
    """Write a complete Arrow IPC stream of `batches` to `sink` (left open)."""
    with pa.ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)


def csv_bytes(batches: Sequence[pa.RecordBatch], schema: pa.Schema, *, header: bool) -> bytes:
    """RFC 4180 CSV of the batches' rows, NULL as the literal ``null``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(schema.names)
    for batch in batches:
        writer.writerows(
            ["null" if v is None else v for v in row] for row in rows_as_strings(batch)
        )
    return out.getvalue().encode("utf-8")


def json_array_bytes(batches: Sequence[pa.RecordBatch]) -> bytes:
    """Compact JSON: one array of row arrays of strings."""
    rows: list[list[str | None]] = []
    for batch in batches:
        rows.extend(rows_as_strings(batch))
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decompress_chunk(
    data: bytes | bytearray | pa.Buffer, compression: str | None
) -> bytes | bytearray | pa.Buffer:
    """The plain bytes of a chunk downloaded from a link."""
    if check_compression(compression) == LZ4_FRAME:
        return lz4.frame.decompress(data)
    return data
