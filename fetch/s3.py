"""The S3 result store: chunks as objects, links as boto3 presigned GETs (SigV4).

`settings.results` is ``s3://bucket/prefix``; endpoint, keys and region come explicitly from
`FetchSettings` (``results_endpoint_url`` etc.), never from the ambient AWS environment, so an
S3-compatible server (MinIO, moto) works by configuration only. Presigned URLs need no
Authorization header: the signature is in the query string.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from fetch.errors import InvalidKey, ObjectNotFound, StoreIOError
from fetch.store import Link, ResultStore, check_key
from sqlgate.settings import FetchSettings

T = TypeVar("T")
_DELETE_BATCH = 1000  # the S3 DeleteObjects maximum


class S3Store(ResultStore):
    """Result chunks as objects under ``s3://bucket/prefix``."""

    def __init__(self, settings: FetchSettings) -> None:
        super().__init__(settings)
        bucket, _, prefix = settings.results.removeprefix("s3://").partition("/")
        if not bucket:
            raise InvalidKey(f"result store {settings.results!r} names no bucket")
        self.bucket = bucket
        self.base = prefix.strip("/") + "/" if prefix.strip("/") else ""
        config = Config(
            signature_version="s3v4",
            # Path style: custom endpoints (moto, MinIO) rarely resolve bucket subdomains.
            s3={"addressing_style": "path" if settings.results_endpoint_url else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=max(10, 2 * settings.upload_concurrency),
        )
        session = boto3.session.Session()  # private session: thread-safe client, no globals
        self._client: Any = session.client(
            "s3",
            endpoint_url=settings.results_endpoint_url,
            aws_access_key_id=settings.results_access_key_id,
            aws_secret_access_key=settings.results_secret_access_key,
            region_name=settings.results_region,
            config=config,
        )

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise ObjectNotFound(f"no result object ({what})") from exc
            raise StoreIOError(f"S3 {what} failed: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StoreIOError(f"S3 {what} failed: {exc}") from exc

    def put(self, key: str, data: bytes) -> None:
        """Upload one object."""
        full = self.base + check_key(key)
        self._call("put", lambda: self._client.put_object(Bucket=self.bucket, Key=full, Body=data))

    def get(self, key: str) -> bytes:
        """Download one object."""
        full = self.base + check_key(key)
        resp = self._call("get", lambda: self._client.get_object(Bucket=self.bucket, Key=full))
        return self._call("get", lambda: resp["Body"].read())

    def copy(self, src: str, dst: str) -> None:
        """A server-side copy (CopyObject): no bytes pass through the gateway."""
        source, target = self.base + check_key(src), self.base + check_key(dst)
        self._call("copy", lambda: self._client.copy_object(
            Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source}))

    def link(self, key: str, ttl_s: int | None = None) -> Link:
        """A presigned GET, valid for `ttl_s` seconds (default `link_ttl_s`)."""
        full = self.base + check_key(key)
        ttl = self._ttl(ttl_s)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        url = self._call(
            "presign",
            lambda: self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": full}, ExpiresIn=ttl
            ),
        )
        return Link(url=url, expiration=now + dt.timedelta(seconds=ttl))

    def _objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=self.base + prefix)
        try:
            for page in pages:
                yield from page.get("Contents", [])
        except (ClientError, BotoCoreError) as exc:
            raise StoreIOError(f"S3 list failed: {exc}") from exc

    def list_keys(self, prefix: str = "") -> list[str]:
        """Every key under `prefix` (relative to the store's prefix), sorted."""
        return sorted(obj["Key"][len(self.base):] for obj in self._objects(prefix))

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`."""
        check_key(prefix, prefix=True)
        return self._delete(obj["Key"] for obj in self._objects(prefix))

    def sweep(self, now: dt.datetime | None = None) -> int:
        """Delete objects whose LastModified is older than result_ttl_s."""
        cutoff = self._cutoff(now)
        return self._delete(o["Key"] for o in self._objects("") if o["LastModified"] < cutoff)

    def _delete(self, keys: Iterator[str]) -> int:
        count = 0
        batch: list[str] = []

        def flush() -> int:
            objects = [{"Key": k} for k in batch]
            resp = self._call(
                "delete",
                lambda: self._client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True}
                ),
            )
            errors = resp.get("Errors") or []
            if errors:
                raise StoreIOError(f"S3 delete failed for {len(errors)} object(s)")
            return len(objects)

        for key in keys:
            batch.append(key)
            if len(batch) == _DELETE_BATCH:
                count += flush()
                batch = []
        if batch:
            count += flush()
        return count

    def close(self) -> None:
        """Close the client's connection pool."""
        self._client.close()
