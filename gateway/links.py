"""The route that serves the local result store's signed links: ``GET /_results/{key}``.

Mounted by the app only when the store is a `fetch.LocalStore` (S3 links go to S3 directly)::

    routes = [*rest_routes, *links_routes(store)]

A link needs no Authorization header: the HMAC signature and expiry in its query string are
the credential. A tampered, expired or unknown link gets 403 ``PERMISSION_DENIED`` and no data.
The file is streamed (FileResponse), never read whole into memory.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from fetch import FetchError, LocalStore, ResultStore
from fetch.serialize import media_type


class _ChunkFileResponse(FileResponse):
    # Starlette reads 64 KiB per thread hop; a 16 MiB chunk is then 256 hops and the link
    # route tops out near 600 MB/s on 2 cores. 1 MiB reads serve ~1.5 GB/s (bench fetch).
    chunk_size = 1024 * 1024


def links_routes(store: ResultStore) -> list[Route]:
    """The `/_results/{key}` route for a LocalStore; none for stores that presign themselves."""
    if not isinstance(store, LocalStore):
        return []
    local = store

    async def serve_result(request: Request) -> Response:
        key = request.path_params["key"]
        params = request.query_params
        try:
            # stat() and the signature check touch the disk: keep them off the event loop
            path = await run_in_threadpool(
                local.open_signed, key, params.get("expires"), params.get("sig")
            )
        except FetchError as exc:
            return JSONResponse(exc.body(), status_code=exc.http_status)
        return _ChunkFileResponse(
            path, media_type=media_type(path), headers={"Cache-Control": "private, no-store"}
        )

    return [Route("/_results/{key:path}", serve_result, methods=["GET", "HEAD"])]


__all__ = ["links_routes"]
