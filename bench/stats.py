"""Figures from raw query records: percentiles, per-query summaries, throughput over time."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Record:
    """One query as a client saw it; times are seconds since the run started."""

    stream: int
    query: str
    start: float
    end: float
    ok: bool
    rows: int = 0
    error: str | None = None
    lane: str = ""

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def to_json(self) -> dict[str, object]:
        """The record as plain JSON values."""
        return asdict(self)


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), None for no values.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.5
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """count, mean, p50/p95/p99 and max of a list of latencies (seconds)."""
    return {
        "count": len(seconds),
        "mean": sum(seconds) / len(seconds) if seconds else None,
        "p50": percentile(seconds, 50),
        "p95": percentile(seconds, 95),
        "p99": percentile(seconds, 99),
        "max": max(seconds) if seconds else None,
    }


def summarize(records: Iterable[Record], elapsed_s: float) -> dict[str, object]:
    """Totals, queries per hour and per-query latency summaries of one run."""
    records = list(records)
    ok = [r for r in records if r.ok]
    per_query: dict[str, dict[str, object]] = {}
    for name in sorted({r.query for r in records}):
        mine = [r for r in records if r.query == name]
        summary: dict[str, object] = dict(latency_summary([r.seconds for r in mine if r.ok]))
        summary["errors"] = sum(1 for r in mine if not r.ok)
        per_query[name] = summary
    errors: dict[str, int] = {}
    for r in records:
        if not r.ok:
            key = (r.error or "unknown")[:120]
            errors[key] = errors.get(key, 0) + 1
    return {
        "sent": len(records),
        "succeeded": len(ok),
        "failed": len(records) - len(ok),
        "elapsed_s": elapsed_s,
        "queries_per_hour": len(ok) / elapsed_s * 3600.0 if elapsed_s > 0 else 0.0,
        "latency": latency_summary([r.seconds for r in ok]),
        "per_query": per_query,
        "errors": errors,
    }


def throughput_series(records: Iterable[Record], bucket_s: float = 1.0) -> list[int]:
    """Queries finished (successfully) in each `bucket_s` window since the start."""
    ends = [r.end for r in records if r.ok]
    if not ends:
        return []
    series = [0] * (int(max(ends) // bucket_s) + 1)
    for end in ends:
        series[int(end // bucket_s)] += 1
    return series


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline, None when either is missing or the baseline is zero."""
    if value is None or baseline is None or baseline == 0:
        return None
    return value / baseline
