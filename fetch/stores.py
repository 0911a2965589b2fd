"""Which result store a deployment uses: the one place that knows the implementations.

fetch/store.py is the interface only; fetch/local.py and fetch/s3.py implement it. Picking
one here (not in the interface module) keeps the implementations' import of the interface
from running back into a circle.
"""

from __future__ import annotations

from fetch.local import LocalStore
from fetch.store import ResultStore
from sqlgate.settings import FetchSettings


def open_store(settings: FetchSettings) -> ResultStore:
    """The store named by `settings.results`: ``s3://bucket/prefix`` or a local directory."""
    if settings.results.startswith("s3://"):
        # Imported here so the gateway (which may never import boto3) can use the local store.
        from fetch.s3 import S3Store

        return S3Store(settings)
    return LocalStore(settings)


__all__ = ["open_store"]
