"""The Engine: one DuckDB database per worker running Databricks SQL over the lake.

>>> from sqlgate.settings import EngineSettings
>>> from sqlgate.types import StatementTask
>>> eng = Engine(EngineSettings(lake="/tmp/demo-lake"))  # doctest: +SKIP
>>> with eng.execute(StatementTask("s1", "SELECT 1 AS one")) as rs:  # doctest: +SKIP
...     rs.read_all().to_pylist()
[{'one': 1}]
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
from collections.abc import Iterator, Sequence

import duckdb
import pyarrow as pa
from sqlglot import exp

from engine import commands, grants, spark, translate, views
from engine.cachekey import cache_text
from engine.catalog import LakeCatalog, TableName
from engine.catalogdb import CatalogStore
from engine.command import Command
from engine.deadlines import Deadline, Deadlines
from engine.distributed import LANE, DistributedLane, DistributedUnavailable
from engine.errors import EngineError, ParseError
from engine.io import DataFile, LakeIO
from engine.io.queued import QueuedPrefetches
from engine.plans import ConstantPlans, Plan
from engine.result import BATCH_ROWS, Interrupter, ResultStream, translate_error
from engine.sqltext import fingerprint
from sqlgate.settings import EngineSettings
from sqlgate.types import CostEstimate, StatementTask

_view_ids = itertools.count()
# Statement text -> its canonical text for the result cache (None: never cached); writing a
# tree out costs more than a small query, and dashboards repeat the same few texts.
_cache_texts: dict[str, str | None] = {}
_CACHE_TEXTS = 1024


def _cache_text(sql: str, tree: exp.Expr) -> str | None:
    # Keyed on the view definitions spliced in as well: after CREATE OR REPLACE VIEW (or
    # another session's temporary view of that name) the same text is another query.
    memo = f"{sql}\0{tree.meta.get(views.EXPANDED)}"
    if memo not in _cache_texts:
        if len(_cache_texts) >= _CACHE_TEXTS:
            _cache_texts.pop(next(iter(_cache_texts)))
        _cache_texts[memo] = cache_text(tree)
    return _cache_texts[memo]


log = logging.getLogger("sqlgate.engine")
_FALLBACKS = ("error", "local")


class Engine:
    """Runs statements; thread-safe, each execute() on its own DuckDB cursor."""

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self.catalog = LakeCatalog(settings)
        try:
            self._db = duckdb.connect(
                ":memory:",
                config={"memory_limit": settings.memory_limit, "threads": settings.threads},
            )
        except duckdb.Error as exc:
            raise EngineError(f"cannot start DuckDB: {exc}") from exc
        self.io = LakeIO(settings)
        self.queued = QueuedPrefetches(self.io, settings.prefetch_queued_files,
                                       settings.prefetch_queued_bytes,
                                       settings.prefetch_queued_max)
        self._lock = threading.Lock()
        self._running: dict[str, Interrupter] = {}
        # every statement's time limit on one shared thread, not a Timer thread each
        self._deadlines = Deadlines()
        self._closed = False
        if settings.distributed_fallback not in _FALLBACKS:
            raise EngineError(f"distributed_fallback must be one of {', '.join(_FALLBACKS)}, "
                              f"not {settings.distributed_fallback!r}")
        # The Spark Connect client of the distributed lane, made when first needed.
        self._lane: DistributedLane | None = None
        self._store: CatalogStore | None = None
        self._constants = ConstantPlans(settings.constant_plans)
        self._lock_sandbox()

    @property
    def store(self) -> CatalogStore:
        """The catalog database (views, comments, owners, grants), opened on first use."""
        if self._store is None:
            self._store = CatalogStore(catalog_db_url(self.settings, self.catalog))
        return self._store

    def _lock_sandbox(self) -> None:
        """The second line of the sandbox, inside DuckDB itself.

        allowed_directories can only be set while external access is still enabled, and
        nothing can be changed once the configuration is locked: so the order is fixed.
        """
        self.io.register(self._db)
        spark.install(self._db)
        # LakeIO names every directory a scan reads (the local lake root, or lakeio:// and
        # its staging folder), already absolute and slash-terminated.
        allowed = self.io.allowed_directories()
        con = self._db
        con.execute(f"SET allowed_directories={allowed!r}")
        con.execute("SET enable_external_access=false")
        con.execute("SET autoinstall_known_extensions=false")
        con.execute("SET autoload_known_extensions=false")
        con.execute("SET lock_configuration=true")

    # -- public surface --------------------------------------------------------------

    def estimate(self, task: StatementTask) -> CostEstimate:
        """What a statement will scan, from the Delta log after pruning; executes nothing."""
        kind = commands.kind_of(task.sql)
        if kind is not None:
            commands.check(self, task, *self._defaults(task))
            return CostEstimate(kind=kind, fingerprint=fingerprint(task.sql))
        cmd = Command(self, task, *self._defaults(task))
        analysis = self._analyze(task, cmd)
        shape = fingerprint(task.sql)
        if analysis.kind in ("metadata", "constant") or (
            not analysis.scans and analysis.kind == "query"
        ):
            return CostEstimate(kind="metadata", fingerprint=shape)
        files = [f for s in analysis.scans for f in s.files]
        rows = sum(f.num_records or 0 for f in files)
        query = analysis.kind == "query" and not analysis.views and analysis.tree is not None
        return CostEstimate(
            tables=tuple(dict.fromkeys(str(s.name) for s in analysis.scans)),
            files=len(files),
            bytes=sum(f.size for f in files),
            rows=rows,
            kind="write" if analysis.kind in ("ctas", "insert") else "scan",
            versions=tuple(sorted({(str(s.name), s.snapshot.version) for s in analysis.scans})),
            cache_text=(_cache_text(task.sql, analysis.tree)
                        if query and analysis.tree is not None else None),
            # the privilege checks just made for this caller: no key without them
            privileges=grants.fingerprint(cmd) if query else "",
            fingerprint=shape,
        )

    def prefetch(self, task: StatementTask, ttl_s: float) -> int:
        """Fetch the first data files of a statement that waits in the queue; how many.

        Analyses the statement like `estimate` (resolve and prune, no execution) and starts
        a background scan of its leading files, bounded by ``prefetch_queued_files`` /
        ``prefetch_queued_bytes`` and ``prefetch_queued_max`` statements at once. The scan
        is released after ``ttl_s``, by `release_prefetch`, or taken over by `execute`.
        0 for a local lake, a metadata statement, or when the bounds are reached.
        """
        if (self._closed or not self.queued.accepting(task.statement_id)
                or commands.kind_of(task.sql) is not None):
            return 0
        analysis = self._analyze(task)
        files = [DataFile(f.uri, f.size) for s in analysis.scans for f in s.files]
        if analysis.kind in ("metadata", "constant") or not files:
            return 0
        return self.queued.start(task.statement_id, files, ttl_s)

    def release_prefetch(self, statement_id: str) -> bool:
        """Drop a queued statement's prefetch (it ran elsewhere, or left the queue)."""
        return self.queued.release(statement_id)

    def execute(self, task: StatementTask) -> ResultStream:
        """Start a statement; the returned stream yields its Arrow batches."""
        if self._closed:
            raise EngineError("the engine is closed")
        self.queued.adopt(task.statement_id)
        defaults = self._defaults(task)
        plan = self._constants.get(task, defaults)
        if plan is not None:  # a constant statement translated before: no sqlglot at all
            return self._run(task, self._begin(task), plan, task.row_limit)
        result = commands.execute(self, task, *defaults)
        if result is not None:
            stream = _table_stream(result, task.row_limit)
            if "num_affected_rows" in result.column_names:
                stream.num_modified_rows = int(result.column("num_affected_rows")[0].as_py())
            return stream
        return self.run_query(task)

    def run_query(self, task: StatementTask) -> ResultStream:
        """Run a query (no DDL or DML): also the SELECT inside a CTAS, INSERT or MERGE."""
        analysis = self._analyze(task)
        if analysis.kind == "metadata":
            assert analysis.metadata is not None
            return _table_stream(analysis.metadata, task.row_limit)
        if analysis.kind not in ("query", "constant"):
            raise EngineError(f"not a query: {analysis.kind}")
        if task.lane == LANE and analysis.kind == "query" and analysis.scans and (
                not analysis.views):
            try:
                return self._distributed(task, analysis)
            except DistributedUnavailable as exc:
                if self.settings.distributed_fallback != "local":
                    raise
                log.warning("statement %s runs locally: %s", task.statement_id, exc.message)
                analysis = self._analyze(task)  # the lane rewrote the first tree in place
        return self._query(task, analysis, task.row_limit)

    def _distributed(self, task: StatementTask, analysis: translate.Analysis) -> ResultStream:
        with self._lock:
            if self._lane is None:
                self._lane = DistributedLane(self.settings)
            lane = self._lane
        return lane.execute(task, analysis, self.settings.time_limit(task.timeout_s))

    def invalidate(self, name: TableName) -> None:
        """Forget what this engine caches of a table it wrote (its snapshots)."""
        self.catalog.forget(name)

    def interrupt(self, statement_id: str) -> bool:
        """Cancel a running statement from another thread; False if it is not running."""
        with self._lock:
            running = self._running.get(statement_id)
            lane = self._lane
        if running is None:
            return lane.interrupt(statement_id) if lane is not None else False
        running.stop("cancelled")
        self.io.release(statement_id)
        return True

    def close(self) -> None:
        """Interrupt whatever runs and release DuckDB and the I/O layer."""
        self._closed = True
        with self._lock:
            running = list(self._running.values())
        for r in running:
            r.stop("cancelled")
        if self._lane is not None:
            self._lane.close()
        self.queued.close()
        self.io.close()
        self._deadlines.close()
        self._db.close()

    # -- internals -------------------------------------------------------------------

    def _defaults(self, task: StatementTask) -> tuple[str, str]:
        default = self.settings.default_catalog
        if task.catalogs and default not in task.catalogs:
            default = task.catalogs[0]  # a bound workspace's first catalog is its default
        return (task.catalog or default, task.schema or self.settings.default_schema)

    def _analyze(self, task: StatementTask, cmd: Command | None = None) -> translate.Analysis:
        cmd = cmd or Command(self, task, *self._defaults(task))
        hooks = translate.Hooks(
            expand=lambda tree: views.expand(tree, cmd),
            information_schema=lambda view: describe_info(cmd, view))
        catalog, _ = self._defaults(task)
        try:
            analysis = translate.analyze(task, cmd.lake, catalog,
                                         self.settings.default_schema, hooks)
        except RecursionError as exc:
            # sqlglot parses and walks recursively: 5,000 nested parentheses end here
            raise ParseError(translate.TOO_DEEP) from exc
        # SELECT on what the query reads itself; what a view reads, its owner vouches for
        grants.check_reads(cmd, [s.name for s in analysis.scans
                                 if not s.node.meta.get(views.FROM_VIEW)])
        return analysis

    def _query(self, task: StatementTask, analysis: translate.Analysis,
               row_limit: int | None) -> ResultStream:
        sid = task.statement_id
        running = self._begin(task)
        cursor = running.cursor
        try:
            view_names = {}
            for key, (_, table) in analysis.views.items():
                name = f"__sqlgate_view_{next(_view_ids)}"
                cursor.register(name, table)
                view_names[key] = name

            def paths(scan: translate.Scan) -> Sequence[str]:
                return self.io.scan_paths(sid, [DataFile(f.uri, f.size) for f in scan.files])

            expanded = analysis.tree.meta.get(views.EXPANDED) if analysis.tree else None
            cache_key = (task.sql, task.catalog, task.catalogs, task.schema,
                         self.settings.default_catalog, self.settings.default_schema,
                         tuple(sorted((k, t) for k, (_, t) in analysis.parameters.items())),
                         expanded,
                         # the rewrite depends on the column types (engine.spark.annotation)
                         tuple(s.snapshot.schema for s in analysis.scans))
            sql = translate.to_duckdb(analysis, paths, view_names, cache_key=cache_key)
        except duckdb.Error as exc:
            failure = self.io.failure(sid)
            running.finish()
            raise (failure or translate_error(exc, running.interrupter,
                                              self.settings.time_limit(task.timeout_s))) from exc
        except BaseException:
            running.finish()
            raise
        plan = Plan(sql, tuple((k, v) for k, (v, _) in analysis.parameters.items()))
        if analysis.kind == "constant" and not expanded and not analysis.views:
            self._constants.put(task, self._defaults(task), plan.sql, dict(plan.params))
        return self._run(task, running, plan, row_limit)

    def _begin(self, task: StatementTask) -> _Running:
        """A cursor of its own for the statement, registered so `interrupt` can stop it."""
        sid = task.statement_id
        cursor = self._db.cursor()
        running = _Running(self, sid, cursor)
        with self._lock:
            if sid in self._running:
                cursor.close()
                raise EngineError(f"statement {sid} is already running",
                                  error_code="INVALID_STATE", http_status=409)
            self._running[sid] = running.interrupter
        return running

    def _run(self, task: StatementTask, running: _Running, plan: Plan,
             row_limit: int | None) -> ResultStream:
        """Start DuckDB on a translated statement; its batches stream from the result."""
        sid = task.statement_id
        interrupter = running.interrupter
        timeout_s = self.settings.time_limit(task.timeout_s)
        try:
            running.timer = self._deadlines.call_later(timeout_s, interrupter.stop, "timeout")
            relation = running.cursor.sql(plan.sql, params=plan.values())
            if relation is None:
                raise EngineError("the statement returned no result")
            reader = relation.to_arrow_reader(BATCH_ROWS)
        except duckdb.Error as exc:
            failure = self.io.failure(sid)
            running.finish()
            raise (failure or translate_error(exc, interrupter, timeout_s)) from exc
        except BaseException:
            running.finish()
            raise
        return ResultStream(
            reader.schema, _batches(reader), row_limit=row_limit, on_close=running.finish,
            interrupter=interrupter, timeout_s=timeout_s,
            failure=lambda: self.io.failure(sid),
        )

    def _forget_running(self, statement_id: str) -> None:
        with self._lock:
            self._running.pop(statement_id, None)


class _Running:
    """One statement on its cursor: its interrupter, its time limit, and the cleanup."""

    __slots__ = ("_engine", "_finished", "cursor", "interrupter", "sid", "timer")

    def __init__(self, engine: Engine, sid: str, cursor: duckdb.DuckDBPyConnection) -> None:
        self._engine = engine
        self.sid = sid
        self.cursor = cursor
        self.interrupter = Interrupter(cursor)
        self.timer: Deadline | None = None
        self._finished = False

    def finish(self) -> None:
        """Release everything the statement holds (once; the stream and errors both call)."""
        if self._finished:
            return
        self._finished = True
        if self.timer is not None:
            self.timer.cancel()
        self._engine._forget_running(self.sid)
        self._engine.io.release(self.sid)
        self.cursor.close()


def _batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    try:
        yield from reader
    finally:
        reader.close()


def _table_stream(table: pa.Table, row_limit: int | None) -> ResultStream:
    return ResultStream(table.schema, iter(table.to_batches()), row_limit=row_limit)


def describe_info(cmd: Command, view: str) -> pa.Table:
    """An information_schema view with the catalog database's views, owners, comments."""
    from engine import describe, metadata

    return metadata.information_schema(view, cmd.lake, describe.listing(cmd))


def catalog_db_url(settings: EngineSettings, lake: LakeCatalog) -> str:
    """Where the catalog database is: the setting, else a SQLite file beside the tables."""
    if settings.catalog_db:
        return settings.catalog_db
    if lake.remote:
        return os.path.join(os.path.dirname(os.path.abspath(settings.cache_dir)),
                            "catalog.sqlite")
    # "_sqlgate" is not a catalog: the lake's listings skip names starting with "_"
    return os.path.join(lake.root, "_sqlgate", "catalog.sqlite")


__all__ = ["Engine"]
