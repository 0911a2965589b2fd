"""Spark's DECIMAL arithmetic on DuckDB: rules that compute what engine.spark.precision
types.

DuckDB gives a DOUBLE for a decimal quotient and for ``avg``, a HUGEINT for ``sum`` of
integers, and its own scale past 38 digits. The rules rewrite:

- DECIMAL / DECIMAL (or an integer): the exact quotient rounded half up at Spark's scale,
  computed on the unscaled HUGEINT values (a value past 38 digits raises, as in Spark);
  ``try_divide`` the same with NULL for a zero divisor; ``div`` the integral part, a BIGINT
  (DuckDB: a DOUBLE);
- ``avg`` of a DECIMAL: the exact mean at scale s + 4;
- ``sum`` of integers: a BIGINT (DuckDB's HUGEINT, cast back: overflow raises);
- ``*``, ``+``, ``-`` whose Spark scale differs from DuckDB's: cast to Spark's type.

A quotient or mean of a decimal of unknown precision is refused.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from engine.errors import Unsupported
from engine.spark.precision import INTEGRAL, argument, params, result

T = exp.DType
_MAX = 38


# -- the rules ---------------------------------------------------------------------


def _spark(node: exp.Expr | None) -> exp.DataType | None:
    # the annotation's meta key (engine.spark.annotation, which imports this module)
    return node.meta.get("spark_type") if node is not None else None


def _ten(power: int) -> exp.Expr:
    return exp.Cast(this=exp.Literal.string(str(10 ** power)),
                    to=exp.DataType.build("HUGEINT", dialect="duckdb"))


def _unscaled(node: exp.Expr, scale: int) -> exp.Expr:
    """The HUGEINT of a decimal's digits: 1.25 at scale 2 is 125.

    Whole and fraction apart: scaling the value itself up would overflow DuckDB's
    DECIMAL(38) for values of more than 38 - scale digits.
    """
    hugeint = exp.DataType.build("HUGEINT", dialect="duckdb")
    if scale == 0:
        return exp.Cast(this=node, to=hugeint)
    whole = exp.Anonymous(this="trunc", expressions=[node])
    fraction = exp.Mul(this=exp.Paren(this=exp.Sub(this=node.copy(), expression=whole.copy())),
                       expression=_ten(scale))
    return exp.Paren(this=exp.Add(
        this=exp.Mul(this=exp.Cast(this=whole, to=hugeint), expression=_ten(scale)),
        expression=exp.Cast(this=fraction, to=hugeint.copy())))


def quotient(left: exp.Expr, lp: tuple[int, int], right: exp.Expr, rp: tuple[int, int],
             target: tuple[int, int], divisor: str = "sg_divisor") -> exp.Expr:
    """The exact ``left / right`` as DECIMAL(target), rounded half up (Java's HALF_UP).

    With n and d the unscaled operands, the digits of the quotient at scale S are
    n * 10^(S - s1 + s2) / d; the macro rounds the HUGEINT division.
    """
    (_, s1), (_, s2), (p, s) = lp, rp, target
    shift = s - s1 + s2
    n, d = _unscaled(left, s1), _unscaled(right, s2)
    if shift > 0:
        n = exp.Mul(this=n, expression=_ten(shift))
    elif shift < 0:
        d = exp.Mul(this=d, expression=_ten(-shift))
    digits = exp.Anonymous(this="sg_decimal_quotient", expressions=[
        n, exp.Anonymous(this=divisor, expressions=[d])])
    value: exp.Expr = exp.Cast(this=digits, to=exp.DataType.build("DECIMAL(38, 0)"))
    if s:
        # DECIMAL(38,0) * 0.0..1 keeps the digits and sets the scale (no rounding)
        value = exp.Mul(this=value, expression=exp.Literal.number(f"0.{'0' * (s - 1)}1"))
    return exp.Cast(this=value, to=exp.DataType.build(f"DECIMAL({p}, {s})"))


def _refuse(node: exp.Expr) -> Unsupported:
    return Unsupported("[UNSUPPORTED_FEATURE] the DECIMAL division "
                       f"`{node.sql('databricks')}` has an operand whose precision is not "
                       "known, so its scale cannot be Spark's. Cast the operands to a "
                       "DECIMAL(p,s) or DOUBLE. SQLSTATE: 0A000")


def _division(tree: exp.Expr) -> exp.Expr:
    """DECIMAL / DECIMAL: Spark's exact quotient at Spark's precision and scale;
    ``try_divide`` the same with NULL for a zero divisor; ``div`` its integral part."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.SafeDivide | exp.IntDiv):
            return _other_division(node)
        if not isinstance(node, exp.Div):
            return node
        typ = _spark(node)
        if typ is None or typ.this != T.DECIMAL:
            return node
        target = params(typ)
        lp, rp = _operand_of(node.this), _operand_of(node.expression)
        if target is None or lp is None or rp is None:
            raise _refuse(node)
        return quotient(node.this, lp, node.expression, rp, target)

    return tree.transform(fix, copy=False)


def _other_division(node: exp.SafeDivide | exp.IntDiv) -> exp.Expr:
    left, right = node.this, node.expression
    types = (_spark(left), _spark(right))
    if not any(t is not None and t.this == T.DECIMAL for t in types):
        return node
    lp, rp = _operand_of(left), _operand_of(right)
    if lp is None or rp is None:
        if any(t is not None and t.this in (T.FLOAT, T.DOUBLE) for t in types):
            return node  # a DOUBLE quotient, as DuckDB's
        raise _refuse(node)
    if isinstance(node, exp.SafeDivide):
        target = result(exp.Div(), lp, rp)
        return quotient(left, lp, exp.Nullif(this=right, expression=exp.Literal.number(0)),
                        rp, target, divisor="sg_nonzero")
    # div: both at the larger scale, then HUGEINT division truncates toward zero as Spark's
    scale = max(lp[1], rp[1])
    n, d = _unscaled(left, lp[1]), _unscaled(right, rp[1])
    if scale > lp[1]:
        n = exp.Mul(this=n, expression=_ten(scale - lp[1]))
    if scale > rp[1]:
        d = exp.Mul(this=d, expression=_ten(scale - rp[1]))
    whole = exp.IntDiv(this=n, expression=exp.Anonymous(this="sg_divisor", expressions=[d]))
    return exp.Cast(this=whole, to=exp.DataType.build("BIGINT"))


def _operand_of(node: exp.Expr) -> tuple[int, int] | None:
    inner = node.this if isinstance(node, exp.Neg | exp.Paren) else node
    if isinstance(inner, exp.Literal) and inner.is_int:
        return max(len(inner.this.lstrip("-").lstrip("0")), 1), 0
    return params(_spark(node))


def _scales(tree: exp.Expr) -> exp.Expr:
    """``*``, ``+``, ``-`` of decimals past 38 digits: Spark shrinks the scale (DuckDB keeps
    it, so its digits would print differently): cast to Spark's type."""

    def fix(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Mul | exp.Add | exp.Sub):
            return node
        typ = _spark(node)
        if typ is None or typ.this != T.DECIMAL:
            return node
        target = params(typ)
        lp, rp = _operand_of(node.this), _operand_of(node.expression)
        if target is None or lp is None or rp is None:
            return node
        duck = lp[1] + rp[1] if isinstance(node, exp.Mul) else max(lp[1], rp[1])
        if duck == target[1]:
            return node
        return exp.Cast(this=node, to=exp.DataType.build(f"DECIMAL({target[0]}, {target[1]})"))

    return tree.transform(fix, copy=False)


def _aggregates(tree: exp.Expr) -> exp.Expr:
    """``sum`` of integers is a BIGINT; ``avg`` of a DECIMAL(p, s) the exact mean at s + 4.
    Inside OVER, FILTER or DISTINCT too: the wrapper is kept around each part."""
    # innermost first: an aggregate inside another's window is rewritten before it is copied
    for node in reversed(list(tree.find_all(exp.Sum, exp.Avg))):
        arg = argument(node)
        typ = _spark(arg) if arg is not None else None
        top: exp.Expr = node
        while isinstance(top.parent, exp.Window | exp.Filter) and top.parent.this is top:
            top = top.parent
        if isinstance(node, exp.Sum):
            if typ is not None and typ.this in INTEGRAL:
                cast = exp.Cast(this=exp.null(), to=exp.DataType.build("BIGINT"))
                top.replace(cast)
                cast.set("this", top)
            continue
        if typ is None or typ.this != T.DECIMAL:
            continue
        source, target = params(typ), params(_spark(node))
        if source is None or target is None:
            raise Unsupported("[UNSUPPORTED_FEATURE] avg of a DECIMAL whose precision is not "
                              f"known: `{node.sql('databricks')}`. Cast its argument to a "
                              "DECIMAL(p,s) or DOUBLE. SQLSTATE: 0A000")
        total, count = _wrapped(top, node, exp.Sum), _wrapped(top, node, exp.Count)
        mean = quotient(total, (min(_MAX, source[0] + 10), source[1]),
                        exp.Nullif(this=count, expression=exp.Literal.number(0)), (20, 0),
                        target, divisor="sg_nonzero")
        top.replace(mean)
    return tree


def _wrapped(top: exp.Expr, node: exp.Expr, cls: type[exp.Func]) -> exp.Expr:
    """A copy of `top` (the aggregate with its OVER/FILTER) with `node` made a `cls` call."""
    copy = top.copy()
    inner = copy
    while inner is not None and not isinstance(inner, exp.Avg):
        inner = inner.this
    assert inner is not None
    replacement = cls(this=inner.this.copy())
    if inner is copy:
        return replacement
    inner.replace(replacement)
    return copy


MACROS: tuple[str, ...] = (
    # the HUGEINT quotient n / d rounded half away from zero (Java's HALF_UP)
    "CREATE MACRO sg_decimal_quotient(n, d) AS (n // d) + CASE WHEN 2 * abs(n % d) >= abs(d) "
    "THEN sign(n) * sign(d) ELSE 0 END",
    # avg of no rows: the count is NULL (NULLIF), and so is the mean
    "CREATE MACRO sg_nonzero(d) AS d",
)

RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_aggregates, _division, _scales)

__all__ = ["MACROS", "RULES", "quotient"]
