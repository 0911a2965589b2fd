"""The dashboard (result cache on vs off) and statestore (with vs without the state store)
scenarios against real local gateways, at a tiny size."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.test_scenarios import bench

pytestmark = pytest.mark.slow


def test_dashboard_answers_repeats_from_the_cache_and_never_stale(
        tmp_path: Path, bench_data: Path) -> None:
    doc = bench(tmp_path, bench_data, "dashboard", "--start-local", "--streams", "2",
                "--duration", "6")
    s = doc["scenarios"]["dashboard"]["summary"]
    off, on = s["cache off"], s["cache on"]
    assert off["failed"] == on["failed"] == 0
    assert off["from_cache"] == 0 < on["from_cache"] <= on["succeeded"]
    assert off["stale"] == on["stale"] == 0 and on["commits"] >= 1
    assert s["throughput_ratio"] > 1.0
    assert "| cache on |" in doc["_report"]


def test_statestore_compares_the_same_work_with_and_without(
        tmp_path: Path, bench_data: Path) -> None:
    doc = bench(tmp_path, bench_data, "statestore", "--start-local", "--streams", "2",
                "--duration", "2", "--query", "q06")
    s = doc["scenarios"]["statestore"]["summary"]
    for mode in ("state store (sqlite)", "no state store"):
        assert s["select1"][mode]["count"] == 2 * 200
        for rnd in s["concurrency_rounds"]:
            assert rnd[mode]["failed"] == 0 < rnd[mode]["succeeded"]
    assert len(s["concurrency_rounds"]) == 2
    for key in ("select1_p50_ratio", "concurrency_qph_ratio", "concurrency_p95_ratio"):
        assert s[key]["rounds"] == 2 and s[key]["min"] <= s[key]["median"] <= s[key]["max"]
    assert "ratio (store ÷ none)" in doc["_report"] and "median and spread" in doc["_report"]
