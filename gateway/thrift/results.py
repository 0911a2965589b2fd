"""Reading a finished result the way one Thrift client wants it: metadata and pages.

An inline result (Arrow batches held by the registry) is paged from the operation's offset
as Arrow batches (with the wire schema, LZ4 when asked) or columns. An external result (chunks
in the result store) is paged as fresh presigned links, a bounded run of chunks per call, to
clients that download them (Cloud Fetch); every other client (Hive JDBC, pyhive, impyla, a
connector with cloud fetch off) gets it through FetchResults like an inline one, read one
stored chunk at a time: a result of any size costs the gateway one chunk per operation being
read, never the whole result.
Everything here is synchronous and CPU- or store-bound: callers run it in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from databricks.sql.thrift_api.TCLIService import ttypes

from fetch.serialize import decompress_chunk
from fetch.store import ResultStore
from gateway.core.backend import StatementResult
from gateway.thrift import rowsets
from gateway.thrift.operations import Operation, RowFormat, StoredChunk
from gateway.thrift.schema import table_schema, wire_schema

URL_BASED_SET = ttypes.TSparkRowSetType.URL_BASED_SET
# Links handed out per FetchResults: enough for the client's parallel downloads, bounded.
MAX_LINKS_PER_PAGE = 64

OK = ttypes.TStatus(statusCode=ttypes.TStatusCode.SUCCESS_STATUS)


def result_format(op: Operation, result: StatementResult) -> int:
    """The TSparkRowSetType this operation's result travels as."""
    if result.manifest.external and op.caps.links:
        return URL_BASED_SET
    return op.caps.row_format.value


def metadata(op: Operation, result: StatementResult) -> ttypes.TGetResultSetMetadataResp:
    """GetResultSetMetadata: Hive schema, format, and for Arrow the schema bytes and LZ4 flag."""
    fmt = result_format(op, result)
    resp = ttypes.TGetResultSetMetadataResp(
        status=OK,
        schema=table_schema(result.schema),
        resultFormat=fmt,
        lz4Compressed=False,
        isStagingOperation=False,
    )
    if fmt == URL_BASED_SET:
        # The chunk files carry the engine's own Arrow types; say exactly those.
        resp.arrowSchema = rowsets.schema_bytes(result.schema)
        resp.lz4Compressed = result.manifest.compression == "LZ4_FRAME"
    elif fmt == RowFormat.ARROW.value:
        resp.arrowSchema = rowsets.schema_bytes(wire_schema(result.schema, op.caps.native))
        resp.lz4Compressed = op.caps.lz4
    return resp


@dataclass
class Fetched:
    """One page: the row set, how many rows it covers, and whether more remain."""

    rowset: ttypes.TRowSet
    rows: int
    has_more: bool


def total_rows(result: StatementResult) -> int:
    """Rows in the result (inline: counted from the batches the registry holds)."""
    if result.manifest.external:
        return sum(c.row_count for c in result.manifest.chunks)
    return sum(b.num_rows for b in result.batches)


def next_page(
    op: Operation,
    result: StatementResult,
    max_rows: int,
    max_bytes: int,
    store: ResultStore | None,
) -> Fetched:
    """The page starting at `op.offset`; the caller advances the offset by `rows`."""
    total = total_rows(result)
    start = op.offset
    if result.manifest.external:
        if store is None:
            raise RuntimeError("external result without a result store")
        if op.caps.links:
            links = _links(result, start, max_bytes, store)
            rows = sum(link.row_count for link in links)
            return Fetched(rowsets.link_rowset(links, start), rows, start + rows < total)
        chunk = stored_chunk(op, result, start, store)
        page = rowsets.slice_page(chunk.batches, start - chunk.row_offset, max_rows, max_bytes)
        page.start = start
    else:
        page = rowsets.slice_page(result.batches, start, max_rows, max_bytes)
    if op.caps.row_format is RowFormat.ARROW:
        rowset = rowsets.arrow_rowset(page, result.schema, op.caps.native, op.caps.lz4)
    else:
        rowset = rowsets.column_rowset(rowsets.page_table(page, result.schema), start)
    return Fetched(rowset, page.rows, start + page.rows < total)


def stored_chunk(
    op: Operation, result: StatementResult, start: int, store: ResultStore
) -> StoredChunk:
    """The stored chunk holding row `start`, decoded (kept on `op` until the next one is
    needed, so a client paging through it reads the store once per chunk)."""
    cached = op.chunk
    if cached is not None and cached.row_offset <= start < cached.row_offset + cached.rows:
        return cached
    op.chunk = None  # let the previous chunk go before the next one is read
    for info in result.manifest.chunks:
        if info.key is not None and info.row_offset <= start < info.row_offset + info.row_count:
            data = decompress_chunk(store.get(info.key), result.manifest.compression)
            batches = pa.ipc.open_stream(data).read_all().to_batches()
            op.chunk = StoredChunk(info.key, info.row_offset, info.row_count, batches)
            return op.chunk
    return StoredChunk(None, start, 0, [])  # past the end: an empty page


def _links(
    result: StatementResult, start: int, max_bytes: int, store: ResultStore
) -> list[rowsets.Link]:
    out: list[rowsets.Link] = []
    budget = max_bytes
    for chunk in result.manifest.chunks:
        if chunk.row_offset + chunk.row_count <= start or chunk.key is None:
            continue
        if out and (len(out) >= MAX_LINKS_PER_PAGE or chunk.byte_count > budget):
            break
        link = store.link(chunk.key)
        out.append(
            rowsets.Link(
                url=link.url,
                expiry_ms=int(link.expiration.timestamp() * 1000),
                row_offset=chunk.row_offset,
                row_count=chunk.row_count,
                byte_count=chunk.byte_count,
                headers=dict(link.headers),
            )
        )
        budget -= chunk.byte_count
    return out


def log_page() -> tuple[ttypes.TRowSet, ttypes.TGetResultSetMetadataResp]:
    """impyla's log fetch (fetchType=1): no rows, one string column."""
    schema = ttypes.TTableSchema(columns=[ttypes.TColumnDesc(
        columnName="operation_log",
        typeDesc=ttypes.TTypeDesc(types=[ttypes.TTypeEntry(
            primitiveEntry=ttypes.TPrimitiveTypeEntry(type=ttypes.TTypeId.STRING_TYPE))]),
        position=1,
    )])
    meta = ttypes.TGetResultSetMetadataResp(
        status=OK, schema=schema, resultFormat=RowFormat.COLUMNS.value
    )
    return rowsets.empty_rowset(0, columns=1), meta


__all__ = ["OK", "Fetched", "log_page", "metadata", "next_page", "result_format", "total_rows"]
