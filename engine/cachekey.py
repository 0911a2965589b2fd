"""Whether a query's result may be reused, and the normalised text that keys it.

The gateway's result cache (`gateway.core.cache`) keys a result on this text, the statement's
parameters, the caller and the Delta version of every table read; the engine supplies the
two things only a parser knows: the statement written out canonically (whitespace, keyword
case and redundant syntax normalised; literals and identifiers kept), and whether running it
twice over the same table versions must give the same rows. Databricks does not cache
queries with non-deterministic functions either (``now()``, ``rand()``, ``uuid()``...);
table sampling is random too.

>>> from engine.translate import parse
>>> cache_text(parse("select  a from t   where x = 1"))
'SELECT a FROM t WHERE x = 1'
>>> cache_text(parse("select a, rand() from t")) is None
True
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import SqlglotError

# Functions whose value changes between runs over the same data.
_VOLATILE: tuple[type[exp.Expr], ...] = (
    exp.Rand, exp.Randn, exp.Uuid, exp.Shuffle, exp.CurrentTimestamp, exp.CurrentDate,
    exp.CurrentTime, exp.CurrentDatetime, exp.CurrentTimestampLTZ, exp.CurrentTimezone,
    exp.TableSample,
)
# Spark functions sqlglot keeps as anonymous calls, by name prefix.
_VOLATILE_NAMES = ("rand", "random", "uuid", "now", "current_", "shuffle", "monotonically_",
                   "input_file", "spark_partition_id", "reflect", "java_method", "localtime",
                   "unix_timestamp", "session_", "uniform", "randstr")


def deterministic(tree: exp.Expr) -> bool:
    """False when the statement calls a function whose value differs between runs."""
    for node in tree.walk():
        if isinstance(node, _VOLATILE):
            return False
        if isinstance(node, exp.Anonymous) and node.name.lower().startswith(_VOLATILE_NAMES):
            return False
    return True


def cache_text(tree: exp.Expr) -> str | None:
    """The canonical text of a deterministic statement, or None when it must not be cached."""
    if not deterministic(tree):
        return None
    try:
        return tree.sql(dialect="databricks")
    except SqlglotError:
        return None


__all__ = ["cache_text", "deterministic"]
