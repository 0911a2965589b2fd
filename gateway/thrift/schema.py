"""Result schemas on the Thrift wire: Arrow schema -> `TTableSchema`, and the Arrow schema a
client can read given the `useArrowNativeTypes` flags it sent.

The Hive schema names each column's type (`TTypeId`); the connector builds its cursor
`description` from it, and decimals must carry precision/scale qualifiers or it refuses
the result. `arrowSchema` (the serialized Arrow schema) is what it actually decodes with.

>>> import pyarrow as pa
>>> ts = table_schema(pa.schema([("x", pa.int64())]))
>>> ts.columns[0].typeDesc.types[0].primitiveEntry.type == ttypes.TTypeId.BIGINT_TYPE
True
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from databricks.sql.thrift_api.TCLIService import ttypes

T = ttypes.TTypeId


@dataclass(frozen=True)
class NativeTypes:
    """Which types the client reads natively in Arrow; the rest travel as strings."""

    timestamp: bool = True
    decimal: bool = True
    complex: bool = True
    interval: bool = False

    @classmethod
    def from_request(cls, flags: ttypes.TSparkArrowTypes | None) -> NativeTypes:
        """The flags of `TExecuteStatementReq.useArrowNativeTypes`; unset means not native."""
        if flags is None:
            # Clients that send nothing (older drivers, metadata RPCs) get Spark's defaults.
            return cls(timestamp=False, decimal=False, complex=False, interval=False)
        return cls(
            timestamp=bool(flags.timestampAsArrow),
            decimal=bool(flags.decimalAsArrow),
            complex=bool(flags.complexTypesAsArrow),
            interval=bool(flags.intervalTypesAsArrow),
        )


def type_id(t: pa.DataType) -> int:
    """The Hive `TTypeId` for an Arrow type."""
    if pa.types.is_boolean(t):
        return T.BOOLEAN_TYPE
    if pa.types.is_int8(t):
        return T.TINYINT_TYPE
    if pa.types.is_int16(t) or pa.types.is_uint8(t):
        return T.SMALLINT_TYPE
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return T.INT_TYPE
    if pa.types.is_integer(t):
        return T.BIGINT_TYPE
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return T.FLOAT_TYPE
    if pa.types.is_float64(t):
        return T.DOUBLE_TYPE
    if pa.types.is_decimal(t):
        return T.DECIMAL_TYPE
    if pa.types.is_date(t):
        return T.DATE_TYPE
    if pa.types.is_timestamp(t):
        return T.TIMESTAMP_TYPE
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return T.BINARY_TYPE
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return T.ARRAY_TYPE
    if pa.types.is_map(t):
        return T.MAP_TYPE
    if pa.types.is_struct(t):
        return T.STRUCT_TYPE
    if pa.types.is_null(t):
        return T.NULL_TYPE
    if pa.types.is_interval(t) or pa.types.is_duration(t):
        return T.INTERVAL_DAY_TIME_TYPE
    return T.STRING_TYPE


def type_desc(t: pa.DataType) -> ttypes.TTypeDesc:
    """A one-entry `TTypeDesc`; decimals carry precision and scale as i32 qualifiers."""
    qualifiers = None
    if pa.types.is_decimal(t):
        qualifiers = ttypes.TTypeQualifiers(
            qualifiers={
                "precision": ttypes.TTypeQualifierValue(i32Value=t.precision),
                "scale": ttypes.TTypeQualifierValue(i32Value=t.scale),
            }
        )
    entry = ttypes.TPrimitiveTypeEntry(type=type_id(t), typeQualifiers=qualifiers)
    return ttypes.TTypeDesc(types=[ttypes.TTypeEntry(primitiveEntry=entry)])


def table_schema(schema: pa.Schema) -> ttypes.TTableSchema:
    """The Hive table schema of an Arrow schema, positions counted from 1."""
    return ttypes.TTableSchema(
        columns=[
            ttypes.TColumnDesc(columnName=f.name, typeDesc=type_desc(f.type), position=i + 1)
            for i, f in enumerate(schema)
        ]
    )


def wire_type(t: pa.DataType, native: NativeTypes) -> pa.DataType:
    """The Arrow type a column travels as, given what the client reads natively."""
    if pa.types.is_decimal(t) and not native.decimal:
        return pa.string()
    if pa.types.is_timestamp(t) and not native.timestamp:
        return pa.string()
    if pa.types.is_nested(t) and not native.complex:
        return pa.string()
    if (pa.types.is_interval(t) or pa.types.is_duration(t)) and not native.interval:
        return pa.string()
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    return t


def wire_schema(schema: pa.Schema, native: NativeTypes) -> pa.Schema:
    """The Arrow schema sent as `arrowSchema`: `schema` with non-native types as strings."""
    return pa.schema(
        [pa.field(f.name, wire_type(f.type, native), f.nullable) for f in schema]
    )


__all__ = ["NativeTypes", "table_schema", "type_desc", "type_id", "wire_schema", "wire_type"]
