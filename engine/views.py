"""Views: CREATE [OR REPLACE] [TEMPORARY] VIEW, DROP VIEW, and their expansion in queries.

A persisted view is its query text in the catalog database (`engine.catalogdb`), with every
table name made fully qualified when the view is created, so it means the same thing
whatever the reader's current schema. A query that names a view gets the view's query
spliced in as a subquery (`expand`) before its tables are resolved: views are resolved at
query time, and a view over a table sees that table's latest snapshot.

A temporary view belongs to one Thrift session (`StatementTask.session_id`); an unqualified
name is looked up among the session's temporary views first, as in Spark. REST statements
have no session, so CREATE TEMPORARY VIEW there is refused with a message saying so.

Privileges: reading a view needs SELECT on the view, not on the tables inside it (the view's
owner vouches for those, as in Unity Catalog): nodes spliced in from a view are marked, and
`engine.grants` skips them.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from engine import grants, metadata
from engine.catalog import TableName
from engine.catalogdb import Securable
from engine.command import Command, empty, parse
from engine.errors import (
    AlreadyExists,
    AnalysisError,
    SchemaNotFound,
    TableNotFound,
    Unsupported,
)

# Views over views over views...: past this depth a definition is taken to be circular.
_MAX_DEPTH = 32
# meta key set on the table nodes spliced in from a view: the view that vouches for them
FROM_VIEW = "sqlgate_from_view"
# meta key set on an expanded query: the definitions spliced in. The engine keys its cache
# of generated DuckDB text on them, so a replaced view is never answered with the old body.
EXPANDED = "sqlgate_views"


def securable(name: TableName) -> Securable:
    """The catalog-database key of a view."""
    return Securable("view", name.catalog, name.schema, name.table)


def _cte_names(tree: exp.Expr) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def _is_name(node: exp.Table) -> bool:
    return isinstance(node.this, exp.Identifier)


def qualify(query: exp.Expr, cmd: Command, keep_temp: bool) -> exp.Expr:
    """Fill in catalog and schema of every table name a view's query reads.

    With `keep_temp` (a temporary view) unqualified names of the session's temporary views
    stay as they are; a persisted view may not read a temporary one (Spark refuses it too).
    """
    ctes = _cte_names(query)
    for node in query.find_all(exp.Table):
        if not _is_name(node) or node.db.lower() == metadata.INFORMATION_SCHEMA:
            continue
        bare = not node.db and not node.catalog
        if bare and node.name.lower() in ctes:
            continue
        session = cmd.task.session_id
        if bare and session and cmd.store.get_temp_view(session, node.name.lower()):
            if keep_temp:
                continue
            raise AnalysisError(
                f"[INVALID_TEMP_OBJ_REFERENCE] Cannot create the persistent view because it "
                f"references the temporary view `{node.name}`.", sql_state="42K0F")
        name = cmd.name(node)
        node.set("catalog", exp.to_identifier(name.catalog, quoted=True))
        node.set("db", exp.to_identifier(name.schema, quoted=True))
    return query


def expand(tree: exp.Expr, cmd: Command, depth: int = 0,
           seen: list[str] | None = None) -> None:
    """Replace, in place, every view a query names by the view's query."""
    top = seen is None
    seen = [] if seen is None else seen
    if depth > _MAX_DEPTH:
        raise AnalysisError("[RECURSIVE_VIEW] views nest too deeply (circular definition?)",
                            sql_state="42K0H")
    ctes = _cte_names(tree)
    for node in list(tree.find_all(exp.Table)):
        if not _is_name(node) or node.db.lower() == metadata.INFORMATION_SCHEMA:
            continue
        bare = not node.db and not node.catalog
        if bare and node.name.lower() in ctes:
            continue
        found = _lookup(node, cmd, bare)
        if found is None:
            continue
        shown, definition, sec = found
        seen.append(f"{shown}={definition}")
        body = parse(definition)
        if not isinstance(body, exp.Query):
            raise AnalysisError(f"view {shown} does not hold a query")
        if sec is not None and not node.meta.get(FROM_VIEW):
            grants.require(cmd, "SELECT", sec)
        # marked before the nested views expand: the outermost view vouches for them all
        mark = node.meta.get(FROM_VIEW) or (shown if sec is not None else None)
        if mark:
            for inner in body.find_all(exp.Table):
                inner.meta.setdefault(FROM_VIEW, mark)
        expand(body, cmd, depth + 1, seen)
        alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(node.name))
        node.replace(exp.Subquery(this=body, alias=alias.copy()))
    if top and seen:
        tree.meta[EXPANDED] = tuple(seen)


def _lookup(node: exp.Table, cmd: Command,
            bare: bool) -> tuple[str, str, Securable | None] | None:
    """(shown name, definition, securable or None for a temporary view), or None."""
    session = cmd.task.session_id
    if bare and session:
        temp = cmd.store.get_temp_view(session, node.name.lower())
        if temp is not None:
            return node.name, temp, None
    if node.args.get("version") is not None:
        return None
    name = cmd.name(node)
    if cmd.lake.exists(name):
        return None
    record = cmd.store.get_object(securable(name))
    if record is None or record.definition is None:
        return None
    return str(name), record.definition, securable(name)


def view_schema(cmd: Command, definition: str) -> pa.Schema:
    """The columns a view's query returns, from running it with LIMIT 0."""
    body = parse(definition)
    assert isinstance(body, exp.Query)
    return cmd.query_table(body.limit(0)).schema


def create(cmd: Command, tree: exp.Create) -> pa.Table:
    """CREATE [OR REPLACE] [TEMPORARY] VIEW [IF NOT EXISTS] name [(cols)] AS query."""
    target = tree.this
    columns: list[str] = []
    if isinstance(target, exp.Schema):
        columns = [c.name for c in target.expressions]
        target = target.this
    body = tree.expression
    if not isinstance(target, exp.Table) or not isinstance(body, exp.Query):
        raise Unsupported("CREATE VIEW needs a name and a query")
    props = tree.args.get("properties")
    temporary = bool(props and props.find(exp.TemporaryProperty))
    replace, if_not_exists = bool(tree.args.get("replace")), bool(tree.args.get("exists"))
    if columns:
        body = exp.select(*[exp.alias_(exp.column(o), n, quoted=True) for o, n in
                            zip(_output_names(cmd, body), columns, strict=False)]).from_(
            exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier("v"))))
    if temporary:
        return _create_temporary(cmd, target, body, replace, if_not_exists)
    name = cmd.name(target)
    sec = securable(name)
    definition = qualify(body, cmd, keep_temp=False).sql("databricks")
    existing = cmd.store.get_object(sec)
    if cmd.lake.exists(name):
        raise AlreadyExists(f"[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create view {name.quoted()} "
                            "because a table of that name already exists.")
    if existing is not None and not replace:
        if if_not_exists:
            return empty()
        raise AlreadyExists(f"[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create view "
                            f"{name.quoted()} because it already exists.")
    if existing is not None:
        grants.require_owner(cmd, sec)
    else:
        grants.require(cmd, "CREATE TABLE", Securable("schema", name.catalog, name.schema))
    if name.schema not in cmd.lake.schemas(name.catalog):
        raise SchemaNotFound(f"[SCHEMA_NOT_FOUND] The schema `{name.catalog}`.`{name.schema}` "
                             "cannot be found.")
    view_schema(cmd, definition)  # the query must run: its tables exist and it type-checks
    comment = _comment(props)
    owner = existing.owner if existing is not None else cmd.user
    cmd.store.put_object(sec, owner=owner, comment=comment, definition=definition)
    return empty()


def _output_names(cmd: Command, body: exp.Query) -> list[str]:
    return list(cmd.query_table(body.copy().limit(0)).schema.names)


def _comment(props: exp.Expr | None) -> str | None:
    found = props.find(exp.SchemaCommentProperty) if props is not None else None
    return found.this.name if found is not None else None


def _create_temporary(cmd: Command, target: exp.Table, body: exp.Query, replace: bool,
                      if_not_exists: bool) -> pa.Table:
    session = cmd.task.session_id
    if not session:
        raise Unsupported("[TEMP_VIEW_NEEDS_SESSION] CREATE TEMPORARY VIEW needs a session: "
                          "the Statement Execution API runs each statement on its own; use a "
                          "persisted view (CREATE VIEW) or a session-based client (Thrift).")
    if target.db or target.catalog:
        raise AnalysisError(f"[TEMP_VIEW_NAME_TOO_MANY_NAME_PARTS] CREATE TEMPORARY VIEW "
                            f"expects a single-part view name, got {target.sql('databricks')}.",
                            sql_state="428EK")
    view = target.name.lower()
    existing = cmd.store.get_temp_view(session, view)
    if existing is not None and not replace:
        if if_not_exists:
            return empty()
        raise AlreadyExists(f"[TEMP_TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create the temporary "
                            f"view `{view}` because it already exists.")
    definition = qualify(body, cmd, keep_temp=True).sql("databricks")
    view_schema(cmd, definition)
    cmd.store.put_temp_view(session, view, definition)
    return empty()


def drop(cmd: Command, tree: exp.Drop) -> pa.Table:
    """DROP VIEW [IF EXISTS] name: a temporary view of the session first, as in Spark."""
    exists = bool(tree.args.get("exists"))
    for target in tree.args.get("tables") or [tree.this]:
        if not isinstance(target, exp.Table):
            raise Unsupported("DROP VIEW needs a view name")
        session = cmd.task.session_id
        if (session and not target.db and not target.catalog
                and cmd.store.drop_temp_view(session, target.name.lower())):
            continue
        name = cmd.name(target)
        sec = securable(name)
        if cmd.store.get_object(sec) is None:
            if cmd.lake.exists(name):
                raise AnalysisError(f"[WRONG_COMMAND_FOR_OBJECT_TYPE] {name.quoted()} is a "
                                    "table: use DROP TABLE.", sql_state="42809")
            if exists:
                continue
            raise TableNotFound(str(name))
        grants.require_owner(cmd, sec)
        cmd.store.drop_object(sec)
    return empty()


def is_view(cmd: Command, name: TableName) -> bool:
    """Whether a persisted view of that name exists."""
    record = cmd.store.get_object(securable(name))
    return record is not None and record.definition is not None


__all__ = ["EXPANDED", "FROM_VIEW", "create", "drop", "expand", "is_view", "qualify", "securable",
           "view_schema"]
