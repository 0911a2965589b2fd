"""Query texts for the scenarios, and their translation for the in-process baselines.

The TPC-H texts are Databricks SQL files `bench/queries/tpch/q01.sql..q22.sql` (written by
the engine engineer). The gateway gets them verbatim; DuckDB and DataFusion peers get a
sqlglot translation with table names reduced to the bare table name, because the baselines
register each TPC-H table once under its own name.
"""

from __future__ import annotations

from pathlib import Path

import sqlglot
from sqlglot import exp

TPCH_DIR = Path(__file__).parent / "queries" / "tpch"


class QueryError(RuntimeError):
    """Query texts are missing or cannot be translated."""


def load_queries(directory: Path = TPCH_DIR, only: list[str] | None = None) -> dict[str, str]:
    """Name (file stem, e.g. `q01`) -> SQL text, in name order; `only` picks a subset.

    >>> sorted(load_queries())[:2]  # doctest: +SKIP
    ['q01', 'q02']
    """
    if not directory.is_dir():
        raise QueryError(f"no query directory {directory}")
    queries = {
        p.stem: p.read_text().strip().rstrip(";") for p in sorted(directory.glob("*.sql"))
    }
    if only:
        missing = sorted(set(only) - set(queries))
        if missing:
            raise QueryError(f"unknown queries: {', '.join(missing)}")
        queries = {name: queries[name] for name in only}
    if not queries:
        raise QueryError(f"no *.sql files in {directory}")
    return queries


def translate(sql: str, dialect: str = "duckdb") -> str:
    """Databricks SQL -> `dialect`, with `cat.schema.table` reduced to `table`."""
    tree = _parse(sql, "databricks")
    for table in tree.find_all(exp.Table):
        table.set("db", None)
        table.set("catalog", None)
    return tree.sql(dialect=dialect)


def _parse(sql: str, dialect: str) -> exp.Expr:
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.ParseError as exc:
        raise QueryError(f"cannot parse query: {exc}") from exc
    if tree is None:
        raise QueryError("empty query")
    return tree
