"""Where data file bytes come from: the seam between the I/O layer and a lake's storage.

`ObjectStore` is one small interface (`read_range`); `LocalStore` reads a local lake,
`S3Store` an S3-compatible one through `S3Client` (lean signed GETs, see `engine.io.s3http`).
Tests wrap a store to inject failures; callers never know which one they hold.

Every store raises `OSError` on failure; `read_with_retries` turns repeated failures into
one `LakeIOError` and never returns a short read as if it were data.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from urllib.parse import urlparse

from engine.errors import Cancelled, LakeIOError
from engine.io.s3http import S3Client
from sqlgate.settings import EngineSettings


class ObjectStore(ABC):
    """Reads byte ranges of immutable objects named by URI."""

    @abstractmethod
    def read_range(self, uri: str, size: int, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the object of ``size`` bytes; OSError when the read fails."""

    def close(self) -> None:
        """Release connections; the default store holds none."""
        return None


class LocalStore(ObjectStore):
    """A lake on a local (or mounted) file system."""

    def read_range(self, uri: str, size: int, start: int, end: int) -> bytes:
        with open(local_path(uri), "rb") as fh:
            fh.seek(start)
            return fh.read(end - start)


class S3Store(ObjectStore):
    """An S3-compatible store, reached with the explicit options from `EngineSettings`.

    Reads go through `S3Client` (signed ranged GETs over ``http.client``), not boto3: the
    Delta log already gives each object's size, so one GET per block is all a read needs, and
    botocore's per-request CPU was the scan's bottleneck (numbers in `engine.io.s3http`).
    """

    def __init__(self, settings: EngineSettings, max_connections: int = 16) -> None:
        endpoint = settings.lake_endpoint_url
        if endpoint and endpoint.startswith("http://") and not settings.lake_allow_http:
            raise LakeIOError(f"endpoint {endpoint} is plain http; set lake_allow_http")
        # Credentials come from the settings, never the environment.
        self._client = S3Client(
            endpoint,
            settings.lake_access_key_id,
            settings.lake_secret_access_key,
            settings.lake_region,
            max_idle=max(1, max_connections),
        )

    def read_range(self, uri: str, size: int, start: int, end: int) -> bytes:
        parsed = urlparse(uri)
        return self._client.get_range(parsed.netloc, parsed.path.lstrip("/"), size, start, end)

    def close(self) -> None:
        self._client.close()


def local_path(uri: str) -> str:
    """A local lake URI (plain path or file://) as a path."""
    return urlparse(uri).path if uri.startswith("file://") else uri


def is_remote(uri: str) -> bool:
    """True for object-store URIs (s3://...), false for local paths."""
    return "://" in uri and not uri.startswith("file://")


def open_store(settings: EngineSettings) -> ObjectStore:
    """The store for the lake named in the settings."""
    if is_remote(settings.lake):
        return S3Store(settings, max_connections=settings.prefetch_concurrency + 4)
    return LocalStore()


def read_with_retries(
    store: ObjectStore,
    uri: str,
    size: int,
    start: int,
    end: int,
    retries: int,
    cancelled: Callable[[], bool] = lambda: False,
    backoff_s: float = 0.05,
) -> bytes:
    """Read ``[start, end)`` trying up to ``retries + 1`` times; a short read counts as failure.

    Raises `LakeIOError` naming the object and range once the attempts are used up.
    """
    last: BaseException | None = None
    for attempt in range(retries + 1):
        if cancelled():
            raise Cancelled(f"read of {uri} cancelled")
        try:
            data = store.read_range(uri, size, start, end)
            if len(data) == end - start:
                return data
            last = OSError(f"short read: {len(data)} of {end - start} bytes")
        except OSError as exc:
            last = exc
        if attempt < retries:
            # Bounded exponential backoff: transient throttling clears, a dead store fails fast.
            _sleep(min(backoff_s * (2**attempt), 1.0), cancelled)
    raise LakeIOError(
        f"cannot read {uri} bytes {start}-{end} after {retries + 1} attempt(s): {last}"
    ) from last


def _sleep(seconds: float, cancelled: Callable[[], bool]) -> None:
    event = threading.Event()
    deadline = time.monotonic() + seconds
    while not cancelled() and time.monotonic() < deadline:
        event.wait(min(0.01, seconds))
