"""DDL: CREATE/DROP CATALOG, SCHEMA and TABLE (CTAS and RTAS too), ALTER TABLE, COMMENT ON.

Catalogs and schemas are directories of the lake (`engine.location` names them), with
their comments and owners in the catalog database; a table is a Delta table, its schema,
partitioning, description and TBLPROPERTIES in its own log, its owner and column comments
in the catalog database. Views are `engine.views`. Each statement checks privileges first
(`engine.grants`) and so writes nothing it may not.

LOCATION is refused: a table lives where its name puts it, inside the lake; an external
location would let a statement write anywhere the gateway can.
"""

from __future__ import annotations

import os
import shutil

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
from sqlglot import exp

from engine import grants, views, writes
from engine.catalog import TableName, s3_filesystem
from engine.catalogdb import Securable
from engine.command import Command, counts, empty, parse, tokens
from engine.errors import (
    AlreadyExists,
    AnalysisError,
    ParseError,
    PermissionDenied,
    SchemaNotFound,
    TableNotFound,
    Unsupported,
)

# marker object that makes an empty schema or catalog visible on an object store (no dirs)
_MARKER = ".sqlgate-keep"


def _words(sql: str) -> list[str]:
    """The words of a statement sqlglot keeps as an opaque command (CREATE CATALOG ...)."""
    return [t.text for t in tokens(sql)]


def _fs(cmd: Command) -> pafs.FileSystem:
    return s3_filesystem(cmd.lake.settings) if cmd.lake.remote else pafs.LocalFileSystem()


def _make_dir(cmd: Command, location: str) -> None:
    path = cmd.lake.locations.fs_path(location)
    if cmd.lake.remote:
        with _fs(cmd).open_output_stream(f"{path}/{_MARKER}") as out:
            out.write(b"")
    else:
        os.makedirs(path, exist_ok=True)


def _remove_dir(cmd: Command, location: str) -> None:
    path = cmd.lake.locations.fs_path(location)
    if cmd.lake.remote:
        _fs(cmd).delete_dir(path)
    else:
        shutil.rmtree(path, ignore_errors=False)


# -- CREATE --------------------------------------------------------------------------------


def create(cmd: Command) -> pa.Table:
    """Any CREATE statement this warehouse runs."""
    words = [w.upper() for w in _words(cmd.task.sql)[:3]]
    if words[:2] == ["CREATE", "CATALOG"]:
        return _create_catalog(cmd, _words(cmd.task.sql)[2:])
    if words[:2] == ["CREATE", "VOLUME"]:
        return _create_volume(cmd, _words(cmd.task.sql)[2:])
    tree = parse(cmd.task.sql)
    if not isinstance(tree, exp.Create):
        raise Unsupported(f"{' '.join(words)} is not supported")
    kind = str(tree.args.get("kind") or "").upper()
    if kind in ("SCHEMA", "DATABASE"):
        return _create_schema(cmd, tree)
    if kind == "VIEW":
        return views.create(cmd, tree)
    if kind == "TABLE":
        return create_table(cmd, tree)
    raise Unsupported(f"CREATE {kind} is not supported")


def _create_catalog(cmd: Command, rest: list[str]) -> pa.Table:
    upper = [w.upper() for w in rest]
    if_not_exists = upper[:3] == ["IF", "NOT", "EXISTS"]
    rest = rest[3:] if if_not_exists else rest
    if not rest:
        raise ParseError("[PARSE_SYNTAX_ERROR] CREATE CATALOG needs a name.")
    name, rest = rest[0].strip("`"), rest[1:]
    comment = rest[1].strip("'\"") if len(rest) >= 2 and rest[0].upper() == "COMMENT" else None
    location = cmd.lake.locations.catalog(name)
    if cmd.lake.visible is not None:
        raise PermissionDenied("[INSUFFICIENT_PERMISSIONS] this workspace is bound to its "
                               "catalogs; it cannot create another.")
    if name in cmd.lake.catalogs():
        if if_not_exists:
            return empty()
        raise AlreadyExists(f"[CATALOG_ALREADY_EXISTS] Catalog '{name}' already exists.")
    _make_dir(cmd, location)
    cmd.store.put_object(Securable("catalog", name), owner=cmd.user, comment=comment)
    return empty()


def _create_volume(cmd: Command, rest: list[str]) -> pa.Table:
    """CREATE VOLUME [IF NOT EXISTS] [[c.]s.]name [COMMENT '...']: a named volume recorded in
    its schema (clients such as ibis create one when they connect). It holds no files: PUT
    and /Volumes paths are not supported, and say so when used."""
    upper = [w.upper() for w in rest]
    if_not_exists = upper[:3] == ["IF", "NOT", "EXISTS"]
    rest = rest[3:] if if_not_exists else rest
    parts = [rest[0]] if rest else []
    tail = rest[1:]
    while len(tail) >= 2 and tail[0] == ".":
        parts.append(tail[1])
        tail = tail[2:]
    if not parts:
        raise ParseError("[PARSE_SYNTAX_ERROR] CREATE VOLUME needs a name.")
    name = cmd.name(exp.Table(this=exp.to_identifier(parts[-1]),
                              db=exp.to_identifier(parts[-2]) if len(parts) >= 2 else None,
                              catalog=exp.to_identifier(parts[-3]) if len(parts) >= 3 else None))
    cmd.lake.locations.table(name)  # a name, not a path
    if name.schema not in cmd.lake.schemas(name.catalog):
        raise SchemaNotFound(f"[SCHEMA_NOT_FOUND] The schema `{name.catalog}`.`{name.schema}` "
                             "cannot be found.")
    sec = Securable("volume", name.catalog, name.schema, name.table)
    if cmd.store.get_object(sec) is not None:
        if if_not_exists:
            return empty()
        raise AlreadyExists(f"[VOLUME_ALREADY_EXISTS] Volume {name.quoted()} already exists.")
    grants.require(cmd, "CREATE TABLE", Securable("schema", name.catalog, name.schema))
    comment = tail[1] if len(tail) >= 2 and tail[0].upper() == "COMMENT" else None
    cmd.store.put_object(sec, owner=cmd.user, comment=comment)
    return empty()


def _schema_name(cmd: Command, node: exp.Expr) -> tuple[str, str]:
    if not isinstance(node, exp.Table):
        raise Unsupported("expected a schema name")
    if node.db:
        return node.catalog or cmd.catalog, node.db
    return cmd.catalog, node.name


def _create_schema(cmd: Command, tree: exp.Create) -> pa.Table:
    catalog, schema = _schema_name(cmd, tree.this)
    location = cmd.lake.locations.schema(catalog, schema)
    if schema in cmd.lake.schemas(catalog):
        if tree.args.get("exists"):
            return empty()
        raise AlreadyExists(f"[SCHEMA_ALREADY_EXISTS] Cannot create schema `{schema}` because "
                            "it already exists.")
    grants.require(cmd, "CREATE SCHEMA", Securable("catalog", catalog))
    props = tree.args.get("properties")
    if props is not None and props.find(exp.LocationProperty):
        raise PermissionDenied("[INSUFFICIENT_PERMISSIONS] LOCATION is not allowed: schemas "
                               "live inside the lake.")
    _make_dir(cmd, location)
    cmd.store.put_object(Securable("schema", catalog, schema), owner=cmd.user,
                         comment=_comment(props))
    return empty()


def _comment(props: exp.Expr | None) -> str | None:
    found = props.find(exp.SchemaCommentProperty) if props is not None else None
    return found.this.name if found is not None else None


def _table_properties(props: exp.Expr | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in props.expressions if props is not None else []:
        if type(p) is exp.Property:
            key = p.this.name if isinstance(p.this, exp.Literal) else p.name
            value = p.args.get("value")
            out[key] = (value.name if isinstance(value, exp.Literal)
                        else value.sql("databricks") if value is not None else "")
    return out


def in_log(key: str) -> bool:
    """Whether a table property belongs in the Delta log. delta.feature.* flags (clients
    such as databricks-sqlalchemy enable allowColumnDefaults) are not properties deltalake
    can write; like properties of the user's own, they are kept in the catalog database."""
    return key.startswith("delta.") and not key.startswith("delta.feature.")


def _arrow_type(dtype: exp.DataType) -> pa.DataType:
    """A Databricks column type as the Arrow type Delta stores, by DuckDB's own mapping."""
    try:
        duck = dtype.sql("duckdb")
        # a connection of its own: the default one is shared by every thread
        with duckdb.connect() as con:
            relation = con.sql(f"SELECT CAST(NULL AS {duck}) AS c")
            assert relation is not None
            got = relation.to_arrow_table().schema[0].type
    except duckdb.Error as exc:
        raise AnalysisError(f"[UNSUPPORTED_DATATYPE] {dtype.sql('databricks')}: {exc}",
                            sql_state="0A000") from exc
    return writes.arrow_schema(pa.schema([pa.field("c", got)]))[0].type


def _columns(cmd: Command, schema: exp.Schema) -> tuple[pa.Schema, dict[str, str]]:
    fields, comments = [], {}
    for col in schema.expressions:
        if not isinstance(col, exp.ColumnDef):
            raise Unsupported(f"table element {col.sql('databricks')} is not supported")
        kind = col.args.get("kind")
        if kind is None:
            raise AnalysisError(f"column {col.name} needs a type")
        nullable = True
        for c in col.constraints:
            if isinstance(c.kind, exp.NotNullColumnConstraint):
                nullable = bool(c.kind.args.get("allow_null"))
            elif isinstance(c.kind, exp.CommentColumnConstraint):
                comments[col.name] = c.kind.this.name
            elif isinstance(c.kind, exp.PrimaryKeyColumnConstraint):
                continue  # informational in Databricks too
            else:
                raise Unsupported(f"column constraint {c.sql('databricks')} is not supported")
        fields.append(pa.field(col.name, _arrow_type(kind), nullable))
    return pa.schema(fields), comments


def create_table(cmd: Command, tree: exp.Create) -> pa.Table:
    """CREATE [OR REPLACE] TABLE [IF NOT EXISTS] name [(columns)] [USING DELTA]
    [PARTITIONED BY] [CLUSTER BY] [COMMENT] [TBLPROPERTIES] [AS query]."""
    target = tree.this
    schema_node = target if isinstance(target, exp.Schema) else None
    target = target.this if isinstance(target, exp.Schema) else target
    name = cmd.name(target)
    props = tree.args.get("properties")
    for p in props.expressions if props is not None else []:
        if isinstance(p, exp.LocationProperty):
            raise PermissionDenied("[INSUFFICIENT_PERMISSIONS] LOCATION is not allowed: a "
                                   "table lives where its name puts it, inside the lake.")
        if isinstance(p, exp.FileFormatProperty) and p.name.upper() != "DELTA":
            raise Unsupported(f"USING {p.name}: only Delta tables are supported")
    partitions: list[str] = []
    found = props.find(exp.PartitionedByProperty) if props is not None else None
    if found is not None:
        partitions = [e.name for e in found.this.expressions]
    replace, if_not_exists = bool(tree.args.get("replace")), bool(tree.args.get("exists"))
    exists = cmd.lake.exists(name)
    if views.is_view(cmd, name):
        raise AlreadyExists(f"[TABLE_OR_VIEW_ALREADY_EXISTS] {name.quoted()} is a view.")
    if exists and not replace:
        if if_not_exists:
            return empty()
        raise AlreadyExists(f"[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create table "
                            f"{name.quoted()} because it already exists.")
    if name.schema not in cmd.lake.schemas(name.catalog):
        raise SchemaNotFound(f"[SCHEMA_NOT_FOUND] The schema `{name.catalog}`.`{name.schema}` "
                             "cannot be found.")
    sec = grants.table(name)
    if exists:
        grants.require_owner(cmd, sec)
    else:
        grants.require(cmd, "CREATE TABLE", Securable("schema", name.catalog, name.schema))
    # Delta's own properties go to the log; others (Spark keeps any) to the catalog database,
    # since deltalake refuses keys it does not know
    every = _table_properties(props)
    configuration = {k: v for k, v in every.items() if in_log(k)} or None
    extra = {k: v for k, v in every.items() if not in_log(k)}
    comment = _comment(props)
    mode = "overwrite" if exists else "error"
    body = tree.expression
    column_comments: dict[str, str] = {}
    if isinstance(body, exp.Query):
        counter = [0]
        with cmd.query(body) as stream:
            schema = writes.arrow_schema(stream.schema)
            if schema_node is not None:  # CREATE TABLE t (a, b) AS ...: names only
                names = [c.name for c in schema_node.expressions]
                schema = pa.schema([f.with_name(n) for f, n in zip(schema, names, strict=True)])
            reader = writes.cast_batches(stream, schema, counter)
            writes.write(cmd.lake, name, reader, mode, partition_by=partitions if exists
                         else partitions or None, schema_mode="overwrite" if exists else None,
                         configuration=configuration, description=comment)
        rows = counter[0]
    else:
        if schema_node is None:
            raise AnalysisError("CREATE TABLE needs a column list or AS query")
        schema, column_comments = _columns(cmd, schema_node)
        writes.write(cmd.lake, name, schema.empty_table(), mode, partition_by=partitions
                     if exists else partitions or None,
                     schema_mode="overwrite" if exists else None,
                     configuration=configuration, description=comment)
        rows = 0
    cmd.invalidate(name)
    if not exists:
        cmd.store.put_object(sec, owner=cmd.user, comment=comment, properties=extra)
    else:
        cmd.store.update_object(sec, comment=comment, properties=extra)
    for column, text in column_comments.items():
        cmd.store.set_column_comment(sec, column, text)
    if isinstance(body, exp.Query):
        return counts(num_affected_rows=rows, num_inserted_rows=rows)
    return empty()


# -- DROP ----------------------------------------------------------------------------------


def drop(cmd: Command) -> pa.Table:
    """DROP CATALOG | SCHEMA | TABLE | VIEW [IF EXISTS] name [CASCADE]."""
    words = [w.upper() for w in _words(cmd.task.sql)]
    if words[:2] == ["DROP", "CATALOG"]:
        return _drop_catalog(cmd, _words(cmd.task.sql)[2:])
    tree = parse(cmd.task.sql)
    if not isinstance(tree, exp.Drop):
        raise Unsupported(f"{' '.join(words[:2])} is not supported")
    kind = str(tree.args.get("kind") or "").upper()
    if kind == "VIEW":
        return views.drop(cmd, tree)
    if kind in ("SCHEMA", "DATABASE"):
        return _drop_schema(cmd, tree)
    if kind != "TABLE":
        raise Unsupported(f"DROP {kind} is not supported")
    for target in tree.args.get("tables") or [tree.this]:
        name = cmd.name(target)
        if not cmd.lake.exists(name):
            if views.is_view(cmd, name):
                raise AnalysisError(f"[WRONG_COMMAND_FOR_OBJECT_TYPE] {name.quoted()} is a "
                                    "view: use DROP VIEW.", sql_state="42809")
            if tree.args.get("exists"):
                continue
            raise TableNotFound(str(name))
        sec = grants.table(name)
        grants.require_owner(cmd, sec)
        _remove_dir(cmd, cmd.lake.uri(name))
        cmd.invalidate(name)
        cmd.store.drop_object(sec)
    return empty()


def _drop_schema(cmd: Command, tree: exp.Drop) -> pa.Table:
    target = (tree.args.get("tables") or [tree.this])[0]
    catalog, schema = _schema_name(cmd, target)
    location = cmd.lake.locations.schema(catalog, schema)
    if schema not in cmd.lake.schemas(catalog):
        if tree.args.get("exists"):
            return empty()
        raise SchemaNotFound(f"[SCHEMA_NOT_FOUND] The schema `{catalog}`.`{schema}` cannot "
                             "be found.")
    sec = Securable("schema", catalog, schema)
    grants.require_owner(cmd, sec)
    tables = cmd.lake.tables(catalog, schema)
    inside = tables + [r.securable.name for r in cmd.store.objects("view", catalog, schema)]
    if inside and not tree.args.get("cascade"):
        raise AnalysisError(f"[SCHEMA_NOT_EMPTY] Cannot drop schema `{schema}` because it "
                            "contains objects; use DROP SCHEMA ... CASCADE.", sql_state="2BP01")
    for table in tables:
        cmd.invalidate(TableName(catalog, schema, table))
    _remove_dir(cmd, location)
    cmd.store.drop_object(sec)
    return empty()


def _drop_catalog(cmd: Command, rest: list[str]) -> pa.Table:
    upper = [w.upper() for w in rest]
    if_exists = upper[:2] == ["IF", "EXISTS"]
    rest = rest[2:] if if_exists else rest
    if not rest:
        raise ParseError("[PARSE_SYNTAX_ERROR] DROP CATALOG needs a name.")
    name, cascade = rest[0].strip("`"), "CASCADE" in upper
    location = cmd.lake.locations.catalog(name)
    if name not in cmd.lake.catalogs():
        if if_exists:
            return empty()
        raise SchemaNotFound(f"[NO_SUCH_CATALOG_EXCEPTION] Catalog '{name}' not found.")
    sec = Securable("catalog", name)
    grants.require_owner(cmd, sec)
    if cmd.lake.schemas(name) and not cascade:
        raise AnalysisError(f"[CATALOG_NOT_EMPTY] Cannot drop catalog '{name}' because it "
                            "contains schemas; use DROP CATALOG ... CASCADE.", sql_state="2BP01")
    _remove_dir(cmd, location)
    cmd.store.drop_object(sec)
    return empty()


__all__ = ["create", "create_table", "drop"]
