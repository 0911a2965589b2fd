"""A tiny TPC-H lake shared by the bench tests (built once per session, SF 0.01)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.data import TpchLake, ensure_tpch_lake

SF = 0.01


@pytest.fixture(scope="session")
def bench_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The --data directory of the bench tests, with the SF 0.01 lake already in it."""
    data = tmp_path_factory.mktemp("bench-data")
    ensure_tpch_lake(data / f"tpch-sf{SF:g}", SF)
    return data


@pytest.fixture(scope="session")
def bench_lake(bench_data: Path) -> TpchLake:
    """The SF 0.01 lake itself (reused from the stamp, not rebuilt)."""
    return ensure_tpch_lake(bench_data / f"tpch-sf{SF:g}", SF)
