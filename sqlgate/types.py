"""The contract between the packages: plain frozen dataclasses, nothing else.

Read this module and you know how the parts talk:

- the gateway builds a `StatementTask` from a REST or Thrift request;
- `engine.Engine.estimate(task)` answers a `CostEstimate` without executing;
- a worker runs the task and answers a `ResultManifest`: the columns in Databricks
  naming, and either the batches themselves (small, inline) or the `ChunkInfo` list of
  chunks it wrote to the result store (large, Cloud Fetch);
- every failure on the way is an error with an `error_code`, a message and, for SQL
  errors, a SQLSTATE (`StatementError`).

Nothing here imports duckdb, boto3 or starlette, so every package can depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Disposition(StrEnum):
    """Where a result goes: back through the gateway, or to the result store as chunks."""

    INLINE = "INLINE"
    EXTERNAL_LINKS = "EXTERNAL_LINKS"
    # Inline while the result stays under the inline threshold, chunks in the store past it
    # (what the Thrift front and the SEA connector's INLINE_OR_EXTERNAL_LINKS ask for).
    HYBRID = "INLINE_OR_EXTERNAL_LINKS"


class ResultFormat(StrEnum):
    """Serialization of result chunks (Statement Execution API `format`)."""

    JSON_ARRAY = "JSON_ARRAY"
    ARROW_STREAM = "ARROW_STREAM"
    CSV = "CSV"


class WarehouseState(StrEnum):
    """A SQL warehouse's state as the Warehouses API reports it (the pool's lifecycle)."""

    STARTING = "STARTING"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"


class StatementState(StrEnum):
    """The statement lifecycle of the Statement Execution API."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    CLOSED = "CLOSED"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset(
    {
        StatementState.SUCCEEDED,
        StatementState.FAILED,
        StatementState.CANCELED,
        StatementState.CLOSED,
    }
)


@dataclass(frozen=True)
class Parameter:
    """A named parameter marker `:name`; `value` is text (None is SQL NULL), `type` a SQL type."""

    name: str
    value: str | None = None
    type: str = "STRING"


@dataclass(frozen=True)
class StatementTask:
    """One statement to run, everything a worker needs and nothing it must look up."""

    statement_id: str
    sql: str
    workspace: str = "default"
    # Who runs it (the token's user): query history's executed_by, the result cache's key.
    user: str = ""
    catalog: str | None = None
    schema: str | None = None
    parameters: tuple[Parameter, ...] = ()
    row_limit: int | None = None
    byte_limit: int | None = None
    disposition: Disposition = Disposition.INLINE
    format: ResultFormat = ResultFormat.JSON_ARRAY
    # "LZ4_FRAME" compresses each external chunk as a whole LZ4 frame.
    compression: str | None = None
    # Seconds the statement may run before it is ended with DEADLINE_EXCEEDED.
    timeout_s: float | None = None
    # Past this many result bytes an INLINE statement fails and a HYBRID one goes external.
    inline_byte_limit: int = 25 * 1024 * 1024
    # Session conf use_cached_result: False never answers from (nor fills) the result cache.
    use_cached_result: bool = True
    # System tables the gateway attached for this statement: (name, base64 Arrow IPC), e.g.
    # ("system.query.history", <the caller's workspace's rows>); see engine.system.
    attachments: tuple[tuple[str, str], ...] = ()
    # The catalogs the workspace may use (None: all); any other is "not found" in the engine.
    catalogs: tuple[str, ...] | None = None
    # "distributed": the gateway sent it to the distributed lane (engine/distributed.py)
    # because its estimate scans more than distributed_min_bytes; None runs it locally.
    lane: str | None = None
    # The Thrift session the statement runs in: its temporary views are visible. REST
    # statements have none.
    session_id: str | None = None


@dataclass(frozen=True)
class CostEstimate:
    """What a statement will scan, from the Delta log after pruning, without executing it."""

    tables: tuple[str, ...] = ()
    files: int = 0
    bytes: int = 0
    rows: int = 0
    # "metadata" statements (SHOW, DESCRIBE, information_schema, constants) touch no data file.
    kind: str = "scan"
    # (table, Delta version) of every table read, and the statement's canonical text when
    # its result may be reused (a deterministic query over tables only; else None): with
    # the parameters and the caller, the result cache's key.
    versions: tuple[tuple[str, int], ...] = ()
    cache_text: str | None = None
    # A digest of the privilege checks this estimate made for the caller (engine.grants
    # `fingerprint`); "" when none were made: such a result is never cached.
    privileges: str = ""
    # The query's shape, literals stripped (engine.sqltext.fingerprint): the scheduler learns
    # runtimes per shape. Computed on the worker so the gateway never parses SQL.
    fingerprint: str = ""


@dataclass(frozen=True)
class ColumnInfo:
    """One result column in Databricks naming (`type_name` LONG, `type_text` BIGINT, ...)."""

    name: str
    position: int
    type_name: str
    type_text: str
    type_precision: int | None = None
    type_scale: int | None = None
    type_interval_type: str | None = None


@dataclass(frozen=True)
class ChunkInfo:
    """One result chunk; `key` names the object in the result store (external results only)."""

    chunk_index: int
    row_offset: int
    row_count: int
    byte_count: int
    key: str | None = None


@dataclass(frozen=True)
class ResultManifest:
    """Shape and size of a finished result."""

    format: ResultFormat
    columns: tuple[ColumnInfo, ...]
    chunks: tuple[ChunkInfo, ...] = ()
    total_row_count: int = 0
    total_byte_count: int = 0
    truncated: bool = False
    external: bool = False
    compression: str | None = None
    # Rows changed by DML (INSERT/UPDATE/DELETE/MERGE), None for queries.
    num_modified_rows: int | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class StatementError:
    """A failure as the client sees it: Databricks `error_code`, message, optional SQLSTATE."""

    error_code: str
    message: str
    sql_state: str | None = None


__all__ = [
    "ChunkInfo",
    "ColumnInfo",
    "CostEstimate",
    "Disposition",
    "Parameter",
    "ResultFormat",
    "ResultManifest",
    "StatementError",
    "StatementState",
    "StatementTask",
]
