"""Prefetch for a queued statement: the engine hook and the worker's Flight action, on moto S3."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine import Engine
from engine.lake import import_files
from engine.worker.server import WorkerServer
from gateway.pool.client import FlightWorker
from sqlgate.settings import Settings
from sqlgate.types import StatementTask
from tests.engine.conftest import run
from tests.fixtures.s3 import s3_engine_settings
from tests.fixtures.waiting import eventually

SQL = "SELECT g, count(*) AS n, sum(id) AS s FROM main.raw.parts GROUP BY g ORDER BY g"
GROUPS = 6  # one data file per group


@pytest.fixture
def lake(s3_bucket: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """A six-file table on moto; returns the settings keywords to reach it."""
    kw: dict[str, Any] = dict(threads=1, cache_bytes=0, cache_dir=str(tmp_path / "cache"))
    settings = s3_engine_settings(s3_bucket, **kw)
    ids = list(range(600))
    pq.write_table(pa.table({"id": ids, "g": [f"g{i % GROUPS}" for i in ids]}),
                   tmp_path / "x.parquet")
    import_files(settings, "main.raw.parts", [tmp_path / "x.parquet"], partition_by=["g"])
    return {"info": s3_bucket, **kw}


def make_engine(lake: dict[str, Any], **kw: Any) -> Engine:
    opts = {k: v for k, v in lake.items() if k != "info"}
    return Engine(s3_engine_settings(lake["info"], **{**opts, **kw}))


EXPECTED = [{"g": f"g{k}", "n": 100, "s": sum(range(k, 600, GROUPS))} for k in range(GROUPS)]


def test_prefetched_blocks_are_taken_over_by_the_run(lake: dict[str, Any]) -> None:
    eng = make_engine(lake, prefetch_queued_files=4)
    try:
        task = StatementTask("q1", SQL)
        assert eng.prefetch(task, ttl_s=60) == 4
        assert eng.queued.live() == ["q1"]
        assert eventually(lambda: eng.io.stats.requests == 4)
        with eng.execute(task) as rs:
            got = rs.read_all().to_pylist()
        assert got == EXPECTED
        # The run found the four prefetched files in memory: each file fetched once in all.
        assert eng.io.stats.requests == GROUPS
        assert eng.queued.live() == [] and eng.io.prefetcher.scan("q1") is None
        # A prefetch request arriving after the statement ran is refused, holds nothing.
        assert eng.prefetch(task, ttl_s=60) == 0
        assert eng.io.prefetcher.held_bytes == 0
    finally:
        eng.close()


def test_results_identical_with_and_without(lake: dict[str, Any]) -> None:
    plain = make_engine(lake)
    try:
        off = run(plain, SQL).to_pylist()
    finally:
        plain.close()
    eng = make_engine(lake, prefetch_queued_files=GROUPS)
    try:
        task = StatementTask("q2", SQL)
        assert eng.prefetch(task, ttl_s=60) == GROUPS
        with eng.execute(task) as rs:
            on = rs.read_all().to_pylist()
    finally:
        eng.close()
    assert on == off == EXPECTED


def test_bounded_in_files_bytes_and_statements(lake: dict[str, Any]) -> None:
    eng = make_engine(lake, prefetch_queued_files=100, prefetch_queued_max=1)
    try:
        file_size = eng.estimate(StatementTask("e", SQL)).bytes // GROUPS
        assert eng.prefetch(StatementTask("a", SQL), ttl_s=60) == GROUPS
        assert eng.prefetch(StatementTask("b", SQL), ttl_s=60) == 0  # one statement at a time
        assert eng.release_prefetch("a") and not eng.release_prefetch("a")
        assert eng.io.prefetcher.scan("a") is None
        assert eventually(lambda: eng.io.prefetcher.held_bytes == 0)
        assert eng.prefetch(StatementTask("a", SQL), ttl_s=60) == 0  # released: not again
    finally:
        eng.close()
    # The byte bound cuts the file list (files are near one size; allow one either way).
    eng = make_engine(lake, prefetch_queued_bytes=int(file_size * 2.5))
    try:
        assert eng.prefetch(StatementTask("c", SQL), ttl_s=60) in (1, 2, 3)
        assert eng.prefetch(StatementTask("m", "SELECT 1"), ttl_s=60) == 0  # nothing to scan
    finally:
        eng.close()


def test_time_to_live_releases(lake: dict[str, Any]) -> None:
    eng = make_engine(lake)
    try:
        assert eng.prefetch(StatementTask("t", SQL), ttl_s=0.2) == GROUPS
        assert eventually(lambda: not eng.queued.live())
        assert eng.io.prefetcher.scan("t") is None
        assert eventually(lambda: eng.io.prefetcher.held_bytes == 0)
    finally:
        eng.close()


def test_local_lake_does_nothing(engine: Engine) -> None:
    task = StatementTask("loc", "SELECT count(*) FROM main.tpch.lineitem")
    assert engine.prefetch(task, ttl_s=60) == 0
    assert engine.queued.live() == []


@pytest.fixture
def served(lake: dict[str, Any]) -> Iterator[tuple[Engine, FlightWorker]]:
    """An in-process worker server over the S3 lake, and a Flight client to it."""
    eng = make_engine(lake, prefetch_queued_files=2)
    settings = Settings(engine=eng.settings).replace(queue_timeout_s=60.0)
    server = WorkerServer(settings, "grpc://127.0.0.1:0", eng)
    client = FlightWorker("w", f"grpc://127.0.0.1:{server.port}")
    try:
        yield eng, client
    finally:
        server.shutdown()
        eng.close()


def test_flight_actions(served: tuple[Engine, FlightWorker]) -> None:
    eng, worker = served
    assert worker.prefetch(StatementTask("f1", SQL)) == 2
    assert eng.queued.live() == ["f1"]
    assert worker.release_prefetch("f1") is True
    assert eng.queued.live() == [] and eng.io.prefetcher.scan("f1") is None
    assert worker.release_prefetch("f1") is False
    # A statement that cannot be analysed answers 0: it will fail when it runs, not now.
    assert worker.prefetch(StatementTask("f2", "SELECT * FROM main.raw.nope")) == 0
