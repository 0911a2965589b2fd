"""`--start-local`: the harness starts a real gateway subprocess, drives it, and stops it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.cli import main

pytestmark = pytest.mark.e2e


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_concurrency_and_coldstart_through_a_local_gateway(
    tmp_path: Path, bench_data: Path
) -> None:
    out = tmp_path / "out"
    rc = main(["concurrency", "--start-local", "--sf", "0.01", "--streams", "2",
               "--duration", "120", "--max-rounds", "1", "--query", "q01", "--query", "q06",
               "--out", str(out), "--data", str(bench_data), "--no-progress"])
    assert rc == 0
    doc = json.loads((out / "results.json").read_text())
    section = doc["scenarios"]["concurrency"]
    rest = section["summary"]["sqlgate REST"]
    records = section["raw"]["sqlgate REST"]["records"]
    # Exactly what the two streams sent, each query once, all answered with the right rows.
    assert rest["sent"] == len(records) == 4
    assert rest["failed"] == 0, rest["errors"]
    assert {(r["query"], r["rows"]) for r in records} == {("q01", 4), ("q06", 1)}
    assert len(doc["gateways_started"]) == 1
    # Stopped when the scenario ended: no gateway process outlives the run.
    assert not _alive(doc["gateways_started"][0]["pid"])
    log = Path(doc["gateways_started"][0]["log"]).read_text()
    assert "127.0.0.1" in log
    assert "| sqlgate REST | 4 | 4 | 0 |" in (out / "report.md").read_text()


def test_coldstart_stops_and_restarts_the_warehouse(tmp_path: Path, bench_data: Path) -> None:
    out = tmp_path / "out"
    assert main(["coldstart", "--start-local", "--sf", "0.01", "--repeats", "1",
                 "--out", str(out), "--data", str(bench_data), "--no-progress"]) == 0
    section = json.loads((out / "results.json").read_text())["scenarios"]["coldstart"]
    assert section["raw"]["errors"] == []
    assert len(section["raw"]["cold_s"]) == 1 and len(section["raw"]["warm_s"]) == 20
    # A cold start includes a worker start, so it cannot be faster than a warm statement.
    assert section["raw"]["cold_s"][0] > section["summary"]["warm"]["p50"]
