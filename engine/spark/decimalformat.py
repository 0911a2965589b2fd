"""Java's DecimalFormat, the part ``format_number`` reaches: Spark formats with it.

``format_number(x, d)`` is the pattern ``#,###,###,###,###,###,##0.000`` (``d`` zeros) and
``format_number(x, 'pattern')`` the user's pattern, both rounding HALF_EVEN. Patterns are
read as DecimalFormat reads them (``#``, ``0``, ``,``, ``.``, literal prefix and suffix);
what this module does not implement (``%``, ``‰``, ``¤``, quotes, exponents, a ``;``
negative subpattern) is refused with an error naming it, never printed differently.

Doubles are printed from their shortest decimal digits, as Java does, with ties decided by
the double's exact binary value (JDK 8's DigitList rule). Java 17 prints a few doubles with
more digits than the shortest (1e23 as 9.999999999999999E22): a double whose printed form
would show more than 15 significant digits is refused rather than risk such a digit.

>>> Pattern.of_decimals(2).format(Decimal("1234567.891"))
'1,234,567.89'
>>> Pattern("#,##").format(Decimal(12345))
'1,23,45'
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Context, Decimal

from engine.errors import InvalidParameter, Unsupported

_NUMBER = "#0,."
_UNSUPPORTED = "%\u2030\u00a4';E-"
# doubles: past 15 significant digits Java 17's digits may differ from the shortest ones
_DOUBLE_DIGITS = 15
# enough digits for any double's integer part and the fraction a pattern asks for
_CONTEXT = Context(prec=1000, rounding=ROUND_HALF_EVEN, Emax=10**6, Emin=-10**6)


class Pattern:
    """One DecimalFormat pattern: prefix, suffix, integer/fraction digit counts, grouping."""

    def __init__(self, text: str) -> None:
        start = next((i for i, c in enumerate(text) if c in _NUMBER), len(text))
        end = start
        while end < len(text) and text[end] in _NUMBER:
            end += 1
        self.prefix, number, self.suffix = text[:start], text[start:end], text[end:]
        bad = [c for c in self.prefix + self.suffix if c in _UNSUPPORTED or c in _NUMBER]
        if bad or ";" in text:
            raise Unsupported(f"[UNSUPPORTED_FEATURE] format_number pattern {text!r}: "
                              f"{(bad or [';'])[0]!r} is not supported by this warehouse. "
                              "SQLSTATE: 0A000")
        left = zeros = right = 0
        point = -1
        grouping = -1
        for char in number:
            if char == "#":
                if zeros:
                    right += 1
                else:
                    left += 1
            elif char == "0":
                if right:
                    raise _illegal(f"Unexpected '0' in pattern \"{text}\"")
                zeros += 1
            elif char == ",":
                if point >= 0:
                    raise _illegal(f"Grouping separator after decimal in pattern \"{text}\"")
                grouping = 0
                continue
            elif char == ".":
                if point >= 0:
                    raise _illegal(f"Multiple decimal separators in pattern \"{text}\"")
                point = left + zeros + right
                continue
            if grouping >= 0 and point < 0:
                grouping += 1
        if zeros == 0 and left > 0 and point >= 0:
            # DecimalFormat reads "#.##" as "#0.##" and ".##" as ".0#"
            n = point or 1
            right, left, zeros = left - n, n - 1, 1
        total = left + zeros + right
        at_point = point if point >= 0 else total
        self.min_int = at_point - left
        self.max_fraction = total - point if point >= 0 else 0
        self.min_fraction = left + zeros - point if point >= 0 else 0
        self.grouping = grouping if grouping > 0 else 0
        # format_number(x, d)'s own pattern: Python's "{:,.df}" prints it (HALF_EVEN)
        self.decimals: int | None = None

    @classmethod
    def of_decimals(cls, d: int) -> Pattern:
        """format_number(x, d)'s pattern."""
        pattern = cls("#,###,###,###,###,###,##0" + ("." + "0" * d if d > 0 else ""))
        pattern.decimals = d
        return pattern

    def format(self, value: Decimal, exact: Callable[[], Decimal] | None = None) -> str:
        """`value` rounded HALF_EVEN to the pattern; a tie is decided by `exact()` when given
        (a double's binary value behind its shortest digits `value`)."""
        if not value.is_finite():
            return "NaN" if value.is_nan() else ("-" if value < 0 else "") + "\u221e"
        negative = value.is_signed()
        tie = exact is not None and _tie(value, self.max_fraction)
        if self.decimals is not None:
            text = format(abs(exact() if tie and exact is not None else value),
                          f",.{self.decimals}f")
            return ("-" if negative else "") + text
        step = Decimal(1).scaleb(-self.max_fraction)
        source = exact() if tie and exact is not None else value
        rounded = abs(source).quantize(step, context=_CONTEXT)
        whole, _, fraction = format(rounded, "f").partition(".")
        whole = whole.lstrip("0")
        fraction = fraction.rstrip("0").ljust(self.min_fraction, "0")
        whole = whole.rjust(self.min_int, "0")
        if self.grouping and whole:
            size = self.grouping
            head = len(whole) % size or size
            whole = ",".join([whole[:head]] + [whole[i:i + size]
                                                for i in range(head, len(whole), size)])
        if not whole and not fraction:
            whole = "0"
        body = whole + ("." + fraction if fraction else "")
        return ("-" if negative else "") + self.prefix + body + self.suffix


def _tie(value: Decimal, places: int) -> bool:
    """Whether rounding `value` to `places` fraction digits is a tie (its digits end in a 5
    just past them)."""
    _, digits, exponent = value.as_tuple()
    return isinstance(exponent, int) and exponent == -(places + 1) and digits[-1] == 5


def _illegal(message: str) -> InvalidParameter:
    return InvalidParameter(f"[INVALID_PARAMETER_VALUE] format_number: {message}. "
                            "SQLSTATE: 22023")


def format_double(value: float, pattern: Pattern) -> str:
    """A double as DecimalFormat prints it: its shortest digits, ties by its exact value."""
    shortest = Decimal(repr(value))
    if shortest.is_finite() and shortest:
        shown = shortest.adjusted() + 1 + pattern.max_fraction
        if shown > _DOUBLE_DIGITS:
            raise Unsupported("[UNSUPPORTED_FEATURE] format_number of a DOUBLE with more than "
                              f"{_DOUBLE_DIGITS} significant digits shown is not supported by "
                              "this warehouse; cast it to DECIMAL first. SQLSTATE: 0A000")
    return pattern.format(shortest, (lambda: Decimal(value)) if shortest.is_finite() else None)


__all__ = ["Pattern", "format_double"]
