"""ExecuteStatement request bodies: bounded reading and field-by-field validation.

Every problem is a 400 INVALID_PARAMETER_VALUE naming the field (or 413 for sizes); unknown
fields are ignored, since official connectors send undocumented ones (``query_tags``...);
``session_id`` binds the statement to a session (gateway/rest/sessions.py).

>>> req = parse_execute({"statement": "SELECT 1", "warehouse_id": "w", "wait_timeout": "30.0s"},
...                     max_statement_bytes=1024)
>>> (req.wait_timeout_s, req.disposition.value, req.format.value)
(30.0, 'INLINE', 'JSON_ARRAY')
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from engine.paramtypes import parameter_type
from gateway.errors import BadRequest, InvalidParameter, PayloadTooLarge
from sqlgate.types import Disposition, Parameter, ResultFormat

# ASCII digits only: `\d` would also take Arabic-Indic and other Unicode digits
_WAIT = re.compile(r"^([0-9]{1,3}(?:\.[0-9]{1,6})?)s$", re.ASCII)
# No ExecuteStatement body nests deeper than this (parameters are a list of objects)
_MAX_JSON_DEPTH = 32
_UNSUPPORTED_PARAM_TYPES = ("ARRAY", "MAP", "STRUCT")
_MAX_PARAMETERS = 1024
INLINE_FORMAT_MESSAGE = "The format field must be JSON_ARRAY when the disposition field is INLINE."


@dataclass(frozen=True)
class ExecuteRequest:
    """A validated ExecuteStatement request."""

    statement: str
    warehouse_id: str
    catalog: str | None = None
    schema: str | None = None
    parameters: tuple[Parameter, ...] = ()
    row_limit: int | None = None
    byte_limit: int | None = None
    disposition: Disposition = Disposition.INLINE
    format: ResultFormat = ResultFormat.JSON_ARRAY
    wait_timeout_s: float = 10.0
    on_wait_timeout: str = "CONTINUE"
    compression: str | None = None
    session_id: str | None = None


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw request body, read with a bound (413 early on a too-large Content-Length, and
    while streaming, since Content-Length may be absent or lie)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and (
            int(declared) > max_bytes):
        raise PayloadTooLarge(f"Request body is larger than the limit of {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"Request body is larger than the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_body(request: Request, max_bytes: int) -> Any:
    """The request body parsed as JSON ({} when empty), read with `read_body`'s bound."""
    raw = await read_body(request, max_bytes)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"Malformed request body: not valid JSON ({exc})") from exc
    except RecursionError as exc:  # the decoder recurses once per nesting level
        raise BadRequest("Malformed request body: JSON nested too deeply") from exc
    _check_json(body)
    return body


def _check_json(body: Any) -> None:
    """Refuse what valid JSON may hold but no request should: deep nesting, and strings with
    lone surrogates (``"\\ud800"`` decodes, but is not text and cannot be encoded again)."""
    stack = [(body, 0)]
    while stack:  # iterative: the depth is what is being checked
        value, depth = stack.pop()
        if depth > _MAX_JSON_DEPTH:
            raise BadRequest(
                f"Malformed request body: JSON nested deeper than {_MAX_JSON_DEPTH} levels")
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest("Malformed request body: a string holds a lone UTF-16 surrogate "
                         f"at position {exc.start}") from exc


def _opt_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidParameter(f"{name} must be a string, got {type(value).__name__}")
    return value


def _opt_nonneg_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    # int64 fields arrive as JSON numbers or numeric strings (proto3 JSON), ASCII digits only.
    if isinstance(value, bool) or not isinstance(value, int | str) or (
            isinstance(value, str) and not (value.isascii() and value.strip().isdigit())):
        raise InvalidParameter(f"{name} must be a non-negative integer, got {value!r}")
    try:
        number = int(value)
    except ValueError as exc:
        raise InvalidParameter(f"{name} must be a non-negative integer, got {value!r}") from exc
    if number < 0 or number >= 2**63:
        raise InvalidParameter(f"{name} must be a non-negative integer, got {value!r}")
    return number


def _choice(body: dict[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, str) or value.upper() not in allowed:
        raise InvalidParameter(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value.upper()


def parse_wait_timeout(value: Any) -> float:
    """``"0s"`` or ``"5s"``..``"50s"`` (``"30.0s"`` accepted) as seconds."""
    if value is None:
        return 10.0
    match = _WAIT.fullmatch(value) if isinstance(value, str) else None
    seconds = float(match.group(1)) if match else -1.0
    if not match or not (seconds == 0 or 5 <= seconds <= 50):
        raise InvalidParameter(
            f"wait_timeout must be 0s or between 5s and 50s (e.g. '10s'), got {value!r}"
        )
    return seconds


def _parameters(value: Any) -> tuple[Parameter, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidParameter("parameters must be a list of {name, value, type} objects")
    if len(value) > _MAX_PARAMETERS:
        raise InvalidParameter(f"at most {_MAX_PARAMETERS} parameters are allowed")
    out: list[Parameter] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise InvalidParameter(f"parameters[{i}] must be an object with a name")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidParameter(f"parameters[{i}].name must be a non-empty string")
        if name in seen:
            raise InvalidParameter(f"parameter {name!r} is given more than once")
        seen.add(name)
        raw = item.get("value")
        if raw is not None and not isinstance(raw, str):
            raise InvalidParameter(f"parameters[{i}].value must be a string or null")
        typ = item.get("type")
        if typ is None:
            typ = "STRING"
        if not isinstance(typ, str) or not typ.strip():
            raise InvalidParameter(f"parameters[{i}].type must be a SQL type name")
        if typ.strip().upper().startswith(_UNSUPPORTED_PARAM_TYPES):
            raise InvalidParameter(
                f"parameters[{i}].type {typ!r} is not supported (ARRAY, MAP and STRUCT are not)"
            )
        try:
            typ = parameter_type(typ)
        except ValueError as exc:
            raise InvalidParameter(
                f"parameters[{i}].type {typ!r} is not a Databricks SQL type "
                "(e.g. INT, STRING, DECIMAL(10,2), DATE, TIMESTAMP)") from exc
        out.append(Parameter(name=name, value=raw, type=typ))
    return tuple(out)


def parse_execute(body: Any, *, max_statement_bytes: int) -> ExecuteRequest:
    """Validate an ExecuteStatement body; raises InvalidParameter / PayloadTooLarge."""
    if not isinstance(body, dict):
        raise InvalidParameter("The request body must be a JSON object")
    statement = body.get("statement")
    if not isinstance(statement, str) or not statement.strip():
        raise InvalidParameter("statement is required and must be a non-empty string")
    if len(statement.encode("utf-8")) > max_statement_bytes:
        raise PayloadTooLarge(
            f"statement is larger than the limit of {max_statement_bytes} bytes"
        )
    warehouse_id = body.get("warehouse_id")
    if not isinstance(warehouse_id, str) or not warehouse_id:
        raise InvalidParameter("warehouse_id is required and must be a non-empty string")
    disposition = Disposition(
        _choice(body, "disposition", tuple(d.value for d in Disposition), "INLINE")
    )
    fmt = ResultFormat(_choice(body, "format", tuple(f.value for f in ResultFormat), "JSON_ARRAY"))
    if disposition is Disposition.INLINE and fmt is not ResultFormat.JSON_ARRAY:
        raise InvalidParameter(INLINE_FORMAT_MESSAGE)
    compression = _choice(body, "result_compression", ("LZ4_FRAME", "NONE"), "NONE")
    return ExecuteRequest(
        statement=statement,
        warehouse_id=warehouse_id,
        catalog=_opt_str(body, "catalog"),
        schema=_opt_str(body, "schema"),
        parameters=_parameters(body.get("parameters")),
        row_limit=_opt_nonneg_int(body, "row_limit"),
        byte_limit=_opt_nonneg_int(body, "byte_limit"),
        disposition=disposition,
        format=fmt,
        wait_timeout_s=parse_wait_timeout(body.get("wait_timeout")),
        on_wait_timeout=_choice(body, "on_wait_timeout", ("CONTINUE", "CANCEL"), "CONTINUE"),
        compression=None if compression == "NONE" else compression,
        session_id=_opt_str(body, "session_id") or None,
    )


__all__ = [
    "INLINE_FORMAT_MESSAGE",
    "ExecuteRequest",
    "parse_execute",
    "parse_wait_timeout",
    "read_body",
    "read_json_body",
]
