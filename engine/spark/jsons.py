"""Spark's JSON functions beyond to_json/from_json: json_tuple and schema_of_json.

``json_tuple(json, k1, k2, ...)`` is a generator: in a SELECT list it becomes the columns
``c0, c1, ...`` (or the names of ``AS (a, b)``), each the top-level field's value as Spark
prints it: strings unescaped, other values as compact JSON re-written the way Jackson writes
them (numbers parsed: ``1.50`` is ``1.5``, ``1e3`` is ``1000.0``), NULL for a missing field or
text that is not a JSON object. Values go through a Python UDF; a double Java would print in
scientific notation (Java 17 prints 1e23 as 9.999999999999999E22) is refused rather than
risk its digits. ``schema_of_json`` of a literal is answered when the statement is
translated: Spark's inference (BIGINT, DECIMAL(p,0) past BIGINT, DOUBLE, STRING for
conflicts and nulls, struct fields sorted by name).

>>> _schema(json.loads('[{"b": 1, "a": [1, 2.5]}]', object_pairs_hook=_pairs))
'ARRAY<STRUCT<a: ARRAY<DOUBLE>, b: BIGINT>>'
>>> _java_json(json.loads('{"x": 1.50, "y": [1e3, "s"]}', object_pairs_hook=_pairs))
'{"x":1.5,"y":[1000.0,"s"]}'
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
from duckdb.func import ARROW, SPECIAL
from duckdb.sqltypes import VARCHAR
from sqlglot import exp

from engine.errors import SqlError, Unsupported


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as its (key, value) pairs, in order, duplicates kept (as Jackson)."""


def _pairs(items: list[tuple[str, Any]]) -> _Pairs:
    return _Pairs(items)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"not JSON: {name}")  # NaN/Infinity: Jackson refuses them by default


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_refuse_constant,
                            strict=False)
# the control characters Jackson and Python escape alike
_SHORT_ESCAPES = frozenset("\n\r\t\b\f")


def _java_double(value: float) -> str:
    """Java's Double.toString for values it prints in plain notation; others refused."""
    if value != value or value in (float("inf"), float("-inf")):
        raise _unsupported_number(repr(value))
    if value == 0:
        return "-0.0" if str(value).startswith("-") else "0.0"
    digits = Decimal(repr(value))
    if not (Decimal("0.001") <= abs(digits) < Decimal(10) ** 7) or len(
            digits.as_tuple().digits) > 15:
        raise _unsupported_number(repr(value))
    text = format(digits, "f")
    return text if "." in text else text + ".0"


def _unsupported_number(text: str) -> Unsupported:
    return Unsupported(f"[UNSUPPORTED_FEATURE] json_tuple of the number {text}, which Java "
                       "prints in scientific notation, is not supported by this warehouse. "
                       "SQLSTATE: 0A000")


def _java_string(text: str) -> str:
    if any(c < " " and c not in _SHORT_ESCAPES for c in text):
        raise Unsupported("[UNSUPPORTED_FEATURE] json_tuple of a nested string with control "
                          "characters is not supported by this warehouse. SQLSTATE: 0A000")
    return json.dumps(text, ensure_ascii=False)


def _java_json(value: Any) -> str:
    """A parsed JSON value written back as Jackson writes it: compact, numbers parsed."""
    if isinstance(value, _Pairs):
        return "{" + ",".join(f"{_java_string(k)}:{_java_json(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_java_json(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _java_double(value)
    return _java_string(value)


def _tuple_one(text: str, keys: list[str | None]) -> list[str | None]:
    try:
        parsed, _ = _DECODER.raw_decode(text.lstrip())
    except ValueError:
        return [None] * len(keys)
    if not isinstance(parsed, _Pairs):
        return [None] * len(keys)
    fields = dict(parsed)  # a repeated key: the last value wins, as in Spark
    out: list[str | None] = []
    for key in keys:
        value = fields.get(key) if key is not None else None
        out.append(value if isinstance(value, str) or value is None else _java_json(value))
    return out


def _json_tuple(texts: pa.Array, keys: pa.Array) -> pa.Array:
    out: list[list[str | None] | None] = []
    for text, names in zip(texts.to_pylist(), keys.to_pylist(), strict=True):
        out.append([None] * len(names) if text is None else _tuple_one(text, names))
    return pa.array(out, pa.list_(pa.string()))


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Add this module's UDF to an engine's database."""
    con.create_function("sg_json_tuple", _json_tuple, [VARCHAR, duckdb.list_type(VARCHAR)],
                        duckdb.list_type(VARCHAR), type=ARROW, null_handling=SPECIAL,
                        side_effects=False)


# -- schema_of_json ------------------------------------------------------------------

_LONG = 2 ** 63
_SIMPLE_NAME = re.compile(r"[A-Za-z0-9_]+")
# an inferred type: ("NULL",), ("BIGINT",), ("DECIMAL", p), ("ARRAY", t), ("STRUCT", fields)
_Type = tuple[Any, ...]
_NULL: _Type = ("NULL",)


def _infer(value: Any) -> _Type:
    """One value's Spark type; NULL stays NULL until merged."""
    if isinstance(value, _Pairs):
        names = [k for k, _ in value]
        if len(set(names)) != len(names):
            raise Unsupported("[UNSUPPORTED_FEATURE] schema_of_json of an object with a "
                              "repeated key is not supported by this warehouse. SQLSTATE: 0A000")
        return ("STRUCT", tuple(sorted(((k, _infer(v)) for k, v in value),
                                       key=lambda f: f[0].encode("utf-16-be"))))
    if isinstance(value, list):
        element = _NULL
        for item in value:
            element = _merge(element, _infer(item))
        return ("ARRAY", element)
    if isinstance(value, bool):
        return ("BOOLEAN",)
    if value is None:
        return _NULL
    if isinstance(value, int):
        if -_LONG <= value < _LONG:
            return ("BIGINT",)
        digits = len(str(abs(value)))
        if digits > 38:
            raise Unsupported("[UNSUPPORTED_FEATURE] schema_of_json of an integer past 38 "
                              "digits is not supported by this warehouse. SQLSTATE: 0A000")
        return ("DECIMAL", digits)
    if isinstance(value, float):
        return ("DOUBLE",)
    return ("STRING",)


def _merge(a: _Type, b: _Type) -> _Type:
    """Spark's compatibleType for inferred JSON types."""
    if a == b or b == _NULL:
        return a
    if a == _NULL:
        return b
    kinds = {a[0], b[0]}
    if kinds <= {"BIGINT", "DOUBLE", "DECIMAL"}:
        if "DOUBLE" in kinds:
            return ("DOUBLE",)
        width = max(t[1] if t[0] == "DECIMAL" else 20 for t in (a, b))
        return ("DECIMAL", width)
    if kinds == {"ARRAY"}:
        return ("ARRAY", _merge(a[1], b[1]))
    if kinds == {"STRUCT"}:
        fields = dict(a[1])
        for name, typ in b[1]:
            fields[name] = _merge(fields.get(name, _NULL), typ)
        return ("STRUCT", tuple(sorted(fields.items(), key=lambda f: f[0].encode("utf-16-be"))))
    return ("STRING",)


def _name(name: str) -> str:
    if _SIMPLE_NAME.fullmatch(name) and not name.isdigit():
        return name
    return "`" + name.replace("`", "``") + "`"


def _render(typ: _Type) -> str:
    if typ[0] == "NULL":
        return "STRING"
    if typ[0] == "DECIMAL":
        return f"DECIMAL({typ[1]},0)"
    if typ[0] == "ARRAY":
        return f"ARRAY<{_render(typ[1])}>"
    if typ[0] == "STRUCT":
        return "STRUCT<" + ", ".join(f"{_name(k)}: {_render(t)}" for k, t in typ[1]) + ">"
    return str(typ[0])


def _schema(value: Any) -> str:
    """The schema Spark infers for one parsed JSON document (NULLs become STRING)."""
    return _render(_infer(value))


def _schema_of_json(args: list[exp.Expr]) -> exp.Expr:
    if len(args) != 1 or not (isinstance(args[0], exp.Literal) and args[0].is_string):
        raise Unsupported("[UNSUPPORTED_FEATURE] schema_of_json needs one string literal and no "
                          "options here. SQLSTATE: 0A000")
    try:
        parsed = json.loads(args[0].this, object_pairs_hook=_pairs,
                            parse_constant=_refuse_constant)
    except ValueError as exc:
        raise SqlError("[MALFORMED_RECORD_IN_PARSING] schema_of_json: the text is not JSON. "
                       "SQLSTATE: 22023", sql_state="22023") from exc
    return exp.Literal.string(_schema(parsed))


# -- the rule ------------------------------------------------------------------------

def _tuple_columns(node: exp.Expr) -> exp.Expr | None:
    """A json_tuple projection (with or without ``AS (a, b)``) as one UNNEST of a struct,
    which DuckDB expands into that many columns."""
    names: list[str] | None = None
    call = node
    if isinstance(node, exp.Aliases):
        call, names = node.this, [i.name for i in node.expressions]
    if not (isinstance(call, exp.Anonymous) and str(call.name).lower() == "json_tuple"):
        return None
    if len(call.expressions) < 2 or any(isinstance(k, exp.Null) for k in call.expressions):
        raise SqlError("[DATATYPE_MISMATCH.NON_STRING_TYPE] all arguments of the function "
                       "`json_tuple` must be strings. SQLSTATE: 42K09", sql_state="42K09")
    text, keys = call.expressions[0], call.expressions[1:]
    names = names or [f"c{i}" for i in range(len(keys))]
    if len(names) != len(keys):
        raise SqlError("[UDTF_ALIAS_NUMBER_MISMATCH] json_tuple gives as many columns as keys. "
                       "SQLSTATE: 42802", sql_state="42802")
    values = exp.Anonymous(this="sg_json_tuple", expressions=[
        text, exp.Array(expressions=[exp.Cast(this=k, to=exp.DataType.build("VARCHAR"))
                                     for k in keys])])
    fields = [exp.PropertyEQ(this=exp.to_identifier(name, quoted=True),
                             expression=exp.Anonymous(this="list_extract", expressions=[
                                 values.copy(), exp.Literal.number(i + 1)]))
              for i, name in enumerate(names)]
    return exp.Unnest(expressions=[exp.Struct(expressions=fields)])


def _rewrite(tree: exp.Expr) -> exp.Expr:
    """json_tuple in SELECT lists -> columns; schema_of_json of a literal -> its answer."""
    for select in list(tree.find_all(exp.Select)):
        for i, node in enumerate(list(select.expressions)):
            columns = _tuple_columns(node)
            if columns is not None:
                select.expressions[i].replace(columns)
    for node in list(tree.find_all(exp.Anonymous)):
        name = str(node.name).lower()
        if name == "json_tuple":
            raise Unsupported("[UNSUPPORTED_FEATURE] json_tuple is supported as a column of a "
                              "SELECT list only. SQLSTATE: 0A000")
        if name == "schema_of_json":
            node.replace(_schema_of_json(list(node.expressions)))
    return tree


def generator(node: exp.Expr) -> bool:
    """Whether a projection is a json_tuple, which names its own columns (c0, c1, ...)."""
    call = node.this if isinstance(node, exp.Aliases) else node
    return isinstance(call, exp.Anonymous) and str(call.name).lower() == "json_tuple"


NAMES = frozenset({"json_tuple", "schema_of_json"})
RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_rewrite,)

__all__ = ["NAMES", "RULES", "generator", "register"]
