"""Spark string functions DuckDB lacks or answers differently: luhn_check, soundex,
levenshtein with a threshold, quote, split with a limit, regexp_substr, instr with an
occurrence, substring_index, collation, ascii of a number, concat_ws of a separator alone,
sentences of plain ASCII text.

The character-by-character ones are Python UDFs over Arrow batches (`register`), each
following Spark's definition (UTF8String's soundex, subStringIndex and split; the Luhn
algorithm over ASCII digits); the rest are plain SQL. ``sentences`` answers only text on
which Java's BreakIterator rules reduce to a simple reading (``'p.m.'``, ``'3.5'``, a period
before a lower-case word are refused).

>>> import sqlglot
>>> _rewrite(sqlglot.parse_one("SELECT regexp_substr(s, 'a+')", read="databricks")).sql("duckdb")
"SELECT NULLIF(REGEXP_EXTRACT(s, 'a+'), '')"
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa
from duckdb.func import ARROW, SPECIAL
from duckdb.sqltypes import BIGINT, BOOLEAN, INTEGER, VARCHAR, DuckDBPyType
from sqlglot import exp

from engine.errors import InvalidParameter, Unsupported
from engine.spark.annotation import spark_type

T = exp.DType


def _luhn(values: pa.Array) -> pa.Array:
    out: list[bool | None] = []
    for value in values.to_pylist():
        if value is None:
            out.append(None)
            continue
        if not value or any(c not in "0123456789" for c in value):
            out.append(False)
            continue
        total = 0
        for i, char in enumerate(reversed(value)):
            digit = int(char) * (2 if i % 2 else 1)
            total += digit - 9 if digit > 9 else digit
        out.append(total % 10 == 0)
    return pa.array(out, pa.bool_())


# American soundex codes of A..Z; 7 (H, W) is skipped without separating equal codes
_SOUNDEX = "01230127022455012623017202"


def _soundex_one(text: str) -> str:
    """Spark's soundex: the input unchanged unless it starts with an ASCII letter."""
    first = text[:1].upper()
    if not ("A" <= first <= "Z"):
        return text
    code, last = [first], _SOUNDEX[ord(first) - 65]
    for char in text[1:]:
        upper = char.upper() if char.isascii() else char
        if not ("A" <= upper <= "Z"):
            last = "0"
            continue
        digit = _SOUNDEX[ord(upper) - 65]
        if digit == "7":
            continue
        if digit not in ("0", last):
            code.append(digit)
            if len(code) == 4:
                break
        last = digit
    return "".join(code).ljust(4, "0")


def _soundex(values: pa.Array) -> pa.Array:
    return pa.array([None if v is None else _soundex_one(v) for v in values.to_pylist()],
                    pa.string())


def _split_one(text: str, pattern: str, limit: int) -> list[str]:
    """java.util.regex.Pattern.split with Spark's limit (<= 0: no limit, trailing empty
    strings kept); an empty pattern splits into characters."""
    if not pattern:
        if not text:
            return [""]
        count = len(text) if limit <= 0 or limit > len(text) else limit
        return [*text[:count - 1], text[count - 1:]]
    out: list[str] = []
    index = 0
    for match in re.finditer(pattern, text):
        if 0 < limit <= len(out) + 1:
            break
        if match.end() == 0:  # a zero-width match at the start makes no empty first part
            continue
        out.append(text[index:match.start()])
        index = match.end()
    out.append(text[index:])
    return out


def _split(values: pa.Array, patterns: pa.Array, limits: pa.Array) -> pa.Array:
    out: list[list[str] | None] = []
    for value, pattern, limit in zip(values.to_pylist(), patterns.to_pylist(),
                                     limits.to_pylist(), strict=True):
        if value is None or pattern is None or limit is None:
            out.append(None)
            continue
        try:
            out.append(_split_one(value, pattern, limit))
        except re.error as exc:
            raise InvalidParameter(f"[INVALID_PARAMETER_VALUE.PATTERN] split: invalid pattern "
                                   f"{pattern!r}: {exc}. SQLSTATE: 22023") from exc
    return pa.array(out, pa.list_(pa.string()))


def _instr_one(text: str, sub: str, pos: int, occurrence: int) -> int:
    """instr(str, substr, pos, occurrence): overlapping matches, counted from ``pos``
    forwards, or backwards from the end for a negative ``pos``; 1 for an empty substr."""
    if occurrence < 1:
        raise InvalidParameter(
            "[INVALID_PARAMETER_VALUE.OCCURRENCE] The value of parameter(s) `occurrence` in "
            f"`instr` is invalid: expects a positive integer, but got {occurrence}. "
            "SQLSTATE: 22023")
    if not sub:
        return 1
    if pos == 0:
        return 0
    if pos > 0:
        at = pos - 1
        for _ in range(occurrence):
            at = text.find(sub, at)
            if at < 0:
                return 0
            at += 1
        return at
    start = len(text) + pos
    for _ in range(occurrence):
        if start < 0:
            return 0
        start = text.rfind(sub, 0, start + len(sub))
        if start < 0:
            return 0
        start -= 1
    return start + 2


def _instr(texts: pa.Array, subs: pa.Array, positions: pa.Array,
           occurrences: pa.Array) -> pa.Array:
    out: list[int | None] = []
    for row in zip(texts.to_pylist(), subs.to_pylist(), positions.to_pylist(),
                   occurrences.to_pylist(), strict=True):
        out.append(None if None in row else _instr_one(*row))
    return pa.array(out, pa.int32())


def _substring_index_one(text: str, delim: str, count: int) -> str:
    """Spark's subStringIndex: before the count-th delimiter from the left (count > 0) or
    after the count-th from the right (count < 0); overlapping matches."""
    if not delim or count == 0:
        return ""
    if count > 0:
        at = -1
        for _ in range(count):
            at = text.find(delim, at + 1)
            if at < 0:
                return text
        return text[:at]
    at = len(text) - len(delim) + 1
    for _ in range(-count):
        at = text.rfind(delim, 0, at - 1 + len(delim)) if at > 0 else -1
        if at < 0:
            return text
    return text[at + len(delim):]


def _substring_index(texts: pa.Array, delims: pa.Array, counts: pa.Array) -> pa.Array:
    out: list[str | None] = []
    for row in zip(texts.to_pylist(), delims.to_pylist(), counts.to_pylist(), strict=True):
        out.append(None if None in row else _substring_index_one(*row))
    return pa.array(out, pa.string())


_SENTENCE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789 ,.!?")
_WORD = re.compile(r"[A-Za-z0-9]+|[.!?]")


def _sentences_one(text: str) -> list[list[str]]:
    """Java's sentence and word BreakIterators on the text they agree with a simple reading
    of: ASCII words, spaces, and ``, . ! ?`` each ending a word before a space or the end;
    a ``.`` ends a sentence only before an upper-case word. Other text is refused."""
    for i, char in enumerate(text):
        if char not in _SENTENCE_CHARS:
            raise _sentences_refused()
        if char in ",.!?" and not (i + 1 == len(text) or text[i + 1] == " "):
            raise _sentences_refused()
        if char in ".!?" and not (i and text[i - 1].isalnum()):
            raise _sentences_refused()
        if char == ".":
            rest = text[i + 1:].lstrip(" ")
            if rest and not ("A" <= rest[0] <= "Z"):
                raise _sentences_refused()
    out: list[list[str]] = []
    current: list[str] = []
    for token in _WORD.findall(text):
        if token in ".!?":
            out.append(current)
            current = []
        else:
            current.append(token)
    if current:
        out.append(current)
    return out


def _sentences_refused() -> Unsupported:
    return Unsupported("[UNSUPPORTED_FEATURE] sentences of text beyond ASCII words, spaces and "
                       "sentence-ending punctuation is not supported by this warehouse (Java's "
                       "BreakIterator rules). SQLSTATE: 0A000")


def _sentences(values: pa.Array) -> pa.Array:
    return pa.array([None if v is None else _sentences_one(v) for v in values.to_pylist()],
                    pa.list_(pa.list_(pa.string())))


MACROS: tuple[str, ...] = (
    # levenshtein(a, b, threshold): -1 past the threshold
    "CREATE MACRO sg_levenshtein(a, b, t) AS CASE WHEN t < 0 THEN -1 "
    "WHEN levenshtein(a, b) <= t THEN CAST(levenshtein(a, b) AS INTEGER) ELSE -1 END",
    # quote: single quotes around, inner quotes escaped with a backslash
    "CREATE MACRO sg_quote(s) AS '''' || replace(s, '''', '\\''') || ''''",
)


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Add the UDFs and macros of this module to an engine's database."""
    udfs: tuple[tuple[str, Callable[..., pa.Array], list[Any], DuckDBPyType], ...] = (
        ("sg_luhn_check", _luhn, [VARCHAR], BOOLEAN),
        ("sg_soundex", _soundex, [VARCHAR], VARCHAR),
        ("sg_split", _split, [VARCHAR, VARCHAR, INTEGER], duckdb.list_type(VARCHAR)),
        ("sg_instr", _instr, [VARCHAR, VARCHAR, BIGINT, BIGINT], INTEGER),
        ("sg_substring_index", _substring_index, [VARCHAR, VARCHAR, BIGINT], VARCHAR),
        ("sg_sentences", _sentences, [VARCHAR], duckdb.list_type(duckdb.list_type(VARCHAR))),
    )
    for name, fn, params, result in udfs:
        con.create_function(name, fn, params, result, type=ARROW, null_handling=SPECIAL,
                            side_effects=False)
    for sql in MACROS:
        con.execute(sql)


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


_COLLATIONS = frozenset({"UTF8_BINARY", "UTF8_LCASE", "UNICODE", "UNICODE_CI"})
_ASCII_OK = {T.TINYINT, T.SMALLINT, T.INT, T.BIGINT, T.DECIMAL, T.BOOLEAN}


def _collation(node: exp.Collation) -> exp.Expr:
    """collation(s): the name of the operand's collation, known from its type alone."""
    operand = node.this
    collates = list(operand.find_all(exp.Collate))
    if not collates:
        typ = spark_type(operand)
        if not isinstance(operand, exp.Null) and (typ is None or typ.this not in (
                T.VARCHAR, T.TEXT)):
            raise Unsupported("[UNSUPPORTED_FEATURE] collation of this operand is not "
                              "supported by this warehouse. SQLSTATE: 0A000")
        return exp.Literal.string("SYSTEM.BUILTIN.UTF8_BINARY")
    name = collates[0].expression.name.upper()
    if len(collates) > 1 or name not in _COLLATIONS:
        raise Unsupported(f"[UNSUPPORTED_FEATURE] the collation {name} is not supported by "
                          "this warehouse. SQLSTATE: 0A000")
    return exp.Literal.string(f"SYSTEM.BUILTIN.{name}")


def _rewrite(tree: exp.Expr) -> exp.Expr:
    """The calls of this module's functions -> their UDFs and SQL."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Collation):
            return _collation(node)
        if isinstance(node, exp.Collate):
            # collations change comparisons; DuckDB's names (NOCASE) are not Spark's
            raise Unsupported("[UNSUPPORTED_FEATURE] COLLATE is not supported by this "
                              "warehouse. SQLSTATE: 0A000")
        if isinstance(node, exp.Soundex):
            return _call("sg_soundex", node.this)
        if isinstance(node, exp.SubstringIndex):
            return _call("sg_substring_index", node.this, node.args["delimiter"],
                         node.args["count"])
        if isinstance(node, exp.RegexpSubstr) and not any(
                node.args.get(k) for k in ("position", "occurrence", "parameters", "group")):
            extract = exp.RegexpExtract(this=node.this, expression=node.expression,
                                        group=exp.Literal.number(0))
            return exp.Nullif(this=extract, expression=exp.Literal.string(""))
        if isinstance(node, exp.Levenshtein) and node.args.get("ins_cost") is not None and not (
                node.args.get("del_cost") or node.args.get("sub_cost")):
            return _call("sg_levenshtein", node.this, node.expression, node.args["ins_cost"])
        if isinstance(node, exp.RegexpSplit) and node.args.get("limit") is not None:
            return _call("sg_split", node.this, node.expression, node.args["limit"])
        if isinstance(node, exp.StrPosition) and node.args.get("occurrence") is not None:
            return _call("sg_instr", node.this, node.args["substr"],
                         node.args.get("position") or exp.Literal.number(1),
                         node.args["occurrence"])
        if isinstance(node, exp.ConcatWs) and len(node.expressions) == 1:
            sep = node.expressions[0]
            return exp.If(this=exp.Is(this=sep.copy(), expression=exp.null()),
                          true=exp.Cast(this=exp.null(), to=exp.DataType.build("VARCHAR")),
                          false=exp.Literal.string(""))
        if isinstance(node, exp.Ascii):
            typ = spark_type(node.this)
            if typ is not None and typ.this in _ASCII_OK:
                node.set("this", exp.Cast(this=node.this, to=exp.DataType.build("VARCHAR")))
            return node
        if isinstance(node, exp.Anonymous):
            name = str(node.name).lower()
            if name == "luhn_check" and len(node.expressions) == 1:
                return _call("sg_luhn_check", *node.expressions)
            if name == "quote" and len(node.expressions) == 1:
                return _call("sg_quote", *node.expressions)
            if name == "sentences" and 1 <= len(node.expressions) <= 3:
                # the locale only picks Java's BreakIterator rules, the same for the text
                # accepted here in every locale
                return _call("sg_sentences", node.expressions[0])
        return node

    return tree.transform(fix, copy=False)


NAMES = frozenset({"luhn_check", "quote", "sentences"})
# Collate: only inside collation(), which this module answers from the type alone
CLASSES = frozenset({"Collation", "Collate", "Soundex", "SubstringIndex", "RegexpSubstr"})
RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_rewrite,)

__all__ = ["CLASSES", "MACROS", "NAMES", "RULES", "register"]
