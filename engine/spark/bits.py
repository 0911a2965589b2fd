"""Spark's shifts, ``conv``, ``bin`` and ``reverse`` of BINARY: Java's bits and bytes on DuckDB.

Java masks a shift distance to the operand's width (``x << 33`` of an INT is ``x << 1``)
and wraps on overflow; DuckDB refuses to shift a negative number left and shifts an INT
right by 40 to 0. The shifts here compute on wider integers and fold the result back into
32 or 64 bits, so they need the operand's width: from sqlglot's annotation (literals,
casts), else ``shiftrightunsigned`` is refused and ``<<``/``>>`` keep DuckDB's answer,
which is Spark's wherever DuckDB does not refuse. ``conv`` is Spark's NumberConverter
(unsigned 64-bit, a ``-`` sign, digits read up to the first invalid one), as a Python
function registered on the connection.

>>> import sqlglot
>>> tree = sqlglot.parse_one("SELECT shiftrightunsigned(-8, 1)", read="databricks")
>>> from engine.spark.annotation import annotate
>>> _shifts(annotate(tree)).sql("duckdb")
'SELECT SG_USHR32(-8, 1)'
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
from duckdb.func import SPECIAL
from duckdb.sqltypes import INTEGER, VARCHAR
from sqlglot import exp

from engine.errors import Unsupported
from engine.spark.annotation import spark_type

T = exp.DType

_U32, _U64 = 4294967295, 18446744073709551615


def _signed(bits: int, value: str) -> str:
    """A two's-complement reading of an unsigned `bits`-wide value."""
    top, span = 2 ** (bits - 1), 2**bits
    return f"CASE WHEN ({value}) >= {top} THEN ({value}) - {span} ELSE ({value}) END"


MACROS: tuple[str, ...] = (
    f"CREATE MACRO sg_shl32(a, n) AS CAST({_signed(32, f'((CAST(a AS HUGEINT) & {_U32}) << (n & 31)) & {_U32}')} AS INTEGER)",  # noqa: E501
    f"CREATE MACRO sg_shl64(a, n) AS CAST({_signed(64, '((CAST(a AS HUGEINT) & ((CAST(1 AS HUGEINT) << (64 - (n & 63))) - 1)) << (n & 63))')} AS BIGINT)",  # noqa: E501
    "CREATE MACRO sg_shr32(a, n) AS CAST(a AS INTEGER) >> (n & 31)",
    "CREATE MACRO sg_shr64(a, n) AS CAST(a AS BIGINT) >> (n & 63)",
    f"CREATE MACRO sg_ushr32(a, n) AS CAST({_signed(32, f'((CAST(a AS BIGINT) & {_U32}) >> (n & 31))')} AS INTEGER)",  # noqa: E501
    f"CREATE MACRO sg_ushr64(a, n) AS CAST({_signed(64, f'((CAST(a AS HUGEINT) & {_U64}) >> (n & 63))')} AS BIGINT)",  # noqa: E501
    # reverse of a BINARY: its bytes in reverse order (DuckDB's reverse reads text)
    "CREATE MACRO sg_reverse_bytes(b) AS unhex(array_to_string(list_reverse("
    "regexp_extract_all(hex(b), '..')), ''))",
    # bin(x): the two's-complement bits of x as a BIGINT (a fraction is dropped)
    "CREATE MACRO sg_bin(x) AS bin(CAST(trunc(x) AS BIGINT))",
)

# Spark widens TINYINT, SMALLINT and an untyped NULL to INT
_WIDTHS = {T.TINYINT: 32, T.SMALLINT: 32, T.INT: 32, T.NULL: 32, T.BIGINT: 64}
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _width(node: exp.Expr) -> int | None:
    typ = node.meta.get("spark_type")
    return _WIDTHS.get(typ.this) if typ is not None else None


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _shifts(tree: exp.Expr) -> exp.Expr:
    """``<<``, ``>>`` and ``>>>`` (shiftleft/shiftright/shiftrightunsigned) as Java's."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.BitwiseLeftShift | exp.BitwiseRightShift):
            width = _width(node.this)
            if width is None:
                return node
            kind = "shl" if isinstance(node, exp.BitwiseLeftShift) else "shr"
            return _call(f"sg_{kind}{width}", node.this, node.expression)
        if isinstance(node, exp.Anonymous) and str(node.name).lower() == "shiftrightunsigned":
            if len(node.expressions) != 2:
                raise Unsupported("[WRONG_NUM_ARGS] shiftrightunsigned takes 2 arguments. "
                                  "SQLSTATE: 42605")
            width = _width(node.expressions[0])
            if width is None:
                raise Unsupported("[UNSUPPORTED_FEATURE] shiftrightunsigned (>>>) needs an "
                                  "operand of a known INT or BIGINT type; CAST it. "
                                  "SQLSTATE: 0A000")
            return _call(f"sg_ushr{width}", *node.expressions)
        if isinstance(node, exp.Reverse) and (typ := spark_type(node.this)) is not None and (
                typ.this in (T.BINARY, T.VARBINARY, T.BLOB)):
            return _call("sg_reverse_bytes", node.this)
        if isinstance(node, exp.BitwiseCount):  # Java's Long.bitCount of the widened value
            node.set("this", exp.Cast(this=node.this, to=exp.DataType.build("BIGINT")))
            return node
        if isinstance(node, exp.Anonymous) and str(node.name).lower() == "bin":
            return _call("sg_bin", *node.expressions)
        if isinstance(node, exp.Anonymous) and str(node.name).lower() == "conv" and len(
                node.expressions) == 3:
            num, bases = node.expressions[0], node.expressions[1:]
            return _call("sg_conv", exp.Cast(this=num, to=exp.DataType.build("VARCHAR")),
                         *(exp.Cast(this=b, to=exp.DataType.build("INT")) for b in bases))
        return node

    return tree.transform(fix, copy=False)


def conv(num: str | None, from_base: int | None, to_base: int | None) -> str | None:
    """Spark's ``conv``: `num` read in `from_base` as an unsigned 64-bit number (a leading
    ``-`` negates it; reading stops at the first character that is not a digit of the
    base), written in ``abs(to_base)``, signed when `to_base` is negative.

    >>> conv('100', 2, 10), conv('-10', 16, -10), conv('ff', 16, 10), conv('-1', 10, 16)
    ('4', '-16', '255', 'FFFFFFFFFFFFFFFF')
    """
    if num is None or from_base is None or to_base is None:
        return None
    if not (2 <= from_base <= 36 and 2 <= abs(to_base) <= 36) or not num:
        return None
    negative = num.startswith("-")
    value = 0
    for ch in num[1:] if negative else num:
        digit = _DIGITS.find(ch.upper())
        if digit < 0 or digit >= from_base:
            break
        value = value * from_base + digit
        if value > _U64:
            raise ArithmeticError("[ARITHMETIC_OVERFLOW] Overflow in function conv(). "
                                  "SQLSTATE: 22003")
    if negative and to_base > 0:  # the negation, as an unsigned number
        value = _U64 if value >= 2**63 else (-value) & _U64
    if to_base < 0 and value >= 2**63:  # a signed result of a negative number
        value, negative = 2**64 - value, True
    text = ""
    base = abs(to_base)
    while True:
        value, digit = divmod(value, base)
        text = _DIGITS[digit] + text
        if value == 0:
            break
    return f"-{text}" if negative and to_base < 0 else text


def register(con: duckdb.DuckDBPyConnection) -> None:
    """``sg_conv``: `conv` as a DuckDB function (NULL in, NULL out)."""
    con.create_function("sg_conv", conv, [VARCHAR, INTEGER, INTEGER], VARCHAR,
                        null_handling=SPECIAL, side_effects=False)


NAMES: frozenset[str] = frozenset({"shiftrightunsigned", "conv"})
RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_shifts,)
