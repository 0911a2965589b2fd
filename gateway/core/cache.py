"""The result cache: a repeated query over unchanged tables is answered without running it.

As Databricks SQL's query result cache: the key is the statement's canonical text (from the
engine's estimate: whitespace and keyword case normalised, views expanded), its parameters,
the caller (workspace, its catalogs and user), the default catalog and schema, the result
shape asked for (format, limits), the Delta version of every table it reads, and the
fingerprint of the privilege checks the estimate made for this caller. A commit to any of
those tables gives the next estimate a new version, hence a new key: a cached answer is
never stale.

Privileges: a hit is served only after a fresh estimate of this very statement for this
caller, made by a worker that checks SELECT on every table and view it reads (a refusal
there means no estimate, no key, and the statement fails on the worker with
PERMISSION_DENIED), so a REVOKE takes effect on the next statement on any gateway. An
estimate that made no such check (``privileges`` empty) gives no key. The checks'
fingerprint in the key means a GRANT or REVOKE on anything the query relied on also starts
a new entry, and entries are never shared between users.

Entries of older versions are dropped as soon as a newer version of one of their tables is
seen (`ResultCache.note_versions`), so memory goes to live entries; past ``max_bytes`` the
least recently used go.

Inline results are kept as their Arrow batches, shared read-only with the statements that
answer from them. External results (EXTERNAL_LINKS, and HYBRID ones that went to chunks) are
kept as their manifest: a hit copies the chunks in the result store under the new
statement's own prefix (`materialize`: hard links on a local store, CopyObject on S3; no
bytes through the gateway), so each statement owns its chunks and closing one never
breaks another's links, and its links are signed afresh like any other. The entry never
outlives its source chunks: it is dropped when the statement that wrote them is closed
(`forget`), and treated as gone a minute before their ``result_ttl_s`` runs out; a copy
that finds a chunk gone is a miss (the statement then runs).

Queries the engine does not call deterministic (``now()``, ``rand()``...), writes, metadata
and constant statements are never cached (the estimate gives no ``cache_text``). A caller
opts out with ``use_cached_result = false`` (session conf or ``SET``).

    cache = ResultCache(max_bytes=256 << 20)
    key = cache.key(task, estimate)        # None: not cacheable
    hit = cache.get(key)                   # StatementResult | None
    cache.put(key, result)                 # after a successful run
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass

from fetch import ResultStore, result_prefix
from gateway.core.backend import StatementResult
from gateway.core.records import decode_result, encode_result
from gateway.core.store import CachedRecord, StateStore
from sqlgate.types import CostEstimate, StatementTask

log = logging.getLogger("sqlgate.gateway")


# An external entry is given up this long before its source chunks' result_ttl_s ends, so a
# copy started from it always finds them.
_MARGIN_S = 60.0
# What one chunk's manifest entry costs in memory, for the byte bound.
_CHUNK_BYTES = 200
# Writes to the shared cache in flight at once; past it an entry is simply not shared.
_MAX_PUBLISHING = 8


@dataclass(frozen=True)
class _Entry:
    result: StatementResult
    size: int
    versions: tuple[tuple[str, int], ...]
    # External results: the result-store folders of the source chunks, and when the entry
    # stops being served (monotonic).
    prefixes: frozenset[str] = frozenset()
    expires_at: float | None = None


class ResultCache:
    """A bounded LRU of results keyed as the module docstring says."""

    def __init__(self, max_bytes: int, max_entry_bytes: int | None = None, *,
                 store: ResultStore | None = None, chunks_ttl_s: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max_bytes
        # One entry may take at most a quarter of the cache, so a big result cannot wipe it.
        self.max_entry_bytes = max_entry_bytes if max_entry_bytes is not None else max_bytes // 4
        # Without a result store external results are not cached (nothing to copy with).
        self.store = store
        self.chunks_ttl_s = chunks_ttl_s
        self.clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._by_prefix: dict[str, str] = {}
        # The state store the gateways share entries through (`share`), and its byte bound.
        self._state: StateStore | None = None
        self._shared_bytes = 0
        self._publishing = threading.BoundedSemaphore(_MAX_PUBLISHING)
        self.shared_hits = 0
        self._by_table: dict[str, set[str]] = {}
        self._latest: dict[str, int] = {}
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.invalidations = 0

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def key(task: StatementTask, estimate: CostEstimate) -> str | None:
        """The cache key of a statement, or None when its result must not be reused."""
        if (not task.use_cached_result or not estimate.cache_text or not estimate.versions
                or not estimate.privileges):
            return None
        payload = json.dumps([
            estimate.cache_text,
            [[p.name, p.value, p.type] for p in task.parameters],
            task.workspace, task.user, list(task.catalogs or ()), estimate.privileges,
            task.catalog, task.schema,
            [list(v) for v in estimate.versions],
            task.format.value, task.disposition.value, task.row_limit, task.byte_limit,
            task.compression,
        ])
        return hashlib.sha256(payload.encode()).hexdigest()

    def note_versions(self, versions: tuple[tuple[str, int], ...]) -> None:
        """Drop entries that read an older version of any of these tables."""
        for table, version in versions:
            if version <= self._latest.get(table, -1):
                continue
            self._latest[table] = version
            for key in list(self._by_table.get(table, ())):
                entry = self._entries.get(key)
                if entry is not None and any(t == table and v < version
                                             for t, v in entry.versions):
                    self._drop(key)
                    self.invalidations += 1

    def get(self, key: str, versions: tuple[tuple[str, int], ...] = ()) -> StatementResult | None:
        """The cached result marked ``cache="hit"`` (now most recently used), or None."""
        if versions:
            self.note_versions(versions)
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at is not None and self.clock() > entry.expires_at:
            self._drop(key)  # its chunks are about to be swept
            entry = None
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return dataclasses.replace(entry.result, cache="hit")

    def share(self, state: StateStore, max_bytes: int) -> None:
        """Share entries with every gateway on this state store: each kept entry is written
        there too (off the loop; at most `max_bytes` in all, the oldest dropped), and a
        local miss looks there before running. Its key is the same everywhere (text,
        parameters, caller, privileges, versions), and the estimate that found it was made
        afresh, so a shared entry is never stale and never crosses privileges."""
        self._state, self._shared_bytes = state, max_bytes

    def put(self, key: str, result: StatementResult, versions: tuple[tuple[str, int], ...],
            *, age_s: float = 0.0, publish: bool = True) -> StatementResult:
        """Keep a result if it fits; returns it (marked ``cache="miss"`` if kept). `age_s`:
        how long ago an external result's chunks were written (an entry read back from the
        shared cache); `publish`: write it to the shared cache too."""
        prefixes: frozenset[str] = frozenset()
        expires_at = None
        if result.manifest.external:
            keys = [c.key for c in result.manifest.chunks]
            if (self.store is None or not keys or None in keys
                    or self.chunks_ttl_s <= 2 * _MARGIN_S):
                return result
            prefixes = frozenset(k.rsplit("/", 1)[0] + "/" for k in keys if k)
            expires_at = self.clock() + self.chunks_ttl_s - _MARGIN_S - age_s
            size = 256 + _CHUNK_BYTES * len(keys)
        else:
            size = sum(b.nbytes for b in result.batches) + 256
        if size > self.max_entry_bytes or size > self.max_bytes:
            return result
        if any(v < self._latest.get(t, -1) for t, v in versions):
            return result  # a newer version was seen meanwhile: this answer is already old
        result = dataclasses.replace(result, cache="miss")
        if key in self._entries:
            self._drop(key)
        while self.bytes + size > self.max_bytes and self._entries:
            self._drop(next(iter(self._entries)))
            self.evictions += 1
        self._entries[key] = _Entry(result, size, versions, prefixes, expires_at)
        self.bytes += size
        for table, _ in versions:
            self._by_table.setdefault(table, set()).add(key)
        for prefix in prefixes:
            self._by_prefix[prefix] = key
        if publish and self._state is not None:
            self._background(self._publish, key, result, versions)
        return result

    def _background(self, fn: Callable[..., None], *args: object) -> None:
        # Store writes run in a thread, bounded: past _MAX_PUBLISHING one is skipped.
        if not self._publishing.acquire(blocking=False):
            return

        def run() -> None:
            try:
                fn(*args)
            except Exception as exc:  # the entry still serves here; the others run it
                log.warning("shared result cache: %s", exc)
            finally:
                self._publishing.release()

        try:
            asyncio.get_running_loop().run_in_executor(None, run)
        except RuntimeError:  # no loop (tests, tools): inline
            run()

    def _publish(self, key: str, result: StatementResult,
                 versions: tuple[tuple[str, int], ...]) -> None:
        assert self._state is not None
        manifest, ipc = encode_result(result)
        size = len(ipc) if ipc is not None else len(manifest)
        if size > self.max_entry_bytes:
            return
        self._state.put_cached(CachedRecord(key, json.dumps(versions), manifest, size,
                                            time.time(), ipc), self._shared_bytes)

    def _read_shared(self, key: str) -> tuple[StatementResult, float] | None:
        assert self._state is not None
        rec = self._state.get_cached(key)
        if rec is None:
            return None
        return decode_result(rec.manifest, rec.result), max(0.0, time.time() - rec.created_at)

    async def _from_shared(self, key: str, versions: tuple[tuple[str, int], ...],
                           executor: Executor | None) -> StatementResult | None:
        try:
            got = await asyncio.get_running_loop().run_in_executor(
                executor, self._read_shared, key)
        except Exception as exc:  # the store is down: a miss, the statement runs
            log.warning("shared result cache: reading failed: %s", exc)
            return None
        if got is None:
            return None
        result, age = got
        if result.manifest.external and age > self.chunks_ttl_s - 2 * _MARGIN_S:
            return None  # its chunks are about to be swept
        self.put(key, result, versions, age_s=age, publish=False)
        self.misses -= 1  # get() counted one; it is a hit after all
        self.hits += 1
        self.shared_hits += 1
        return dataclasses.replace(result, cache="hit")

    async def lookup(self, key: str, task: StatementTask, versions: tuple[tuple[str, int], ...],
                     executor: Executor | None = None) -> StatementResult | None:
        """`get`, and for an external hit its own copy of the chunks (`materialize`, in a
        thread of `executor`); None on a miss or when the chunks turned out to be gone."""
        hit = self.get(key, versions)
        if hit is None and self._state is not None:
            hit = await self._from_shared(key, versions, executor)
        if hit is None or not hit.manifest.external:
            return hit
        own = await asyncio.get_running_loop().run_in_executor(
            executor, self.materialize, hit, task)
        if own is None:
            self.discard(key)
            self.hits -= 1
            self.misses += 1
        return own

    def materialize(self, hit: StatementResult, task: StatementTask) -> StatementResult | None:
        """An external hit as `task`'s own chunks, copied under a fresh prefix of its own;
        None when a source chunk is gone (what was copied is deleted again). Blocking
        (result-store calls): run it in a thread; it does not touch the cache."""
        if not hit.manifest.external:
            return hit
        if self.store is None:
            return None
        prefix = result_prefix(task.workspace, task.statement_id)
        chunks = []
        try:
            for chunk in hit.manifest.chunks:
                assert chunk.key is not None  # put() keeps only fully stored results
                key = prefix + chunk.key.rsplit("/", 1)[1]
                self.store.copy(chunk.key, key)
                chunks.append(dataclasses.replace(chunk, key=key))
        except Exception as exc:  # gone (closed elsewhere, swept), or the store failed
            log.info("result cache: cannot copy %s's chunks (%s); running it", task.statement_id,
                     exc)
            with contextlib.suppress(Exception):
                self.store.delete_prefix(prefix)
            return None
        manifest = dataclasses.replace(hit.manifest, chunks=tuple(chunks))
        return dataclasses.replace(hit, manifest=manifest)

    def discard(self, key: str) -> None:
        """Drop an entry (its chunks turned out to be gone)."""
        if key in self._entries:
            self._drop(key)
            self.invalidations += 1
        if self._state is not None:
            state = self._state
            self._background(lambda: state.delete_cached([key]))

    def forget(self, prefixes: Iterable[str]) -> None:
        """These result-store folders were deleted: drop the entries whose chunks were there."""
        for prefix in prefixes:
            key = self._by_prefix.get(prefix)
            if key is not None:
                self.discard(key)

    def stats(self) -> dict[str, int]:
        """Counters for /metrics."""
        return {"entries": len(self._entries), "bytes": self.bytes, "hits": self.hits,
                "shared_hits": self.shared_hits,
                "misses": self.misses, "evictions": self.evictions,
                "invalidations": self.invalidations}

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key)
        self.bytes -= entry.size
        for prefix in entry.prefixes:
            if self._by_prefix.get(prefix) == key:
                del self._by_prefix[prefix]
        for table, _ in entry.versions:
            keys = self._by_table.get(table)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_table[table]


__all__ = ["ResultCache"]
