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

from engine.errors import Unsupported


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


# the higher-order functions this module implements (engine.spark.functions allows them)
NAMES = frozenset({"zip_with", "transform_keys", "transform_values", "map_filter"})


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


def substitute(body: exp.Expr, values: dict[str, exp.Expr]) -> exp.Expr:
    """A lambda body with its parameters replaced by expressions (struct keys and
    qualified columns of the same name stay)."""

    def put(n: exp.Expr) -> exp.Expr:
        key = isinstance(n.parent, exp.PropertyEQ) and n.arg_key == "this"  # a struct key
        if isinstance(n, exp.Identifier | exp.Column) and n.name in values and not (
                isinstance(n, exp.Column) and n.table) and not isinstance(
                n.parent, exp.Column) and not key:
            return exp.Paren(this=values[n.name].copy())
        return n

    return body.copy().transform(put)


def _params(fn: exp.Expr, count: int) -> list[str] | None:
    if isinstance(fn, exp.Lambda) and len(fn.expressions) == count:
        return [p.name for p in fn.expressions]
    return None


def _lambda(body: exp.Expr, *params: str) -> exp.Lambda:
    return exp.Lambda(this=body, expressions=[exp.to_identifier(p) for p in params])


def _entry(entry: str, field: str) -> exp.Expr:
    return _call("struct_extract", exp.column(entry), exp.Literal.string(field))


def _map_lambdas(tree: exp.Expr) -> exp.Expr:
    """zip_with (the shorter array padded with NULLs), transform_keys, transform_values and
    map_filter, over DuckDB's lists of map entries."""

    def fix(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Anonymous):
            return node
        name, args = str(node.name).lower(), node.expressions
        if name in NAMES and any(isinstance(a, exp.Lambda) and a.find(exp.Tuple)
                                 for a in args):
            # (y, x) in a lambda is a struct named after its columns in Spark
            raise Unsupported(f"[UNSUPPORTED_FEATURE] a tuple in the lambda of {name} is not "
                              "supported; use named_struct. SQLSTATE: 0A000")
        if name == "zip_with" and len(args) == 3 and (names := _params(args[2], 2)):
            a, b = args[0], args[1]
            index = exp.Add(this=exp.column("sg_i"), expression=exp.Literal.number(1))
            body = substitute(args[2].this, {names[0]: _call("list_extract", a, index),
                                              names[1]: _call("list_extract", b, index)})
            size = _call("greatest", _call("len", a.copy()), _call("len", b.copy()))
            return _call("list_transform", _call("range", size), _lambda(body, "sg_i"))
        if name in ("transform_keys", "transform_values", "map_filter") and len(
                args) == 2 and (names := _params(args[1], 2)):
            values = {names[0]: _entry("sg_e", "key"), names[1]: _entry("sg_e", "value")}
            body = substitute(args[1].this, values)
            entries = _call("map_entries", args[0])
            if name == "map_filter":
                kept = _call("list_filter", entries, _lambda(body, "sg_e"))
                return _call("map_from_entries", kept)
            key = body if name == "transform_keys" else _entry("sg_e", "key")
            value = body if name == "transform_values" else _entry("sg_e", "value")
            pair = exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier("key"),
                                                          expression=key),
                                           exp.PropertyEQ(this=exp.to_identifier("value"),
                                                          expression=value)])
            return _call("map_from_entries",
                         _call("list_transform", entries, _lambda(pair, "sg_e")))
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
    _map_lambdas,
    _null_aware,
)
