"""The on-disk block cache: LRU within its cap, survives restart, a bad entry is a miss."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from engine.io import BlockCache, BlockKey


def key(n: int, size: int = 100) -> BlockKey:
    return BlockKey(f"s3://b/f{n}.parquet", size, 0, size)


def test_least_recently_used_goes_first(tmp_path: Path) -> None:
    cache = BlockCache(tmp_path, capacity=300)
    for n in range(3):
        cache.put(key(n), bytes([n]) * 100)
    assert cache.get(key(0)) == b"\x00" * 100  # 0 is now the most recent
    cache.put(key(3), b"\x03" * 100)
    assert cache.get(key(1)) is None
    assert cache.get(key(0)) is not None and cache.get(key(3)) is not None
    assert cache.stats.evictions == 1
    assert cache.stats.bytes_cached == 300


def test_survives_restart_in_lru_order(tmp_path: Path) -> None:
    cache = BlockCache(tmp_path, capacity=1000)
    for n in range(3):
        cache.put(key(n), bytes([n]) * 100)
    # Give entries distinct, increasing mtimes: 1 oldest, then 2, then 0.
    for age, n in enumerate((1, 2, 0)):
        path = cache._path(key(n).digest())
        os.utime(path, (1_000_000 + age, 1_000_000 + age))
    reopened = BlockCache(tmp_path, capacity=250)  # smaller cap: evicts the oldest on load
    assert reopened.stats.bytes_cached == 200
    assert reopened.get(key(1)) is None
    assert reopened.get(key(2)) == b"\x02" * 100
    assert reopened.get(key(0)) == b"\x00" * 100


def test_key_includes_size_and_range(tmp_path: Path) -> None:
    cache = BlockCache(tmp_path, capacity=1000)
    cache.put(BlockKey("s3://b/x", 100, 0, 10), b"a" * 10)
    assert cache.get(BlockKey("s3://b/x", 101, 0, 10)) is None
    assert cache.get(BlockKey("s3://b/x", 100, 10, 20)) is None
    assert cache.get(BlockKey("s3://b/x", 100, 0, 10)) == b"a" * 10


def test_truncated_entry_is_a_miss_not_data(tmp_path: Path) -> None:
    cache = BlockCache(tmp_path, capacity=1000)
    cache.put(key(0), b"x" * 100)
    cache._path(key(0).digest()).write_bytes(b"x" * 50)
    assert cache.get(key(0)) is None
    assert cache.stats.misses == 1


def test_disabled_and_oversized(tmp_path: Path) -> None:
    off = BlockCache(tmp_path / "off", capacity=0)
    off.put(key(0), b"x" * 100)
    assert off.get(key(0)) is None and not (tmp_path / "off").exists()
    small = BlockCache(tmp_path / "small", capacity=50)
    small.put(key(0), b"x" * 100)
    assert small.get(key(0)) is None and small.stats.stores == 0


def test_writes_later_off_the_read_path(tmp_path: Path) -> None:
    """Queued blocks read back at once (from memory), land on disk, and a full backlog skips."""
    cache = BlockCache(tmp_path, capacity=10_000, write_backlog=250)
    try:
        # Hold the writer so the backlog fills deterministically.
        gate = threading.Lock()
        gate.acquire()
        real_put = cache.put

        def slow_put(k: BlockKey, data: bytes) -> None:
            with gate:
                real_put(k, data)

        cache.put = slow_put  # type: ignore[method-assign,assignment]
        for n in range(4):
            cache.put_later(key(n), bytes([n]) * 100)
        assert cache.stats.skipped == 2  # 100 + 100 fit the 250-byte backlog, 200 + 100 do not
        assert cache.contains(key(1)) and not cache.contains(key(2))
        assert cache.get(key(1)) == b"\x01" * 100  # answered from the queue
        gate.release()
        assert cache.flush(timeout_s=10)
    finally:
        cache.close()
    reopened = BlockCache(tmp_path, capacity=10_000)
    assert reopened.get(key(0)) == b"\x00" * 100 and reopened.get(key(1)) == b"\x01" * 100
    assert reopened.get(key(2)) is None


def test_two_writers_write_at_once(tmp_path: Path) -> None:
    """Blocks are written by two threads together, so one slow write does not hold the rest."""
    cache = BlockCache(tmp_path, capacity=10_000, writers=2)
    together = threading.Barrier(2, timeout=10)
    real_put = cache.put

    def paired_put(k: BlockKey, data: bytes) -> None:
        together.wait()  # passes only when the other writer is inside a write too
        real_put(k, data)

    cache.put = paired_put  # type: ignore[method-assign,assignment]
    try:
        cache.put_later(key(0), b"a" * 100)
        cache.put_later(key(1), b"b" * 100)
        assert cache.flush(timeout_s=30)
    finally:
        cache.close()
    assert not together.broken
    reopened = BlockCache(tmp_path, capacity=10_000)
    assert reopened.get(key(0)) == b"a" * 100 and reopened.get(key(1)) == b"b" * 100
