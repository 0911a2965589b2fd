"""From Databricks SQL text to a DuckDB plan: parse, sandbox, resolve tables, prune, rewrite.

`analyze(task, ...)` parses and resolves without touching a data file (estimate() stops
there); `to_duckdb(analysis, paths)` applies the rewrite passes in `RULES` and writes the
DuckDB SQL. Each catalog table becomes a ``read_parquet([...])`` subquery over its pruned
files, with partition columns added as typed constants per partition group (Delta does not
store them in the files).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError, TokenError
from sqlglot.errors import ParseError as SqlglotParseError

from engine import metadata, parameters, pruning, sandbox, spark, system
from engine.catalog import DataFileEntry, LakeCatalog, Snapshot, TableName
from engine.errors import (
    InvalidParameter,
    ParseError,
    PermissionDenied,
    TableNotFound,
    Unsupported,
)
from engine.scans import ident, scan_sql
from engine.spark.dialect import SparkSql
from sqlgate.types import StatementTask


@dataclass
class Scan:
    """One table reference of a statement and the files left after pruning."""

    node: exp.Table
    snapshot: Snapshot
    files: list[DataFileEntry]

    @property
    def name(self) -> TableName:
        return self.snapshot.name


@dataclass
class Analysis:
    """A parsed, checked statement with its tables resolved; nothing executed yet."""

    kind: str  # "query" | "metadata" | "ctas" | "insert"
    tree: exp.Expr | None = None
    metadata: pa.Table | None = None
    scans: list[Scan] = field(default_factory=list)
    # information_schema references: node -> Arrow table registered under a private name
    views: dict[int, tuple[exp.Table, pa.Table]] = field(default_factory=dict)
    parameters: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    target: TableName | None = None
    overwrite: bool = False


@dataclass(frozen=True)
class Hooks:
    """What the catalog database adds to a query's analysis (see engine.views)."""

    expand: Callable[[exp.Expr], None]
    information_schema: Callable[[str], pa.Table]


@dataclass(frozen=True)
class Context:
    """What the rewrite passes need besides the tree."""

    analysis: Analysis
    # scan -> the strings read_parquet opens (the I/O layer's paths)
    paths: Callable[[Scan], Sequence[str]]
    view_names: dict[int, str]


# -- parsing -----------------------------------------------------------------------


class _LRU:
    """A small bounded, thread-safe cache: BI tools send the same statements again and again."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


_CACHE_ENTRIES = 512
TOO_DEEP = ("[PARSE_SYNTAX_ERROR] The statement nests too deeply (parentheses, operators or "
            "subqueries) to be parsed. SQLSTATE: 42601")
_parsed = _LRU(_CACHE_ENTRIES)
_templates = _LRU(_CACHE_ENTRIES)


def parse(sql: str) -> exp.Expr:
    """One Databricks statement as a sqlglot tree; errors carry line and column."""
    sandbox.check_text(sql)
    cached = _parsed.get(sql)
    if cached is not None:
        return cached.copy()
    tree = _parse(sql)
    _parsed.put(sql, tree.copy())
    return tree


def _parse(sql: str) -> exp.Expr:
    try:
        trees = [t for t in sqlglot.parse(sql, read=SparkSql) if t is not None]
    except SqlglotParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        line, col = err.get("line", 1), err.get("col", 1)
        desc = err.get("description") or str(exc).splitlines()[0]
        near = err.get("highlight") or ""
        raise ParseError(
            f"[PARSE_SYNTAX_ERROR] Syntax error at or near '{near}': {desc}. "
            f"Line {line}, Col: {col}. SQLSTATE: 42601"
        ) from exc
    except (TokenError, SqlglotError) as exc:
        raise ParseError(f"[PARSE_SYNTAX_ERROR] {exc}. SQLSTATE: 42601") from exc
    if not trees:
        raise ParseError("[PARSE_EMPTY_STATEMENT] Syntax error, unexpected empty statement. "
                         "Line 1, Col: 1. SQLSTATE: 42617", sql_state="42617")
    if len(trees) > 1:
        raise Unsupported("only one statement per request is supported")
    return trees[0]


def resolve_name(node: exp.Table, catalog: str, schema: str) -> TableName:
    """A table reference with the statement's default catalog and schema filled in."""
    return TableName(node.catalog or catalog, node.db or schema, node.name)


# -- analysis ----------------------------------------------------------------------


def analyze(task: StatementTask, lake: LakeCatalog, default_catalog: str,
            default_schema: str, hooks: Hooks | None = None) -> Analysis:
    """Parse, check and resolve a statement; prune its files. Executes nothing.

    `hooks` come from the catalog database (engine.views): views expanded in place before
    tables resolve, and information_schema views that list them.
    """
    catalog = task.catalog or default_catalog
    schema = task.schema or default_schema
    if sandbox.first_keyword(task.sql) == "SHOW":
        # sqlglot keeps SHOW as an opaque command; metadata.show reads its tokens
        return Analysis("metadata", metadata=metadata.show(task.sql, lake, catalog, schema))
    tree = parse(task.sql)
    if isinstance(tree, exp.Describe):
        target = tree.this
        if not isinstance(target, exp.Table) or not isinstance(target.this, exp.Identifier):
            raise Unsupported("DESCRIBE supports tables only")
        snap = lake.snapshot(resolve_name(target, catalog, schema))
        return Analysis("metadata",
                        metadata=metadata.describe(snap.schema, snap.partition_columns))
    sandbox.check_tree(tree)
    analysis = _statement(tree, lake, catalog, schema)
    query = analysis.tree
    assert query is not None
    if hooks is not None:
        hooks.expand(query)
    _resolve_tables(query, analysis, lake, catalog, schema, task.attachments, hooks)
    parameters.number_positional(query)
    analysis.parameters = parameters.bind_values(query, task)
    analysis.parameters.update(parameters.session_functions(query, catalog, schema))
    if analysis.kind == "query" and not analysis.scans and not _reads_anything(query):
        analysis.kind = "constant"
    return analysis


def _statement(tree: exp.Expr, lake: LakeCatalog, catalog: str, schema: str) -> Analysis:
    if isinstance(tree, exp.Query):
        return Analysis("query", tree=tree)
    if isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "TABLE":
        body = tree.expression
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        if not isinstance(body, exp.Query) or not isinstance(target, exp.Table):
            raise Unsupported("only CREATE TABLE ... AS SELECT is supported")
        name = resolve_name(target, catalog, schema)
        lake.uri(name)  # an invalid name fails before the query runs
        return Analysis("ctas", tree=body, target=name,
                        overwrite=bool(tree.args.get("replace")))
    if isinstance(tree, exp.Insert):
        body = tree.expression
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        if isinstance(tree.this, exp.Schema):
            raise Unsupported("INSERT with a column list is not supported; list all columns")
        if not isinstance(body, (exp.Query, exp.Values)) or not isinstance(target, exp.Table):
            raise Unsupported("only INSERT INTO t SELECT ... / VALUES ... is supported")
        name = resolve_name(target, catalog, schema)
        if not lake.exists(name):
            raise TableNotFound(str(name))
        query = body if isinstance(body, exp.Query) else exp.select("*").from_(
            exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier("v"))))
        return Analysis("insert", tree=query, target=name,
                        overwrite=bool(tree.args.get("overwrite")))
    raise PermissionDenied(
        f"[INSUFFICIENT_PERMISSIONS] {type(tree).__name__.upper()} statements are not allowed: "
        "this warehouse reads catalog tables and writes them with CREATE TABLE AS / INSERT."
    )


def _reads_anything(tree: exp.Expr) -> bool:
    return any(isinstance(n, exp.Table) for n in tree.walk())


def _cte_names(tree: exp.Expr) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def _resolve_tables(tree: exp.Expr, analysis: Analysis, lake: LakeCatalog,
                    catalog: str, schema: str,
                    attachments: tuple[tuple[str, str], ...] = (),
                    hooks: Hooks | None = None) -> None:
    ctes = _cte_names(tree)
    pending: list[tuple[exp.Table, Snapshot]] = []
    for node in list(tree.find_all(exp.Table)):
        if not isinstance(node.this, exp.Identifier):
            continue  # a table function the sandbox allowed (range, explode, ...): no table
        if not node.db and not node.catalog and node.name.lower() in ctes:
            continue
        if node.db.lower() == metadata.INFORMATION_SCHEMA:
            view = (hooks.information_schema(node.name) if hooks is not None
                    else metadata.information_schema(node.name, lake))
            analysis.views[id(node)] = (node, view)
            continue
        name = resolve_name(node, catalog, schema)
        if system.is_system(name):  # rows the gateway attached (system.query.history)
            analysis.views[id(node)] = (node, system.table(name, attachments))
            continue
        pending.append((node, _snapshot(node, lake, catalog, schema)))
    schemas = {id(n): s.schema for n, s in pending}
    for node, snap in pending:
        preds = pruning.extract(_where(node), _owner(node, schemas, ctes), snap.schema)
        analysis.scans.append(Scan(node, snap, pruning.prune(snap, preds)))


def _snapshot(node: exp.Table, lake: LakeCatalog, catalog: str, schema: str) -> Snapshot:
    name = resolve_name(node, catalog, schema)
    version = node.args.get("version")
    if version is None:
        return lake.snapshot(name)
    kind, value = str(version.this).upper(), version.expression
    if not isinstance(value, exp.Literal):
        raise Unsupported("time travel needs a literal version or timestamp")
    if kind == "VERSION":
        try:
            return lake.snapshot(name, version=int(value.this))
        except ValueError as exc:
            raise InvalidParameter(f"invalid version {value.this!r}") from exc
    return lake.snapshot(name, timestamp=value.this)


def _where(node: exp.Table) -> exp.Expr | None:
    select = node.parent_select
    # only the SELECT that has this table in its own FROM/JOIN filters it
    if select is None or node.find_ancestor(exp.Select) is not select:
        return None
    if node.find_ancestor(exp.Subquery, exp.Select) is not select:
        return None
    return select.args.get("where")


def _alias(node: exp.Table) -> str:
    return (node.alias or node.name).lower()


def _owner(node: exp.Table, schemas: dict[int, pa.Schema], ctes: set[str]) -> Any:
    """A test `column -> bool`: does this column certainly read from `node`?"""
    select = node.parent_select
    sources: list[exp.Expr] = []
    if select is not None:
        from_ = select.args.get("from")
        if from_ is not None:
            sources.append(from_.this)
        sources += [j.this for j in select.args.get("joins") or []]
    others_known = all(
        isinstance(s, exp.Table) and (s is node or id(s) in schemas) for s in sources
    )
    other_columns = {
        c.lower() for s in sources if s is not node and id(s) in schemas
        for c in schemas[id(s)].names
    }
    alias = _alias(node)

    def owns(col: exp.Column) -> bool:
        if col.table:
            return col.table.lower() == alias
        return others_known and col.name.lower() not in other_columns

    return owns


# -- rewriting ---------------------------------------------------------------------


def _bind_parameters(tree: exp.Expr, ctx: Context) -> exp.Expr:
    """`:name` -> CAST($name AS type): bound by DuckDB as a value, never spliced as text."""
    params = ctx.analysis.parameters

    def bind(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Placeholder) and node.name in params:
            dtype = exp.DataType.build(params[node.name][1], dialect="duckdb")
            return exp.Cast(this=exp.Placeholder(this=node.name), to=dtype)
        return node

    return tree.transform(bind, copy=False)


def _slot(i: int) -> str:
    return f"__sqlgate_slot_{i}"


def _substitute_tables(tree: exp.Expr, ctx: Context) -> exp.Expr:
    """Catalog tables and information_schema views -> numbered slots.

    The slots are filled after generation (see `to_duckdb`): the generated text is cached
    per statement text, while the files behind each slot change with every snapshot.
    """
    nodes = [scan.node for scan in ctx.analysis.scans]
    nodes += [node for node, _ in ctx.analysis.views.values()]
    for i, node in enumerate(nodes):
        alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(node.name))
        node.replace(exp.Table(this=exp.to_identifier(_slot(i), quoted=True),
                               alias=alias.copy()))
    return tree


def _spark_semantics(tree: exp.Expr, ctx: Context) -> exp.Expr:
    """Spark's function semantics (engine.spark): refuse what DuckDB would answer wrongly.

    The rules see the column types of every table and view the statement scans.
    """
    tables = {id(scan.node): scan.snapshot.schema for scan in ctx.analysis.scans}
    tables.update({id(node): view.schema for node, view in ctx.analysis.views.values()})
    return spark.rewrite(tree, tables)


RULES: tuple[Callable[[exp.Expr, Context], exp.Expr], ...] = (
    _spark_semantics,
    _bind_parameters,
    _substitute_tables,
)


def to_duckdb(analysis: Analysis, paths: Callable[[Scan], Sequence[str]],
              view_names: dict[int, str], cache_key: Hashable | None = None) -> str:
    """Apply RULES to the analysed tree (in place: an Analysis is used once) -> DuckDB SQL.

    `cache_key` names the statement text and its parameter types: the generated text with
    its slots is then reused, since generation costs more than the query for small tables.
    """
    assert analysis.tree is not None
    template = _templates.get(cache_key) if cache_key is not None else None
    if template is None:
        ctx = Context(analysis, paths, view_names)
        tree = analysis.tree
        try:
            for rule in RULES:
                tree = rule(tree, ctx)
            # RAISE: a construct sqlglot cannot express in DuckDB is refused, never dropped
            template = tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
        except SqlglotError as exc:
            raise Unsupported(f"cannot translate the statement for execution: {exc}") from exc
        except RecursionError as exc:
            raise ParseError(TOO_DEEP) from exc
        if cache_key is not None:
            _templates.put(cache_key, template)
    fills = [f"({scan_sql(s.snapshot, s.files, paths(s))})" for s in analysis.scans]
    fills += [ident(view_names[key]) for key in analysis.views]
    # Splicing our own generated SQL (paths are quoted by scan_sql), never user text; done
    # from the highest slot down so __sqlgate_slot_1 cannot match inside __sqlgate_slot_10.
    for i in reversed(range(len(fills))):
        template = template.replace(ident(_slot(i)), fills[i])
    return template


__all__ = ["RULES", "TOO_DEEP", "Analysis", "Scan", "analyze", "parse", "scan_sql", "to_duckdb"]
