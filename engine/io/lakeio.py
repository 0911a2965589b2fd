"""`LakeIO`: the one object the engine holds for reading a lake's data files.

For a local lake it does nothing clever: DuckDB reads the paths directly. For an object-store
lake it registers the ``lakeio://`` file system in DuckDB, hands out one ``lakeio://`` path
per data file, and fetches blocks ahead of the scan into memory and the on-disk block cache.

>>> from sqlgate.settings import EngineSettings
>>> io = LakeIO(EngineSettings(lake="/tmp/lake", cache_bytes=0))
>>> io.scan_paths("s1", [DataFile("/tmp/lake/a.parquet", 10)])
['/tmp/lake/a.parquet']
>>> io.close()
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from engine.errors import EngineError
from engine.io.cache import BlockCache, CacheStats
from engine.io.fs import PREFIX, LakeFileSystem, scan_path
from engine.io.plan import DataFile, file_blocks
from engine.io.prefetch import IOStats, Prefetcher
from engine.io.store import ObjectStore, is_remote, local_path, open_store
from sqlgate.settings import EngineSettings


class LakeIO:
    """Data-file access for one worker: paths for DuckDB, read-ahead, the block cache."""

    def __init__(self, settings: EngineSettings, store: ObjectStore | None = None) -> None:
        """``store`` replaces the settings' store (tests inject failures with it)."""
        self.settings = settings
        self.remote = is_remote(settings.lake)
        self.store = store or open_store(settings)
        self.cache = BlockCache(settings.cache_dir, settings.cache_bytes if self.remote else 0,
                                settings.cache_write_backlog_bytes)
        self.prefetcher = Prefetcher(
            self.store,
            self.cache,
            enabled=settings.prefetch,
            depth=settings.prefetch_depth,
            concurrency=settings.prefetch_concurrency,
            memory_bytes=settings.prefetch_memory_bytes,
            retries=settings.io_retries,
        )
        self.filesystem = LakeFileSystem(self.prefetcher)
        # Whole files found in the block cache are hard-linked here, one folder per statement,
        # and DuckDB reads them natively: no Python on the read path of a warm scan.
        # Per process: sibling workers share the cache directory but never each other's links.
        self.stage_dir = (
            Path(settings.cache_dir).resolve() / "stage" / f"{os.getpid()}-{secrets.token_hex(4)}"
        )

    def register(self, conn: Any) -> None:
        """Make the lake's files readable by a DuckDB connection (before its config is locked)."""
        if self.remote:
            conn.register_filesystem(self.filesystem)

    def allowed_directories(self) -> list[str]:
        """What DuckDB's ``allowed_directories`` must hold for `scan_paths` to be readable."""
        if self.remote:
            return [PREFIX, str(self.stage_dir) + "/"]
        root = os.path.abspath(local_path(self.settings.lake))
        return [root.rstrip("/") + "/"]

    def scan_paths(self, statement_id: str, files: Sequence[DataFile]) -> list[str]:
        """Paths DuckDB's ``read_parquet([...])`` opens for ``files``, in the same order.

        For an object-store lake this starts fetching the files' blocks in the background;
        calling it again for the same statement adds to the same scan.
        """
        if not self.remote:
            return [local_path(f.uri) for f in files]
        scan = self.prefetcher.open_scan(statement_id, files)
        base = len(scan.files) - len(files)
        paths = []
        for i, file in enumerate(files):
            staged = self._stage(statement_id, base + i, file)
            paths.append(staged or scan_path(statement_id, base + i, file))
        return paths

    def prefetch(self, statement_id: str, files: Sequence[DataFile]) -> int:
        """Start fetching ``files`` for a statement that is still queued; how many it fetches.

        Nothing for a local lake or with prefetch off. The blocks land in memory (evicted
        first when a running scan needs room) and in the block cache; when the statement runs,
        its `scan_paths` extends this scan and finds them. `release` drops it.
        """
        if not self.remote or not self.prefetcher.enabled or not files:
            return 0
        self.prefetcher.open_scan(statement_id, files, background=True)
        return len(files)

    def _stage(self, statement_id: str, index: int, file: DataFile) -> str | None:
        """A local hard link to the cached whole file, or None when it is not cached whole."""
        blocks = file_blocks(file)
        if not self.cache.enabled or len(blocks) != 1 or not self.cache.contains(blocks[0]):
            return None
        folder = self._stage_folder(statement_id)
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"{index}.parquet"
        return str(dest) if self.cache.link(blocks[0], dest) else None

    def _stage_folder(self, statement_id: str) -> Path:
        return self.stage_dir / quote(statement_id, safe="")

    def failure(self, statement_id: str) -> EngineError | None:
        """The I/O error that failed a statement's scan, to report instead of DuckDB's wrapper.

        Answers before and (for the last few statements) after `release`.
        """
        scan = self.prefetcher.scan(statement_id)
        if scan is not None and scan.error is not None:
            return scan.error
        return self.prefetcher.recent_failures.get(statement_id)

    def release(self, statement_id: str) -> None:
        """The statement finished or was cancelled: stop its prefetches, free its blocks."""
        self.prefetcher.release(statement_id)
        if self.remote:
            shutil.rmtree(self._stage_folder(statement_id), ignore_errors=True)

    @property
    def stats(self) -> IOStats:
        """Fetch counters of this process."""
        return self.prefetcher.stats

    @property
    def cache_stats(self) -> CacheStats:
        """Block cache counters of this process."""
        return self.cache.stats

    def close(self) -> None:
        """Cancel all scans, stop the fetch threads, close the store."""
        self.prefetcher.close()
        self.cache.close()
        self.store.close()
        if self.remote:
            shutil.rmtree(self.stage_dir, ignore_errors=True)
