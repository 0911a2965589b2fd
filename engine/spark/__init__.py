"""Spark SQL semantics on DuckDB: a pipeline of ``expr -> expr`` rules, one module a family.

A statement parsed as Databricks SQL goes through `rewrite` once, from engine.translate:

1. `functions.check` refuses every function not known to give Spark's answer (the *never a
   wrong answer* rule): an allowlist verified against Spark's own examples
   (tests/engine/spark/functions.jsonl). Names Spark does not know fail as Spark fails,
   ``UNRESOLVED_ROUTINE``; Spark functions sqlgate cannot match fail as
   ``UNSUPPORTED_FEATURE`` naming the function.
2. Each family module's rules rewrite what sqlglot's own Databricks -> DuckDB translation
   gets wrong or lacks, often into calls of the macros of `macros.MACROS`, which
   `install` creates in every engine's database at start.

>>> import sqlglot
>>> tree = rewrite(sqlglot.parse_one("SELECT 1", read="databricks"))
>>> tree.sql("duckdb")
'SELECT 1'
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from engine.spark import (
    aggregates,
    annotation,
    arrays,
    binaries,
    bits,
    casts,
    datetimes,
    decimals,
    doubles,
    formats,
    functions,
    generators,
    hashes,
    intervals,
    jsons,
    kll,
    lambdas,
    library,
    literals,
    macros,
    scalars,
    sketches,
    strings,
    texts,
    topk,
    typed,
    urls,
    windows,
)

Rule = Callable[[exp.Expr], exp.Expr]

# Order matters: the text families (formats, binaries, strings) read their operands'
# annotation as parsed; library maps Spark calls onto DuckDB ones first (date_part becomes an
# extract the scalar rules then fix); the typed rules read sqlglot's annotation of the tree
# as parsed, before other rules change types (TIMESTAMP -> TIMESTAMPTZ) or wrap operands.
RULES: tuple[Rule, ...] = (
    *doubles.RULES,  # before library rewrites concat and ||: it reads their operands' types
    *formats.RULES,
    *binaries.RULES,
    *casts.RULES,
    *strings.RULES,
    *urls.RULES,
    *jsons.RULES,
    *datetimes.RULES,
    *bits.RULES,
    *lambdas.RULES,
    *intervals.RULES,
    *windows.RULES,
    *library.RULES,
    *typed.RULES,
    *decimals.RULES,
    *literals.RULES,
    *scalars.RULES,
    *arrays.RULES,
    *generators.RULES,
    *texts.RULES,
    *hashes.RULES,
    *aggregates.RULES,
    *sketches.RULES,
    *kll.RULES,
    *topk.RULES,
)


def rewrite(tree: exp.Expr, tables: annotation.Tables | None = None) -> exp.Expr:
    """Check a parsed Databricks statement and apply every rule of `RULES`, in order.

    `tables` gives the columns of the tables it scans (``id()`` of each ``exp.Table`` node
    -> its Arrow schema), so the typed rules see column types too.
    """
    functions.check(tree)
    names = _projection_names(tree)
    tree = annotation.annotate(tree, tables)
    for rule in RULES:
        tree = rule(tree)
    _keep_names(names)
    return tree


_Named = tuple[exp.Select, int, str, str]


def _projection_names(tree: exp.Expr) -> list[_Named]:
    """Each unaliased computed column: its SELECT, position, name and DuckDB text as written.

    A rule that rewrites ``mask(s)`` into ``sg_mask(s)`` must not rename the result column.
    """
    named = []
    for select in tree.find_all(exp.Select):
        for i, node in enumerate(select.expressions):
            # generators name their columns themselves (col, pos, key, value)
            if not isinstance(node, exp.Alias | exp.Column | exp.Star | exp.Explode) and not (
                    jsons.generator(node)):
                named.append((select, i, node.sql("databricks", normalize_functions="lower",
                                                  unsupported_level=ErrorLevel.IGNORE),
                              node.sql("duckdb", unsupported_level=ErrorLevel.IGNORE)))
    return named


def _keep_names(named: list[_Named]) -> None:
    for select, i, name, before in named:
        projections = select.expressions
        if i < len(projections) and not isinstance(projections[i], exp.Star) and projections[
                i].sql("duckdb", unsupported_level=ErrorLevel.IGNORE) != before:
            # the node itself, not a copy: its table references are the scans' own nodes
            node = projections[i]
            alias = exp.alias_(exp.null(), name, quoted=True)
            node.replace(alias)
            alias.set("this", node)


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Create the macros the rules call, once per database, before its config is locked."""
    # Spark's session time zone: Databricks' default is UTC, whatever the machine's is
    con.execute("SET TimeZone = 'UTC'")
    for sql in (*macros.MACROS, *datetimes.MACROS, *bits.MACROS, *lambdas.MACROS,
                *intervals.MACROS, *windows.MACROS,
                *decimals.MACROS, *doubles.MACROS, *library.MACROS, *texts.MACROS):
        con.execute(sql)
    formats.register(con)
    binaries.register(con)
    hashes.register(con)
    aggregates.register(con)
    bits.register(con)
    strings.register(con)
    sketches.register(con)
    urls.register(con)
    kll.register(con)
    topk.register(con)
    jsons.register(con)


__all__ = ["RULES", "install", "rewrite"]
