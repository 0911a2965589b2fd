"""Threads that make the pool's blocking worker calls for the event loop.

A statement's worker call blocks (the Flight client is synchronous), so it runs in a thread
and the loop awaits an asyncio future. `loop.run_in_executor` would wrap every call in a
`concurrent.futures.Future` (a `threading.Condition` with its lock, callbacks, a chained
asyncio future); a statement needs only the asyncio future, settled from the thread with
`call_soon_threadsafe`. On REST `SELECT 1` that wrapping was the single largest cost of the
hand-off (`sqlgate bench select1`).

    calls = CallThreads(max_threads=16)
    result = await calls.call(worker.run, task, call)
    calls.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Item = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


class CallThreads:
    """Up to `max_threads` daemon threads, started as calls need them, kept while idle."""

    def __init__(self, max_threads: int, name: str = "sqlgate-call") -> None:
        self._max = max(1, max_threads)
        self._name = name
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._closed = False

    def call(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Run ``fn(*args)`` in a thread; the future (of the running loop) gets its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._closed:
                raise RuntimeError("CallThreads is closed")
            if self._idle:
                self._idle -= 1  # that thread takes this call
            elif len(self._threads) < self._max:
                thread = threading.Thread(target=self._run, daemon=True,
                                          name=f"{self._name}-{len(self._threads)}")
                self._threads.append(thread)
                thread.start()
            # else: every thread is busy; the call waits in the queue for the first free one
        self._queue.put((loop, future, fn, args))
        return future

    def close(self) -> None:
        """Let the threads end once the calls already queued are made (does not wait)."""
        with self._lock:
            self._closed = True
            count = len(self._threads)
        for _ in range(count):
            self._queue.put(None)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            loop, future, fn, args = item
            try:
                result = fn(*args)
            except BaseException as exc:  # settled on the loop; the thread goes on
                self._settle(loop, future, None, exc)
            else:
                self._settle(loop, future, result, None)
            del item, future, fn, args
            with self._lock:
                self._idle += 1

    @staticmethod
    def _settle(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], result: Any,
                exc: BaseException | None) -> None:
        # (RuntimeError: the loop is closed; nobody waits for the answer any more)
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_set, future, result, exc)


def _set(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


__all__ = ["CallThreads"]
