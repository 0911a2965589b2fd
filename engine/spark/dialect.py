"""The SQL dialect sqlgate reads: sqlglot's Databricks, plus Spark's ``>>>`` operator and
doubled quotes inside string literals.

sqlglot's Databricks dialect reads ``a >> b`` but not the unsigned shift ``a >>> b``. Here
three adjacent ``>`` tokens become one token that the parser reads, at the precedence of
the other shifts, as a call of ``shiftrightunsigned`` (engine.spark.bits implements it), so
the tree is the one the function form gives and prints back as Spark SQL.

Spark reads ``'it''s'`` as one literal, ``it's`` (and ``"x""y"`` as ``x"y``); sqlglot reads
two adjacent literals and concatenates them (``its``). Two string tokens with nothing
between them are joined here with the quote they share.

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
            """Databricks' tokens, with each ``>>>`` (no spaces inside) as one token and
            string literals with doubled quotes inside as one literal."""
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
                    continue
                last = out[-2:]
                if len(last) == 2 and all(t.token_type == TokenType.STRING for t in last) and (
                        last[0].end + 1 == last[1].start and sql[last[0].end] in "'\"" and
                        sql[last[0].end] == sql[last[1].start]):
                    # 'it''s': one literal with the doubled quote inside, as Spark reads it
                    first, second = last
                    out[-2:] = [Token(TokenType.STRING, first.text + sql[first.end] + second.text,
                                      first.line, second.col, first.start, second.end,
                                      first.comments)]
            return out

    class Parser(Databricks.Parser):  # type: ignore[misc,valid-type]
        BITWISE = {**Databricks.Parser.BITWISE, _UNSIGNED_SHIFT: _unsigned_shift}


__all__ = ["SparkSql"]
