"""The result-store seam: one small interface; a local directory and S3 implement it.

Callers hold a `ResultStore` and never know which one (fetch/stores.py picks it)::

    store = open_store(settings.fetch)          # LocalStore or S3Store, by `settings.results`
    prefix = result_prefix("default", "01ef-statement")
    store.put(f"{prefix}0.arrow", data)
    link = store.link(f"{prefix}0.arrow")       # Link(url, expiration, headers), no auth needed
    store.delete_prefix(prefix)                 # statement closed, cancelled or failed
    store.sweep()                               # results older than result_ttl_s, orphans too

Keys look like ``<workspace>/<yyyymmdd>/<statement_id>-<random>/<chunk_index>.<ext>``: scoped
per workspace, unguessable (128 random bits), and sweepable by age from the object's own
modification time, so no database is needed to find leftovers after a restart.
"""

from __future__ import annotations

import abc
import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa

from fetch.errors import InvalidKey
from sqlgate.settings import FetchSettings

# A workspace or statement id becomes one path segment: keep it to a safe alphabet.
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_KEY_PART = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class Link:
    """A presigned or signed URL for one object; send `headers` and no Authorization."""

    url: str
    expiration: dt.datetime
    headers: dict[str, str] = field(default_factory=dict, hash=False)

    def expired(self, now: dt.datetime | None = None, margin_s: float = 0.0) -> bool:
        """True when the link is past (or within `margin_s` of) its expiration."""
        now = now or dt.datetime.now(dt.UTC)
        return now + dt.timedelta(seconds=margin_s) >= self.expiration

    def expiration_text(self) -> str:
        """The expiration as ISO-8601 UTC with ``Z``, as the API renders it."""
        return self.expiration.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class ResultStore(abc.ABC):
    """Where result chunks live. Implementations are safe to call from several threads."""

    def __init__(self, settings: FetchSettings) -> None:
        self.settings = settings

    @abc.abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key` (replacing any object there)."""

    def put_stream(self, key: str, fill: Callable[[pa.NativeFile], None]) -> int:
        """Store under `key` whatever `fill` writes to the sink it is given; returns the size.

        The default collects the bytes in memory and calls `put`; stores that can write an
        object incrementally (the local directory) override it so a chunk is serialized
        straight into place without a copy in between. If `fill` raises, nothing is stored.

        >>> import tempfile
        >>> from fetch.local import LocalStore
        >>> store = LocalStore(FetchSettings(results=tempfile.mkdtemp()))
        >>> store.put_stream("ws/d/s-1/0.csv", lambda sink: sink.write(b"a\\r\\n"))
        3
        """
        sink = pa.BufferOutputStream()
        fill(sink)
        data = sink.getvalue().to_pybytes()
        self.put(key, data)
        return len(data)

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """The bytes under `key`; raises ObjectNotFound when there are none."""

    def copy(self, src: str, dst: str) -> None:
        """Store the object under `src` under `dst` as well (ObjectNotFound when `src` is
        gone). The result cache gives a statement answered from it its own copy of the
        chunks, so closing either statement never deletes the other's. This default reads
        the object through memory (one chunk); stores copy in place where they can."""
        self.put(dst, self.get(src))

    @abc.abstractmethod
    def link(self, key: str, ttl_s: int | None = None) -> Link:
        """A URL anyone may GET for `ttl_s` seconds (default `link_ttl_s`)."""

    @abc.abstractmethod
    def list_keys(self, prefix: str = "") -> list[str]:
        """Every key under `prefix` (bounded by the store's own listing)."""

    @abc.abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`; returns how many were deleted."""

    @abc.abstractmethod
    def sweep(self, now: dt.datetime | None = None) -> int:
        """Delete results older than `result_ttl_s`; returns how many objects went."""

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing
        """Release clients and connections."""

    def _ttl(self, ttl_s: int | None) -> int:
        ttl = self.settings.link_ttl_s if ttl_s is None else int(ttl_s)
        if ttl <= 0:
            raise InvalidKey(f"link ttl must be positive, got {ttl}")
        return ttl

    def _cutoff(self, now: dt.datetime | None) -> dt.datetime:
        now = now or dt.datetime.now(dt.UTC)
        return now - dt.timedelta(seconds=self.settings.result_ttl_s)


def result_prefix(workspace: str, statement_id: str, now: dt.datetime | None = None) -> str:
    """A fresh, unguessable key prefix (ending in ``/``) for one statement's chunks.

    >>> result_prefix("default", "s1", dt.datetime(2024, 5, 1, tzinfo=dt.UTC))[:20]
    'default/20240501/s1-'
    """
    for name, value in (("workspace", workspace), ("statement id", statement_id)):
        if not _SEGMENT.match(value):
            raise InvalidKey(f"{name} {value!r} is not a valid key segment")
    day = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d")
    return f"{workspace}/{day}/{statement_id}-{secrets.token_hex(16)}/"


def check_key(key: str, *, prefix: bool = False) -> str:
    """Refuse keys that are empty, absolute, or contain ``..`` or odd characters."""
    body = key[:-1] if prefix and key.endswith("/") else key
    parts = body.split("/")
    if not body or any(p in ("", ".", "..") or not _KEY_PART.match(p) for p in parts):
        raise InvalidKey(f"invalid result key {key!r}")
    return key
