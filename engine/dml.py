"""DML on Delta tables: INSERT, MERGE, UPDATE, DELETE, TRUNCATE, OPTIMIZE, VACUUM.

Rows to write are computed by DuckDB through the ordinary query path (sandboxed, views
expanded, privileges checked); the commit is deltalake's, one per statement, so each
statement is atomic and concurrent writers get Delta's optimistic concurrency (see
`engine.writes`). MERGE, UPDATE and DELETE run inside deltalake (its TableMerger and
DataFusion): conditions and SET expressions are handed to it as SQL, so they are limited to
what reads the target and the source row — a subquery in a condition is refused by name.

A MERGE whose source has several rows matching one target row fails with Databricks'
DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE before anything is written.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import SqlglotError

from engine import grants, matches, writes
from engine.catalog import TableName
from engine.columns import databricks_ddl_type
from engine.command import Command, counts, parse
from engine.ddl import _words
from engine.errors import AnalysisError, InvalidParameter, TableNotFound, Unsupported

# Delta's default delta.deletedFileRetentionDuration: VACUUM keeps at least this much.
_DEFAULT_RETENTION_HOURS = 168


def datafusion(node: exp.Expr) -> str:
    """An expression as the SQL deltalake's DataFusion reads (quoted identifiers)."""
    if node.find(exp.Subquery, exp.Select, exp.Exists):
        raise Unsupported("a subquery in a MERGE/UPDATE/DELETE condition is not supported; "
                          "join the rows in the MERGE source instead")
    try:
        return node.sql("postgres", identify=True)
    except SqlglotError as exc:
        raise Unsupported(f"cannot translate {node.sql('databricks')}: {exc}") from exc


def _target(cmd: Command, node: exp.Expr) -> TableName:
    if isinstance(node, exp.Schema):
        node = node.this
    name = cmd.name(node)
    if not cmd.lake.exists(name):
        raise TableNotFound(str(name))
    grants.require(cmd, "MODIFY", grants.table(name))
    return name


def _done(cmd: Command, name: TableName) -> None:
    cmd.invalidate(name)


# -- INSERT --------------------------------------------------------------------------------


def insert(cmd: Command) -> pa.Table:
    """INSERT INTO|OVERWRITE t [(cols) | BY NAME] [PARTITION (...)] [REPLACE WHERE c] query."""
    tree = parse(cmd.task.sql)
    if not isinstance(tree, exp.Insert):
        raise Unsupported("expected INSERT")
    target = tree.this
    listed = [c.name for c in target.expressions] if isinstance(target, exp.Schema) else None
    table_node = target.this if isinstance(target, exp.Schema) else target
    name = _target(cmd, table_node)
    table_schema = cmd.lake.snapshot(name).schema
    body = tree.expression
    if isinstance(body, exp.Values):
        body = exp.select("*").from_(exp.Subquery(
            this=body, alias=exp.TableAlias(this=exp.to_identifier("v"))))
    if not isinstance(body, exp.Query):
        raise Unsupported("INSERT needs a query or VALUES")
    static: dict[str, exp.Expr] = {}
    partition = table_node.args.get("partition") if isinstance(table_node, exp.Table) else None
    for eq in partition.expressions if partition is not None else []:
        if isinstance(eq, exp.EQ):
            static[eq.this.name] = eq.expression
    predicate = None
    if tree.args.get("where") is not None:  # REPLACE WHERE
        predicate = datafusion(tree.args["where"])
    elif static and tree.args.get("overwrite"):
        predicate = " AND ".join(datafusion(exp.EQ(this=exp.column(k), expression=v))
                                 for k, v in static.items())
    mode = "overwrite" if tree.args.get("overwrite") or predicate else "append"
    shaped = _shape(cmd, body, table_schema, listed, static,
                    bool(tree.args.get("by_name")), name)
    counter = [0]
    with cmd.query(shaped) as stream:
        reader = writes.cast_batches(stream, table_schema, counter)
        writes.write(cmd.lake, name, reader, mode, predicate=predicate)
    _done(cmd, name)
    return counts(num_affected_rows=counter[0], num_inserted_rows=counter[0])


def _output_names(cmd: Command, body: exp.Query) -> list[str]:
    """The names of a query's columns: from the tree, or (a `*` in it) a LIMIT 0 run."""
    selects = body.selects
    if selects and not any(isinstance(e, exp.Star) or (isinstance(e, exp.Column)
                                                       and isinstance(e.this, exp.Star))
                           for e in selects):
        return [e.alias_or_name for e in selects]
    return list(cmd.query_table(body.copy().limit(0)).schema.names)


def _shape(cmd: Command, body: exp.Query, schema: pa.Schema, listed: list[str] | None,
           static: dict[str, exp.Expr], by_name: bool, name: TableName) -> exp.Query:
    """The query laid out as the table's columns, each CAST to the column's type (Spark's
    store assignment: strings become timestamps, ...): by position, by a column list or by
    name; unlisted columns NULL, static partition values filled in."""
    names = _output_names(cmd, body)
    dynamic = [f.name for f in schema if f.name not in static]
    order = names if by_name else (listed if listed is not None else dynamic)
    unknown = [c for c in order if c not in schema.names]
    if unknown:
        raise AnalysisError(f"[UNRESOLVED_COLUMN] column `{unknown[0]}` is not in "
                            f"{name.quoted()}.", sql_state="42703")
    if len(order) != len(names):
        raise AnalysisError(
            f"[INSERT_COLUMN_ARITY_MISMATCH] Cannot write to {name.quoted()}: the table "
            f"expects {len(order)} columns, the data has {len(names)}.", sql_state="21S01")
    slot = {c: f"__c{i}" for i, c in enumerate(order)}
    columns = []
    for f in schema:
        dtype = exp.DataType.build(databricks_ddl_type(f.type), dialect="databricks")
        if f.name in slot:
            value: exp.Expr = exp.column(slot[f.name], table="__v")
        elif f.name in static:
            value = static[f.name].copy()
        elif not f.nullable:
            raise AnalysisError(f"[DELTA_NOT_NULL_CONSTRAINT_VIOLATED] NOT NULL column "
                                f"`{f.name}` has no value.", sql_state="23502")
        else:
            value = exp.Null()
        columns.append(exp.alias_(exp.Cast(this=value, to=dtype), f.name, quoted=True))
    alias = exp.TableAlias(this=exp.to_identifier("__v"),
                           columns=[exp.to_identifier(slot[c]) for c in order])
    return exp.select(*columns).from_(exp.Subquery(this=body, alias=alias))


# -- MERGE ---------------------------------------------------------------------------------


def _alias(node: exp.Expr, default: str) -> str:
    alias = node.args.get("alias")
    return alias.name if alias is not None and alias.name else default


def merge(cmd: Command) -> pa.Table:
    """MERGE INTO target USING source ON cond WHEN [NOT] MATCHED [BY SOURCE] ... THEN ..."""
    tree = parse(cmd.task.sql)
    if not isinstance(tree, exp.Merge):
        raise Unsupported("expected MERGE")
    name = _target(cmd, tree.this)
    grants.require(cmd, "SELECT", grants.table(name))
    target_alias = _alias(tree.this, name.table)
    using = tree.args["using"]
    source_alias = _alias(using, using.name if isinstance(using, exp.Table) else "source")
    on = tree.args["on"]
    whens = tree.args["whens"].expressions
    bare = using.copy()
    bare.set("alias", None)
    source_query = (bare.this.copy() if isinstance(bare, exp.Subquery)
                    else exp.select("*").from_(bare))
    if any(w.args.get("matched") and not _unconditional_delete(w) for w in whens):
        _check_duplicates(cmd, name, target_alias, using, on)
    source = cmd.query_table(source_query)
    source = source.cast(writes.arrow_schema(source.schema))
    scope = _Scope(source_alias, set(source.column_names), target_alias,
                   set(cmd.lake.snapshot(name).schema.names))
    dt = writes.open_table(cmd.lake, name)
    try:
        merger = dt.merge(source, scope.qualify(on, None), source_alias=source_alias,
                          target_alias=target_alias, error_on_type_mismatch=False,
                          writer_properties=writes.writer_properties())
        for when in whens:
            merger = _clause(merger, when, scope)
        metrics = merger.execute()
    except writes.ERRORS as exc:
        raise writes.translate(exc, cmd.lake, name) from exc
    _done(cmd, name)
    inserted = int(metrics.get("num_target_rows_inserted", 0))
    updated = int(metrics.get("num_target_rows_updated", 0))
    deleted = int(metrics.get("num_target_rows_deleted", 0))
    return counts(num_affected_rows=inserted + updated + deleted, num_updated_rows=updated,
                  num_deleted_rows=deleted, num_inserted_rows=inserted)


def _unconditional_delete(when: exp.When) -> bool:
    then = when.args.get("then")
    return isinstance(then, exp.Var) and then.name.upper() == "DELETE" and not when.args.get(
        "condition")


def _check_duplicates(cmd: Command, name: TableName, target_alias: str, using: exp.Expr,
                      on: exp.Expr) -> None:
    """Refuse, before writing, a source with several rows matching one target row."""
    rid = "__sqlgate_rid"
    numbered = exp.select("*", exp.alias_(exp.Window(this=exp.RowNumber()), rid)).from_(
        exp.Table(this=exp.to_identifier(name.table, quoted=True),
                  db=exp.to_identifier(name.schema, quoted=True),
                  catalog=exp.to_identifier(name.catalog, quoted=True)))
    target = exp.Subquery(this=numbered, alias=exp.TableAlias(
        this=exp.to_identifier(target_alias)))
    check = (exp.select(exp.alias_(exp.Literal.number(1), "dup")).from_(target)
             .join(using.copy(), on=on.copy())
             .group_by(exp.column(rid, table=target_alias))
             .having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1)))
             .limit(1))
    if cmd.query_table(check).num_rows:
        raise AnalysisError(
            "[DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE] Cannot perform Merge as "
            "multiple source rows matched and attempted to modify the same target row in the "
            f"Delta table {name.quoted()} in possibly conflicting ways. Nothing was written.",
            sql_state="21506")


class _Scope:
    """Which side an unqualified column of a MERGE clause means, as Spark resolves it: in
    WHEN NOT MATCHED the source (there is no target row), in WHEN NOT MATCHED BY SOURCE the
    target, in WHEN MATCHED the one side that has the column."""

    def __init__(self, source: str, source_cols: set[str], target: str,
                 target_cols: set[str]) -> None:
        self.source, self.target = source, target
        self.source_cols, self.target_cols = source_cols, target_cols

    def qualify(self, node: exp.Expr, side: str | None) -> str:
        node = node.copy()
        for col in node.find_all(exp.Column):
            if col.table:
                continue
            alias = side
            if alias is None:
                in_source, in_target = col.name in self.source_cols, col.name in self.target_cols
                if in_source and in_target:
                    raise AnalysisError(f"[AMBIGUOUS_REFERENCE] Reference `{col.name}` is "
                                        "ambiguous: both the MERGE source and target have it.",
                                        sql_state="42704")
                alias = self.source if in_source else self.target
            col.set("table", exp.to_identifier(alias))
        return datafusion(node)


def _assignments(pairs: list[exp.Expr], scope: _Scope, side: str | None) -> dict[str, str]:
    out = {}
    for eq in pairs:
        if not isinstance(eq, exp.EQ) or not isinstance(eq.this, exp.Column):
            raise Unsupported(f"cannot assign {eq.sql('databricks')}")
        out[eq.this.name] = scope.qualify(eq.expression, side)
    return out


def _clause(merger: Any, when: exp.When, scope: _Scope) -> Any:
    by_source = bool(when.args.get("source"))
    matched = bool(when.args.get("matched"))
    side = scope.target if by_source else (None if matched else scope.source)
    cond = when.args.get("condition")
    predicate = scope.qualify(cond, side) if cond is not None else None
    then = when.args["then"]
    delete = isinstance(then, exp.Var) and then.name.upper() == "DELETE"
    if by_source:  # WHEN NOT MATCHED BY SOURCE
        if delete:
            return merger.when_not_matched_by_source_delete(predicate)
        return merger.when_not_matched_by_source_update(
            _assignments(then.expressions, scope, side), predicate)
    if matched:
        if delete:
            return merger.when_matched_delete(predicate)
        if isinstance(then, exp.Update) and any(isinstance(e, exp.Star) for e in then.expressions):
            return merger.when_matched_update_all(predicate)
        return merger.when_matched_update(_assignments(then.expressions, scope, side), predicate)
    if isinstance(then, exp.Insert):
        if isinstance(then.this, exp.Star):
            return merger.when_not_matched_insert_all(predicate)
        columns = [c.name for c in then.this.expressions]
        values = [scope.qualify(v, side) for v in then.expression.expressions]
        if not columns or len(columns) != len(values):
            raise AnalysisError("[PARSE_SYNTAX_ERROR] WHEN NOT MATCHED THEN INSERT needs as "
                                "many columns as values, and at least one.", sql_state="42601")
        return merger.when_not_matched_insert(dict(zip(columns, values, strict=True)),
                                              predicate)
    raise Unsupported(f"WHEN NOT MATCHED THEN {then.sql('databricks')} is not supported")


# -- UPDATE / DELETE / TRUNCATE ------------------------------------------------------------


def _unqualified(node: exp.Expr) -> exp.Expr:
    """Column references without the table alias: deltalake sees only the one table."""
    node = node.copy()
    for col in node.find_all(exp.Column):
        col.set("table", None)
    return node


def update(cmd: Command) -> pa.Table:
    """UPDATE t [AS a] SET col = expr[, ...] [WHERE cond]."""
    tree = parse(cmd.task.sql)
    if not isinstance(tree, exp.Update):
        raise Unsupported("expected UPDATE")
    name = _target(cmd, tree.this)
    updates = {eq.this.name: datafusion(_unqualified(eq.expression)) for eq in tree.expressions}
    where = tree.args.get("where")
    if where is not None and matches.has_subquery(where.this):
        grants.require(cmd, "SELECT", grants.table(name))
        return matches.update(cmd, name, tree.this, updates, where.this)
    dt = writes.open_table(cmd.lake, name)
    try:
        metrics = dt.update(updates=updates, writer_properties=writes.writer_properties(),
                            predicate=datafusion(_unqualified(where.this)) if where else None,
                            error_on_type_mismatch=False)
    except writes.ERRORS as exc:
        raise writes.translate(exc, cmd.lake, name) from exc
    _done(cmd, name)
    return counts(num_affected_rows=int(metrics.get("num_updated_rows", 0)))


def delete(cmd: Command) -> pa.Table:
    """DELETE FROM t [WHERE cond]."""
    tree = parse(cmd.task.sql)
    if not isinstance(tree, exp.Delete):
        raise Unsupported("expected DELETE")
    name = _target(cmd, tree.this)
    where = tree.args.get("where")
    if where is not None and matches.has_subquery(where.this):
        grants.require(cmd, "SELECT", grants.table(name))
        return matches.delete(cmd, name, tree.this, where.this)
    return _delete(cmd, name, datafusion(_unqualified(where.this)) if where else None)


def _delete(cmd: Command, name: TableName, predicate: str | None) -> pa.Table:
    dt = writes.open_table(cmd.lake, name)
    try:
        metrics = dt.delete(predicate, writer_properties=writes.writer_properties())
    except writes.ERRORS as exc:
        raise writes.translate(exc, cmd.lake, name) from exc
    _done(cmd, name)
    return counts(num_affected_rows=int(metrics.get("num_deleted_rows", 0) or 0))


def truncate(cmd: Command) -> pa.Table:
    """TRUNCATE TABLE t: every row deleted in one commit (the history keeps them)."""
    tree = parse(cmd.task.sql)
    if not isinstance(tree, exp.TruncateTable) or len(tree.expressions) != 1:
        raise Unsupported("expected TRUNCATE TABLE name")
    _delete(cmd, _target(cmd, tree.expressions[0]), None)
    return pa.table({})


# -- OPTIMIZE / VACUUM ---------------------------------------------------------------------


def _command_target(cmd: Command, words: list[str]) -> tuple[TableName, list[str]]:
    """The table name at the start of an opaque command's words, and the words after it."""
    if not words:
        raise InvalidParameter("expected a table name")
    parts, rest = [words[0]], list(words[1:])
    while len(rest) >= 2 and rest[0] == ".":
        parts.append(rest[1])
        rest = rest[2:]
    node = exp.Table(this=exp.to_identifier(parts[-1]),
                     db=exp.to_identifier(parts[-2]) if len(parts) >= 2 else None,
                     catalog=exp.to_identifier(parts[-3]) if len(parts) >= 3 else None)
    return _target(cmd, node), rest


def optimize(cmd: Command) -> pa.Table:
    """OPTIMIZE t [ZORDER BY (cols)]: compact small files (or Z-order) in one commit."""
    name, rest = _command_target(cmd, _words(cmd.task.sql)[1:])
    upper = [w.upper() for w in rest]
    dt = writes.open_table(cmd.lake, name)
    try:
        if upper[:2] == ["ZORDER", "BY"]:
            cols = [w for w in rest[2:] if w not in ("(", ")", ",")]
            metrics = dt.optimize.z_order(cols, writer_properties=writes.writer_properties())
        elif upper and upper[0] == "WHERE":
            raise Unsupported("OPTIMIZE ... WHERE is not supported; OPTIMIZE the whole table")
        else:
            metrics = dt.optimize.compact(writer_properties=writes.writer_properties())
    except writes.ERRORS as exc:
        raise writes.translate(exc, cmd.lake, name) from exc
    _done(cmd, name)
    return pa.table({"path": [str(name)],
                     "numFilesAdded": pa.array([int(metrics.get("numFilesAdded", 0))], pa.int64()),
                     "numFilesRemoved": pa.array([int(metrics.get("numFilesRemoved", 0))],
                                                 pa.int64())})


def vacuum(cmd: Command) -> pa.Table:
    """VACUUM t [RETAIN n HOURS] [DRY RUN]: delete files no version younger than the
    retention needs; a retention below the table's (7 days by default) is refused."""
    name, rest = _command_target(cmd, _words(cmd.task.sql)[1:])
    grants.require_owner(cmd, grants.table(name))
    upper = [w.upper() for w in rest]
    hours: int | None = None
    if upper[:1] == ["RETAIN"]:
        try:
            hours = int(float(rest[1]))
        except (IndexError, ValueError) as exc:
            raise InvalidParameter("VACUUM ... RETAIN needs a number of HOURS") from exc
    dry_run = upper[-2:] == ["DRY", "RUN"]
    dt = writes.open_table(cmd.lake, name)
    configured = dt.metadata().configuration.get("delta.deletedFileRetentionDuration")
    minimum = _hours(configured) if configured else _DEFAULT_RETENTION_HOURS
    if hours is not None and hours < minimum:
        raise AnalysisError(
            f"[DELTA_VACUUM_RETENTION_PERIOD_TOO_SHORT] VACUUM of {name.quoted()} with a "
            f"retention of {hours} hours is refused: the table keeps deleted files for "
            f"{minimum} hours, and readers of older versions may still need them.",
            sql_state="22003")
    try:
        removed = dt.vacuum(retention_hours=hours, dry_run=dry_run,
                            enforce_retention_duration=True)
    except writes.ERRORS as exc:
        raise writes.translate(exc, cmd.lake, name) from exc
    if not dry_run:
        _done(cmd, name)
    return pa.table({"path": pa.array([cmd.lake.locations.scrub(p) for p in removed],
                                      pa.string())})


def _hours(interval: str) -> int:
    """'interval 7 days' / '168 hours' -> hours."""
    words = interval.lower().replace("interval", "").split()
    try:
        value = float(words[0])
    except (IndexError, ValueError):
        return _DEFAULT_RETENTION_HOURS
    unit = words[1] if len(words) > 1 else "hours"
    per = {"day": 24, "days": 24, "week": 168, "weeks": 168, "hour": 1, "hours": 1}
    return int(value * per.get(unit, 1))


__all__ = ["datafusion", "delete", "insert", "merge", "optimize", "truncate", "update",
           "vacuum"]
