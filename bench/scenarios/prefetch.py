"""`prefetch`: wires in `bench/prefetch.py` (the I/O engineer's scenario code).

That module measures a small-file table on the S3 test server behind a latency proxy,
prefetch on and off, cold and warm cache. Its `run(ctx)` answers a `Section` (or a dict
of figures, which becomes the section's summary and raw data); until it exists the
scenario is reported as skipped.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from bench.context import BenchContext, Section, Table


def run(ctx: BenchContext) -> Section:
    """Delegate to bench.prefetch.run, or report why not."""
    if importlib.util.find_spec("bench.prefetch") is None:
        return Section("prefetch", skipped="bench/prefetch.py is not there yet")
    module = importlib.import_module("bench.prefetch")
    runner = getattr(module, "run", None)
    if runner is None:
        return Section("prefetch", skipped="bench/prefetch.py has no run(ctx)")
    result: Any = runner(ctx)
    if isinstance(result, Section):
        return result
    section = Section("prefetch", summary=dict(result), raw=dict(result))
    flat = [[k, v] for k, v in result.items() if isinstance(v, int | float | str)]
    if flat:
        section.tables.append(Table("Prefetch figures", ["figure", "value"], flat))
    return section
