"""Constant statements keep their translation, and only where it cannot change meaning."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Engine, InvalidParameter, translate
from engine.plans import ConstantPlans
from sqlgate.settings import EngineSettings
from sqlgate.types import Disposition, Parameter, ResultFormat, StatementTask

_ids = itertools.count()
DEFAULTS = ("main", "default")


def _task(sql: str, **kw: object) -> StatementTask:
    return StatementTask(f"p-{next(_ids)}", sql, **kw)  # type: ignore[arg-type]


def _rows(eng: Engine, sql: str, **kw: object) -> list[dict[str, object]]:
    with eng.execute(_task(sql, **kw)) as rs:
        return rs.read_all().to_pylist()


@pytest.fixture
def lake_engine(tmp_path: Path) -> Iterator[Engine]:
    settings = EngineSettings(lake=str(tmp_path / "lake"), memory_limit="512MB", threads=1,
                              cache_dir=str(tmp_path / "cache"))
    (tmp_path / "lake" / "main" / "s").mkdir(parents=True)
    (tmp_path / "lake" / "other" / "t").mkdir(parents=True)
    eng = Engine(settings)
    yield eng
    eng.close()


@pytest.fixture
def analyses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements `translate.analyze` was asked to analyse, in order."""
    seen: list[str] = []
    real = translate.analyze

    def counting(task: StatementTask, *args: object, **kw: object) -> translate.Analysis:
        seen.append(task.sql)
        return real(task, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(translate, "analyze", counting)
    return seen


def test_delivery_fields_share_a_plan_meaning_fields_do_not() -> None:
    plans = ConstantPlans(16)
    base = _task("SELECT :x", parameters=(Parameter("x", "1", "INT"),))
    plans.put(base, DEFAULTS, "SELECT CAST($x AS INTEGER)", {"x": "1"})
    same = dataclasses.replace(base, statement_id="other", row_limit=3, byte_limit=10,
                               disposition=Disposition.EXTERNAL_LINKS,
                               format=ResultFormat.CSV, timeout_s=1.0,
                               inline_byte_limit=5, use_cached_result=False)
    plan = plans.get(same, DEFAULTS)
    assert plan is not None and plan.values() == {"x": "1"}
    for different in (
        dataclasses.replace(base, sql="SELECT :x "),
        dataclasses.replace(base, parameters=(Parameter("x", "2", "INT"),)),
        dataclasses.replace(base, parameters=(Parameter("x", "1", "STRING"),)),
        dataclasses.replace(base, catalog="other"),
        dataclasses.replace(base, schema="other"),
        dataclasses.replace(base, catalogs=("main",)),
        dataclasses.replace(base, user="someone"),
        dataclasses.replace(base, workspace="elsewhere"),
        dataclasses.replace(base, session_id="s1"),
    ):
        assert plans.get(different, DEFAULTS) is None, different
    assert plans.get(base, ("other", "default")) is None


def test_bounded_least_recently_used_first() -> None:
    plans = ConstantPlans(2)
    a, b, c = _task("SELECT 1"), _task("SELECT 2"), _task("SELECT 3")
    plans.put(a, DEFAULTS, "SELECT 1", {})
    plans.put(b, DEFAULTS, "SELECT 2", {})
    assert plans.get(a, DEFAULTS) is not None  # a is now the most recently used
    plans.put(c, DEFAULTS, "SELECT 3", {})
    assert len(plans) == 2
    assert plans.get(b, DEFAULTS) is None
    assert plans.get(a, DEFAULTS) is not None and plans.get(c, DEFAULTS) is not None
    off = ConstantPlans(0)
    off.put(a, DEFAULTS, "SELECT 1", {})
    assert len(off) == 0 and off.get(a, DEFAULTS) is None


def test_a_repeated_constant_is_not_analysed_again(lake_engine: Engine,
                                                   analyses: list[str]) -> None:
    for _ in range(3):
        assert _rows(lake_engine, "SELECT 1 AS one, upper('x') AS u") == [{"one": 1, "u": "X"}]
    assert analyses == ["SELECT 1 AS one, upper('x') AS u"]


def test_no_plan_kept_when_turned_off(tmp_path: Path, analyses: list[str]) -> None:
    settings = EngineSettings(lake=str(tmp_path / "lake"), memory_limit="512MB", threads=1,
                              cache_dir=str(tmp_path / "cache"), constant_plans=0)
    (tmp_path / "lake").mkdir()
    eng = Engine(settings)
    try:
        for _ in range(2):
            assert _rows(eng, "SELECT 1 AS one") == [{"one": 1}]
    finally:
        eng.close()
    assert analyses == ["SELECT 1 AS one", "SELECT 1 AS one"]


def test_session_values_and_parameters_are_never_stale(lake_engine: Engine) -> None:
    sql = "SELECT current_catalog() AS c, current_schema() AS s"
    assert _rows(lake_engine, sql, catalog="main", schema="s") == [{"c": "main", "s": "s"}]
    assert _rows(lake_engine, sql, catalog="other", schema="t") == [{"c": "other", "s": "t"}]
    assert _rows(lake_engine, sql, catalog="main", schema="s") == [{"c": "main", "s": "s"}]
    for value in ("1", "2", "1"):
        got = _rows(lake_engine, "SELECT :x + 1 AS y", parameters=(Parameter("x", value, "INT"),))
        assert got == [{"y": int(value) + 1}]
    with pytest.raises(InvalidParameter):  # the same text, now without its parameter
        _rows(lake_engine, "SELECT :x + 1 AS y")


def test_a_view_is_read_again_even_when_it_reads_no_table(lake_engine: Engine,
                                                          analyses: list[str]) -> None:
    _rows(lake_engine, "CREATE VIEW main.s.v AS SELECT 1 AS a")
    assert _rows(lake_engine, "SELECT a FROM main.s.v") == [{"a": 1}]
    _rows(lake_engine, "DROP VIEW main.s.v")
    _rows(lake_engine, "CREATE VIEW main.s.v AS SELECT 2 AS a")
    assert _rows(lake_engine, "SELECT a FROM main.s.v") == [{"a": 2}]
    assert analyses.count("SELECT a FROM main.s.v") == 2


def test_a_failing_constant_fails_every_time(lake_engine: Engine) -> None:
    for _ in range(2):
        with pytest.raises(InvalidParameter, match=r"^\[CAST_INVALID_INPUT\]"):
            _rows(lake_engine, "SELECT CAST('x' AS INT) AS n")
