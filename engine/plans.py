"""Translated constant statements, kept so that a repeated ``SELECT 1`` skips sqlglot.

A constant statement reads nothing: no table, view, information_schema or system table, no
table function (`engine.translate` marks it ``constant``). Its DuckDB text and bound values
are then a function of the task alone — the text, the parameters, the session's catalog and
schema (``current_catalog()`` binds them) — and of the engine's defaults: no snapshot, grant
or view definition can change them. Parsing, the sandbox check, the Spark rules and
generation cost more than DuckDB's own ``SELECT 1`` (measured on REST ``SELECT 1``:
~0.5 ms of the worker's ~2 ms), and BI tools send the same probes again and again.

The key is every field of the task except those that only shape how the result is
delivered (`_DELIVERY`), plus the defaults. A field added to `StatementTask` later is part
of the key unless it is listed there, so a plan is never reused for a task whose meaning
could differ. A statement whose views were expanded is never kept: a view is read at every
statement (it may have been redefined), even when its body reads no table.

>>> plans = ConstantPlans(2)
>>> task = StatementTask("s1", "SELECT 1")
>>> plans.put(task, ("main", "default"), "SELECT 1", {})
>>> plans.get(StatementTask("s2", "SELECT 1", row_limit=5), ("main", "default")).sql
'SELECT 1'
>>> plans.get(StatementTask("s3", "SELECT 1", catalog="other"), ("main", "default")) is None
True
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

from sqlgate.types import StatementTask

# Fields that change how a result is delivered or bounded, never what the statement means.
_DELIVERY = frozenset({"statement_id", "row_limit", "byte_limit", "disposition", "format",
                       "compression", "timeout_s", "inline_byte_limit", "use_cached_result"})
_KEY_FIELDS = tuple(f.name for f in dataclasses.fields(StatementTask)
                    if f.name not in _DELIVERY)


@dataclass(frozen=True)
class Plan:
    """A constant statement ready for DuckDB: its text and the values of its markers."""

    sql: str
    params: tuple[tuple[str, str | None], ...]

    def values(self) -> dict[str, str | None] | None:
        """The parameters as DuckDB takes them (None when there are none)."""
        return dict(self.params) if self.params else None


class ConstantPlans:
    """A bounded, thread-safe LRU of `Plan`s by task meaning; see the module docstring."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._plans: OrderedDict[Hashable, Plan] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, task: StatementTask, defaults: tuple[str, str]) -> Plan | None:
        """The plan of an earlier task with the same meaning, or None."""
        if self._size <= 0:
            return None
        key = _key(task, defaults)
        if key is None:
            return None
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                self._plans.move_to_end(key)
            return plan

    def put(self, task: StatementTask, defaults: tuple[str, str], sql: str,
            params: Mapping[str, str | None]) -> None:
        """Keep the translation of a constant statement (the caller has checked it is one)."""
        key = _key(task, defaults)
        if key is None or self._size <= 0:
            return
        plan = Plan(sql, tuple(params.items()))
        with self._lock:
            self._plans[key] = plan
            self._plans.move_to_end(key)
            while len(self._plans) > self._size:
                self._plans.popitem(last=False)

    def __len__(self) -> int:
        return len(self._plans)


def _key(task: StatementTask, defaults: tuple[str, str]) -> Hashable | None:
    key = (defaults, *(getattr(task, name) for name in _KEY_FIELDS))
    try:
        hash(key)
    except TypeError:  # a field that is not hashable: such a task is simply not kept
        return None
    return key


__all__ = ["ConstantPlans", "Plan"]
