"""Each node's Spark type: sqlglot's annotation, told the scanned tables' column types.

sqlglot does not know what a table column holds, so `annotate` gives it the schema of every
table the statement scans (from the Delta snapshot, `engine.translate.Scan`): on a copy of
the tree it renames each scanned table to a private name, qualifies the columns
(`sqlglot.optimizer.qualify`) and runs `annotate_types` with those schemas, so a column's
type reaches it through subqueries, CTEs, joins and expanded views. The types are then
copied back onto the original tree by a node number (the copy is restructured by
qualification; the original must keep its shape, since it becomes the DuckDB text).

The annotation follows Spark where the rules depend on it (`engine.spark.precision`): a
decimal literal is a DECIMAL of its digits, and DECIMAL arithmetic, `sum` and `avg` take
Spark's precision and scale. Statements that read no table skip the qualification.

>>> import pyarrow as pa, sqlglot
>>> tree = sqlglot.parse_one("SELECT d FROM t", read="databricks")
>>> table = tree.find(exp.Table)
>>> tree = annotate(tree, {id(table): pa.schema([("d", pa.float64())])})
>>> spark_type(tree.selects[0]).sql("databricks")
'DOUBLE'
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from engine.columns import type_text
from engine.spark import precision

T = exp.DType
_META = "spark_type"
_NODE = "spark_node"
_TABLE = "__sqlgate_typed_{}"

# What sqlglot's annotation gets wrong for the columns these produce (LATERAL VIEW
# explode(a) AS x is typed as the array, not its element): their statements are annotated
# without column types, as before (docs/spark-semantics.md lists what then stays DuckDB's).
_UNTRUSTED = (exp.Lateral, exp.Unnest, exp.Pivot)

Tables = Mapping[int, pa.Schema]


def spark_type(node: exp.Expr | None) -> exp.DataType | None:
    """The type `annotate` found for a node, or None when unknown."""
    typ = node.meta.get(_META) if node is not None else None
    if typ is None or typ.this in (T.UNKNOWN, T.NULL):
        return None
    return typ


def annotate(tree: exp.Expr, tables: Tables | None = None) -> exp.Expr:
    """Each node's type where sqlglot can tell it, kept in ``node.meta`` (not ``node.type``:
    the DuckDB generator reads that, and its translations are tested on trees as parsed).

    `tables` maps ``id()`` of the tree's scanned ``exp.Table`` nodes to their Arrow schemas.
    """
    typed = None
    # VALUES rows are a source of columns too (their types widen across rows)
    if (tables or tree.find(exp.Values) is not None) and not any(
            isinstance(n, _UNTRUSTED) or (
                isinstance(n, exp.Table) and not isinstance(n.this, exp.Identifier))
            for n in tree.walk()):
        typed = _with_columns(tree, tables or {})
    if typed is None:
        try:
            plain = _annotate_types(tree.copy(), MappingSchema(dialect="databricks"))
        except (SqlglotError, KeyError, ValueError, TypeError, AttributeError):
            return tree  # no types: every typed rule then leaves the tree alone
        for node, twin in zip(tree.walk(), plain.walk(), strict=False):
            node.meta[_META] = twin.type
        return tree
    nodes, copy = typed
    for twin in copy.walk():
        number = twin.meta.get(_NODE)
        if number is not None and number < len(nodes) and twin.type is not None:
            nodes[number].meta[_META] = twin.type
    for node in nodes:
        node.meta.pop(_NODE, None)
    return tree


def _with_columns(tree: exp.Expr, tables: Tables) -> tuple[list[exp.Expr], exp.Expr] | None:
    """Qualify and annotate a numbered copy of the tree; None when sqlglot cannot."""
    nodes = list(tree.walk())
    for number, node in enumerate(nodes):
        node.meta[_NODE] = number
    mapping: dict[str, object] = {}
    slots: dict[int, str] = {}
    for number, node in enumerate(nodes):
        schema = tables.get(id(node)) if isinstance(node, exp.Table) else None
        if schema is not None:
            slots[number] = _TABLE.format(len(slots))
            mapping[slots[number]] = {f.name: _data_type(f.type) for f in schema}
    try:
        copy = tree.copy()
        for twin in list(copy.walk()):
            slot = slots.get(twin.meta.get(_NODE, -1))
            if slot is not None and isinstance(twin, exp.Table):
                alias = twin.args.get("alias") or exp.TableAlias(
                    this=exp.to_identifier(twin.name))
                twin.replace(exp.Table(this=exp.to_identifier(slot), alias=alias.copy()))
        schema = MappingSchema(mapping, dialect="databricks")
        copy = qualify(copy, dialect="databricks", schema=schema,
                       validate_qualify_columns=False, quote_identifiers=False)
        copy = _annotate_types(copy, schema)
    except (SqlglotError, KeyError, ValueError, TypeError, AttributeError, RecursionError):
        for node in nodes:
            node.meta.pop(_NODE, None)
        return None
    return nodes, copy


def _annotate_types(tree: exp.Expr, schema: MappingSchema) -> exp.Expr:
    """sqlglot's annotate_types, with Spark's decimal rules (engine.spark.precision)."""
    return precision.SparkAnnotator(schema=schema, expression_metadata=_METADATA).annotate(tree)


def _data_type(arrow: pa.DataType) -> exp.DataType:
    return _parsed_type(arrow).copy()  # a copy: the annotation may mark a node's type


# Parsing a type's text costs more than the rest of the annotation for wide tables; the
# distinct column types of a lake are few (the bound is for nested ones)
@functools.lru_cache(maxsize=1024)
def _parsed_type(arrow: pa.DataType) -> exp.DataType:
    if pa.types.is_decimal(arrow):
        return precision.decimal(arrow.precision, arrow.scale)  # the column's own, exactly
    try:
        return exp.DataType.build(type_text(arrow), dialect="databricks")
    except SqlglotError:
        return exp.DataType.build("UNKNOWN")


_METADATA: dict[type[exp.Expr], dict[str, Any]] = {
    **Dialect.get_or_raise("databricks").EXPRESSION_METADATA,
    **precision.METADATA,
}


__all__ = ["Tables", "annotate", "spark_type"]
