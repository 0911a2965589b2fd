"""Arrow rows as JSON_ARRAY rows: every non-null value a string, NULL as None.

The string forms are the ones Databricks clients parse (lsql's converters): booleans
``true``/``false``, integers and decimals as decimal text (``0.0100`` keeps its scale), dates
``YYYY-MM-DD``, timestamps ISO-8601 with ``T`` (and ``Z`` when zoned), binary as base64,
arrays/maps/structs as JSON text.

>>> import pyarrow as pa
>>> rows_as_strings(pa.record_batch({"a": [1, None], "b": [True, False]}))
[['1', 'true'], [None, 'false']]
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

Row = list[str | None]


def _float_text(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return repr(v)


def _json_default(v: Any) -> Any:
    if isinstance(v, bytes):
        return base64.b64encode(v).decode("ascii")
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, dt.timedelta):
        return str(v)
    return str(v)


def _nested_text(v: Any) -> str:
    if isinstance(v, list) and v and isinstance(v[0], tuple):
        v = dict(v)  # Arrow maps come back as lists of (key, value) pairs
    return json.dumps(v, default=_json_default, separators=(",", ":"))


def _timestamp_text(v: dt.datetime) -> str:
    text = v.isoformat()
    return text.replace("+00:00", "Z")


def _column_strings(col: pa.Array) -> list[str | None]:
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return col.to_pylist()
    if pa.types.is_boolean(t):
        return [None if v is None else ("true" if v else "false") for v in col.to_pylist()]
    if pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_date(t):
        # Arrow's own casts are vectorised and give exactly the forms clients expect.
        return pc.cast(col, pa.string()).to_pylist()
    if pa.types.is_floating(t):
        return [None if v is None else _float_text(v) for v in col.to_pylist()]
    if pa.types.is_timestamp(t):
        fmt: Callable[[Any], str] = _timestamp_text
    elif pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        def fmt(v: Any) -> str:
            return base64.b64encode(v).decode("ascii")
    elif pa.types.is_nested(t):
        fmt = _nested_text
    elif pa.types.is_null(t):
        return [None] * len(col)
    else:
        fmt = str
    return [None if v is None else fmt(v) for v in col.to_pylist()]


def rows_as_strings(batch: pa.RecordBatch | pa.Table) -> list[Row]:
    """The rows of a batch (or table) as lists of strings, None for NULL."""
    columns = [
        _column_strings(col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col)
        for col in batch.columns
    ]
    if not columns:
        return [[] for _ in range(batch.num_rows)]
    return [list(r) for r in zip(*columns, strict=True)]


__all__ = ["Row", "rows_as_strings"]
