"""PNG plots with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

# The backend is chosen before pyplot is imported, so no display is ever needed.
matplotlib.use("Agg")

import matplotlib.pyplot as plt


def latency_boxes(
    lanes: Mapping[str, Sequence[float]], path: Path, title: str, log: bool = True
) -> Path:
    """One box (with outliers) per lane of latencies in seconds."""
    names = [n for n, v in lanes.items() if v]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(names) + 2), 4.5))
    if names:
        ax.boxplot([list(lanes[n]) for n in names], tick_labels=names, showfliers=True)
        if log:
            ax.set_yscale("log")
    ax.set_ylabel("latency (s)")
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=45)
    return _save(fig, path)


def throughput_lines(
    series: Mapping[str, Sequence[int]], path: Path, title: str, bucket_s: float = 1.0
) -> Path:
    """Queries finished per second over the run, one line per system."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, counts in series.items():
        ax.plot([i * bucket_s for i in range(len(counts))],
                [c / bucket_s for c in counts], label=name)
    ax.set_xlabel("time since start (s)")
    ax.set_ylabel("queries / s")
    ax.set_title(title)
    if series:
        ax.legend()
    return _save(fig, path)


def histogram(
    groups: Mapping[str, Sequence[float]], path: Path, title: str, xlabel: str = "seconds"
) -> Path:
    """Overlaid histograms, e.g. cold and warm first-row times."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, values in groups.items():
        if values:
            ax.hist(list(values), bins=min(30, max(5, len(values))), alpha=0.6, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.set_title(title)
    if any(groups.values()):
        ax.legend()
    return _save(fig, path)


def bars(values: Mapping[str, float], path: Path, title: str, ylabel: str) -> Path:
    """One bar per system, e.g. MB/s of each fetch path."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(list(values), list(values.values()))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=20)
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
