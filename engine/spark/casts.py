"""CAST of ARRAY, MAP and STRUCT values to STRING, printed as Spark prints them.

Spark writes ``[1, null]``, ``{a -> 1}`` and ``{1, x}``: elements cast to STRING, NULL as
``null``, strings unquoted. The operand's type comes from the annotation; the text is built
in SQL, level by level, for leaves whose STRING form DuckDB prints as Spark does (integers,
STRING, BOOLEAN, DATE). Other leaves (doubles, decimals, timestamps, binary) and operands
of unknown type stay refused by engine.spark.typed.

>>> import sqlglot
>>> from engine.spark.annotation import annotate
>>> tree = annotate(sqlglot.parse_one("SELECT CAST(array(1) AS STRING)", read="databricks"))
>>> _nested_casts(tree).sql("duckdb")
"SELECT '[' || ARRAY_TO_STRING(LIST_TRANSFORM([1], LAMBDA sg_e1 : COALESCE(CAST(sg_e1 AS \
TEXT), 'null')), ', ') || ']'"
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from engine.spark.annotation import spark_type

T = exp.DType
# NULL: the element type of array() and of arrays of NULLs
_LEAVES = {T.TINYINT, T.SMALLINT, T.INT, T.BIGINT, T.BOOLEAN, T.DATE, T.NULL}
_TEXTS = {T.VARCHAR, T.TEXT}
_NESTED = {T.ARRAY, T.MAP, T.STRUCT}


def _printable(typ: exp.DataType) -> bool:
    """Whether every leaf of the type prints in DuckDB as in Spark."""
    if typ.this in _LEAVES or typ.this in _TEXTS:
        return True
    if typ.this in (T.ARRAY, T.MAP):
        return bool(typ.expressions) and all(
            isinstance(t, exp.DataType) and _printable(t) for t in typ.expressions)
    if typ.this == T.STRUCT:
        return bool(typ.expressions) and all(
            isinstance(f, exp.ColumnDef) and isinstance(f.args.get("kind"), exp.DataType)
            and _printable(f.args["kind"]) for f in typ.expressions)
    return False


def _text(value: exp.Expr, typ: exp.DataType, depth: int) -> exp.Expr:
    """`value` (of type `typ`) as Spark's STRING; NULL stays NULL."""
    if typ.this in _TEXTS:
        return value
    if typ.this in _LEAVES:
        return exp.Cast(this=value, to=exp.DataType.build("VARCHAR"))
    name = f"sg_e{depth}"
    var = exp.to_identifier(name)

    def element(inner: exp.Expr, inner_type: exp.DataType) -> exp.Expr:
        return exp.Coalesce(this=_text(inner, inner_type, depth + 1),
                            expressions=[exp.Literal.string("null")])

    if typ.this == T.ARRAY:
        items = exp.Anonymous(this="list_transform", expressions=[
            value, exp.Lambda(this=element(exp.column(name), typ.expressions[0]),
                              expressions=[var])])
        return _wrap("[", items, "]")
    if typ.this == T.MAP:
        key_type, value_type = typ.expressions
        entry = exp.column(name)
        pair = exp.DPipe(this=exp.DPipe(
            this=_text(exp.Dot(this=entry, expression=exp.to_identifier("key")), key_type,
                       depth + 1),
            expression=exp.Literal.string(" -> ")),
            expression=element(exp.Dot(this=entry.copy(), expression=exp.to_identifier("value")),
                               value_type))
        items = exp.Anonymous(this="list_transform", expressions=[
            exp.Anonymous(this="map_entries", expressions=[value]),
            exp.Lambda(this=pair, expressions=[var])])
        return _wrap("{", items, "}")
    fields = [element(exp.Anonymous(this="struct_extract", expressions=[
        value.copy(), exp.Literal.string(f.name)]), f.args["kind"]) for f in typ.expressions]
    return _wrap("{", exp.Array(expressions=fields), "}")


def _wrap(open_: str, items: exp.Expr, close: str) -> exp.Expr:
    joined = exp.Anonymous(this="array_to_string", expressions=[items,
                                                                exp.Literal.string(", ")])
    return exp.DPipe(this=exp.DPipe(this=exp.Literal.string(open_), expression=joined),
                     expression=exp.Literal.string(close))


def _nested_casts(tree: exp.Expr) -> exp.Expr:
    """CAST(nested AS STRING) -> Spark's text, where every leaf prints alike."""

    def fix(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Cast | exp.TryCast) or node.to.this not in _TEXTS:
            return node
        typ = spark_type(node.this)
        if typ is None or typ.this not in _NESTED or not _printable(typ):
            return node
        text = _text(node.this, typ, 1)
        if typ.this == T.STRUCT:  # the struct's own NULL: the text of its fields is not
            return exp.If(this=exp.Is(this=node.this.copy(), expression=exp.null()),
                          true=exp.Cast(this=exp.null(), to=exp.DataType.build("VARCHAR")),
                          false=text)
        return text

    return tree.transform(fix, copy=False)


RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_nested_casts,)

__all__ = ["RULES"]
