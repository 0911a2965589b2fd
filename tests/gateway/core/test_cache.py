"""gateway.core.cache: keys, versions, the byte bound."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pyarrow as pa

from fetch import result_prefix
from fetch.local import LocalStore
from gateway.core.backend import StatementResult
from gateway.core.cache import ResultCache
from gateway.core.stores import open_state_store
from sqlgate.settings import FetchSettings
from sqlgate.types import (
    ChunkInfo,
    CostEstimate,
    Parameter,
    ResultFormat,
    ResultManifest,
    StatementTask,
)
from tests.fixtures.waiting import until

TASK = StatementTask("s1", "select * from t", workspace="ws", user="ann")
EST = CostEstimate(tables=("main.s.t",), versions=(("main.s.t", 3),),
                   cache_text="SELECT * FROM t", privileges="f1")


def _result(n: int = 10, external: bool = False) -> StatementResult:
    table = pa.table({"x": list(range(n))})
    manifest = ResultManifest(ResultFormat.JSON_ARRAY, (), total_row_count=n, external=external)
    return StatementResult(manifest, table.schema, table.to_batches())


def test_key_covers_text_parameters_caller_shape_and_versions() -> None:
    key = ResultCache.key(TASK, EST)
    assert key is not None and key == ResultCache.key(dataclasses.replace(TASK, sql="x"), EST)
    others = [
        ResultCache.key(TASK, dataclasses.replace(EST, versions=(("main.s.t", 4),))),
        ResultCache.key(TASK, dataclasses.replace(EST, cache_text="SELECT x FROM t")),
        ResultCache.key(dataclasses.replace(TASK, user="bob"), EST),
        ResultCache.key(dataclasses.replace(TASK, workspace="other"), EST),
        ResultCache.key(dataclasses.replace(TASK, parameters=(Parameter("p", "1", "INT"),)), EST),
        ResultCache.key(dataclasses.replace(TASK, row_limit=5), EST),
        ResultCache.key(dataclasses.replace(TASK, format=ResultFormat.CSV), EST),
        ResultCache.key(dataclasses.replace(TASK, schema="other"), EST),
        ResultCache.key(TASK, dataclasses.replace(EST, privileges="f2")),
        ResultCache.key(dataclasses.replace(TASK, catalogs=("main",)), EST),
    ]
    assert None not in others and len({key, *others}) == len(others) + 1


def test_nothing_to_key_when_not_cacheable_or_opted_out() -> None:
    assert ResultCache.key(dataclasses.replace(TASK, use_cached_result=False), EST) is None
    assert ResultCache.key(TASK, dataclasses.replace(EST, cache_text=None)) is None
    assert ResultCache.key(TASK, dataclasses.replace(EST, versions=())) is None
    # an estimate that checked no privileges for the caller never keys a cached answer
    assert ResultCache.key(TASK, dataclasses.replace(EST, privileges="")) is None


def test_hit_after_put_marked_and_a_newer_version_invalidates() -> None:
    cache = ResultCache(1 << 20)
    key = ResultCache.key(TASK, EST)
    assert key is not None and cache.get(key, EST.versions) is None
    kept = cache.put(key, _result(), EST.versions)
    assert kept.cache == "miss"
    hit = cache.get(key, EST.versions)
    assert hit is not None and hit.cache == "hit" and hit.batches == kept.batches
    newer = (("main.s.t", 4),)
    assert cache.get(ResultCache.key(TASK, dataclasses.replace(EST, versions=newer)) or "",
                     newer) is None
    assert len(cache) == 0 and cache.invalidations == 1 and cache.bytes == 0
    # An answer computed over the old version, arriving late, is not kept.
    assert cache.put(key, _result(), EST.versions).cache is None and len(cache) == 0


def test_bounded_in_bytes_least_recently_used_out() -> None:
    one = _result(1000)
    size = sum(b.nbytes for b in one.batches) + 256
    cache = ResultCache(3 * size, max_entry_bytes=size)
    keys = [f"k{i}" for i in range(4)]
    for k in keys[:3]:
        cache.put(k, one, (("t", 1),))
    assert cache.get("k0") is not None  # k0 now most recent: k1 goes first
    cache.put("k3", one, (("t", 1),))
    assert [k for k in keys if cache.get(k) is not None] == ["k0", "k2", "k3"]
    assert cache.bytes <= 3 * size and cache.evictions == 1
    assert cache.put("big", _result(5000), (("t", 1),)).cache is None
    assert cache.put("ext", _result(external=True), (("t", 1),)).cache is None


def test_external_results_are_kept_as_manifests_and_each_hit_gets_its_own_chunks(
        tmp_path: Path) -> None:
    store = LocalStore(FetchSettings(results=str(tmp_path / "results")))
    prefix = result_prefix("ws", "s1")
    chunks = []
    for n in range(2):
        store.put(f"{prefix}{n}.arrow", f"chunk {n}".encode())
        chunks.append(ChunkInfo(n, n * 5, 5, 7, f"{prefix}{n}.arrow"))
    manifest = ResultManifest(ResultFormat.ARROW_STREAM, (), total_row_count=10,
                              chunks=tuple(chunks), external=True)
    original = StatementResult(manifest, pa.schema([]))
    clock = [100.0]
    cache = ResultCache(1 << 20, store=store, chunks_ttl_s=3600, clock=lambda: clock[0])
    assert cache.put("k", original, (("t", 1),)).cache == "miss" and len(cache) == 1

    async def hit(sid: str) -> StatementResult | None:
        task = dataclasses.replace(TASK, statement_id=sid)
        return await cache.lookup("k", task, (("t", 1),))

    got = asyncio.run(hit("s2"))
    assert got is not None and got.cache == "hit"
    keys = [c.key or "" for c in got.manifest.chunks]
    assert all(k.startswith("ws/") and "/s2-" in k for k in keys)
    assert [store.get(k) for k in keys] == [b"chunk 0", b"chunk 1"]
    # closing the hit's statement deletes only its own copy
    store.delete_prefix(keys[0].rsplit("/", 1)[0] + "/")
    assert store.get(chunks[0].key or "") == b"chunk 0"
    # the source chunks vanish behind the cache's back: a miss, the entry dropped
    store.delete_prefix(prefix)
    assert asyncio.run(hit("s3")) is None and len(cache) == 0
    assert not store.list_keys("ws/")  # nothing half-copied is left
    # the writer's close forgets the entry; so does the end of the chunks' lifetime
    cache.put("k", original, (("t", 1),))
    cache.forget({prefix})
    assert len(cache) == 0
    cache.put("k", original, (("t", 1),))
    clock[0] += 3600 - 30
    assert cache.get("k") is None and len(cache) == 0
    # without a result store nothing external is kept
    assert ResultCache(1 << 20).put("k", original, (("t", 1),)).cache is None


def test_gateways_share_entries_through_the_state_store(tmp_path: Path) -> None:
    state = open_state_store(f"sqlite:///{tmp_path / 'state.db'}")
    a, b = ResultCache(1 << 20), ResultCache(1 << 20)
    for cache in (a, b):
        cache.share(state, 1 << 20)
    key = ResultCache.key(TASK, EST)
    assert key is not None

    async def scenario() -> None:
        assert await b.lookup(key, TASK, EST.versions) is None
        a.put(key, _result(7), EST.versions)
        await until(lambda: state.get_cached(key) is not None)  # the write runs in a thread
        hit = await b.lookup(key, TASK, EST.versions)
        assert hit is not None and hit.cache == "hit" and b.shared_hits == 1
        assert pa.Table.from_batches(hit.batches).column("x").to_pylist() == list(range(7))
        assert await b.lookup(key, TASK, EST.versions) is not None and b.shared_hits == 1
        # a key of a newer version is another entry: never the old answer
        newer = dataclasses.replace(EST, versions=(("main.s.t", 4),))
        assert await b.lookup(ResultCache.key(TASK, newer) or "", TASK, newer.versions) is None
        b.discard(key)
        await until(lambda: state.get_cached(key) is None)

    asyncio.run(scenario())
    state.close()
