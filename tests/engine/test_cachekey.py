"""engine.cachekey and the estimate's cache facts: table versions and the canonical text."""

from __future__ import annotations

import pytest

from engine import Engine
from engine.cachekey import cache_text
from engine.errors import PermissionDenied
from engine.translate import parse
from sqlgate.settings import EngineSettings
from sqlgate.types import StatementTask

from .conftest import run


@pytest.mark.parametrize("sql", [
    "SELECT rand() FROM t", "SELECT now()", "SELECT current_timestamp()", "SELECT uuid()",
    "SELECT current_date()", "SELECT unix_timestamp()", "SELECT a FROM t TABLESAMPLE (10 PERCENT)",
    "SELECT monotonically_increasing_id() FROM t", "SELECT * FROM t WHERE d < current_date",
])
def test_volatile_statements_are_never_cached(sql: str) -> None:
    assert cache_text(parse(sql)) is None


def test_text_is_canonical_but_keeps_literals_and_names() -> None:
    a = cache_text(parse("select  A ,b\n from   T where x = 'a  b'"))
    assert a == cache_text(parse("SELECT A, b FROM T WHERE x = 'a  b'"))
    assert a != cache_text(parse("SELECT A, b FROM T WHERE x = 'a b'"))
    assert a != cache_text(parse("SELECT a, b FROM T WHERE x = 'a  b'"))


def test_estimate_reports_versions_and_a_commit_moves_them(
        scratch_engine: tuple[Engine, EngineSettings]) -> None:
    eng, _ = scratch_engine
    run(eng, "CREATE SCHEMA main.s", schema=None)
    run(eng, "CREATE TABLE main.s.t AS SELECT 1 AS a", schema=None)
    est = eng.estimate(StatementTask("e1", "SELECT a FROM main.s.t WHERE a > 0"))
    assert est.versions == (("main.s.t", 0),)
    assert est.cache_text == "SELECT a FROM main.s.t WHERE a > 0"
    run(eng, "INSERT INTO main.s.t VALUES (2)", schema=None)
    again = eng.estimate(StatementTask("e2", "SELECT a FROM main.s.t WHERE a > 0"))
    assert again.versions == (("main.s.t", 1),)
    joined = eng.estimate(StatementTask(
        "e3", "SELECT * FROM main.s.t x JOIN main.s.t VERSION AS OF 0 y ON x.a = y.a"))
    assert joined.versions == (("main.s.t", 0), ("main.s.t", 1))


def test_estimate_gives_no_cache_text_to_what_must_not_be_cached(
        scratch_engine: tuple[Engine, EngineSettings]) -> None:
    eng, _ = scratch_engine
    run(eng, "CREATE SCHEMA main.s", schema=None)
    run(eng, "CREATE TABLE main.s.t AS SELECT 1 AS a", schema=None)
    for sql in ("SELECT a, rand() FROM main.s.t", "SELECT 1",
                "SELECT * FROM main.information_schema.tables",
                "INSERT INTO main.s.t VALUES (3)", "SHOW TABLES IN main.s"):
        assert eng.estimate(StatementTask("e", sql)).cache_text is None, sql


def test_estimate_fingerprints_the_privilege_checks_and_refuses_a_revoked_reader(
        scratch_engine: tuple[Engine, EngineSettings]) -> None:
    eng, _ = scratch_engine
    run(eng, "CREATE SCHEMA main.s", schema=None, user="ada")
    run(eng, "CREATE TABLE main.s.t AS SELECT 1 AS a", schema=None, user="ada")

    def estimate(user: str) -> str:
        return eng.estimate(StatementTask("e", "SELECT a FROM main.s.t", user=user)).privileges

    owner = estimate("ada")
    assert owner and owner == estimate("ada")
    with pytest.raises(PermissionDenied):
        estimate("bob")
    run(eng, "GRANT USE SCHEMA, SELECT ON SCHEMA main.s TO bob", schema=None, user="ada")
    reader = estimate("bob")
    assert reader and reader != owner
    run(eng, "GRANT MODIFY ON TABLE main.s.t TO bob", schema=None, user="ada")
    assert estimate("bob") not in ("", reader)  # the standing the check rested on changed
    run(eng, "REVOKE SELECT ON SCHEMA main.s FROM bob", schema=None, user="ada")
    with pytest.raises(PermissionDenied):
        estimate("bob")
    # metadata and constants make no check: nothing to fingerprint, nothing to cache
    assert eng.estimate(StatementTask("e", "SELECT 1", user="ada")).privileges == ""


def test_a_replaced_view_is_another_cache_text(
        scratch_engine: tuple[Engine, EngineSettings]) -> None:
    eng, _ = scratch_engine
    run(eng, "CREATE SCHEMA main.s", schema=None)
    run(eng, "CREATE TABLE main.s.t AS SELECT 1 AS a", schema=None)
    run(eng, "CREATE VIEW main.s.v AS SELECT a FROM main.s.t", schema=None)
    before = eng.estimate(StatementTask("e", "SELECT * FROM main.s.v"))
    run(eng, "CREATE OR REPLACE VIEW main.s.v AS SELECT a + 1 AS a FROM main.s.t", schema=None)
    after = eng.estimate(StatementTask("e", "SELECT * FROM main.s.v"))
    assert before.versions == after.versions and before.cache_text
    assert after.cache_text not in (None, before.cache_text)
