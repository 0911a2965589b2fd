"""Table-valued functions Databricks permits: range, explode, posexplode, inline, stack.

In FROM they become subqueries with Spark's column names (``id``; ``col``; ``pos, col``;
the struct's fields; ``col0, col1, ...``). sqlglot translates them in SELECT lists and
LATERAL VIEWs itself. File readers stay refused by engine.sandbox.

>>> import sqlglot
>>> tree = sqlglot.parse_one("SELECT * FROM range(3)", read="databricks")
>>> _table_functions(tree).sql("duckdb")
'SELECT * FROM (SELECT range AS id FROM RANGE(3)) AS range'
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from engine.errors import Unsupported

# The table functions translated here (engine.sandbox keeps its own list of what it allows)
_TABLE_FUNCTIONS: tuple[type[exp.Expr], ...] = (exp.Explode, exp.Posexplode, exp.Inline,
                                                exp.Stack)


def _lone_generator(node: exp.Expr) -> bool:
    """``SELECT stack(...)`` / ``SELECT inline(...)``: the only column of a SELECT without FROM."""
    select = node.parent
    return (isinstance(node, exp.Stack | exp.Inline) and isinstance(select, exp.Select)
            and len(select.expressions) == 1 and select.args.get("from_") is None)


def table_function(node: exp.Expr) -> bool:
    """Whether `node` is a generator called in FROM (or alone in a SELECT without FROM) that
    this module translates."""
    if _lone_generator(node):
        return True
    if not isinstance(node.parent, exp.Table) or node.arg_key != "this":
        return False
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower() == "range"
    return isinstance(node, _TABLE_FUNCTIONS)


def _alias(node: exp.Table, default: str) -> exp.TableAlias:
    alias = node.args.get("alias")
    return alias.copy() if alias is not None else exp.TableAlias(
        this=exp.to_identifier(default))


def _range(fn: exp.Anonymous) -> exp.Select:
    args = fn.expressions
    if not 1 <= len(args) <= 4:
        raise Unsupported("[WRONG_NUM_ARGS] range takes 1 to 4 arguments. SQLSTATE: 42605")
    source = exp.Table(this=exp.Anonymous(this="range", expressions=args[:3]))
    return exp.select(exp.alias_(exp.column("range"), "id")).from_(source)


def _inline(fn: exp.Inline) -> exp.Select:
    inner = exp.select(exp.alias_(exp.Unnest(expressions=[fn.this]), "sg_row"))
    outer = exp.Anonymous(this="unnest", expressions=[exp.column("sg_row")])
    return exp.select(outer).from_(inner.subquery("sg_rows"))


def _stack(fn: exp.Stack) -> exp.Values:
    count = fn.this
    if not (isinstance(count, exp.Literal) and count.is_int and int(count.this) > 0):
        raise Unsupported("[UNSUPPORTED_FEATURE] stack needs a positive literal row count. "
                          "SQLSTATE: 0A000")
    rows, values = int(count.this), list(fn.expressions)
    width = -(-len(values) // rows)
    values += [exp.null()] * (rows * width - len(values))
    tuples = [exp.Tuple(expressions=values[r * width:(r + 1) * width]) for r in range(rows)]
    return exp.Values(expressions=tuples)


def _named_arguments(tree: exp.Expr) -> exp.Expr:
    """``explode(collection => a)``: generators' named argument is their only one."""
    for node in tree.find_all(exp.Kwarg):
        parent = node.parent
        if isinstance(parent, exp.Explode | exp.Inline) or type(parent).__name__ in (
                "_ExplodeOuter", "PosexplodeOuter") or (isinstance(parent, exp.Anonymous) and (
                str(parent.name).lower() == "inline_outer")):
            node.replace(node.expression)
    return tree


def _outer(value: exp.Expr) -> exp.Anonymous:
    """An array, or ``[NULL]`` for a NULL or empty one: the row an ``_outer`` generator
    keeps (engine.spark.texts' sg_outer)."""
    return exp.Anonymous(this="sg_outer", expressions=[value])


def _select_generators(tree: exp.Expr) -> exp.Expr:
    """Generators in a SELECT list DuckDB's UNNEST cannot express as sqlglot writes them:
    ``explode`` of a MAP (columns ``key``, ``value``), ``posexplode_outer`` (``pos`` is
    NULL for the kept row), ``inline_outer``."""
    for node in list(tree.find_all(exp.Explode, exp.Anonymous)):
        select = node.parent
        if not isinstance(select, exp.Select) or node.arg_key != "expressions":
            continue
        at = select.expressions.index(node)
        if type(node).__name__ == "PosexplodeOuter":
            array = node.this
            size = exp.Anonymous(this="len", expressions=[array.copy()])
            positions = exp.Anonymous(this="range", expressions=[size])
            pos = exp.Anonymous(this="unnest", expressions=[_outer(positions)])
            col = exp.Anonymous(this="unnest", expressions=[_outer(array.copy())])
            select.expressions[at:at + 1] = [exp.alias_(pos, "pos"), exp.alias_(col, "col")]
            select.set("expressions", select.expressions)
        elif isinstance(node, exp.Anonymous) and str(node.name).lower() == "inline_outer" and (
                len(node.expressions) == 1):
            node.replace(exp.Inline(this=_outer(node.expressions[0])))
        elif type(node) is exp.Explode and _is_map(node.this):
            keys = exp.Anonymous(this="map_keys", expressions=[node.this.copy()])
            values = exp.Anonymous(this="map_values", expressions=[node.this.copy()])
            select.expressions[at:at + 1] = [
                exp.alias_(exp.Anonymous(this="unnest", expressions=[keys]), "key"),
                exp.alias_(exp.Anonymous(this="unnest", expressions=[values]), "value")]
            select.set("expressions", select.expressions)
    return tree


def _is_map(node: exp.Expr) -> bool:
    typ = node.meta.get("spark_type")
    return isinstance(node, exp.VarMap | exp.Map) or (typ is not None
                                                      and typ.this == exp.DType.MAP)


def _lateral_outer(tree: exp.Expr) -> exp.Expr:
    """LATERAL VIEW OUTER explode(a) keeps a row (col NULL) for a NULL or empty array: the
    plain LATERAL VIEW of ``sg_outer(a)``. Other generators there are refused."""
    for node in tree.find_all(exp.Lateral):
        if not node.args.get("outer"):
            continue
        fn = node.this
        if type(fn) is not exp.Explode or _is_map(fn.this):
            raise Unsupported("[UNSUPPORTED_FEATURE] LATERAL VIEW OUTER is supported with "
                              "explode of an array only. SQLSTATE: 0A000")
        fn.set("this", _outer(fn.this))
        node.set("outer", None)
    return tree


def _lone_generators(tree: exp.Expr) -> exp.Expr:
    """``SELECT stack(...)`` -> ``SELECT * FROM stack(...)``, then translated as in FROM."""
    for node in list(tree.find_all(exp.Stack, exp.Inline)):
        if _lone_generator(node):
            select = node.parent
            assert isinstance(select, exp.Select)
            select.set("expressions", [exp.Star()])
            select.set("from_", exp.From(this=exp.Table(this=node)))
    return tree


def _table_functions(tree: exp.Expr) -> exp.Expr:
    """Generators in FROM -> subqueries with Spark's column names."""
    for node in list(tree.find_all(exp.Table)):
        fn = node.this
        if isinstance(fn, exp.Anonymous) and str(fn.name).lower() == "range":
            node.replace(exp.Subquery(this=_range(fn), alias=_alias(node, "range")))
        elif isinstance(fn, exp.Explode) and not isinstance(fn, exp.Posexplode):
            select = exp.select(exp.alias_(exp.Unnest(expressions=[fn.this]), "col"))
            node.replace(exp.Subquery(this=select, alias=_alias(node, "explode")))
        elif isinstance(fn, exp.Inline):
            node.replace(exp.Subquery(this=_inline(fn), alias=_alias(node, "inline")))
        elif isinstance(fn, exp.Stack):
            alias = _alias(node, "stack")
            width = len(_stack(fn).expressions[0].expressions)
            if not alias.columns:
                alias.set("columns", [exp.to_identifier(f"col{i}") for i in range(width)])
            node.replace(exp.Subquery(this=exp.select("*").from_(
                exp.Subquery(this=_stack(fn), alias=alias.copy())), alias=alias))
    return tree


RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_named_arguments, _lateral_outer,
                                                     _select_generators, _lone_generators,
                                                     _table_functions)
# what engine.spark.functions allows because this module implements it
NAMES: frozenset[str] = frozenset({"inline_outer"})
CLASSES: frozenset[str] = frozenset({"PosexplodeOuter"})
