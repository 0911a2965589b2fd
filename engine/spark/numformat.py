"""Spark's number format patterns: the language of ``to_number``, ``try_to_number`` and
``to_char``/``to_varchar`` of numbers (``'999'``, ``'$99,999.99S'``, ``'0000PR'``).

The grammar and its edge cases follow Spark's ToNumberParser (read, reimplemented here):
``0``/``9`` digits, ``.``/``D`` the decimal point, ``,``/``G`` a thousands separator, ``$``,
``S`` (an optional sign), ``MI`` (an optional minus) and ``PR`` (negative in angle brackets).
The format is upper-cased first; a format Spark rejects is rejected with Spark's
``INVALID_FORMAT`` error class when the statement is translated.

>>> fmt = NumberFormat("99G999D9S")
>>> fmt.precision, fmt.scale
(6, 1)
>>> fmt.parse("12,454.8-")
Decimal('-12454.8')
>>> fmt.format(Decimal("-12454.8"))
'12,454.8-'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from engine.errors import AnalysisError, InvalidParameter


@dataclass(frozen=True)
class _Digits:
    count: int
    exact: bool  # a run starting with 0 before the point: exactly that many digits


@dataclass(frozen=True)
class _Group:
    """Digit runs and thousands separators between two other tokens, left to right."""

    items: tuple[_Digits | str, ...]

    @property
    def runs(self) -> list[_Digits]:
        return [i for i in self.items if isinstance(i, _Digits)]


_Token = _Group | str  # str: ".", "$", "S", "MI", "<", ">" or "?x" (an unknown character)
# the order Spark allows: [PR] [MI|S] [$] digits [.] digits [$] [PR|MI|S]
_SLOTS: tuple[frozenset[str], ...] = (
    frozenset({"<"}), frozenset({"MI", "S"}), frozenset({"$"}), frozenset({"digits"}),
    frozenset({"."}), frozenset({"digits"}), frozenset({"$"}), frozenset({"MI", "S", ">"}),
)


def _invalid(sub: str, text: str) -> AnalysisError:
    return AnalysisError(f"[INVALID_FORMAT.{sub}] The format is invalid: '{text}'. "
                         "SQLSTATE: 42601", sql_state="42601")


@dataclass
class NumberFormat:
    """One validated format: its tokens, and the DECIMAL(precision, scale) it reads."""

    text: str
    tokens: list[_Token] = field(init=False)
    precision: int = field(init=False)
    scale: int = field(init=False)

    def __post_init__(self) -> None:
        self.text = self.text.upper()
        self.tokens = _group(_scan(self.text))
        point = self.tokens.index(".") if "." in self.tokens else len(self.tokens)
        digits = [sum(r.count for r in t.runs) if isinstance(t, _Group) else 0
                  for t in self.tokens]
        self.precision = sum(digits)
        self.scale = sum(digits[point:])
        self._validate()

    def _validate(self) -> None:
        tokens, text = self.tokens, self.text
        if not text:
            raise _invalid("EMPTY", text)
        kinds = ["digits" if isinstance(t, _Group) else t for t in tokens]
        if "digits" not in kinds:
            raise _invalid("WRONG_NUM_DIGIT", text)
        first_digit = kinds.index("digits")
        dollar = kinds.index("$") if "$" in kinds else -1
        point = kinds.index(".") if "." in kinds else -1
        if first_digit < dollar:
            raise _invalid("CUR_MUST_BEFORE_DIGIT", text)
        if point != -1 and point < dollar:
            raise _invalid("CUR_MUST_BEFORE_DEC", text)
        for i, token in enumerate(tokens):
            if not isinstance(token, _Group):
                continue
            items = token.items
            if point == -1 or i < point:
                for j, item in enumerate(items):
                    if item == "," and (j in (0, len(items) - 1) or items[j - 1] == ","
                                        or items[j + 1] == ","):
                        raise _invalid("CONT_THOUSANDS_SEPS", text)
            elif "," in items:
                raise _invalid("THOUSANDS_SEPS_MUST_BEFORE_DEC", text)
        for once in (".", "S", "MI", "$", ">"):
            if kinds.count(once) > 1:
                raise _invalid("WRONG_NUM_TOKEN", text)
        at = 0
        for slot in _SLOTS:
            if at < len(kinds) and kinds[at] in slot:
                at += 1
        if at < len(kinds):
            raise _invalid("UNEXPECTED_TOKEN", text)
        if self.precision > 38:
            raise AnalysisError(f"[DECIMAL_PRECISION_EXCEEDS_MAX_PRECISION] The format '{text}' "
                                "has more than 38 digits. SQLSTATE: 22003", sql_state="22003")

    def parse(self, text: str) -> Decimal | None:
        """The number `text` spells in this format, or None when it does not match."""
        before: list[str] = []
        after: list[str] = []
        at, in_fraction, negative, opened, closed = 0, False, False, False, False
        for token in self.tokens:
            char = text[at] if at < len(text) else None
            if isinstance(token, _Group):
                end = _read_group(token, text, at, after if in_fraction else before)
                if end is None:
                    return None
                at = end
            elif token == "." and char == ".":
                in_fraction, at = True, at + 1
            elif token == "$" and char is not None:
                if char != "$":
                    return None
                at += 1
            elif token in ("S", "MI") and char is not None and char in "+-":
                if char == "+" and token == "MI":
                    continue
                negative, at = negative ^ (char == "-"), at + 1
            elif token == "<" and char == "<":
                if opened:
                    return None
                opened, at = True, at + 1
            elif token == ">" and char == ">":
                if not opened:
                    return None
                closed, negative, at = True, not negative, at + 1
        if at < len(text) or opened != closed or not (before or after):
            return None
        fraction = "".join(after).ljust(self.scale, "0")
        digits = "".join(before) or "0"
        value = Decimal(f"{'-' if negative else ''}{digits}{'.' + fraction if fraction else ''}")
        return value if value else abs(value)

    def format(self, value: Decimal) -> str:
        """`value` printed in this format: ``#`` for every digit when it does not fit."""
        whole, _, fraction = format(abs(value), "f").partition(".")
        whole, fraction = whole.lstrip("0"), fraction.rstrip("0")
        point = self.tokens.index(".") if "." in self.tokens else len(self.tokens)
        width = sum(r.count for t in self.tokens[:point] if isinstance(t, _Group)
                    for r in t.runs)
        scale = self.scale
        if len(whole) > width or len(fraction) > scale:
            whole, fraction = "#" * width, "#" * scale
        whole, fraction = whole.rjust(width), fraction.ljust(scale, "0")
        negative = value < 0
        out: list[str] = []
        at_whole = at_fraction = 0
        past_point = False
        for token in self.tokens:
            if isinstance(token, _Group):
                for item in token.items:
                    if item == ",":
                        if out and out[-1].isdigit():
                            out.append(",")
                        else:
                            _add_space(out)
                        continue
                    assert isinstance(item, _Digits)
                    for _ in range(item.count):
                        if past_point:
                            out.append(fraction[at_fraction])
                            at_fraction += 1
                            continue
                        char = whole[at_whole]
                        at_whole += 1
                        if char == " " and item.exact:
                            out.append("0")
                        elif char == " ":
                            _add_space(out)
                        else:
                            out.append(char)
            elif token == ".":
                if out and out[-1] == " ":
                    out[-1] = "0"
                out.append(".")
                past_point = True
            elif token == "$":
                out.append("$")
            elif token == "S":
                _strip_lone_point(out)
                _add_char(out, "-" if negative else "+")
            elif token == "MI":
                if negative:
                    _strip_lone_point(out)
                    _add_char(out, "-")
                else:
                    out.append(" ")
            elif token == "<":
                if negative:
                    out.append("<")
            elif token == ">":
                _strip_lone_point(out)
                if negative:
                    _add_char(out, ">")
                else:
                    out.extend("  ")
        _strip_lone_point(out)
        result = "".join(out)
        return "0" if result in ("", "+", "-") else result


def _scan(text: str) -> list[_Digits | str]:
    """The format's characters as tokens (PR's brackets moved to both ends)."""
    tokens: list[_Digits | str] = []
    i, past_point, brackets = 0, False, False
    while i < len(text):
        char = text[i]
        if char in "09":
            start = i
            while i < len(text) and text[i] in "09":
                i += 1
            tokens.append(_Digits(i - start, char == "0" and not past_point))
            continue
        if char in ".D":
            tokens.append(".")
            past_point = True
        elif char in ",G":
            tokens.append(",")
        elif char in "$S":
            tokens.append(char)
        elif text.startswith("MI", i):
            tokens.append("MI")
            i += 1
        elif text.startswith("PR", i):
            tokens.append(">")
            brackets = True
            i += 1
        else:
            tokens.append("?" + char)
        i += 1
    return ["<", *tokens] if brackets else tokens


def _group(tokens: list[_Digits | str]) -> list[_Token]:
    """Consecutive digit runs and separators become one `_Group`."""
    out: list[_Token] = []
    current: list[_Digits | str] = []
    for token in tokens:
        if isinstance(token, _Digits) or token == ",":
            current.append(token)
            continue
        if current:
            out.append(_Group(tuple(current)))
            current = []
        out.append(token)
    if current:
        out.append(_Group(tuple(current)))
    return out


def _read_group(group: _Group, text: str, at: int, digits: list[str]) -> int | None:
    """Read digits, separators and blanks from `at`; the groups' sizes, right to left, must
    fit the runs of the format (exact runs exactly). The new position, or None."""
    sizes: list[int] = []
    count = 0
    while at < len(text):
        char = text[at]
        if char.isspace():
            pass
        elif char.isdigit():
            count += 1
            digits.append(char)
        elif char == ",":
            sizes.append(count)
            count = 0
        else:
            break
        at += 1
    sizes.append(count)
    sizes.reverse()
    runs = list(reversed(group.runs))
    if len(sizes) > len(runs):
        return None
    for i, run in enumerate(runs):
        size = sizes[i] if i < len(sizes) else 0
        if (run.exact and size != run.count) or size > run.count:
            return None
    return at


def _add_char(out: list[str], char: str) -> None:
    """Append a sign, moved left past the blanks of unused digits (``'  -5'``)."""
    out.append(char)
    i = len(out) - 1
    while i >= 1 and out[i - 1] == " " and out[i] == char:
        out[i], out[i - 1] = " ", char
        i -= 1


def _add_space(out: list[str]) -> None:
    """Append the blank of an unused digit, before any sign already written."""
    out.append(" ")
    i = len(out) - 1
    while i >= 1 and out[i - 1] in "+-<" and out[i] == " ":
        out[i], out[i - 1] = out[i - 1], " "
        i -= 1


def _strip_lone_point(out: list[str]) -> None:
    if "." in out:
        i = out.index(".")
        if i == len(out) - 1 or out[i + 1] == " ":
            out[i] = " "


def mismatch(text: str, fmt: str) -> InvalidParameter:
    """Spark's error for an input that does not match the format."""
    return InvalidParameter(f"[INVALID_FORMAT.MISMATCH_INPUT] The format is invalid: {fmt}. The "
                            f"input \"STRING\" {text} does not match the format. SQLSTATE: 42601",
                            sql_state="42601")


__all__ = ["NumberFormat", "mismatch"]
