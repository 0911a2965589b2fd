"""download_arrow / download_chunks against real links: a uvicorn serving a LocalStore's
signed links (the real `gateway.rest.links` route), S3 presigned URLs on moto, and a mock
transport for the failure paths."""

from __future__ import annotations

import datetime as dt
import threading
import time

import httpx
import pyarrow as pa
import pytest

from fetch import (
    LZ4_FRAME,
    ChunkWriter,
    DownloadError,
    Link,
    ResultStore,
    download_arrow,
    download_chunks,
    open_store,
    result_prefix,
)
from sqlgate.types import ChunkInfo, ResultFormat
from tests.fetch.conftest import TOKEN, LinkServer
from tests.fetch.test_s3 import s3_settings

TABLE = pa.table({
    "id": pa.array(range(20_000), pa.int64()),
    "s": pa.array([None if i % 3 == 0 else f"value-{i}" for i in range(20_000)]),
})


def write(store: ResultStore, compression: str | None = None,
          fmt: ResultFormat = ResultFormat.ARROW_STREAM) -> tuple[ChunkInfo, ...]:
    with ChunkWriter(store, result_prefix("ws", "stmt"), fmt, TABLE.schema,
                     compression=compression, target_bytes=48 * 1024) as writer:
        for batch in TABLE.to_batches(max_chunksize=3000):
            writer.write(batch)
        return writer.close()


def link_paths(server: LinkServer) -> list[tuple[str, dict[str, str]]]:
    return [(p, h) for p, h in server.requests if p.startswith("/_results/")]


def test_links_route_serves_signed_chunks_without_auth(link_server: LinkServer) -> None:
    infos = write(link_server.store)
    assert len(infos) > 3
    links = [link_server.store.link(i.key) for i in infos]
    got = download_arrow(links, max_in_flight=3)
    assert got.equals(TABLE)
    served = link_paths(link_server)
    assert len(served) == len(infos)
    assert all("authorization" not in headers for _, headers in served)
    resp = httpx.get(links[0].url)
    assert resp.headers["content-type"] == "application/vnd.apache.arrow.stream"
    assert resp.headers["cache-control"] == "private, no-store"


def test_links_route_refuses_tampered_and_expired(link_server: LinkServer) -> None:
    (info, *_) = write(link_server.store)
    good = link_server.store.link(info.key).url
    tampered = good.replace("expires=", "expires=9")
    other_key = good.replace("/0.arrow?", "/1.arrow?")
    expired = link_server.store.link(info.key, ttl_s=1).url
    time.sleep(1.1)
    for url in (tampered, other_key, expired, good.split("?")[0]):
        resp = httpx.get(url)
        assert resp.status_code == 403, url
        assert resp.json()["error_code"] == "PERMISSION_DENIED"
        assert b"ARROW" not in resp.content
    assert httpx.get(good).status_code == 200


def test_expired_local_link_is_refreshed_through_the_chunk_endpoint(
    link_server: LinkServer,
) -> None:
    infos = write(link_server.store, compression=LZ4_FRAME)
    link_server.register("stmt-1", link_server.store, infos)
    # links whose own expiration says they are still good, but the server refuses them
    stale = [link_server.store.link(i.key, ttl_s=1) for i in infos]
    time.sleep(1.1)
    lying = [Link(lk.url, lk.expiration + dt.timedelta(hours=1)) for lk in stale]
    got = download_arrow(lying, host=link_server.url, token=TOKEN, statement_id="stmt-1",
                         compression=LZ4_FRAME, retries=2, backoff_s=0.01)
    assert got.equals(TABLE)
    paths = [p for p, _ in link_server.requests]
    assert sum(p.startswith("/api/2.0/sql/statements/stmt-1/result/chunks/") for p in paths) == (
        len(infos))
    api = [h for p, h in link_server.requests if p.startswith("/api/")]
    assert all(h["authorization"] == f"Bearer {TOKEN}" for h in api)
    assert all("authorization" not in h for _, h in link_paths(link_server))


def test_download_by_statement_id_as_a_reader(link_server: LinkServer) -> None:
    infos = write(link_server.store)
    link_server.register("stmt-2", link_server.store, infos)
    reader = download_arrow("stmt-2", host=link_server.url, token=TOKEN, reader=True,
                            max_in_flight=2)
    assert isinstance(reader, pa.RecordBatchReader)
    assert reader.read_all().equals(TABLE)


BACKOFF_S = 10.0


def test_no_way_to_refresh_fails_fast(link_server: LinkServer) -> None:
    (info, *_) = write(link_server.store)
    bad = Link(link_server.store.link(info.key).url + "0", dt.datetime.now(dt.UTC)
               + dt.timedelta(minutes=5))
    started = time.monotonic()
    with pytest.raises(DownloadError, match="HTTP 403"):
        download_arrow([bad], retries=3, backoff_s=BACKOFF_S)
    # A retry would first sleep BACKOFF_S; the bound is that, not how fast a loaded CI
    # machine (2 cores, load 15-28) makes one local request.
    assert time.monotonic() - started < BACKOFF_S
    past = Link(bad.url, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    with pytest.raises(DownloadError, match="expired"):
        download_arrow([past])


def test_expired_s3_links_are_refreshed(link_server: LinkServer,
                                        s3_bucket: dict[str, str]) -> None:
    s3 = open_store(s3_settings(s3_bucket))
    infos = write(s3, compression=LZ4_FRAME)
    link_server.register("stmt-s3", s3, infos)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    response = {
        "statement_id": "stmt-s3",
        "status": {"state": "SUCCEEDED"},
        "manifest": {"total_chunk_count": len(infos), "result_compression": LZ4_FRAME},
        "result": {"external_links": [{
            "chunk_index": 0, "external_link": s3.link(infos[0].key).url,
            "expiration": old.isoformat().replace("+00:00", "Z"),
        }]},
    }
    got = download_arrow(response, host=link_server.url, token=TOKEN)
    assert got.equals(TABLE)
    refreshes = [p for p, _ in link_server.requests if "/result/chunks/" in p]
    assert len(refreshes) == len(infos)  # chunk 0 expired, the rest had no link yet


def test_failed_chunks_are_retried_and_in_flight_is_bounded() -> None:
    sink: dict[str, bytes] = {}
    for i, batch in enumerate(TABLE.to_batches(max_chunksize=2500)):
        out = pa.BufferOutputStream()
        with pa.ipc.new_stream(out, TABLE.schema) as w:
            w.write_batch(batch)
        sink[f"https://store.test/{i}"] = out.getvalue().to_pybytes()
    assert len(sink) == 8
    lock = threading.Lock()
    state = {"active": 0, "peak": 0, "calls": 0}
    failed: set[str] = set()

    def handler(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        assert "authorization" not in request.headers
        assert request.headers["x-amz-sse"] == "k"
        with lock:
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
            state["calls"] += 1
        try:
            time.sleep(0.02)
            if url not in failed and url.endswith(("/2", "/5")):
                failed.add(url)
                if url.endswith("/2"):
                    raise httpx.ConnectError("connection reset", request=request)
                return httpx.Response(503)
            return httpx.Response(200, content=sink[url])
        finally:
            with lock:
                state["active"] -= 1

    expires = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    links = [Link(url, expires, {"x-amz-sse": "k", "Authorization": "leak"}) for url in sink]
    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        got = download_arrow(links, http=http, max_in_flight=3, backoff_s=0.01)
        assert got.equals(TABLE)
        assert state["calls"] == len(links) + 2
        assert state["peak"] <= 3
        chunks = download_chunks(links, http=http, max_in_flight=2)
        first = next(chunks)
        chunks.close()  # abandoning the generator stops the pool
        assert first == sink["https://store.test/0"]
