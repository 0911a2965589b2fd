"""Spark's KLL quantile sketches: ``kll_sketch_agg_*``, ``kll_merge_agg_*``, ``kll_sketch_*``.

Spark (catalyst's kllAggregates / kllExpressions) keeps BIGINT, FLOAT and DOUBLE sketches
of DataSketches' KLL, k = 200 by default (8..65535); quantiles and ranks are inclusive. The
``datasketches`` library writes the same format: the C++ float and double sketches, and for
BIGINT the items sketch with 8-byte little-endian longs, which is the layout of Java's
KllLongsSketch. A sketch is built and then merged into a fresh one, as Spark's partial and
final aggregation do, which also gives its level-0 items Spark's order.

``kll_sketch_to_string_*`` stays refused: its text is Java's own summary format.

>>> _quantiles("bigint", False)(pa.array([_build("bigint", [1, 2, 3, 4, 5], 200)]),
...                              pa.array([0.5])).to_pylist()
[3]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import datasketches as ds
import duckdb
import pyarrow as pa
from duckdb.func import FunctionNullHandling, PythonUDFType
from sqlglot import exp

from engine.errors import AnalysisError
from engine.spark.aggregates import over_list

KINDS = ("bigint", "float", "double")
_SQL = {"bigint": "BIGINT", "float": "FLOAT", "double": "DOUBLE"}
_ARROW = {"bigint": pa.int64(), "float": pa.float32(), "double": pa.float64()}
_LONGS = ds.PyLongsSerDe()


def _error(error_class: str, text: str, sql_state: str) -> ValueError:
    return ValueError(f"[{error_class}] {text} SQLSTATE: {sql_state}")


def _new(kind: str, k: int, function: str) -> Any:
    if not 8 <= k <= 65535:
        raise _error("KLL_SKETCH_K_OUT_OF_RANGE", f"For function {function}, the k parameter "
                     f"must be between 8 and 65535 (inclusive), but got {k}.", "22003")
    if kind == "bigint":
        return ds.kll_items_sketch(k)
    return ds.kll_floats_sketch(k) if kind == "float" else ds.kll_doubles_sketch(k)


def _bytes(kind: str, sketch: Any) -> bytes:
    return bytes(sketch.serialize(_LONGS) if kind == "bigint" else sketch.serialize())


def _read(kind: str, data: bytes, function: str) -> Any:
    try:
        if kind == "bigint":
            return ds.kll_items_sketch.deserialize(data, _LONGS)
        cls = ds.kll_floats_sketch if kind == "float" else ds.kll_doubles_sketch
        return cls.deserialize(data)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise _invalid(function) from exc


def _invalid(function: str) -> ValueError:
    return _error("KLL_INVALID_INPUT_SKETCH_BUFFER", f"Invalid call to {function}; only valid "
                  "KLL sketch buffers are supported as inputs (such as those produced by the "
                  "`kll_sketch_agg` function).", "22000")


def _build(kind: str, values: Iterable[Any], k: int) -> bytes:
    sketch = _new(kind, k, f"kll_sketch_agg_{kind}")
    for value in values:
        if value is not None:
            sketch.update(value)
    final = _new(kind, k, f"kll_sketch_agg_{kind}")
    final.merge(sketch)  # Spark's final aggregation merges the partial sketch into a new one
    return _bytes(kind, final)


def _agg(kind: str) -> Callable[..., pa.Array]:
    def udf(groups: Any, ks: Any) -> pa.Array:
        return pa.array([_build(kind, group or (), k) for group, k in zip(
            groups.to_pylist(), ks.to_pylist(), strict=True)], type=pa.binary())

    return udf


def _merge_agg(kind: str) -> Callable[..., pa.Array]:
    function = f"kll_merge_agg_{kind}"

    def udf(groups: Any, ks: Any) -> pa.Array:
        out = []
        for group, k in zip(groups.to_pylist(), ks.to_pylist(), strict=True):
            sketches = [_read(kind, data, function) for data in group or () if data is not None]
            merged = _new(kind, k if k is not None else (sketches[0].k if sketches else 200),
                          function)
            for sketch in sketches:
                merged.merge(sketch)
            out.append(_bytes(kind, merged))
        return pa.array(out, type=pa.binary())

    return udf


def _merge(kind: str) -> Callable[..., pa.Array]:
    function = f"kll_sketch_merge_{kind}"

    def udf(lefts: Any, rights: Any) -> pa.Array:
        out: list[bytes | None] = []
        for a, b in zip(lefts.to_pylist(), rights.to_pylist(), strict=True):
            if a is None or b is None:
                out.append(None)
                continue
            left = _read(kind, a, function)
            left.merge(_read(kind, b, function))
            out.append(_bytes(kind, left))
        return pa.array(out, type=pa.binary())

    return udf


def _count(kind: str) -> Callable[..., pa.Array]:
    def udf(sketches: Any) -> pa.Array:
        return pa.array([None if b is None else _read(kind, b, f"kll_sketch_get_n_{kind}").n
                         for b in sketches.to_pylist()], type=pa.int64())

    return udf


def _quantiles(kind: str, many: bool) -> Callable[..., pa.Array]:
    function = f"kll_sketch_get_quantile_{kind}"

    def one(sketch: Any, rank: float) -> Any:
        if not 0.0 <= rank <= 1.0:
            raise _error("KLL_SKETCH_INVALID_QUANTILE_RANGE", f"For function {function}, the "
                         "quantile value must be between 0.0 and 1.0 (inclusive).", "22003")
        if sketch.is_empty():
            raise _invalid(function)
        return sketch.get_quantile(rank, True)

    def udf(sketches: Any, ranks: Any) -> pa.Array:
        out: list[Any] = []
        for data, rank in zip(sketches.to_pylist(), ranks.to_pylist(), strict=True):
            if data is None or rank is None:
                out.append(None)
                continue
            sketch = _read(kind, data, function)
            out.append([None if r is None else one(sketch, r) for r in rank] if many
                       else one(sketch, rank))
        return pa.array(out, type=pa.list_(_ARROW[kind]) if many else _ARROW[kind])

    return udf


def _ranks(kind: str, many: bool) -> Callable[..., pa.Array]:
    function = f"kll_sketch_get_rank_{kind}"

    def one(sketch: Any, value: Any) -> float:
        if sketch.is_empty():
            raise _invalid(function)
        return float(sketch.get_rank(value, True))

    def udf(sketches: Any, values: Any) -> pa.Array:
        out: list[Any] = []
        for data, value in zip(sketches.to_pylist(), values.to_pylist(), strict=True):
            if data is None or value is None:
                out.append(None)
                continue
            sketch = _read(kind, data, function)
            out.append([None if v is None else one(sketch, v) for v in value] if many
                       else one(sketch, value))
        return pa.array(out, type=pa.list_(pa.float64()) if many else pa.float64())

    return udf


# The element types each sketch takes, as Spark's type check does (no implicit casts from
# other numbers: a DOUBLE into a BIGINT sketch, an INT into a DOUBLE one are refused)
_TAKES = {"bigint": ("TINYINT", "SMALLINT", "INTEGER", "BIGINT"), "float": ("FLOAT",),
          "double": ("FLOAT", "DOUBLE")}
_NULL_LIST = "'\"NULL\"[]'"


def _values_macro(kind: str, types: tuple[str, ...]) -> str:
    allowed = ", ".join([*(f"'{t}[]'" for t in types), _NULL_LIST])
    return (f"CREATE MACRO sg_kll_{kind}_values(l) AS CASE WHEN typeof(l) NOT IN ({allowed}) "
            "THEN error('[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] kll_sketch_agg_" + kind +
            " does not take values of type ' || typeof(l) || '. SQLSTATE: 42K09') ELSE l END")


MACROS: tuple[str, ...] = tuple(_values_macro(kind, types) for kind, types in _TAKES.items())


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Create the KLL UDFs and macros on a database (engine start)."""
    for sql in MACROS:
        con.execute(sql)
    for kind in KINDS:
        sql = _SQL[kind]
        udfs: list[tuple[str, Callable[..., pa.Array], list[Any], str]] = [
            (f"sg_kll_agg_{kind}", _agg(kind), [f"{sql}[]", "INTEGER"], "BLOB"),
            (f"sg_kll_merge_agg_{kind}", _merge_agg(kind), ["BLOB[]", "INTEGER"], "BLOB"),
            (f"sg_kll_merge_{kind}", _merge(kind), ["BLOB", "BLOB"], "BLOB"),
            (f"sg_kll_n_{kind}", _count(kind), ["BLOB"], "BIGINT"),
            (f"sg_kll_quantile_{kind}", _quantiles(kind, False), ["BLOB", "DOUBLE"], sql),
            (f"sg_kll_quantiles_{kind}", _quantiles(kind, True), ["BLOB", "DOUBLE[]"],
             f"{sql}[]"),
            (f"sg_kll_rank_{kind}", _ranks(kind, False), ["BLOB", sql], "DOUBLE"),
            (f"sg_kll_ranks_{kind}", _ranks(kind, True), ["BLOB", f"{sql}[]"], "DOUBLE[]"),
        ]
        for name, fn, params, result in udfs:
            con.create_function(name, fn, params, result, type=PythonUDFType.ARROW,
                                null_handling=FunctionNullHandling.SPECIAL)


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _is_array(node: exp.Expr) -> bool:
    return isinstance(node, exp.Array) or (node.type is not None and node.type.is_type(
        exp.DataType.Type.ARRAY))


# Spark name (without the _kind suffix) -> (least, most arguments)
_ARITY = {"kll_sketch_agg": (1, 2), "kll_merge_agg": (1, 2), "kll_sketch_merge": (2, 2),
          "kll_sketch_get_n": (1, 1), "kll_sketch_get_quantile": (2, 2),
          "kll_sketch_get_rank": (2, 2)}
NAMES = frozenset(f"{name}_{kind}" for name in _ARITY for kind in KINDS)


def _kll_calls(tree: exp.Expr) -> exp.Expr:
    """The KLL functions onto the UDFs of `register`."""
    for node in list(tree.find_all(exp.Anonymous)):
        full = str(node.name).lower()
        if full not in NAMES:
            continue
        name, _, kind = full.rpartition("_")
        args = list(node.expressions)
        least, most = _ARITY[name]
        if not least <= len(args) <= most:
            raise AnalysisError(
                f"[WRONG_NUM_ARGS.WITHOUT_SUGGESTION] The `{full}` requires {least}"
                f"{'' if least == most else f' to {most}'} parameters but the actual number "
                f"is {len(args)}. SQLSTATE: 42605", sql_state="42605")
        if name == "kll_sketch_agg":
            result = over_list(node, args[0], f"sg_kll_agg_{kind}",
                               args[1] if len(args) > 1 else exp.Literal.number(200))
            result.expressions[0].replace(_call(f"sg_kll_{kind}_values",
                                                result.expressions[0].copy()))
        elif name == "kll_merge_agg":
            over_list(node, args[0], f"sg_kll_merge_agg_{kind}",
                      args[1] if len(args) > 1 else exp.cast(exp.null(), "INT"))
        elif name == "kll_sketch_merge":
            node.replace(_call(f"sg_kll_merge_{kind}", *args))
        elif name == "kll_sketch_get_n":
            node.replace(_call(f"sg_kll_n_{kind}", *args))
        else:
            many = _is_array(args[1])
            base = "quantile" if name == "kll_sketch_get_quantile" else "rank"
            node.replace(_call(f"sg_kll_{base}{'s' if many else ''}_{kind}", *args))
    return tree


RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_kll_calls,)

__all__ = ["KINDS", "NAMES", "RULES", "register"]
