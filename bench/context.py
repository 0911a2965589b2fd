"""What every scenario gets: the run's parameters, its data, and gateways on demand."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.clients import Target
from bench.data import TpchLake, ensure_tpch_lake
from bench.local import LocalGateway
from bench.queries import load_queries
from sqlgate.settings import Settings


@dataclass(frozen=True)
class Table:
    """A report table: a title, headers and rows of plain values."""

    title: str
    headers: list[str]
    rows: list[list[Any]]


@dataclass
class Section:
    """One scenario's outcome: raw figures for results.json, tables and plots for report.md."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None


@dataclass
class BenchContext:
    """The parameters of one `sqlgate bench` run, shared by its scenarios."""

    out: Path
    sf: float = 0.01
    duration_s: float = 60.0
    streams: int = 32
    repeats: int = 5
    max_rounds: int = 1000
    prefetch_files: int = 200
    latency_ms: float = 20.0
    seed: int = 0
    target: Target | None = None
    start_local: bool = False
    data_dir: Path = Path(".bench-data")
    settings: dict[str, str] = field(default_factory=dict)
    catalog: str = "main"
    schema: str = "tpch"
    query_timeout_s: float = 600.0
    only_queries: list[str] | None = None
    thrift_path: str | None = None
    # Also drive a started gateway through databricks-sql-connector (Thrift) in `concurrency`.
    thrift: bool = True
    progress: bool = True
    gateways_started: list[dict[str, Any]] = field(default_factory=list)
    _lake: TpchLake | None = None

    @property
    def work(self) -> Path:
        """Scratch space of the run (gateway logs, result stores)."""
        return self.out / "work"

    @property
    def has_gateway(self) -> bool:
        """True when gateway scenarios can run (given URL or --start-local)."""
        return self.target is not None or self.start_local

    def lake(self) -> TpchLake:
        """The TPC-H lake at this run's scale factor, built on first use."""
        if self._lake is None:
            self._lake = ensure_tpch_lake(
                self.data_dir / f"tpch-sf{self.sf:g}", self.sf, self.catalog, self.schema
            )
        return self._lake

    def queries(self) -> dict[str, str]:
        """The TPC-H texts (Databricks dialect) this run uses."""
        return load_queries(only=self.only_queries)

    def gateway_settings(self, extra: Mapping[str, str] | None = None) -> Settings:
        """The settings a local gateway of this run gets (for the report and thread counts)."""
        return Settings.load(env={}, overrides={**self.settings, **(extra or {})})

    def engine_threads(self, extra: Mapping[str, str] | None = None) -> int:
        """Total DuckDB threads the gateway's pool may use: the baseline gets as many."""
        s = self.gateway_settings(extra)
        return max(1, s.pool.max_workers * s.engine.threads)

    @contextlib.contextmanager
    def gateway(
        self, extra: Mapping[str, str] | None = None, name: str = "gateway"
    ) -> Iterator[Target | None]:
        """The given gateway, a local one started for the block, or None when neither."""
        if self.target is not None:
            yield self.target
            return
        if not self.start_local:
            yield None
            return
        settings = {**self.settings, **(extra or {})}
        gw = LocalGateway(self.lake().root, self.work, settings, name=name)
        try:
            gw.start()
            self.gateways_started.append(
                {"name": name, "settings": settings, "start_s": gw.started_s,
                 "log": str(gw.log_path), "pid": gw.proc.pid if gw.proc else None}
            )
            yield gw.target
        finally:
            gw.stop()
