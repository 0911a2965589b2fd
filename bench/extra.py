"""What `sqlgate bench` needs beyond a plain install: the `bench` extra, checked before any import.

A plain `pip install sqlgate` has the product's dependencies only; the scenarios also draw plots
(matplotlib) and run an S3 server (moto). Checking up front turns a missing one into one line
naming the extra instead of a traceback from deep inside a scenario.
"""

from __future__ import annotations

import importlib.util

# Top-level modules of the `bench` extra in pyproject.toml that the scenarios import or run.
# roapi is in the extra too, but the peers scenario skips it (and says so) when it is absent.
EXTRA_MODULES = ("matplotlib", "moto")

INSTALL_HINT = "pip install 'sqlgate[bench]'"


def missing() -> list[str]:
    """The modules of the bench extra that cannot be imported here."""
    return [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]


def require() -> None:
    """Exit with one line naming the extra when any of its modules is missing."""
    absent = missing()
    if absent:
        raise SystemExit(
            f"sqlgate bench needs the bench extra: {INSTALL_HINT} (missing: {', '.join(absent)})"
        )
