"""Statement text helpers: what the scheduler and a Thrift session learn from the text.

Workers compute the fingerprint for the `estimate` action; the gateway loads this module
only for a Thrift ``USE``/``SET`` (it never parses anything else):

- `fingerprint(sql)`: the query shape, literals stripped, so the scheduler can learn
  runtimes per shape (``WHERE id = 42`` and ``where id=7`` are the same fingerprint);
- `session_command(sql)`: ``("USE", catalog, schema)`` for a ``USE`` statement the Thrift
  session applies itself, None for anything else.

>>> fingerprint("select * from t where id = 42") == fingerprint("SELECT *  FROM t WHERE id=7")
True
>>> fingerprint("SELECT a FROM t") == fingerprint("SELECT b FROM t")
False
>>> session_command("USE main.tpch")
('USE', 'main', 'tpch')
"""

from __future__ import annotations

import functools
import hashlib
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

# Parsing a huge statement to learn its shape is not worth the time; hash its text instead.
_PARSE_MAX_CHARS = 100_000
_SPACE = re.compile(r"\s+")

SessionCommand = tuple[str, str | None, str | None]

def normalise(sql: str) -> str:
    """The statement with literals replaced by `?`, printed in one canonical form.

    >>> normalise("SELECT  a FROM t WHERE b = 'x'")
    'SELECT a FROM t WHERE b = ?'
    """
    if len(sql) <= _PARSE_MAX_CHARS:
        try:
            return _normalise_parsed(sql)
        except (SqlglotError, RecursionError):
            # the parser and the generator recurse once per nesting level: 5,000 nested
            # parentheses are a statement the engine refuses, not a gateway failure
            pass
    # An unparseable statement still gets a fingerprint: its normalised text.
    return _SPACE.sub(" ", sql.strip().lower())


def _normalise_parsed(sql: str) -> str:
    trees = sqlglot.parse(sql, read="databricks")
    if not trees or any(t is None for t in trees):
        raise SqlglotError("nothing to normalise")
    parts = []
    for tree in trees:
        assert tree is not None
        stripped = tree.transform(_strip_literal)
        parts.append(stripped.sql(dialect="databricks", normalize=True))
    return ";".join(parts)


def _strip_literal(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Literal | exp.Boolean | exp.Null):
        return exp.Placeholder()
    return node


# Dashboards repeat the same texts; the parse costs milliseconds, the lookup nothing.
@functools.lru_cache(maxsize=4096)
def fingerprint(sql: str) -> str:
    """A short stable hash of `normalise(sql)` (16 hex digits).

    >>> len(fingerprint("SELECT 1"))
    16
    """
    return hashlib.blake2b(normalise(sql).encode(), digest_size=8).hexdigest()


_LEADING_COMMENTS = re.compile(r"\A(?:\s+|/\*.*?\*/|--[^\n]*(?:\n|\Z))*", re.S)


def session_command(sql: str) -> SessionCommand | None:
    """``("USE", catalog, schema)`` for a ``USE [CATALOG|SCHEMA|DATABASE] name``,
    ``("SET", key, value)`` for ``SET key = value``, else None.

    A one-part name sets the schema (or, after ``USE CATALOG``, the catalog); a two-part
    name sets both. Anything else, including text that does not parse, is None: the
    engine judges those statements when they run.

    >>> session_command("USE `default`")
    ('USE', None, 'default')
    >>> session_command("use catalog main")
    ('USE', 'main', None)
    >>> session_command("SET use_cached_result = FALSE")
    ('SET', 'use_cached_result', 'false')
    >>> session_command("SELECT 1") is None
    True
    """
    # Cheap guard so ordinary statements are not parsed twice (the engine parses them);
    # leading comments skipped first (dbt opens every statement with a /* {...} */ one).
    if not _LEADING_COMMENTS.sub("", sql).lower().startswith(("use", "set")):
        return None
    try:
        tree = sqlglot.parse_one(sql, read="databricks")
    except (SqlglotError, RecursionError):
        return None
    if isinstance(tree, exp.Set):
        return _set_command(tree)
    if not isinstance(tree, exp.Use) or tree.this is None:
        return None
    kind_node = tree.args.get("kind")
    kind = kind_node.name.upper() if kind_node is not None else ""
    parts = [p.name for p in tree.this.parts] if isinstance(tree.this, exp.Table) else [
        tree.this.name
    ]
    if kind == "CATALOG":
        return ("USE", parts[-1], None)
    if len(parts) >= 2:
        return ("USE", parts[-2], parts[-1])
    return ("USE", None, parts[-1])


def _set_command(tree: exp.Set) -> SessionCommand | None:
    """``("SET", key, value)`` for ``SET key = value`` (one simple key, a literal value)."""
    items = tree.expressions
    if tree.args.get("unset") or len(items) != 1 or not isinstance(items[0].this, exp.EQ):
        return None
    key, value = items[0].this.this, items[0].this.expression
    if not isinstance(key, exp.Column) or not isinstance(value, (exp.Literal, exp.Boolean)):
        return None
    text = str(value.this).lower() if isinstance(value, exp.Boolean) else str(value.this)
    return ("SET", ".".join(p.name for p in key.parts).lower(), text)


__all__ = ["SessionCommand", "fingerprint", "normalise", "session_command"]
