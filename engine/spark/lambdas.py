"""Spark's higher-order functions DuckDB has no form of: ``array_sort`` with a comparator,
``map_zip_with``, a tuple built in a lambda (``(y, x)``: a struct named after them), and
``arrays_zip`` (struct fields named after the argument columns, as Spark names them).

``array_sort(a, (l, r) -> c)`` is a stable sort (Java's TimSort): element i ends at the
count of elements the comparator puts before it, ties broken by position. That is the
order any stable sort gives for a comparator that is a total preorder; the lambdas are
list functions of DuckDB, so the cost is quadratic in the array's length.

>>> import sqlglot
>>> tree = sqlglot.parse_one("SELECT zip_with(a, b, (x, y) -> (y, x))", read="databricks")
>>> _tuples(tree).sql("duckdb")
"SELECT ZIP_WITH(a, b, LAMBDA x, y : {'y': y, 'x': x})"
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from engine.errors import Unsupported
from engine.spark.arrays import substitute

MACROS: tuple[str, ...] = (
    # does element j sort before element i, given the comparator's answer c for (a[j], a[i])
    "CREATE MACRO sg_sorts_before(c, j, i) AS CASE WHEN c IS NULL THEN error('[COMPARATOR_"
    "RETURNS_NULL] The comparator has returned a NULL for a comparison. SQLSTATE: 22004') "
    "ELSE c < 0 OR (c = 0 AND j < i) END",
)


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _lambda(body: exp.Expr, *params: str) -> exp.Lambda:
    return exp.Lambda(this=body, expressions=[exp.to_identifier(p) for p in params])


def _params(fn: exp.Expr | None, count: int) -> list[str] | None:
    if isinstance(fn, exp.Lambda) and len(fn.expressions) == count:
        return [p.name for p in fn.expressions]
    return None


def _element(array: exp.Expr, index: str) -> exp.Expr:
    return _call("list_extract", array.copy(), exp.column(index))


def _sorted(array: exp.Expr, fn: exp.Lambda, names: list[str]) -> exp.Expr:
    """The stable order of `array` under the comparator `fn` (see the module docstring)."""
    size = _call("len", array.copy())
    positions = _call("range", exp.Literal.number(1), exp.Add(this=size,
                                                              expression=exp.Literal.number(1)))
    answer = substitute(fn.this, {names[0]: _element(array, "sg_j"),
                                   names[1]: _element(array, "sg_i")})
    before = _call("sg_sorts_before", answer, exp.column("sg_j"), exp.column("sg_i"))
    rank = _call("len", _call("list_filter", positions.copy(), _lambda(before, "sg_j")))
    ranks = _call("list_transform", positions, _lambda(rank, "sg_i"))
    pick = _call("list_extract", array.copy(), _call("list_position", ranks,
                                                     exp.column("sg_k")))
    return _call("list_transform", _call("range", size.copy()), _lambda(pick, "sg_k"))


def _array_sort(tree: exp.Expr) -> exp.Expr:
    """``array_sort(a, (l, r) -> ...)``: a stable sort by the comparator."""

    def fix(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.ArraySort) or node.expression is None:
            return node
        names = _params(node.expression, 2)
        if names is None:
            raise Unsupported("[UNSUPPORTED_FEATURE] array_sort needs a comparator of two "
                              "arguments. SQLSTATE: 0A000")
        assert isinstance(node.expression, exp.Lambda)
        return _sorted(node.this, node.expression, names)

    return tree.transform(fix, copy=False)


def _map_zip_with(tree: exp.Expr) -> exp.Expr:
    """``map_zip_with(m1, m2, (k, v1, v2) -> ...)``: every key of m1 then the new ones of m2,
    each with the lambda of its values (NULL where a map lacks the key)."""

    def fix(node: exp.Expr) -> exp.Expr:
        if not (isinstance(node, exp.Anonymous) and str(node.name).lower() == "map_zip_with"):
            return node
        args = node.expressions
        names = _params(args[2], 3) if len(args) == 3 else None
        if names is None:
            raise Unsupported("[UNSUPPORTED_FEATURE] map_zip_with needs two maps and a lambda "
                              "of three arguments. SQLSTATE: 0A000")
        first, second = args[0], args[1]
        keys = _call("sg_array_distinct", _call("list_concat", _call("map_keys", first.copy()),
                                                _call("map_keys", second.copy())))
        key = exp.column("sg_k")
        value = substitute(args[2].this, {
            names[0]: key, names[1]: _call("map_extract_value", first.copy(), key.copy()),
            names[2]: _call("map_extract_value", second.copy(), key.copy())})
        entry = exp.Struct(expressions=[
            exp.PropertyEQ(this=exp.to_identifier("key"), expression=key.copy()),
            exp.PropertyEQ(this=exp.to_identifier("value"), expression=value)])
        return _call("map_from_entries", _call("list_transform", keys, _lambda(entry, "sg_k")))

    return tree.transform(fix, copy=False)


def _tuples(tree: exp.Expr) -> exp.Expr:
    """``(y, x)`` as a lambda's body: Spark's struct named after the lambda's parameters.
    A tuple of other expressions stays refused by the rules of engine.spark.arrays."""
    for fn in list(tree.find_all(exp.Lambda)):
        body = fn.this
        params = {p.name for p in fn.expressions}
        if isinstance(body, exp.Tuple) and body.expressions and all(
                isinstance(e, exp.Identifier) or (isinstance(e, exp.Column) and not e.table)
                for e in body.expressions) and all(e.name in params for e in body.expressions):
            names = [e.name for e in body.expressions]
            if len(set(names)) == len(names):
                fn.set("this", exp.Struct(expressions=[
                    exp.PropertyEQ(this=exp.to_identifier(n), expression=exp.column(n))
                    for n in names]))
    return tree


def _arrays_zip(tree: exp.Expr) -> exp.Expr:
    """``arrays_zip(a, b, ...)``: structs of the i-th elements (NULL past a shorter array),
    their fields named after the arguments that are columns, by position the others; a NULL
    array gives NULL."""

    def fix(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.ArraysZip) or not node.expressions:
            return node
        arrays = list(node.expressions)
        index = exp.Add(this=exp.column("sg_i"), expression=exp.Literal.number(1))
        fields = [exp.PropertyEQ(
            this=exp.to_identifier(a.name if isinstance(a, exp.Column) else str(i)),
            expression=_call("list_extract", a.copy(), index.copy()))
            for i, a in enumerate(arrays)]
        if len({f.this.name for f in fields}) != len(fields):
            raise Unsupported("[UNSUPPORTED_FEATURE] arrays_zip of two arrays of the same name. "
                              "SQLSTATE: 0A000")
        size = _call("greatest", *(_call("len", a.copy()) for a in arrays))
        zipped = _call("list_transform", _call("range", size),
                       _lambda(exp.Struct(expressions=fields), "sg_i"))
        nulls = [exp.Is(this=a.copy(), expression=exp.null()) for a in arrays]
        any_null: exp.Expr = nulls[0]
        for other in nulls[1:]:
            any_null = exp.Or(this=any_null, expression=other)
        return exp.If(this=any_null, true=exp.null(), false=zipped)

    return tree.transform(fix, copy=False)


NAMES: frozenset[str] = frozenset({"map_zip_with"})
CLASSES: frozenset[str] = frozenset({"ArraysZip"})
RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_tuples, _array_sort, _map_zip_with,
                                                     _arrays_zip)
