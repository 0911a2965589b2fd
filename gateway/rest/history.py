"""The Query History API: ``GET /api/2.0/sql/history/queries``, as Databricks defines it.

Query parameters (the databricks-sdk flattens ``filter_by`` with dots)::

    filter_by.query_start_time_range.start_time_ms / .end_time_ms   (epoch ms, inclusive)
    filter_by.user_ids (repeated ints)   filter_by.user_names (sqlgate: repeated names)
    filter_by.warehouse_ids   filter_by.statuses (QUEUED RUNNING FINISHED FAILED CANCELED)
    filter_by.statement_ids   max_results (1-1000, default 100)   page_token   include_metrics

Answer: ``{"res": [QueryInfo...], "has_next_page": bool, "next_page_token": "..."}``, newest
first. A page token carries the filter and the position (start time, id) of the last row
shown, so a later page never repeats or skips rows however many arrive in between; with a
page token the other parameters are ignored, as in Databricks. Each workspace sees only its
own statements. The rows come from the state store's history (`gateway.core.store`).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.core.store import HistoryFilter, HistoryRecord, StateStore
from gateway.errors import GatewayError, InvalidParameter
from gateway.state import gateway_of

_STATUSES = ("QUEUED", "RUNNING", "FINISHED", "FAILED", "CANCELED",
             "STARTED", "COMPILING", "COMPILED")
MAX_RESULTS = 1000
_PREFIX = "filter_by."


def _ints(values: list[str], name: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in values)
    except ValueError as exc:
        raise InvalidParameter(f"{name} must be integers, got {values!r}") from exc


def _ms(params: Any, name: str, edge: float) -> float | None:
    # Times are shown rounded to the millisecond: a bound of n ms takes in what shows as n.
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return (int(raw) + edge) / 1000.0
    except ValueError as exc:
        raise InvalidParameter(f"{name} must be epoch milliseconds, got {raw!r}") from exc


def parse_filter(params: Any, workspace: str) -> tuple[HistoryFilter, bool]:
    """The filter and include_metrics of a request's query parameters (no page token)."""
    statuses = tuple(params.getlist(f"{_PREFIX}statuses"))
    bad = [s for s in statuses if s not in _STATUSES]
    if bad:
        raise InvalidParameter(f"filter_by.statuses: unknown status {bad[0]!r}; expected one "
                               f"of {', '.join(_STATUSES)}")
    raw_max = params.get("max_results", "100")
    try:
        limit = int(raw_max)
    except ValueError as exc:
        raise InvalidParameter(f"max_results must be an integer, got {raw_max!r}") from exc
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidParameter(f"max_results must be between 1 and {MAX_RESULTS}, got {limit}")
    metrics = params.get("include_metrics", "false").lower()
    if metrics not in ("true", "false"):
        raise InvalidParameter(f"include_metrics must be true or false, got {metrics!r}")
    span = f"{_PREFIX}query_start_time_range."
    flt = HistoryFilter(
        workspace=workspace,
        start_from=_ms(params, f"{span}start_time_ms", -0.5),
        start_until=_ms(params, f"{span}end_time_ms", 0.4999),
        user_names=tuple(params.getlist(f"{_PREFIX}user_names")),
        user_ids=_ints(params.getlist(f"{_PREFIX}user_ids"), "filter_by.user_ids"),
        warehouse_ids=tuple(params.getlist(f"{_PREFIX}warehouse_ids")),
        statuses=statuses,
        statement_ids=tuple(params.getlist(f"{_PREFIX}statement_ids")),
        limit=limit,
    )
    return flt, metrics == "true"


def encode_token(flt: HistoryFilter, metrics: bool, last: HistoryRecord) -> str:
    """A page token: the filter, include_metrics and the last row's position."""
    body = {"f": {k: v for k, v in flt.__dict__.items() if k not in ("workspace", "after")},
            "m": metrics, "a": [last.start_time, last.statement_id]}
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


def decode_token(token: str, workspace: str) -> tuple[HistoryFilter, bool]:
    """The filter a page token carries, bound to the caller's workspace."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                  for k, v in raw["f"].items()}
        after = (float(raw["a"][0]), str(raw["a"][1]))
        return HistoryFilter(workspace=workspace, after=after, **fields), bool(raw["m"])
    except (ValueError, KeyError, TypeError, IndexError, binascii.Error) as exc:
        raise InvalidParameter("page_token is not a token this API returned") from exc


def _ms_of(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def query_info(rec: HistoryRecord, metrics: bool) -> dict[str, Any]:
    """One history row as the API's QueryInfo."""
    start, end = _ms_of(rec.start_time), _ms_of(rec.end_time)
    duration = None if start is None or end is None else end - start
    out: dict[str, Any] = {
        "query_id": rec.statement_id, "status": rec.status, "query_text": rec.statement_text,
        "statement_type": rec.statement_type, "query_start_time_ms": start,
        "user_id": rec.user_id, "user_name": rec.user_name,
        "executed_as_user_id": rec.user_id, "executed_as_user_name": rec.user_name,
        "warehouse_id": rec.warehouse_id, "endpoint_id": rec.warehouse_id,
        "is_final": end is not None, "lookup_key": rec.statement_id,
        "channel_used": {"name": "CHANNEL_NAME_CURRENT"},
    }
    if end is not None:
        out.update(query_end_time_ms=end, execution_end_time_ms=end, duration=duration)
    if rec.rows_produced is not None:
        out["rows_produced"] = rec.rows_produced
    if rec.error_message:
        out["error_message"] = rec.error_message
    if rec.client_application:
        out["client_application"] = rec.client_application
    if rec.from_cache:
        out["cache_query_id"] = rec.statement_id
    if metrics:
        queue = rec.queue_ms
        m: dict[str, Any] = {"result_from_cache": rec.from_cache}
        if duration is not None:
            m["total_time_ms"] = duration
            m["execution_time_ms"] = max(0, duration - int(queue or 0))
        for key, value in (("rows_produced_count", rec.rows_produced),
                           ("read_bytes", rec.read_bytes),
                           ("read_files_count", rec.read_files),
                           ("network_sent_bytes", rec.result_bytes)):
            if value is not None:
                m[key] = value
        out["metrics"] = m
    return out


def list_page(store: StateStore, flt: HistoryFilter, metrics: bool) -> dict[str, Any]:
    """One page of the API's answer (blocking: call in a thread)."""
    want = flt.limit
    rows = store.list_history(HistoryFilter(**{**flt.__dict__, "limit": want + 1}))
    more = len(rows) > want
    rows = rows[:want]
    out: dict[str, Any] = {"res": [query_info(r, metrics) for r in rows], "has_next_page": more}
    if more:
        out["next_page_token"] = encode_token(flt, metrics, rows[-1])
    return out


async def list_queries(request: Request) -> Response:
    """GET /api/2.0/sql/history/queries."""
    gw = gateway_of(request)
    store: StateStore | None = gw.state
    if store is None:
        raise GatewayError(
            "Query history needs a state store; this gateway runs with state_store = none",
            error_code="FEATURE_DISABLED", http_status=400)
    workspace = request.state.principal.workspace
    params = request.query_params
    token = params.get("page_token")
    if token:
        flt, metrics = decode_token(token, workspace)
    else:
        flt, metrics = parse_filter(params, workspace)
    if gw.control is not None:
        # Read your own writes: what this gateway already answered is in the history.
        await gw.control.flush()
    return JSONResponse(await run_in_threadpool(list_page, store, flt, metrics))


routes = [Route("/api/2.0/sql/history/queries", list_queries, methods=["GET"])]

__all__ = ["decode_token", "encode_token", "list_page", "parse_filter", "query_info", "routes"]
