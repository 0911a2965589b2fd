"""engine.sqltext: parameter types by the Databricks grammar; deep nesting never crashes."""

from __future__ import annotations

import pytest

from engine import Engine, ParseError, fingerprint, parameter_type
from tests.engine.conftest import run

DEEP = [
    "SELECT " + "(" * 5000 + "1" + ")" * 5000,
    "SELECT " + "CASE WHEN true THEN " * 2000 + "1" + " END" * 2000,
    "SELECT 1 FROM " + "(SELECT 1 FROM " * 1500 + "(SELECT 1)" + ")" * 1500,
    "SELECT " + "NOT " * 5000 + "true",
]


@pytest.mark.parametrize("sql", DEEP)
def test_deep_nesting_is_a_parse_error_not_an_internal_one(engine: Engine, sql: str) -> None:
    assert len(fingerprint(sql)) == 16  # the gateway's fingerprint falls back to the text
    with pytest.raises(ParseError) as info:
        run(engine, sql)
    assert "nests too deeply" in info.value.message


@pytest.mark.parametrize(("text", "canonical"), [
    ("int", "INT"), (" decimal( 10 , 2 ) ", "DECIMAL(10,2)"), ("DEC", "DEC"),
    ("timestamp_ntz", "TIMESTAMP_NTZ"), ("interval year to month", "INTERVAL YEAR TO MONTH"),
    ("VARCHAR(20)", "VARCHAR(20)"), ("long", "LONG"), ("VOID", "VOID"),
])
def test_parameter_types(text: str, canonical: str) -> None:
    assert parameter_type(text) == canonical


@pytest.mark.parametrize("text", [
    "INT) FROM read_text('/etc/passwd') --", "INT --", "INT)", "ARRAY<INT>", "STRUCT<a: INT>",
    "DECIMAL(100,2)", "", "INTERVAL", "STRING COLLATE UTF8_BINARY) --", "BIGINT\u0660",
])
def test_parameter_types_outside_the_grammar(text: str) -> None:
    with pytest.raises(ValueError):
        parameter_type(text)


def test_the_engine_checks_parameter_types_too(engine: Engine) -> None:
    from engine import InvalidParameter

    with pytest.raises(InvalidParameter):
        run(engine, "SELECT :p AS x", params={"p": ("1", "INT) FROM read_text('/etc/x') --")})
    assert run(engine, "SELECT :p AS x", params={"p": ("1.5", "decimal(4, 1)")}).column(
        0).to_pylist()[0] == pytest.approx(1.5)
