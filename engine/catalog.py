"""The lake catalog: three-level names over a root of Delta tables, and their snapshots.

Layout: ``<root>/<catalog>/<schema>/<table>/`` where a table directory is one holding a
``_delta_log``. The root is a local directory or ``s3://bucket/prefix``; object-store
options come from settings, never from the ambient environment.

Snapshots are cached per table. A statement asks for the latest one; the cache checks the
log's newest version cheaply (``update_incremental`` reads only commits it has not seen),
so a commit made by anyone is visible to the next statement without a full reload.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError, TableNotFoundError

from engine.errors import LakeIOError, SchemaNotFound, TableNotFound, Unsupported
from engine.io.store import is_remote, local_path
from engine.location import Locations, TableName, check_parts
from engine.snapshot import DataFileEntry, Snapshot, build_snapshot
from sqlgate.settings import EngineSettings


def lake_root(settings: EngineSettings) -> str:
    """The lake root without a trailing slash; local roots (``file://`` too) made absolute."""
    root = settings.lake
    if is_remote(root):
        return root.rstrip("/")
    return os.path.abspath(local_path(root))


def table_uri(settings: EngineSettings, name: TableName) -> str:
    """Where a table's Delta log lives (checked by `Locations.table`)."""
    return Locations(lake_root(settings)).table(name)


def s3_filesystem(settings: EngineSettings) -> pafs.S3FileSystem:
    """A pyarrow S3 filesystem built only from explicit settings."""
    scheme = "http" if settings.lake_allow_http else "https"
    endpoint = settings.lake_endpoint_url
    if endpoint and "://" in endpoint:
        scheme, _, endpoint = endpoint.partition("://")
    return pafs.S3FileSystem(
        access_key=settings.lake_access_key_id,
        secret_key=settings.lake_secret_access_key,
        region=settings.lake_region,
        endpoint_override=endpoint,
        scheme=scheme,
        # Never fall back to instance metadata or ~/.aws: credentials are explicit.
        anonymous=settings.lake_access_key_id is None,
    )


class LakeCatalog:
    """Lists catalogs, schemas and tables, and hands out cached Delta snapshots."""

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self.root = lake_root(settings)
        self.remote = is_remote(self.root)
        # the one place a name becomes a location: every path below comes from it
        self.locations = Locations(self.root)
        self.storage_options = settings.lake_storage_options() if self.remote else None
        self._fs: pafs.FileSystem = (
            s3_filesystem(settings) if self.remote else pafs.LocalFileSystem()
        )
        self._lock = threading.Lock()
        # table -> the lock serialising refreshes of its cached DeltaTable (see _latest_snapshot)
        self._refreshing: dict[TableName, threading.Lock] = {}
        # latest snapshots: name -> (DeltaTable, checked_at, Snapshot); least recently used
        # out first past `snapshot_cache_tables` (a lake can have more tables than memory)
        # when each cached table's first commit was written: a table dropped and created
        # again (by another worker or gateway) has a new one, and its cached log is void
        self._births: dict[TableName, Any] = {}
        self._latest: OrderedDict[TableName, tuple[DeltaTable, float, Snapshot]] = (
            OrderedDict())
        # time-travel snapshots never change, so they are cached by exact version; least
        # recently used out first past `snapshot_cache_versions` (each holds a file list)
        self._versions: OrderedDict[tuple[TableName, int], Snapshot] = OrderedDict()
        # the catalogs a statement may use; None is every catalog (see `bound`)
        self.visible: frozenset[str] | None = None

    # -- privileges ------------------------------------------------------------------

    def bound(self, catalogs: Iterable[str] | None) -> LakeCatalog:
        """This catalog as a workspace bound to `catalogs` sees it (None: every catalog).

        The first privilege layer, under any GRANTs: another catalog does not exist for
        the statement. Listings leave it out; reading, describing or writing a table in it
        is "not found", exactly as for a catalog that is not there. The copy shares the
        snapshot caches, file system and lock with this catalog.
        """
        if catalogs is None:
            return self
        view = copy.copy(self)
        view.visible = frozenset(catalogs)
        return view

    def can_use(self, catalog: str) -> bool:
        """Whether the statement may see `catalog` at all."""
        return self.visible is None or catalog in self.visible

    def _check_use(self, name: TableName) -> None:
        if not self.can_use(name.catalog):
            raise TableNotFound(str(name))

    # -- listing -------------------------------------------------------------------

    def _location(self, *parts: str) -> str:
        """The checked location of the root (no parts), a catalog, a schema or a table."""
        loc = self.locations
        if len(parts) == 3:
            return loc.table(TableName(*parts))
        if len(parts) == 2:
            return loc.schema(*parts)
        return loc.catalog(parts[0]) if parts else loc.root

    def _subdirs(self, *parts: str) -> list[str]:
        path = self.locations.fs_path(self._location(*parts))
        try:
            infos = self._fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
        except (OSError, pa.ArrowException) as exc:
            what = ".".join(parts) or "the lake"
            raise LakeIOError(f"cannot list {what}: {self.locations.scrub(str(exc))}") from exc
        return sorted(
            i.base_name
            for i in infos
            if i.type == pafs.FileType.Directory and not i.base_name.startswith((".", "_"))
        )

    def _is_table(self, catalog: str, schema: str, table: str) -> bool:
        log = self.locations.fs_path(self._location(catalog, schema, table)) + "/_delta_log"
        info = self._fs.get_file_info(log)
        return info.type == pafs.FileType.Directory or (
            # object stores have no directories: probe for the first commit or checkpoint
            self.remote and bool(self._fs.get_file_info(
                pafs.FileSelector(log, allow_not_found=True)
            ))
        )

    def catalogs(self) -> list[str]:
        """Catalog names under the root that the statement may use."""
        return [c for c in self._subdirs() if self.can_use(c)]

    def schemas(self, catalog: str) -> list[str]:
        """Schema names in a catalog; SchemaNotFound if the catalog does not exist."""
        check_parts(catalog)
        if catalog not in self.catalogs():
            raise SchemaNotFound(f"[NO_SUCH_CATALOG_EXCEPTION] Catalog '{catalog}' not found.")
        return self._subdirs(catalog)

    def tables(self, catalog: str, schema: str) -> list[str]:
        """Table names in a schema (directories holding a _delta_log)."""
        check_parts(catalog, schema)
        if schema not in self.schemas(catalog):
            raise SchemaNotFound(
                f"[SCHEMA_NOT_FOUND] The schema `{catalog}`.`{schema}` cannot be found."
            )
        return [t for t in self._subdirs(catalog, schema) if self._is_table(catalog, schema, t)]

    def all_tables(self) -> list[TableName]:
        """Every table under the root, each level listed once.

        `schemas` and `tables` re-list the levels above to check they exist; a walk down
        from `catalogs` needs no such check, and on an object store every listing is a request.
        """
        return [
            TableName(cat, sch, t)
            for cat in self.catalogs()
            for sch in self._subdirs(cat)
            for t in self._subdirs(cat, sch)
            if self._is_table(cat, sch, t)
        ]

    def exists(self, name: TableName) -> bool:
        """Whether a table exists, without loading it; an invalid name raises AnalysisError."""
        self.locations.table(name)
        if not self.can_use(name.catalog):
            return False
        try:
            return self._is_table(name.catalog, name.schema, name.table)
        except (OSError, pa.ArrowException):
            return False

    def forget(self, name: TableName) -> None:
        """Drop the cached snapshots of a table this engine just wrote, dropped or renamed."""
        with self._lock:
            self._latest.pop(name, None)
            self._births.pop(name, None)
            for key in [k for k in self._versions if k[0] == name]:
                self._versions.pop(key, None)

    # -- snapshots -----------------------------------------------------------------

    def uri(self, name: TableName) -> str:
        """The table's location (a checked name, under its catalog's root, usable here)."""
        location = self.locations.table(name)
        if not self.can_use(name.catalog):
            raise SchemaNotFound(
                f"[NO_SUCH_CATALOG_EXCEPTION] Catalog '{name.catalog}' was not found. "
                "SQLSTATE: 42704")
        return location

    def _open(self, name: TableName, version: int | None = None) -> DeltaTable:
        if not self.exists(name):
            raise TableNotFound(str(name))
        try:
            return DeltaTable(self.uri(name), version=version, storage_options=self.storage_options)
        except TableNotFoundError as exc:
            raise TableNotFound(str(name)) from exc
        except (DeltaError, OSError, ValueError) as exc:
            raise LakeIOError(f"cannot read the Delta log of {name}: "
                              f"{self.locations.scrub(str(exc))}") from exc

    def snapshot(
        self,
        name: TableName,
        version: int | None = None,
        timestamp: str | datetime | None = None,
    ) -> Snapshot:
        """The latest snapshot of a table, or the one at a version or timestamp."""
        self.locations.table(name)
        self._check_use(name)  # before the caches: they hold every workspace's tables
        if version is not None:
            return self._at_version(name, version)
        if timestamp is not None:
            dt = self._open(name)
            try:
                when = (datetime.fromisoformat(timestamp) if isinstance(timestamp, str)
                        else timestamp)
                # Spark reads a zone-less timestamp in the session zone, which is UTC here
                when = when if when.tzinfo else when.replace(tzinfo=UTC)
                dt.load_as_version(when)
            except (DeltaError, ValueError, OSError) as exc:
                raise Unsupported(
                    f"cannot time travel {name} to {timestamp}: "
                    f"{self.locations.scrub(str(exc))}", sql_state="22000"
                ) from exc
            self._check_not_before(name, dt.version(), when)
            return self._at_version(name, dt.version(), dt)
        return self._latest_snapshot(name)

    def _check_not_before(self, name: TableName, version: int, when: datetime) -> None:
        """Refuse a timestamp before the commit deltalake picked for it.

        deltalake answers a timestamp older than the table with its first version, which
        would be data the table did not hold then; Spark raises an error instead.
        """
        log = f"{self.locations.fs_path(self.uri(name))}/_delta_log/{version:020d}.json"
        try:
            committed = self._fs.get_file_info(log).mtime
        except (OSError, pa.ArrowException):
            return  # the commit file is gone (a checkpoint stands in): nothing to compare
        if committed is None:
            return
        committed = committed if committed.tzinfo else committed.replace(tzinfo=UTC)
        if when < committed:
            raise Unsupported(
                f"[DELTA_TIMESTAMP_EARLIER_THAN_COMMIT_RETENTION] The provided timestamp "
                f"({when.isoformat()}) is before the earliest version available to table "
                f"{name} ({committed.isoformat()}).", sql_state="42816")

    def _at_version(self, name: TableName, version: int, dt: DeltaTable | None = None) -> Snapshot:
        key = (name, version)
        with self._lock:
            cached = self._versions.get(key)
            if cached is not None:
                self._versions.move_to_end(key)
        if cached is not None:
            return cached
        if dt is None:
            try:
                dt = self._open(name, version)
            except LakeIOError as exc:
                raise Unsupported(
                    f"[DELTA_VERSION_NOT_FOUND] cannot time travel {name} to version {version}",
                    sql_state="22003",
                ) from exc
        snap = build_snapshot(name, self.uri(name), dt, self.locations)
        with self._lock:
            self._versions[key] = snap
            while len(self._versions) > max(0, self.settings.snapshot_cache_versions):
                self._versions.popitem(last=False)
        return snap

    def _birth(self, name: TableName) -> Any:
        """The modification time of a table's first commit (None once log cleanup removed
        it): one stat that tells a table from another created under the same name."""
        first = f"{self.locations.fs_path(self.uri(name))}/_delta_log/{0:020d}.json"
        try:
            return self._fs.get_file_info(first).mtime
        except (OSError, pa.ArrowException):
            return None

    def _remember(self, name: TableName, entry: tuple[DeltaTable, float, Snapshot]) -> None:
        with self._lock:
            self._latest[name] = entry
            self._latest.move_to_end(name)
            while len(self._latest) > max(1, self.settings.snapshot_cache_tables):
                self._latest.popitem(last=False)

    def _latest_snapshot(self, name: TableName) -> Snapshot:
        now = time.monotonic()
        with self._lock:
            entry = self._latest.get(name)
            if entry is not None:
                self._latest.move_to_end(name)
        if entry is not None and now - entry[1] >= self.settings.snapshot_check_s and (
                self._birth(name) != self._births.get(name)):
            self.forget(name)  # dropped and created again: the cached log is another table's
            entry = None
        if entry is None:
            birth = self._birth(name)
            dt = self._open(name)
            snap = build_snapshot(name, self.uri(name), dt, self.locations)
            self._remember(name, (dt, now, snap))
            with self._lock:
                self._births[name] = birth
            return snap
        dt, checked_at, snap = entry
        if now - checked_at < self.settings.snapshot_check_s:
            return snap
        with self._lock:
            refresh = self._refreshing.setdefault(name, threading.Lock())
        # One refresh of a DeltaTable at a time: two threads in update_incremental/version on
        # the same object deadlocked here (three estimates at once over an s3:// lake).
        with refresh:
            try:
                # reads only the commits after the cached version
                dt.update_incremental()
            except (DeltaError, OSError) as exc:
                with self._lock:
                    self._latest.pop(name, None)
                if not self.exists(name):
                    raise TableNotFound(str(name)) from exc
                raise LakeIOError(
                    f"cannot refresh {name}: {self.locations.scrub(str(exc))}") from exc
            if dt.version() != snap.version:
                snap = build_snapshot(name, self.uri(name), dt, self.locations)
        self._remember(name, (dt, now, snap))
        return snap


__all__ = ["DataFileEntry", "LakeCatalog", "Snapshot", "TableName", "lake_root", "table_uri"]
