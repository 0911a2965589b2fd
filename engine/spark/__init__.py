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

from engine.spark import arrays, functions, literals, macros, scalars, typed

Rule = Callable[[exp.Expr], exp.Expr]

# Order matters: the typed rules read sqlglot's annotation of the tree as parsed, before
# other rules change types (TIMESTAMP -> TIMESTAMPTZ) or wrap operands in macros.
RULES: tuple[Rule, ...] = (
    *typed.RULES,
    *literals.RULES,
    *scalars.RULES,
    *arrays.RULES,
)


def rewrite(tree: exp.Expr) -> exp.Expr:
    """Check a parsed Databricks statement and apply every rule of `RULES`, in order."""
    functions.check(tree)
    tree = typed.annotate(tree)
    for rule in RULES:
        tree = rule(tree)
    return tree


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Create the macros the rules call, once per database, before its config is locked."""
    # Spark's session time zone: Databricks' default is UTC, whatever the machine's is
    con.execute("SET TimeZone = 'UTC'")
    for sql in macros.MACROS:
        con.execute(sql)


__all__ = ["RULES", "install", "rewrite"]
