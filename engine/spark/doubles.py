"""A DOUBLE or FLOAT cast to STRING as Spark prints it (Java's ``Double.toString``).

Java prints values in [0.001, 10^7) plainly, as DuckDB does, and others in scientific
notation (``1.0E10``, ``1.27E-5``) where DuckDB prints ``10000000000.0`` and ``1.27e-05``;
NaN and infinities are ``NaN`` and ``Infinity``. The digits are the shortest that identify
the value in both, except where Java 17's algorithm prints more (``9.999999999999999E22``
for 1e23, extra digits past 2^53): compared with Spark on 11,000 doubles, the macro gives
Spark's text for every value in 10^-22 <= |x| < 10^15, and such values only are printed;
others raise. A FLOAT is printed only in [0.001, 10^7) (Java's Float.toString adds digits
above it, ``1.27000003E10``).

>>> import sqlglot
>>> from engine.spark.annotation import annotate
>>> tree = annotate(sqlglot.parse_one("SELECT CAST(1e10D AS STRING)", read="databricks"))
>>> _double_casts(tree).sql("duckdb")
'SELECT SG_DOUBLE_TEXT(CAST(1e10 AS DOUBLE))'
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from engine.spark.annotation import spark_type

T = exp.DType


def _error(what: str) -> str:
    return (f"error('[UNSUPPORTED_FEATURE] CAST of the {what} ' || CAST(x AS VARCHAR) || ' to "
            "STRING: Spark''s text of it is not supported by this warehouse. SQLSTATE: 0A000')")


def _macro(node: exp.Expr) -> str | None:
    """The macro printing a value known to be a DOUBLE or FLOAT, else None."""
    source = spark_type(node)
    if source is None or source.this not in (T.DOUBLE, T.FLOAT):
        return None
    return "sg_double_text" if source.this == T.DOUBLE else "sg_float_text"


def _double_casts(tree: exp.Expr) -> exp.Expr:
    """``CAST(double AS STRING)``, and doubles concatenated to strings (``concat``,
    ``concat_ws``, ``||``: an implicit cast) -> Java's text, where the type is known."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Cast | exp.TryCast) and node.to.this in (T.VARCHAR, T.TEXT):
            name = _macro(node.this)
            return node if name is None else exp.Anonymous(this=name, expressions=[node.this])
        if isinstance(node, exp.Concat | exp.ConcatWs | exp.DPipe):
            for arg in [*node.expressions, node.args.get("this"), node.args.get("expression")]:
                name = _macro(arg) if isinstance(arg, exp.Expr) else None
                if name is not None:
                    slot = exp.null()
                    arg.replace(slot)  # the call takes the operand's place, then wraps it
                    slot.replace(exp.Anonymous(this=name, expressions=[arg]))
        return node

    return tree.transform(fix, copy=False)


MACROS: tuple[str, ...] = (
    # the parts of scientific notation: sign, the significant digits, the exponent
    "CREATE MACRO sg_sci_parts(sign, digits, e) AS sign || left(rtrim(digits, '0'), 1) || '.' "
    "|| coalesce(nullif(substr(rtrim(digits, '0'), 2), ''), '0') || 'E' || CAST(e AS VARCHAR)",
    # DuckDB's shortest text of a positive value (plain or 1.27e-05) -> Java's 1.27E-5
    "CREATE MACRO sg_sci_text(sign, t) AS sg_sci_parts(sign, "
    "CASE WHEN contains(t, 'e') THEN replace(split_part(t, 'e', 1), '.', '') "
    "ELSE ltrim(replace(t, '.', ''), '0') END, "
    "CASE WHEN contains(t, 'e') THEN CAST(split_part(t, 'e', 2) AS INTEGER) "
    "WHEN split_part(t, '.', 1) <> '0' THEN length(split_part(t, '.', 1)) - 1 "
    "ELSE -(length(split_part(t, '.', 2)) - length(ltrim(split_part(t, '.', 2), '0')) + 1) "
    "END)",
    "CREATE MACRO sg_double_text(x) AS CASE WHEN x IS NULL THEN NULL "
    "WHEN isnan(x) THEN 'NaN' "
    "WHEN isinf(x) THEN CASE WHEN x > 0 THEN 'Infinity' ELSE '-Infinity' END "
    "WHEN x = 0 OR (abs(x) >= 0.001 AND abs(x) < 10000000) THEN CAST(x AS VARCHAR) "
    "WHEN abs(x) >= 1e-22 AND abs(x) < 1e15 THEN "
    "sg_sci_text(CASE WHEN x < 0 THEN '-' ELSE '' END, CAST(abs(x) AS VARCHAR)) "
    f"ELSE {_error('DOUBLE')} END",
    "CREATE MACRO sg_float_text(x) AS CASE WHEN x IS NULL THEN NULL "
    "WHEN isnan(x) THEN 'NaN' "
    "WHEN isinf(x) THEN CASE WHEN x > 0 THEN 'Infinity' ELSE '-Infinity' END "
    "WHEN x = 0 OR (abs(x) >= 0.001 AND abs(x) < 10000000) THEN CAST(x AS VARCHAR) "
    f"ELSE {_error('FLOAT')} END",
)

RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_double_casts,)

__all__ = ["MACROS", "RULES"]
