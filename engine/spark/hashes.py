"""Spark's hash functions: ``hash`` (Murmur3 x86_32), ``xxhash64`` (XXH64) and ``crc32``.

Spark hashes each argument by its type and feeds the result to the next argument as its
seed, starting from 42 (catalyst's hash.scala, HashExpression): INT, SMALLINT, TINYINT,
DATE and BOOLEAN (1/0) as a 4-byte int; BIGINT and TIMESTAMP[_NTZ] (micros) as an 8-byte
long; FLOAT/DOUBLE as their bits (-0.0 as 0.0, NaN canonical); DECIMAL of precision <= 18
as its unscaled long, wider ones as the bytes of the unscaled BigInteger; STRING/BINARY as
bytes; arrays element by element, NULLs (and NULL elements)
leaving the seed as it is. Spark's Murmur3 mixes each byte of a string's unaligned tail as
a whole block (``hashUnsafeBytes``), which no standard MurmurHash3 library does, so it is
written out here; XXH64 is the standard one (the ``xxhash`` library).

DuckDB's Python UDFs take fixed types, so the rule casts every argument to VARIANT (whose
encoding keeps the physical type, `engine.spark.variant`) and chains one UDF call per
argument: ``hash(a, b)`` becomes ``sg_murmur3(sg_hashable(b), sg_murmur3(sg_hashable(a),
42))``. Types that would hash differently from Spark (STRUCT: VARIANT sorts its fields;
INTERVAL; HUGEINT; TIME; unsigned) are refused by the ``sg_hashable`` macro, by name, and
MAP as Spark refuses it.

>>> murmur3_bytes(b"abcde", 42)  # Spark's hash('abcde')
814637928
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash
from duckdb.func import FunctionNullHandling, PythonUDFType
from sqlglot import exp

from engine.errors import AnalysisError
from engine.spark.variant import Value, decode_value

SEED = 42
_M32 = 0xFFFFFFFF
_M64 = 0xFFFFFFFFFFFFFFFF

# The DuckDB type words whose VARIANT form hashes as Spark hashes the same Spark type
_HASHABLE = (r"BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)|"
             r"VARCHAR|BLOB|DATE|TIMESTAMP WITH TIME ZONE|TIMESTAMP|\"NULL\"|\[\]|[(), ]")

MACROS: tuple[str, ...] = (
    # Spark refuses maps (spark.sql.legacy.allowHashOnMapType is off)
    "CREATE MACRO sg_hashable(x) AS CAST(CASE WHEN contains(typeof(x), 'MAP(') THEN "
    "error('[DATATYPE_MISMATCH.HASH_MAP_TYPE] Input to the hash function cannot contain "
    "elements of the MAP type. SQLSTATE: 42K09') WHEN "
    f"regexp_replace(typeof(x), '({_HASHABLE})', '', 'g') <> '' THEN "
    "error('[UNSUPPORTED_FEATURE.HASH_TYPE] hashing a value of type ' || typeof(x) || "
    "' is not supported by this warehouse. SQLSTATE: 0A000') ELSE x END AS VARIANT)",
)


def _rotl32(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M32


def _mix_k1(k1: int) -> int:
    return (_rotl32((k1 * 0xCC9E2D51) & _M32, 15) * 0x1B873593) & _M32


def _mix_h1(h1: int, k1: int) -> int:
    return (_rotl32(h1 ^ k1, 13) * 5 + 0xE6546B64) & _M32


def _fmix(h1: int, length: int) -> int:
    h1 ^= length
    h1 ^= h1 >> 16
    h1 = (h1 * 0x85EBCA6B) & _M32
    h1 ^= h1 >> 13
    h1 = (h1 * 0xC2B2AE35) & _M32
    h1 ^= h1 >> 16
    return h1 - (1 << 32) if h1 & 0x80000000 else h1


def murmur3_int(value: int, seed: int) -> int:
    """Spark's ``Murmur3_x86_32.hashInt``: a signed 32-bit hash."""
    return _fmix(_mix_h1(seed & _M32, _mix_k1(value & _M32)), 4)


def murmur3_long(value: int, seed: int) -> int:
    """Spark's ``Murmur3_x86_32.hashLong``: the low word, then the high word."""
    h1 = _mix_h1(seed & _M32, _mix_k1(value & _M32))
    return _fmix(_mix_h1(h1, _mix_k1((value >> 32) & _M32)), 8)


def murmur3_bytes(data: bytes, seed: int) -> int:
    """Spark's ``Murmur3_x86_32.hashUnsafeBytes``: each tail byte (signed) mixed as a block."""
    h1 = seed & _M32
    aligned = len(data) - len(data) % 4
    for i in range(0, aligned, 4):
        h1 = _mix_h1(h1, _mix_k1(int.from_bytes(data[i:i + 4], "little")))
    for byte in data[aligned:]:
        h1 = _mix_h1(h1, _mix_k1((byte - 256 if byte > 127 else byte) & _M32))
    return _fmix(h1, len(data))


def _signed64(x: int) -> int:
    return x - (1 << 64) if x & (1 << 63) else x


def xxhash64_int(value: int, seed: int) -> int:
    """Spark's ``XXH64.hashInt``: XXH64 of the 4 little-endian bytes."""
    return _signed64(xxhash.xxh64_intdigest((value & _M32).to_bytes(4, "little"), seed & _M64))


def xxhash64_long(value: int, seed: int) -> int:
    """Spark's ``XXH64.hashLong``: XXH64 of the 8 little-endian bytes."""
    return _signed64(xxhash.xxh64_intdigest((value & _M64).to_bytes(8, "little"), seed & _M64))


def xxhash64_bytes(data: bytes, seed: int) -> int:
    """Spark's ``XXH64.hashUnsafeBytes``: standard XXH64."""
    return _signed64(xxhash.xxh64_intdigest(data, seed & _M64))


Hasher = tuple[Callable[[int, int], int], Callable[[int, int], int], Callable[[bytes, int], int]]
MURMUR3: Hasher = (murmur3_int, murmur3_long, murmur3_bytes)
XXHASH64: Hasher = (xxhash64_int, xxhash64_long, xxhash64_bytes)


def _big_integer_bytes(n: int) -> bytes:
    """Java's ``BigInteger.toByteArray``: minimal two's complement, big-endian."""
    return n.to_bytes((n if n >= 0 else ~n).bit_length() // 8 + 1, "big", signed=True)


def spark_hash(value: Value, seed: int, hasher: Hasher) -> int:
    """One decoded value hashed as Spark hashes its type, from `seed`."""
    hash_int, hash_long, hash_bytes = hasher
    kind, v = value
    if kind == "null":
        return seed
    if kind == "bool":
        return hash_int(1 if v else 0, seed)
    if kind == "int":
        return hash_int(v, seed)
    if kind == "long":
        return hash_long(v, seed)
    if kind == "float":  # -0.0 hashes as 0.0; every NaN as Java's canonical NaN
        bits = 0 if v == 0x80000000 else 0x7FC00000 if (v & 0x7F800000) == 0x7F800000 and (
            v & 0x7FFFFF) else v
        return hash_int(bits, seed)
    if kind == "double":
        nan = (v & 0x7FF0000000000000) == 0x7FF0000000000000 and v & 0xFFFFFFFFFFFFF
        bits = 0 if v == 1 << 63 else 0x7FF8000000000000 if nan else v
        return hash_long(bits, seed)
    if kind == "decimal":
        unscaled, wide = v
        return hash_bytes(_big_integer_bytes(unscaled), seed) if wide else hash_long(
            unscaled, seed)
    if kind == "bytes":
        return hash_bytes(v, seed)
    if kind == "array":
        for element in v:
            seed = spark_hash(element, seed, hasher)
        return seed
    # an object: sg_hashable refuses STRUCT and MAP types before they reach a UDF
    raise ValueError(f"a {kind} value cannot be hashed")


def _chained(hasher: Hasher, result: pa.DataType) -> Callable[[Any, Any], pa.Array]:
    fast = _numpy_murmur3 if hasher is MURMUR3 else _numpy_xxhash64

    def udf(values: Any, seeds: Any) -> pa.Array:
        items = _variants(values)
        seed_list = np.asarray(seeds.to_numpy(zero_copy_only=False))
        hashed = _fixed_width(items, seed_list, fast)
        if hashed is not None:
            return pa.array(hashed, type=result)
        out = []
        for item, seed in zip(items.field("value").to_pylist(), seed_list.tolist(),
                              strict=True):
            out.append(seed if item is None else spark_hash(decode_value(item), seed, hasher))
        return pa.array(out, type=result)

    return udf


def _variants(values: Any) -> pa.StructArray:
    """The UDF's VARIANT argument (a chunked struct of metadata and value) as one array;
    a NULL value as a NULL ``value`` child, so the children can be read alone."""
    combined = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    value = pc.if_else(combined.is_valid(), combined.field("value"), None)
    return pa.StructArray.from_arrays([combined.field("metadata"), value],
                                      names=["metadata", "value"])


# The VARIANT headers of INT (DATE's days hash the same way) and BIGINT/TIMESTAMP values
_INT_HEADERS = {5 << 2: 4, 11 << 2: 4, 6 << 2: 8, 12 << 2: 8, 13 << 2: 8}


def _fixed_width(items: pa.StructArray, seeds: Any, fast: Any) -> Any:
    """Vectorised hashes when every value is an INT or every value a BIGINT (the common
    case: a key column), else None. Measured over 1M BIGINTs: 22 s through the general
    path, 2 s here (most of it DuckDB's cast to VARIANT and the UDF's batches of 2,048)."""
    value = items.field("value")
    valid = np.asarray(value.is_valid().to_numpy(zero_copy_only=False))
    if not valid.any():
        return seeds
    offsets = np.frombuffer(value.buffers()[1], dtype=np.int32)[value.offset:
                                                                 value.offset + len(value) + 1]
    data = np.frombuffer(value.buffers()[2], dtype=np.uint8)
    starts = offsets[:-1][valid]
    widths = {_INT_HEADERS.get(int(h)) for h in np.unique(data[starts])}
    width = widths.pop() if len(widths) == 1 else None
    if width is None or not np.all(offsets[1:][valid] - starts == 1 + width):
        return None
    raw = data[starts[:, None] + np.arange(1, 1 + width)].copy()
    out = np.array(seeds, dtype=np.int64)
    out[valid] = fast(raw.view("<i4" if width == 4 else "<i8").ravel(), out[valid], width)
    return out


_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)


def _np_rotl32(x: Any, r: int) -> Any:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _np_mix(h1: Any, word: Any) -> Any:
    k1 = _np_rotl32(word * _C1, 15) * _C2
    return _np_rotl32(h1 ^ k1, 13) * np.uint32(5) + np.uint32(0xE6546B64)


def _numpy_murmur3(values: Any, seeds: Any, width: int) -> Any:
    """`murmur3_int` / `murmur3_long` over arrays."""
    with np.errstate(over="ignore"):
        h1 = seeds.astype(np.int64).astype(np.uint32)
        if width == 4:
            h1 = _np_mix(h1, values.astype(np.uint32))
        else:
            longs = values.astype(np.uint64)
            h1 = _np_mix(h1, (longs & np.uint64(_M32)).astype(np.uint32))
            h1 = _np_mix(h1, (longs >> np.uint64(32)).astype(np.uint32))
        h1 ^= np.uint32(width)
        h1 ^= h1 >> np.uint32(16)
        h1 *= np.uint32(0x85EBCA6B)
        h1 ^= h1 >> np.uint32(13)
        h1 *= np.uint32(0xC2B2AE35)
        h1 ^= h1 >> np.uint32(16)
    return h1.view(np.int32).astype(np.int64)


_P1, _P2, _P3 = np.uint64(11400714785074694791), np.uint64(14029467366897019727), np.uint64(
    1609587929392839161)
_P4, _P5 = np.uint64(9650029242287828579), np.uint64(2870177450012600261)


def _np_rotl64(x: Any, r: int) -> Any:
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


def _numpy_xxhash64(values: Any, seeds: Any, width: int) -> Any:
    """`xxhash64_int` / `xxhash64_long` over arrays (XXH64 of 4 or 8 bytes)."""
    with np.errstate(over="ignore"):
        h = seeds.astype(np.int64).view(np.uint64) + _P5 + np.uint64(width)
        if width == 4:
            h ^= (values.astype(np.int64).astype(np.uint64) & np.uint64(_M32)) * _P1
            h = _np_rotl64(h, 23) * _P2 + _P3
        else:
            k1 = _np_rotl64(values.astype(np.int64).view(np.uint64) * _P2, 31) * _P1
            h = _np_rotl64(h ^ k1, 27) * _P1 + _P4
        h ^= h >> np.uint64(33)
        h *= _P2
        h ^= h >> np.uint64(29)
        h *= _P3
        h ^= h >> np.uint64(32)
    return h.view(np.int64)


def _crc32(values: pa.Array) -> pa.Array:
    out: list[int | None] = []
    for item in _variants(values).field("value").to_pylist():
        if item is None:
            out.append(None)
            continue
        kind, v = decode_value(item)
        if kind != "bytes":
            raise ValueError("[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] crc32 takes a BINARY "
                             "or STRING argument. SQLSTATE: 42K09")
        out.append(zlib.crc32(v))
    return pa.array(out, type=pa.int64())


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Create the hash UDFs and their macro on a database (engine start)."""
    variant = duckdb.sqltype("VARIANT")
    udfs: list[tuple[str, Callable[..., pa.Array], list[Any], str]] = [
        ("sg_murmur3", _chained(MURMUR3, pa.int32()), [variant, "INTEGER"], "INTEGER"),
        ("sg_xxhash64", _chained(XXHASH64, pa.int64()), [variant, "BIGINT"], "BIGINT"),
        ("sg_crc32", _crc32, [variant], "BIGINT"),
    ]
    for name, fn, params, result in udfs:
        con.create_function(name, fn, params, result, type=PythonUDFType.ARROW,
                            null_handling=FunctionNullHandling.SPECIAL)
    for sql in MACROS:
        con.execute(sql)


_CHAINS = {"hash": "sg_murmur3", "xxhash64": "sg_xxhash64"}
NAMES = frozenset({*_CHAINS, "crc32"})


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _hash_calls(tree: exp.Expr) -> exp.Expr:
    """``hash(a, b)`` -> ``sg_murmur3(sg_hashable(b), sg_murmur3(sg_hashable(a), 42))``."""

    def fix(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Anonymous):
            return node
        name = str(node.name).lower()
        args: list[Any] = list(node.expressions)
        if name == "crc32":
            if len(args) != 1:
                raise _arguments(name, "1", len(args))
            return _call("sg_crc32", _call("sg_hashable", args[0]))
        udf = _CHAINS.get(name)
        if udf is None:
            return node
        if not args:
            raise _arguments(name, "> 0", 0)
        result: exp.Expr = exp.Literal.number(SEED)
        for arg in args:
            result = _call(udf, _call("sg_hashable", arg), result)
        return result

    return tree.transform(fix, copy=False)


def _arguments(name: str, expected: str, given: int) -> AnalysisError:
    return AnalysisError(
        f"[WRONG_NUM_ARGS.WITHOUT_SUGGESTION] The `{name}` requires {expected} parameters but "
        f"the actual number is {given}. SQLSTATE: 42605", sql_state="42605")


RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_hash_calls,)

__all__ = ["MURMUR3", "NAMES", "RULES", "SEED", "XXHASH64", "murmur3_bytes", "murmur3_int",
           "murmur3_long", "register", "spark_hash", "xxhash64_bytes", "xxhash64_int",
           "xxhash64_long"]
