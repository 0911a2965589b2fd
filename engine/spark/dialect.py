"""The SQL dialect sqlgate reads: sqlglot's Databricks, plus Spark's ``>>>`` operator.

sqlglot's Databricks dialect reads ``a >> b`` but not the unsigned shift ``a >>> b``. Here
three adjacent ``>`` tokens become one token that the parser reads, at the precedence of
the other shifts, as a call of ``shiftrightunsigned`` (engine.spark.bits implements it), so
the tree is the one the function form gives and prints back as Spark SQL.

>>> import sqlglot
>>> sqlglot.parse_one("SELECT 4 >>> 1", read=SparkSql).sql("databricks")
'SELECT SHIFTRIGHTUNSIGNED(4, 1)'
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp
from sqlglot.dialects.databricks import Databricks
from sqlglot.tokens import Token, TokenType

# A token type the Databricks dialect never produces nor parses (DuckDB's ``.^``),
# borrowed for ``>>>``: the tokenizer emits it only for three adjacent ``>``.
_UNSIGNED_SHIFT = TokenType.DOTCARET


def _unsigned_shift(this: exp.Expr, expression: exp.Expr, **_: Any) -> exp.Expr:
    return exp.Anonymous(this="shiftrightunsigned", expressions=[this, expression])


class SparkSql(Databricks):
    """Databricks SQL as sqlgate reads it (see the module docstring)."""

    class Tokenizer(Databricks.Tokenizer):
        def tokenize(self, sql: str) -> list[Token]:
            """Databricks' tokens, with each ``>>>`` (no spaces inside) as one token."""
            tokens = super().tokenize(sql)
            out: list[Token] = []
            for token in tokens:
                out.append(token)
                last = out[-3:]
                if len(last) == 3 and all(t.token_type == TokenType.GT for t in last) and (
                        last[0].end + 1 == last[1].start and last[1].end + 1 == last[2].start):
                    del out[-3:]
                    out.append(Token(_UNSIGNED_SHIFT, ">>>", last[0].line, last[2].col,
                                     last[0].start, last[2].end, last[0].comments))
            return out

    class Parser(Databricks.Parser):  # type: ignore[misc,valid-type]
        BITWISE = {**Databricks.Parser.BITWISE, _UNSIGNED_SHIFT: _unsigned_shift}


__all__ = ["SparkSql"]
