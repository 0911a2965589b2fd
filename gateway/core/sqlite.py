"""The embedded state store: one SQLite file (by default ``state.db`` beside the local result
directory), in WAL mode so readers never wait for the write-behind journal's transaction.

Several gateway processes on one host may share the file (SQLite locks it; ``busy_timeout``
makes a writer wait its turn instead of failing); gateways on several hosts share a
PostgreSQL store instead (`gateway.core.postgres`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from gateway.core.relational import RelationalStore

# Milliseconds a connection waits for another process's write lock before it gives up.
_BUSY_MS = 10_000


class SqliteStore(RelationalStore):
    """`StateStore` in one SQLite file."""

    def __init__(self, path: str) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(f"sqlite:///{self.path}")

    def _connect(self) -> Any:
        # check_same_thread off: the pool hands a connection to one thread at a time.
        conn = sqlite3.connect(self.path, timeout=_BUSY_MS / 1000, check_same_thread=False,
                               isolation_level="DEFERRED")
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL: a commit survives a process crash; only a power cut may lose the last ones.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        return conn


__all__ = ["SqliteStore"]
