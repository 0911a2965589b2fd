"""Client side of Cloud Fetch: download a result's chunks in parallel, straight from storage.

::

    table = download_arrow(statement_id, host="http://127.0.0.1:8000", token="dapi...")
    table = download_arrow(w.statement_execution.get_statement(sid))  # + host/token to refresh
    for batch in download_arrow(links, reader=True): ...              # a RecordBatchReader

`source` is a statement id (fetched through the REST API), a StatementResponse (a dict, or a
databricks-sdk object with ``as_dict()``), or a list of links (`Link` or the API's
``external_links`` dicts) in chunk order. At most `max_in_flight` chunks are downloaded or held
at once and chunks are yielded in order. A failed GET is retried with backoff; a link that
has expired (or is refused with 4xx) is renewed through
``GET {host}/api/2.0/sql/statements/{id}/result/chunks/{n}`` with the Bearer token. The token
only ever goes to `host`: link GETs carry the link's own `http_headers` and no Authorization.

A statement still PENDING or RUNNING (say, a POST with ``wait_timeout: "0s"``) is downloaded
while it runs: chunk 0, 1, … are asked for through the chunk endpoint, which sqlgate answers
as soon as each chunk is stored, until the statement's manifest says where the result ends
(its FAILED or CANCELED error is raised as a DownloadError). That needs `host` and `token`.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pyarrow as pa

from fetch.errors import DownloadError
from fetch.serialize import LZ4_FRAME, decompress_chunk
from fetch.store import Link
from fetch.transport import LinkResponse, LinkTransport, TransportError

# Renew a link this close to expiry rather than race it (the SEA connector does the same).
EXPIRY_MARGIN_S = 5.0
_REFRESH_STATUS = frozenset({400, 401, 403, 404})
# A running statement's chunk is asked for again at most this often (servers that answer
# "not yet" at once; sqlgate waits for the chunk up to its chunk_wait_s).
_LIVE_POLL_S = 0.1
_LZ4_MAGIC = b"\x04\x22\x4d\x18"


@dataclass
class _Plan:
    """What to download: how many chunks, the links known so far, how to renew them.

    `count` is None while the statement still runs: links are then asked for chunk by
    chunk (`_Session.live_link`) until the ended statement's manifest gives the count.
    """

    count: int | None
    links: dict[int, Link] = field(default_factory=dict)
    statement_id: str | None = None
    compression: str | None = None


def parse_link(data: Mapping[str, Any]) -> tuple[int, Link]:
    """(chunk_index, Link) from one entry of the API's ``external_links``."""
    raw = str(data["expiration"]).replace("Z", "+00:00")
    expiration = dt.datetime.fromisoformat(raw)
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=dt.UTC)
    headers = {str(k): str(v) for k, v in (data.get("http_headers") or {}).items()}
    return int(data["chunk_index"]), Link(str(data["external_link"]), expiration, headers)


@dataclass(frozen=True)
class _Answer:
    """Status and body of one statement-API call."""

    status: int
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise DownloadError(f"the statement API answered with no JSON: {exc}") from exc

    @property
    def text(self) -> str:
        return self.body[:200].decode("utf-8", "replace")


class _Session:
    """The HTTP side: link GETs (no auth) and chunk-endpoint calls (Bearer token).

    Both go through one `LinkTransport` (http.client, kept-alive connections; a link's body
    lands in one buffer, no copies) unless the caller handed in its own httpx client, which
    then carries them all (proxies, mocks, auth hooks).
    """

    def __init__(
        self, host: str | None, token: str | None, timeout_s: float, http: httpx.Client | None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host.rstrip("/") if host else None
        self.token = token
        self.http = http
        self.transport = LinkTransport(timeout_s, ssl_context) if http is None else None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def api_call(self, path: str) -> _Answer:
        """GET an API path with the Bearer token; any HTTP answer is returned."""
        if not self.host:
            raise DownloadError("a host (and token) is needed to call the statement API")
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.transport is not None:
            try:
                return _Answer(*self.transport.call(self.host + path, headers))
            except TransportError as exc:
                raise DownloadError(f"GET {path} failed: {exc}") from exc
        assert self.http is not None
        try:
            resp = self.http.get(self.host + path, headers=headers)
        except httpx.HTTPError as exc:
            raise DownloadError(f"GET {path} failed: {exc}") from exc
        return _Answer(resp.status_code, resp.content)

    def api_get(self, path: str) -> dict[str, Any]:
        """GET an API path; anything but 200 is a DownloadError."""
        resp = self.api_call(path)
        if resp.status != 200:
            raise DownloadError(f"GET {path} answered {resp.status}: {resp.text}")
        body: dict[str, Any] = resp.json()
        return body

    def live_link(self, statement_id: str, index: int) -> Link | None:
        """Chunk `index` of a statement that may still be running; None past its last chunk.

        The gateway answers a chunk GET as soon as the worker stored that chunk (waiting a
        bounded time); "no result yet" means ask again while the statement runs.
        """
        path = f"/api/2.0/sql/statements/{statement_id}/result/chunks/{index}"
        while True:
            asked = time.monotonic()
            resp = self.api_call(path)
            if resp.status == 200:
                return _link_of(resp.json(), index)
            if resp.status not in (400, 404):
                raise DownloadError(f"GET {path} answered {resp.status}: {resp.text}")
            body = self.api_get(f"/api/2.0/sql/statements/{statement_id}")
            status = body.get("status") or {}
            state = status.get("state")
            if state == "SUCCEEDED":
                count = (body.get("manifest") or {}).get("total_chunk_count") or 0
                return self.fresh_link(statement_id, index) if index < int(count) else None
            if state not in ("PENDING", "RUNNING"):
                message = (status.get("error") or {}).get("message") or ""
                raise DownloadError(f"statement {statement_id} is {state}: {message}".rstrip())
            if time.monotonic() - asked < _LIVE_POLL_S:
                time.sleep(_LIVE_POLL_S)  # a server that does not wait for chunks: no spinning

    def fresh_link(self, statement_id: str | None, index: int) -> Link:
        if statement_id is None or not self.host:
            raise DownloadError(
                f"the link of chunk {index} expired or was refused, and no statement id and "
                "host were given to renew it"
            )
        body = self.api_get(f"/api/2.0/sql/statements/{statement_id}/result/chunks/{index}")
        return _link_of(body, index)

    def get_chunk(self, link: Link) -> LinkResponse:
        """One link GET; raises TransportError when no whole HTTP answer came back."""
        # Only the link's own headers: a bearer token must never reach the storage layer.
        headers = {k: v for k, v in link.headers.items() if k.lower() != "authorization"}
        if self.transport is not None:
            return self.transport.get(link.url, headers)
        assert self.http is not None
        try:
            resp = self.http.get(link.url, headers=headers)
        except httpx.HTTPError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        return LinkResponse(resp.status_code, resp.content if resp.status_code == 200 else b"")


def _link_of(body: Mapping[str, Any], index: int) -> Link:
    for entry in body.get("external_links") or []:
        got, link = parse_link(entry)
        if got == index:
            return link
    raise DownloadError(f"the chunk endpoint returned no link for chunk {index}")


def _plan(source: Any, session: _Session, compression: str | None) -> _Plan:
    if isinstance(source, str):
        source = session.api_get(f"/api/2.0/sql/statements/{source}")
    if hasattr(source, "as_dict"):
        source = source.as_dict()
    if isinstance(source, Mapping):
        state = (source.get("status") or {}).get("state")
        if state in ("PENDING", "RUNNING") and source.get("statement_id") and session.host:
            # Still running: download the chunks stored so far while the rest is written.
            return _Plan(count=None, statement_id=source["statement_id"],
                         compression=compression)
        if state not in (None, "SUCCEEDED"):
            raise DownloadError(f"statement is {state}, not SUCCEEDED")
        manifest = source.get("manifest") or {}
        count = manifest.get("total_chunk_count")
        if count is None:
            count = len(manifest.get("chunks") or [])
        links = dict(parse_link(e) for e in (source.get("result") or {}).get("external_links")
                     or [])
        return _Plan(
            count=int(count), links=links, statement_id=source.get("statement_id"),
            compression=compression or manifest.get("result_compression"),
        )
    if isinstance(source, Sequence):
        links = {}
        for position, entry in enumerate(source):
            if isinstance(entry, Link):
                links[position] = entry
            else:
                index, link = parse_link(entry)
                links[index] = link
        return _Plan(count=len(links), links=links, compression=compression)
    raise TypeError(f"cannot download from {type(source).__name__}")


def _download_one(
    session: _Session, plan: _Plan, index: int, retries: int, backoff_s: float
) -> bytes | bytearray | pa.Buffer:
    link = plan.links.get(index)
    failure = "no attempt"
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff_s * 2 ** (attempt - 1))
        if link is None or link.expired(margin_s=EXPIRY_MARGIN_S):
            link = session.fresh_link(plan.statement_id, index)
        try:
            resp = session.get_chunk(link)
        except TransportError as exc:
            failure = str(exc)
            continue
        if resp.status == 200:
            try:
                return decompress_chunk(resp.body, plan.compression or _sniff(plan, resp.body))
            except RuntimeError as exc:  # lz4 reports a corrupt frame as RuntimeError
                failure = f"corrupt chunk: {exc}"
                continue
        failure = f"HTTP {resp.status}"
        if resp.status in _REFRESH_STATUS:
            link = None
            if plan.statement_id is None or not session.host:
                break  # nothing to renew the link with; retrying the same URL cannot help
    raise DownloadError(f"chunk {index} could not be downloaded ({failure})")


def _sniff(plan: _Plan, body: bytes | bytearray | pa.Buffer) -> str | None:
    """LZ4_FRAME when a running statement's chunk starts with the LZ4 frame magic number.

    The manifest (and its result_compression) comes only when the statement ends; an Arrow
    IPC stream starts with 0xFFFFFFFF, CSV and JSON with text, so the magic cannot be
    mistaken.
    """
    if plan.count is None and memoryview(body)[:4].tobytes() == _LZ4_MAGIC:
        return LZ4_FRAME
    return None


def _download_live(
    session: _Session, plan: _Plan, index: int, retries: int, backoff_s: float
) -> bytes | bytearray | pa.Buffer | None:
    """Chunk `index` of a running statement once it is stored; None if there is no such chunk."""
    assert plan.statement_id is not None
    link = session.live_link(plan.statement_id, index)
    if link is None:
        return None
    plan.links[index] = link
    return _download_one(session, plan, index, retries, backoff_s)


def download_chunks(
    source: Any,
    *,
    host: str | None = None,
    token: str | None = None,
    statement_id: str | None = None,
    compression: str | None = None,
    max_in_flight: int = 4,
    retries: int = 3,
    backoff_s: float = 0.2,
    timeout_s: float = 60.0,
    http: httpx.Client | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> Iterator[bytes | bytearray | pa.Buffer]:
    """Each chunk's (decompressed) bytes, in chunk order, downloaded `max_in_flight` at a time.

    A chunk comes as the buffer it was received into (no copy) or ``bytes``.
    `ssl_context` verifies https links and API calls (default: the system's trust store).
    """
    if max_in_flight <= 0:
        raise ValueError("max_in_flight must be positive")
    session = _Session(host, token, timeout_s, http, ssl_context)
    pool = ThreadPoolExecutor(max_in_flight, thread_name_prefix="chunk-download")
    try:
        plan = _plan(source, session, compression)
        if statement_id is not None:
            plan.statement_id = statement_id
        window: deque[Future[bytes | bytearray | pa.Buffer | None]] = deque()
        live = plan.count is None
        ended = False  # a live download learnt where the result ends
        submitted = 0
        while window or not ended:
            while not ended and len(window) < max_in_flight:
                if not live and submitted >= (plan.count or 0):
                    ended = True
                    break
                step = _download_live if live else _download_one
                window.append(pool.submit(step, session, plan, submitted, retries, backoff_s))
                submitted += 1
            if not window:
                break
            data = window.popleft().result()
            if data is None:
                ended = True  # past the last chunk; the rest of the window is past it too
                continue
            yield data
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        session.close()


def download_arrow(
    source: Any,
    *,
    reader: bool = False,
    schema: pa.Schema | None = None,
    **options: Any,
) -> pa.Table | pa.RecordBatchReader:
    """An ARROW_STREAM result as a Table (or a RecordBatchReader with ``reader=True``).

    Options are those of `download_chunks` (host, token, statement_id, compression,
    max_in_flight, retries, timeout_s, http, ssl_context). `schema` is used when there are
    no chunks. The batches' buffers are the received chunk buffers themselves (no copy).
    """
    chunks = download_chunks(source, **options)

    def batches(first: pa.RecordBatchStreamReader | None) -> Iterator[pa.RecordBatch]:
        if first is not None:
            yield from first
        for data in chunks:
            yield from pa.ipc.open_stream(pa.py_buffer(data))

    try:
        first = pa.ipc.open_stream(pa.py_buffer(next(chunks)))
    except StopIteration:
        first = None
    except pa.ArrowInvalid as exc:
        raise DownloadError(f"chunk 0 is not an Arrow IPC stream: {exc}") from exc
    result_schema = first.schema if first is not None else (schema or pa.schema([]))
    if reader:
        return pa.RecordBatchReader.from_batches(result_schema, batches(first))
    try:
        return pa.Table.from_batches(list(batches(first)), result_schema)
    except pa.ArrowInvalid as exc:
        raise DownloadError(f"a chunk is not a valid Arrow IPC stream: {exc}") from exc
