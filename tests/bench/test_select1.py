"""`sqlgate bench select1` at a tiny size: a real local gateway against its floor, one run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.scenarios.select1 import PARTS


@pytest.mark.slow
def test_select1_reports_the_ratio_of_the_gateway_to_its_floor(
    tmp_path: Path, bench_data: Path
) -> None:
    out = tmp_path / "out"
    assert main(["select1", "--start-local", "--sf", "0.01", "--repeats", "2", "--no-progress",
                 "--out", str(out), "--data", str(bench_data)]) == 0
    section = json.loads((out / "results.json").read_text())["scenarios"]["select1"]
    summary, raw = section["summary"], section["raw"]
    calls = section["params"]["rounds"] * section["params"]["calls_per_round"]
    for part in PARTS:
        assert summary[part]["count"] == len(raw[part]) == calls
    floor = summary["bare endpoint"]["p50"] + summary["duckdb select 1"]["p50"]
    assert summary["floor_p50"] == pytest.approx(floor)
    assert summary["ratio_p50"] == pytest.approx(summary["gateway"]["p50"] / floor)
    # the median of the rounds' own ratios, each round's parts measured side by side
    assert summary["ratio_p50_rounds_median"] > 0
    report = (out / "report.md").read_text()
    assert "## select1" in report and "gateway ÷ (bare endpoint + DuckDB SELECT 1)" in report
    assert "p50, median of rounds" in report and "load average" in report
    assert f"| gateway | {calls} |" in report
    # the same gateway with its worker on Flight, in the same rounds
    assert summary["stream_over_flight_p50"] == pytest.approx(
        summary["gateway"]["p50"] / summary["gateway, Flight lane"]["p50"])
    assert "Unix-socket lane against its Flight lane" in report


def test_select1_without_a_gateway_measures_the_floor_only(
    tmp_path: Path, bench_data: Path
) -> None:
    out = tmp_path / "out"
    assert main(["select1", "--sf", "0.01", "--repeats", "1", "--no-progress",
                 "--out", str(out), "--data", str(bench_data)]) == 0
    section = json.loads((out / "results.json").read_text())["scenarios"]["select1"]
    assert section["summary"]["gateway"]["count"] == 0
    assert section["summary"]["bare endpoint"]["count"] > 0
    assert section["summary"]["ratio_p50"] is None
    assert "only the floor" in (out / "report.md").read_text()
