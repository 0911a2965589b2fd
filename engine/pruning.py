"""Data skipping from the Delta log: partition values and min/max stats of each add action.

Only predicates that can never drop a matching row are used: simple comparisons, IN and
BETWEEN between one column of the table and literals, taken from the top-level AND of the
WHERE clause of the SELECT that reads the table. All of them reject NULL, so pruning the
null-supplying side of an outer join gives the same rows as filtering after the join.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
from sqlglot import exp

from engine.catalog import DataFileEntry, Snapshot

_FLIP = {"eq": "eq", "neq": "neq", "lt": "gt", "lte": "gte", "gt": "lt", "gte": "lte"}
_OPS: dict[type[exp.Expr], str] = {
    exp.EQ: "eq", exp.NEQ: "neq", exp.LT: "lt", exp.LTE: "lte", exp.GT: "gt", exp.GTE: "gte",
}
# Spark truncates string max stats to a prefix; a long max may be below the real maximum
_STRING_STAT_LIMIT = 32


@dataclass(frozen=True)
class Predicate:
    """``column op values``: op is eq/neq/lt/lte/gt/gte (one value), in (many), between (two)."""

    column: str
    op: str
    values: tuple[Any, ...]


def conjuncts(where: exp.Expr | None) -> list[exp.Expr]:
    """The top-level AND terms of a WHERE condition."""
    if where is None:
        return []
    node = where.this if isinstance(where, exp.Where) else where
    if isinstance(node, exp.And):
        return [t for t in node.flatten() if isinstance(t, exp.Expr)]
    return [node]


def literal_value(node: exp.Expr, target: pa.DataType | None) -> Any:
    """A Python value for a literal (or a cast literal), coerced to the column's type.

    Raises ValueError when the node is not a constant this module understands.
    """
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal):
        return _coerce(node.this.this, node.this.is_string, target)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return _coerce("-" + node.this.this, False, target)
    if isinstance(node, exp.Literal):
        return _coerce(node.this, node.is_string, target)
    if isinstance(node, (exp.Date, exp.TsOrDsToDate)) and isinstance(node.this, exp.Literal):
        return _coerce(node.this.this, True, pa.date32())
    raise ValueError("not a literal")


def _coerce(text: str, is_string: bool, target: pa.DataType | None) -> Any:
    if target is None:
        raise ValueError("unknown column type")
    try:
        if pa.types.is_date(target):
            return dt.date.fromisoformat(text.strip()[:10])
        if pa.types.is_integer(target):
            if is_string:
                raise ValueError("string compared with a number")
            value = Decimal(text)
            return int(value) if value == int(value) else value
        if pa.types.is_floating(target) or pa.types.is_decimal(target):
            if is_string:
                raise ValueError("string compared with a number")
            return Decimal(text)
        if pa.types.is_string(target) or pa.types.is_large_string(target):
            if not is_string:
                raise ValueError("number compared with a string")
            return text
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(str(exc)) from exc
    # timestamps, booleans, binary: not worth the time-zone and encoding traps
    raise ValueError(f"no pruning on {target}")


def extract(
    where: exp.Expr | None,
    owns: Any,
    schema: pa.Schema,
) -> list[Predicate]:
    """Predicates on this table's columns; `owns(column_node)` says if a column is ours."""
    out: list[Predicate] = []
    for term in conjuncts(where):
        try:
            pred = _predicate(term, owns, schema)
        except (ValueError, KeyError):
            continue
        if pred is not None:
            out.append(pred)
    return out


def _column(node: exp.Expr, owns: Any, schema: pa.Schema) -> str | None:
    if isinstance(node, exp.Column) and owns(node) and node.name in schema.names:
        return node.name
    return None


def _predicate(term: exp.Expr, owns: Any, schema: pa.Schema) -> Predicate | None:
    op = _OPS.get(type(term))
    if op is not None:
        left, right = term.this, term.expression
        col = _column(left, owns, schema)
        if col is None:
            col, left, right, op = _column(right, owns, schema), right, left, _FLIP[op]
        if col is None:
            return None
        return Predicate(col, op, (literal_value(right, schema.field(col).type),))
    if isinstance(term, exp.In) and not term.args.get("query") and not term.args.get("not"):
        col = _column(term.this, owns, schema)
        if col is None:
            return None
        t = schema.field(col).type
        return Predicate(col, "in", tuple(literal_value(v, t) for v in term.expressions))
    if isinstance(term, exp.Between):
        col = _column(term.this, owns, schema)
        if col is None:
            return None
        t = schema.field(col).type
        low, high = term.args["low"], term.args["high"]
        return Predicate(col, "between", (literal_value(low, t), literal_value(high, t)))
    return None


def _compare(value: Any, op: str, args: Sequence[Any]) -> bool:
    """Exact evaluation on a partition value (None never matches: predicates reject NULL)."""
    if value is None:
        return False
    if op == "in":
        return any(value == a for a in args)
    if op == "between":
        return bool(args[0] <= value <= args[1])
    a = args[0]
    return {
        "eq": value == a, "neq": value != a, "lt": value < a,
        "lte": value <= a, "gt": value > a, "gte": value >= a,
    }[op]


def _may_match(lo: Any, hi: Any, op: str, args: Sequence[Any]) -> bool:
    """Whether some value in [lo, hi] can satisfy the predicate (unknown bounds: True)."""
    if isinstance(hi, str) and len(hi) >= _STRING_STAT_LIMIT:
        hi = None
    if op == "in":
        return any(_may_match(lo, hi, "eq", (a,)) for a in args)
    if op == "between":
        return _may_match(lo, hi, "gte", args[:1]) and _may_match(lo, hi, "lte", args[1:])
    a = args[0]
    if op == "eq":
        return (lo is None or lo <= a) and (hi is None or a <= hi)
    if op == "neq":
        return lo is None or hi is None or not (lo == hi == a)
    if op in ("lt", "lte"):
        return lo is None or (lo < a if op == "lt" else lo <= a)
    return hi is None or (hi > a if op == "gt" else hi >= a)


def file_may_match(entry: DataFileEntry, preds: Iterable[Predicate], partitions: set[str]) -> bool:
    """False only when the file provably holds no row that satisfies every predicate."""
    for p in preds:
        try:
            if p.column in partitions:
                if not _compare(entry.partition.get(p.column), p.op, p.values):
                    return False
            else:
                if entry.num_records and entry.null_counts.get(p.column) == entry.num_records:
                    return False  # all NULL: no comparison can be true
                lo, hi = entry.mins.get(p.column), entry.maxs.get(p.column)
                if not _may_match(lo, hi, p.op, p.values):
                    return False
        except TypeError:
            continue  # stats of a type we cannot compare: keep the file
    return True


def prune(snapshot: Snapshot, preds: Sequence[Predicate]) -> list[DataFileEntry]:
    """The snapshot's files that may hold matching rows."""
    if not preds:
        return list(snapshot.files)
    parts = set(snapshot.partition_columns)
    return [f for f in snapshot.files if file_may_match(f, preds, parts)]


__all__ = ["Predicate", "conjuncts", "extract", "file_may_match", "literal_value", "prune"]
