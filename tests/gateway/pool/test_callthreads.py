"""gateway.pool.callthreads: blocking calls in bounded threads, answered on the loop."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from gateway.pool.callthreads import CallThreads


async def _test_a_call_answers_its_result_and_raises_its_error() -> None:
    calls = CallThreads(2)
    try:
        assert await calls.call(lambda a, b: a + b, 2, 3) == 5

        def fail() -> None:
            raise ValueError("boom")

        with pytest.raises(ValueError, match="boom"):
            await calls.call(fail)
        # the thread that raised goes on serving
        assert await calls.call(threading.current_thread) is not threading.current_thread()
    finally:
        calls.close()


async def _test_threads_are_bounded_and_reused() -> None:
    calls = CallThreads(2)
    seen: set[str] = set()
    running = 0
    most = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            seen.add(threading.current_thread().name)
        time.sleep(0.05)
        with lock:
            running -= 1

    try:
        await asyncio.gather(*(calls.call(work) for _ in range(6)))
        assert most == 2  # two at a time, the rest waited in the queue
        assert len(seen) == 2
        for _ in range(5):  # sequential calls reuse an idle thread, start none
            await calls.call(work)
        assert len(seen) == 2
    finally:
        calls.close()


async def _test_a_cancelled_wait_leaves_the_call_to_finish() -> None:
    calls = CallThreads(1)
    release = threading.Event()
    try:
        fut = calls.call(release.wait, 5.0)
        fut.cancel()
        release.set()
        # the thread finished the call without error and is free for the next one
        assert await asyncio.wait_for(calls.call(lambda: "next"), 5.0) == "next"
    finally:
        calls.close()


async def _test_close_ends_the_threads_and_refuses_new_calls() -> None:
    calls = CallThreads(3, name="test-close-calls")  # (other tests' threads may linger)
    await asyncio.gather(*(calls.call(time.sleep, 0.01) for _ in range(3)))
    threads = [t for t in threading.enumerate() if t.name.startswith("test-close-calls")]
    assert threads
    calls.close()
    with pytest.raises(RuntimeError):
        calls.call(time.sleep, 0)
    for t in threads:
        t.join(timeout=5.0)
    assert not any(t.is_alive() for t in threads)


def test_a_call_answers_its_result_and_raises_its_error() -> None:
    asyncio.run(asyncio.wait_for(_test_a_call_answers_its_result_and_raises_its_error(), 30))


def test_threads_are_bounded_and_reused() -> None:
    asyncio.run(asyncio.wait_for(_test_threads_are_bounded_and_reused(), 30))


def test_a_cancelled_wait_leaves_the_call_to_finish() -> None:
    asyncio.run(asyncio.wait_for(_test_a_cancelled_wait_leaves_the_call_to_finish(), 30))


def test_close_ends_the_threads_and_refuses_new_calls() -> None:
    asyncio.run(asyncio.wait_for(_test_close_ends_the_threads_and_refuses_new_calls(), 30))
