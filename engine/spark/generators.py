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


RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_lone_generators, _table_functions)
