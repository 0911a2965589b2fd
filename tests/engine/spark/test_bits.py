"""engine.spark.bits: Spark's NumberConverter and the refusal of untyped unsigned shifts."""

from __future__ import annotations

import pytest
import sqlglot

from engine.errors import Unsupported
from engine.spark import annotation, bits


@pytest.mark.parametrize(("args", "expected"), [
    (("100", 2, 10), "4"), (("-10", 16, -10), "-16"), (("12x4", 10, 10), "12"),
    (("-1", 10, 16), "FFFFFFFFFFFFFFFF"), (("8000000000000000", 16, -10),
                                           "-9223372036854775808"),
    (("", 10, 2), None), (("1", 37, 2), None), ((None, 2, 10), None), (("0", 10, 2), "0"),
])
def test_conv(args: tuple[str | None, int, int], expected: str | None) -> None:
    assert bits.conv(*args) == expected


def test_conv_overflow_raises() -> None:
    with pytest.raises(ArithmeticError, match="ARITHMETIC_OVERFLOW"):
        bits.conv("F" * 17, 16, 10)


def test_unsigned_shift_of_an_untyped_column_is_refused() -> None:
    tree = annotation.annotate(sqlglot.parse_one("SELECT shiftrightunsigned(x, 1) FROM t",
                                            read="databricks"))
    with pytest.raises(Unsupported, match="shiftrightunsigned"):
        bits.RULES[0](tree)
