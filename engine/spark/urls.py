"""Spark's URL functions beyond parse_url: url_encode, url_decode, try_url_decode,
try_parse_url.

Spark encodes and decodes as Java's URLEncoder/URLDecoder do with UTF-8: a space is ``+``,
only ``A-Z a-z 0-9 . - * _`` stay as they are, and a ``%`` not followed by two hex digits is
an error (DuckDB's url_decode keeps ``+`` and passes ``%zz`` through: both differ). These
are Python UDFs; try_parse_url is parse_url (engine.spark.texts) with NULL for a URL Spark
cannot parse.

>>> _encode_one("a b&c~")
'a+b%26c%7E'
>>> _decode_one("a+b%26c")
'a b&c'
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pyarrow as pa
from duckdb.func import ARROW, SPECIAL
from duckdb.sqltypes import BOOLEAN, VARCHAR
from sqlglot import exp

from engine.errors import SqlError

_KEEP = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-*_")
_HEX = frozenset("0123456789abcdefABCDEF")


def _encode_one(text: str) -> str:
    out = []
    for char in text:
        if char in _KEEP:
            out.append(char)
        elif char == " ":
            out.append("+")
        else:
            out.extend(f"%{b:02X}" for b in char.encode("utf-8", "replace"))
    return "".join(out)


def _decode_one(text: str) -> str | None:
    """The decoded text, or None when a ``%`` escape is malformed. Bytes that are not UTF-8
    become U+FFFD, as Java's decoder makes them."""
    out: list[str] = []
    pending = bytearray()
    i = 0
    while i < len(text):
        char = text[i]
        if char == "%":
            hex_digits = text[i + 1:i + 3]
            if len(hex_digits) != 2 or not set(hex_digits) <= _HEX:
                return None
            pending.append(int(hex_digits, 16))
            i += 3
            continue
        if pending:
            out.append(pending.decode("utf-8", "replace"))
            pending.clear()
        out.append(" " if char == "+" else char)
        i += 1
    if pending:
        out.append(pending.decode("utf-8", "replace"))
    return "".join(out)


def _encode(values: pa.Array) -> pa.Array:
    return pa.array([None if v is None else _encode_one(v) for v in values.to_pylist()],
                    pa.string())


def _decode(values: pa.Array, tries: pa.Array) -> pa.Array:
    out: list[str | None] = []
    for value, try_ in zip(values.to_pylist(), tries.to_pylist(), strict=True):
        decoded = None if value is None else _decode_one(value)
        if value is not None and decoded is None and not try_:
            raise SqlError(f"[CANNOT_DECODE_URL] The provided URL cannot be decoded: {value}. "
                           "Please ensure that the URL is properly formatted and try again. "
                           "SQLSTATE: 22546", sql_state="22546")
        out.append(decoded)
    return pa.array(out, pa.string())


MACROS: tuple[str, ...] = (
    # try_parse_url: NULL where parse_url raises INVALID_URL (sg_url's test, texts.py)
    "CREATE MACRO sg_try_parse_url(u, part) AS CASE WHEN regexp_matches(u, "
    "'[ \"<>\\\\^`{|}]') THEN NULL ELSE sg_parse_url(u, part) END, "
    "(u, part, k) AS CASE WHEN regexp_matches(u, '[ \"<>\\\\^`{|}]') THEN NULL "
    "ELSE sg_parse_url(u, part, k) END",
)


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Add the UDFs and macros of this module to an engine's database (after texts')."""
    con.create_function("sg_url_encode", _encode, [VARCHAR], VARCHAR, type=ARROW,
                        null_handling=SPECIAL, side_effects=False)
    con.create_function("sg_url_decode", _decode, [VARCHAR, BOOLEAN], VARCHAR, type=ARROW,
                        null_handling=SPECIAL, side_effects=False)
    for sql in MACROS:
        con.execute(sql)


def _rewrite(tree: exp.Expr) -> exp.Expr:
    """url_encode/url_decode/try_url_decode/try_parse_url -> the UDFs and macros."""

    def fix(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Anonymous):
            return node
        name, args = str(node.name).lower(), list(node.expressions)
        if name == "url_encode" and len(args) == 1:
            return exp.Anonymous(this="sg_url_encode", expressions=args)
        if name in ("url_decode", "try_url_decode") and len(args) == 1:
            return exp.Anonymous(this="sg_url_decode", expressions=[
                *args, exp.Boolean(this=name == "try_url_decode")])
        if name == "try_parse_url" and len(args) in (2, 3):
            return exp.Anonymous(this="sg_try_parse_url", expressions=args)
        return node

    return tree.transform(fix, copy=False)


NAMES = frozenset({"url_encode", "url_decode", "try_url_decode", "try_parse_url"})
RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_rewrite,)

__all__ = ["MACROS", "NAMES", "RULES", "register"]
