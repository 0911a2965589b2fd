"""Where data file bytes come from: the seam between the I/O layer and a lake's storage.

`ObjectStore` is one small interface (`read_range`); `LocalStore` reads a local lake,
`S3Store` an S3-compatible one through pyarrow's native S3 client (which releases the GIL,
so range reads from a thread pool really run in parallel). Tests wrap a store to inject
failures; callers never know which one they hold.

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

    botocore rather than pyarrow's S3 client: pyarrow's Python API cannot open an object
    with a known size, so every read there costs a HEAD plus a GET, two round trips where
    the Delta log already told us the size.
    """

    def __init__(self, settings: EngineSettings, max_connections: int = 16) -> None:
        import boto3
        from botocore.config import Config

        endpoint = settings.lake_endpoint_url
        if endpoint and endpoint.startswith("http://") and not settings.lake_allow_http:
            raise LakeIOError(f"endpoint {endpoint} is plain http; set lake_allow_http")
        # A private session: credentials come from the settings, never the environment.
        session = boto3.session.Session(
            aws_access_key_id=settings.lake_access_key_id,
            aws_secret_access_key=settings.lake_secret_access_key,
            region_name=settings.lake_region,
        )
        self._client = session.client(
            "s3",
            endpoint_url=endpoint,
            config=Config(
                # Our own retry loop decides; botocore's would multiply the attempts.
                retries={"max_attempts": 1, "mode": "standard"},
                max_pool_connections=max(1, max_connections),
                connect_timeout=10,
                read_timeout=60,
            ),
        )

    def read_range(self, uri: str, size: int, start: int, end: int) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        parsed = urlparse(uri)
        try:
            response = self._client.get_object(
                Bucket=parsed.netloc, Key=parsed.path.lstrip("/"), Range=f"bytes={start}-{end - 1}"
            )
            with response["Body"] as body:
                data: bytes = body.read()
        except (BotoCoreError, ClientError) as exc:
            raise OSError(f"{type(exc).__name__}: {exc}") from exc
        return data

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
