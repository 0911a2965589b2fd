"""A lean S3 GET client: SigV4-signed ranged GETs over pooled keep-alive HTTP connections.

Why not boto3 for the data path: measured on 1,000 whole-file GETs of ~1 MB through the
benchmark's 20 ms proxy, 64 threads, botocore spent 1.6 s of CPU (its event pipeline and
chunked body reads hold the GIL) where `http.client` reading each body with one C-level
``read(n)`` spent 0.46 s, and the wall time fell from 2.5 s to 1.35 s. The scan competes with
these threads for the GIL, so client CPU is scan time.

Only what the I/O layer needs: GET of one byte range of one object whose size the Delta log
gave us. Every answer is checked against the range asked for (``Content-Range``; a server
that ignores ``Range`` answers 200 with the whole object, and then the range is cut out of
it), and against that size, so a wrong or stale answer is an `OSError`, never wrong bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import re
import ssl
import threading
from datetime import UTC, datetime
from urllib.parse import quote, urlparse

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
# Bytes of an error answer kept for the message; the rest of the body is not read.
_ERROR_BODY = 4096
_SKIP_CHUNK = 1024 * 1024

Connection = http.client.HTTPConnection


class S3Client:
    """Signed ranged GETs against one endpoint; thread-safe, at most ``max_idle`` idle sockets.

    ``endpoint`` None means AWS itself (virtual-hosted buckets in ``region``); any other
    endpoint is addressed path-style (``/<bucket>/<key>``), as S3-compatible servers expect.
    """

    def __init__(
        self,
        endpoint: str | None,
        access_key_id: str | None,
        secret_access_key: str | None,
        region: str,
        *,
        max_idle: int = 16,
        timeout_s: float = 60.0,
    ) -> None:
        self.region = region
        self._key_id = access_key_id or ""
        self._secret = secret_access_key or ""
        self._timeout_s = timeout_s
        self._max_idle = max(1, max_idle)
        self._idle: list[tuple[str, Connection]] = []
        self._lock = threading.Lock()
        self._signing: tuple[str, bytes] = ("", b"")
        if endpoint:
            parsed = urlparse(endpoint)
            self._scheme = parsed.scheme or "https"
            self._netloc = parsed.netloc
            self._path_style = True
        else:
            self._scheme = "https"
            self._netloc = f"s3.{region}.amazonaws.com"
            self._path_style = False
        self._tls = ssl.create_default_context() if self._scheme == "https" else None

    def get_range(self, bucket: str, key: str, size: int, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of ``bucket/key`` (an object of ``size`` bytes).

        Raises OSError for any failure, including an answer that does not match the range or
        the size; the caller decides about retries.
        """
        host, path = self._address(bucket, key)
        headers = self._sign(host, path, f"bytes={start}-{end - 1}")
        conn, reused = self._take(host)
        try:
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                if not reused:
                    raise
                # The server closed an idle keep-alive socket: one fresh attempt, not a retry.
                conn.close()
                conn, reused = self._new(host), False
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
            data, reusable = _read_range(response, size, start, end)
        except http.client.HTTPException as exc:
            conn.close()
            raise OSError(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        if reusable:
            self._give(host, conn)
        else:
            conn.close()
        return data

    def close(self) -> None:
        """Close the idle connections (connections in use close when their read ends)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for _, conn in idle:
            conn.close()

    # connections

    def _new(self, host: str) -> Connection:
        if self._tls is not None:
            return http.client.HTTPSConnection(host, timeout=self._timeout_s, context=self._tls)
        return http.client.HTTPConnection(host, timeout=self._timeout_s)

    def _take(self, host: str) -> tuple[Connection, bool]:
        with self._lock:
            for i in range(len(self._idle) - 1, -1, -1):
                if self._idle[i][0] == host:
                    return self._idle.pop(i)[1], True
        return self._new(host), False

    def _give(self, host: str, conn: Connection) -> None:
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append((host, conn))
                return
        conn.close()

    # signing (AWS Signature Version 4, header form)

    def _address(self, bucket: str, key: str) -> tuple[str, str]:
        quoted = quote(key, safe="/-_.~")
        if self._path_style or "." in bucket:  # dotted names break the TLS wildcard
            return self._netloc, f"/{bucket}/{quoted}"
        return f"{bucket}.{self._netloc}", f"/{quoted}"

    def _sign(self, host: str, path: str, byte_range: str) -> dict[str, str]:
        now = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        headers = {
            "host": host,
            "range": byte_range,
            "x-amz-content-sha256": _EMPTY_SHA256,
            "x-amz-date": now,
        }
        if not self._key_id:
            return headers  # anonymous access to a public bucket
        names = ";".join(headers)  # already in sorted order
        canonical = "\n".join([
            "GET", path, "", "".join(f"{k}:{v}\n" for k, v in headers.items()), names,
            _EMPTY_SHA256,
        ])
        scope = f"{now[:8]}/{self.region}/s3/aws4_request"
        to_sign = "\n".join([
            "AWS4-HMAC-SHA256", now, scope, hashlib.sha256(canonical.encode()).hexdigest()
        ])
        signature = hmac.new(self._key(now[:8]), to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self._key_id}/{scope}, "
            f"SignedHeaders={names}, Signature={signature}"
        )
        return headers

    def _key(self, day: str) -> bytes:
        cached_day, key = self._signing
        if cached_day != day:
            key = f"AWS4{self._secret}".encode()
            for part in (day, self.region, "s3", "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._signing = (day, key)
        return key


def _read_range(response: http.client.HTTPResponse, size: int, start: int,
                end: int) -> tuple[bytes, bool]:
    """The asked-for bytes out of a response, and whether its connection can be reused."""
    if response.status not in (200, 206):
        body = response.read(_ERROR_BODY)
        code = re.search(rb"<Code>([^<]+)</Code>", body)
        detail = code.group(1).decode(errors="replace") if code else body[:200].decode(
            errors="replace")
        raise OSError(f"HTTP {response.status} {response.reason}: {detail}")
    first, last, total = _served_range(response, size)
    if total != size:
        raise OSError(f"object is {total} bytes, the Delta log says {size}: not the same object")
    if first > start or last < end - 1:
        raise OSError(f"asked for bytes {start}-{end - 1}, the server sent {first}-{last}")
    skip = start - first
    while skip:  # only when the server ignored the range: read past what precedes it
        chunk = response.read(min(skip, _SKIP_CHUNK))
        if not chunk:
            break
        skip -= len(chunk)
    data = response.read(end - start)
    if len(data) != end - start:
        raise OSError(f"short read: {len(data)} of {end - start} bytes")
    # Unread bytes after the range make the socket unusable for the next request.
    return data, last == end - 1 and not response.will_close


def _served_range(response: http.client.HTTPResponse, size: int) -> tuple[int, int, int]:
    """``(first, last, total)`` of the bytes a 200/206 answer carries."""
    header = response.getheader("Content-Range")
    if header:
        match = _CONTENT_RANGE.fullmatch(header.strip())
        if match is None:
            raise OSError(f"unreadable Content-Range {header!r}")
        first, last = int(match.group(1)), int(match.group(2))
        total = size if match.group(3) == "*" else int(match.group(3))
        return first, last, total
    if response.status == 206:
        raise OSError("a 206 answer without Content-Range")
    # 200 without Content-Range: the whole object; its length must be the object's size.
    length = response.getheader("Content-Length")
    total = int(length) if length is not None and length.isdigit() else -1
    return 0, total - 1, total
