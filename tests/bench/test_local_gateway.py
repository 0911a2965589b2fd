"""`--start-local`: the harness starts a real gateway subprocess, drives it, and stops it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

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
    # Thrift streams (databricks-sql-connector) ran the same orders by default.
    thrift = section["raw"]["sqlgate Thrift"]["records"]
    assert {(r["query"], r["rows"], r["ok"]) for r in thrift} == {("q01", 4, True),
                                                                  ("q06", 1, True)}
    assert section["raw"]["sqlgate Thrift"]["orders"] == section["raw"]["sqlgate REST"]["orders"]
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
    # rest_latency and the pool-level part ran with the documented sample counts.
    assert len(section["raw"]["rest_select1_s"]) == 100
    pool = section["summary"]["pool"]
    assert pool["cold_start_s"]["n"] == 1 and pool["warm_ms"]["n"] == 60
    report = (out / "report.md").read_text()
    assert "| REST SELECT 1 p50 (keep-alive POST) |" in report
    assert "| pool cold start p50 (STOPPED -> first row) |" in report


def test_fetch_through_a_local_gateway_records_peak_memory(
    tmp_path: Path, bench_data: Path, bench_lake: Any
) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "out"
    assert main(["fetch", "--start-local", "--sf", "0.01", "--repeats", "1",
                 "--out", str(out), "--data", str(bench_data), "--no-progress"]) == 0
    section = json.loads((out / "results.json").read_text())["scenarios"]["fetch"]
    expected = sum(pq.ParquetFile(f).metadata.num_rows for f in bench_lake.files["lineitem"])
    for name, s in section["summary"].items():
        assert s["rows"] == expected and s["errors"] == 0, name
    sample = section["raw"]["EXTERNAL_LINKS arrow (fetch.client)"][0]
    assert sample["worker_peak_rss"] > 0 and sample["gateway_peak_rss"] > 0
    assert [r["target_mib"] for r in section["raw"]["chunk_targets"]] == [4, 16, 64]
    report = (out / "report.md").read_text()
    assert "| EXTERNAL_LINKS speed-up over INLINE (x) |" in report
