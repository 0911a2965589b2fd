"""Statement fingerprints: the same query shape with other literals is the same fingerprint.

The scheduler learns runtimes per fingerprint. SQL is parsed with sqlglot (Databricks
dialect), every literal becomes a `?` placeholder and the tree is printed back normalised,
so case, whitespace, comments and constant values do not matter:

>>> fingerprint("select * from t where id = 42") == fingerprint("SELECT *  FROM t WHERE id=7")
True
>>> fingerprint("SELECT a FROM t") == fingerprint("SELECT b FROM t")
False
"""

from __future__ import annotations

import hashlib
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

# Parsing a huge statement to learn its shape is not worth the time; hash its text instead.
_PARSE_MAX_CHARS = 100_000
_SPACE = re.compile(r"\s+")


def normalise(sql: str) -> str:
    """The statement with literals replaced by `?`, printed in one canonical form."""
    if len(sql) <= _PARSE_MAX_CHARS:
        try:
            trees = sqlglot.parse(sql, read="databricks")
        except SqlglotError:
            trees = []
        if trees and all(t is not None for t in trees):
            parts = []
            for tree in trees:
                assert tree is not None
                stripped = tree.transform(_strip_literal)
                parts.append(stripped.sql(dialect="databricks", normalize=True))
            return ";".join(parts)
    return _SPACE.sub(" ", sql.strip().lower())


def _strip_literal(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Literal | exp.Boolean | exp.Null):
        return exp.Placeholder()
    return node


def fingerprint(sql: str) -> str:
    """A short stable hash of `normalise(sql)`."""
    return hashlib.blake2b(normalise(sql).encode(), digest_size=8).hexdigest()


__all__ = ["fingerprint", "normalise"]
