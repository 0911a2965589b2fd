from __future__ import annotations

import pytest

from bench.stats import Record, percentile, ratio, summarize, throughput_series


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 99) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)
    assert percentile([float(i) for i in range(101)], 95) == pytest.approx(95.0)


def test_summarize_counts_what_was_recorded() -> None:
    records = [
        Record(0, "q01", 0.0, 1.0, True, rows=4),
        Record(0, "q02", 1.0, 3.0, True, rows=1),
        Record(1, "q01", 0.0, 0.5, False, error="BAD_REQUEST: boom"),
    ]
    s = summarize(records, elapsed_s=3.6)
    assert (s["sent"], s["succeeded"], s["failed"]) == (3, 2, 1)
    assert s["queries_per_hour"] == pytest.approx(2000.0)
    per = s["per_query"]
    assert per["q01"]["count"] == 1 and per["q01"]["errors"] == 1
    assert per["q02"]["p50"] == pytest.approx(2.0)
    assert s["errors"] == {"BAD_REQUEST: boom": 1}


def test_throughput_series_buckets_successes_by_end_time() -> None:
    records = [Record(0, "a", 0, 0.2, True), Record(0, "a", 0, 1.5, True),
               Record(0, "a", 0, 1.7, True), Record(0, "a", 0, 2.5, False)]
    assert throughput_series(records) == [1, 2]


def test_ratio_handles_missing_values() -> None:
    assert ratio(2.0, 4.0) == 0.5
    assert ratio(None, 1.0) is None
    assert ratio(1.0, 0.0) is None
