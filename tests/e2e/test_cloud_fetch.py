"""Cloud Fetch end to end (issue 8): the real databricks-sdk against a real uvicorn + warm pool.

Parametrized over the result store: a local directory (links served by the gateway under HMAC
signatures) and S3 on the moto server (boto3 presigned GETs). Chunks are kept small
(`chunk_target_bytes`) so every external result spans many chunks.

What is checked: EXTERNAL_LINKS results in ARROW_STREAM, CSV and JSON_ARRAY equal the INLINE
result and DuckDB over the source parquet; LZ4_FRAME compression; row_limit/byte_limit set
`truncated`; links need no Authorization and the chunk endpoint signs a fresh one each call;
tampered and expired links are refused; no object is left in the store after close, cancel,
a failure half-way through the write, and result expiry.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import duckdb
import httpx
import lz4.frame
import pyarrow as pa
import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.sql import Disposition, Format, StatementResponse, StatementState

from engine import Engine, EngineError
from fetch import (
    DownloadError,
    LocalStore,
    ResultStore,
    download_arrow,
    open_store,
    rows_as_strings,
)
from gateway.app import build_app
from sqlgate.settings import EngineSettings, Settings
from sqlgate.types import StatementTask
from tests.fixtures.s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, s3_client
from tests.fixtures.server import TOKEN, free_socket, running_gateway, server_settings
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.e2e
WH = "sqlgate0000000001"
CHUNK_BYTES = 64 * 1024  # many chunks from a few MB of result

# ~20k rows with decimals, dates, strings and NULLs; ordered, so every path must agree row by row.
QUERY = (
    "SELECT l_orderkey, l_linenumber, l_quantity, l_extendedprice, l_shipdate, "
    "CASE WHEN l_linenumber = 1 THEN NULL ELSE l_comment END AS note "
    "FROM {lineitem} WHERE l_orderkey < 20000 ORDER BY l_orderkey, l_linenumber"
)
# Emits ~600k rows (many chunks) and only then hits a row that cannot be cast: a statement that
# fails half-way through its write. (The cross join streams rows out long before DuckDB reaches
# the bad ones, far more than its result buffer holds; test_failure_half_way proves it first.)
FAILS_LATE = (
    "SELECT a.l_orderkey, n.n_nationkey, "
    "CAST(CASE WHEN a.l_orderkey > 30000 THEN 'x' ELSE '1' END AS INT) AS bad "
    "FROM main.tpch.lineitem a, main.tpch.nation n"
)
# Long enough (37M rows) to cancel while chunks are being written.
LONG = (
    "SELECT a.l_orderkey, a.l_comment, n.n_name, r.r_name "
    "FROM main.tpch.lineitem a, main.tpch.nation n, main.tpch.region r"
)


@dataclass
class CloudFetch:
    """One running gateway and a handle on its result store."""

    kind: str
    url: str
    settings: Settings
    w: WorkspaceClient
    store: ResultStore
    gateway: Any

    def stored(self) -> list[str]:
        """Every key in the result store."""
        return self.store.list_keys("")


@pytest.fixture(
    scope="module",
    # local-links: the local store's links served by the sendfile listener (links_port).
    params=["local", "local-links", pytest.param("s3", marks=pytest.mark.s3)],
)
def cf(
    request: pytest.FixtureRequest, engine_settings: EngineSettings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CloudFetch]:
    kind: str = request.param
    results: Any = tmp_path_factory.mktemp(f"cf-{kind}")
    extra: dict[str, Any] = {}
    if kind == "s3":
        endpoint = request.getfixturevalue("s3_server")
        bucket = f"cf-{uuid.uuid4().hex[:12]}"
        s3_client({"endpoint_url": endpoint, "access_key_id": ACCESS_KEY_ID,
                   "secret_access_key": SECRET_ACCESS_KEY, "region": REGION}
                  ).create_bucket(Bucket=bucket)
        results = f"s3://{bucket}/results"
        extra = dict(results_endpoint_url=endpoint, results_access_key_id=ACCESS_KEY_ID,
                     results_secret_access_key=SECRET_ACCESS_KEY, results_region=REGION)
    if kind == "local-links":
        probe = free_socket()
        extra = dict(links_port=probe.getsockname()[1])
        probe.close()
    sock = free_socket()
    settings = server_settings(
        engine_settings, results, sock.getsockname()[1], chunk_target_bytes=CHUNK_BYTES,
        **extra,
    )
    app = build_app(settings)
    with running_gateway(settings, app=app, sock=sock) as url:
        store = open_store(settings.fetch)
        try:
            yield CloudFetch(kind, url, settings, WorkspaceClient(host=url, token=TOKEN), store,
                             app.state.gateway)
        finally:
            store.close()


def _run(cf: CloudFetch, sql: str, fmt: Format = Format.ARROW_STREAM,
         disposition: Disposition = Disposition.EXTERNAL_LINKS, **kw: Any) -> StatementResponse:
    r = cf.w.statement_execution.execute_statement(
        warehouse_id=WH, statement=sql, disposition=disposition, format=fmt,
        wait_timeout="50s", **kw,
    )
    assert r.status is not None and r.status.state == StatementState.SUCCEEDED, r.status
    return r


def _link(cf: CloudFetch, sid: str, index: int) -> Any:
    chunk = cf.w.statement_execution.get_statement_result_chunk_n(sid, index)
    assert chunk.external_links and chunk.external_links[0].chunk_index == index
    return chunk.external_links[0]


def _chunks(cf: CloudFetch, r: StatementResponse) -> Iterator[tuple[Any, bytes]]:
    """(link, bytes) per chunk, GET without any Authorization header."""
    assert r.manifest is not None and r.manifest.total_chunk_count is not None
    for i in range(r.manifest.total_chunk_count):
        link = _link(cf, r.statement_id or "", i)
        got = httpx.get(link.external_link, headers=link.http_headers or {}, timeout=30)
        assert got.status_code == 200, got.text[:200]
        yield link, got.content


def _close(cf: CloudFetch, sid: str) -> None:
    cf.w.api_client.do("DELETE", f"/api/2.0/sql/statements/{sid}")


def _inline_rows(cf: CloudFetch, sql: str) -> list[list[str | None]]:
    r = _run(cf, sql, Format.JSON_ARRAY, Disposition.INLINE)
    assert r.manifest is not None and r.result is not None and r.statement_id
    rows: list[list[str | None]] = list(r.result.data_array or [])
    nxt = r.result.next_chunk_index
    while nxt is not None:
        chunk = cf.w.statement_execution.get_statement_result_chunk_n(r.statement_id, nxt)
        rows += chunk.data_array or []
        nxt = chunk.next_chunk_index
    assert len(rows) == r.manifest.total_row_count
    return rows


@pytest.fixture(scope="module")
def oracle(tpch_lake: tuple[Path, Path]) -> pa.Table:
    """The expected rows: DuckDB straight over the source parquet."""
    _, parquet = tpch_lake
    con = duckdb.connect()
    try:
        return con.sql(
            QUERY.format(lineitem=f"read_parquet('{parquet / 'lineitem.parquet'}')")
        ).to_arrow_table()
    finally:
        con.close()


def _as_strings(table: pa.Table) -> list[list[str | None]]:
    return [row for batch in table.to_batches() for row in rows_as_strings(batch)]


def test_formats_equal_inline_and_duckdb(cf: CloudFetch, oracle: pa.Table) -> None:
    sql = QUERY.format(lineitem="main.tpch.lineitem")
    inline = _inline_rows(cf, sql)
    assert len(inline) == oracle.num_rows > 10_000
    assert inline == _as_strings(oracle)

    # ARROW_STREAM through fetch's parallel download helper: the values themselves, typed.
    r = _run(cf, sql)
    assert r.manifest is not None and r.statement_id
    assert r.manifest.total_chunk_count is not None and r.manifest.total_chunk_count > 3
    table = download_arrow(r.statement_id, host=cf.url, token=TOKEN)
    assert table.num_rows == r.manifest.total_row_count == oracle.num_rows
    assert table.to_pylist() == oracle.to_pylist()
    assert _as_strings(table) == inline
    offset = 0
    for link, data in _chunks(cf, r):  # the manifest's row offsets/counts match the chunks
        assert link.row_offset == offset
        assert pa.ipc.open_stream(data).read_all().num_rows == link.row_count
        offset += link.row_count or 0
    _close(cf, r.statement_id)

    # CSV: header in the first chunk only, NULL as `null`, values as in JSON_ARRAY.
    r = _run(cf, sql, Format.CSV)
    assert r.statement_id
    rows: list[list[str | None]] = []
    for link, data in _chunks(cf, r):
        got = list(csv.reader(io.StringIO(data.decode("utf-8"))))
        if link.chunk_index == 0:
            assert got.pop(0) == ["l_orderkey", "l_linenumber", "l_quantity",
                                  "l_extendedprice", "l_shipdate", "note"]
        assert len(got) == link.row_count
        rows += [[None if v == "null" else v for v in row] for row in got]
    assert rows == inline
    _close(cf, r.statement_id)

    r = _run(cf, sql, Format.JSON_ARRAY)
    assert r.statement_id
    rows = [row for _, data in _chunks(cf, r) for row in json.loads(data)]
    assert rows == inline
    _close(cf, r.statement_id)


def test_lz4_frame_raw_post(cf: CloudFetch, oracle: pa.Table) -> None:
    # The SDK has no result_compression field: send the request as the SEA connector does.
    body = {"warehouse_id": WH, "statement": QUERY.format(lineitem="main.tpch.lineitem"),
            "disposition": "EXTERNAL_LINKS", "format": "ARROW_STREAM",
            "result_compression": "LZ4_FRAME", "wait_timeout": "50s"}
    resp = httpx.post(f"{cf.url}/api/2.0/sql/statements", json=body,
                      headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert resp.status_code == 200, resp.text[:300]
    r = resp.json()
    assert r["status"]["state"] == "SUCCEEDED", r["status"]
    assert r["manifest"]["result_compression"] == "LZ4_FRAME"
    tables = []
    for i in range(r["manifest"]["total_chunk_count"]):
        link = _link(cf, r["statement_id"], i)
        raw = httpx.get(link.external_link, timeout=30).content
        assert raw[:4] == b"\x04\x22\x4d\x18"  # the LZ4 frame magic: whole-chunk compression
        tables.append(pa.ipc.open_stream(lz4.frame.decompress(raw)).read_all())
    assert pa.concat_tables(tables).to_pylist() == oracle.to_pylist()
    # The download helper reads the manifest's result_compression by itself.
    assert download_arrow(r["statement_id"], host=cf.url, token=TOKEN).equals(
        pa.concat_tables(tables))
    _close(cf, r["statement_id"])


def test_row_and_byte_limits_truncate(cf: CloudFetch, oracle: pa.Table) -> None:
    sql = QUERY.format(lineitem="main.tpch.lineitem")
    r = _run(cf, sql, row_limit=1000)
    assert r.manifest is not None and r.statement_id
    assert r.manifest.truncated is True and r.manifest.total_row_count == 1000
    table = download_arrow(r.statement_id, host=cf.url, token=TOKEN)
    assert table.to_pylist() == oracle.slice(0, 1000).to_pylist()
    _close(cf, r.statement_id)

    r = _run(cf, sql, byte_limit=200_000)
    assert r.manifest is not None and r.statement_id
    assert r.manifest.truncated is True
    rows = r.manifest.total_row_count or 0
    assert 0 < rows < oracle.num_rows
    table = download_arrow(r.statement_id, host=cf.url, token=TOKEN)
    assert table.to_pylist() == oracle.slice(0, rows).to_pylist()
    _close(cf, r.statement_id)


def test_links_fresh_tampered_expired(cf: CloudFetch) -> None:
    r = _run(cf, "SELECT l_orderkey, l_comment FROM main.tpch.lineitem WHERE l_orderkey < 5000")
    assert r.manifest is not None and r.statement_id
    assert (r.manifest.total_chunk_count or 0) >= 2
    first = _link(cf, r.statement_id, 0)
    time.sleep(1.1)  # both stores sign with one-second resolution
    again = _link(cf, r.statement_id, 0)
    assert again.external_link != first.external_link
    if cf.kind == "local-links":  # served by the listener, not the gateway's route
        assert f"127.0.0.1:{cf.settings.gateway.links_port}/" in first.external_link
    assert again.expiration > first.expiration  # ISO-8601 UTC with Z: sorts as text
    for link in (first, again):  # either works, and without any Authorization header
        assert httpx.get(link.external_link, timeout=30).status_code == 200
    if isinstance(cf.store, LocalStore):
        # moto does not verify presigned signatures or expiry, so these run on the local store.
        parts = urlsplit(first.external_link)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        base = f"{parts.scheme}://{parts.netloc}"
        sig = query["sig"]
        forged = {**query, "sig": ("0" if sig[0] != "0" else "1") + sig[1:]}
        other = _link(cf, r.statement_id, 1).external_link.split("?")[0]
        key = parts.path.removeprefix("/_results/")
        past = int(time.time()) - 5
        expired = {"expires": str(past), "sig": cf.store.signature(key, past)}
        for url in (
            f"{base}{parts.path}?{urlencode(forged)}",        # tampered signature
            f"{other}?{parts.query}",                          # another chunk's key
            f"{base}{parts.path}?{urlencode({**query, 'expires': str(past + 3600)})}",
            f"{base}{parts.path}?{urlencode(expired)}",        # validly signed, expired
            f"{base}{parts.path}",                             # no signature at all
        ):
            got = httpx.get(url, timeout=30)
            assert got.status_code == 403, url
            assert got.json()["error_code"] == "PERMISSION_DENIED"
    _close(cf, r.statement_id)


def _statement_keys(cf: CloudFetch, sid: str) -> list[str]:
    return [k for k in cf.stored() if f"/{sid}-" in k]


def test_no_objects_left_after_close(cf: CloudFetch) -> None:
    r = _run(cf, QUERY.format(lineitem="main.tpch.lineitem"))
    assert r.manifest is not None and r.statement_id
    assert len(_statement_keys(cf, r.statement_id)) == r.manifest.total_chunk_count
    link = _link(cf, r.statement_id, 0)
    if cf.kind != "s3":  # (a presigned S3 URL is signed for GET only)
        head = httpx.head(link.external_link, timeout=30)
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["content-length"]) == link.byte_count
    _close(cf, r.statement_id)
    assert eventually(lambda: not _statement_keys(cf, r.statement_id or ""))
    if cf.kind != "s3":  # (moto serves presigned GETs without checking them)
        gone = httpx.get(link.external_link, timeout=30)  # still signed, still fresh: gone
        assert gone.status_code == 403 and gone.json()["error_code"] == "PERMISSION_DENIED"


def test_no_objects_left_after_cancel(cf: CloudFetch) -> None:
    r = cf.w.statement_execution.execute_statement(
        warehouse_id=WH, statement=LONG, disposition=Disposition.EXTERNAL_LINKS,
        format=Format.CSV, wait_timeout="0s",
    )
    sid = r.statement_id or ""
    # Cancel once the worker is visibly writing chunks, so the cancel lands mid-write.
    assert eventually(lambda: len(_statement_keys(cf, sid)) >= 2, 60), "no chunks were written"
    cf.w.statement_execution.cancel_execution(sid)
    status = cf.w.statement_execution.get_statement(sid).status
    assert status is not None and status.state == StatementState.CANCELED
    assert eventually(lambda: not _statement_keys(cf, sid)), _statement_keys(cf, sid)[:3]


def test_failure_half_way(cf: CloudFetch, engine_settings: EngineSettings) -> None:
    # First prove, in-process, that the statement streams rows out before it fails.
    emitted = 0
    eng = Engine(engine_settings)
    try:
        task = StatementTask(statement_id="late", sql=FAILS_LATE)
        with pytest.raises(EngineError), eng.execute(task) as rs:
            for batch in rs:
                emitted += batch.num_rows
    finally:
        eng.close()
    assert emitted * 16 > 4 * CHUNK_BYTES  # several chunks' worth before the error
    r = cf.w.statement_execution.execute_statement(
        warehouse_id=WH, statement=FAILS_LATE, disposition=Disposition.EXTERNAL_LINKS,
        format=Format.ARROW_STREAM, wait_timeout="50s",
    )
    assert r.status is not None and r.status.state == StatementState.FAILED, r.status
    err = r.status.error
    assert err is not None and "[CAST_INVALID_INPUT]" in (err.message or "")
    assert "worker error" not in (err.message or "")  # translated, not an internal error
    assert eventually(lambda: not _statement_keys(cf, r.statement_id or "")), "chunks left"


def test_no_objects_left_after_expiry(cf: CloudFetch) -> None:
    r = _run(cf, QUERY.format(lineitem="main.tpch.lineitem"))
    sid = r.statement_id or ""
    assert _statement_keys(cf, sid)
    registry = cf.gateway.registry
    real_clock = registry.clock
    ttl = cf.settings.fetch.result_ttl_s
    # Move the registry's clock past result_ttl_s rather than wait an hour; the next poll
    # drops the result and deletes its chunks, as the periodic sweep would.
    registry.clock = lambda: real_clock() + ttl + 1
    try:
        got = cf.w.statement_execution.get_statement(sid)
    finally:
        registry.clock = real_clock
    assert got.status is not None and got.status.state == StatementState.CLOSED
    assert eventually(lambda: not _statement_keys(cf, sid))
    # Orphans (a gateway restarted and forgot its statements) go by age in the store sweep.
    orphan = f"default/20000101/{sid}-{uuid.uuid4().hex}/0.arrow"
    cf.store.put(orphan, b"orphan")
    cf.store.sweep()
    assert orphan in cf.stored()  # young objects stay
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ttl + 5)
    assert cf.store.sweep(now=later) >= 1
    assert orphan not in cf.stored()


def _post(cf: CloudFetch, **body: Any) -> dict[str, Any]:
    """POST a statement as a raw client does (the SDK waits for SUCCEEDED itself)."""
    body = {"warehouse_id": WH, "disposition": "EXTERNAL_LINKS", "format": "ARROW_STREAM",
            "wait_timeout": "0s", **body}
    resp = httpx.post(f"{cf.url}/api/2.0/sql/statements", json=body,
                      headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert resp.status_code == 200, resp.text[:300]
    out: dict[str, Any] = resp.json()
    return out


def test_chunks_go_out_while_the_statement_runs(cf: CloudFetch) -> None:
    r = _post(cf, statement=LONG)
    sid = r["statement_id"]
    chunk0 = f"{cf.url}/api/2.0/sql/statements/{sid}/result/chunks/0"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        got = httpx.get(chunk0, headers=auth, timeout=60)  # waits until chunk 0 is stored
        assert got.status_code == 200, got.text[:300]
        body = got.json()
        link = body["external_links"][0]
        assert (link["chunk_index"], link["row_offset"], body["next_chunk_index"]) == (0, 0, 1)
        status = cf.w.statement_execution.get_statement(sid).status
        assert status is not None and status.state == StatementState.RUNNING  # 37M rows to go
        data = httpx.get(link["external_link"], headers=link.get("http_headers") or {},
                         timeout=30)
        assert data.status_code == 200
        assert pa.ipc.open_stream(data.content).read_all().num_rows == link["row_count"] > 0
    finally:
        cf.w.statement_execution.cancel_execution(sid)
    # Cancelled: the chunks already handed out are deleted too, and asking says why.
    assert eventually(lambda: not _statement_keys(cf, sid)), _statement_keys(cf, sid)[:3]
    got = httpx.get(chunk0, headers=auth, timeout=60)
    assert got.status_code == 400 and "CANCELED" in got.json()["message"]


@pytest.mark.parametrize("compression", [None, "LZ4_FRAME"])
def test_download_while_running_equals_duckdb(
    cf: CloudFetch, oracle: pa.Table, compression: str | None
) -> None:
    extra = {"result_compression": compression} if compression else {}
    r = _post(cf, statement=QUERY.format(lineitem="main.tpch.lineitem"), **extra)
    # Not waited for: the helper fetches each chunk once stored, then learns the end from
    # the manifest (and, without the manifest, LZ4 from the frame's magic number).
    assert r["status"]["state"] in ("PENDING", "RUNNING"), r["status"]
    table = download_arrow(r, host=cf.url, token=TOKEN)
    assert table.to_pylist() == oracle.to_pylist()
    _close(cf, r["statement_id"])


def test_download_while_running_reports_a_late_failure(cf: CloudFetch) -> None:
    r = _post(cf, statement=FAILS_LATE)
    with pytest.raises(DownloadError, match="FAILED"):
        download_arrow(r, host=cf.url, token=TOKEN)
    assert eventually(lambda: not _statement_keys(cf, r["statement_id"])), "chunks left"
