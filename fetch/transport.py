"""HTTP for the download client: http.client, each chunk body read into one buffer.

httpx reads a body in 64 KiB pieces through h11 and joins them: for a 1 GB result that is
~16,000 Python-level events and a second copy of every byte, and it capped a parallel
download at ~1 GB/s on 2 cores (bench fetch). Here each chunk is one Arrow buffer of its
Content-Length, filled by ``readinto`` (large ``recv_into`` calls that release the GIL) and
handed to Arrow without a copy. The buffer comes from jemalloc, uninitialised: a ``bytearray``
zero-fills first, and mimalloc faulted fresh pages in so slowly that a first 1 GB download
took 1.4 s (jemalloc 0.45 s, bytearray 0.6 s, jemalloc once warm 0.28 s; /tmp microbench of
62 x 16 MiB sendfile -> recv_into, 4 threads). Connections are kept alive per thread and per
origin.

The same connections carry the client's statement-API calls (`LinkTransport.call`: small JSON
answers read whole, whatever the status): an httpx call cost the client 0.29 ms of CPU against
0.07 ms here, and building an httpx client builds a TLS context (~17 ms) even for plain-HTTP
hosts. One TLS context is made, on the first https connection, and shared.

>>> transport = LinkTransport(timeout_s=5.0)
>>> transport.close()
"""

from __future__ import annotations

import http.client
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import pyarrow as pa

# The most bytes one chunk may have: the API's chunks are MBs to a few hundred MBs.
MAX_CHUNK_BYTES = 4 * 1024**3
# A refusal's body is read (so the connection stays usable) up to this much, then dropped.
_ERROR_BODY_BYTES = 64 * 1024
# The most bytes of a statement-API answer (`call`): a chunk answer lists a few links.
MAX_API_BYTES = 16 * 1024 * 1024
_T = TypeVar("_T")
# A connection that sat idle may have been closed by the server: these mean "try afresh".
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def _pool() -> pa.MemoryPool:
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:
        return pa.system_memory_pool()


# Where received chunks live (jemalloc: uninitialised, fast to fault in; see above). Public
# so a measurement of the same receive path (bench/fetch_floor.py) allocates alike.
RECEIVE_POOL = _pool()


class TransportError(Exception):
    """A link GET failed below HTTP (connect, TLS, reset, short or oversized body)."""


@dataclass(frozen=True)
class LinkResponse:
    """Status and body of one link GET (the body is empty unless the status is 200)."""

    status: int
    body: bytes | bytearray | pa.Buffer


_Origin = tuple[str, str, int | None]
_Conns = dict[_Origin, http.client.HTTPConnection]


class LinkTransport:
    """Plain GETs with keep-alive connections per thread; safe to share between threads."""

    def __init__(
        self, timeout_s: float, ssl_context: ssl.SSLContext | None = None,
        max_chunk_bytes: int = MAX_CHUNK_BYTES,
    ) -> None:
        self.timeout_s = timeout_s
        self.ssl_context = ssl_context
        self.max_chunk_bytes = max_chunk_bytes
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def get(self, url: str, headers: dict[str, str]) -> LinkResponse:
        """GET a link; raises TransportError when no HTTP answer came back whole."""
        return self._request(url, headers, self._exchange)

    def call(self, url: str, headers: dict[str, str]) -> tuple[int, bytes]:
        """GET an API URL: (status, whole body) for any status, the body at most MAX_API_BYTES.

        Raises TransportError when no HTTP answer came back whole.
        """
        return self._request(url, headers, _read_answer)

    def _request(
        self, url: str, headers: dict[str, str],
        exchange: Callable[[http.client.HTTPConnection, str, dict[str, str]], _T],
    ) -> _T:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TransportError(f"not an http(s) link: {url[:80]!r}")
        origin = (parts.scheme, parts.hostname, parts.port)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conns: _Conns = getattr(self._local, "conns", None) or {}
        self._local.conns = conns
        reused = origin in conns
        conn = conns.get(origin) or self._connect(origin, conns)
        try:
            try:
                return exchange(conn, target, headers)
            except _STALE:
                if not reused:
                    raise
                # Kept-alive connection closed by the server while idle: once more, afresh.
                self._drop(origin, conns)
                conn = self._connect(origin, conns)
                return exchange(conn, target, headers)
        except (OSError, http.client.HTTPException, TransportError) as exc:
            self._drop(origin, conns)
            if isinstance(exc, TransportError):
                raise
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        """Close every connection any thread opened."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()

    def _connect(self, origin: _Origin, conns: _Conns) -> http.client.HTTPConnection:
        scheme, host, port = origin
        conn: http.client.HTTPConnection
        if scheme == "https":
            with self._lock:
                # Loading the trust store takes ~17 ms: once per transport, not per thread.
                if self.ssl_context is None:
                    self.ssl_context = ssl.create_default_context()
                context = self.ssl_context
            conn = http.client.HTTPSConnection(host, port, timeout=self.timeout_s,
                                               context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout_s)
        conns[origin] = conn
        with self._lock:
            self._all.append(conn)
        return conn

    def _drop(self, origin: _Origin, conns: _Conns) -> None:
        conn = conns.pop(origin, None)
        if conn is not None:
            conn.close()
            with self._lock:
                if conn in self._all:
                    self._all.remove(conn)

    def _exchange(
        self, conn: http.client.HTTPConnection, target: str, headers: dict[str, str]
    ) -> LinkResponse:
        conn.request("GET", target, headers=headers)
        resp = conn.getresponse()
        if resp.status != 200:
            resp.read(_ERROR_BODY_BYTES)
            if not resp.isclosed():
                conn.close()  # a long refusal body: not worth draining, reconnect next time
            return LinkResponse(resp.status, b"")
        length = resp.getheader("Content-Length")
        if length is None:  # chunked transfer: no size to allocate up front
            body = resp.read(self.max_chunk_bytes + 1)
            if len(body) > self.max_chunk_bytes:
                raise TransportError(f"chunk larger than {self.max_chunk_bytes} bytes")
            return LinkResponse(200, body)
        size = int(length)
        if size > self.max_chunk_bytes:
            raise TransportError(f"chunk of {size} bytes is over {self.max_chunk_bytes}")
        # Arrow's allocator hands back pooled memory without zero-filling it: a bytearray
        # would memset (and page-fault) every byte once more before the socket fills it.
        buf = pa.allocate_buffer(size, memory_pool=RECEIVE_POOL)
        got = fill(resp.readinto, memoryview(buf).cast("B"))
        if got < size:
            raise TransportError(f"connection closed after {got} of {size} bytes")
        return LinkResponse(200, buf)


def fill(read_into: Callable[[memoryview], int | None], view: memoryview) -> int:
    """Call `read_into` on the unfilled rest of `view` until it is full or reads nothing.

    Returns the bytes read: fewer than ``len(view)`` means the peer closed the stream early.
    """
    got = 0
    while got < len(view):
        n = read_into(view[got:])
        if not n:
            break
        got += n
    return got


def _read_answer(
    conn: http.client.HTTPConnection, target: str, headers: dict[str, str]
) -> tuple[int, bytes]:
    conn.request("GET", target, headers=headers)
    resp = conn.getresponse()
    body = resp.read(MAX_API_BYTES + 1)
    if len(body) > MAX_API_BYTES:
        raise TransportError(f"API answer larger than {MAX_API_BYTES} bytes")
    return resp.status, body


__all__ = [
    "MAX_API_BYTES", "MAX_CHUNK_BYTES", "RECEIVE_POOL", "LinkResponse", "LinkTransport",
    "TransportError", "fill",
]
