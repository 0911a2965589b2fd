"""LakeIO end to end: DuckDB in the engine's sandbox reading a moto bucket through lakeio://."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from engine.errors import Cancelled, LakeIOError
from engine.io import DataFile, LakeIO, ObjectStore, S3Store
from engine.io import plan as plan_module
from tests.engine.io.conftest import ROWS_PER_FILE, parquet_bytes, put_files, table_for
from tests.fixtures.s3 import s3_client, s3_engine_settings
from tests.fixtures.waiting import WAIT_S, eventually


def sandboxed(io: LakeIO) -> duckdb.DuckDBPyConnection:
    """A connection locked down the way the engine does it."""
    conn = duckdb.connect()
    conn.execute("SET threads=2")
    io.register(conn)
    conn.execute(f"SET allowed_directories={io.allowed_directories()!r}")
    conn.execute("SET enable_external_access=false")
    conn.execute("SET lock_configuration=true")
    return conn


def rows(io: LakeIO, statement_id: str, files: list[DataFile]) -> list[tuple[Any, ...]]:
    conn = sandboxed(io)
    try:
        paths = io.scan_paths(statement_id, files)
        return conn.sql(f"SELECT id, k, s FROM read_parquet({paths!r}) ORDER BY id").fetchall()
    finally:
        io.release(statement_id)
        conn.close()


class FlakyStore(ObjectStore):
    """Fails the first ``failures`` reads of every block, then answers from the real store."""

    def __init__(self, inner: ObjectStore, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.calls: dict[tuple[str, int], int] = {}
        self.lock = threading.Lock()

    def read_range(self, uri: str, size: int, start: int, end: int) -> bytes:
        with self.lock:
            n = self.calls.get((uri, start), 0)
            self.calls[(uri, start)] = n + 1
        if n < self.failures:
            raise OSError("injected failure")
        return self.inner.read_range(uri, size, start, end)


class GatedStore(ObjectStore):
    """Holds every read until ``gate`` opens; counts reads and the most running at once."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.lock = threading.Lock()
        self.reads = 0
        self.running = 0
        self.max_running = 0

    def read_range(self, uri: str, size: int, start: int, end: int) -> bytes:
        with self.lock:
            self.reads += 1
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            self.gate.wait(10)
            return self.inner.read_range(uri, size, start, end)
        finally:
            with self.lock:
                self.running -= 1


def expected_rows(count: int) -> list[tuple[Any, ...]]:
    return [r for i in range(count) for r in zip(*table_for(i).to_pydict().values(), strict=True)]


def test_local_lake_paths_pass_through(local_files: list[DataFile], tmp_path: Path) -> None:
    io = LakeIO(s3_settings_local(tmp_path))
    try:
        assert io.scan_paths("s", local_files) == [f.uri for f in local_files]
        assert io.allowed_directories() == [str(tmp_path / "lake") + "/"]
        assert rows(io, "s", local_files) == expected_rows(3)
    finally:
        io.close()


def s3_settings_local(tmp_path: Path) -> Any:
    from sqlgate.settings import EngineSettings

    return EngineSettings(lake=str(tmp_path / "lake"), cache_dir=str(tmp_path / "cache"))


@pytest.mark.parametrize("prefetch", [True, False])
def test_results_identical_with_prefetch_on_and_off(
    s3_bucket: dict[str, str], tmp_path: Path, prefetch: bool
) -> None:
    files = put_files(s3_bucket, 6)
    io = LakeIO(s3_engine_settings(s3_bucket, cache_dir=str(tmp_path / "c"), prefetch=prefetch))
    try:
        assert io.allowed_directories() == ["lakeio://", str(io.stage_dir) + "/"]
        assert rows(io, "st", files) == expected_rows(6)
        assert io.stats.requests == 6  # one whole-object GET per small file, no HEAD, no list
        # DuckDB opens each file twice (schema, then rows); the second open never fetches
        # again: it reads the block from memory, or (under load) waits for the fetch in flight.
        assert io.stats.direct_blocks == (0 if prefetch else 6)
        assert io.stats.memory_blocks + io.stats.waited_blocks >= 6
    finally:
        io.close()


def test_sandbox_still_refuses_other_files(s3_bucket: dict[str, str], tmp_path: Path) -> None:
    io = LakeIO(s3_engine_settings(s3_bucket, cache_dir=str(tmp_path / "c")))
    conn = sandboxed(io)
    try:
        with pytest.raises(duckdb.PermissionException):
            conn.sql("SELECT * FROM read_csv('/etc/hostname')").fetchall()
        with pytest.raises(duckdb.Error):  # a lakeio path of no live scan does not exist
            conn.sql("SELECT * FROM read_parquet('lakeio://nobody/0/x.parquet')").fetchall()
    finally:
        conn.close()
        io.close()


def test_cache_hits_after_first_run_and_across_restart(
    s3_bucket: dict[str, str], tmp_path: Path
) -> None:
    files = put_files(s3_bucket, 4)
    settings = s3_engine_settings(s3_bucket, cache_dir=str(tmp_path / "c"))
    first = LakeIO(settings)
    try:
        assert rows(first, "a", files) == expected_rows(4)
        assert first.stats.requests == 4
        assert rows(first, "b", files) == expected_rows(4)
        assert first.stats.requests == 4  # second run: local disk only
        assert first.cache_stats.hits >= 4
    finally:
        first.close()
    # A new worker process on the same cache directory starts warm.
    second = LakeIO(settings)
    try:
        assert rows(second, "c", files) == expected_rows(4)
        assert second.stats.requests == 0
        assert second.cache_stats.hits >= 4
    finally:
        second.close()


@pytest.mark.parametrize("prefetch", [True, False])
def test_failed_reads_are_retried(
    s3_bucket: dict[str, str], tmp_path: Path, prefetch: bool
) -> None:
    files = put_files(s3_bucket, 3)
    settings = s3_engine_settings(
        s3_bucket, cache_dir=str(tmp_path / "c"), io_retries=2, prefetch=prefetch
    )
    store = FlakyStore(S3Store(settings), failures=2)
    io = LakeIO(settings, store=store)
    try:
        assert rows(io, "st", files) == expected_rows(3)
        assert sorted(store.calls.values()) == [3, 3, 3]
    finally:
        io.close()


@pytest.mark.parametrize("prefetch", [True, False])
def test_exhausted_retries_fail_with_io_error(
    s3_bucket: dict[str, str], tmp_path: Path, prefetch: bool
) -> None:
    files = put_files(s3_bucket, 3)
    settings = s3_engine_settings(
        s3_bucket, cache_dir=str(tmp_path / "c"), io_retries=1, prefetch=prefetch
    )
    io = LakeIO(settings, store=FlakyStore(S3Store(settings), failures=2))
    try:
        with pytest.raises(duckdb.Error, match="injected failure"):
            rows(io, "st", files)
        failure = io.failure("st")
        assert isinstance(failure, LakeIOError)
        assert failure.error_code == "IO_ERROR"
        assert "after 2 attempt(s)" in str(failure)
    finally:
        io.close()


def test_release_cancels_inflight_prefetches(s3_bucket: dict[str, str], tmp_path: Path) -> None:
    files = put_files(s3_bucket, 12)
    settings = s3_engine_settings(
        s3_bucket, cache_dir=str(tmp_path / "c"), prefetch_concurrency=2, prefetch_depth=20
    )
    store = GatedStore(S3Store(settings))
    io = LakeIO(settings, store=store)
    conn = sandboxed(io)
    errors: list[BaseException] = []
    paths = io.scan_paths("st", files)

    def scan() -> None:
        try:
            conn.sql(f"SELECT count(*) FROM read_parquet({paths!r})").fetchall()
        except duckdb.Error as exc:
            errors.append(exc)

    reader = threading.Thread(target=scan)
    reader.start()
    try:
        deadline = time.monotonic() + WAIT_S
        while (store.running < 2 or io.stats.waited_blocks < 1) and time.monotonic() < deadline:
            time.sleep(0.01)
        live = io.prefetcher.scan("st")
        assert live is not None
        io.release("st")
        reader.join(WAIT_S)
        assert not reader.is_alive()
        assert errors and "cancelled" in str(errors[0])
        store.gate.set()
        deadline = time.monotonic() + WAIT_S
        while io.stats.cancelled_fetches < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        # The two running fetches finish and are dropped; nothing else was started.
        assert io.stats.cancelled_fetches == 2
        assert store.reads == 2
        assert io.prefetcher.held_bytes == 0
        with pytest.raises(Cancelled):
            io.prefetcher.read_block(live, _first_block(files))
    finally:
        store.gate.set()
        conn.close()
        io.close()


def _first_block(files: list[DataFile]) -> Any:
    from engine.io.cache import BlockKey

    return BlockKey(files[0].uri, files[0].size, 0, files[0].size)


def test_depth_and_concurrency_bound_the_read_ahead(
    s3_bucket: dict[str, str], tmp_path: Path
) -> None:
    files = put_files(s3_bucket, 10)
    settings = s3_engine_settings(
        s3_bucket,
        cache_dir=str(tmp_path / "c"),
        prefetch_depth=3,
        prefetch_concurrency=2,
    )
    store = GatedStore(S3Store(settings))
    store.gate.set()
    io = LakeIO(settings, store=store)
    try:
        io.scan_paths("st", files)
        # nobody reads: the read-ahead reaches its depth (bounded wait: a loaded machine may
        # take more than a moment), then stops there
        assert eventually(lambda: store.reads >= 3), store.reads
        time.sleep(0.5)
        assert store.reads == 3
        assert store.max_running <= 2
    finally:
        io.close()


def test_memory_budget_bounds_bytes_held(s3_bucket: dict[str, str], tmp_path: Path) -> None:
    files = put_files(s3_bucket, 10)
    budget = files[0].size + files[1].size
    settings = s3_engine_settings(
        s3_bucket, cache_dir=str(tmp_path / "c"), prefetch_memory_bytes=budget
    )
    store = GatedStore(S3Store(settings))
    store.gate.set()
    io = LakeIO(settings, store=store)
    try:
        io.scan_paths("st", files)
        assert eventually(lambda: store.reads >= 2), store.reads
        time.sleep(0.5)
        assert store.reads == 2  # two blocks fit the budget; the rest wait for a reader
        assert rows(io, "st2", files) == expected_rows(10)
    finally:
        io.close()


def test_big_files_are_read_in_blocks(
    s3_bucket: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shrink the block size so a small test file spans many blocks and row groups.
    monkeypatch.setattr(plan_module, "WHOLE_FILE_MAX", 16 * 1024)
    monkeypatch.setattr(plan_module, "BLOCK_BYTES", 16 * 1024)
    body = parquet_bytes(table_for(0, rows=40_000), row_group_size=5000)
    key = "lake/big/part-0.parquet"
    s3_client(s3_bucket).put_object(Bucket=s3_bucket["bucket"], Key=key, Body=body)
    files = [DataFile(f"s3://{s3_bucket['bucket']}/{key}", len(body))]
    assert len(plan_module.block_bounds(len(body))) > 4
    for prefetch in (True, False):
        settings = s3_engine_settings(
            s3_bucket, cache_dir=str(tmp_path / f"c{prefetch}"), prefetch=prefetch
        )
        io = LakeIO(settings)
        try:
            got = rows(io, "st", files)
            assert len(got) == 40_000
            assert got == expected_rows_single(40_000)
            assert io.stats.requests == len(plan_module.block_bounds(len(body)))
        finally:
            io.close()
    assert ROWS_PER_FILE == 5000


def expected_rows_single(count: int) -> list[tuple[Any, ...]]:
    return list(zip(*table_for(0, rows=count).to_pydict().values(), strict=True))


def test_warm_files_are_staged_as_local_links(s3_bucket: dict[str, str], tmp_path: Path) -> None:
    files = put_files(s3_bucket, 3)
    io = LakeIO(s3_engine_settings(s3_bucket, cache_dir=str(tmp_path / "c")))
    try:
        assert rows(io, "cold", files) == expected_rows(3)
        conn = sandboxed(io)
        paths = io.scan_paths("warm", files)
        assert all(p.startswith(str(io.stage_dir)) for p in paths)
        io.cache.clear()  # eviction during the scan must not pull the files away
        got = conn.sql(f"SELECT id, k, s FROM read_parquet({paths!r}) ORDER BY id").fetchall()
        assert got == expected_rows(3)
        io.release("warm")
        assert not any(Path(p).exists() for p in paths)
        assert io.stats.requests == 3
        conn.close()
    finally:
        io.close()
    assert not io.stage_dir.exists()
