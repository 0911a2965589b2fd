"""The run's outputs: results.json (every raw figure) and report.md (tables and plots)."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.context import BenchContext, Section, Table

_PACKAGES = (
    "sqlgate", "duckdb", "deltalake", "pyarrow", "sqlglot", "httpx", "uvicorn", "starlette",
    "databricks-sql-connector", "databricks-sdk", "moto", "roapi", "tpchgen-cli",
)


def machine_info() -> dict[str, Any]:
    """Host, CPU, memory, Python and package versions, and the git commit."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "memory_bytes": _memory_bytes(),
        "versions": {},
    }
    for name in _PACKAGES:
        try:
            info["versions"][name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info["versions"][name] = None
    try:
        info["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
            cwd=Path(__file__).parent,
        ).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        info["git_commit"] = None
    return info


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


def write_results(ctx: BenchContext, sections: list[Section], started: float) -> Path:
    """results.json: run parameters, machine info, settings and every scenario's figures."""
    params = {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in dataclasses.asdict(ctx).items()
        if k not in ("target", "_lake", "gateways_started")
    }
    if ctx.target is not None:
        params["gateway_url"] = ctx.target.url
    lake = ctx._lake
    doc: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "elapsed_s": time.time() - started,
        "params": params,
        "machine": machine_info(),
        "gateway_settings": dataclasses.asdict(ctx.gateway_settings()),
        "gateways_started": ctx.gateways_started,
        "data": None if lake is None else {
            "root": str(lake.root), "scale_factor": lake.scale_factor, "writer": lake.writer,
            "seconds": lake.seconds, "bytes": lake.total_bytes(),
            "files": {t: len(f) for t, f in lake.files.items()},
        },
        "scenarios": {s.name: dataclasses.asdict(s) for s in sections},
    }
    # The signing secret is per run and means nothing to a reader; keep it out of files.
    doc["gateway_settings"]["fetch"]["signing_secret"] = "<redacted>"
    path = ctx.out / "results.json"
    path.write_text(json.dumps(doc, indent=1, default=str))
    return path


def write_report(ctx: BenchContext, sections: list[Section]) -> Path:
    """report.md: one part per scenario with its tables, notes and plots."""
    m = machine_info()
    where = (f"given: {ctx.target.url}" if ctx.target
             else "local (started by the harness)" if ctx.start_local else "none")
    lines = [
        "# sqlgate benchmark report",
        "",
        f"Machine: {m['cpus']} CPUs, {(m['memory_bytes'] or 0) / 2**30:.1f} GiB, "
        f"{m['platform']}, Python {m['python']}; duckdb {m['versions']['duckdb']}; "
        f"commit {(m['git_commit'] or '?')[:12]}.",
        f"TPC-H scale factor {ctx.sf:g}; streams {ctx.streams}; duration {ctx.duration_s:g}s; "
        f"gateway: {where}.",
        "Every figure below comes from this run's results.json; ratios are against the "
        "in-run baseline.",
        "",
    ]
    for s in sections:
        lines += [f"## {s.name}", ""]
        if s.skipped:
            lines += [f"Skipped: {s.skipped}", ""]
        for note in s.notes:
            lines += [f"- {note}"]
        if s.notes:
            lines.append("")
        for table in s.tables:
            lines += [*markdown_table(table), ""]
        for plot in s.plots:
            lines += [f"![{Path(plot).stem}]({plot})", ""]
    path = ctx.out / "report.md"
    path.write_text("\n".join(lines))
    return path


def markdown_table(table: Table) -> list[str]:
    """A titled markdown table; floats get 4 significant digits, None a dash."""
    out = [f"**{table.title}**", "", "| " + " | ".join(table.headers) + " |",
           "|" + "---|" * len(table.headers)]
    for row in table.rows:
        out.append("| " + " | ".join(fmt(v) for v in row) + " |")
    return out


def fmt(value: Any) -> str:
    """A cell: 4 significant digits for floats, '-' for None."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
