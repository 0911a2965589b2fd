"""ALTER TABLE / ALTER VIEW and COMMENT ON: changing what exists.

Schema and property changes are Delta commits (deltalake's TableAlterer); renaming a column
rewrites the table once with the new schema (Delta renames in place only with column
mapping, which this engine's reader does not support); RENAME TO moves the table's
directory (local lakes; an object store has no rename). Comments and owners are in the
catalog database. Only the owner may alter an object.
"""

from __future__ import annotations

import os

import pyarrow as pa
from deltalake import Schema
from sqlglot import exp

from engine import grants, views, writes
from engine.catalog import TableName
from engine.catalogdb import Securable
from engine.command import Command, empty, parse
from engine.ddl import _arrow_type, _table_properties, _words, in_log
from engine.errors import AlreadyExists, AnalysisError, TableNotFound, Unsupported


def _table(cmd: Command, node: exp.Expr) -> tuple[TableName, Securable]:
    name = cmd.name(node)
    if views.is_view(cmd, name):
        return name, views.securable(name)
    if not cmd.lake.exists(name):
        raise TableNotFound(str(name))
    return name, grants.table(name)


def alter(cmd: Command) -> pa.Table:
    """ALTER TABLE | VIEW ..."""
    words = _words(cmd.task.sql)
    upper = [w.upper() for w in words]
    if "UNSET" in upper and "TBLPROPERTIES" in upper:
        return _unset(cmd, words)
    tree = parse(cmd.task.sql)
    if not isinstance(tree, exp.Alter):
        raise Unsupported(f"{' '.join(upper[:2])} is not supported")
    kind = str(tree.args.get("kind") or "").upper()
    _, sec = _table(cmd, tree.this)
    grants.require_owner(cmd, sec)
    if kind == "VIEW" or sec.kind == "view":
        return _alter_view(cmd, tree, sec)
    for action in tree.args.get("actions") or []:
        _action(cmd, sec, action)
    cmd.invalidate(cmd.name(tree.this))
    return empty()


def _unset(cmd: Command, words: list[str]) -> pa.Table:
    """ALTER TABLE t UNSET TBLPROPERTIES [IF EXISTS] ('k', ...): properties of our own only;
    deltalake cannot remove a Delta property (delta.*) from a table's log."""
    at = [w.upper() for w in words].index("UNSET")
    parts = [w for w in words[2:at] if w != "."]
    node = exp.Table(this=exp.to_identifier(parts[-1]),
                     db=exp.to_identifier(parts[-2]) if len(parts) >= 2 else None,
                     catalog=exp.to_identifier(parts[-3]) if len(parts) >= 3 else None)
    _, sec = _table(cmd, node)
    grants.require_owner(cmd, sec)
    rest = words[at + 2:]
    if_exists = [w.upper() for w in rest[:2]] == ["IF", "EXISTS"]
    keys = [w for w in rest[2 if if_exists else 0:] if w not in ("(", ")", ",")]
    if any(k.startswith("delta.") for k in keys):
        raise Unsupported("UNSET of a Delta property (delta.*) is not supported: deltalake "
                          "cannot remove it; SET it to its default value instead")
    record = cmd.store.get_object(sec)
    props = dict(record.properties) if record else {}
    missing = [k for k in keys if k not in props]
    if missing and not if_exists:
        raise AnalysisError(f"[UNSET_NONEXISTENT_PROPERTIES] Attempted to unset "
                            f"non-existent properties [{', '.join(missing)}] in table {sec}.",
                            sql_state="42K0J")
    cmd.store.update_object(sec, properties={k: v for k, v in props.items() if k not in keys})
    return empty()


def _alter_view(cmd: Command, tree: exp.Alter, sec: Securable) -> pa.Table:
    actions = tree.args.get("actions") or []
    if sec.kind != "view":
        raise AnalysisError(f"[EXPECT_VIEW_NOT_TABLE] {sec} is a table: use ALTER TABLE.",
                            sql_state="42809")
    if len(actions) == 1 and isinstance(actions[0], exp.Query):
        body = views.qualify(actions[0], cmd, keep_temp=False).sql("databricks")
        views.view_schema(cmd, body)
        cmd.store.update_object(sec, definition=body)
        return empty()
    if len(actions) == 1 and isinstance(actions[0], exp.AlterRename):
        return _rename(cmd, sec, actions[0])
    raise Unsupported("ALTER VIEW supports AS query and RENAME TO")


def _action(cmd: Command, sec: Securable, action: exp.Expr) -> None:
    name = cmd.name(exp.Table(this=exp.to_identifier(sec.name),
                              db=exp.to_identifier(sec.schema),
                              catalog=exp.to_identifier(sec.catalog)))
    if isinstance(action, exp.Schema):  # ADD COLUMNS (...)
        fields = []
        for col in action.expressions:
            if not isinstance(col, exp.ColumnDef) or col.args.get("kind") is None:
                raise Unsupported(f"cannot add {col.sql('databricks')}")
            arrow = pa.schema([pa.field(col.name, _arrow_type(col.args["kind"]), True)])
            fields.extend(Schema.from_arrow(arrow).fields)
            for c in col.constraints:
                if isinstance(c.kind, exp.CommentColumnConstraint):
                    cmd.store.set_column_comment(sec, col.name, c.kind.this.name)
        dt = writes.open_table(cmd.lake, name)
        try:
            dt.alter.add_columns(fields)
        except writes.ERRORS as exc:
            raise writes.translate(exc, cmd.lake, name) from exc
    elif isinstance(action, exp.RenameColumn):
        _rename_column(cmd, name, action.this.name, action.args["to"].name)
        comments = cmd.store.column_comments(sec)
        if action.this.name in comments:
            cmd.store.set_column_comment(sec, action.args["to"].name,
                                         comments[action.this.name])
            cmd.store.set_column_comment(sec, action.this.name, None)
    elif isinstance(action, exp.AlterSet):
        props = _table_properties(action.expressions[0] if action.expressions else None)
        delta = {k: v for k, v in props.items() if in_log(k)}
        if delta:
            dt = writes.open_table(cmd.lake, name)
            try:
                dt.alter.set_table_properties(delta, raise_if_not_exists=False)
            except writes.ERRORS as exc:
                raise writes.translate(exc, cmd.lake, name) from exc
        record = cmd.store.get_object(sec)
        others = {**(record.properties if record else {}),
                  **{k: v for k, v in props.items() if not in_log(k)}}
        cmd.store.update_object(sec, properties=others)
    elif isinstance(action, exp.AlterColumn) and action.args.get("comment") is not None:
        cmd.store.set_column_comment(sec, action.this.name, action.args["comment"].name)
    elif isinstance(action, exp.AlterRename):
        _rename(cmd, sec, action)
    else:
        raise Unsupported(f"ALTER TABLE {action.sql('databricks')} is not supported")


def _rename_column(cmd: Command, name: TableName, old: str, new: str) -> None:
    """Rewrite the table once with the column renamed (one commit, schema overwritten)."""
    dt = writes.open_table(cmd.lake, name)
    data = dt.to_pyarrow_table()
    if old not in data.column_names:
        raise AnalysisError(f"[UNRESOLVED_COLUMN] column `{old}` does not exist.",
                            sql_state="42703")
    if new in data.column_names:
        raise AlreadyExists(f"[FIELDS_ALREADY_EXISTS] column `{new}` already exists.")
    renamed = data.rename_columns([new if c == old else c for c in data.column_names])
    parts = [new if c == old else c for c in dt.metadata().partition_columns]
    writes.write(cmd.lake, name, renamed, "overwrite", partition_by=parts, schema_mode="overwrite")


def _rename(cmd: Command, sec: Securable, action: exp.AlterRename) -> pa.Table:
    to = action.this
    new = cmd.name(exp.Table(this=to.this, db=to.args.get("db") or exp.to_identifier(
        sec.schema), catalog=to.args.get("catalog") or exp.to_identifier(sec.catalog)))
    if cmd.lake.exists(new) or views.is_view(cmd, new):
        raise AlreadyExists(f"[TABLE_OR_VIEW_ALREADY_EXISTS] {new.quoted()} already exists.")
    grants.require(cmd, "CREATE TABLE", Securable("schema", new.catalog, new.schema))
    new_sec = Securable(sec.kind, new.catalog, new.schema, new.table)
    if sec.kind == "table":
        if cmd.lake.remote:
            raise Unsupported("ALTER TABLE ... RENAME TO is not supported on an object-store "
                              "lake (no atomic rename); CREATE TABLE AS and DROP instead")
        old = cmd.name(exp.Table(this=exp.to_identifier(sec.name),
                                 db=exp.to_identifier(sec.schema),
                                 catalog=exp.to_identifier(sec.catalog)))
        os.rename(cmd.lake.uri(old), cmd.lake.uri(new))
        cmd.invalidate(old)
    cmd.store.rename_object(sec, new_sec)
    return empty()


def comment(cmd: Command) -> pa.Table:
    """COMMENT ON CATALOG | SCHEMA | TABLE | VIEW | COLUMN name IS 'text' | NULL."""
    tree = parse(cmd.task.sql)
    if not isinstance(tree, exp.Comment):
        raise Unsupported("expected COMMENT ON")
    kind = str(tree.args.get("kind") or "").upper()
    text_node = tree.expression
    text = None if isinstance(text_node, exp.Null) else text_node.name
    node = tree.this
    if kind == "COLUMN":
        assert isinstance(node, exp.Column)
        parts = [p.name for p in node.parts]
        table_node = exp.Table(this=exp.to_identifier(parts[-2]),
                               db=exp.to_identifier(parts[-3]) if len(parts) >= 3 else None,
                               catalog=exp.to_identifier(parts[-4]) if len(parts) >= 4 else None)
        _, sec = _table(cmd, table_node)
        grants.require_owner(cmd, sec)
        cmd.store.set_column_comment(sec, parts[-1], text)
        return empty()
    if kind == "CATALOG":
        sec = Securable("catalog", node.name)
    elif kind in ("SCHEMA", "DATABASE"):
        sec = Securable("schema", node.db or cmd.catalog, node.name)
    else:
        _, sec = _table(cmd, node)
    grants.require_owner(cmd, sec)
    cmd.store.update_object(sec, comment=text)
    return empty()


__all__ = ["alter", "comment"]
