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

Only inline results are kept (their Arrow batches, shared read-only with the statements that
answer from them); external results live as chunk files whose lifetime belongs to their own
statement. Queries the engine does not call deterministic (``now()``, ``rand()``...), writes,
metadata and constant statements are never cached (the estimate gives no ``cache_text``).
A caller opts out with ``use_cached_result = false`` (session conf or ``SET``).

    cache = ResultCache(max_bytes=256 << 20)
    key = cache.key(task, estimate)        # None: not cacheable
    hit = cache.get(key)                   # StatementResult | None
    cache.put(key, result)                 # after a successful run
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass

from gateway.core.backend import StatementResult
from sqlgate.types import CostEstimate, StatementTask


@dataclass(frozen=True)
class _Entry:
    result: StatementResult
    size: int
    versions: tuple[tuple[str, int], ...]


class ResultCache:
    """A bounded LRU of inline results keyed as the module docstring says."""

    def __init__(self, max_bytes: int, max_entry_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes
        # One entry may take at most a quarter of the cache, so a big result cannot wipe it.
        self.max_entry_bytes = max_entry_bytes if max_entry_bytes is not None else max_bytes // 4
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
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
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return dataclasses.replace(entry.result, cache="hit")

    def put(self, key: str, result: StatementResult,
            versions: tuple[tuple[str, int], ...]) -> StatementResult:
        """Keep an inline result if it fits; returns it (marked ``cache="miss"`` if kept)."""
        if result.manifest.external:
            return result
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
        self._entries[key] = _Entry(result, size, versions)
        self.bytes += size
        for table, _ in versions:
            self._by_table.setdefault(table, set()).add(key)
        return result

    def stats(self) -> dict[str, int]:
        """Counters for /metrics."""
        return {"entries": len(self._entries), "bytes": self.bytes, "hits": self.hits,
                "misses": self.misses, "evictions": self.evictions,
                "invalidations": self.invalidations}

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key)
        self.bytes -= entry.size
        for table, _ in entry.versions:
            keys = self._by_table.get(table)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_table[table]


__all__ = ["ResultCache"]
