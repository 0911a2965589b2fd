"""What the pool knows of a statement before it runs: its fingerprint and its cost estimate.

The estimate (files and bytes to scan after pruning, the tables' Delta versions, the text
the result cache keys on) comes from the engine reading the Delta log, without executing;
tests and other providers inject their own `Estimator`. Both run in a pool thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from engine import fingerprint
from sqlgate.settings import Settings
from sqlgate.types import CostEstimate, StatementTask

log = logging.getLogger("sqlgate.pool")

Estimator = Callable[[StatementTask], CostEstimate]
# Statement texts whose fingerprint is remembered (oldest out first).
_FINGERPRINTS = 4096


class Estimates:
    """Fingerprint and estimate statements; an estimate that fails is an empty one (the
    statement then fails on the worker with the real error)."""

    def __init__(self, settings: Settings, estimator: Estimator | None = None) -> None:
        self.settings = settings
        self._estimator = estimator
        self._engine: Any = None
        self._fingerprints: dict[str, str] = {}

    def prepare(self, task: StatementTask) -> tuple[str, CostEstimate]:
        """(fingerprint, estimate) of a task; blocking."""
        fp = self._fingerprints.get(task.sql)
        if fp is None:
            # sqlglot takes 1-5 ms a statement here; dashboards repeat the same few texts.
            if len(self._fingerprints) >= _FINGERPRINTS:
                self._fingerprints.pop(next(iter(self._fingerprints)))
            fp = self._fingerprints[task.sql] = fingerprint(task.sql)
        try:
            estimate = self._estimate(task)
        except Exception as exc:  # a bad statement fails on the worker with the real error
            log.debug("estimate failed for %s: %s", task.statement_id, exc)
            estimate = CostEstimate()
        return fp, estimate

    def _estimate(self, task: StatementTask) -> CostEstimate:
        if self._estimator is not None:
            return self._estimator(task)
        if self._engine is None:
            from engine import Engine

            self._engine = Engine(self.settings.engine)
        est: CostEstimate = self._engine.estimate(task)
        return est


__all__ = ["Estimates", "Estimator"]
