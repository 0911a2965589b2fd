"""Spark rules for array functions and higher-order functions with lambdas.

Spark's array functions treat NULL elements as values (array_contains answers NULL when
the value is absent but a NULL is present; array_distinct and array_remove keep NULLs),
lambda index arguments count from 0, and ``aggregate``/``reduce`` apply a finish lambda.

>>> import sqlglot
>>> tree = sqlglot.parse_one("SELECT transform(a, (x, i) -> x + i)", read="databricks")
>>> _lambda_index(tree).sql("duckdb")
'SELECT LIST_TRANSFORM(a, LAMBDA x, i : x + (i - 1))'
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _lambda_index(tree: exp.Expr) -> exp.Expr:
    """``transform``/``filter`` with ``(x, i) -> ...``: Spark's i counts from 0, DuckDB's
    from 1, so every use of i in the body becomes ``(i - 1)``."""
    for node in list(tree.find_all(exp.Transform, exp.ArrayFilter)):
        fn = node.args.get("expression")
        if not isinstance(fn, exp.Lambda) or len(fn.expressions) != 2:
            continue
        index = fn.expressions[1].name

        def shift(n: exp.Expr, index: str = index) -> exp.Expr:
            if isinstance(n, exp.Identifier | exp.Column) and n.name == index and not (
                    isinstance(n, exp.Column) and n.table):
                return exp.Paren(this=exp.Sub(this=exp.to_identifier(index),
                                              expression=exp.Literal.number(1)))
            return n

        fn.set("this", fn.this.transform(shift, copy=False))
    return tree


def _reduce_finish(tree: exp.Expr) -> exp.Expr:
    """``aggregate(a, init, merge, finish)``: the finish lambda applied to the result."""

    def fix(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Reduce) or node.args.get("finish") is None:
            return node
        finish = node.args["finish"]
        node.set("finish", None)
        if not isinstance(finish, exp.Lambda) or len(finish.expressions) != 1:
            return node
        param = finish.expressions[0].name

        def put(n: exp.Expr) -> exp.Expr:
            if isinstance(n, exp.Identifier | exp.Column) and n.name == param:
                return exp.Paren(this=node.copy())
            return n

        return finish.this.transform(put)

    return tree.transform(fix, copy=False)


def _quantified(tree: exp.Expr) -> exp.Expr:
    """``exists(a, x -> p)`` and ``forall(a, x -> p)`` with Spark's three-valued logic."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Exists) and isinstance(node.expression, exp.Lambda):
            flags = _call("list_transform", node.this, node.expression)
            return _call("sg_exists", flags)
        if isinstance(node, exp.Anonymous) and node.name.lower() == "forall" and len(
                node.expressions) == 2:
            return _call("sg_forall", _call("list_transform", *node.expressions))
        return node

    return tree.transform(fix, copy=False)


_MACRO_OF: dict[type[exp.Expr], str] = {
    exp.ArrayContains: "sg_array_contains",
    exp.ArrayPosition: "sg_array_position",
    exp.ArrayRemove: "sg_array_remove",
}


def _null_aware(tree: exp.Expr) -> exp.Expr:
    """array_contains / array_position / array_remove / array_distinct / flatten -> the
    macros that keep Spark's NULL handling."""

    def fix(node: exp.Expr) -> exp.Expr:
        name = _MACRO_OF.get(type(node))
        if name is not None:
            return _call(name, node.this, node.expression)
        if isinstance(node, exp.ArrayDistinct):
            return _call("sg_array_distinct", node.this)
        if isinstance(node, exp.Flatten):
            return _call("sg_flatten", node.this)
        return node

    return tree.transform(fix, copy=False)


RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (
    _lambda_index,
    _reduce_finish,
    _quantified,
    _null_aware,
)
