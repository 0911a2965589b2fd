"""Spark rules for literals and types: TIMESTAMP is an instant, TIME is refused, LIKE
escapes with a backslash.

Databricks' TIMESTAMP is an instant shown in the session time zone (DuckDB's TIMESTAMPTZ,
the engine's zone is UTC) and TIMESTAMP_NTZ a wall-clock time (DuckDB's TIMESTAMP).

>>> import sqlglot
>>> tree = sqlglot.parse_one("SELECT CAST(x AS TIMESTAMP), 'a' LIKE 'a\\\\_'", read="databricks")
>>> _timestamps(_like_escape(tree)).sql("duckdb")
"SELECT CAST(x AS TIMESTAMPTZ), 'a' LIKE 'a\\\\_' ESCAPE '\\\\'"
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from engine.errors import InvalidParameter, Unsupported


def _timestamps(tree: exp.Expr) -> exp.Expr:
    """TIMESTAMP -> TIMESTAMPTZ (Spark's TIMESTAMP is local-time-zone aware); TIME refused
    (Spark SQL has no TIME type in ANSI mode)."""
    for node in list(tree.find_all(exp.DataType)):
        if node.this == exp.DType.TIMESTAMP:
            node.set("this", exp.DType.TIMESTAMPTZ)
        elif node.this in (exp.DType.TIME, exp.DType.TIMETZ):
            raise Unsupported("[UNSUPPORTED_DATATYPE] The TIME data type is not supported. "
                              "SQLSTATE: 0A000")
    return tree


def _like_escape(tree: exp.Expr) -> exp.Expr:
    """``LIKE``/``ILIKE`` escape with ``\\`` by default in Spark; DuckDB has no default.
    A literal pattern whose backslash escapes anything but ``_``, ``%`` or itself is an
    error in Spark, and here too."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Like | exp.ILike) and not isinstance(node.parent, exp.Escape):
            pattern = node.expression
            if isinstance(pattern, exp.Literal) and pattern.is_string:
                _check_pattern(pattern.this)
            return exp.Escape(this=node, expression=exp.Literal.string("\\"))
        return node

    return tree.transform(fix, copy=False)


def _check_pattern(pattern: str) -> None:
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            if i + 1 == len(pattern):
                raise InvalidParameter(
                    f"[INVALID_FORMAT.ESC_AT_THE_END] The escape character is not allowed to "
                    f"end the LIKE pattern '{pattern}'. SQLSTATE: 42601", sql_state="42601")
            if pattern[i + 1] not in "_%\\":
                raise InvalidParameter(
                    f"[INVALID_FORMAT.ESC_IN_THE_MIDDLE] The escape character is not allowed "
                    f"to precede '{pattern[i + 1]}' in the LIKE pattern '{pattern}'. "
                    "SQLSTATE: 42601", sql_state="42601")
            i += 1
        i += 1


def _lateral_outer(tree: exp.Expr) -> exp.Expr:
    """LATERAL VIEW OUTER keeps rows whose generator yields nothing: not yet translated."""
    for node in tree.find_all(exp.Lateral):
        if node.args.get("outer"):
            raise Unsupported("[UNSUPPORTED_FEATURE] LATERAL VIEW OUTER is not supported by "
                              "this warehouse; use LATERAL VIEW or a LEFT JOIN. SQLSTATE: 0A000")
    return tree


RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (
    _lateral_outer,
    _timestamps,
    _like_escape,
)
