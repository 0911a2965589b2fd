"""Spark's DECIMAL types: precision and scale of decimal arithmetic, sum and avg, and the
sqlglot annotators that give each node Spark's type (engine.spark.annotation uses
`METADATA`; engine.spark.decimals rewrites by it).

Spark types ``1.5`` as DECIMAL(2,1) and derives the precision and scale of ``+ - * / %``,
``sum`` and ``avg`` over decimals by its own rules (Spark's ``DecimalPrecision``, with
``allowPrecisionLoss``: past 38 digits the scale shrinks, to no less than 6).

A decimal type is trusted only as Spark derives it (literals, casts, table columns and the
operations below): sqlglot gives other functions (``round``, ...) their argument's type or
a DOUBLE, which for a decimal is not Spark's; those are decimals of unknown precision.

>>> import sqlglot
>>> from engine.spark import annotation
>>> tree = annotation.annotate(sqlglot.parse_one("SELECT 1.5 * 2.25", read="databricks"))
>>> annotation.spark_type(tree.selects[0]).sql("databricks")
'DECIMAL(6, 3)'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.optimizer.annotate_types import TypeAnnotator

T = exp.DType
_TRUSTED = "spark_decimal"
_MAX = 38
_MIN_ADJUSTED_SCALE = 6
# Spark widens an integer operand of decimal arithmetic to the decimal of its range
INTEGRAL = {T.TINYINT: 3, T.SMALLINT: 5, T.INT: 10, T.BIGINT: 20}
_REAL = {T.FLOAT, T.DOUBLE}


def decimal(p: int, s: int) -> exp.DataType:
    """A DECIMAL(p, s) type marked as derived by Spark's rules."""
    typ = exp.DataType.build(f"DECIMAL({p}, {s})")
    typ.meta[_TRUSTED] = True
    return typ


def params(typ: exp.DataType | None) -> tuple[int, int] | None:
    """(precision, scale) of a trusted DECIMAL, or the decimal range of an integer type."""
    if typ is None:
        return None
    if typ.this in INTEGRAL:
        return INTEGRAL[typ.this], 0
    if typ.this != T.DECIMAL or not typ.meta.get(_TRUSTED):
        return None
    values = [p.this.name for p in typ.expressions if isinstance(p, exp.DataTypeParam)]
    if len(values) != 2 or not all(v.isdigit() for v in values):
        return None
    return int(values[0]), int(values[1])


def _operand(node: exp.Expr) -> tuple[int, int] | None:
    """An operand's decimal form: an integer literal is a DECIMAL of its digits in Spark."""
    inner = node.this if isinstance(node, exp.Neg | exp.Paren) else node
    if isinstance(inner, exp.Literal) and inner.is_int:
        return max(len(inner.this.lstrip("-").lstrip("0")), 1), 0
    return params(node.type)


def _adjust(p: int, s: int) -> tuple[int, int]:
    """Spark's DecimalType.adjustPrecisionScale: keep the integral digits, shrink the scale."""
    if p <= _MAX:
        return p, s
    whole = p - s
    return _MAX, max(_MAX - whole, min(s, _MIN_ADJUSTED_SCALE))


def result(node: exp.Expr, left: tuple[int, int], right: tuple[int, int]) -> tuple[int, int]:
    """Spark's (precision, scale) of a decimal ``+ - * / %``."""
    (p1, s1), (p2, s2) = left, right
    if isinstance(node, exp.Add | exp.Sub):
        scale = max(s1, s2)
        return _adjust(max(p1 - s1, p2 - s2) + scale + 1, scale)
    if isinstance(node, exp.Mul):
        return _adjust(p1 + p2 + 1, s1 + s2)
    if isinstance(node, exp.Div):
        scale = max(_MIN_ADJUSTED_SCALE, s1 + p2 + 1)
        return _adjust(p1 - s1 + s2 + scale, scale)
    scale = max(s1, s2)  # exp.Mod
    return _adjust(min(p1 - s1, p2 - s2) + scale, scale)


# -- the annotation ----------------------------------------------------------------

Annotator = Callable[[Any, exp.Expr], Any]
_BASE: dict[type[exp.Expr], dict[str, Any]] = dict(
    Dialect.get_or_raise("databricks").EXPRESSION_METADATA)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)


def _default(cls: type[exp.Expr]) -> Annotator:
    spec = _BASE.get(cls) or {}
    annotator = spec.get("annotator")
    if annotator is not None:
        return annotator
    if "returns" in spec:
        return lambda self, e: self._set_type(e, spec["returns"])
    return lambda self, e: self._annotate_binary(e)


def _arithmetic(cls: type[exp.Expr]) -> Annotator:
    base = _default(cls)

    def annotate(self: Any, e: exp.Expr) -> Any:
        base(self, e)
        left, right = e.args.get("this"), e.args.get("expression")
        if left is None or right is None:
            return e
        types = (left.type, right.type)
        if not any(t is not None and t.this == T.DECIMAL for t in types):
            return e
        if any(t is not None and t.this in _REAL for t in types):
            self._set_type(e, T.DOUBLE)
            return e
        lp, rp = _operand(left), _operand(right)
        if lp is None or rp is None:
            self._set_type(e, exp.DataType.build("DECIMAL"))  # a decimal of unknown scale
        else:
            self._set_type(e, decimal(*result(e, lp, rp)))
        return e

    return annotate


def _literal(self: Any, e: exp.Expr) -> Any:
    """``1.5`` is DECIMAL(2,1) in Spark; an integer literal past INT is a BIGINT."""
    _default(exp.Literal)(self, e)
    assert isinstance(e, exp.Literal)
    text = e.this.lstrip("-")
    if e.is_string or not text:
        return e
    if e.is_int:
        value = int(text)
        if value > 2**63 - 1:
            self._set_type(e, decimal(len(text.lstrip("0")), 0))
        elif value > 2**31 - 1:
            self._set_type(e, T.BIGINT)
    elif not any(c in text for c in "eE"):
        whole, _, fraction = text.partition(".")
        digits = (whole + fraction).lstrip("0") or "0"
        self._set_type(e, decimal(max(len(digits), len(fraction), 1), len(fraction)))
    return e


def _sum(self: Any, e: exp.Expr) -> Any:
    """sum: BIGINT of integers, DECIMAL(p + 10, s) of DECIMAL(p, s)."""
    _default(exp.Sum)(self, e)
    arg = argument(e)
    typ = arg.type if arg is not None else None
    if typ is not None and typ.this in INTEGRAL:
        self._set_type(e, T.BIGINT)
    elif (p := params(typ)) is not None:
        self._set_type(e, decimal(min(_MAX, p[0] + 10), p[1]))
    return e


def _avg(self: Any, e: exp.Expr) -> Any:
    """avg: DECIMAL(p + 4, s + 4) of DECIMAL(p, s), else a DOUBLE."""
    _default(exp.Avg)(self, e)
    arg = argument(e)
    typ = arg.type if arg is not None else None
    if typ is not None and typ.this == T.DECIMAL:
        p = params(typ)
        self._set_type(e, exp.DataType.build("DECIMAL") if p is None else decimal(
            min(_MAX, p[0] + 4), min(_MAX, p[1] + 4)))
    elif typ is not None and typ.this in INTEGRAL:
        self._set_type(e, T.DOUBLE)
    return e


def argument(e: exp.Expr) -> exp.Expr | None:
    arg = e.this
    if isinstance(arg, exp.Distinct) and len(arg.expressions) == 1:
        return arg.expressions[0]
    return arg


def _branches(*keys: str) -> Callable[[type[exp.Expr]], Annotator]:
    """CASE / IF / COALESCE over decimals: Spark widens to the widest range and scale."""

    def make(cls: type[exp.Expr]) -> Annotator:
        base = _default(cls)

        def annotate(self: Any, e: exp.Expr) -> Any:
            base(self, e)
            values: list[exp.Expr] = []
            for key in keys:
                if key == "ifs":
                    values += [i.args.get("true") for i in e.args.get("ifs") or []]
                else:
                    arg = e.args.get(key)
                    values += arg if isinstance(arg, list) else [arg] if arg else []
            types = [v.type for v in values if v is not None and v.type is not None
                     and v.type.this not in (T.NULL, T.UNKNOWN)]
            if not any(t.this == T.DECIMAL for t in types):
                return e
            widths = [params(t) for t in types]
            if any(w is None for w in widths):
                if not any(t.this in _REAL for t in types):
                    self._set_type(e, exp.DataType.build("DECIMAL"))
                return e
            known = [w for w in widths if w is not None]
            scale = max(s for _, s in known)
            whole = max(p - s for p, s in known)
            self._set_type(e, decimal(*_adjust(whole + scale, scale)))
            return e

        return annotate

    return make


# Nodes whose type is their operand's: a trusted decimal stays trusted through them
_KEEPS = (exp.Alias, exp.Paren, exp.Neg, exp.Window, exp.Min, exp.Max, exp.Subquery,
          exp.Filter, exp.Distinct, exp.Column, exp.Cast, exp.TryCast, exp.DataType)


def _untrusting(cls: type[exp.Expr], annotator: Annotator) -> Annotator:
    """Other functions (round, ...) got their decimal type from sqlglot, not Spark."""
    if issubclass(cls, _KEEPS):
        return annotator

    def annotate(self: Any, e: exp.Expr) -> Any:
        annotator(self, e)
        if e.type is not None and e.type.meta.get(_TRUSTED):
            self._set_type(e, e.type.copy())
            e.type.meta.pop(_TRUSTED, None)
        return e

    return annotate


def _keeping(cls: type[exp.Expr]) -> Annotator:
    """round, abs, floor, ceil, greatest, least keep a DECIMAL argument a DECIMAL in Spark
    (sqlglot: a DOUBLE, or the argument's precision): one of unknown precision here."""
    base = _untrusting(cls, _default(cls))

    def annotate(self: Any, e: exp.Expr) -> Any:
        base(self, e)
        first = e.this
        if isinstance(first, exp.Expr) and first.type is not None and (
                first.type.this == T.DECIMAL):
            known = _kept(e, params(first.type))
            self._set_type(e, exp.DataType.build("DECIMAL") if known is None
                           else decimal(*known))
        return e

    return annotate


def _kept(e: exp.Expr, source: tuple[int, int] | None) -> tuple[int, int] | None:
    """Spark's type of round/floor/ceil/abs of a DECIMAL(p, s), where this module knows it:
    abs keeps it, floor/ceil are DECIMAL(p - s + 1, 0), round(x, d) for 0 <= d <= s is
    DECIMAL(p - s + 1 + d, d) (DuckDB gives the same scales)."""
    if source is None:
        return None
    p, s = source
    if isinstance(e, exp.Abs):
        return p, s
    if isinstance(e, exp.Floor | exp.Ceil) and e.args.get("decimals") is None:
        return min(_MAX, p - s + 1), 0
    if isinstance(e, exp.Round):
        digits = e.args.get("decimals")
        d = 0 if digits is None else int(digits.this) if (
            isinstance(digits, exp.Literal) and digits.is_int) else -1
        if d >= 0:
            scale = min(d, s)
            return min(_MAX, p - s + 1 + scale), scale
    return None


def _cast(self: Any, e: exp.Expr) -> Any:
    _default(type(e))(self, e)
    if e.type is not None and e.type.this == T.DECIMAL:
        e.type.meta[_TRUSTED] = True  # the cast names the type
    return e


def _metadata() -> dict[type[exp.Expr], dict[str, Any]]:
    out = {cls: {"annotator": _untrusting(cls, _default(cls))} for cls in _BASE}
    overrides: dict[type[exp.Expr], Annotator] = {
        **{cls: _arithmetic(cls) for cls in _ARITHMETIC},
        exp.Literal: _literal, exp.Sum: _sum, exp.Avg: _avg, exp.Cast: _cast, exp.TryCast: _cast,
        exp.Case: _branches("ifs", "default")(exp.Case),
        exp.If: _branches("true", "false")(exp.If),
        exp.Coalesce: _branches("this", "expressions")(exp.Coalesce),
    }
    overrides.update({cls: _keeping(cls) for cls in (
        exp.Round, exp.Abs, exp.Floor, exp.Ceil, exp.Greatest, exp.Least)})
    out.update({cls: {"annotator": fn} for cls, fn in overrides.items()})
    return out


METADATA = _metadata()


class SparkAnnotator(TypeAnnotator):
    """sqlglot's annotator with Spark's widening of decimals across UNION branches and
    VALUES rows (sqlglot keeps the first branch's DECIMAL(p, s))."""

    def _maybe_coerce(self, type1: exp.DataType | exp.DType,
                      type2: exp.DataType | exp.DType) -> exp.DataType | exp.DType:
        kinds = [t.this if isinstance(t, exp.DataType) else t for t in (type1, type2)]
        if T.DECIMAL not in kinds or T.NULL in kinds or T.UNKNOWN in kinds:
            return super()._maybe_coerce(type1, type2)
        types = [t if isinstance(t, exp.DataType) else exp.DataType.build(t)
                 for t in (type1, type2)]
        if any(t.this in _REAL for t in types):
            return T.DOUBLE
        widths = [params(t) for t in types]
        if widths[0] is None or widths[1] is None:
            return exp.DataType.build("DECIMAL")  # of unknown precision
        scale = max(widths[0][1], widths[1][1])
        whole = max(widths[0][0] - widths[0][1], widths[1][0] - widths[1][1])
        return decimal(*_adjust(whole + scale, scale))

__all__ = ["INTEGRAL", "METADATA", "SparkAnnotator", "argument", "decimal", "params", "result"]
