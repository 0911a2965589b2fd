"""Arrow types in Databricks naming, and as DuckDB SQL types.

>>> import pyarrow as pa
>>> [(c.name, c.type_name, c.type_text) for c in columns_for(pa.schema([("n", pa.int64())]))]
[('n', 'LONG', 'BIGINT')]
"""

from __future__ import annotations

import pyarrow as pa

from sqlgate.types import ColumnInfo

# Arrow primitive -> (Databricks type_name, type_text)
_PRIMITIVES: tuple[tuple[pa.DataType, str, str], ...] = (
    (pa.bool_(), "BOOLEAN", "BOOLEAN"),
    (pa.int8(), "BYTE", "TINYINT"),
    (pa.int16(), "SHORT", "SMALLINT"),
    (pa.int32(), "INT", "INT"),
    (pa.int64(), "LONG", "BIGINT"),
    # Databricks has no unsigned types; widen so every value fits
    (pa.uint8(), "SHORT", "SMALLINT"),
    (pa.uint16(), "INT", "INT"),
    (pa.uint32(), "LONG", "BIGINT"),
    (pa.uint64(), "DECIMAL", "DECIMAL(20,0)"),
    (pa.float16(), "FLOAT", "FLOAT"),
    (pa.float32(), "FLOAT", "FLOAT"),
    (pa.float64(), "DOUBLE", "DOUBLE"),
    (pa.string(), "STRING", "STRING"),
    (pa.large_string(), "STRING", "STRING"),
    (pa.string_view(), "STRING", "STRING"),
    (pa.binary(), "BINARY", "BINARY"),
    (pa.large_binary(), "BINARY", "BINARY"),
    (pa.binary_view(), "BINARY", "BINARY"),
    (pa.date32(), "DATE", "DATE"),
    (pa.date64(), "DATE", "DATE"),
    (pa.null(), "NULL", "VOID"),
)


def type_name(t: pa.DataType) -> str:
    """Databricks ``type_name`` (LONG, DECIMAL, ARRAY, ...) of an Arrow type."""
    return _describe(t)[0]


def type_text(t: pa.DataType) -> str:
    """Databricks ``type_text`` (BIGINT, DECIMAL(18,4), ARRAY<STRING>, ...) of an Arrow type."""
    return _describe(t)[1]


def _describe(t: pa.DataType) -> tuple[str, str]:
    for arrow, name, text in _PRIMITIVES:
        if t == arrow:
            return name, text
    if pa.types.is_decimal(t):
        return "DECIMAL", f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return ("TIMESTAMP", "TIMESTAMP") if t.tz else ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ")
    if pa.types.is_time(t):
        # Databricks has no TIME type; clients receive the text form
        return "STRING", "STRING"
    if pa.types.is_fixed_size_binary(t):
        return "BINARY", "BINARY"
    if pa.types.is_duration(t):
        return "INTERVAL", "INTERVAL DAY TO SECOND"
    if pa.types.is_interval(t):
        return "INTERVAL", "INTERVAL"
    if pa.types.is_dictionary(t):
        return _describe(t.value_type)
    if (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
        or pa.types.is_list_view(t)
    ):
        return "ARRAY", f"ARRAY<{type_text(t.value_type)}>"
    if pa.types.is_map(t):
        return "MAP", f"MAP<{type_text(t.key_type)}, {type_text(t.item_type)}>"
    if pa.types.is_struct(t):
        inner = ", ".join(f"{f.name}: {type_text(f.type)}" for f in t)
        return "STRUCT", f"STRUCT<{inner}>"
    return "STRING", "STRING"


def columns_for(schema: pa.Schema) -> tuple[ColumnInfo, ...]:
    """The result columns of an Arrow schema in Databricks naming."""
    out = []
    for i, f in enumerate(schema):
        name, text = _describe(f.type)
        decimal = pa.types.is_decimal(f.type)
        out.append(
            ColumnInfo(
                name=f.name,
                position=i,
                type_name=name,
                type_text=text,
                type_precision=f.type.precision if decimal else None,
                type_scale=f.type.scale if decimal else None,
                type_interval_type="DAY TO SECOND" if pa.types.is_duration(f.type) else None,
            )
        )
    return tuple(out)


def duck_type(t: pa.DataType) -> str:
    """The DuckDB SQL type of an Arrow type, for typed constants and empty scans."""
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return f"{duck_type(t.value_type)}[]"
    if pa.types.is_map(t):
        return f"MAP({duck_type(t.key_type)}, {duck_type(t.item_type)})"
    if pa.types.is_struct(t):
        return "STRUCT(" + ", ".join(f'"{f.name}" {duck_type(f.type)}' for f in t) + ")"
    text = type_text(t)
    return {"STRING": "VARCHAR", "BINARY": "BLOB", "VOID": "INTEGER"}.get(text, text)


def normalize_schema(schema: pa.Schema) -> pa.Schema:
    """Replace view types (string_view, binary_view) that many Arrow consumers cannot read."""
    return pa.schema([pa.field(f.name, _plain(f.type), f.nullable) for f in schema])


def _plain(t: pa.DataType) -> pa.DataType:
    if pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_list_view(t) or pa.types.is_list(t):
        return pa.list_(pa.field(t.value_field.name, _plain(t.value_type)))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _plain(f.type), f.nullable) for f in t])
    if pa.types.is_map(t):
        key, item = _plain(t.key_type), _plain(t.item_type)
        if key == t.key_type and item == t.item_type:
            return t  # also keeps MAP(NULL, NULL) of map(), whose null key type Arrow refuses
        return pa.map_(key, item)
    return t


def databricks_ddl_type(t: pa.DataType) -> str:
    """Lower-case type as DESCRIBE prints it (``bigint``, ``decimal(15,2)``, ``array<string>``)."""
    return type_text(t).lower()


__all__ = ["columns_for", "databricks_ddl_type", "duck_type", "normalize_schema", "type_name",
           "type_text"]
