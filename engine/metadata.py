"""Catalog statements answered from the lake itself, as Arrow: SHOW, DESCRIBE and the
``information_schema`` views BI tools query (Databricks column names)."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence

import pyarrow as pa
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from engine.catalog import LakeCatalog
from engine.columns import databricks_ddl_type, type_name
from engine.errors import EngineError, ParseError, SchemaNotFound

INFORMATION_SCHEMA = "information_schema"


def _strings(**cols: Sequence[str | None]) -> pa.Table:
    return pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()})


def _like(names: list[str], pattern: str | None) -> list[str]:
    """Spark's SHOW ... LIKE: '*' wildcards, '|' alternatives, case-insensitive."""
    if not pattern:
        return names
    alts = [p.strip().lower() for p in pattern.split("|")]
    return [n for n in names if any(fnmatch.fnmatchcase(n.lower(), a) for a in alts)]


def show(sql: str, catalog: LakeCatalog, default_catalog: str, default_schema: str) -> pa.Table:
    """SHOW CATALOGS | SCHEMAS/DATABASES [IN c] | TABLES [IN [c.]s] [LIKE 'pat']."""
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
        return _strings(catalog=_like(catalog.catalogs(), pattern))
    if what in ("SCHEMAS", "DATABASES"):
        cat = target[0] if target else default_catalog
        return _strings(databaseName=_like(catalog.schemas(cat), pattern))
    if what == "TABLES":
        if len(target) >= 2:
            cat, sch = target[-2], target[-1]
        else:
            cat, sch = default_catalog, (target[0] if target else default_schema)
        names = _like(catalog.tables(cat, sch), pattern)
        return pa.table({
            "database": pa.array([sch] * len(names), pa.string()),
            "tableName": pa.array(names, pa.string()),
            "isTemporary": pa.array([False] * len(names), pa.bool_()),
        })
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


def information_schema(view: str, catalog: LakeCatalog) -> pa.Table:
    """One information_schema view (catalogs, schemata, tables, columns) as an Arrow table."""
    builder = _VIEWS.get(view.lower())
    if builder is None:
        raise SchemaNotFound(
            f"[TABLE_OR_VIEW_NOT_FOUND] information_schema.{view} does not exist. "
            "SQLSTATE: 42P01", sql_state="42P01"
        )
    return builder(catalog)


def _catalogs(catalog: LakeCatalog) -> pa.Table:
    cats = catalog.catalogs()
    return _strings(catalog_name=list(cats), catalog_owner=[None] * len(cats),
                    comment=[None] * len(cats))


def _schemata(catalog: LakeCatalog) -> pa.Table:
    rows = [(c, s) for c in catalog.catalogs() for s in [*catalog.schemas(c), INFORMATION_SCHEMA]]
    return _strings(
        catalog_name=[r[0] for r in rows], schema_name=[r[1] for r in rows],
        schema_owner=[None] * len(rows), comment=[None] * len(rows),
    )


def _tables_view(catalog: LakeCatalog) -> pa.Table:
    names = catalog.all_tables()
    return _strings(
        table_catalog=[n.catalog for n in names], table_schema=[n.schema for n in names],
        table_name=[n.table for n in names], table_type=["EXTERNAL"] * len(names),
        table_owner=[None] * len(names), comment=[None] * len(names),
        data_source_format=["DELTA"] * len(names),
    )


def _columns_view(catalog: LakeCatalog) -> pa.Table:
    cols: dict[str, list[object]] = {k: [] for k in (
        "table_catalog", "table_schema", "table_name", "column_name", "ordinal_position",
        "is_nullable", "data_type", "full_data_type", "numeric_precision", "numeric_scale",
        "comment", "partition_index",
    )}
    for name in catalog.all_tables():
        try:
            snap = catalog.snapshot(name)
        except EngineError:
            continue  # a table this engine refuses still must not hide the others
        for i, f in enumerate(snap.schema):
            dec = pa.types.is_decimal(f.type)
            parts = snap.partition_columns
            part = parts.index(f.name) if f.name in parts else None
            for key, value in (
                ("table_catalog", name.catalog), ("table_schema", name.schema),
                ("table_name", name.table), ("column_name", f.name), ("ordinal_position", i),
                ("is_nullable", "YES" if f.nullable else "NO"),
                ("data_type", type_name(f.type)), ("full_data_type", databricks_ddl_type(f.type)),
                ("numeric_precision", f.type.precision if dec else None),
                ("numeric_scale", f.type.scale if dec else None), ("comment", None),
                ("partition_index", part),
            ):
                cols[key].append(value)
    types = {"ordinal_position": pa.int32(), "numeric_precision": pa.int32(),
             "numeric_scale": pa.int32(), "partition_index": pa.int32()}
    return pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in cols.items()})


_VIEWS: dict[str, Callable[[LakeCatalog], pa.Table]] = {
    "catalogs": _catalogs,
    "schemata": _schemata,
    "tables": _tables_view,
    "columns": _columns_view,
}

__all__ = ["INFORMATION_SCHEMA", "describe", "information_schema", "show"]
