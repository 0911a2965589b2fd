"""What the pool knows of a statement before it runs: its fingerprint and its cost estimate.

The estimate (files and bytes to scan after pruning, the tables' Delta versions, the text
the result cache keys on, the query's fingerprint) comes from a worker's engine reading the
Delta log, without executing, through the protocol's `estimate` action: the gateway process
never parses SQL or loads the engine. Tests inject their own `Estimator`. Both block; the
pool runs them in a thread.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from gateway.pool.provider import Worker
from sqlgate.settings import Settings
from sqlgate.types import CostEstimate, StatementTask

log = logging.getLogger("sqlgate.pool")

Estimator = Callable[[StatementTask], CostEstimate]


class Estimates:
    """Fingerprint and estimate statements; an estimate that fails is an empty one (the
    statement then fails on the worker with the real error)."""

    def __init__(self, settings: Settings, estimator: Estimator | None = None) -> None:
        self.settings = settings
        self._estimator = estimator

    @property
    def injected(self) -> bool:
        """Whether estimates come from an injected estimator, not from a worker."""
        return self._estimator is not None

    def prepare(self, task: StatementTask, worker: Worker | None) -> tuple[str, CostEstimate]:
        """(fingerprint, estimate) of a task, asked of `worker` unless one was injected."""
        estimate = self._estimator or (worker.estimate if worker is not None else None)
        try:
            est = estimate(task) if estimate is not None else CostEstimate()
        except Exception as exc:  # a bad statement fails on the worker with the real error
            log.debug("estimate failed for %s: %s", task.statement_id, exc)
            est = CostEstimate()
        return est.fingerprint or text_fingerprint(task.sql), est


def text_fingerprint(sql: str) -> str:
    """The fingerprint of a statement no engine could estimate: its text, spaces folded.

    Workers fingerprint what they parse (literals stripped); this only keeps a statement
    that failed to parse from sharing the history of every other such statement.
    """
    folded = " ".join(sql.split()).lower()
    return hashlib.blake2b(folded.encode(), digest_size=8).hexdigest()


__all__ = ["Estimates", "Estimator", "text_fingerprint"]
