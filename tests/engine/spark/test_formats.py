"""Spark's number formats (to_char/to_number) and Java's DecimalFormat (format_number):
the format languages on their own, and their errors through the engine.

The values here were checked against Spark 4.3 (ANSI mode); the differential suite
(test_functions.py) covers Spark's documented examples end to end.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from engine import Engine
from engine.errors import AnalysisError, EngineError, Unsupported
from engine.spark.decimalformat import Pattern, format_double
from engine.spark.numformat import NumberFormat
from fetch.jsonrows import rows_as_strings
from sqlgate.types import StatementTask
from tests.engine.spark.differential import open_engine


@pytest.mark.parametrize(("text", "fmt", "want"), [
    ("  454", "999", Decimal("454")),
    ("4 54", "999", Decimal("454")),
    ("1 , 2", "9,9", Decimal("12")),
    ("12", "9,9", None),          # a group larger than its run
    ("5", "09", None),            # a run starting with 0 needs all its digits
    ("<5>", "9PR", Decimal("-5")),
    ("5+", "9S", Decimal("5")),
    ("-5", "MI9", Decimal("-5")),
    ("5.", "9.9", Decimal("5.0")),
    ("abc", "999", None),
])
def test_to_number_reads_spark_formats(text: str, fmt: str, want: Decimal | None) -> None:
    assert NumberFormat(fmt).parse(text) == want


@pytest.mark.parametrize(("value", "fmt", "want"), [
    ("1234.5", "99.99", "##.##"),   # does not fit: every digit is #
    ("-5", "S999", "  -5"),
    ("5", "MI999", "   5"),
    ("-5.5", "999.99PR", "  <5.50>"),
    ("0.5", ".99", ".50"),
    ("12", "9,999", "   12"),
    ("-5", "0000PR", "<0005>"),
    ("5", "$000S", "$005+"),
    ("12454.8", "99G999D9MI", "12,454.8 "),
])
def test_to_char_prints_spark_formats(value: str, fmt: str, want: str) -> None:
    assert NumberFormat(fmt).format(Decimal(value)) == want


@pytest.mark.parametrize(("fmt", "error"), [
    ("", "EMPTY"), ("abc", "WRONG_NUM_DIGIT"), ("9$", "CUR_MUST_BEFORE_DIGIT"),
    ("9,,9", "CONT_THOUSANDS_SEPS"), ("9.9,9", "THOUSANDS_SEPS_MUST_BEFORE_DEC"),
    ("9.9.9", "WRONG_NUM_TOKEN"), ("9S9", "UNEXPECTED_TOKEN"),
])
def test_invalid_number_formats_fail_with_spark_error_class(fmt: str, error: str) -> None:
    with pytest.raises(AnalysisError, match=rf"\[INVALID_FORMAT\.{error}\]"):
        NumberFormat(fmt)


def test_decimal_format_patterns() -> None:
    assert Pattern("#.##").format(Decimal("0.5")) == "0.5"   # read as #0.##
    assert Pattern("#.##").format(Decimal("-0.001")) == "-0"  # the sign survives rounding
    assert Pattern("0,000.0").format(Decimal("5")) == "0,005.0"
    assert Pattern("x#.##y").format(Decimal("12.5")) == "x12.5y"
    assert Pattern.of_decimals(0).format(Decimal("2.5")) == "2"  # HALF_EVEN
    for refused in ("#.##%", "#,##0.00;(#)", "'#'0"):
        with pytest.raises(Unsupported):
            Pattern(refused)


def test_doubles_print_as_java_does_or_are_refused() -> None:
    assert format_double(0.125, Pattern.of_decimals(2)) == "0.12"   # a true tie: even
    assert format_double(1.005, Pattern.of_decimals(2)) == "1.00"   # binary value below .005
    assert format_double(-0.0, Pattern.of_decimals(2)) == "-0.00"
    assert format_double(float("nan"), Pattern.of_decimals(2)) == "NaN"
    with pytest.raises(Unsupported, match="significant digits"):
        format_double(1e23, Pattern.of_decimals(0))  # Java 17 prints 99,999,999,999,999,990,...


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = open_engine(Path(tmp_path_factory.mktemp("formats")))
    yield eng
    eng.close()


def _rows(engine: Engine, sql: str) -> list[list[str | None]]:
    with engine.execute(StatementTask("f", sql)) as rs:
        return rows_as_strings(rs.read_all())


def test_formats_through_the_engine(engine: Engine) -> None:
    assert _rows(engine, "SELECT to_char(1.5D, '9.9'), to_number('1', NULL), "
                         "format_number(CAST(0.1 AS FLOAT), 10), try_to_number('x', '9')") == [
        ["1.5", None, "0.1000000015", None]]
    assert _rows(engine, "SELECT to_char(x, '999') FROM VALUES (1), (NULL), (-20) AS t(x)") == [
        ["  1"], [None], [" 20"]]  # no sign token: no sign


@pytest.mark.parametrize(("sql", "error"), [
    ("SELECT to_number('abc', '999')", "INVALID_FORMAT.MISMATCH_INPUT"),
    ("SELECT to_char(1e20D, '9')", "NUMERIC_VALUE_OUT_OF_RANGE"),
    ("SELECT to_char(x'41', 'base32')", "BINARY_FORMAT"),
    ("SELECT to_char(1, fmt) FROM VALUES ('9') AS t(fmt)", "string literal"),
    ("SELECT to_char(x, '9') FROM VALUES (array(DATE'2020-01-01')) AS t(a) "
     "LATERAL VIEW explode(a) e AS x", "to_char of a value"),
    ("SELECT format_number('12.5', 1)", "UNEXPECTED_INPUT_TYPE"),
])
def test_format_errors_are_clear(engine: Engine, sql: str, error: str) -> None:
    with pytest.raises(EngineError, match=error):
        _rows(engine, sql)
