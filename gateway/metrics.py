"""Prometheus text metrics: statements by state, latency histograms, each warehouse's gauges.

No client library: a counter is a dict, a histogram a list of bucket counts, and `render`
writes the text exposition format (version 0.0.4). Each workspace's warehouse (pool) reports
its own gauges, labelled ``warehouse_id``: state, workers, cold starts, and per scheduler
lane the queue depth (``sqlgate_pool_scheduler_lanes_queued{lane="short",...}``).

>>> m = Metrics()
>>> m.http.observe(0.003, route="/healthz")
>>> 'sqlgate_http_request_seconds_bucket{route="/healthz",le="0.005"} 1' in m.render([], {})
True
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from gateway.core.registry import Statement
from sqlgate.types import StatementState

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
_NAME = re.compile(r"[^a-zA-Z0-9_]")


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(
        f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in sorted(labels.items())
    )
    return "{" + inner + "}"


class Histogram:
    """A labelled histogram with fixed buckets (seconds)."""

    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...] = _BUCKETS) -> None:
        self.name, self.help, self.buckets = name, help_text, buckets
        # label tuple -> (bucket counts, sum, count)
        self._series: dict[tuple[tuple[str, str], ...], tuple[list[int], list[float]]] = {}

    def observe(self, seconds: float, **labels: str) -> None:
        """Record one observation."""
        key = tuple(sorted(labels.items()))
        series = self._series.get(key)
        if series is None:  # (not setdefault: that builds the empty series on every call)
            series = self._series[key] = ([0] * len(self.buckets), [0.0, 0.0])
        counts, total = series
        i = bisect.bisect_left(self.buckets, seconds)
        if i < len(counts):
            counts[i] += 1
        total[0] += seconds
        total[1] += 1

    def lines(self) -> Iterable[str]:
        """The exposition lines of this histogram."""
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for key, (counts, (total, n)) in sorted(self._series.items()):
            labels = dict(key)
            running = 0
            for bound, c in zip(self.buckets, counts, strict=True):
                running += c
                yield f"{self.name}_bucket{_labels({**labels, 'le': f'{bound:g}'})} {running}"
            yield f"{self.name}_bucket{_labels({**labels, 'le': '+Inf'})} {int(n)}"
            yield f"{self.name}_sum{_labels(labels)} {total:.6f}"
            yield f"{self.name}_count{_labels(labels)} {int(n)}"


class Metrics:
    """The gateway's counters and histograms."""

    def __init__(self) -> None:
        self.http = Histogram("sqlgate_http_request_seconds", "HTTP request latency by route.")
        self.statement = Histogram(
            "sqlgate_statement_seconds", "Statement latency, submit to terminal state, by state."
        )
        self.queue = Histogram("sqlgate_statement_queue_seconds", "Time statements waited queued.")
        self.finished: dict[str, int] = {}

    def statement_finished(self, stmt: Statement) -> None:
        """Registry hook: count and time a statement that reached a terminal state."""
        state = stmt.state.value
        self.finished[state] = self.finished.get(state, 0) + 1
        if stmt.ended_at is not None:
            self.statement.observe(max(0.0, stmt.ended_at - stmt.submitted_at), state=state)
        if stmt.queue_ms is not None:
            self.queue.observe(stmt.queue_ms / 1000.0)

    def render(
        self, statements: Iterable[Statement], pools: Mapping[str, Mapping[str, Any] | str],
        *, aggregate: bool = False,
    ) -> str:
        """The full exposition text, merging each warehouse's metrics (by warehouse id).

        ``aggregate`` sums the warehouses' gauges without their ids (the anonymous scrape:
        a warehouse id names a workspace), e.g. ``sqlgate_pool_state{state="RUNNING"} 3``
        counts running warehouses.
        """
        out: list[str] = []
        current = {s.value: 0 for s in StatementState}
        for stmt in statements:
            current[stmt.state.value] += 1
        out += ["# HELP sqlgate_statements Statements held by the registry, by state.",
                "# TYPE sqlgate_statements gauge"]
        out += [f'sqlgate_statements{{state="{k}"}} {v}' for k, v in sorted(current.items())]
        out += ["# HELP sqlgate_statements_finished_total Statements that ended, by state.",
                "# TYPE sqlgate_statements_finished_total counter"]
        out += [
            f'sqlgate_statements_finished_total{{state="{k}"}} {v}'
            for k, v in sorted(self.finished.items())
        ]
        out += list(self.statement.lines()) + list(self.queue.lines()) + list(self.http.lines())
        out += list(_summed_lines(pools) if aggregate else _pool_lines(pools))
        return "\n".join(out) + "\n"


def _pool_lines(pools: Mapping[str, Mapping[str, Any] | str]) -> Iterable[str]:
    """Every warehouse's metrics as gauges labelled warehouse_id, one family per name.

    A flat number becomes ``sqlgate_pool_<key>``; a text value (the state) a labelled 1; a
    mapping of numbers ``sqlgate_pool_<key>{key=...}``; a mapping of mappings (the
    scheduler's lanes) ``sqlgate_pool_<key>_<field>{<key minus s>=...}``. Text from a
    backend that renders its own metrics is passed through.
    """
    families: dict[str, list[str]] = {}
    passthrough: list[str] = []
    for warehouse_id, metrics in sorted(pools.items()):
        if isinstance(metrics, str):
            passthrough.append(metrics.rstrip("\n"))
            continue
        for name, labels, value in _samples("sqlgate_pool", metrics):
            line = f"{name}{_labels({**labels, 'warehouse_id': warehouse_id})} {value}"
            families.setdefault(name, []).append(line)
    for name, lines in sorted(families.items()):
        yield f"# TYPE {name} gauge"
        yield from lines
    yield from passthrough


def _summed_lines(pools: Mapping[str, Mapping[str, Any] | str]) -> Iterable[str]:
    """Every warehouse's gauges summed per name and labels, without warehouse ids; text a
    backend rendered itself is left out, since it may carry its ids."""
    sums: dict[str, dict[str, float | int]] = {}
    for metrics in pools.values():
        if isinstance(metrics, str):
            continue
        for name, labels, value in _samples("sqlgate_pool", metrics):
            family = sums.setdefault(name, {})
            key = _labels(labels)
            family[key] = family.get(key, 0) + value
    for name, values in sorted(sums.items()):
        yield f"# TYPE {name} gauge"
        yield from (f"{name}{labels} {value}" for labels, value in sorted(values.items()))


def _samples(
    prefix: str, metrics: Mapping[str, Any], labels: Mapping[str, str] | None = None
) -> Iterable[tuple[str, dict[str, str], float | int]]:
    base = dict(labels or {})
    for key, value in sorted(metrics.items()):
        name = f"{prefix}_{_NAME.sub('_', key)}"
        if isinstance(value, str):
            # An enum-like value (the warehouse state) becomes a labelled 1.
            yield name, {**base, _NAME.sub("_", key): _NAME.sub("_", value)}, 1
        elif isinstance(value, Mapping) and value and all(
            isinstance(v, Mapping) for v in value.values()
        ):
            # A keyed collection, e.g. lanes -> short -> {queued: 3}:
            # sqlgate_pool_scheduler_lanes_queued{lane="short"} 3
            label_name = key[:-1] if key.endswith("s") else "key"
            for label, sub in sorted(value.items()):
                yield from _samples(name, sub, {**base, label_name: str(label)})
        elif isinstance(value, Mapping):
            for label, v in sorted(value.items()):
                if isinstance(v, Mapping):
                    yield from _samples(name, {label: v}, base)
                elif (n := _number(v)) is not None:
                    yield name, {**base, "key": str(label)}, n
        elif (n := _number(value)) is not None:
            yield name, base, n


def _number(value: Any) -> float | int | None:
    """A finite number (booleans as 0/1), or None for anything a gauge cannot hold."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return value
    return None


__all__ = ["Histogram", "Metrics"]
