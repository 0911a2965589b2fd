"""Engine test helpers: an Engine over the session's TPC-H lake and a query shortcut."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from engine import Engine
from sqlgate.settings import EngineSettings
from sqlgate.types import Parameter, StatementTask

_ids = itertools.count()


@pytest.fixture(scope="module")
def engine(engine_settings: EngineSettings) -> Iterator[Engine]:
    """An Engine over the SF 0.01 lake, default schema main.tpch."""
    eng = Engine(engine_settings)
    yield eng
    eng.close()


def run(eng: Engine, sql: str, *, schema: str | None = "tpch", catalog: str | None = None,
        params: dict[str, tuple[str | None, str]] | None = None, **kw: object) -> pa.Table:
    """Execute one statement and read its whole result."""
    task = StatementTask(
        f"t-{next(_ids)}", sql, catalog=catalog, schema=schema,
        parameters=tuple(Parameter(k, v, t) for k, (v, t) in (params or {}).items()),
        **kw,  # type: ignore[arg-type]
    )
    with eng.execute(task) as rs:
        return rs.read_all()


@pytest.fixture
def scratch_engine(tmp_path: Path) -> Iterator[tuple[Engine, EngineSettings]]:
    """An Engine over an empty lake of its own, for tests that write tables."""
    settings = EngineSettings(lake=str(tmp_path / "lake"), memory_limit="512MB", threads=1,
                              cache_dir=str(tmp_path / "cache"))
    (tmp_path / "lake" / "main").mkdir(parents=True)  # the catalog; schemas are made by SQL
    eng = Engine(settings)
    yield eng, settings
    eng.close()
