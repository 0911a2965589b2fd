"""A worker process with a scripted engine, so pool tests do not depend on DuckDB timing.

Run as ``python -m tests.gateway.pool.test_warehouse_fakes <sqlgate worker flags>``: the real
`engine.worker.process.run_worker` and the real CLI settings path, only the Engine is fake. Its SQL:

- ``SELECT n``           one row, one BIGINT column holding n
- ``SELECT rows(n)``     n rows
- ``SELECT sleep(s)``    sleeps s seconds (interruptible), then one row
- ``SELECT fail()``      an engine error (BAD_REQUEST, SQLSTATE 42000)
- anything containing ``BIG`` is estimated as a large scan (long lane)

They parse as SQL, so fingerprints strip their literals as for real statements.

(No tests here; the module name only keeps it next to the tests that use it.)
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from sqlgate.types import ColumnInfo, CostEstimate, StatementTask


class FakeError(Exception):
    error_code = "BAD_REQUEST"
    sql_state = "42000"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FakeStream:
    def __init__(self, batches: list[pa.RecordBatch], schema: pa.Schema) -> None:
        self.schema = schema
        self.columns = (ColumnInfo("n", 0, "LONG", "BIGINT"),)
        self.truncated = False
        self.num_modified_rows = None
        self._batches = batches

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return iter(self._batches)


class FakeEngine:
    schema = pa.schema([("n", pa.int64())])

    def __init__(self) -> None:
        self._stop: dict[str, threading.Event] = {}

    @contextlib.contextmanager
    def execute(self, task: StatementTask) -> Iterator[FakeStream]:
        sql = task.sql.strip().lower()
        arg = sql[sql.find("(") + 1:sql.find(")")] if "(" in sql else sql.split()[1]
        stop = self._stop.setdefault(task.statement_id, threading.Event())
        try:
            if "fail(" in sql:
                raise FakeError("[FAKE_FAILURE] asked to fail")
            if "sleep(" in sql:
                if stop.wait(float(arg)):
                    raise FakeError("interrupted")
                rows = [1]
            elif "rows(" in sql:
                rows = list(range(int(arg)))
            else:
                rows = [int(arg)]
            batch = pa.record_batch([pa.array(rows, pa.int64())], schema=self.schema)
            yield FakeStream([batch], self.schema)
        finally:
            self._stop.pop(task.statement_id, None)

    def interrupt(self, statement_id: str) -> None:
        event = self._stop.get(statement_id)
        if event is not None:
            event.set()

    def estimate(self, task: StatementTask) -> CostEstimate:
        big = "BIG" in task.sql.upper()
        # The engine's fingerprint strips literals; the fake's SQL has numbers only.
        shape = re.sub(r"[0-9.]+", "?", task.sql.upper())
        return CostEstimate(files=1, bytes=10**12 if big else 100, fingerprint=shape)

    def prefetch(self, task: StatementTask, ttl_s: float) -> int:
        return 0  # no data files to fetch ahead

    def release_prefetch(self, statement_id: str) -> bool:
        return False

    def close(self) -> None:
        pass


def fake_estimate(task: StatementTask) -> CostEstimate:
    """The same estimate, for the gateway side of a test."""
    return FakeEngine().estimate(task)


def main(argv: list[str]) -> int:
    from engine.worker.process import run_worker
    from sqlgate.cli import build_settings, parser

    args = parser().parse_args(["worker", *argv])
    engine: Any = FakeEngine()
    return run_worker(build_settings(args, env={}), listen=args.listen,
                      ready_fd=args.ready_fd, engine=engine, stream=args.stream)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
