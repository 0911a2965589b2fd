"""Spark's BINARY strings: string functions over BINARY operands, UTF-8 validation,
base32, try_to_binary.

DuckDB keeps BLOB and VARCHAR apart, so ``length(x'53')`` or ``substr(encode(s, 'utf-8'),
5)`` find no function there. Where the annotation says an operand is BINARY, the call is
rewritten into byte-wise SQL (slices of the value's hex text: two characters a byte, so
every position stays aligned) or into a function Spark applies after its implicit cast of
BINARY to STRING (``btrim``, ``upper``...: ``decode``, which raises on invalid UTF-8 rather
than guess). The UTF-8 and base32 functions are Python UDFs: Python's codecs follow the
Unicode standard's rules for invalid sequences (one U+FFFD per maximal invalid subpart), as
Spark does.

>>> import sqlglot
>>> from engine.spark.annotation import annotate
>>> tree = annotate(sqlglot.parse_one("SELECT length(x'5370')", read="databricks"))
>>> _binary_calls(tree).sql("duckdb")
"SELECT OCTET_LENGTH(UNHEX('5370'))"
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa
from duckdb.func import ARROW, SPECIAL
from duckdb.sqltypes import BLOB, BOOLEAN, VARCHAR, DuckDBPyType
from sqlglot import exp
from sqlglot.dialects.databricks import Databricks

from engine.errors import SqlError
from engine.spark.annotation import spark_type

T = exp.DType


def _error(error_class: str, text: str, sql_state: str) -> str:
    return f"error('[{error_class}] {text} SQLSTATE: {sql_state}')"


_START = "CASE WHEN pos > 0 THEN pos - 1 WHEN pos < 0 THEN octet_length(b) + pos ELSE 0 END"
# x is a VARCHAR or a BLOB: the other branch only has to bind, it never runs
_BY_TYPE = ("CASE WHEN x IS NULL THEN NULL WHEN typeof(x) = 'BLOB' THEN {blob} "
            "WHEN typeof(x) = 'VARCHAR' THEN {text} ELSE "
            + _error("UNSUPPORTED_FEATURE.SPARK_FUNCTION", "{name} of a value of this type is "
                     "not supported by this warehouse.", "0A000") + " END")


def _by_type(name: str, blob: str, text: str) -> str:
    return f"CREATE MACRO sg_{name}(x) AS " + _BY_TYPE.format(blob=blob, text=text, name=name)


MACROS: tuple[str, ...] = (
    # bytes [s, e) of b (Spark's ByteArray.subStringSQL once s and e are known)
    "CREATE MACRO sg_bin_slice(b, s, e) AS CASE "
    "WHEN greatest(s, 0) >= least(e, octet_length(b)) THEN CAST('' AS BLOB) "
    "ELSE unhex(substring(hex(b), 2 * greatest(s, 0) + 1, "
    "2 * (least(e, octet_length(b)) - greatest(s, 0)))) END",
    f"CREATE MACRO sg_bin_substr(b, pos) AS sg_bin_slice(b, {_START}, octet_length(b)), "
    f"(b, pos, len) AS sg_bin_slice(b, CAST({_START} AS BIGINT), "
    f"CAST({_START} AS BIGINT) + len)",
    # lpad/rpad: an empty pad only truncates
    "CREATE MACRO sg_bin_lpad(b, len, pad) AS CASE WHEN octet_length(CAST(pad AS BLOB)) = 0 "
    "THEN sg_bin_substr(b, 1, len) ELSE unhex(lpad(hex(b), 2 * len, hex(CAST(pad AS BLOB)))) END",
    "CREATE MACRO sg_bin_rpad(b, len, pad) AS CASE WHEN octet_length(CAST(pad AS BLOB)) = 0 "
    "THEN sg_bin_substr(b, 1, len) ELSE unhex(rpad(hex(b), 2 * len, hex(CAST(pad AS BLOB)))) END",
    # overlay: a negative length means the replacement's
    "CREATE MACRO sg_bin_overlay(b, r, pos, len) AS sg_bin_substr(b, 1, pos - 1) || r || "
    "sg_bin_substr(b, pos + CASE WHEN len >= 0 THEN len ELSE octet_length(r) END)",
    # contains on hex text: a match must start on a byte
    "CREATE MACRO sg_bin_contains(a, b) AS regexp_matches(hex(a), '^(?:..)*?' || hex(b))",
    _by_type("octet_length", "octet_length(CAST(x AS BLOB))", "strlen(CAST(x AS VARCHAR))"),
    _by_type("is_valid_utf8", "sg_utf8_valid(CAST(x AS BLOB))", "true"),
    _by_type("make_valid_utf8", "sg_utf8_make(CAST(x AS BLOB))", "CAST(x AS VARCHAR)"),
    _by_type("validate_utf8", "sg_utf8_check(CAST(x AS BLOB), false)", "CAST(x AS VARCHAR)"),
    _by_type("try_validate_utf8", "sg_utf8_check(CAST(x AS BLOB), true)",
             "CAST(x AS VARCHAR)"),
    _by_type("to_base32", "sg_base32(CAST(x AS BLOB))", "sg_base32(encode(CAST(x AS VARCHAR)))"),
)


def _utf8_valid(values: pa.Array) -> pa.Array:
    out: list[bool | None] = []
    for value in values.to_pylist():
        if value is None:
            out.append(None)
            continue
        try:
            value.decode("utf-8")
            out.append(True)
        except UnicodeDecodeError:
            out.append(False)
    return pa.array(out, pa.bool_())


def _utf8_make(values: pa.Array) -> pa.Array:
    return pa.array([None if v is None else v.decode("utf-8", "replace")
                     for v in values.to_pylist()], pa.string())


def _utf8_check(values: pa.Array, tries: pa.Array) -> pa.Array:
    out: list[str | None] = []
    for value, try_ in zip(values.to_pylist(), tries.to_pylist(), strict=True):
        if value is None:
            out.append(None)
            continue
        try:
            out.append(value.decode("utf-8"))
        except UnicodeDecodeError as exc:
            if not try_:
                bad = "".join(f"\\x{b:02X}" for b in value[exc.start:exc.end])
                raise SqlError(f"[INVALID_UTF8_STRING] Invalid UTF8 byte sequence found in "
                               f"string: {bad}. SQLSTATE: 22029", sql_state="22029") from exc
            out.append(None)
    return pa.array(out, pa.string())


def _base32(values: pa.Array) -> pa.Array:
    return pa.array([None if v is None else base64.b32encode(v).decode("ascii")
                     for v in values.to_pylist()], pa.string())


_BASE32 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")}


def _from_base32_one(text: str) -> bytes:
    """Lenient, as Apache Commons' Base32 that Spark uses: letters of either case, other
    characters skipped, ``=`` ends the input, leftover bits dropped."""
    bits = count = 0
    out = bytearray()
    for char in text:
        if char == "=":
            break
        value = _BASE32.get(char.upper())
        if value is None:
            continue
        bits, count = (bits << 5) | value, count + 5
        if count >= 8:
            count -= 8
            out.append((bits >> count) & 0xFF)
    return bytes(out)


def _from_base32(values: pa.Array) -> pa.Array:
    return pa.array([None if v is None else _from_base32_one(v) for v in values.to_pylist()],
                    pa.binary())


_BASE64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def _from_base64_one(text: str) -> bytes | None:
    """Spark's base64 reading: blanks skipped, padding optional but never wrong; None when
    Spark would refuse the text."""
    chars = "".join(text.split())
    body = chars.rstrip("=")
    pads = len(chars) - len(body)
    if any(c not in _BASE64_ALPHABET for c in body) or len(body) % 4 == 1:
        return None
    if pads and (pads > 2 or len(body) % 4 == 0 or (len(body) + pads) % 4):
        return None
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except binascii.Error:
        return None


def _try_base64(values: pa.Array) -> pa.Array:
    return pa.array([None if v is None else _from_base64_one(v) for v in values.to_pylist()],
                    pa.binary())


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Add the UDFs and macros of this module to an engine's database."""
    udfs: tuple[tuple[str, Callable[..., pa.Array], list[Any], DuckDBPyType], ...] = (
        ("sg_utf8_valid", _utf8_valid, [BLOB], BOOLEAN),
        ("sg_utf8_make", _utf8_make, [BLOB], VARCHAR),
        ("sg_utf8_check", _utf8_check, [BLOB, BOOLEAN], VARCHAR),
        ("sg_base32", _base32, [BLOB], VARCHAR),
        ("sg_from_base32", _from_base32, [VARCHAR], BLOB),
        ("sg_try_base64", _try_base64, [VARCHAR], BLOB),
    )
    for name, fn, params, result in udfs:
        # SPECIAL: NULLs reach the UDF, which may answer NULL itself
        con.create_function(name, fn, params, result, type=ARROW, null_handling=SPECIAL,
                            side_effects=False)
    for sql in MACROS:
        con.execute(sql)


def _binary(node: exp.Expr | None) -> bool:
    typ = spark_type(node)
    return typ is not None and typ.this == T.BINARY


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


# functions Spark applies to BINARY after casting it to STRING
_AS_TEXT: tuple[type[exp.Expr], ...] = (exp.Trim, exp.Upper, exp.Lower, exp.Initcap)
_AS_TEXT_NAMES = frozenset({"btrim"})


def _binary_calls(tree: exp.Expr) -> exp.Expr:
    """Calls whose first operand is known to be BINARY -> byte-wise SQL."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.StartsWith | exp.EndsWith | exp.Contains) and any(
                isinstance(a, exp.Null) for a in (node.this, node.expression)):
            # a NULL operand: NULL (DuckDB cannot choose between its overloads)
            return exp.Cast(this=exp.null(), to=exp.DataType.build("BOOLEAN"))
        first = node.this if not isinstance(node, exp.Anonymous) else (
            node.expressions[0] if node.expressions else None)
        if not isinstance(node, exp.Func) or not _binary(first):
            return node
        assert first is not None
        if isinstance(node, exp.Length):
            return _call("octet_length", first)
        if isinstance(node, exp.BitLength):
            return exp.Mul(this=_call("octet_length", first), expression=exp.Literal.number(8))
        if isinstance(node, exp.Substring):
            args = [first, node.args.get("start") or exp.Literal.number(1)]
            if node.args.get("length") is not None:
                args.append(node.args["length"])
            return _call("sg_bin_substr", *args)
        if isinstance(node, exp.Left):
            return _call("sg_bin_substr", first, exp.Literal.number(1), node.expression)
        if isinstance(node, exp.Pad):
            fill = node.args.get("fill_pattern")
            pad = fill if fill is not None else exp.HexString(this="00")
            name = "sg_bin_lpad" if node.args.get("is_left") else "sg_bin_rpad"
            return _call(name, first, node.expression, pad)
        if isinstance(node, exp.Overlay):
            length = node.args.get("for_")
            return _call("sg_bin_overlay", first, node.expression, node.args["from_"],
                         length if length is not None else exp.Literal.number(-1))
        if isinstance(node, exp.StartsWith | exp.EndsWith | exp.Contains) and _binary(
                node.expression):
            if isinstance(node, exp.Contains):
                return _call("sg_bin_contains", first, node.expression)
            name = "starts_with" if isinstance(node, exp.StartsWith) else "ends_with"
            return _call(name, _call("hex", first), _call("hex", node.expression))
        if isinstance(node, _AS_TEXT) or (isinstance(node, exp.Anonymous) and str(
                node.name).lower() in _AS_TEXT_NAMES):
            for arg in [node.this, node.args.get("expression"), *node.expressions]:
                if isinstance(arg, exp.Expr) and _binary(arg):
                    arg.replace(_call("decode", arg.copy()))
        return node

    return tree.transform(fix, copy=False)


_BINARY_FORMATS = {"hex", "utf-8", "utf8", "base64"}
_DATABRICKS = Databricks()
_BY_TYPE_NAMES = {"octet_length", "is_valid_utf8", "make_valid_utf8", "validate_utf8",
                  "try_validate_utf8", "to_base32"}


def _named_calls(tree: exp.Expr) -> exp.Expr:
    """UTF-8 validation, base32, octet_length and try_to_binary -> macros and UDFs."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.ToBase32):
            return _call("sg_to_base32", node.this)
        if isinstance(node, exp.FromBase32):
            return _call("sg_from_base32", node.this)
        if not isinstance(node, exp.Anonymous):
            return node
        name, args = str(node.name).lower(), node.expressions
        if name in _BY_TYPE_NAMES and len(args) == 1:
            return _call(f"sg_{name}", args[0])
        if name == "try_to_binary" and len(args) in (1, 2):
            return _try_to_binary(args)
        return node

    return tree.transform(fix, copy=False)


def _try_to_binary(args: list[exp.Expr]) -> exp.Expr:
    """try_to_binary(s[, fmt]): NULL for an unknown format or text that does not decode."""
    fmt = args[1] if len(args) == 2 else exp.Literal.string("hex")
    if isinstance(fmt, exp.Null):
        return exp.Cast(this=exp.null(), to=exp.DataType.build("BLOB", dialect="duckdb"))
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        raise SqlError("[UNSUPPORTED_FEATURE] the format of try_to_binary must be a string "
                       "literal here. SQLSTATE: 0A000", sql_state="0A000")
    kind = fmt.this.lower()
    if kind not in _BINARY_FORMATS:
        return exp.Cast(this=exp.null(), to=exp.DataType.build("BLOB", dialect="duckdb"))
    if kind == "base64":
        return _call("sg_try_base64", args[0])
    builder = Databricks.Parser.FUNCTIONS["TO_BINARY"]
    return _call("try", builder([args[0], exp.Literal.string(kind)]))


NAMES = frozenset({*_BY_TYPE_NAMES, "try_to_binary"})
CLASSES = frozenset({"ToBase32", "FromBase32"})
RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_binary_calls, _named_calls)

__all__ = ["CLASSES", "MACROS", "NAMES", "RULES", "register"]
