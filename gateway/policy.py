"""What the operator imposes on every statement, whichever front (REST, Thrift) built it.

The registry applies `StatementPolicy` to each task before it runs: the workspace's
catalogs from the tokens file travel with the task to the worker, whose catalog enforces
them, and the statement time limit becomes the operator's `statement_timeout_s` or the
client's shorter timeout, never longer.
"""

from __future__ import annotations

import dataclasses

from gateway.auth import Authenticator
from sqlgate.settings import EngineSettings
from sqlgate.types import StatementTask


class StatementPolicy:
    """Binds a task to its workspace's catalogs and the operator's time limit."""

    def __init__(self, auth: Authenticator, engine: EngineSettings) -> None:
        self._auth = auth
        self._engine = engine

    def __call__(self, task: StatementTask) -> StatementTask:
        return dataclasses.replace(
            task,
            catalogs=self._auth.catalogs(task.workspace),
            timeout_s=self._engine.time_limit(task.timeout_s),
        )


__all__ = ["StatementPolicy"]
