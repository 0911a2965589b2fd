"""Read-ahead: blocks of a statement's files fetched by a bounded pool while DuckDB scans.

One `Prefetcher` per worker owns a thread pool of ``prefetch_concurrency`` threads and a
memory budget of ``prefetch_memory_bytes`` shared by all statements. Each statement is a
`Scan`: its block plan, how far its reader has got, and the blocks fetched for it but not
yet read. A scan keeps at most ``prefetch_depth`` blocks ahead of its reader, and the bytes
in flight or waiting to be read never pass the budget (one block may, when nothing else is
held, so a block bigger than the budget still makes progress).

Blocks already in the disk cache are skipped: the reader gets them from local disk.
Cancelling a scan drops its queued fetches, makes running ones stop before their next
attempt, and wakes every reader waiting on it with `Cancelled`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from engine.errors import Cancelled, EngineError, LakeIOError
from engine.io.cache import BlockCache, BlockKey
from engine.io.plan import DataFile, scan_plan
from engine.io.store import ObjectStore, read_with_retries

_RECENT_FAILURES = 64


@dataclass
class IOStats:
    """Per-process counters, for tests and the benchmark."""

    requests: int = 0
    bytes_fetched: int = 0
    memory_blocks: int = 0  # reads answered from blocks already in memory
    waited_blocks: int = 0  # reads that waited for a fetch already in flight
    direct_blocks: int = 0  # reads that had to fetch from the store themselves
    cancelled_fetches: int = 0


@dataclass(eq=False)
class Scan:
    """One statement's read-ahead state; guarded by the prefetcher's lock."""

    statement_id: str
    files: list[DataFile]
    plan: list[tuple[int, BlockKey]]
    position: dict[BlockKey, int] = field(default_factory=dict)
    next_index: int = 0
    read_index: int = -1
    pending: dict[BlockKey, Future[bytes]] = field(default_factory=dict)
    # Fetched blocks in memory, oldest first. A block stays after it is read: DuckDB opens a
    # file once for its schema and again for its rows, and a second fetch would cost a round
    # trip. Read blocks are the first to go when the budget needs room.
    ready: OrderedDict[BlockKey, bytes] = field(default_factory=OrderedDict)
    consumed: set[BlockKey] = field(default_factory=set)
    cancelled: threading.Event = field(default_factory=threading.Event)
    error: EngineError | None = None
    # A queued statement's early fetch: nobody reads yet, so its blocks are marked read as
    # they land and a running scan that needs room evicts them first (the disk cache has them).
    background: bool = False


class Prefetcher:
    """Fetches blocks ahead of readers, within a depth, a concurrency and a memory budget."""

    def __init__(
        self,
        store: ObjectStore,
        cache: BlockCache,
        *,
        enabled: bool,
        depth: int,
        concurrency: int,
        memory_bytes: int,
        retries: int,
    ) -> None:
        self.store = store
        self.cache = cache
        self.enabled = enabled
        self.depth = max(1, depth)
        self.memory_bytes = max(1, memory_bytes)
        self.retries = max(0, retries)
        self.stats = IOStats()
        self._lock = threading.Lock()
        self._held = 0  # bytes in flight or ready, across scans
        self._pool = ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="sqlgate-io")
        self._concurrency = max(1, concurrency)
        self._inflight = 0
        self._scans: dict[str, Scan] = {}
        self._closed = False
        # Failures outlive `release` briefly, so the engine may ask after cleaning up.
        self.recent_failures: OrderedDict[str, EngineError] = OrderedDict()
        self.recent_released: OrderedDict[str, None] = OrderedDict()

    def open_scan(self, statement_id: str, files: Sequence[DataFile],
                  background: bool = False) -> Scan:
        """Start (or extend) the read-ahead of a statement's files.

        ``background`` is for a statement still queued; a later foreground open adopts it.
        """
        with self._lock:
            scan = self._scans.get(statement_id)
            self.recent_released.pop(statement_id, None)
            if scan is None or scan.cancelled.is_set():
                scan = Scan(statement_id, [], [])
                self._scans[statement_id] = scan
            scan.background = background
            base = len(scan.files)
            scan.files.extend(files)
            for index, key in scan_plan(files):
                scan.position.setdefault(key, len(scan.plan))
                scan.plan.append((base + index, key))
        self._pump()
        return scan

    def scan(self, statement_id: str) -> Scan | None:
        """The live scan of a statement, if any."""
        with self._lock:
            return self._scans.get(statement_id)

    def read_block(self, scan: Scan, key: BlockKey) -> bytes:
        """The bytes of one block for a reader: prefetched, in flight, cached, or fetched now."""
        with self._lock:
            self._check(scan)
            scan.read_index = max(scan.read_index, scan.position.get(key, -1))
            data = scan.ready.get(key)
            if data is not None:
                scan.ready.move_to_end(key)
                scan.consumed.add(key)
            future = scan.pending.get(key) if data is None else None
            mine: Future[bytes] | None = None
            if data is None and future is None:
                # Claim the block so the read-ahead and other readers wait for this fetch
                # instead of fetching it a second time.
                mine = Future()
                mine.set_running_or_notify_cancel()  # running: `release` must not cancel it
                scan.pending[key] = mine
        self._pump()
        if data is not None:
            self.stats.memory_blocks += 1
            return data
        if future is not None:
            self.stats.waited_blocks += 1
            return self._wait(scan, key, future)
        assert mine is not None
        try:
            data = self._fetch(scan, key, direct=True)
        except BaseException as exc:
            mine.set_exception(exc)
            raise
        else:
            mine.set_result(data)
            return data
        finally:
            with self._lock:
                if scan.pending.get(key) is mine:
                    del scan.pending[key]
                if data is not None and not scan.cancelled.is_set():
                    self._keep_locked(scan, key, data)

    @property
    def held_bytes(self) -> int:
        """Bytes in flight or fetched but not yet read, across scans (bounded by the budget)."""
        return self._held

    def release(self, statement_id: str) -> None:
        """Stop a statement's read-ahead and free what it held."""
        with self._lock:
            scan = self._scans.pop(statement_id, None)
            if scan is None:
                return
            scan.cancelled.set()
            self.recent_released[statement_id] = None
            while len(self.recent_released) > _RECENT_FAILURES:
                self.recent_released.popitem(last=False)
            if scan.error is not None:
                self.recent_failures[statement_id] = scan.error
                while len(self.recent_failures) > _RECENT_FAILURES:
                    self.recent_failures.popitem(last=False)
            for key, future in list(scan.pending.items()):
                if future.cancel():
                    # Never started, so `_run` will not settle its accounting.
                    self.stats.cancelled_fetches += 1
                    self._inflight -= 1
                    self._held -= key.end - key.start
                    del scan.pending[key]
            self._held -= sum(len(d) for d in scan.ready.values())
            scan.ready.clear()
            scan.consumed.clear()
        self._pump()

    def close(self) -> None:
        """Cancel every scan and stop the pool (waits for running reads, which are bounded)."""
        with self._lock:
            ids = list(self._scans)
            self._closed = True
        for statement_id in ids:
            self.release(statement_id)
        self._pool.shutdown(wait=True, cancel_futures=True)

    # internals

    def _check(self, scan: Scan) -> None:
        if scan.cancelled.is_set():
            raise Cancelled(f"statement {scan.statement_id} was cancelled")
        if scan.error is not None:
            raise scan.error

    def _wait(self, scan: Scan, key: BlockKey, future: Future[bytes]) -> bytes:
        # Poll so a cancel wakes the reader even while the fetch is stuck on a slow store.
        while True:
            if scan.cancelled.is_set():
                raise Cancelled(f"statement {scan.statement_id} was cancelled")
            try:
                data = future.result(timeout=0.05)
            except TimeoutError:
                continue
            except EngineError as exc:
                raise exc from None
            except Exception as exc:  # the future was cancelled under us
                raise Cancelled(f"statement {scan.statement_id} was cancelled") from exc
            with self._lock:
                if key in scan.ready:
                    scan.consumed.add(key)
            self._pump()
            return data

    def _fetch(self, scan: Scan, key: BlockKey, direct: bool = False) -> bytes:
        # Another scan (or an earlier statement) may have cached it since it was planned.
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        if direct:
            self.stats.direct_blocks += 1
        try:
            data = read_with_retries(
                self.store,
                key.uri,
                key.size,
                key.start,
                key.end,
                self.retries,
                scan.cancelled.is_set,
            )
        except LakeIOError as exc:
            scan.error = exc
            raise
        self.stats.requests += 1
        self.stats.bytes_fetched += len(data)
        self.cache.put_later(key, data)  # written by the cache's thread, off the read path
        return data

    def _pump(self) -> None:
        """Submit as many fetches as depth, concurrency and budget allow, oldest scan first."""
        with self._lock:
            if self._closed or not self.enabled:
                return
            for scan in list(self._scans.values()):
                while scan.next_index < len(scan.plan) and self._inflight < self._concurrency:
                    if scan.next_index > scan.read_index + self.depth or scan.error is not None:
                        break
                    _, key = scan.plan[scan.next_index]
                    size = key.end - key.start
                    if key in scan.pending or key in scan.ready or self.cache.contains(key):
                        scan.next_index += 1
                        continue
                    if not self._make_room_locked(size):
                        return
                    scan.next_index += 1
                    self._held += size
                    self._inflight += 1
                    scan.pending[key] = self._pool.submit(self._run, scan, key)

    def _make_room_locked(self, size: int) -> bool:
        """Drop already-read blocks, oldest first, until ``size`` more bytes fit the budget."""
        if not self._held or self._held + size <= self.memory_bytes:
            return True
        for scan in self._scans.values():
            for key in [k for k in scan.ready if k in scan.consumed]:
                self._held -= len(scan.ready.pop(key))
                scan.consumed.discard(key)
                if self._held + size <= self.memory_bytes:
                    return True
        return not self._held

    def _keep_locked(self, scan: Scan, key: BlockKey, data: bytes) -> None:
        """Keep a block a reader fetched itself, if the budget has room for it."""
        if key not in scan.ready and self._make_room_locked(len(data)):
            scan.ready[key] = data
            scan.consumed.add(key)
            self._held += len(data)

    def _run(self, scan: Scan, key: BlockKey) -> bytes:
        """One prefetch, in a pool thread; its bytes wait in `ready` until a reader takes them."""
        try:
            data = self._fetch(scan, key)
        except BaseException:
            with self._lock:
                self._inflight -= 1
                self._held -= key.end - key.start
                scan.pending.pop(key, None)
            self._pump()
            raise
        with self._lock:
            self._inflight -= 1
            scan.pending.pop(key, None)
            if scan.cancelled.is_set():
                self.stats.cancelled_fetches += 1
                self._held -= len(data)
            else:
                scan.ready[key] = data
                if scan.background:
                    scan.consumed.add(key)
        self._pump()
        return data
