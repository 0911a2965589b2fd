"""Spark's DataSketches functions: ``hll_*``, ``theta_*`` and ``kll_*``.

Spark builds these with Apache DataSketches (Java); the ``datasketches`` Python package is
the same library's C++ core with the same serialized formats, so a sketch made here is read
by Spark and the other way round, and estimates agree. Spark's choices, from catalyst's
datasketchesAggregates / thetasketchesAggregates / kllAggregates:

- HLL: target type HLL_8, lgConfigK 12 (4..21), the *updatable* serialization; INT and
  BIGINT values hashed as 8-byte longs, STRING/BINARY as bytes, empty ones skipped; unions
  take the first sketch's lgConfigK and refuse different ones unless told otherwise.
- Theta: lgNomEntries 12 (4..26), the sketch trimmed to its nominal size and serialized
  compact and compressed; INT/BIGINT as longs, FLOAT/DOUBLE as doubles.
- KLL: k 200; BIGINT, FLOAT and DOUBLE sketches; quantiles and ranks inclusive.

Aggregates run as Python UDFs over the group's values (`aggregates.over_list`): the rule
turns ``hll_sketch_agg(x, 10)`` into ``sg_hll_agg(typeof(list(x)), CAST(list(x) AS
VARIANT), 10)``. The bytes of a sketch in list or KLL's level-0 order depend on the order
values arrive in, in Spark too (its partitions); estimates do not.

>>> _hll_estimate(pa.array([_hll_build([1, 2, 2], 12)])).to_pylist()
[2]
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import Any

import datasketches as ds
import duckdb
import pyarrow as pa
from duckdb.func import FunctionNullHandling, PythonUDFType
from sqlglot import exp

from engine.errors import AnalysisError
from engine.spark.aggregates import over_list
from engine.spark.variant import VariantError, decode_value

_HLL = ds.tgt_hll_type.HLL_8


class SketchError(ValueError):
    """A sketch argument Spark refuses; the message carries Spark's error class."""


def _error(error_class: str, text: str, sql_state: str = "22546") -> SketchError:
    return SketchError(f"[{error_class}] {text} SQLSTATE: {sql_state}")


# -- the values an aggregate sees -------------------------------------------------------

_HASHED = {"INTEGER", "BIGINT", "SMALLINT", "TINYINT", "VARCHAR", "BLOB"}
_THETA = _HASHED | {"FLOAT", "DOUBLE"}


def _items(type_name: str, packed: dict[str, bytes] | None, allowed: set[str],
           function: str) -> list[Any]:
    """The non-NULL values of one group's ``list(x)`` as ints, floats or strs."""
    element = type_name.removesuffix("[]")
    if element not in allowed and element != '"NULL"':
        raise _error("DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE",
                     f"{function} does not take values of type {element}.", "42K09")
    if packed is None:
        return []
    kind, values = decode_value(packed["value"])
    out: list[Any] = []
    for tag, value in values if kind == "array" else ():
        if tag in ("int", "long"):
            out.append(value)
        elif tag == "double":
            out.append(_bits_to_double(value))
        elif tag == "float":
            out.append(_bits_to_float(value))
        elif tag == "bytes" and value:  # Spark skips empty strings and binaries
            out.append(_text(value, function))
    return out


def _bits_to_double(bits: int) -> float:
    return float(struct.unpack("<d", bits.to_bytes(8, "little"))[0])


def _bits_to_float(bits: int) -> float:
    return float(struct.unpack("<f", bits.to_bytes(4, "little"))[0])


def _text(value: bytes, function: str) -> str:
    # the Python binding takes str and hashes its UTF-8 bytes, which are the value's bytes
    try:
        return value.decode()
    except UnicodeDecodeError as exc:
        raise _error("UNSUPPORTED_FEATURE.SKETCH_BINARY", f"{function} of a BINARY value "
                     "that is not UTF-8 is not supported by this warehouse.", "0A000") from exc


def _check_range(name: str, value: int, low: int, high: int, error_class: str) -> int:
    if not low <= value <= high:
        raise _error(error_class, f"Invalid call to {name}; the value must be between {low} "
                     f"and {high}, inclusive: {value}.")
    return value


# -- HLL ----------------------------------------------------------------------------------

def _hll_build(values: Iterable[Any], lg_k: int) -> bytes:
    sketch = ds.hll_sketch(lg_k, _HLL)
    for value in values:
        sketch.update(value)
    return bytes(sketch.serialize_updatable())


def _hll_read(data: bytes, function: str) -> Any:
    try:
        return ds.hll_sketch.deserialize(data)
    except (RuntimeError, ValueError) as exc:
        raise _error("HLL_INVALID_INPUT_SKETCH_BUFFER", f"Invalid call to {function}; only "
                     "valid HLL sketch buffers are supported as inputs.") from exc


def _hll_agg(types: Any, lists: Any, lg_ks: Any) -> pa.Array:
    out = []
    for t, packed, lg_k in zip(types.to_pylist(), lists.to_pylist(), lg_ks.to_pylist(),
                               strict=True):
        k = _check_range("hll_sketch_agg", lg_k, 4, 21, "HLL_INVALID_LG_K")
        out.append(_hll_build(_items(t, packed, _HASHED, "hll_sketch_agg"), k))
    return pa.array(out, type=pa.binary())


def _hll_unite(sketches: list[Any], allow_different: bool, function: str,
               lg_k: int | None = None) -> bytes:
    if lg_k is None:  # an aggregate: the first sketch's lgConfigK
        lg_k = sketches[0].lg_config_k if sketches else 12
    union = ds.hll_union(lg_k)
    for sketch in sketches:
        if not allow_different and sketch.lg_config_k != lg_k:
            raise _error("HLL_UNION_DIFFERENT_LG_K", f"Sketches have different lgConfigK "
                         f"values: {lg_k} and {sketch.lg_config_k}. Set the "
                         f"allowDifferentLgConfigK parameter to true to call {function} "
                         "with different lgConfigK values.")
        union.update(sketch)
    return bytes(union.get_result(_HLL).serialize_updatable())


def _hll_union_agg(lists: Any, allows: Any) -> pa.Array:
    out = []
    for group, allow in zip(lists.to_pylist(), allows.to_pylist(), strict=True):
        sketches = [_hll_read(b, "hll_union_agg") for b in group or () if b is not None]
        out.append(_hll_unite(sketches, bool(allow), "hll_union_agg"))
    return pa.array(out, type=pa.binary())


def _hll_union(lefts: Any, rights: Any, allows: Any) -> pa.Array:
    out: list[bytes | None] = []
    for a, b, allow in zip(lefts.to_pylist(), rights.to_pylist(), allows.to_pylist(),
                           strict=True):
        if a is None or b is None:
            out.append(None)
            continue
        pair = [_hll_read(a, "hll_union"), _hll_read(b, "hll_union")]
        if not allow and pair[0].lg_config_k != pair[1].lg_config_k:
            _hll_unite(pair, False, "hll_union")  # raises Spark's error
        out.append(_hll_unite(pair, True, "hll_union",
                              min(pair[0].lg_config_k, pair[1].lg_config_k)))
    return pa.array(out, type=pa.binary())


def _hll_estimate(sketches: Any) -> pa.Array:
    return pa.array([None if b is None else round(_hll_read(b, "hll_sketch_estimate")
                                                   .get_estimate())
                     for b in sketches.to_pylist()], type=pa.int64())


# -- Theta --------------------------------------------------------------------------------

def _theta_bytes(sketch: Any) -> bytes:
    data = bytearray(sketch.serialize(True))
    if sketch.is_empty() and len(data) == 8:
        data[6:8] = b"\x00\x00"  # Java writes no seed hash into an empty compact sketch
    return bytes(data)


def _theta_read(data: bytes, function: str) -> Any:
    try:
        return ds.compact_theta_sketch.deserialize(data)
    except (RuntimeError, ValueError) as exc:
        raise _error("THETA_INVALID_INPUT_SKETCH_BUFFER", f"Invalid call to {function}; only "
                     "valid Theta sketch buffers are supported as inputs.") from exc


def _theta_lg(function: str, lg: int) -> int:
    return _check_range(function, lg, 4, 26, "THETA_INVALID_LG_NOM_ENTRIES")


def _theta_agg(types: Any, lists: Any, lgs: Any) -> pa.Array:
    out = []
    for t, packed, lg in zip(types.to_pylist(), lists.to_pylist(), lgs.to_pylist(),
                             strict=True):
        sketch = ds.update_theta_sketch(_theta_lg("theta_sketch_agg", lg))
        for value in _items(t, packed, _THETA, "theta_sketch_agg"):
            sketch.update(value)
        sketch.trim()  # Spark: rebuild to the nominal size before compacting
        out.append(_theta_bytes(sketch.compact()))
    return pa.array(out, type=pa.binary())


def _theta_union_agg(lists: Any, lgs: Any) -> pa.Array:
    out = []
    for group, lg in zip(lists.to_pylist(), lgs.to_pylist(), strict=True):
        union = ds.theta_union(_theta_lg("theta_union_agg", lg))
        for data in group or ():
            if data is not None:
                union.update(_theta_read(data, "theta_union_agg"))
        out.append(_theta_bytes(union.get_result()))
    return pa.array(out, type=pa.binary())


def _theta_intersection_agg(lists: Any) -> pa.Array:
    out = []
    for group in lists.to_pylist():
        inter = ds.theta_intersection()
        for data in group or ():
            if data is not None:
                inter.update(_theta_read(data, "theta_intersection_agg"))
        result = inter.get_result() if inter.has_result() else ds.update_theta_sketch().compact()
        out.append(_theta_bytes(result))
    return pa.array(out, type=pa.binary())


def _theta_pair(operation: str) -> Callable[..., pa.Array]:
    def udf(lefts: Any, rights: Any, lgs: Any) -> pa.Array:
        out: list[bytes | None] = []
        for a, b, lg in zip(lefts.to_pylist(), rights.to_pylist(), lgs.to_pylist(),
                            strict=True):
            if a is None or b is None:
                out.append(None)
                continue
            left, right = _theta_read(a, f"theta_{operation}"), _theta_read(b, f"theta_{operation}")
            if operation == "union":
                union = ds.theta_union(_theta_lg("theta_union", lg))
                union.update(left)
                union.update(right)
                result = union.get_result()
            elif operation == "intersection":
                inter = ds.theta_intersection()
                inter.update(left)
                inter.update(right)
                result = inter.get_result()
            else:
                result = ds.theta_a_not_b().compute(left, right)
            out.append(_theta_bytes(result))
        return pa.array(out, type=pa.binary())

    return udf


def _theta_estimate(sketches: Any) -> pa.Array:
    return pa.array([None if b is None else round(_theta_read(b, "theta_sketch_estimate")
                                                   .get_estimate())
                     for b in sketches.to_pylist()], type=pa.int64())


# -- the rule -----------------------------------------------------------------------------

def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _typed_values(result: exp.Expr) -> None:
    """``udf(list(x), ...)`` -> ``udf(typeof(list(x)), CAST(list(x) AS VARIANT), ...)``."""
    collected = result.expressions[0]
    typed = _call("typeof", collected.copy())
    result.set("expressions", [typed, exp.Cast(this=collected, to=exp.DataType.build(
        "VARIANT", dialect="duckdb")), *result.expressions[1:]])


# Spark name -> (UDF, how many arguments at least and at most, defaults of the optional
# ones, whether it aggregates and whether its values reach the UDF as VARIANT)
_SIGNATURES: dict[str, tuple[str, int, int, tuple[exp.Expr, ...], bool, bool]] = {
    "hll_sketch_agg": ("sg_hll_agg", 1, 2, (exp.Literal.number(12),), True, True),
    "hll_union_agg": ("sg_hll_union_agg", 1, 2, (exp.false(),), True, False),
    "hll_union": ("sg_hll_union", 2, 3, (exp.false(),), False, False),
    "hll_sketch_estimate": ("sg_hll_estimate", 1, 1, (), False, False),
    "theta_sketch_agg": ("sg_theta_agg", 1, 2, (exp.Literal.number(12),), True, True),
    "theta_union_agg": ("sg_theta_union_agg", 1, 2, (exp.Literal.number(12),), True, False),
    "theta_intersection_agg": ("sg_theta_intersection_agg", 1, 1, (), True, False),
    "theta_union": ("sg_theta_union", 2, 3, (exp.Literal.number(12),), False, False),
    "theta_intersection": ("sg_theta_intersection", 2, 2, (), False, False),
    "theta_difference": ("sg_theta_difference", 2, 2, (), False, False),
    "theta_sketch_estimate": ("sg_theta_estimate", 1, 1, (), False, False),
}


def _sketch_calls(tree: exp.Expr) -> exp.Expr:
    """The sketch functions of `_SIGNATURES` (and kll's) onto their UDFs."""
    for node in list(tree.find_all(exp.Anonymous)):
        name = str(node.name).lower()
        signature = _SIGNATURES.get(name)
        if signature is None:
            continue
        udf, least, most, defaults, aggregate, variant = signature
        args = list(node.expressions)
        if not least <= len(args) <= most:
            raise AnalysisError(
                f"[WRONG_NUM_ARGS.WITHOUT_SUGGESTION] The `{name}` requires {least}"
                f"{'' if least == most else f' to {most}'} parameters but the actual number "
                f"is {len(args)}. SQLSTATE: 42605", sql_state="42605")
        # the (name) of the constant only: sqlglot nodes are trees, each use needs a copy
        args += [d.copy() for d in defaults[len(args) - least:]]
        if aggregate:
            result = over_list(node, args[0], udf, *args[1:])
            if variant:
                _typed_values(result)
        elif udf == "sg_theta_intersection" or udf == "sg_theta_difference":
            node.replace(_call(udf, *args, exp.Literal.number(12)))
        else:
            node.replace(_call(udf, *args))
    return tree


NAMES = frozenset(_SIGNATURES)
RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_sketch_calls,)

_BINARY_LIST = "BLOB[]"


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Create the sketch UDFs on a database (engine start)."""
    variant = duckdb.sqltype("VARIANT")
    udfs: list[tuple[str, Callable[..., pa.Array], list[Any], str]] = [
        ("sg_hll_agg", _hll_agg, ["VARCHAR", variant, "INTEGER"], "BLOB"),
        ("sg_hll_union_agg", _hll_union_agg, [_BINARY_LIST, "BOOLEAN"], "BLOB"),
        ("sg_hll_union", _hll_union, ["BLOB", "BLOB", "BOOLEAN"], "BLOB"),
        ("sg_hll_estimate", _hll_estimate, ["BLOB"], "BIGINT"),
        ("sg_theta_agg", _theta_agg, ["VARCHAR", variant, "INTEGER"], "BLOB"),
        ("sg_theta_union_agg", _theta_union_agg, [_BINARY_LIST, "INTEGER"], "BLOB"),
        ("sg_theta_intersection_agg", _theta_intersection_agg, [_BINARY_LIST], "BLOB"),
        ("sg_theta_union", _theta_pair("union"), ["BLOB", "BLOB", "INTEGER"], "BLOB"),
        ("sg_theta_intersection", _theta_pair("intersection"), ["BLOB", "BLOB", "INTEGER"],
         "BLOB"),
        ("sg_theta_difference", _theta_pair("difference"), ["BLOB", "BLOB", "INTEGER"],
         "BLOB"),
        ("sg_theta_estimate", _theta_estimate, ["BLOB"], "BIGINT"),
    ]
    for name, fn, params, result in udfs:
        con.create_function(name, fn, params, result, type=PythonUDFType.ARROW,
                            null_handling=FunctionNullHandling.SPECIAL)


__all__ = ["NAMES", "RULES", "SketchError", "VariantError", "register"]
