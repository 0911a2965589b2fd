"""Catalog statements answered from the lake itself, as Arrow: SHOW, DESCRIBE and the
``information_schema`` views BI tools query (Databricks column names)."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from engine.catalog import LakeCatalog, TableName
from engine.columns import databricks_ddl_type, type_name
from engine.errors import EngineError, ParseError, SchemaNotFound

INFORMATION_SCHEMA = "information_schema"


def _no_views(catalog: str, schema: str) -> list[str]:
    return []


def _no_info(kind: str, name: TableName) -> tuple[str | None, str | None]:
    return None, None


@dataclass(frozen=True)
class Extra:
    """What the catalog database adds to the lake's listings: views, temporary views of the
    session, owners and comments (`engine.describe.listing` builds it)."""

    views: Callable[[str, str], list[str]] = _no_views
    temp_views: Sequence[str] = ()
    all_views: Callable[[], list[TableName]] = list
    view_schema: Callable[[TableName], pa.Schema | None] = lambda name: None
    # (owner, comment) of a "table" or "view"
    info: Callable[[str, TableName], tuple[str | None, str | None]] = _no_info
    catalog_info: Callable[[str, str], tuple[str | None, str | None]] = (
        lambda catalog, schema: (None, None))
    # view name (str) -> its definition, for information_schema.views
    names: dict[str, str] = field(default_factory=dict)
    column_comments: Callable[[str, TableName], dict[str, str]] = lambda kind, name: {}


def _strings(**cols: Sequence[str | None]) -> pa.Table:
    return pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()})


def like(names: list[str], pattern: str | None) -> list[str]:
    """Spark's SHOW ... LIKE: '*' wildcards, '|' alternatives, case-insensitive."""
    if not pattern:
        return names
    alts = [p.strip().lower() for p in pattern.split("|")]
    return [n for n in names if any(fnmatch.fnmatchcase(n.lower(), a) for a in alts)]


def show(sql: str, catalog: LakeCatalog, default_catalog: str, default_schema: str,
         extra: Extra | None = None) -> pa.Table:
    """SHOW CATALOGS | SCHEMAS/DATABASES [IN c] | TABLES/VIEWS [IN [c.]s] [LIKE 'pat']."""
    extra = extra or Extra()
    dialect = Dialect.get_or_raise("databricks")  # `backtick` identifiers are one token
    try:
        head = dialect.tokenize(sql)
        # the tokenizer keeps everything after SHOW as one raw command string
        tail = dialect.tokenize(head[1].text) if len(head) > 1 else []
    except TokenError as exc:
        raise ParseError(f"[PARSE_SYNTAX_ERROR] {exc}") from exc
    # the dots between name parts go; a quoted part that is itself "." stays (and is refused)
    words = [head[0].text] + [t.text for t in tail
                              if t.token_type not in (TokenType.SEMICOLON, TokenType.DOT)]
    upper = [w.upper() for w in words]
    if len(upper) < 2 or upper[0] != "SHOW":
        raise ParseError(f"[PARSE_SYNTAX_ERROR] cannot parse {sql!r}")
    what, rest = upper[1], words[2:]
    pattern = None
    if len(rest) >= 2 and rest[-2].upper() == "LIKE":
        pattern, rest = rest[-1], rest[:-2]
    target: list[str] = []
    if rest and rest[0].upper() in ("IN", "FROM"):
        target = rest[1:]
    elif rest:
        raise ParseError(f"[PARSE_SYNTAX_ERROR] Syntax error at or near '{rest[0]}'. "
                         "Line 1, Col: 1.")
    if what == "CATALOGS":
        return _strings(catalog=like(catalog.catalogs(), pattern))
    if what in ("SCHEMAS", "DATABASES"):
        cat = target[0] if target else default_catalog
        return _strings(databaseName=like(catalog.schemas(cat), pattern))
    if what in ("TABLES", "VIEWS"):
        if len(target) >= 2:
            cat, sch = target[-2], target[-1]
        else:
            cat, sch = default_catalog, (target[0] if target else default_schema)
        tables = catalog.tables(cat, sch) if what == "TABLES" else []
        persisted = sorted([*tables, *extra.views(cat, sch)])
        names = like(persisted, pattern)
        temps = like(sorted(extra.temp_views), pattern)
        out = {
            "namespace" if what == "VIEWS" else "database":
                pa.array([sch] * len(names) + [""] * len(temps), pa.string()),
            "viewName" if what == "VIEWS" else "tableName":
                pa.array(names + temps, pa.string()),
            "isTemporary": pa.array([False] * len(names) + [True] * len(temps), pa.bool_()),
        }
        if what == "VIEWS":
            out["isMaterialized"] = pa.array([False] * (len(names) + len(temps)), pa.bool_())
        return pa.table(out)
    raise ParseError(f"[PARSE_SYNTAX_ERROR] SHOW {what} is not supported. Line 1, Col: 6.")


def describe(schema: pa.Schema, partition_columns: tuple[str, ...]) -> pa.Table:
    """DESCRIBE TABLE: col_name, data_type, comment, then Spark's partition section."""
    names = [f.name for f in schema]
    types: list[str | None] = [databricks_ddl_type(f.type) for f in schema]
    comments: list[str | None] = [None] * len(names)
    if partition_columns:
        by_name = {f.name: f for f in schema}
        names += ["# Partition Information", "# col_name", *partition_columns]
        types += ["", "data_type", *(databricks_ddl_type(by_name[c].type)
                                      for c in partition_columns)]
        comments += ["", "comment", *([None] * len(partition_columns))]
    return _strings(col_name=list(names), data_type=types, comment=comments)


def information_schema(view: str, catalog: LakeCatalog, extra: Extra | None = None) -> pa.Table:
    """One information_schema view (catalogs, schemata, tables, views, columns) as Arrow."""
    builder = _VIEWS.get(view.lower())
    if builder is None:
        raise SchemaNotFound(
            f"[TABLE_OR_VIEW_NOT_FOUND] information_schema.{view} does not exist. "
            "SQLSTATE: 42P01", sql_state="42P01"
        )
    return builder(catalog, extra or Extra())


def _catalogs(catalog: LakeCatalog, extra: Extra) -> pa.Table:
    cats = catalog.catalogs()
    info = [extra.catalog_info(c, "") for c in cats]
    return _strings(catalog_name=list(cats), catalog_owner=[i[0] for i in info],
                    comment=[i[1] for i in info])


def _schemata(catalog: LakeCatalog, extra: Extra) -> pa.Table:
    rows = [(c, s) for c in catalog.catalogs() for s in [*catalog.schemas(c), INFORMATION_SCHEMA]]
    info = [extra.catalog_info(c, s) for c, s in rows]
    return _strings(
        catalog_name=[r[0] for r in rows], schema_name=[r[1] for r in rows],
        schema_owner=[i[0] for i in info], comment=[i[1] for i in info],
    )


def _tables_view(catalog: LakeCatalog, extra: Extra) -> pa.Table:
    rows = [(n, "MANAGED") for n in catalog.all_tables()]
    rows += [(n, "VIEW") for n in extra.all_views()]
    info = [extra.info("view" if t == "VIEW" else "table", n) for n, t in rows]
    return _strings(
        table_catalog=[n.catalog for n, _ in rows], table_schema=[n.schema for n, _ in rows],
        table_name=[n.table for n, _ in rows], table_type=[t for _, t in rows],
        table_owner=[i[0] for i in info], comment=[i[1] for i in info],
        data_source_format=["DELTA" if t != "VIEW" else None for _, t in rows],
    )


def _views_view(catalog: LakeCatalog, extra: Extra) -> pa.Table:
    names = extra.all_views()
    return _strings(table_catalog=[n.catalog for n in names],
                    table_schema=[n.schema for n in names], table_name=[n.table for n in names],
                    view_definition=[extra.names.get(str(n)) for n in names])


def _columns_view(catalog: LakeCatalog, extra: Extra) -> pa.Table:
    cols: dict[str, list[object]] = {k: [] for k in (
        "table_catalog", "table_schema", "table_name", "column_name", "ordinal_position",
        "is_nullable", "data_type", "full_data_type", "numeric_precision", "numeric_scale",
        "comment", "partition_index",
    )}
    schemas: list[tuple[TableName, pa.Schema, tuple[str, ...], str]] = []
    for name in catalog.all_tables():
        try:
            snap = catalog.snapshot(name)
        except EngineError:
            continue  # a table this engine refuses still must not hide the others
        schemas.append((name, snap.schema, snap.partition_columns, "table"))
    for name in extra.all_views():
        try:
            view = extra.view_schema(name)
        except EngineError:
            continue  # a view whose tables are gone must not hide the others
        if view is not None:
            schemas.append((name, view, (), "view"))
    for name, schema, parts, kind in schemas:
        comments = extra.column_comments(kind, name)
        for i, f in enumerate(schema):
            dec = pa.types.is_decimal(f.type)
            part = parts.index(f.name) if f.name in parts else None
            for key, value in (
                ("table_catalog", name.catalog), ("table_schema", name.schema),
                ("table_name", name.table), ("column_name", f.name), ("ordinal_position", i),
                ("is_nullable", "YES" if f.nullable else "NO"),
                ("data_type", type_name(f.type)), ("full_data_type", databricks_ddl_type(f.type)),
                ("numeric_precision", f.type.precision if dec else None),
                ("numeric_scale", f.type.scale if dec else None),
                ("comment", comments.get(f.name)), ("partition_index", part),
            ):
                cols[key].append(value)
    types = {"ordinal_position": pa.int32(), "numeric_precision": pa.int32(),
             "numeric_scale": pa.int32(), "partition_index": pa.int32()}
    return pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in cols.items()})


def _empty(*columns: str) -> Callable[[LakeCatalog, Extra], pa.Table]:
    """A view this warehouse has no rows for (it has no tags, masks, row filters or
    constraints): the right columns and no rows is the true answer."""
    return lambda catalog, extra: _strings(**{c: [] for c in columns})


_VIEWS: dict[str, Callable[[LakeCatalog, Extra], pa.Table]] = {
    "row_filters": _empty("table_catalog", "table_schema", "table_name", "filter_name",
                          "target_columns"),
    "column_masks": _empty("table_catalog", "table_schema", "table_name", "column_name",
                           "mask_name", "using_columns"),
    "table_tags": _empty("catalog_name", "schema_name", "table_name", "tag_name", "tag_value"),
    "column_tags": _empty("catalog_name", "schema_name", "table_name", "column_name",
                          "tag_name", "tag_value"),
    "key_column_usage": _empty("constraint_catalog", "constraint_schema", "constraint_name",
                               "table_catalog", "table_schema", "table_name", "column_name",
                               "ordinal_position", "position_in_unique_constraint"),
    "table_constraints": _empty("constraint_catalog", "constraint_schema", "constraint_name",
                                "table_catalog", "table_schema", "table_name",
                                "constraint_type", "is_deferrable", "initially_deferred",
                                "enforced"),
    "referential_constraints": _empty("constraint_catalog", "constraint_schema",
                                      "constraint_name", "unique_constraint_catalog",
                                      "unique_constraint_schema", "unique_constraint_name",
                                      "match_option", "update_rule", "delete_rule"),
    "catalogs": _catalogs,
    "schemata": _schemata,
    "tables": _tables_view,
    "views": _views_view,
    "columns": _columns_view,
}

__all__ = ["INFORMATION_SCHEMA", "Extra", "describe", "information_schema", "like", "show"]
