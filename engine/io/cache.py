"""A block cache on local disk: bounded bytes, least recently used out first.

Delta data files are immutable, so a block is named by what identifies its bytes for good:
the object URI, the object's size and the byte range. Entries are plain files under
``<cache_dir>/blocks/<2 hex>/<hash>``, written to a temporary name and renamed into place,
so a reader never sees half a block, and the cache survives a worker restart (the index is
rebuilt from the directory, oldest access first, from file mtimes that hits refresh).

Writes happen off the read path: `put_later` hands a block to the writer threads and returns.
Writing 1 GB of 1 MB files cost 1-2 s of kernel time on the benchmark machine, as much as the
whole scan, so a fetch thread that wrote its block before handing it over made DuckDB wait.
The backlog is bounded (``write_backlog`` bytes); a block that does not fit is not cached
this time (`CacheStats.skipped`) rather than slowing the scan, and a later read caches it.
Two writers, not one: during a cold scan that keeps both cores busy, a lone writer (several
GIL hand-offs per block, against 64 fetch threads and DuckDB) fell behind and 500-600 of
1,000 blocks were skipped, so the next scan was barely warm (1.9 s against 0.45 s from local
disk); two writers skipped 0-8 and the warm scan took 0.5 s, for the same cold scan time
(2.5-2.8 s, bench/prefetch.py). Four made the cold scan slower (2.7-3.25 s).

Several worker processes may share one directory. Each keeps its own index, so a block
another process evicted is simply a miss here (`get` returns None), never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

_WRITERS = 2


@dataclass(frozen=True)
class BlockKey:
    """One cached byte range ``[start, end)`` of an immutable object."""

    uri: str
    size: int
    start: int
    end: int

    def digest(self) -> str:
        raw = f"{self.uri}\0{self.size}\0{self.start}\0{self.end}".encode()
        return hashlib.sha256(raw).hexdigest()[:40]


@dataclass
class CacheStats:
    """Counters since the cache was opened (this process only)."""

    hits: int = 0
    misses: int = 0
    stores: int = 0
    evictions: int = 0
    bytes_cached: int = 0
    skipped: int = 0  # blocks not cached because the write backlog was full


class BlockCache:
    """An on-disk LRU of blocks, capped at ``capacity`` bytes; 0 disables it."""

    def __init__(self, directory: str | Path, capacity: int,
                 write_backlog: int = 128 * 1024 * 1024, writers: int = _WRITERS) -> None:
        self.directory = Path(directory).resolve() / "blocks"
        self.capacity = max(0, capacity)
        self.write_backlog = max(0, write_backlog)
        self.stats = CacheStats()
        self._lock = threading.Lock()
        self._index: OrderedDict[str, int] = OrderedDict()
        # Blocks handed to the writer and not yet on disk; `get` answers from here meanwhile.
        self._pending: dict[BlockKey, bytes] = {}
        self._pending_bytes = 0
        self._queue: queue.SimpleQueue[BlockKey | None] = queue.SimpleQueue()
        self._writer_count = max(1, writers)
        self._writers: list[threading.Thread] = []
        if self.capacity:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._load()

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def contains(self, key: BlockKey) -> bool:
        """Whether this process believes the block is cached (a sibling may have evicted it)."""
        return self.enabled and (key.digest() in self._index or key in self._pending)

    def get(self, key: BlockKey) -> bytes | None:
        """The block's bytes, or None on a miss."""
        if not self.enabled:
            return None
        with self._lock:
            data: bytes | None = self._pending.get(key)
            if data is not None:
                self.stats.hits += 1
                return data
        name = key.digest()
        path = self._path(name)
        try:
            data = path.read_bytes()
        except OSError:
            data = None
        with self._lock:
            if data is None or len(data) != key.end - key.start:
                self.stats.misses += 1
                self._forget(name)
                return None
            self.stats.hits += 1
            if name in self._index:
                self._index.move_to_end(name)
            else:  # written by a sibling process since we loaded
                self._index[name] = len(data)
                self.stats.bytes_cached += len(data)
        # Refresh the mtime so the order survives a restart; losing the race is harmless.
        with contextlib.suppress(OSError):
            os.utime(path)
        return data

    def link(self, key: BlockKey, dest: str | Path) -> bool:
        """Hard-link a cached block to ``dest``; False on a miss.

        The link keeps the bytes readable even if the entry is evicted meanwhile (by this or
        a sibling process), so a path handed to DuckDB never disappears under a scan.
        """
        if not self.enabled:
            return False
        name = key.digest()
        path = self._path(name)
        try:
            if path.stat().st_size != key.end - key.start:
                return False
            os.link(path, dest)
        except OSError:
            return False
        with self._lock:
            self.stats.hits += 1
            if name in self._index:
                self._index.move_to_end(name)
        with contextlib.suppress(OSError):
            os.utime(path)
        return True

    def put_later(self, key: BlockKey, data: bytes) -> None:
        """Queue a block for the writer threads; skipped when the backlog is full."""
        if not self.enabled or len(data) > self.capacity:
            return
        with self._lock:
            if key in self._pending:
                return
            if self._pending_bytes and self._pending_bytes + len(data) > self.write_backlog:
                self.stats.skipped += 1
                return
            self._pending[key] = data
            self._pending_bytes += len(data)
            if not self._writers:
                self._writers = [
                    threading.Thread(target=self._write_loop, daemon=True,
                                     name=f"sqlgate-cache-writer-{n}")
                    for n in range(self._writer_count)
                ]
                for writer in self._writers:
                    writer.start()
        self._queue.put(key)

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until queued blocks are on disk; False if ``timeout_s`` passed first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return True
            time.sleep(0.005)
        return False

    def close(self) -> None:
        """Write what is queued (bounded by the backlog) and stop the writer threads."""
        with self._lock:
            writers, self._writers = self._writers, []
        for _ in writers:
            self._queue.put(None)  # one stop mark each, behind the queued blocks
        for writer in writers:
            writer.join(timeout=30)

    def _write_loop(self) -> None:
        while (key := self._queue.get()) is not None:
            with self._lock:
                data = self._pending.get(key)
            if data is not None:
                self.put(key, data)
            with self._lock:
                if self._pending.pop(key, None) is not None:
                    self._pending_bytes -= len(data or b"")

    def put(self, key: BlockKey, data: bytes) -> None:
        """Store a block now; blocks bigger than the whole cache are not kept."""
        if not self.enabled or len(data) > self.capacity:
            return
        name = key.digest()
        path = self._path(name)
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError:
            # A full or read-only disk only costs the cache, never the statement.
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return
        with self._lock:
            if name not in self._index:
                self.stats.bytes_cached += len(data)
            self._index[name] = len(data)
            self._index.move_to_end(name)
            self.stats.stores += 1
            victims = self._evict_locked()
        for victim in victims:
            with contextlib.suppress(OSError):
                self._path(victim).unlink()

    def clear(self) -> None:
        """Drop every block this process knows of."""
        with self._lock:
            names = list(self._index)
            self._index.clear()
            self.stats.bytes_cached = 0
        for name in names:
            with contextlib.suppress(OSError):
                self._path(name).unlink()

    def _evict_locked(self) -> list[str]:
        victims = []
        while self.stats.bytes_cached > self.capacity and self._index:
            name, size = self._index.popitem(last=False)
            self.stats.bytes_cached -= size
            self.stats.evictions += 1
            victims.append(name)
        return victims

    def _forget(self, name: str) -> None:
        size = self._index.pop(name, None)
        if size is not None:
            self.stats.bytes_cached -= size

    def _path(self, name: str) -> Path:
        return self.directory / name[:2] / name

    def _load(self) -> None:
        entries = []
        for sub in self.directory.iterdir():
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub):
                if entry.name.startswith(".tmp-"):
                    # Left by a worker killed mid-write.
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                    continue
                with contextlib.suppress(OSError):
                    st = entry.stat()
                    entries.append((st.st_mtime, entry.name, st.st_size))
        for _, name, size in sorted(entries):
            self._index[name] = size
            self.stats.bytes_cached += size
        victims = self._evict_locked()
        for victim in victims:
            with contextlib.suppress(OSError):
                self._path(victim).unlink()
