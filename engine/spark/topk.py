"""Spark's ``approx_top_k(expr[, k[, maxItemsTracked]])``: the k most frequent items.

Spark (catalyst's ApproxTopKAggregates) counts items in a DataSketches frequent-items
sketch (Java's ItemsSketch) and lists them by count, highest first, NULL (counted apart)
placed before the first item with a lower count. While the sketch holds no more distinct
items than its capacity (0.75 of ``maxItemsTracked / 0.75`` rounded up to a power of two)
the counts are exact, and so is this answer; past it the sketch purges and its counts become
estimates, refused here (``UNSUPPORTED_FEATURE.APPROX_TOP_K_PURGE``). Items of equal counts
come in the order of Java's hash table, which depends on Java's hash codes, the table's
growth and Spark's partial and final aggregation: a result in which two items share a count
(or the k-th item's count continues past the cut) is refused as well
(``UNSUPPORTED_FEATURE.APPROX_TOP_K_TIE``). The accumulate/combine/estimate functions,
whose state is Java's serialized sketch, stay refused.

The UDF answers with (index into ``list(expr)``, count) pairs and SQL picks the items, so
the result keeps the column's own type:

>>> _order([("int", 2), ("int", 1), ("int", 2)], 16384)
[(('int', 2), 2), (('int', 1), 1)]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa
from duckdb.func import FunctionNullHandling, PythonUDFType
from sqlglot import exp

from engine.spark.aggregates import over_list
from engine.spark.variant import Value, decode_value

_TYPES = {"BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "FLOAT", "DOUBLE", "DATE",
          "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "VARCHAR"}


def _error(error_class: str, text: str, sql_state: str) -> ValueError:
    return ValueError(f"[{error_class}] {text} SQLSTATE: {sql_state}")


def _canonical(key: Value) -> Value:
    tag, v = key
    if tag == "double" and (v & 0x7FF0000000000000) == 0x7FF0000000000000 and v & (
            (1 << 52) - 1):
        return ("double", 0x7FF8000000000000)  # doubleToLongBits: one NaN
    if tag == "float" and (v & 0x7F800000) == 0x7F800000 and v & 0x7FFFFF:
        return ("float", 0x7FC00000)
    return key


def _order(keys: list[Value], max_size: int) -> list[tuple[Value, int]]:
    """Items and exact counts, highest count first (ties stay in first-seen order)."""
    counts: dict[Value, int] = {}
    capacity = int(max_size * 0.75)
    for key in keys:
        key = _canonical(key)
        counts[key] = counts.get(key, 0) + 1
        if len(counts) > capacity:
            raise _error("UNSUPPORTED_FEATURE.APPROX_TOP_K_PURGE", "approx_top_k over more "
                         "distinct items than maxItemsTracked keeps is not supported by this "
                         "warehouse (Spark's counts are estimates there).", "0A000")
    return sorted(counts.items(), key=lambda kc: -kc[1])


def _untied(ranked: list[tuple[Value, int]], k: int) -> None:
    """Refuse when the first k items' order or membership depends on Java's table order."""
    counts = [c for _, c in ranked[:k + 1]]
    for i in range(1, len(counts)):
        if counts[i] == counts[i - 1]:
            raise _error("UNSUPPORTED_FEATURE.APPROX_TOP_K_TIE", "approx_top_k found items of "
                         "equal counts, which Spark orders by its sketch's hash table; that "
                         "order is not reproduced by this warehouse.", "0A000")


def _max_map_size(max_items: int) -> int:
    return 1 << math.ceil(math.log2(math.ceil(max_items / 0.75)))


def _check(k: Any, max_items: Any) -> None:
    for name, value in (("k", k), ("maxItemsTracked", max_items)):
        if value is None:
            raise _error("APPROX_TOP_K_NULL_ARG", f"The value of {name} in `approx_top_k` "
                         "cannot be NULL.", "22004")
        if value <= 0:
            raise _error("APPROX_TOP_K_NON_POSITIVE_ARG", f"The value of {name} in "
                         f"`approx_top_k` must be a positive integer, but got {value}.", "22023")
    if max_items > 1000000:
        raise _error("APPROX_TOP_K_MAX_ITEMS_TRACKED_EXCEEDS_LIMIT", f"The max items tracked "
                     f"`maxItemsTracked`({max_items}) of `approx_top_k` should be less than or "
                     "equal to 1000000.", "22023")
    if max_items < k:
        raise _error("APPROX_TOP_K_MAX_ITEMS_TRACKED_LESS_THAN_K", f"The max items tracked "
                     f"`maxItemsTracked`({max_items}) of `approx_top_k` should be greater than "
                     f"or equal to `k`({k}).", "22023")


_PICKS = pa.list_(pa.struct([("i", pa.int64()), ("c", pa.int64())]))


def _top_k(types: Any, lists: Any, ks: Any, max_items: Any) -> pa.Array:
    out = []
    for type_name, packed, k, most in zip(types.to_pylist(), lists.to_pylist(), ks.to_pylist(),
                                          max_items.to_pylist(), strict=True):
        _check(k, most)
        element = type_name.removesuffix("[]")
        if element not in _TYPES and element != '"NULL"':
            raise _error("DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE", f"approx_top_k of "
                         f"{element} values is not supported by this warehouse.", "42K09")
        values = decode_value(packed["value"])[1] if packed is not None else []
        first: dict[Value, int] = {}
        keys, nulls = [], 0
        for i, value in enumerate(values, start=1):
            if value[0] == "null":
                nulls += 1
                continue
            first.setdefault(_canonical(value), i)
            keys.append(value)
        picks: list[dict[str, int | None]] = []
        null_placed = nulls == 0
        ranked = _order(keys, _max_map_size(most))
        _untied(ranked, k)
        for key, count in ranked:
            if not null_placed and nulls > count:
                picks.append({"i": None, "c": nulls})
                null_placed = True
            picks.append({"i": first[key], "c": count})
        if not null_placed:
            picks.append({"i": None, "c": nulls})
        out.append(picks[:k])
    return pa.array(out, type=_PICKS)


def _top_k_calls(tree: exp.Expr) -> exp.Expr:
    """``approx_top_k(x, k, m)`` -> the items of ``list(x)`` that `_top_k` picks."""
    for node in list(tree.find_all(exp.ApproxTopK)):
        k = node.args.get("expression") or exp.Literal.number(5)
        most = node.args.get("counters") or exp.Literal.number(10000)
        result = over_list(node, node.this, "sg_approx_top_k", k, most)
        collected = result.expressions[0]
        items = collected.copy()
        result.set("expressions", [exp.Anonymous(this="typeof", expressions=[collected.copy()]),
                                   exp.Cast(this=collected, to=exp.DataType.build(
                                       "VARIANT", dialect="duckdb")), k, most])
        pick = exp.to_identifier("sg_p")
        index = exp.Dot(this=exp.column(pick), expression=exp.to_identifier("i"))
        count = exp.Dot(this=exp.column(pick), expression=exp.to_identifier("c"))
        entry = exp.Struct(expressions=[
            exp.PropertyEQ(this=exp.to_identifier("item"),
                           expression=exp.Bracket(this=items, expressions=[index])),
            exp.PropertyEQ(this=exp.to_identifier("count"), expression=count)])
        lam = exp.Lambda(this=entry, expressions=[pick])
        transformed = exp.Anonymous(this="list_transform", expressions=[result.copy(), lam])
        result.replace(transformed)
    return tree


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Create the approx_top_k UDF on a database (engine start)."""
    con.create_function("sg_approx_top_k", _top_k, ["VARCHAR", duckdb.sqltype("VARIANT"),
                                                    "INTEGER", "INTEGER"],
                        "STRUCT(i BIGINT, c BIGINT)[]", type=PythonUDFType.ARROW,
                        null_handling=FunctionNullHandling.SPECIAL)


CLASSES = frozenset({"ApproxTopK"})
RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_top_k_calls,)

__all__ = ["CLASSES", "RULES", "register"]
