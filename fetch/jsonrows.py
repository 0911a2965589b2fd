"""Result values as the strings of the Statement Execution API's JSON_ARRAY (and CSV) format.

Every non-null value becomes a string, NULL stays None::

    >>> import pyarrow as pa
    >>> batch = pa.record_batch({"b": [True, None], "d": pa.array([1.5, 2.0])})
    >>> rows_as_strings(batch)
    [['true', '1.5'], [None, '2.0']]

Forms follow what Databricks clients parse: booleans ``true``/``false``, decimals with their
scale (``0.0100``), dates ``YYYY-MM-DD``, timestamps ISO-8601 (``Z`` when tz-aware), binary
as base64, ARRAY/MAP/STRUCT as JSON text, intervals as Spark's Thrift server prints them
(``1-2`` for YEAR TO MONTH, ``3 04:05:06.500000000`` for DAY TO SECOND). Flat columns are
converted with pyarrow.compute in one vectorised pass; only binary, interval and nested
columns go value by value.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

# Integer columns up to this many values are stringified in Python (see column_as_strings).
_SMALL = 64


def rows_as_strings(batch: pa.RecordBatch | pa.Table) -> list[list[str | None]]:
    """The rows of `batch` as lists of strings (None for NULL), in column order."""
    if batch.num_rows == 0:
        return []
    columns = [column_as_strings(batch.column(i)) for i in range(batch.num_columns)]
    if not columns:
        return [[] for _ in range(batch.num_rows)]
    return [list(row) for row in zip(*columns, strict=True)]


def column_as_strings(column: pa.Array | pa.ChunkedArray) -> list[str | None]:
    """One column's values as strings (None for NULL)."""
    if isinstance(column, pa.ChunkedArray):
        out: list[str | None] = []
        for chunk in column.chunks:
            out.extend(column_as_strings(chunk))
        return out
    typ = column.type
    if pa.types.is_integer(typ) and len(column) <= _SMALL:
        # Python's decimal text of an integer is Arrow's; for a few values it skips the
        # compute kernel's fixed cost (~30 us a column, more than a SELECT 1's JSON).
        return [None if v is None else str(v) for v in column.to_pylist()]
    if pa.types.is_dictionary(typ):
        return column_as_strings(column.dictionary_decode())
    if isinstance(typ, pa.BaseExtensionType):
        return column_as_strings(column.storage)
    return _as_string_array(column).to_pylist()


def _as_string_array(col: pa.Array) -> pa.Array:
    typ = col.type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return col
    if pa.types.is_string_view(typ):
        return col.cast(pa.string())
    if pa.types.is_null(typ):
        return pa.nulls(len(col), pa.string())
    if pa.types.is_boolean(typ):
        return pc.if_else(col, "true", "false")
    if pa.types.is_floating(typ):
        return _floats(col)
    if pa.types.is_timestamp(typ):
        return _timestamps(col)
    if pa.types.is_binary(typ) or pa.types.is_large_binary(typ) or pa.types.is_fixed_size_binary(
        typ
    ) or pa.types.is_binary_view(typ):
        return pa.array(
            [None if v is None else base64.b64encode(v).decode("ascii") for v in col.to_pylist()],
            pa.string(),
        )
    if pa.types.is_nested(typ):
        return pa.array(
            [None if v is None else _json_text(v, typ) for v in col.to_pylist()], pa.string()
        )
    if pa.types.is_time(typ):
        return _strip_fraction(col.cast(pa.string()))
    if pa.types.is_duration(typ) or pa.types.is_interval(typ):
        return pa.array([None if v is None else _interval_text(v) for v in col.to_pylist()],
                        pa.string())
    # integers, decimals (cast keeps the scale: 0.0100), dates, durations
    try:
        return col.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.array([None if v is None else str(v) for v in col.to_pylist()], pa.string())


def _floats(col: pa.Array) -> pa.Array:
    """Doubles as Spark prints them: `1.0` not `1`, `NaN`, `Infinity`."""
    text = col.cast(pa.string())
    integral = pc.match_substring_regex(text, r"^-?\d+$")
    text = pc.if_else(integral, pc.binary_join_element_wise(text, ".0", ""), text)
    text = pc.replace_substring_regex(text, r"^nan$", "NaN")
    return pc.replace_substring_regex(text, r"inf$", "Infinity")


def _timestamps(col: pa.Array) -> pa.Array:
    """ISO-8601 with `T`; tz-aware values in UTC with `Z`; no all-zero fraction."""
    typ = col.type
    aware = typ.tz is not None
    if aware:
        col = col.cast(pa.timestamp(typ.unit, "UTC"))
    text = _strip_fraction(pc.strftime(col, format="%Y-%m-%dT%H:%M:%S"))
    if aware:
        text = pc.binary_join_element_wise(text, "Z", "")
    return text


def _strip_fraction(text: pa.Array) -> pa.Array:
    # "13:21:53.120000" -> "13:21:53.12", "13:21:53.000000" -> "13:21:53"
    text = pc.replace_substring_regex(text, r"(\.\d*?)0+$", r"\1")
    return pc.replace_substring_regex(text, r"\.$", "")


def _json_text(value: Any, typ: pa.DataType) -> str:
    return json.dumps(_jsonable(value, typ), separators=(",", ":"), ensure_ascii=False)


def _jsonable(value: Any, typ: pa.DataType) -> Any:
    """A Python value made JSON-ready, guided by its Arrow type (maps become objects)."""
    if value is None:
        return None
    if pa.types.is_map(typ):
        return {_key_text(k): _jsonable(v, typ.item_type) for k, v in value}
    if pa.types.is_struct(typ):
        return {typ.field(i).name: _jsonable(value[typ.field(i).name], typ.field(i).type)
                for i in range(typ.num_fields)}
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(
        typ
    ) or pa.types.is_list_view(typ) or pa.types.is_large_list_view(typ):
        return [_jsonable(v, typ.value_type) for v in value]
    return _scalar_json(value)


def _key_text(key: Any) -> str:
    scalar = _scalar_json(key)
    return scalar if isinstance(scalar, str) else json.dumps(scalar)


def _scalar_json(value: Any) -> Any:
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        # JSON has no NaN/Infinity; Spark's to_json writes them as strings.
        return value if math.isfinite(value) else ("NaN" if value != value else
                                                   ("Infinity" if value > 0 else "-Infinity"))
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            text = value.astimezone(dt.UTC).replace(tzinfo=None).isoformat()
            return text + "Z"
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dt.timedelta | pa.MonthDayNano):
        return _interval_text(value)
    return str(value)


def year_month_text(months: int) -> str:
    """A YEAR TO MONTH interval as Spark's Thrift server prints it.

    >>> year_month_text(14), year_month_text(-14)
    ('1-2', '-1-2')
    """
    sign = "-" if months < 0 else ""
    years, rest = divmod(abs(months), 12)
    return f"{sign}{years}-{rest}"


def day_time_text(micros: int) -> str:
    """A DAY TO SECOND interval as Spark's Thrift server prints it.

    >>> day_time_text(((3 * 24 + 4) * 3600 + 5 * 60 + 6) * 1_000_000 + 500_000)
    '3 04:05:06.500000000'
    """
    sign = "-" if micros < 0 else ""
    rest, fraction = divmod(abs(micros), 60_000_000)
    rest, minutes = divmod(rest, 60)
    days, hours = divmod(rest, 24)
    seconds, micro = divmod(fraction, 1_000_000)
    return f"{sign}{days} {hours:02d}:{minutes:02d}:{seconds:02d}.{micro * 1000:09d}"


def _interval_text(value: Any) -> str:
    """DuckDB's INTERVAL (months, days, nanoseconds) or an Arrow duration as Spark text.

    Spark keeps YEAR TO MONTH and DAY TO SECOND apart; a value with months only prints as the
    first, anything else as the second (days are exactly 24 hours in Spark's day-time type).
    """
    if isinstance(value, dt.timedelta):
        return day_time_text((value.days * 86_400 + value.seconds) * 1_000_000
                             + value.microseconds)
    months, days, nanos = value.months, value.days, value.nanoseconds
    if months and not days and not nanos:
        return year_month_text(months)
    if months:
        return f"{months} months {days} days {nanos // 1000} microseconds"
    return day_time_text(days * 86_400_000_000 + nanos // 1000)
