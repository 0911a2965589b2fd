"""Reading DuckDB values cast to VARIANT (the Parquet Variant binary encoding) in Python.

The hash functions are Python UDFs that must see every argument type: DuckDB's Python UDFs
take fixed parameter types, so each argument is cast to VARIANT, whose binary form keeps
the value's physical type (INT vs BIGINT, FLOAT vs DOUBLE, DECIMAL width, DATE, TIMESTAMP,
BINARY vs STRING) and its nesting. `decode` turns one into plain tagged Python values.

The encoding (Parquet's VariantEncoding.md): a value starts with a byte whose low 2 bits
are its basic type (primitive, short string, object, array) and whose high 6 bits are a
header (the primitive's type id, the short string's length, the sizes of offsets and ids).

>>> decode(b"\\x01\\x00\\x00", b"\\x14\\x01\\x00\\x00\\x00")
('int', 1)
>>> decode(b"\\x01\\x00\\x00", b"\\x05a")
('bytes', b'a')
"""

from __future__ import annotations

import struct
from typing import Any

# Tags of the decoded values: what Spark hashes them as.
#   ('null', None) ('bool', b) ('int', i32) ('long', i64) ('float', f32 bits)
#   ('double', f64 bits) ('decimal', (unscaled, wide)) ('bytes', b) ('array', [values])
#   ('object', {name: value})
Value = tuple[str, Any]

_FIXED: dict[int, tuple[str, str]] = {
    3: ("int", "<b"), 4: ("int", "<h"), 5: ("int", "<i"), 6: ("long", "<q"),
    11: ("int", "<i"),  # DATE: days since the epoch
    12: ("long", "<q"), 13: ("long", "<q"),  # TIMESTAMP (UTC) / TIMESTAMP_NTZ: micros
    7: ("double", "<Q"), 14: ("float", "<I"),  # the bits, as Spark hashes them
}


class VariantError(ValueError):
    """A VARIANT whose content has no Spark counterpart (TIME, nanoseconds, UUID)."""


def decode(metadata: bytes, value: bytes) -> Value:
    """One VARIANT (its metadata and value bytes) as a tagged Python value."""
    return _value(_dictionary(metadata), value, 0)


def decode_value(value: bytes) -> Value:
    """A VARIANT's value bytes alone, for values without objects (no field names needed)."""
    return _value([], value, 0)


def _dictionary(metadata: bytes) -> list[str]:
    size = ((metadata[0] >> 6) & 0x3) + 1
    count = _uint(metadata, 1, size)
    offsets = [_uint(metadata, 1 + size * (1 + i), size) for i in range(count + 1)]
    start = 1 + size * (count + 2)
    return [metadata[start + offsets[i]:start + offsets[i + 1]].decode()
            for i in range(count)]


def _uint(data: bytes, at: int, size: int) -> int:
    return int.from_bytes(data[at:at + size], "little")


def _value(names: list[str], data: bytes, at: int) -> Value:
    basic, header = data[at] & 0x3, data[at] >> 2
    if basic == 1:  # short string
        return ("bytes", bytes(data[at + 1:at + 1 + header]))
    if basic == 2:
        return _object(names, data, at, header)
    if basic == 3:
        return _array(names, data, at, header)
    return _primitive(data, at + 1, header)


def _primitive(data: bytes, at: int, type_id: int) -> Value:
    if type_id == 0:
        return ("null", None)
    if type_id in (1, 2):
        return ("bool", type_id == 1)
    fixed = _FIXED.get(type_id)
    if fixed is not None:
        return (fixed[0], struct.unpack_from(fixed[1], data, at)[0])
    if type_id in (8, 9, 10):  # DECIMAL4/8/16: a scale byte, then the unscaled integer
        width = {8: 4, 9: 8, 10: 16}[type_id]
        unscaled = int.from_bytes(data[at + 1:at + 1 + width], "little", signed=True)
        return ("decimal", (unscaled, type_id == 10))
    if type_id in (15, 16):  # BINARY / STRING: a 4-byte length, then the bytes
        length = _uint(data, at, 4)
        return ("bytes", bytes(data[at + 4:at + 4 + length]))
    raise VariantError(f"a value of variant type {type_id} has no Spark type")


def _array(names: list[str], data: bytes, at: int, header: int) -> Value:
    offset_size, large = (header & 0x3) + 1, bool(header & 0x4)
    count_size = 4 if large else 1
    count = _uint(data, at + 1, count_size)
    offsets_at = at + 1 + count_size
    values_at = offsets_at + offset_size * (count + 1)
    return ("array", [_value(names, data, values_at + _uint(data, offsets_at + offset_size * i,
                                                              offset_size))
                      for i in range(count)])


def _object(names: list[str], data: bytes, at: int, header: int) -> Value:
    offset_size, id_size = (header & 0x3) + 1, ((header >> 2) & 0x3) + 1
    count_size = 4 if header & 0x10 else 1
    count = _uint(data, at + 1, count_size)
    ids_at = at + 1 + count_size
    offsets_at = ids_at + id_size * count
    values_at = offsets_at + offset_size * (count + 1)
    fields = {}
    for i in range(count):
        name = names[_uint(data, ids_at + id_size * i, id_size)]
        fields[name] = _value(names, data, values_at + _uint(data, offsets_at + offset_size * i,
                                                             offset_size))
    return ("object", fields)


__all__ = ["Value", "VariantError", "decode", "decode_value"]
