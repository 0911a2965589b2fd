"""The statement registry with a fake backend: states, waiting, ownership, retention, bounds."""

from __future__ import annotations

import asyncio
import dataclasses

import pyarrow as pa
import pytest

from gateway.core.backend import StatementEvents, StatementResult
from gateway.core.registry import StatementRegistry, new_statement_id
from gateway.errors import NotFound, ResourceExhausted, TemporarilyUnavailable
from sqlgate.types import (
    ChunkInfo,
    CostEstimate,
    Disposition,
    ResultFormat,
    ResultManifest,
    StatementState,
    StatementTask,
)
from tests.fixtures.waiting import until
from tests.gateway.fakes import FakeBackend


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def task(sql: str, workspace: str = "default") -> StatementTask:
    return StatementTask(statement_id="", sql=sql, workspace=workspace)


def test_ids_are_unique_and_databricks_shaped() -> None:
    ids = {new_statement_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("01f0") and len(i) == 36 for i in ids)


def test_lifecycle_and_ownership() -> None:
    async def main() -> None:
        reg = StatementRegistry(FakeBackend())
        stmt = await reg.submit(task("SELECT 1 AS x"))
        assert stmt.state in (StatementState.RUNNING, StatementState.SUCCEEDED)
        await reg.wait(stmt, 10)
        assert stmt.state is StatementState.SUCCEEDED and stmt.result is not None
        assert reg.get(stmt.id, "default") is stmt
        with pytest.raises(NotFound):
            reg.get(stmt.id, "other")  # another workspace sees nothing
        await reg.close(stmt.id, "default")
        assert stmt.state is StatementState.CLOSED and stmt.result is None

    asyncio.run(main())


def test_cancel_running_and_wait_change() -> None:
    async def main() -> None:
        backend = FakeBackend()
        reg = StatementRegistry(backend)
        stmt = await reg.submit(task("SLEEP 30"))
        assert stmt.state is StatementState.RUNNING
        waiter = asyncio.create_task(reg.wait_change(stmt, 5))
        reg.cancel(stmt.id, "default")
        await asyncio.wait_for(waiter, 1)
        assert stmt.state is StatementState.CANCELED
        # the statement's task unwinds over a few loop turns: wait for it, not 10 ms
        await until(lambda: backend.cancelled != [])
        assert backend.cancelled == [stmt.id]
        # Cancelling a finished statement changes nothing.
        done = await reg.submit(task("SELECT 1"))
        await reg.wait(done, 10)
        reg.cancel(done.id, "default")
        assert done.state is StatementState.SUCCEEDED

    asyncio.run(main())


def test_wait_times_out() -> None:
    async def main() -> None:
        reg = StatementRegistry(FakeBackend())
        stmt = await reg.submit(task("SLEEP 5"))
        await reg.wait(stmt, 0.05)
        assert stmt.state is StatementState.RUNNING
        await reg.aclose(grace_s=0.0)
        assert stmt.state is StatementState.CANCELED

    asyncio.run(main())


def test_rejection_before_admission_is_raised_and_forgotten() -> None:
    async def main() -> None:
        reg = StatementRegistry(FakeBackend())
        with pytest.raises(ResourceExhausted):
            await reg.submit(task("REJECT"))
        assert len(reg) == 0

    asyncio.run(main())


def test_result_ttl_and_retention() -> None:
    async def main() -> None:
        clock = Clock()
        reg = StatementRegistry(FakeBackend(), retention_s=100, result_ttl_s=10, clock=clock)
        stmt = await reg.submit(task("SELECT 1"))
        await reg.wait(stmt, 10)
        clock.now += 11
        assert reg.get(stmt.id, "default").state is StatementState.CLOSED
        clock.now += 100
        with pytest.raises(NotFound):
            reg.get(stmt.id, "default")

    asyncio.run(main())


def test_max_statements_evicts_finished_then_refuses() -> None:
    async def main() -> None:
        reg = StatementRegistry(FakeBackend(), max_statements=2)
        first = await reg.submit(task("SELECT 1"))
        await reg.wait(first, 10)
        a = await reg.submit(task("SLEEP 30"))
        b = await reg.submit(task("SLEEP 30"))  # evicts the finished one
        with pytest.raises(NotFound):
            reg.get(first.id, "default")
        with pytest.raises(ResourceExhausted):
            await reg.submit(task("SLEEP 30"))
        assert {s.id for s in reg.statements()} == {a.id, b.id}
        await reg.aclose(grace_s=0.0)

    asyncio.run(main())


def test_inline_limit_in_registry() -> None:
    async def main() -> None:
        reg = StatementRegistry(FakeBackend(), inline_byte_limit=1000)
        stmt = await reg.submit(task("SELECT range AS i FROM range(10000)"))
        await reg.wait(stmt, 10)
        assert stmt.state is StatementState.FAILED and stmt.error is not None
        assert "at most 1000 bytes" in stmt.error.message

    asyncio.run(main())


def test_statements_nobody_polls_are_cancelled_then_forgotten() -> None:
    async def main() -> None:
        clock = Clock()
        backend = FakeBackend()
        reg = StatementRegistry(backend, abandon_s=900.0, retention_s=60.0, clock=clock)
        polled = await reg.submit(task("SLEEP 30"))
        left = await reg.submit(task("SLEEP 30"))
        clock.now += 600.0
        reg.get(polled.id, "default")  # the client still asks about this one
        with pytest.raises(NotFound):
            reg.get(left.id, "other")  # another workspace asking does not keep it alive
        clock.now += 400.0
        assert await reg.sweep() == 0
        assert left.state is StatementState.CANCELED
        assert polled.state is StatementState.RUNNING
        await until(lambda: backend.cancelled != [])
        assert backend.cancelled == [left.id]
        clock.now += 61.0
        await reg.sweep()
        with pytest.raises(NotFound):
            reg.get(left.id, "default")
        # wait/wait_change are polls too (the Thrift front long-polls with them).
        await reg.wait_change(polled, 0.01)
        clock.now += 899.0
        await reg.sweep()
        assert polled.state is StatementState.RUNNING
        reg.cancel(polled.id, "default")

    asyncio.run(main())


def test_evicted_statement_deletes_its_external_chunks() -> None:
    class ExternalBackend(FakeBackend):
        async def run(self, task, events):  # type: ignore[no-untyped-def]
            result = await super().run(task, events)
            manifest = dataclasses.replace(result.manifest, external=True)
            return StatementResult(manifest, result.schema, [])

    closed: list[str] = []

    async def on_close(stmt, result) -> None:  # type: ignore[no-untyped-def]
        closed.append(stmt.id)

    async def main() -> None:
        reg = StatementRegistry(ExternalBackend(), max_statements=1, on_close=on_close)
        first = await reg.submit(task("SELECT 1"))
        await reg.wait(first, 10)
        second = await reg.submit(task("SELECT 2"))  # evicts the finished one, chunks too
        await reg.wait(second, 10)
        await until(lambda: closed != [])
        assert closed == [first.id]
        await reg.aclose(grace_s=0.0)

    asyncio.run(main())


class ChunkingBackend:
    """Stores chunk i when `release[i]` is set; the statement ends when `finish` is set."""

    def __init__(self, chunks: int) -> None:
        self.release = [asyncio.Event() for _ in range(chunks)]
        self.finish = asyncio.Event()

    async def run(self, task: StatementTask, events: StatementEvents) -> StatementResult:
        events.queued(CostEstimate(kind="scan"), "long")
        events.running()
        infos = []
        for i, gate in enumerate(self.release):
            await gate.wait()
            info = ChunkInfo(i, i * 10, 10, 100, f"ws/{task.statement_id}/{i}.arrow")
            events.chunk_stored(info)
            infos.append(info)
        await self.finish.wait()
        schema = pa.schema([("x", pa.int64())])
        manifest = ResultManifest(format=ResultFormat.ARROW_STREAM, columns=(),
                                  chunks=tuple(infos), total_row_count=10 * len(infos),
                                  external=True)
        return StatementResult(manifest, schema, [])


def test_wait_chunk_wakes_on_the_chunk_or_the_end_and_times_out() -> None:
    async def main() -> None:
        backend = ChunkingBackend(2)
        reg = StatementRegistry(backend)
        stmt = await reg.submit(dataclasses.replace(
            task("SELECT big"), disposition=Disposition.EXTERNAL_LINKS))
        assert stmt.state is StatementState.RUNNING
        await reg.wait_chunk(stmt, 0, 0.05)  # nothing stored yet: the timeout
        assert not stmt.early_chunks and stmt.state is StatementState.RUNNING
        waiter = asyncio.create_task(reg.wait_chunk(stmt, 1, 30))
        backend.release[0].set()
        await until(lambda: 0 in stmt.early_chunks)
        assert not waiter.done()  # chunk 0 is not the one it waits for
        assert set(stmt.chunk_waiters) == {1}  # and its waiter was not even woken by it
        backend.release[1].set()
        await asyncio.wait_for(waiter, 1)
        assert stmt.early_chunks[1].row_offset == 10
        past_end = asyncio.create_task(reg.wait_chunk(stmt, 2, 30))
        await asyncio.sleep(0.01)
        assert not past_end.done()
        backend.finish.set()
        await asyncio.wait_for(past_end, 1)  # the end wakes it: the manifest has the count
        assert stmt.state is StatementState.SUCCEEDED and not stmt.early_chunks
        assert not stmt.chunk_waiters
        assert stmt.result is not None and len(stmt.result.manifest.chunks) == 2

    asyncio.run(main())


def test_a_draining_registry_refuses_new_statements_and_answers_old_ones() -> None:
    async def main() -> None:
        clock = Clock()
        reg = StatementRegistry(FakeBackend(), clock=clock)
        slow = await reg.submit(task("SLEEP 0.3"))
        reg.draining = True
        with pytest.raises(TemporarilyUnavailable) as info:
            await reg.submit(task("SELECT 1"))
        assert info.value.http_status == 503 and info.value.retry_after
        assert reg.get(slow.id, "default") is slow  # still polled
        assert not reg.quiet(clock(), 2.0)  # open: keep draining
        await reg.wait(slow, 10)
        assert not reg.quiet(clock(), 2.0)  # just ended: its client may be fetching
        clock.now += 2.0
        assert reg.quiet(clock(), 2.0)

    asyncio.run(main())
