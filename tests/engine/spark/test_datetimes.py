"""engine.spark.datetimes: the refusals and column names the Spark fixture cannot show."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Engine
from engine.errors import EngineError, Unsupported
from fetch.jsonrows import rows_as_strings
from sqlgate.types import StatementTask
from tests.engine.spark.differential import open_engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = open_engine(Path(tmp_path_factory.mktemp("datetimes")))
    yield eng
    eng.close()


def _rows(engine: Engine, sql: str) -> tuple[list[str], list[list[str | None]]]:
    with engine.execute(StatementTask("d", sql)) as rs:
        return [c.name for c in rs.columns], rows_as_strings(rs.read_all())


@pytest.mark.parametrize("sql", [
    "SELECT time_bucket(INTERVAL '1-2' YEAR TO MONTH, TIMESTAMP'2024-01-01 00:00:00')",
    "SELECT time_bucket(x, TIMESTAMP'2024-01-01 00:00:00') FROM VALUES "
    "(INTERVAL 1 DAY) AS t(x)",
    "SELECT make_timestamp_ntz(DATE'2024-01-01', TIME'01:00:00', 'UTC')",
    "SELECT make_timestamp(DATE'2024-01-01', '01:00:00')",
])
def test_forms_without_spark_semantics_are_refused(engine: Engine, sql: str) -> None:
    with pytest.raises(Unsupported, match=r"UNSUPPORTED_FEATURE|WRONG_NUM_ARGS"):
        _rows(engine, sql)


def test_overlapping_wall_clock_takes_the_earlier_instant(engine: Engine) -> None:
    """01:30 happens twice in London on 2024-10-27: java.time (Spark) takes BST's."""
    names, rows = _rows(engine, "SELECT to_utc_timestamp(TIMESTAMP'2024-10-27 01:30:00', "
                                "'Europe/London') AS u, next_day(DATE'2024-02-29', 'SU')")
    assert names[0] == "u" and names[1].startswith("next_day(")
    assert rows == [["2024-10-27T00:30:00Z", "2024-03-03"]]


def test_bad_day_of_week_raises_spark_error_class(engine: Engine) -> None:
    with pytest.raises(EngineError, match="ILLEGAL_DAY_OF_WEEK"):
        _rows(engine, "SELECT next_day(DATE'2024-01-01', 'xx')")


@pytest.mark.parametrize("sql", [
    "SELECT time_bucket(INTERVAL '1' DAY, DATE'2024-01-05')",
    "SELECT time_bucket(INTERVAL '1' DAY, TIMESTAMP_NTZ'2024-01-05 00:00:00', "
    "TIMESTAMP'2024-01-01 00:00:00')",
])
def test_time_bucket_types_are_checked_as_spark_does(engine: Engine, sql: str) -> None:
    with pytest.raises(EngineError, match="DATATYPE_MISMATCH"):
        _rows(engine, sql)
