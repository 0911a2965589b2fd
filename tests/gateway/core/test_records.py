"""gateway.core.records: the chunks of a running statement cross the store."""

from __future__ import annotations

import time

from gateway.core.records import from_record, snapshot, to_record
from gateway.core.statement import Statement
from sqlgate.types import ChunkInfo, Disposition, StatementState, StatementTask


def test_chunks_listed_while_running_come_back_as_early_chunks() -> None:
    task = StatementTask("s1", "SELECT 1", workspace="ws", disposition=Disposition.EXTERNAL_LINKS)
    stmt = Statement(task=task, submitted_at=time.monotonic(), state=StatementState.RUNNING)
    stored = [ChunkInfo(1, 10, 10, 100, "ws/d/s1-x/1.arrow"),
              ChunkInfo(0, 0, 10, 100, "ws/d/s1-x/0.arrow")]
    snap = snapshot(stmt, "gw-a", "wh", time.monotonic)
    # the list keeps growing on the loop; the record lists only the first n
    snap.info["chunks"] = (stored, 1)
    stored.append(ChunkInfo(2, 20, 10, 100, "ws/d/s1-x/2.arrow"))
    back = from_record(to_record(snap), time.monotonic)
    assert back.state is StatementState.RUNNING
    assert back.early_chunks == {1: stored[0]}
    snap.info["chunks"] = (stored, 3)
    assert sorted(from_record(to_record(snap), time.monotonic).early_chunks) == [0, 1, 2]
    # a finished statement's record never carries the running list
    stmt.state = StatementState.FAILED
    done = snapshot(stmt, "gw-a", "wh", time.monotonic)
    assert "chunks" not in done.info and from_record(to_record(done), time.monotonic) \
        .early_chunks == {}
