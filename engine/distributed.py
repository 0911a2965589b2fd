"""The distributed lane: a statement too big for one worker runs on a Spark Connect endpoint.

The gateway flags a statement whose estimate scans more than ``distributed_min_bytes``
(``StatementTask.lane == "distributed"``); the worker that gets it is then the Spark Connect
client instead of running DuckDB:

1. the statement is analysed exactly as for DuckDB (`engine.translate.analyze`: the text
   and tree sandbox checks, catalog resolution and its privilege checks), so nothing is
   sent that the local lane would refuse;
2. `spark_sql` rewrites each catalog table to its Delta location, pinned to the snapshot
   version the analysis resolved (``delta.`<location>` VERSION AS OF n``), and keeps the
   rest of the statement in the Databricks dialect it came in; parameters stay bound
   (``CAST(:name AS type)`` with the value passed as a Spark Connect argument, never text);
3. the answer streams back as Arrow batches in a `ResultStream`, so the worker's normal
   result loop makes it INLINE, EXTERNAL_LINKS chunks or Thrift batches alike;
4. `DistributedLane.interrupt` interrupts the Spark Connect operation by its tag.

The endpoint being down is `DistributedUnavailable` before any row: the engine then either
fails the statement with it or runs the statement locally, as ``distributed_fallback`` says.
pyspark is imported only when the lane is first used (the `scale` extra installs it).
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import SqlglotError

from engine.errors import (
    AnalysisError,
    Cancelled,
    EngineError,
    ParseError,
    Timeout,
    Unsupported,
)
from engine.result import ResultStream
from engine.translate import Analysis
from sqlgate.settings import EngineSettings
from sqlgate.types import StatementTask

LANE = "distributed"
# gRPC status names that mean the endpoint itself is not there (as opposed to the query
# failing on it): the statement may then run locally instead.
_DOWN = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "failed to connect", "Connection refused")


class DistributedUnavailable(EngineError):
    """The distributed engine cannot be reached (before anything ran there)."""

    error_code = "TEMPORARILY_UNAVAILABLE"
    http_status = 503


def spark_sql(analysis: Analysis) -> str:
    """The analysed statement in the Databricks dialect, tables as pinned Delta locations.

    >>> import sqlglot
    >>> from types import SimpleNamespace as NS
    >>> tree = sqlglot.parse_one("SELECT n FROM t WHERE n > :lo", read="databricks")
    >>> node = tree.find(exp.Table)
    >>> scan = NS(node=node, snapshot=NS(uri="/lake/main/s/t", version=3))
    >>> spark_sql(Analysis("query", tree=tree, scans=[scan],
    ...                    parameters={"lo": ("1", "BIGINT")}))
    'SELECT n FROM delta.`/lake/main/s/t` VERSION AS OF 3 AS t WHERE n > CAST(:lo AS BIGINT)'
    """
    if analysis.kind != "query" or analysis.tree is None:
        raise Unsupported(f"the distributed lane runs queries only, not {analysis.kind}")
    if analysis.views:
        raise Unsupported("the distributed lane does not read information_schema")
    tree = analysis.tree  # rewritten in place: an Analysis is used once
    for scan in analysis.scans:
        node = scan.node
        alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(node.name))
        version = exp.Version(this="VERSION", kind="AS OF",
                              expression=exp.Literal.number(scan.snapshot.version))
        node.replace(exp.Table(this=exp.to_identifier(scan.snapshot.uri, quoted=True),
                               db=exp.to_identifier("delta"), alias=alias.copy(),
                               version=version))
    params = analysis.parameters

    def bind(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Placeholder) and node.name in params:
            dtype = exp.DataType.build(params[node.name][1], dialect="duckdb")
            return exp.Cast(this=exp.Placeholder(this=node.name), to=dtype)
        return node

    tree = tree.transform(bind, copy=False)
    try:
        return tree.sql(dialect="databricks")
    except SqlglotError as exc:
        raise Unsupported(f"cannot write the statement for the distributed engine: {exc}"
                          ) from exc


class DistributedLane:
    """One Spark Connect session per worker, shared by its statements (thread-safe)."""

    def __init__(self, settings: EngineSettings) -> None:
        if not settings.distributed_engine:
            raise DistributedUnavailable("no distributed engine is configured")
        self.url = settings.distributed_engine
        self._retries = settings.distributed_connect_retries
        self._lock = threading.Lock()
        self._session: Any = None
        self._tags: dict[str, str] = {}
        self._reasons: dict[str, str] = {}

    def _spark(self) -> Any:
        with self._lock:
            if self._session is None:
                try:
                    from pyspark.sql.connect.client.retries import DefaultPolicy
                    from pyspark.sql.connect.session import SparkSession
                except ImportError as exc:
                    raise DistributedUnavailable(
                        "the distributed lane needs pyspark-client (pip install "
                        "'sqlgate[scale]')") from exc
                session = SparkSession(connection=self.url)
                # The default policy retries an unreachable endpoint for ~10 minutes; a
                # statement that may fall back to the local lane cannot wait that long.
                session.client.set_retry_policies([DefaultPolicy(
                    max_retries=self._retries, initial_backoff=100, max_backoff=2000)])
                self._session = session
            return self._session

    def execute(self, task: StatementTask, analysis: Analysis,
                timeout_s: float) -> ResultStream:
        """Send the statement; the stream's first batch is fetched before this returns, so
        an unreachable endpoint is `DistributedUnavailable` here, never half-way through."""
        sql = spark_sql(analysis)
        args = {name: value for name, (value, _) in analysis.parameters.items()}
        sid = task.statement_id
        tag = f"sqlgate-{uuid.uuid4().hex}"
        with self._lock:
            self._tags[sid] = tag
        timer = threading.Timer(timeout_s, self._stop, args=(sid, "timeout"))
        timer.daemon = True

        def finish() -> None:
            timer.cancel()
            with self._lock:
                self._tags.pop(sid, None)
                self._reasons.pop(sid, None)

        try:
            spark = self._spark()
            timer.start()
            items = self._items(spark, sql, args, tag, sid, timeout_s)
            schema, first = _head(items)
        except BaseException:
            finish()
            raise
        stream = ResultStream(schema, _chain(first, items), row_limit=task.row_limit,
                              on_close=finish)
        stream.lane = LANE
        return stream

    def _items(self, spark: Any, sql: str, args: dict[str, str | None], tag: str,
               sid: str, timeout_s: float) -> Iterator[Any]:
        """The operation's answer: Spark's schema (a StructType) first, then Arrow batches."""
        client = spark.client
        try:
            # Tags live per thread in the client: this generator runs on one thread.
            client.add_tag(tag)
            try:
                df = spark.sql(sql, args=args or None)
                plan = df._plan.to_proto(client)
                for item in client.to_table_as_iterator(plan, {}):
                    if isinstance(item, pa.Table):
                        yield from item.to_batches() or [_empty(item.schema)]
                    else:
                        yield item
            finally:
                # The set of this thread's tags (the stream may be read on another thread
                # than the one that started it).
                client.get_tags().discard(tag)
        except GeneratorExit:
            self.interrupt(sid)
            raise
        except Exception as exc:
            raise self._translate(exc, sid, timeout_s) from exc

    def _translate(self, exc: Exception, sid: str, timeout_s: float) -> EngineError:
        with self._lock:
            reason = self._reasons.get(sid)
        if reason == "timeout":
            return Timeout(f"[STATEMENT_TIMEOUT] The statement ran longer than its limit of "
                           f"{timeout_s:g} seconds and was cancelled.")
        if reason is not None:
            return Cancelled("The statement was cancelled.")
        if isinstance(exc, EngineError):
            return exc
        text = str(exc).strip()
        name = type(exc).__name__
        if name == "ParseException":
            return ParseError(f"[PARSE_SYNTAX_ERROR] {_first_line(text)}")
        if name == "AnalysisException":
            return AnalysisError(f"[ANALYSIS_ERROR] {_first_line(text)}", sql_state="42000")
        if any(mark in text for mark in _DOWN):
            return DistributedUnavailable(
                f"the distributed engine at {self.url} is unavailable: {_first_line(text)}")
        return EngineError(f"the distributed engine failed: {name}: {_first_line(text)}")

    def _stop(self, sid: str, reason: str) -> bool:
        with self._lock:
            tag = self._tags.get(sid)
            if tag is None:
                return False
            self._reasons.setdefault(sid, reason)
            session = self._session
        if session is not None:
            try:
                session.client.interrupt_tag(tag)
            except Exception:  # the operation may have ended meanwhile: nothing to stop
                return False
        return True

    def interrupt(self, statement_id: str) -> bool:
        """Interrupt a running statement's Spark Connect operation; False if not running."""
        return self._stop(statement_id, "cancelled")

    def close(self) -> None:
        """Interrupt what runs and close the session (its gRPC channel)."""
        with self._lock:
            session, self._session = self._session, None
            tags = list(self._tags.values())
        if session is None:
            return
        # Best effort: the session closes all the same over a dead channel.
        for tag in tags:
            with contextlib.suppress(Exception):
                session.client.interrupt_tag(tag)
        with contextlib.suppress(Exception):
            session.client.close()


def _head(items: Iterator[Any]) -> tuple[pa.Schema, pa.RecordBatch | None]:
    """The result's Arrow schema and first batch, reading up to the first batch.

    Spark sends its schema before the rows; an empty result may carry no Arrow batch at all,
    so its schema then comes from Spark's StructType.
    """
    spark_schema = None
    for item in items:
        if isinstance(item, pa.RecordBatch):
            return item.schema, item
        spark_schema = item
    if spark_schema is None:
        raise EngineError("the distributed engine answered without a schema")
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(spark_schema), None


def _chain(first: pa.RecordBatch | None, rest: Iterator[Any]) -> Iterator[pa.RecordBatch]:
    try:
        if first is not None:
            yield first
        for item in rest:
            if isinstance(item, pa.RecordBatch):
                yield item
    finally:
        close = getattr(rest, "close", None)
        if callable(close):
            close()


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


__all__ = ["LANE", "DistributedLane", "DistributedUnavailable", "spark_sql"]
