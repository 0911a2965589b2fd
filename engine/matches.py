"""DELETE and UPDATE whose condition has a subquery (``WHERE id IN (SELECT ...)``).

deltalake evaluates DELETE and UPDATE conditions itself (DataFusion), over the one target
table, so a condition that reads another table cannot be handed to it. Such a statement
becomes a MERGE: DuckDB finds the distinct rows the condition matches (through the ordinary
query path: sandbox, views, privileges), and deltalake's TableMerger deletes or updates the
target rows equal to one of them, column by column with NULL-safe equality. Rows equal in
every column are indistinguishable to the condition as well, so the same rows are touched
as by the statement itself; it is still one commit with Delta's conflict checks.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from engine import writes
from engine.catalog import TableName
from engine.command import Command, counts
from engine.errors import Unsupported


def has_subquery(node: exp.Expr | None) -> bool:
    """Whether a condition reads anything but the target's own row."""
    return node is not None and node.find(exp.Subquery, exp.Select, exp.Exists) is not None


def _matching(cmd: Command, name: TableName, target: exp.Expr, where: exp.Expr) -> pa.Table:
    table = target.copy()
    query = exp.select(exp.Star()).distinct().from_(table).where(where.copy())
    rows = cmd.query_table(query)
    return rows.cast(writes.arrow_schema(rows.schema))


def _on(columns: list[str]) -> str:
    # parenthesised: DataFusion binds AND tighter than IS NOT DISTINCT FROM
    return " AND ".join(f'("t"."{c}" IS NOT DISTINCT FROM "s"."{c}")' for c in columns)


def delete(cmd: Command, name: TableName, target: exp.Expr, where: exp.Expr) -> pa.Table:
    """DELETE FROM target WHERE <condition with a subquery>."""
    rows = _matching(cmd, name, target, where)
    if rows.num_rows == 0:
        return counts(num_affected_rows=0)
    dt = writes.open_table(cmd.lake, name)
    try:
        metrics = (dt.merge(rows, _on(rows.column_names), source_alias="s", target_alias="t",
                            error_on_type_mismatch=False,
                            writer_properties=writes.writer_properties())
                   .when_matched_delete().execute())
    except writes.ERRORS as exc:
        raise writes.translate(exc, cmd.lake, name) from exc
    cmd.invalidate(name)
    return counts(num_affected_rows=int(metrics.get("num_target_rows_deleted", 0)))


def update(cmd: Command, name: TableName, target: exp.Expr, updates: dict[str, str],
           where: exp.Expr) -> pa.Table:
    """UPDATE target SET ... WHERE <condition with a subquery>; SET reads the row only."""
    rows = _matching(cmd, name, target, where)
    if rows.num_rows == 0:
        return counts(num_affected_rows=0)
    # the SET expressions name the target's columns; in the merge the target is "t"
    qualified = {col: _target_side(sql) for col, sql in updates.items()}
    dt = writes.open_table(cmd.lake, name)
    try:
        metrics = (dt.merge(rows, _on(rows.column_names), source_alias="s", target_alias="t",
                            error_on_type_mismatch=False,
                            writer_properties=writes.writer_properties())
                   .when_matched_update(qualified).execute())
    except writes.ERRORS as exc:
        raise writes.translate(exc, cmd.lake, name) from exc
    cmd.invalidate(name)
    return counts(num_affected_rows=int(metrics.get("num_target_rows_updated", 0)))


def _target_side(sql: str) -> str:
    """A DataFusion expression over the target's columns, with every column as t.<col>."""
    import sqlglot

    node = sqlglot.parse_one(sql, read="postgres")
    for col in node.find_all(exp.Column):
        col.set("table", exp.to_identifier("t", quoted=True))
    if has_subquery(node):
        raise Unsupported("a subquery in UPDATE ... SET is not supported")
    return node.sql("postgres", identify=True)


__all__ = ["delete", "has_subquery", "update"]
