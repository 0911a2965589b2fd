"""The file system DuckDB reads through: an fsspec implementation backed by the prefetcher.

DuckDB 2.0 here has no httpfs extension, so it cannot open ``s3://`` itself. It can call a
Python fsspec file system registered with ``conn.register_filesystem``; with
``enable_external_access=false`` such a protocol is readable only when its prefix
(``lakeio://``) is in ``allowed_directories`` (measured: without it every read is refused).

A path names a file of a live scan: ``lakeio://<statement id>/<file index>/<file name>``.
Nothing is ever listed: `glob` and `info` answer from the scan's file list (sizes come from
the Delta log), and a path outside a live scan does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from engine.errors import Cancelled
from engine.io.cache import BlockKey
from engine.io.plan import DataFile, blocks_for_range, file_blocks
from engine.io.prefetch import Prefetcher, Scan

PROTOCOL = "lakeio"
PREFIX = f"{PROTOCOL}://"
# Blocks a reader of a multi-block file keeps: the footer plus the row group it is in.
_HELD_BLOCKS = 2
_IMMUTABLE = datetime(2000, 1, 1, tzinfo=UTC)


def scan_path(statement_id: str, index: int, file: DataFile) -> str:
    """The path DuckDB opens for file ``index`` of a statement's scan."""
    name = file.uri.rstrip("/").rsplit("/", 1)[-1]
    return f"{PREFIX}{quote(statement_id, safe='')}/{index}/{name}"


class LakeFileSystem(AbstractFileSystem):
    """Read-only fsspec file system over the prefetcher's scans."""

    protocol = PROTOCOL
    root_marker = ""
    cachable = False  # one instance per LakeIO; fsspec must not share it between them

    def __init__(self, prefetcher: Prefetcher, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.prefetcher = prefetcher

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        text = str(path)
        return text[len(PREFIX) :] if text.startswith(PREFIX) else text

    def resolve(self, path: str) -> tuple[Scan, DataFile]:
        """The scan and data file a path names; FileNotFoundError when none is live."""
        parts = self._strip_protocol(path).split("/", 2)
        if len(parts) >= 2 and parts[1].isdigit():
            statement_id = unquote(parts[0])
            scan = self.prefetcher.scan(statement_id)
            if scan is None and statement_id in self.prefetcher.recent_released:
                raise Cancelled(f"statement {statement_id} was cancelled")
            index = int(parts[1])
            if scan is not None and index < len(scan.files):
                return scan, scan.files[index]
        raise FileNotFoundError(path)

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """Size and type from the scan's file list, without touching the store."""
        _, file = self.resolve(path)
        return {"name": self._strip_protocol(path), "size": file.size, "type": "file"}

    def modified(self, path: str) -> datetime:
        """Delta data files never change once written, so one fixed time serves them all."""
        self.resolve(path)
        return _IMMUTABLE

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """Only single files: Delta names every file, so listing is never needed."""
        entry = self.info(path)
        return [entry] if detail else [entry["name"]]

    def glob(self, path: str, **kwargs: Any) -> list[str]:
        """A scan path matches itself; there are no patterns to expand."""
        try:
            self.resolve(path)
        except FileNotFoundError:
            return []
        return [path if path.startswith(PREFIX) else PREFIX + path]

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> LakeFile:
        if mode != "rb":
            raise PermissionError(f"{PREFIX} is read-only")
        scan, file = self.resolve(path)
        return LakeFile(self, path, scan, file, self.prefetcher.read_block)


class LakeFile(AbstractBufferedFile):
    """One open data file; every byte comes from `Prefetcher.read_block`."""

    def __init__(
        self,
        fs: LakeFileSystem,
        path: str,
        scan: Scan,
        file: DataFile,
        read_block: Callable[[Scan, BlockKey], bytes],
    ) -> None:
        self.scan = scan
        self.file = file
        self._read_block = read_block
        self._held: dict[BlockKey, bytes] = {}
        self._limit = 1 if len(file_blocks(file)) == 1 else _HELD_BLOCKS
        # fsspec's own caches would copy every block again; ours already hold them.
        super().__init__(fs, path, mode="rb", cache_type="none", size=file.size)

    def _block(self, key: BlockKey) -> bytes:
        data = self._held.get(key)
        if data is None:
            data = self._read_block(self.scan, key)
            if len(self._held) >= self._limit:
                # Keep the footer block of a big file: DuckDB returns to it per row group.
                victim = next(k for k in self._held if k.end != self.file.size or self._limit == 1)
                del self._held[victim]
            self._held[key] = data
        return data

    def _fetch_range(self, start: int, end: int) -> bytes:
        end = min(end, self.file.size)
        if start >= end:
            return b""
        parts = []
        for key in blocks_for_range(self.file, start, end):
            data = self._block(key)
            parts.append(data[max(start, key.start) - key.start : min(end, key.end) - key.start])
        return b"".join(parts)

    def close(self) -> None:
        self._held.clear()
        super().close()
