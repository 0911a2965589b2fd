"""One module per scenario, each with `run(ctx) -> Section`; `SCENARIOS` lists them in order."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from bench.context import BenchContext, Section

SCENARIOS = (
    "concurrency", "mixed", "coldstart", "select1", "fetch", "prefetch", "peers", "engine_tpch",
    "dashboard", "statestore",
)


def scenario(name: str) -> Callable[[BenchContext], Section]:
    """The `run` function of a scenario; imported on demand so `all` pays only once each."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; one of {', '.join(SCENARIOS)}, all")
    module = importlib.import_module(f"bench.scenarios.{name}")
    run: Callable[[BenchContext], Section] = module.run
    return run


__all__ = ["SCENARIOS", "scenario"]
