"""Arrow results -> `TRowSet`, in the three shapes clients read.

- ARROW_BASED_SET: one `TSparkArrowBatch` per record batch, each the encapsulated IPC
  message of `RecordBatch.serialize()` (no schema, no end-of-stream), LZ4-framed one by one
  (independent blocks) when the client can decompress; the schema goes separately as `arrowSchema`.
- COLUMN_BASED_SET: one `TColumn` per column with a nulls bitmap (least-significant bit
  first); what clients without pyarrow (pyhive, impyla, a base connector) read.
- URL_BASED_SET: links to complete Arrow IPC stream files in the result store, expiry in
  epoch milliseconds (Node compares with `Date.now()`).

>>> import pyarrow as pa
>>> rs = column_rowset(pa.table({"x": [1, None]}), start=0)
>>> (rs.columns[0].i64Val.values, rs.columns[0].i64Val.nulls)
([1, 0], b'\\x02')
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from databricks.sql.thrift_api.TCLIService import ttypes

from fetch.jsonrows import column_as_strings
from fetch.serialize import lz4_frame
from gateway.thrift.schema import NativeTypes, wire_schema


def schema_bytes(schema: pa.Schema) -> bytes:
    """The `arrowSchema` field: an encapsulated IPC Schema message."""
    return bytes(schema.serialize().to_pybytes())


def _json_default(value: Any) -> Any:
    return str(value)


def _to_json_strings(arr: pa.Array) -> pa.Array:
    # pyarrow cannot cast nested types to text; Spark renders them as JSON.
    values = arr.to_pylist()
    return pa.array(
        [None if v is None else json.dumps(_jsonable(v), default=_json_default) for v in values],
        pa.string(),
    )


def _jsonable(v: Any) -> Any:
    # Arrow maps arrive as lists of (key, value) tuples.
    if isinstance(v, list) and v and all(isinstance(x, tuple) and len(x) == 2 for x in v):
        return {str(k): _jsonable(val) for k, val in v}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    return v


def timestamp_text(arr: pa.Array) -> pa.Array:
    """Timestamps as Spark's Thrift server writes them: ``yyyy-MM-dd HH:mm:ss[.fffffffff]``,
    UTC wall time (the session time zone), trailing zeros of the fraction dropped, no zone
    suffix: what Hive JDBC's `Timestamp.valueOf` and the connectors' parsers read.

    >>> import datetime as dt
    >>> ts = pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, 120000), dt.datetime(2024, 1, 2)],
    ...               pa.timestamp("us", tz="UTC"))
    >>> timestamp_text(ts).to_pylist()
    ['2024-01-02 03:04:05.12', '2024-01-02 00:00:00']
    """
    wall = arr.cast(pa.timestamp(arr.type.unit))  # a zoned timestamp's values are UTC
    text = pc.strftime(wall, "%Y-%m-%d %H:%M:%S")  # %S carries the unit's fraction
    return pc.replace_substring_regex(text, r"\.0+$|(\.\d*[1-9])0+$", r"\1")


def _cast_column(arr: pa.Array, target: pa.DataType) -> pa.Array:
    if arr.type == target:
        return arr
    if pa.types.is_string(target) and pa.types.is_nested(arr.type):
        return _to_json_strings(arr)
    if pa.types.is_string(target) and (pa.types.is_interval(arr.type)
                                       or pa.types.is_duration(arr.type)):
        # Spark's own text of an interval ('1-2', '3 04:05:06.500000000'), as REST shows it
        return pa.array(column_as_strings(arr), pa.string())
    if pa.types.is_string(target) and pa.types.is_timestamp(arr.type):
        return timestamp_text(arr)
    return arr.cast(target)


def to_wire(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """`batch` cast column by column to `schema` (a `wire_schema`)."""
    if batch.schema.equals(schema):
        return batch
    cols = [_cast_column(batch.column(i), f.type) for i, f in enumerate(schema)]
    return pa.RecordBatch.from_arrays(cols, schema=schema)


@dataclass
class Page:
    """A slice of a result: the batches of rows [start, start + rows)."""

    start: int
    batches: list[pa.RecordBatch]

    @property
    def rows(self) -> int:
        return sum(b.num_rows for b in self.batches)


def slice_page(
    batches: Sequence[pa.RecordBatch], start: int, max_rows: int, max_bytes: int
) -> Page:
    """Rows from `start`, at most `max_rows` and about `max_bytes` (at least one row)."""
    out: list[pa.RecordBatch] = []
    skip, rows_left, bytes_left = start, max(1, max_rows), max(1, max_bytes)
    for batch in batches:
        if rows_left <= 0 or bytes_left <= 0:
            break
        if skip >= batch.num_rows:
            skip -= batch.num_rows
            continue
        piece = batch.slice(skip, min(rows_left, batch.num_rows - skip))
        skip = 0
        if piece.num_rows and piece.nbytes > bytes_left:
            # Keep the page under the byte budget, but always make progress.
            per_row = max(1, piece.nbytes // piece.num_rows)
            fit = max(1 if not out else 0, bytes_left // per_row)
            piece = piece.slice(0, fit)
        if piece.num_rows == 0:
            break
        out.append(piece)
        rows_left -= piece.num_rows
        bytes_left -= piece.nbytes
    return Page(start=start, batches=out)


def arrow_rowset(
    page: Page, schema: pa.Schema, native: NativeTypes, lz4_compressed: bool
) -> ttypes.TRowSet:
    """ARROW_BASED_SET of `page`, cast to the wire schema, each batch LZ4-framed if asked."""
    target = wire_schema(schema, native)
    arrow_batches = []
    for batch in page.batches:
        data = bytes(to_wire(batch, target).serialize().to_pybytes())
        if lz4_compressed:
            data = lz4_frame(data)
        arrow_batches.append(ttypes.TSparkArrowBatch(batch=data, rowCount=batch.num_rows))
    return ttypes.TRowSet(startRowOffset=page.start, rows=[], arrowBatches=arrow_batches)


def _nulls(arr: pa.Array) -> bytes:
    if arr.null_count == 0:
        return b""
    bits = bytearray((len(arr) + 7) // 8)
    for i, valid in enumerate(arr.is_valid().to_pylist()):
        if not valid:
            bits[i // 8] |= 1 << (i % 8)
    return bytes(bits)


def _column(arr: pa.Array) -> ttypes.TColumn:
    t = arr.type
    nulls = _nulls(arr)
    if pa.types.is_boolean(t):
        return ttypes.TColumn(boolVal=ttypes.TBoolColumn(_filled(arr, False), nulls))
    if pa.types.is_int8(t):
        return ttypes.TColumn(byteVal=ttypes.TByteColumn(_filled(arr, 0), nulls))
    if pa.types.is_int16(t) or pa.types.is_uint8(t):
        return ttypes.TColumn(i16Val=ttypes.TI16Column(_filled(arr, 0), nulls))
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return ttypes.TColumn(i32Val=ttypes.TI32Column(_filled(arr, 0), nulls))
    if pa.types.is_integer(t):
        return ttypes.TColumn(i64Val=ttypes.TI64Column(_filled(arr, 0), nulls))
    if pa.types.is_floating(t):
        return ttypes.TColumn(doubleVal=ttypes.TDoubleColumn(_filled(arr, 0.0), nulls))
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return ttypes.TColumn(binaryVal=ttypes.TBinaryColumn(_filled(arr, b""), nulls))
    text = arr if pa.types.is_string(t) else _cast_column(arr, pa.string())
    return ttypes.TColumn(stringVal=ttypes.TStringColumn(_filled(text, ""), nulls))


def _filled(arr: pa.Array, default: Any) -> list[Any]:
    return [default if v is None else v for v in arr.to_pylist()]


def column_rowset(table: pa.Table, start: int) -> ttypes.TRowSet:
    """COLUMN_BASED_SET of `table`; decimals, dates, timestamps and nested values as text."""
    table = table.combine_chunks()
    columns = [_column(table.column(i).combine_chunks()) for i in range(table.num_columns)]
    return ttypes.TRowSet(
        startRowOffset=start, rows=[], columns=columns, columnCount=len(columns)
    )


def page_table(page: Page, schema: pa.Schema) -> pa.Table:
    """The rows of `page` as one table (an empty one with `schema` when there are none)."""
    return pa.Table.from_batches(page.batches, schema=schema)


@dataclass(frozen=True)
class Link:
    """One external chunk as the client sees it."""

    url: str
    expiry_ms: int
    row_offset: int
    row_count: int
    byte_count: int
    headers: dict[str, str] | None = None


def link_rowset(links: Iterable[Link], start: int) -> ttypes.TRowSet:
    """URL_BASED_SET: presigned links to complete Arrow IPC stream files."""
    return ttypes.TRowSet(
        startRowOffset=start,
        rows=[],
        resultLinks=[
            ttypes.TSparkArrowResultLink(
                fileLink=link.url,
                expiryTime=link.expiry_ms,
                startRowOffset=link.row_offset,
                rowCount=link.row_count,
                bytesNum=link.byte_count,
                httpHeaders=dict(link.headers or {}),
            )
            for link in links
        ],
    )


def empty_rowset(start: int, columns: int = 0) -> ttypes.TRowSet:
    """A rowset with no rows (the end of a result, or impyla's log fetch)."""
    return ttypes.TRowSet(
        startRowOffset=start,
        rows=[],
        columns=[
            ttypes.TColumn(stringVal=ttypes.TStringColumn(values=[], nulls=b""))
            for _ in range(columns)
        ],
        columnCount=columns,
    )


__all__ = [
    "Link",
    "Page",
    "arrow_rowset",
    "column_rowset",
    "empty_rowset",
    "link_rowset",
    "page_table",
    "schema_bytes",
    "slice_page",
    "timestamp_text",
    "to_wire",
]
