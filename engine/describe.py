"""DESCRIBE and the SHOW statements about one object: what a table or view is.

DESCRIBE [TABLE] [EXTENDED] name [AS JSON], DESCRIBE DETAIL / HISTORY, DESCRIBE SCHEMA /
CATALOG, SHOW CREATE TABLE, SHOW TBLPROPERTIES, SHOW COLUMNS and SHOW GRANTS; the listings
(SHOW CATALOGS / SCHEMAS / TABLES / VIEWS) are `engine.metadata`. Shapes and column names
follow Databricks, since clients (dbt-databricks above all) parse them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from sqlglot import exp
from sqlglot.tokens import TokenType

from engine import grants, metadata, views, writes
from engine.catalog import TableName
from engine.catalogdb import Securable
from engine.columns import databricks_ddl_type
from engine.command import Command, parse, tokens
from engine.errors import ParseError, TableNotFound, Unsupported


def _words(sql: str) -> list[tuple[str, bool]]:
    """(text, is a quoted identifier or string) of each token, dots dropped."""
    return [(t.text, t.token_type in (TokenType.STRING, TokenType.IDENTIFIER))
            for t in tokens(sql) if t.token_type != TokenType.DOT]


def _name(cmd: Command, parts: list[str]) -> TableName:
    if not 1 <= len(parts) <= 3:
        raise ParseError(f"[PARSE_SYNTAX_ERROR] expected a table name, got {'.'.join(parts)}")
    full = [cmd.catalog, cmd.schema][: 3 - len(parts)] + parts
    return TableName(*full)


class _Object:
    """A table or view being described: its columns, and what the store knows of it."""

    def __init__(self, cmd: Command, name: TableName, temp: str | None = None) -> None:
        self.name = name
        self.view = temp is not None or views.is_view(cmd, name)
        self.sec = views.securable(name) if self.view else grants.table(name)
        self.owner: str | None = None
        self.comment: str | None = None
        self.definition: str | None = temp
        self.created: float | None = None
        self.column_comments: dict[str, str] = {}
        self.partitions: tuple[str, ...] = ()
        self.properties: dict[str, str] = {}
        self.detail: dict[str, Any] = {}
        if temp is not None:  # a temporary view of the session: nothing stored about it
            self.schema = views.view_schema(cmd, temp)
            return
        if not self.view and not cmd.lake.exists(name):
            raise TableNotFound(str(name))
        grants.require(cmd, "SELECT", self.sec)
        record = cmd.store.get_object(self.sec)
        if record is not None:
            self.owner, self.comment = record.owner, record.comment
            self.definition, self.created = record.definition, record.created_at
        self.column_comments = cmd.store.column_comments(self.sec)
        if self.view:
            assert self.definition is not None
            self.schema = views.view_schema(cmd, self.definition)
            return
        snap = cmd.lake.snapshot(name)
        self.schema, self.partitions = snap.schema, snap.partition_columns
        dt = writes.open_table(cmd.lake, name)
        meta = dt.metadata()
        stored = record.properties if record is not None else {}
        self.properties = {**stored, **{k: v for k, v in meta.configuration.items()
                                        if v is not None}}
        self.comment = self.comment or meta.description
        self.detail = {"id": meta.id, "version": snap.version, "files": len(snap.files),
                       "bytes": snap.total_bytes, "created_ms": meta.created_time,
                       "min_reader": dt.protocol().min_reader_version,
                       "min_writer": dt.protocol().min_writer_version}

    @property
    def type(self) -> str:
        return "VIEW" if self.view else "MANAGED"


def describe(cmd: Command) -> pa.Table:
    """DESCRIBE [TABLE|DETAIL|HISTORY|SCHEMA|CATALOG] ..."""
    words = _words(cmd.task.sql)
    upper = [w.upper() for w, _ in words]
    if len(upper) > 1 and upper[1] in ("SCHEMA", "DATABASE", "CATALOG"):
        return _describe_container(cmd, upper[1], [w for w, _ in words[2:]
                                                   if w.upper() != "EXTENDED"])
    if len(upper) > 1 and upper[1] == "DETAIL":
        return _detail(cmd, _Object(cmd, _name(cmd, [w for w, _ in words[2:]])))
    tree = parse(cmd.task.sql)
    if isinstance(tree, exp.Describe) and isinstance(tree.this, exp.Query):
        # DESCRIBE [QUERY] SELECT ...: the columns the query returns, from a LIMIT 0 run
        schema = cmd.query_table(tree.this.limit(0)).schema
        return pa.table({"col_name": pa.array(schema.names, pa.string()),
                         "data_type": pa.array([databricks_ddl_type(f.type) for f in schema],
                                               pa.string()),
                         "comment": pa.array([None] * len(schema), pa.string())})
    if not isinstance(tree, exp.Describe) or not isinstance(tree.this, exp.Table):
        raise Unsupported("DESCRIBE supports tables, views and queries")
    name = cmd.name(tree.this)
    style = str(tree.args.get("style") or "").upper()
    if style == "HISTORY":
        return _history(cmd, name)
    obj = _Object(cmd, name, _temp_view(cmd, tree.this))
    if tree.args.get("as_json"):
        return pa.table({"json_metadata": pa.array([_json(obj)], pa.string())})
    rows = _column_rows(obj)
    if style in ("EXTENDED", "FORMATTED"):
        rows += [("", "", ""), ("# Detailed Table Information", "", "")]
        rows += [(k, v, "") for k, v in _details(obj)]
    return pa.table({"col_name": [r[0] for r in rows], "data_type": [r[1] for r in rows],
                     "comment": pa.array([r[2] or None for r in rows], pa.string())})


def _temp_view(cmd: Command, node: exp.Table) -> str | None:
    """The definition of the session's temporary view `node` names, if it names one."""
    session = cmd.task.session_id
    if not session or node.db or node.catalog:
        return None
    return cmd.store.get_temp_view(session, node.name.lower())


def _column_rows(obj: _Object) -> list[tuple[str, str, str]]:
    rows = [(f.name, databricks_ddl_type(f.type), obj.column_comments.get(f.name, ""))
            for f in obj.schema]
    if obj.partitions:
        types = {f.name: databricks_ddl_type(f.type) for f in obj.schema}
        rows += [("# Partition Information", "", ""), ("# col_name", "data_type", "comment")]
        rows += [(c, types[c], "") for c in obj.partitions]
    return rows


def _details(obj: _Object) -> list[tuple[str, str]]:
    out = [("Catalog", obj.name.catalog), ("Database", obj.name.schema),
           ("Table", obj.name.table), ("Owner", obj.owner or ""),
           ("Type", obj.type)]
    if obj.created:
        out.append(("Created Time", datetime.fromtimestamp(obj.created, UTC).ctime()))
    if obj.comment:
        out.append(("Comment", obj.comment))
    if obj.view:
        out.append(("View Text", obj.definition or ""))
    else:
        out.append(("Provider", "delta"))
        props = ",".join(f"{k}={v}" for k, v in sorted(obj.properties.items()))
        out.append(("Table Properties", f"[{props}]"))
    return out


def _json_type(t: pa.DataType) -> dict[str, Any]:
    if pa.types.is_struct(t):
        return {"name": "struct", "fields": [{"name": f.name, "type": _json_type(f.type),
                                              "nullable": f.nullable} for f in t]}
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return {"name": "array", "element_type": _json_type(t.value_type),
                "element_nullable": True}
    if pa.types.is_map(t):
        return {"name": "map", "key_type": _json_type(t.key_type),
                "value_type": _json_type(t.item_type), "value_nullable": True}
    if pa.types.is_decimal(t):
        return {"name": "decimal", "precision": t.precision, "scale": t.scale}
    name = databricks_ddl_type(t)
    return {"name": "timestamp_ltz" if name == "timestamp" else name}


def _json(obj: _Object) -> str:
    doc: dict[str, Any] = {
        "table_name": obj.name.table, "catalog_name": obj.name.catalog,
        "schema_name": obj.name.schema, "namespace": [obj.name.schema],
        "type": obj.type,
        "columns": [{"name": f.name, "type": _json_type(f.type), "nullable": f.nullable,
                     **({"comment": obj.column_comments[f.name]}
                        if f.name in obj.column_comments else {})} for f in obj.schema],
        "owner": obj.owner, "comment": obj.comment,
    }
    if obj.view:
        doc["view_text"] = obj.definition
    else:
        doc.update(provider="delta", partition_columns=list(obj.partitions),
                   table_properties=obj.properties)
    return json.dumps({k: v for k, v in doc.items() if v is not None})


def _detail(cmd: Command, obj: _Object) -> pa.Table:
    if obj.view:
        raise Unsupported(f"[EXPECT_TABLE_NOT_VIEW] DESCRIBE DETAIL expects a table; "
                          f"{obj.name.quoted()} is a view.")
    d = obj.detail
    created = datetime.fromtimestamp(d["created_ms"] / 1000, UTC) if d["created_ms"] else None
    return pa.table({
        "format": ["delta"], "id": [d["id"]], "name": [str(obj.name)],
        "description": pa.array([obj.comment], pa.string()),
        "location": [f"<lake>/{obj.name.catalog}/{obj.name.schema}/{obj.name.table}"],
        "createdAt": pa.array([created], pa.timestamp("us", "UTC")),
        "partitionColumns": pa.array([list(obj.partitions)], pa.list_(pa.string())),
        "numFiles": pa.array([d["files"]], pa.int64()),
        "sizeInBytes": pa.array([d["bytes"]], pa.int64()),
        "properties": pa.array([list(obj.properties.items())],
                               pa.map_(pa.string(), pa.string())),
        "minReaderVersion": pa.array([d["min_reader"]], pa.int32()),
        "minWriterVersion": pa.array([d["min_writer"]], pa.int32()),
    })


def _history(cmd: Command, name: TableName) -> pa.Table:
    grants.require(cmd, "SELECT", grants.table(name))
    dt = writes.open_table(cmd.lake, name)
    entries = dt.history()
    when = [datetime.fromtimestamp(e["timestamp"] / 1000, UTC) if e.get("timestamp") else None
            for e in entries]
    return pa.table({
        "version": pa.array([e.get("version") for e in entries], pa.int64()),
        "timestamp": pa.array(when, pa.timestamp("us", "UTC")),
        "operation": pa.array([e.get("operation") for e in entries], pa.string()),
        "operationParameters": pa.array(
            [list({k: str(v) for k, v in (e.get("operationParameters") or {}).items()}.items())
             for e in entries], pa.map_(pa.string(), pa.string())),
        "operationMetrics": pa.array(
            [list({k: str(v) for k, v in (e.get("operationMetrics") or {}).items()}.items())
             for e in entries], pa.map_(pa.string(), pa.string())),
    })


def _describe_container(cmd: Command, kind: str, parts: list[str]) -> pa.Table:
    if kind == "CATALOG":
        name = parts[-1] if parts else cmd.catalog
        sec = Securable("catalog", name)
        if name not in cmd.lake.catalogs():
            raise TableNotFound(name)
        rows = [("Catalog Name", name)]
    else:
        catalog, schema = (parts[-2], parts[-1]) if len(parts) >= 2 else (
            cmd.catalog, parts[-1] if parts else cmd.schema)
        sec = Securable("schema", catalog, schema)
        cmd.lake.tables(catalog, schema)  # SchemaNotFound when it is not there
        rows = [("Catalog Name", catalog), ("Namespace Name", schema)]
    record = cmd.store.get_object(sec)
    rows += [("Comment", (record.comment if record else None) or ""),
             ("Owner", (record.owner if record else None) or "")]
    return pa.table({"info_name": [r[0] for r in rows], "info_value": [r[1] for r in rows]})


def show(cmd: Command) -> pa.Table:
    """SHOW ...: listings through `engine.metadata`, the rest about one object here."""
    words = _words(cmd.task.sql)
    upper = [w.upper() for w, _ in words]
    what = upper[1] if len(upper) > 1 else ""
    if what == "CREATE":
        rest = [w for w, _ in words[2:]]
        rest = rest[1:] if rest and rest[0].upper() == "TABLE" else rest
        return _show_create(cmd, _Object(cmd, _name(cmd, rest[:3])))
    if what == "TBLPROPERTIES":
        obj = _Object(cmd, _name(cmd, [w for w, _ in words[2:5] if w != "("]))
        return pa.table({"key": pa.array(list(obj.properties), pa.string()),
                         "value": pa.array(list(obj.properties.values()), pa.string())})
    if what == "COLUMNS":
        parts = [w for w, _ in words[3:] if w.upper() not in ("IN", "FROM")]
        obj = _Object(cmd, _name(cmd, parts[:3]))
        return pa.table({"col_name": pa.array(obj.schema.names, pa.string())})
    if what == "GRANTS":
        return _show_grants(cmd, words[2:])
    if what == "TABLE" and len(upper) > 2 and upper[2] == "EXTENDED":
        return _show_table_extended(cmd, words[3:])
    return metadata.show(cmd.task.sql, cmd.lake, cmd.catalog, cmd.schema, listing(cmd))


def listing(cmd: Command) -> metadata.Extra:
    """What the catalog database adds to SHOW and information_schema: views, temporary
    views of the session, owners and comments."""
    session, store = cmd.task.session_id, cmd.store
    records = [r for r in store.objects("view") if r.definition is not None]
    definitions = {str(TableName(r.securable.catalog, r.securable.schema, r.securable.name)):
                   r.definition or "" for r in records}

    def info(kind: str, name: TableName) -> tuple[str | None, str | None]:
        record = store.get_object(Securable(kind, name.catalog, name.schema, name.table))
        return (record.owner, record.comment) if record else (None, None)

    def container(catalog: str, schema: str) -> tuple[str | None, str | None]:
        record = store.get_object(Securable("schema", catalog, schema) if schema
                                  else Securable("catalog", catalog))
        return (record.owner, record.comment) if record else (None, None)

    return metadata.Extra(
        views=lambda c, s: [r.securable.name for r in records
                            if (r.securable.catalog, r.securable.schema) == (c, s)],
        temp_views=store.temp_views(session) if session else [],
        all_views=lambda: [TableName(r.securable.catalog, r.securable.schema, r.securable.name)
                           for r in records],
        view_schema=lambda name: views.view_schema(cmd, definitions[str(name)]),
        info=info, catalog_info=container, names=definitions,
        column_comments=lambda kind, name: store.column_comments(
            Securable(kind, name.catalog, name.schema, name.table)))


def _show_table_extended(cmd: Command, words: list[tuple[str, bool]]) -> pa.Table:
    """SHOW TABLE EXTENDED [IN [c.]s] LIKE 'pattern': one row per table or view, with
    Spark's `information` text (dbt-databricks reads columns, owner and type from it)."""
    texts = [w for w, _ in words]
    pattern = texts[-1] if len(texts) >= 2 and texts[-2].upper() == "LIKE" else "*"
    target = texts[1:-2] if texts and texts[0].upper() in ("IN", "FROM") else []
    catalog, schema = (target[-2], target[-1]) if len(target) >= 2 else (
        cmd.catalog, target[0] if target else cmd.schema)
    extra = listing(cmd)
    names = metadata.like(sorted([*cmd.lake.tables(catalog, schema),
                                  *extra.views(catalog, schema)]), pattern)
    rows = []
    for table in names:
        obj = _Object(cmd, TableName(catalog, schema, table))
        info = "".join(f"{k}: {v}\n" for k, v in _details(obj))
        if not obj.view:
            info += f"Statistics: {obj.detail['bytes']} bytes\n"
        info += "Schema: root\n" + "".join(
            f" |-- {f.name}: {databricks_ddl_type(f.type)} (nullable = "
            f"{str(f.nullable).lower()})\n" for f in obj.schema)
        rows.append((table, info))
    return pa.table({"database": pa.array([schema] * len(rows), pa.string()),
                     "tableName": pa.array([r[0] for r in rows], pa.string()),
                     "isTemporary": pa.array([False] * len(rows), pa.bool_()),
                     "information": pa.array([r[1] for r in rows], pa.string())})


def _show_grants(cmd: Command, words: list[tuple[str, bool]]) -> pa.Table:
    principal = None
    if words and words[0][0].upper() != "ON":
        principal, words = words[0][0], words[1:]
    if not words or words[0][0].upper() != "ON":
        raise ParseError("[PARSE_SYNTAX_ERROR] expected SHOW GRANTS [principal] ON ...")
    rest = [w for w, _ in words[1:]]
    kind = "TABLE"
    if rest and rest[0].upper() in ("CATALOG", "SCHEMA", "DATABASE", "TABLE", "VIEW"):
        kind, rest = rest[0].upper(), rest[1:]
    node = exp.Table(this=exp.to_identifier(rest[-1]),
                     db=exp.to_identifier(rest[-2]) if len(rest) >= 2 else None,
                     catalog=exp.to_identifier(rest[-3]) if len(rest) >= 3 else None)
    return grants.show(cmd, kind, node, principal)


def _show_create(cmd: Command, obj: _Object) -> pa.Table:
    name = obj.name.quoted()
    if obj.view:
        text = f"CREATE VIEW {name} AS {obj.definition}"
    else:
        cols = ",\n".join(
            f"  `{f.name}` {databricks_ddl_type(f.type).upper()}"
            + ("" if f.nullable else " NOT NULL")
            + (f" COMMENT '{_esc(obj.column_comments[f.name])}'"
               if f.name in obj.column_comments else "") for f in obj.schema)
        text = f"CREATE TABLE {name} (\n{cols})\nUSING delta"
        if obj.partitions:
            text += "\nPARTITIONED BY (" + ", ".join(f"`{c}`" for c in obj.partitions) + ")"
        if obj.comment:
            text += f"\nCOMMENT '{_esc(obj.comment)}'"
        if obj.properties:
            text += "\nTBLPROPERTIES (\n" + ",\n".join(
                f"  '{_esc(k)}' = '{_esc(v)}'" for k, v in sorted(obj.properties.items())) + ")"
    return pa.table({"createtab_stmt": pa.array([text + "\n"], pa.string())})


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


__all__ = ["describe", "listing", "show"]
