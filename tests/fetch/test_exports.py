"""The public surface of `fetch` is pinned: changing it is a deliberate act."""

import fetch


def test_all_is_pinned() -> None:
    assert sorted(fetch.__all__) == sorted([
        "LZ4_FRAME", "ChunkWriter", "DownloadError", "FetchError", "InvalidKey", "Link",
        "LinkRefused", "LocalStore", "ObjectNotFound", "ResultStore", "ResultTooLarge",
        "S3Store", "StoreIOError", "WriterClosed", "chunk_extension", "decompress_chunk",
        "download_arrow", "download_chunks", "open_store", "result_prefix", "rows_as_strings",
        "serialize_chunk",
    ])


def test_every_name_resolves() -> None:
    for name in fetch.__all__:
        assert getattr(fetch, name) is not None, name


def test_errors_share_one_root_with_codes() -> None:
    for name in ("DownloadError", "InvalidKey", "LinkRefused", "ObjectNotFound",
                 "ResultTooLarge", "StoreIOError", "WriterClosed"):
        cls = getattr(fetch, name)
        assert issubclass(cls, fetch.FetchError)
        assert cls.error_code.isupper() and 400 <= cls.http_status < 600
    assert fetch.LinkRefused.http_status == 403
    assert fetch.LinkRefused.error_code == "PERMISSION_DENIED"
