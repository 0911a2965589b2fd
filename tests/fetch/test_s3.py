"""S3Store against the moto server: put/get, presigned GETs, delete, sweep, writer, download."""

from __future__ import annotations

import datetime as dt

import httpx
import pyarrow as pa
import pytest

from fetch import (
    LZ4_FRAME,
    ChunkWriter,
    ObjectNotFound,
    StoreIOError,
    download_arrow,
    open_store,
    result_prefix,
)
from fetch.s3 import S3Store
from sqlgate.settings import FetchSettings
from sqlgate.types import ResultFormat


def s3_settings(info: dict[str, str], prefix: str = "results", **kw: object) -> FetchSettings:
    return FetchSettings(
        results=f"s3://{info['bucket']}/{prefix}",
        results_endpoint_url=info["endpoint_url"],
        results_access_key_id=info["access_key_id"],
        results_secret_access_key=info["secret_access_key"],
        results_region=info["region"],
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def s3_store(s3_bucket: dict[str, str]) -> S3Store:
    store = open_store(s3_settings(s3_bucket))
    assert isinstance(store, S3Store)
    return store


def test_put_get_and_presigned_get_without_auth(s3_store: S3Store) -> None:
    key = result_prefix("ws", "s1") + "0.arrow"
    s3_store.put(key, b"chunk-bytes")
    assert s3_store.get(key) == b"chunk-bytes"
    link = s3_store.link(key, ttl_s=120)
    assert "X-Amz-Signature=" in link.url and "X-Amz-Expires=120" in link.url
    assert link.expiration > dt.datetime.now(dt.UTC) + dt.timedelta(seconds=100)
    resp = httpx.get(link.url)
    assert resp.status_code == 200 and resp.content == b"chunk-bytes"
    with pytest.raises(ObjectNotFound):
        s3_store.get(result_prefix("ws", "s1") + "9.arrow")


def test_copy_is_server_side_and_a_missing_source_is_not_found(s3_store: S3Store) -> None:
    src, dst = result_prefix("ws", "s1") + "0.arrow", result_prefix("ws", "s2") + "0.arrow"
    s3_store.put(src, b"chunk-bytes")
    s3_store.copy(src, dst)
    s3_store.delete_prefix(src.rsplit("/", 1)[0] + "/")
    assert s3_store.get(dst) == b"chunk-bytes"  # a copy of its own, not a reference
    with pytest.raises(ObjectNotFound):
        s3_store.copy(src, result_prefix("ws", "s3") + "0.arrow")


def test_delete_prefix_and_list(s3_store: S3Store) -> None:
    a, b = result_prefix("ws", "a"), result_prefix("ws", "b")
    for i in range(5):
        s3_store.put(f"{a}{i}.json", b"[]")
    s3_store.put(f"{b}0.json", b"[]")
    assert len(s3_store.list_keys(a)) == 5
    assert s3_store.delete_prefix(a) == 5
    assert s3_store.list_keys() == [f"{b}0.json"]


def test_sweep_by_last_modified(s3_store: S3Store) -> None:
    key = result_prefix("ws", "a") + "0.csv"
    s3_store.put(key, b"x")
    assert s3_store.sweep() == 0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=s3_store.settings.result_ttl_s + 60)
    assert s3_store.sweep(now=later) == 1
    assert s3_store.list_keys() == []


def test_writer_and_parallel_download_on_s3(s3_store: S3Store) -> None:
    table = pa.table({"k": pa.array(range(30_000), pa.int64()),
                      "v": pa.array([f"v{i}" if i % 5 else None for i in range(30_000)])})
    prefix = result_prefix("ws", "big")
    with ChunkWriter(s3_store, prefix, ResultFormat.ARROW_STREAM, table.schema,
                     compression=LZ4_FRAME, target_bytes=64 * 1024,
                     upload_concurrency=4) as writer:
        for batch in table.to_batches(max_chunksize=4096):
            writer.write(batch)
        infos = writer.close()
    assert len(infos) > 3
    links = [s3_store.link(i.key) for i in infos]
    got = download_arrow(links, compression=LZ4_FRAME, max_in_flight=3)
    assert got.equals(table)
    assert s3_store.delete_prefix(prefix) == len(infos)


def test_unreachable_endpoint_is_an_io_error() -> None:
    store = open_store(FetchSettings(
        results="s3://nobucket/x", results_endpoint_url="http://127.0.0.1:9",
        results_access_key_id="k", results_secret_access_key="s",
    ))
    with pytest.raises(StoreIOError):
        store.put("ws/20240101/s-1/0.json", b"[]")
