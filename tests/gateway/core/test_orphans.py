"""Result chunks nobody points to are swept when the gateway starts (gateway/core/orphans)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from gateway.app import build_app
from gateway.core.orphans import orphaned, statement_folders
from gateway.core.store import StatementRecord
from gateway.core.stores import open_state_store
from sqlgate.settings import Settings
from tests.gateway.conftest import TestClient
from tests.gateway.fakes import FakeBackend


def _record(sid: str, state: str, folder: str | None = None) -> StatementRecord:
    manifest = None if folder is None else json.dumps(
        {"chunks": [{"chunk_index": 0, "key": f"{folder}0.arrow"}]})
    now = time.time()
    return StatementRecord(statement_id=sid, workspace="default", owner="gone-gateway",
                           state=state, task="{}", submitted_at=now, ended_at=now,
                           manifest=manifest)


def test_the_rules() -> None:
    kept = "default/20261203/s1-aa/"
    assert statement_folders([f"{kept}0.arrow", f"{kept}1.arrow", "x/y.txt"]) == {kept: "s1"}
    assert orphaned(kept, None, authoritative=True)
    assert not orphaned(kept, None, authoritative=False)
    assert not orphaned(kept, _record("s1", "RUNNING"), authoritative=True)
    assert not orphaned(kept, _record("s1", "SUCCEEDED", kept), authoritative=True)
    assert orphaned(kept, _record("s1", "SUCCEEDED", "default/20261203/s1-bb/"), True)
    for state in ("FAILED", "CANCELED", "CLOSED"):
        assert orphaned(kept, _record("s1", state, kept), authoritative=False)


def test_startup_sweeps_what_nothing_points_to(tmp_path: Path) -> None:
    results = tmp_path / "results"
    folders = {name: f"default/20261203/{name}-{'ab' * 16}/" for name in
               ("kept", "failed", "unknown", "running")}
    for folder in folders.values():
        (results / folder).mkdir(parents=True)
        (results / folder / "0.arrow").write_bytes(b"chunk")
    (results / "README").write_text("not ours")
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    state = open_state_store(state_url)
    state.put_statements([_record("kept", "SUCCEEDED", folders["kept"]),
                          _record("failed", "FAILED", folders["failed"]),
                          _record("running", "RUNNING")])
    state.close()
    settings = Settings().replace(token="t", results=str(results), state_store=state_url,
                                  shutdown_grace_s=0.5)
    with TestClient(build_app(settings, backend=FakeBackend())):
        left = sorted(p.relative_to(results).as_posix() for p in results.rglob("*.arrow"))
    # a statement another gateway still runs keeps its chunks; one with a kept result too
    assert left == sorted(f"{folders[n]}0.arrow" for n in ("kept", "running"))
    assert (results / "README").exists()
