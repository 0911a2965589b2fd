"""Statements that are not queries: which module runs each.

`Engine.execute` hands a statement here first. Catalog statements (SHOW, DESCRIBE), DDL
(CREATE/DROP/ALTER/COMMENT), DML (INSERT/MERGE/UPDATE/DELETE/TRUNCATE/OPTIMIZE/VACUUM)
and privileges (GRANT/REVOKE) are recognised by their leading keyword and run by one
module each (`engine.describe`, `engine.ddl`, `engine.alter`, `engine.views`,
`engine.dml`, `engine.grants`) with a `engine.command.Command`; everything else is a query
and goes on to `engine.translate`.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
from sqlglot import exp

from engine import alter, ddl, describe, dml, grants, sandbox
from engine.command import Command, Host, parse
from engine.errors import ParseError
from sqlgate.types import StatementTask

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


Handler = Callable[[Command], pa.Table]


def _handler(word: str) -> Handler:
    table: dict[str, Handler] = {
        "SHOW": describe.show, "DESCRIBE": describe.describe, "DESC": describe.describe,
        "CREATE": ddl.create, "REPLACE": ddl.create, "DROP": ddl.drop, "ALTER": alter.alter,
        "COMMENT": alter.comment,
        "INSERT": dml.insert, "MERGE": dml.merge, "UPDATE": dml.update, "DELETE": dml.delete,
        "TRUNCATE": dml.truncate, "OPTIMIZE": dml.optimize, "VACUUM": dml.vacuum,
        "GRANT": grants.grant, "REVOKE": grants.revoke,
    }
    return table[word]


def check(engine: Host, task: StatementTask, catalog: str, schema: str) -> None:
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


def execute(engine: Host, task: StatementTask, catalog: str, schema: str) -> pa.Table | None:
    """Run a non-query statement and return its result; None when `task` is a query."""
    if kind_of(task.sql) is None:
        return None
    word = sandbox.first_keyword(task.sql)
    assert word is not None
    sandbox.check_text(task.sql)
    return _handler(word)(Command(engine, task, catalog, schema))


__all__ = ["check", "execute", "kind_of"]
