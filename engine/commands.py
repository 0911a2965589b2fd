"""Statements that are not queries: which module runs each, and what they share.

`Engine.execute` hands a statement here first. Catalog statements (SHOW, DESCRIBE), DDL
(CREATE/DROP/ALTER/COMMENT), DML (INSERT/MERGE/UPDATE/DELETE/TRUNCATE/OPTIMIZE/VACUUM)
and privileges (GRANT/REVOKE) are recognised by their leading keyword and run by one
module each (`engine.describe`, `engine.ddl`, `engine.views`, `engine.dml`,
`engine.grants`); everything else is a query and goes on to `engine.translate`.

A `Command` is what those modules get: the task, the default catalog and schema, the lake,
the catalog database, the privilege checks, and `query()` to run a SELECT (a MERGE source,
a CTAS body) through the same sandboxed path as any query.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError as SqlglotParseError
from sqlglot.errors import SqlglotError, TokenError
from sqlglot.tokens import Token, TokenType

from engine import sandbox
from engine.catalog import LakeCatalog, TableName
from engine.catalogdb import CatalogStore
from engine.errors import ParseError, Unsupported
from engine.result import ResultStream
from sqlgate.types import StatementTask

if TYPE_CHECKING:
    from engine.engine import Engine

# Leading keyword -> the kind of statement, for the scheduler's estimate.
_METADATA = frozenset({"SHOW", "DESCRIBE", "DESC"})
_WRITES = frozenset({"CREATE", "DROP", "ALTER", "COMMENT", "INSERT", "MERGE", "UPDATE",
                     "DELETE", "TRUNCATE", "OPTIMIZE", "VACUUM", "GRANT", "REVOKE", "REPLACE"})


def kind_of(sql: str) -> str | None:
    """"metadata" or "write" for a statement this module runs, None for a query."""
    word = sandbox.first_keyword(sql)
    if word in _METADATA:
        return "metadata"
    if word in _WRITES:
        return "write"
    return None


@dataclass
class Command:
    """One non-query statement being run, and what its module may use."""

    engine: Engine
    task: StatementTask
    catalog: str
    schema: str

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
        trees = [t for t in sqlglot.parse(sql, read="databricks") if t is not None]
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


Handler = Callable[[Command], pa.Table]


def _handler(word: str) -> Handler:
    # imported here: each module imports this one for Command
    from engine import alter, ddl, describe, dml, grants

    table: dict[str, Handler] = {
        "SHOW": describe.show, "DESCRIBE": describe.describe, "DESC": describe.describe,
        "CREATE": ddl.create, "REPLACE": ddl.create, "DROP": ddl.drop, "ALTER": alter.alter,
        "COMMENT": alter.comment,
        "INSERT": dml.insert, "MERGE": dml.merge, "UPDATE": dml.update, "DELETE": dml.delete,
        "TRUNCATE": dml.truncate, "OPTIMIZE": dml.optimize, "VACUUM": dml.vacuum,
        "GRANT": grants.grant, "REVOKE": grants.revoke,
    }
    return table[word]


def check(engine: Engine, task: StatementTask, catalog: str, schema: str) -> None:
    """What an estimate can check of a non-query statement without running it: the
    sandbox's keyword check, that it parses, and that every name it holds is a name."""
    sandbox.check_text(task.sql)
    word = sandbox.first_keyword(task.sql)
    if word == "SHOW":  # cheap, and its names are only known once its words are read
        _handler("SHOW")(Command(engine, task, catalog, schema))
        return
    if word in ("OPTIMIZE", "VACUUM"):
        return  # opaque commands: their names are checked when they run
    try:
        tree = parse(task.sql)
    except ParseError:
        if sandbox.first_keyword(task.sql) in ("CREATE", "DROP", "ALTER", "DESCRIBE", "DESC"):
            return  # CREATE CATALOG, DESCRIBE DETAIL, ...: checked when they run
        raise
    cmd = Command(engine, task, catalog, schema)
    for node in tree.find_all(exp.Table):
        if isinstance(node.this, exp.Identifier) and node.db:
            engine.catalog.locations.table(cmd.name(node))
        elif isinstance(node.this, exp.Identifier):
            engine.catalog.locations.schema(catalog, schema)


def execute(engine: Engine, task: StatementTask, catalog: str, schema: str) -> pa.Table | None:
    """Run a non-query statement and return its result; None when `task` is a query."""
    if kind_of(task.sql) is None:
        return None
    word = sandbox.first_keyword(task.sql)
    assert word is not None
    sandbox.check_text(task.sql)
    return _handler(word)(Command(engine, task, catalog, schema))


__all__ = ["Command", "check", "counts", "empty", "execute", "kind_of", "parse", "tokens"]
