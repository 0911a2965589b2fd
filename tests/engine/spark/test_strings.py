"""Spark string functions implemented in engine.spark.strings, checked value by value
against Spark 4.3's answers (ANSI mode), edges the documented examples do not show."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Engine
from engine.errors import EngineError, Unsupported
from engine.spark.strings import (
    _instr_one,
    _sentences_one,
    _soundex_one,
    _split_one,
    _substring_index_one,
)
from fetch.jsonrows import rows_as_strings
from sqlgate.types import StatementTask
from tests.engine.spark.differential import open_engine


@pytest.mark.parametrize(("text", "want"), [
    ("", ""), ("1abc", "1abc"), ("Ashcraft", "A261"), ("Tymczak", "T522"),
    ("Pfister", "P236"), ("a", "A000"), ("ÄBC", "ÄBC"), (" Robert", " Robert"),
    ("honeyman", "H555"), ("Lloyd", "L300"),
])
def test_soundex(text: str, want: str) -> None:
    assert _soundex_one(text) == want


@pytest.mark.parametrize(("args", "want"), [
    (("a,b,,c,,", ",", -1), ["a", "b", "", "c", "", ""]),
    (("abc", "", 2), ["a", "bc"]), (("abc", "", 10), ["a", "b", "c"]), (("", "", 2), [""]),
    (("a1b2c3", "[0-9]", 2), ["a", "b2c3"]), (("a1b2c3", "[0-9]", 10), ["a", "b", "c", ""]),
    (("1a", "[0-9]", 2), ["", "a"]), (("a", "x", 2), ["a"]), (("a.b", ".", 1), ["a.b"]),
])
def test_split_with_limit(args: tuple[str, str, int], want: list[str]) -> None:
    assert _split_one(*args) == want


@pytest.mark.parametrize(("args", "want"), [
    (("abcabc", "b", 1, 2), 5), (("abcabc", "b", -1, 1), 5), (("abcabc", "b", -1, 2), 2),
    (("aaaa", "aa", 1, 2), 2), (("aaaa", "aa", -1, 2), 2), (("abcabc", "bc", -2, 1), 5),
    (("abc", "", 3, 2), 1), (("abcabc", "b", 10, 1), 0), (("abcabc", "b", -10, 1), 0),
    (("abcabc", "b", 0, 1), 0), (("héllo", "l", 1, 2), 4),
])
def test_instr_with_occurrence(args: tuple[str, str, int, int], want: int) -> None:
    assert _instr_one(*args) == want


@pytest.mark.parametrize(("args", "want"), [
    (("a.b.c", ".", -2), "b.c"), (("a.b.c", ".", 0), ""), (("a.b.c", "", 1), ""),
    (("a.b.c", ".", 10), "a.b.c"), (("a.b.c", ".", -10), "a.b.c"), (("aaa", "aa", 1), ""),
    (("aaa", "aa", -1), ""), (("www.apache.org", ".", 2), "www.apache"),
])
def test_substring_index(args: tuple[str, str, int], want: str) -> None:
    assert _substring_index_one(*args) == want


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = open_engine(Path(tmp_path_factory.mktemp("strings")))
    yield eng
    eng.close()


def _row(engine: Engine, sql: str) -> list[str | None]:
    with engine.execute(StatementTask("s", sql)) as rs:
        return rows_as_strings(rs.read_all())[0]


def test_strings_through_the_engine(engine: Engine) -> None:
    assert _row(engine, "SELECT luhn_check(''), luhn_check('0'), luhn_check('a1'), "
                        "luhn_check(NULL), luhn_check('18'), levenshtein('kitten', 'sitting', 3), "
                        "levenshtein('abc', 'abc', -1), quote(''), quote('a\\'b')") == [
        "false", "true", "false", None, "true", "3", "-1", "''", "'a\\'b'"]
    assert _row(engine, "SELECT regexp_substr('abc', '(x)?'), regexp_substr('abc', 'b(c)'), "
                        "concat_ws(NULL), concat_ws(','), ascii(-1), ascii(1.5), ascii(true), "
                        "collation(NULL), collation('a' collate unicode_ci)") == [
        None, "bc", None, "", "45", "49", "116", "SYSTEM.BUILTIN.UTF8_BINARY",
        "SYSTEM.BUILTIN.UNICODE_CI"]


def test_refusals(engine: Engine) -> None:
    with pytest.raises(EngineError, match="OCCURRENCE"):
        _row(engine, "SELECT instr('abcabc', 'b', 1, 0)")
    with pytest.raises(EngineError, match="COLLATE is not supported"):
        _row(engine, "SELECT 'a' COLLATE NOCASE = 'A'")


@pytest.mark.parametrize(("text", "want"), [
    ("Mr. Smith went home. He slept", [["Mr"], ["Smith", "went", "home"], ["He", "slept"]]),
    ("  Hi   there ,  you!", [["Hi", "there", "you"]]), ("abc123 def", [["abc123", "def"]]),
    ("", []), ("Hello, world! How are you?", [["Hello", "world"], ["How", "are", "you"]]),
])
def test_sentences(text: str, want: list[list[str]]) -> None:
    assert _sentences_one(text) == want


@pytest.mark.parametrize("text", ["one.two three. Four", "It's 3.5 p.m. now", "a. b", "é"])
def test_sentences_beyond_plain_text_are_refused(text: str) -> None:
    with pytest.raises(Unsupported, match="BreakIterator"):
        _sentences_one(text)
