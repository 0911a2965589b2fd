"""Spark's aggregates DuckDB lacks or answers differently: bitmaps, ``last(x, true)``, ``mode``,
``skewness``/``kurtosis``.

Aggregates DuckDB has no counterpart for are computed by a Python UDF over the group's
values: ``bitmap_or_agg(b)`` becomes ``sg_bitmap_or(list(b))``, the ``list`` keeping any
FILTER or OVER of the call (`over_list`). A group's values are then held in memory, which
DuckDB bounds by the worker's memory limit (an out-of-memory error, never a wrong answer).

Spark's bitmaps (catalyst's bitmapExpressions.scala) are 4,096-byte BINARY values whose bit
``p`` (bit ``p % 8``, least significant first, of byte ``p // 8``) marks position ``p``;
``bitmap_bit_position``/``bitmap_bucket_number`` split a number into a position and the
bucket of 32,768 it falls in.

>>> import sqlglot
>>> tree = sqlglot.parse_one("SELECT bitmap_or_agg(b) FILTER (WHERE k > 1) FROM t",
...                          read="databricks")
>>> _bitmap_calls(tree).sql("duckdb")
'SELECT SG_BITMAP_OR(LIST(b) FILTER(WHERE k > 1)) FROM t'
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from duckdb.func import FunctionNullHandling, PythonUDFType
from sqlglot import exp

BITMAP_BYTES = 4096
_POSITIONS = BITMAP_BYTES * 8

MACROS: tuple[str, ...] = (
    "CREATE MACRO sg_bitmap_bit_position(x) AS "
    "CAST(CASE WHEN x > 0 THEN (x - 1) % 32768 ELSE (-x) % 32768 END AS BIGINT)",
    "CREATE MACRO sg_bitmap_bucket_number(x) AS "
    "CAST(CASE WHEN x > 0 THEN 1 + (x - 1) // 32768 ELSE (-x) // 32768 END AS BIGINT)",
    # the one most frequent value of histogram(x); a tie is refused (see _mode)
    "CREATE MACRO sg_unique_mode(h) AS CASE WHEN len(list_filter(map_values(h), "
    "lambda sg_n: sg_n = list_max(map_values(h)))) > 1 THEN error('[UNSUPPORTED_FEATURE."
    "MODE_TIE] mode found several most frequent values, of which Spark returns any one. Use "
    "mode(x, true) or mode() WITHIN GROUP (ORDER BY x) for a deterministic answer. "
    "SQLSTATE: 0A000') ELSE map_keys(h)[list_position(map_values(h), "
    "list_max(map_values(h)))] END",
)


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def over_list(node: exp.Expr, argument: exp.Expr, udf: str, *extra: exp.Expr,
              aggregate: str = "list") -> exp.Expr:
    """Replace the aggregate call `node` by ``udf(list(argument) [FILTER] [OVER], *extra)``
    (or another DuckDB `aggregate` than ``list``), keeping the call's FILTER and OVER.

    Returns the node that now stands where the call's outermost wrapper stood.
    """
    collected = _call(aggregate, argument)
    node.replace(collected)
    outer: exp.Expr = collected
    while isinstance(outer.parent, exp.Filter | exp.Window) and outer.parent.this is outer:
        outer = outer.parent
    placeholder = exp.null()
    outer.replace(placeholder)
    result = _call(udf, outer, *extra)
    placeholder.replace(result)
    return result


def _bitmap_calls(tree: exp.Expr) -> exp.Expr:
    """The bitmap functions onto the macros above and the UDFs of `register`."""
    for node in list(tree.find_all(exp.BitmapBitPosition, exp.BitmapBucketNumber,
                                   exp.BitmapCount)):
        name = {exp.BitmapBitPosition: "sg_bitmap_bit_position",
                exp.BitmapBucketNumber: "sg_bitmap_bucket_number",
                exp.BitmapCount: "sg_bitmap_count"}[type(node)]
        node.replace(_call(name, node.this))
    for node in list(tree.find_all(exp.BitmapConstructAgg, exp.BitmapOrAgg, exp.Anonymous)):
        if isinstance(node, exp.BitmapConstructAgg):
            over_list(node, node.this, "sg_bitmap_construct")
        elif isinstance(node, exp.BitmapOrAgg):
            over_list(node, node.this, "sg_bitmap_or")
        elif str(node.name).lower() == "bitmap_and_agg" and len(node.expressions) == 1:
            over_list(node, node.expressions[0], "sg_bitmap_and")
    return tree


def _last_ignore_nulls(tree: exp.Expr) -> exp.Expr:
    """``last(x, true)``: the last non-NULL value. As an aggregate, a FILTER keeps the
    non-NULL rows (DuckDB's IGNORE NULLS is for window functions only); over a window,
    ``last_value(x IGNORE NULLS)`` with the same frame."""
    for node in list(tree.find_all(exp.IgnoreNulls)):
        inner = node.this
        if not isinstance(inner, exp.Last):  # first(x, true) is DuckDB's any_value already
            continue
        if isinstance(node.parent, exp.Window):
            inner.replace(exp.LastValue(this=inner.this))
            continue
        keep = exp.Not(this=exp.Is(this=inner.this.copy(), expression=exp.null()))
        if isinstance(node.parent, exp.Filter):
            where = node.parent.expression
            where.set("this", exp.and_(exp.paren(where.this.copy()), keep))
            node.replace(inner)
        else:
            node.replace(exp.Filter(this=inner, expression=exp.Where(this=keep)))
    return tree


def _mode(tree: exp.Expr) -> exp.Expr:
    """``mode(x, true)``: the smallest of the most frequent values, as ``mode() WITHIN GROUP
    (ORDER BY x)``. ``mode(x)`` / ``mode(x, false)``: Spark picks one of several most frequent
    values by its hash table's order, which DuckDB cannot reproduce: such a tie is refused
    (``sg_unique_mode``); a single most frequent value is the answer."""
    for node in list(tree.find_all(exp.Mode)):
        if node.this is None or isinstance(node.parent, exp.WithinGroup):
            continue
        deterministic = node.args.get("deterministic")
        if isinstance(deterministic, exp.Boolean) and deterministic.this:
            order = exp.Order(expressions=[exp.Ordered(this=node.this, nulls_first=False)])
            node.replace(exp.WithinGroup(this=exp.Mode(), expression=order))
        else:
            over_list(node, node.this, "sg_unique_mode", aggregate="histogram")
    return tree


def _moments(tree: exp.Expr) -> exp.Expr:
    """``skewness``/``kurtosis``: Spark's running central moments (CentralMomentAgg's update
    formulas, in `_central_moment`); raw power sums in SQL lose every digit for values far
    from zero (1e9 + small) and overflow on integers."""
    for node in list(tree.find_all(exp.Skewness, exp.Kurtosis)):
        order = exp.Literal.number(3 if isinstance(node, exp.Skewness) else 4)
        value = exp.Cast(this=node.this, to=exp.DataType.build("DOUBLE"))
        over_list(node, value, "sg_central_moment", order)
    return tree


def _central_moment(groups: Any, orders: Any) -> pa.Array:
    """Skewness (order 3) or kurtosis (order 4) of each group, updated value by value as
    Spark does; NULL for no values or no variance (Spark's non-legacy statistics)."""
    out: list[float | None] = []
    for group, order in zip(groups.to_pylist(), orders.to_pylist(), strict=True):
        n = avg = m2 = m3 = m4 = 0.0
        for x in group or ():
            if x is None:
                continue
            n += 1.0
            delta = x - avg
            delta_n = delta / n
            avg += delta_n
            m2_new = m2 + delta * (delta - delta_n)
            delta2, delta_n2 = delta * delta, delta_n * delta_n
            m3_new = m3 - 3.0 * delta_n * m2_new + delta * (delta2 - delta_n2)
            m4 = (m4 - 4.0 * delta_n * m3_new - 6.0 * delta_n2 * m2_new
                  + delta * (delta * delta2 - delta_n * delta_n2))
            m2, m3 = m2_new, m3_new
        if n == 0.0 or m2 == 0.0:
            out.append(None)
        elif order == 3:
            out.append(math.sqrt(n) * m3 / math.sqrt(m2 * m2 * m2))
        else:
            out.append(n * m4 / (m2 * m2) - 3.0)
    return pa.array(out, type=pa.float64())


def _bitmap_construct(positions: Any) -> pa.Array:
    out: list[bytes] = []
    for group in positions.to_pylist():
        bitmap = np.zeros(BITMAP_BYTES, dtype=np.uint8)
        values = np.array([p for p in group or () if p is not None], dtype=np.int64)
        if len(values) and (values.min() < 0 or values.max() >= _POSITIONS):
            raise ValueError(f"[INVALID_BITMAP_POSITION] The 0-indexed bitmap position is out "
                             f"of bounds: it must be between 0 and {_POSITIONS - 1}. "
                             "SQLSTATE: 22003")
        np.bitwise_or.at(bitmap, values >> 3, (1 << (values & 7)).astype(np.uint8))
        out.append(bitmap.tobytes())
    return pa.array(out, type=pa.binary())


def _bitmap_fold(start: int, fold: Callable[[Any, Any], Any]) -> Callable[[Any], pa.Array]:
    def udf(bitmaps: Any) -> pa.Array:
        out: list[bytes] = []
        for group in bitmaps.to_pylist():
            acc = np.full(BITMAP_BYTES, start, dtype=np.uint8)
            for value in group or ():
                if value is None:
                    continue
                # a shorter bitmap counts as zero-padded; a longer one is cut (as Spark)
                padded = np.zeros(BITMAP_BYTES, dtype=np.uint8)
                raw = np.frombuffer(value[:BITMAP_BYTES], dtype=np.uint8)
                padded[:len(raw)] = raw
                acc = fold(acc, padded)
            out.append(acc.tobytes())
        return pa.array(out, type=pa.binary())

    return udf


def _bitmap_count(bitmaps: Any) -> pa.Array:
    out: list[int | None] = []
    for value in bitmaps.to_pylist():
        out.append(None if value is None else int(
            np.unpackbits(np.frombuffer(value, dtype=np.uint8)).sum()))
    return pa.array(out, type=pa.int64())


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Create the bitmap macros and UDFs on a database (engine start)."""
    for sql in MACROS:
        con.execute(sql)
    udfs: list[tuple[str, Callable[..., pa.Array], list[Any], str]] = [
        ("sg_bitmap_construct", _bitmap_construct, ["BIGINT[]"], "BLOB"),
        ("sg_bitmap_or", _bitmap_fold(0, np.bitwise_or), ["BLOB[]"], "BLOB"),
        ("sg_bitmap_and", _bitmap_fold(0xFF, np.bitwise_and), ["BLOB[]"], "BLOB"),
        ("sg_bitmap_count", _bitmap_count, ["BLOB"], "BIGINT"),
        ("sg_central_moment", _central_moment, ["DOUBLE[]", "INTEGER"], "DOUBLE"),
    ]
    for name, fn, params, result in udfs:
        con.create_function(name, fn, params, result, type=PythonUDFType.ARROW,
                            null_handling=FunctionNullHandling.SPECIAL)


NAMES = frozenset({"bitmap_and_agg"})
CLASSES = frozenset({"BitmapBitPosition", "BitmapBucketNumber", "BitmapCount",
                     "BitmapConstructAgg", "BitmapOrAgg", "Kurtosis", "Skewness"})

RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_bitmap_calls, _last_ignore_nulls, _mode,
                                                     _moments)
