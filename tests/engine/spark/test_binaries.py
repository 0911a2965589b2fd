"""BINARY strings through the engine: byte-wise string functions, UTF-8 validation, base32
and base64 reading, each value as Spark 4.3 (ANSI mode) answers it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Engine
from engine.errors import EngineError
from fetch.jsonrows import rows_as_strings
from sqlgate.types import StatementTask
from tests.engine.spark.differential import open_engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = open_engine(Path(tmp_path_factory.mktemp("binaries")))
    yield eng
    eng.close()


def _row(engine: Engine, sql: str) -> list[str | None]:
    with engine.execute(StatementTask("b", sql)) as rs:
        return rows_as_strings(rs.read_all())[0]


def test_byte_wise_slices_and_pads(engine: Engine) -> None:
    assert _row(engine, "SELECT hex(substr(x'0102030405', -2)), hex(substr(x'0102030405', 0, 2)), "
                        "hex(substr(x'0102030405', 2, -1)), hex(substr(x'0102030405', 10)), "
                        "hex(substr(x'0102030405', -10, 7)), hex(left(x'0102', -1))") == [
        "0405", "0102", "", "", "0102", ""]
    assert _row(engine, "SELECT hex(lpad(unhex('aabb'), 1)), hex(lpad(unhex('aabb'), -1)), "
                        "hex(lpad(unhex('aabb'), 4, x'')), hex(rpad(unhex('aabb'), 5)), "
                        "hex(lpad(unhex('aabb'), 3, NULL))") == ["AA", "", "AABB", "AABB000000",
                                                                   None]
    assert _row(engine, "SELECT hex(overlay(x'010203' PLACING x'ff' FROM 0)), "
                        "hex(overlay(x'010203' PLACING x'ff' FROM 5)), "
                        "hex(overlay(x'010203' PLACING x'ff' FROM 2 FOR -3))") == [
        "FF010203", "010203FF", "01FF03"]


def test_byte_wise_predicates_stay_on_byte_boundaries(engine: Engine) -> None:
    # hex '1ABC' holds 'AB' at an odd offset: not a byte of the value
    assert _row(engine, "SELECT contains(x'1ABC', x'AB'), contains(x'', x''), "
                        "startswith(x'01', x''), endswith(NULL, x'01'), "
                        "length(x''), bit_length(x'0102'), octet_length('héllo')") == [
        "false", "true", "true", None, "0", "16", "6"]


def test_utf8_validation(engine: Engine) -> None:
    assert _row(engine, "SELECT hex(encode(make_valid_utf8(x'E08080'), 'utf-8')), "
                        "hex(encode(make_valid_utf8(x'F09F9880FF41'), 'utf-8')), "
                        "is_valid_utf8(x'EDA080'), is_valid_utf8('abc'), "
                        "try_validate_utf8(x'80'), make_valid_utf8(NULL)") == [
        "EFBFBDEFBFBDEFBFBD", "F09F9880EFBFBD41", "false", "true", None, None]
    with pytest.raises(EngineError, match="INVALID_UTF8_STRING"):
        _row(engine, "SELECT validate_utf8(x'80')")


def test_base32_and_base64(engine: Engine) -> None:
    assert _row(engine, "SELECT to_base32(''), from_base32('mzxw6==='), from_base32('MZXW6YQ'), "
                        "from_base32('1'), to_base32(NULL)") == ["", "Zm9v", "Zm9vYg==", "",
                                                                  None]
    assert _row(engine, "SELECT hex(try_to_binary('YWJ', 'base64')), "
                        "hex(try_to_binary('YW Jj', 'base64')), try_to_binary('YWJj=', 'base64'), "
                        "try_to_binary('Y', 'base64'), try_to_binary('YW=J', 'base64'), "
                        "hex(try_to_binary('616', 'hex')), try_to_binary(' 61', 'hex'), "
                        "hex(try_to_binary('abc', 'UTF8'))") == [
        "6162", "616263", None, None, None, "0616", None, "616263"]


def test_unknown_types_fail_clearly(engine: Engine) -> None:
    with pytest.raises(EngineError, match="is_valid_utf8 of a value of this type"):
        _row(engine, "SELECT is_valid_utf8(x) FROM VALUES (1) AS t(x)")
