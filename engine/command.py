"""What the modules running non-query statements share: the `Command` they are given
(the task, its defaults, the lake as the workspace sees it, the catalog database, and
`query()` to run a SELECT through the ordinary sandboxed path), and the parsing helpers.

`Command` holds its engine as a `Host` (the few methods it uses), so this module, which
every statement module imports, imports none of them nor the engine: no import circle.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError as SqlglotParseError
from sqlglot.errors import SqlglotError, TokenError
from sqlglot.tokens import Token, TokenType

from engine.catalog import LakeCatalog, TableName
from engine.catalogdb import CatalogStore
from engine.errors import ParseError, Unsupported
from engine.result import ResultStream
from engine.spark.dialect import SparkSql
from sqlgate.types import StatementTask


class Host(Protocol):
    """The engine as a Command uses it."""

    catalog: LakeCatalog

    @property
    def store(self) -> CatalogStore: ...

    def run_query(self, task: StatementTask) -> ResultStream: ...

    def invalidate(self, name: TableName) -> None: ...

@dataclass
class Command:
    """One non-query statement being run, and what its module may use."""

    engine: Host
    task: StatementTask
    catalog: str
    schema: str
    # What each privilege check relied on (engine.grants records them): a query's estimate
    # hashes them into the result cache's key, so a grant or revoke changes the key.
    checks: list[str] = field(default_factory=list)

    @property
    def lake(self) -> LakeCatalog:
        """The lake as the task's workspace sees it (its bound catalogs only)."""
        return self.engine.catalog.bound(self.task.catalogs)

    @property
    def store(self) -> CatalogStore:
        return self.engine.store

    @property
    def user(self) -> str | None:
        """The calling user; None for the engine's own callers (tests, imports), who may do
        anything."""
        return self.task.user or None

    def name(self, node: exp.Table | exp.Expr) -> TableName:
        """A table reference with the statement's defaults filled in."""
        if not isinstance(node, exp.Table):
            raise Unsupported(f"expected a table name, got {node.sql('databricks')}")
        return TableName(node.catalog or self.catalog, node.db or self.schema, node.name)

    def query(self, tree: exp.Expr) -> ResultStream:
        """Run a query tree like a statement of its own (sandbox, views, privileges)."""
        sub = dataclasses.replace(self.task, sql=tree.sql("databricks"), row_limit=None)
        return self.engine.run_query(sub)

    def query_table(self, tree: exp.Expr) -> pa.Table:
        """`query` read whole: a MERGE source, the rows a DML statement needs."""
        with self.query(tree) as stream:
            return pa.Table.from_batches(list(stream), schema=stream.schema)

    def invalidate(self, name: TableName) -> None:
        """Forget what the engine caches of a table it just wrote."""
        self.engine.invalidate(name)


def parse(sql: str) -> exp.Expr:
    """One statement as a sqlglot tree (Databricks dialect); errors carry line and column."""
    try:
        trees = [t for t in sqlglot.parse(sql, read=SparkSql) if t is not None]
    except SqlglotParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        raise ParseError(
            f"[PARSE_SYNTAX_ERROR] Syntax error at or near '{err.get('highlight') or ''}': "
            f"{err.get('description') or str(exc).splitlines()[0]}. Line {err.get('line', 1)}, "
            f"Col: {err.get('col', 1)}. SQLSTATE: 42601") from exc
    except (TokenError, SqlglotError) as exc:
        raise ParseError(f"[PARSE_SYNTAX_ERROR] {exc}. SQLSTATE: 42601") from exc
    if len(trees) != 1:
        raise Unsupported("only one statement per request is supported")
    return trees[0]


def tokens(sql: str) -> list[Token]:
    """A statement's tokens; a command sqlglot keeps opaque (SHOW ..., OPTIMIZE ...) as one
    string token after its keyword is tokenized again, so callers see every word."""
    dialect = Dialect.get_or_raise("databricks")  # `backtick` identifiers are one token
    try:
        head = dialect.tokenize(sql)
        if len(head) == 2 and head[1].token_type == TokenType.STRING:
            head = head[:1] + dialect.tokenize(head[1].text)
    except TokenError as exc:
        raise ParseError(f"[PARSE_SYNTAX_ERROR] {exc}. SQLSTATE: 42601") from exc
    return [t for t in head if t.token_type != TokenType.SEMICOLON]


def empty() -> pa.Table:
    """The result of a DDL statement: no columns, no rows (what Databricks answers)."""
    return pa.table({})


def counts(**values: int) -> pa.Table:
    """A one-row result of DML counts (num_affected_rows, num_inserted_rows, ...)."""
    return pa.table({k: pa.array([v], pa.int64()) for k, v in values.items()})


__all__ = ["Command", "Host", "counts", "empty", "parse", "tokens"]
