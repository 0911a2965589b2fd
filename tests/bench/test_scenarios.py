"""Each scenario at a tiny size through `sqlgate bench`, without a gateway (baselines only).

The checks tie the report to the run: counts in results.json equal what the streams sent,
every table row of report.md comes from results.json, the plots exist.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.cli import main
from sqlgate.cli import main as sqlgate_main

TINY = ["--sf", "0.01", "--no-progress", "--repeats", "2"]


def bench(tmp_path: Path, data: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "out"
    assert main([*args, *TINY, "--out", str(out), "--data", str(data)]) == 0
    doc: dict[str, Any] = json.loads((out / "results.json").read_text())
    doc["_report"] = (out / "report.md").read_text()
    doc["_out"] = out
    return doc


def test_concurrency_counts_match_what_was_sent(tmp_path: Path, bench_data: Path) -> None:
    doc = bench(tmp_path, bench_data, "concurrency", "--streams", "3", "--duration", "60",
                "--max-rounds", "1", "--query", "q01", "--query", "q06")
    section = doc["scenarios"]["concurrency"]
    duck = section["summary"]["duckdb in-process"]
    assert duck["sent"] == 3 * 2 == len(section["raw"]["duckdb in-process"]["records"])
    assert duck["succeeded"] == 6
    assert {r["query"] for r in section["raw"]["duckdb in-process"]["records"]} == {"q01", "q06"}
    assert section["params"]["baseline_threads"] >= 1
    assert doc["machine"]["versions"]["duckdb"]
    report = doc["_report"]
    assert "## concurrency" in report and "| duckdb in-process | 6 | 6 | 0 |" in report
    for plot in section["plots"]:
        assert (doc["_out"] / plot).stat().st_size > 1000
        assert f"]({plot})" in report


def test_mixed_has_both_lanes(tmp_path: Path, bench_data: Path) -> None:
    doc = bench(tmp_path, bench_data, "mixed", "--streams", "2", "--duration", "1")
    section = doc["scenarios"]["mixed"]
    lanes = section["summary"]["duckdb in-process"]
    records = section["raw"]["duckdb in-process"]["records"]
    for lane in ("short", "long"):
        mine = [r for r in records if r["lane"] == lane]
        assert lanes[lane]["count"] == len([r for r in mine if r["ok"]]) > 0
    assert {r["query"] for r in records if r["lane"] == "short"} == {"lookup"}
    assert "| duckdb in-process | short |" in doc["_report"]


def test_coldstart_without_gateway_measures_the_floor(tmp_path: Path, bench_data: Path) -> None:
    doc = bench(tmp_path, bench_data, "coldstart")
    section = doc["scenarios"]["coldstart"]
    assert len(section["raw"]["duckdb_select1_s"]) == section["params"]["warm_repeats"] == 40
    assert section["raw"]["cold_s"] == []
    assert "no gateway" in doc["_report"]
    # The pool-level part needs no gateway: it ran with --repeats cold starts.
    assert len(section["raw"]["pool_cold_s"]) == 2
    assert section["summary"]["pool"]["warm_ms"]["n"] == 120


def test_engine_tpch_compares_every_query_with_duckdb(tmp_path: Path, bench_data: Path) -> None:
    doc = bench(tmp_path, bench_data, "engine_tpch", "--query", "q01", "--query", "q06")
    section = doc["scenarios"]["engine_tpch"]
    queries = section["raw"]["queries"]
    assert [q["query"] for q in queries] == ["q01", "q06"]
    assert [(q["rows"], q["duckdb_rows"]) for q in queries] == [(4, 4), (1, 1)]
    total = sum(q["engine_s"] for q in queries)
    assert section["summary"]["engine_total_s"] == total
    assert section["summary"]["row_count_mismatches"] == []
    assert "| q01 | 4 |" in doc["_report"] and "| total |" in doc["_report"]


def test_fetch_reads_every_lineitem_row(
    tmp_path: Path, bench_data: Path, bench_lake: Any
) -> None:
    import pyarrow.parquet as pq

    doc = bench(tmp_path, bench_data, "fetch")
    section = doc["scenarios"]["fetch"]
    expected = sum(pq.ParquetFile(f).metadata.num_rows for f in bench_lake.files["lineitem"])
    duck = section["summary"]["duckdb in-process"]
    assert duck["rows"] == expected and duck["n"] == 2
    # the bare path (producer and sender processes, recv_into) delivered every row too
    bare = section["summary"]["bare path (floor)"]
    assert bare["rows"] == expected and bare["n"] == 2 and bare["errors"] == 0
    assert "bare path (the architecture's floor here)" in doc["_report"]


def test_peers_runs_roapi_when_installed(tmp_path: Path, bench_data: Path) -> None:
    from bench.peers_roapi import roapi_executable

    doc = bench(tmp_path, bench_data, "peers", "--streams", "1", "--duration", "2",
                "--query", "q01", "--query", "q06")
    section = doc["scenarios"]["peers"]
    latency = section["raw"]["latency"]
    assert [r["query"] for r in latency["duckdb in-process"]] == ["q01", "q06"] * 2
    if roapi_executable() is not None:
        rows = {r["query"]: r["rows"] for r in latency["roapi"]}
        duck = {r["query"]: r["rows"] for r in latency["duckdb in-process"]}
        assert rows == duck
    else:
        assert "roapi not installed" in doc["_report"]


@pytest.mark.s3
def test_prefetch_runs_the_io_scenario(tmp_path: Path, bench_data: Path) -> None:
    doc = bench(tmp_path, bench_data, "prefetch", "--prefetch-files", "4",
                "--latency-ms", "5")
    section = doc["scenarios"]["prefetch"]
    assert section["raw"]["files"] == 4 and section["raw"]["latency_ms"] == 5
    assert section["summary"]["same_answer"] is True
    assert "| s3_prefetch_cold |" in doc["_report"]


def test_sqlgate_cli_routes_to_bench_and_rejects_remote_targets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit, match=r"127\.0\.0\.1 only"):
        sqlgate_main(["bench", "concurrency", "--gateway", "http://example.com", "--token", "t",
                      "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        sqlgate_main(["bench", "nosuch"])
