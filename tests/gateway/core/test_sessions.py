"""gateway.core.sessions: sessions written through to a real (SQLite) state store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.core.sessions import Saved, SessionBook
from gateway.core.store import StateStore
from gateway.core.stores import open_state_store
from gateway.errors import TemporarilyUnavailable


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    s = open_state_store(f"sqlite:///{tmp_path / 'state.db'}")
    yield s
    s.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_saved_sessions_load_back_for_their_own_front_and_workspace(store: StateStore) -> None:
    clock = Clock()
    book = SessionBook(store, shared=False, idle_s=100, clock=clock)

    async def scenario() -> None:
        saved = await book.save(Saved("s1", "rest", "ws", "ann", {"catalog": "main"}))
        assert (saved.created_at, saved.updated_at) == (1000.0, 1000.0)
        # another gateway, or this one after a restart: a book over the same store
        other = SessionBook(store, shared=True, idle_s=100, clock=clock)
        again = await other.load("s1", "rest", "ws")
        assert again == saved
        assert await other.load("s1", "thrift", "ws") is None  # another front's id space
        assert await other.load("s1", "rest", "other-ws") is None
        await other.drop("s1")
        assert await book.load("s1", "rest", "ws") is None

    asyncio.run(scenario())


def test_idle_sessions_expire_and_used_ones_are_touched(store: StateStore) -> None:
    clock = Clock()
    book = SessionBook(store, shared=False, idle_s=80, clock=clock)

    async def scenario() -> None:
        saved = await book.save(Saved("s1", "thrift", "ws", "ann"))
        await book.save(Saved("s2", "thrift", "ws", "ann"))
        clock.now += 5  # young: no write
        assert await book.touch(saved) is saved
        clock.now += 20  # past an eighth of the idle time: the stamp moves
        touched = await book.touch(saved)
        assert touched.updated_at == clock.now and touched.created_at == saved.created_at
        clock.now += 70  # s2 idle 95 s > 80: gone for every reader, and swept
        assert await book.load("s2", "thrift", "ws") is None
        assert await book.load("s1", "thrift", "ws") is not None
        assert await book.sweep() == 1
        assert store.get_session("s2") is None and store.get_session("s1") is not None

    asyncio.run(scenario())


def test_without_a_store_nothing_is_kept_and_a_failing_store_is_a_503(
        store: StateStore) -> None:
    async def scenario() -> None:
        memory = SessionBook(None, shared=True, idle_s=10)
        assert not memory.durable and not memory.shared
        await memory.save(Saved("s", "rest", "ws", "ann"))
        assert await memory.load("s", "rest", "ws") is None
        store.close()
        broken = SessionBook(store, shared=False, idle_s=10)
        store.put_session = _fail  # type: ignore[method-assign]
        with pytest.raises(TemporarilyUnavailable):
            await broken.save(Saved("s", "rest", "ws", "ann"))
        store.get_session = _fail  # type: ignore[method-assign]
        with pytest.raises(TemporarilyUnavailable):  # "retry", never "no such session"
            await broken.load("s", "rest", "ws")

    asyncio.run(scenario())


def _fail(*args: object) -> None:
    raise OSError("disk full")
