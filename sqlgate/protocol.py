"""The gateway↔worker protocol: the plain messages both sides import, and their wire form.

A worker is an Arrow Flight server (``engine.worker.server``); the gateway's pool reaches it
with a Flight client (``gateway.pool.client``). Nothing here imports Flight, duckdb or
starlette: read this module and you know everything that crosses the boundary.

- ``do_get(Ticket(encode_task(task)))`` runs a statement. INLINE results stream back as Arrow
  batches; EXTERNAL_LINKS results (and HYBRID ones past the inline limit) are written by the
  worker to the result store as chunks and stream no rows. App-metadata carries the two
  messages of a result stream: `ChunkStored` (on an empty batch) for each chunk stored while
  the statement still runs (so its link can go out early), and `ResultEnd`, always last, on
  the last batch of rows (an empty batch when there are none).
- A failure is a ``FlightServerError`` whose ``extra_info`` is `encode_error(StatementError)`.
- `Action` lists the control calls; each answers one JSON body (`PingReply`, `CancelReply`,
  a `CostEstimate`, `PrefetchReply`, `ReleaseReply`).
- A worker on the gateway's own host also takes statements on a Unix socket
  (``engine.worker.stream``, read by ``gateway.pool.stream`` on the gateway's event loop):
  the same messages in `Frame`s, each a `FRAME_HEADER` (kind, payload length) and its
  payload. The gateway sends a TASK; the worker answers BATCH frames (each one record batch
  as a whole Arrow IPC stream), MESSAGE frames (`ChunkStored`, and `ResultEnd`, which ends
  the answer) or one ERROR (`encode_error`), which ends it too. A connection carries one
  statement at a time, one after another.

Decoders ignore unknown fields, so a worker one version older still understands a gateway.

>>> decode_task(encode_task(StatementTask("s1", "SELECT 1"))).sql
'SELECT 1'
>>> decode_message(encode_message(ChunkStored(ChunkInfo(0, 0, 10, 100, "k/0.arrow")))).chunk.key
'k/0.arrow'
"""

from __future__ import annotations

import dataclasses
import json
import struct
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from sqlgate.types import (
    ChunkInfo,
    ColumnInfo,
    CostEstimate,
    Disposition,
    Parameter,
    ResultFormat,
    ResultManifest,
    StatementError,
    StatementTask,
)

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

# EXTERNAL_LINKS results are cut (truncated) here when the client set no byte_limit.
EXTERNAL_DEFAULT_BYTE_LIMIT = 100 * 1024**3


class Action(StrEnum):
    """The worker's control calls (Flight actions); the body of each is below its name."""

    PING = "ping"  # b"" -> PingReply; answers even while statements run (the heartbeat)
    CANCEL = "cancel"  # statement id -> CancelReply
    ESTIMATE = "estimate"  # task -> CostEstimate (from the Delta log, nothing executed)
    PREFETCH = "prefetch"  # task -> PrefetchReply (first files of a queued statement)
    RELEASE_PREFETCH = "release_prefetch"  # statement id -> ReleaseReply
    SHUTDOWN = "shutdown"  # b"" -> {}; stops serving once in-flight calls end


class Frame(IntEnum):
    """The kinds of frame on a local worker's statement socket; the payload of each is
    below its name."""

    TASK = 1  # gateway -> worker: encode_task(task)
    BATCH = 2  # worker -> gateway: one record batch, as an Arrow IPC stream of its own
    MESSAGE = 3  # worker -> gateway: encode_message(ChunkStored | ResultEnd)
    ERROR = 4  # worker -> gateway: encode_error(StatementError)


# A frame's header: its kind and its payload's length in bytes (network order).
FRAME_HEADER = struct.Struct("!BQ")


@dataclass(frozen=True)
class ChunkStored:
    """A result chunk stored while its statement still runs."""

    chunk: ChunkInfo


@dataclass(frozen=True)
class ResultEnd:
    """The last message of every result stream: the result's shape and where it is."""

    columns: tuple[ColumnInfo, ...] = ()
    total_row_count: int = 0
    total_byte_count: int = 0
    truncated: bool = False
    external: bool = False
    chunks: tuple[ChunkInfo, ...] = ()
    num_modified_rows: int | None = None
    compression: str | None = None
    # Set when another engine produced the rows: "distributed" (engine/distributed.py).
    lane: str | None = None

    def manifest(self, fmt: ResultFormat) -> ResultManifest:
        """The contract's manifest for a result of format `fmt`."""
        return ResultManifest(
            format=fmt, columns=self.columns, chunks=self.chunks,
            total_row_count=self.total_row_count, total_byte_count=self.total_byte_count,
            truncated=self.truncated, external=self.external, compression=self.compression,
            num_modified_rows=self.num_modified_rows,
            extra={"lane": self.lane} if self.lane else {},
        )


@dataclass(frozen=True)
class PingReply:
    """A worker's heartbeat answer; `node` names the host it runs on."""

    pid: int = 0
    running: int = 0
    served: int = 0
    uptime_s: float = 0.0
    node: str = ""


@dataclass(frozen=True)
class CancelReply:
    """Whether the statement was running there (and was interrupted)."""

    cancelled: bool = False


@dataclass(frozen=True)
class PrefetchReply:
    """How many of a queued statement's files the worker started fetching."""

    files: int = 0


@dataclass(frozen=True)
class ReleaseReply:
    """Whether a queued statement's prefetch was there to drop."""

    released: bool = False


def inline_limit_message(limit: int) -> str:
    """The Databricks text for an INLINE result over the inline byte limit."""
    return (
        "Inline byte limit exceeded. Statements executed with disposition=INLINE can have a "
        f"result size of at most {limit} bytes. Please execute the statement with "
        "disposition=EXTERNAL_LINKS if you want to download the full result."
    )


# --------------------------------------------------------------------------- wire form


def plain(value: Any) -> Any:
    """A dataclass (nested ones, tuples, lists and dicts of them) as plain dicts and lists.

    What `dataclasses.asdict` gives for JSON, without its deep copy of every leaf (a task
    took ~60 µs that way, on every statement, both to the worker and into the journal).
    """
    cls = type(value)
    if cls in _LEAVES:  # most values of a task or a manifest: checked first, by exact type
        return value
    names = _FIELDS.get(cls)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {name: plain(getattr(value, name)) for name in names}
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


_FIELDS: dict[type, tuple[str, ...]] = {}
_LEAVES = frozenset({str, int, float, bool, type(None)})


def _json(obj: Any) -> bytes:
    return _encode(plain(obj)).encode()


def _enum_value(obj: object) -> object:
    value = getattr(obj, "value", None)
    if value is None:
        raise TypeError(f"not JSON serializable: {obj!r}")
    return value


# `json.dumps(obj, default=...)` builds a new JSONEncoder on every call; this one is built once
# (the same output: only `default` differs from json's own cached encoder).
_encode = json.JSONEncoder(default=_enum_value).encode


T = TypeVar("T")


def _known(cls: type[T], raw: dict[str, Any]) -> dict[str, Any]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = frozenset(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    return {k: v for k, v in raw.items() if k in names}


# Field names per message class (a fixed set of classes: this module's and sqlgate.types').
_NAMES: dict[type, frozenset[str]] = {}


def encode_task(task: StatementTask) -> bytes:
    """A task as the do_get ticket and the estimate/prefetch body.

    The same JSON as `plain` would give, built directly: every field of a task but its
    parameters is already JSON (tuples become lists, the StrEnums their values), and this
    runs for every statement.
    """
    return _encode(task_fields(task)).encode()


def task_fields(task: StatementTask) -> dict[str, Any]:
    """A task's fields as JSON-ready values (the ticket's, and the journal's record's)."""
    fields = dict(vars(task))
    if task.parameters:
        fields["parameters"] = [plain(p) for p in task.parameters]
    return fields


def decode_task(data: bytes) -> StatementTask:
    """A ticket back into its task (ValueError, TypeError or KeyError when malformed).

    Runs for every statement on the worker, so it converts only what JSON cannot carry (the
    parameters, the two enums, tuples) instead of reconstructing field by field.
    """
    raw = json.loads(data)
    if not isinstance(raw, dict):
        raise TypeError(f"a task is a JSON object, not {type(raw).__name__}")
    kwargs = {k: v for k, v in raw.items() if k in _TASK_FIELDS}
    params = kwargs.get("parameters")
    kwargs["parameters"] = tuple(Parameter(**p) for p in params) if params else ()
    kwargs["disposition"] = Disposition(kwargs.get("disposition", Disposition.INLINE))
    kwargs["format"] = ResultFormat(kwargs.get("format", ResultFormat.JSON_ARRAY))
    for name in _TASK_TUPLES:  # tuples (and tuples of pairs) travel as JSON lists
        value = kwargs.get(name)
        if isinstance(value, list):
            kwargs[name] = _tuples(value)
    return StatementTask(**kwargs)


_TASK_FIELDS = frozenset(f.name for f in dataclasses.fields(StatementTask))
# The task's tuple-typed fields but `parameters` (a tuple of Parameter, converted above).
_TASK_TUPLES = tuple(
    f.name for f in dataclasses.fields(StatementTask)
    if f.name != "parameters" and "tuple[" in str(f.type)
)


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def encode_estimate(est: CostEstimate) -> bytes:
    """A cost estimate (the ``estimate`` action's answer)."""
    return _json(est)


def decode_estimate(data: bytes) -> CostEstimate:
    """A cost estimate back from its JSON."""
    kwargs = _known(CostEstimate, json.loads(data))
    kwargs["tables"] = tuple(kwargs.get("tables") or ())
    kwargs["versions"] = _tuples(kwargs.get("versions") or [])  # (table, version) pairs
    return CostEstimate(**kwargs)


def encode_error(err: StatementError) -> bytes:
    """A statement error as FlightServerError extra_info, or an ERROR frame's payload."""
    return _json(err)


def decode_error(data: bytes | None) -> StatementError | None:
    """extra_info (or an ERROR frame) back into the error; None when it is not ours."""
    if not data:
        return None
    try:
        raw = json.loads(data)
        return StatementError(raw["error_code"], raw["message"], raw.get("sql_state"))
    except (ValueError, KeyError, TypeError):
        return None


def encode_message(message: ChunkStored | ResultEnd) -> bytes:
    """A result-stream message as app-metadata.

    A `ResultEnd` leaves out every field at its default (decoders fill those in, as for a
    field an older peer does not know): the message goes with every statement, and the
    shorter JSON is cheaper to build on the worker and to parse on the gateway.
    """
    if isinstance(message, ChunkStored):
        return _encode({"chunk": plain(message.chunk)}).encode()
    end = _sparse(message, _END_SCALARS)
    if message.columns:
        end["columns"] = [_sparse(c, _COLUMN_FIELDS) for c in message.columns]
    if message.chunks:
        end["chunks"] = [plain(c) for c in message.chunks]
    return _encode({"end": end}).encode()


def is_chunk_message(data: ReadableBuffer) -> bool:
    """Whether app-metadata is a `ChunkStored` (without decoding it): more follows it.

    >>> is_chunk_message(encode_message(ChunkStored(ChunkInfo(0, 0, 1, 8))))
    True
    """
    return bytes(memoryview(data)[:len(_CHUNK_PREFIX)]) == _CHUNK_PREFIX


_CHUNK_PREFIX = b'{"chunk"'


def _sparse(obj: Any, fields: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """`obj`'s plain `fields` that differ from their defaults (a required field's default is
    `dataclasses.MISSING`, which no value equals)."""
    out = {}
    for name, default in fields:
        value = getattr(obj, name)
        if value != default:
            out[name] = value
    return out


def _defaults(cls: type, *, but: tuple[str, ...] = ()) -> tuple[tuple[str, Any], ...]:
    return tuple((f.name, f.default) for f in dataclasses.fields(cls) if f.name not in but)


# The fields `encode_message` writes when they are not at their default: ResultEnd's plain
# ones (its columns and chunks are lists of their own) and every one of a column.
_END_SCALARS = _defaults(ResultEnd, but=("columns", "chunks"))
_COLUMN_FIELDS = _defaults(ColumnInfo)


def decode_message(data: bytes) -> ChunkStored | ResultEnd:
    """App-metadata back into its message (ValueError when it is neither)."""
    raw = json.loads(data)
    if not isinstance(raw, dict):
        raise ValueError("result stream message is not a JSON object")
    if "chunk" in raw:
        return ChunkStored(ChunkInfo(**_known(ChunkInfo, raw["chunk"])))
    if "end" not in raw:
        raise ValueError("result stream message is neither a chunk nor the end")
    end = _known(ResultEnd, raw["end"])
    columns = end.get("columns")
    end["columns"] = tuple(ColumnInfo(**_known(ColumnInfo, c)) for c in columns) if columns else ()
    chunks = end.get("chunks")
    end["chunks"] = tuple(ChunkInfo(**_known(ChunkInfo, c)) for c in chunks) if chunks else ()
    return ResultEnd(**end)


def encode_reply(reply: PingReply | CancelReply | PrefetchReply | ReleaseReply) -> bytes:
    """An action's answer."""
    return _json(reply)


R = TypeVar("R", PingReply, CancelReply, PrefetchReply, ReleaseReply)


def decode_reply(cls: type[R], data: bytes) -> R:
    """An action's answer back as `cls` (an empty body gives its defaults)."""
    return cls(**_known(cls, json.loads(data or b"{}")))


__all__ = [
    "EXTERNAL_DEFAULT_BYTE_LIMIT",
    "FRAME_HEADER",
    "Action",
    "CancelReply",
    "ChunkStored",
    "Frame",
    "PingReply",
    "PrefetchReply",
    "ReleaseReply",
    "ResultEnd",
    "decode_error",
    "decode_estimate",
    "decode_message",
    "decode_reply",
    "decode_task",
    "encode_error",
    "encode_estimate",
    "encode_message",
    "encode_reply",
    "encode_task",
    "inline_limit_message",
    "is_chunk_message",
    "task_fields",
]
