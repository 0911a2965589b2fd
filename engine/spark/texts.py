"""Spark rules for JSON, URL and date-unit texts: to_json, parse_url, date_trunc units.

>>> import sqlglot
>>> tree = sqlglot.parse_one("SELECT date_trunc('MM', ts)", read="databricks")
>>> _trunc_units(tree).sql("duckdb")
"SELECT DATE_TRUNC('MONTH', ts)"
"""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlglot import exp
from sqlglot.errors import SqlglotError

from engine.errors import InvalidParameter, Unsupported


def _error(error_class: str, text: str, sql_state: str) -> str:
    return f"error('[{error_class}] {text} SQLSTATE: {sql_state}')"


# java.net.URI's parts, as one regular expression (RFC 3986, appendix B)
# groups: 1 scheme, 2 //authority, 3 userinfo, 4 host, 5 port, 6 path, 7 ?query, 8 query,
# 9 #fragment (DuckDB counts groups up to 9)
_URL = (r"^(?:([^:/?#]+):)?(//(?:([^@/?#]*)@)?([^/?#:]*)(?::([0-9]+))?)?([^?#]*)"
        r"(\?([^#]*))?(#.*)?$")


def _group(n: int) -> str:
    return f"regexp_extract(sg_url(u), '{_URL}', {n})"


MACROS: tuple[str, ...] = (
    # to_json: Spark drops NULL struct fields (keeps NULLs in arrays and maps); forms whose
    # text differs between the two (decimals, doubles, timestamps, binary, maps of structs or
    # structs in maps) are refused
    "CREATE MACRO sg_to_json(x) AS CASE WHEN regexp_matches(typeof(x), "
    "'DECIMAL|DOUBLE|FLOAT|TIMESTAMP|BLOB|INTERVAL|TIME|HUGEINT|MAP\\((STRUCT|MAP|[A-Z]+\\[)') "
    "THEN " + _error("UNSUPPORTED_FEATURE.TO_JSON", "to_json of this type is not supported by "
                     "this warehouse.", "0A000")
    # maps keep NULL values, structs drop NULL fields: a mix holding a NULL is refused
    + " WHEN contains(typeof(x), 'MAP') AND contains(typeof(x), 'STRUCT') THEN CASE WHEN "
    "CAST(to_json(x) AS VARCHAR) = CAST(json_strip_nulls(to_json(x)) AS VARCHAR) THEN "
    "CAST(to_json(x) AS VARCHAR) ELSE "
    + _error("UNSUPPORTED_FEATURE.TO_JSON", "to_json of a map and struct mix holding a NULL is "
             "not supported by this warehouse.", "0A000") + " END"
    " WHEN contains(typeof(x), 'STRUCT') THEN CAST(json_strip_nulls(to_json(x)) AS VARCHAR) "
    "ELSE CAST(to_json(x) AS VARCHAR) END",
    # a URL java.net.URI refuses (spaces, quotes, braces, ...) is an error in ANSI mode
    "CREATE MACRO sg_url(u) AS CASE WHEN regexp_matches(u, '[ \"<>\\\\^`{|}]') THEN "
    + _error("INVALID_URL", "The URL is invalid.", "22P02") + " ELSE u END",
    # JSON functions answer NULL for malformed JSON in Spark (DuckDB raises)
    "CREATE MACRO sg_json(j) AS CASE WHEN json_valid(j) THEN j END",
    "CREATE MACRO sg_from_json(j, s) AS CASE WHEN j IS NULL THEN NULL WHEN json_valid(j) "
    "THEN json_transform(j, s) ELSE json_transform('{}', s) END",
    # explode_outer: one NULL row for a NULL or empty array
    "CREATE MACRO sg_outer(a) AS CASE WHEN a IS NULL OR len(a) = 0 THEN [NULL] ELSE a END",
    # parse_url(url, part[, key])
    "CREATE MACRO sg_parse_url(u, part) AS CASE upper(part) "
    f"WHEN 'HOST' THEN nullif({_group(4)}, '') "
    f"WHEN 'PATH' THEN {_group(6)} "
    f"WHEN 'QUERY' THEN CASE WHEN {_group(7)} = '' THEN NULL ELSE {_group(8)} END "
    f"WHEN 'REF' THEN CASE WHEN {_group(9)} = '' THEN NULL ELSE substr({_group(9)}, 2) END "
    f"WHEN 'PROTOCOL' THEN nullif({_group(1)}, '') "
    f"WHEN 'AUTHORITY' THEN nullif(substr({_group(2)}, 3), '') "
    f"WHEN 'USERINFO' THEN nullif({_group(3)}, '') "
    f"WHEN 'FILE' THEN {_group(6)} || {_group(7)} "
    "ELSE NULL END, "
    "(u, part, k) AS CASE WHEN upper(part) <> 'QUERY' THEN NULL "
    f"WHEN {_group(7)} = '' THEN NULL "
    f"ELSE nullif(regexp_extract({_group(8)}, '(&|^)' || k || '=([^&]*)', 2), '') END",
)

_JSON_SCALARS = {exp.DType.INT: "INTEGER", exp.DType.BIGINT: "BIGINT",
                 exp.DType.SMALLINT: "SMALLINT", exp.DType.TINYINT: "TINYINT",
                 exp.DType.DOUBLE: "DOUBLE", exp.DType.FLOAT: "FLOAT",
                 exp.DType.TEXT: "VARCHAR", exp.DType.VARCHAR: "VARCHAR",
                 exp.DType.BOOLEAN: "BOOLEAN", exp.DType.DATE: "DATE"}


def _json_structure(dtype: exp.DataType) -> object:
    """A Spark schema as DuckDB's json_transform structure; other types are refused."""
    if dtype.this == exp.DType.STRUCT:
        return {f.name: _json_structure(f.args["kind"]) for f in dtype.expressions}
    if dtype.this == exp.DType.ARRAY:
        return [_json_structure(dtype.expressions[0])]
    if dtype.this == exp.DType.DECIMAL:
        return dtype.sql("duckdb")
    name = _JSON_SCALARS.get(dtype.this)
    if name is None:
        raise Unsupported(f"[UNSUPPORTED_FEATURE] from_json into {dtype.sql('databricks')} is "
                          "not supported by this warehouse. SQLSTATE: 0A000")
    return name


def _from_json(node: exp.FromJson) -> exp.Expr:
    """``from_json(j, 'a INT, b STRING')``: fields that do not parse are NULL, malformed
    JSON a struct of NULLs (Spark's PERMISSIVE mode)."""
    schema = node.expression
    if node.args.get("options") is not None or not (isinstance(schema, exp.Literal)
                                                     and schema.is_string):
        raise Unsupported("[UNSUPPORTED_FEATURE] from_json needs a literal schema and no "
                          "options. SQLSTATE: 0A000")
    text = schema.this.strip()
    ddl = text if text.upper().startswith(("STRUCT<", "ARRAY<", "MAP<")) else f"STRUCT<{text}>"
    try:
        dtype = exp.DataType.build(ddl, dialect="databricks")
    except (ValueError, SqlglotError) as exc:
        raise InvalidParameter(f"[PARSE_SYNTAX_ERROR] invalid schema {text!r}. "
                               "SQLSTATE: 42601") from exc
    structure = exp.Literal.string(json.dumps(_json_structure(dtype), separators=(",", ":")))
    return exp.Anonymous(this="sg_from_json", expressions=[node.this, structure])


# Spark's date_trunc/trunc unit names -> DuckDB's
_UNITS = {"YY": "YEAR", "YYYY": "YEAR", "YEAR": "YEAR", "MM": "MONTH", "MON": "MONTH",
          "MONTH": "MONTH", "DD": "DAY", "DAY": "DAY", "WEEK": "WEEK", "QUARTER": "QUARTER",
          "HOUR": "HOUR", "MINUTE": "MINUTE", "SECOND": "SECOND",
          "MILLISECOND": "MILLISECOND"}


def _trunc_units(tree: exp.Expr) -> exp.Expr:
    """Spark's unit spellings (``'MM'``, ``'YY'``) and string dates for trunc/date_trunc."""
    for node in tree.find_all(exp.TimestampTrunc, exp.DateTrunc):
        unit = node.args.get("unit")
        if unit is None:
            continue
        name = _UNITS.get(unit.name.upper())
        if name is None:
            raise Unsupported(f"[UNSUPPORTED_FEATURE] date_trunc to {unit.name} is not "
                              "supported. SQLSTATE: 0A000")
        node.set("unit", exp.Literal.string(name) if isinstance(unit, exp.Literal)
                 else exp.var(name))
        if isinstance(node, exp.DateTrunc) and isinstance(node.this, exp.Literal):
            node.set("this", exp.Cast(this=node.this, to=exp.DataType.build("DATE")))
    return tree


def _calls(tree: exp.Expr) -> exp.Expr:
    """to_json without options, from_json, parse_url, explode_outer -> their macros; JSON
    readers see NULL for malformed JSON."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.JSONFormat):
            if node.args.get("options") is not None:
                raise Unsupported("[UNSUPPORTED_FEATURE] to_json options are not supported. "
                                  "SQLSTATE: 0A000")
            return exp.Anonymous(this="sg_to_json", expressions=[node.this])
        if isinstance(node, exp.FromJson):
            return _from_json(node)
        if isinstance(node, exp.JSONExtractScalar | exp.JSONKeys):
            node.set("this", exp.Anonymous(this="sg_json", expressions=[node.this]))
        if isinstance(node, exp.Anonymous) and str(node.name).lower() == "json_array_length":
            node.set("expressions", [exp.Anonymous(this="sg_json",
                                                   expressions=node.expressions[:1])])
        if type(node).__name__ == "_ExplodeOuter":
            return exp.Explode(this=exp.Anonymous(this="sg_outer", expressions=[node.this]))
        if isinstance(node, exp.ParseUrl):
            args = [v for k in ("this", "part_to_extract", "key")
                    if isinstance(v := node.args.get(k), exp.Expr)]
            return exp.Anonymous(this="sg_parse_url", expressions=args)
        return node

    return tree.transform(fix, copy=False)


CLASSES = frozenset({"JSONFormat", "ParseUrl", "FromJson", "_ExplodeOuter"})
RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_trunc_units, _calls)
