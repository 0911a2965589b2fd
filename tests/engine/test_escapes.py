"""The sandbox corpus: names, paths, functions and writes that try to leave the lake.

A Delta table and canary files sit beside the lake (``<lake>/../outside/secret`` is a real
table) and two levels up. Every attempt must fail with an engine error that shows no path,
and afterwards nothing outside the lake may have been created, changed or removed.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from engine import Engine, EngineError, PermissionDenied
from engine.location import TableName
from sqlgate.settings import EngineSettings
from sqlgate.types import StatementTask

_ids = itertools.count()

# name parts that are paths, URL tricks or control characters, not identifiers
PARTS = ["..", ".", "../..", "..\\..", "%2e%2e", "outside#", "outside?x", "/tmp", ".hidden",
         "a\x00b", "a\nb"]
# a name with a bad part at one level; `{o}` is the table beside the lake
NAMES = [
    "`..`.outside.secret", "`..`.`..`.secret", "main.`..`.`..`", "main.default.`..`",
    "main.`../../outside`.secret", "`%2e%2e`.outside.secret", "main.default.`t#`",
    *(f"`{p}`.default.t" for p in PARTS), *(f"main.`{p}`.t" for p in PARTS),
    *(f"main.default.`{p}`" for p in PARTS),
]
STATEMENTS = [
    "SELECT * FROM {n}",
    "SELECT count(*) FROM {n} WHERE user < 'b'",
    "SELECT * FROM {n} VERSION AS OF 0",
    "SELECT * FROM {n} TIMESTAMP AS OF '2000-01-01'",
    "SELECT * FROM main.default.t JOIN {n} ON true",
    "WITH x AS (SELECT * FROM {n}) SELECT * FROM x",
    "DESCRIBE {n}",
    "DESCRIBE TABLE {n}",
    "CREATE TABLE {n} AS SELECT 1 AS a",
    "CREATE OR REPLACE TABLE {n} AS SELECT 1 AS a",
    "INSERT INTO {n} VALUES ('mallory')",
    "INSERT OVERWRITE {n} SELECT 'mallory'",
    "INSERT INTO main.default.t SELECT * FROM {n}",
]
SHOW = [
    "SHOW SCHEMAS IN `..`", "SHOW TABLES IN `..`.outside", "SHOW TABLES IN main.`..`",
    "SHOW TABLES IN `..`", "SHOW TABLES IN `../..`", "SHOW SCHEMAS IN `%2e%2e`",
    "SHOW TABLES FROM `..`.`outside` LIKE 's*'",
]


def _state(base: Path, skip: tuple[Path, ...]) -> dict[str, tuple[int, int]]:
    """Every file and directory under `base` except `skip`: path -> (size, mtime_ns)."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(base):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in skip]
        for entry in [*dirnames, *filenames]:
            st = (here / entry).lstat()
            seen[str((here / entry).relative_to(base))] = (st.st_size, st.st_mtime_ns)
    return seen


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    """An engine whose lake has a Delta table and canaries beside it and above it."""
    inner = tmp_path / "outer" / "inner"
    lake = inner / "lake"
    write_deltalake(str(inner / "outside" / "secret"), pa.table({"user": ["alice"]}))
    write_deltalake(str(lake / "main" / "default" / "t"), pa.table({"user": ["bob"]}))
    (inner / "canary.txt").write_text("beside the lake")
    (tmp_path / "outer" / "canary.txt").write_text("two levels up")
    eng = Engine(EngineSettings(lake=str(lake), threads=1, memory_limit="256MB",
                                cache_dir=str(tmp_path / "cache")))
    before = _state(tmp_path, (lake, tmp_path / "cache"))
    yield eng, tmp_path
    eng.close()
    after = _state(tmp_path, (lake, tmp_path / "cache"))
    assert after == before, "something outside the lake changed"


def _attempt(eng: Engine, sql: str, base: Path) -> None:
    task = StatementTask(f"esc-{next(_ids)}", sql, catalog="main", schema="default")
    for call in (lambda: eng.estimate(task), lambda: eng.execute(task).read_all()):
        with pytest.raises(EngineError) as info:
            call()
        message = info.value.message
        # an error may echo a path the statement wrote, never one the engine resolved
        assert str(base) not in message or str(base) in sql, message
        assert info.value.error_code != "INTERNAL_ERROR", info.value.message


def test_names_never_leave_the_lake(sandbox: tuple[Engine, Path]) -> None:
    eng, base = sandbox
    for name in NAMES:
        for template in STATEMENTS:
            _attempt(eng, template.format(n=name), base)
    for sql in SHOW:
        _attempt(eng, sql, base)


def test_paths_and_functions_never_leave_the_lake(sandbox: tuple[Engine, Path]) -> None:
    eng, base = sandbox
    secret = base / "outer" / "inner" / "outside" / "secret"
    part = next(secret.glob("*.parquet"))
    for sql in (
        f"SELECT * FROM read_parquet('{part}')", f"SELECT * FROM '{part}'",
        f"SELECT * FROM parquet.`{part}`", f"SELECT * FROM delta.`{secret}`",
        f"SELECT * FROM read_text('{base}/outer/canary.txt')",
        f"SELECT * FROM `{secret}`", "SELECT * FROM main.default.`t/../../../outside/secret`",
        f"CREATE TABLE delta.`{base}/outer/new` AS SELECT 1 AS a",
        f"INSERT INTO delta.`{secret}` VALUES ('mallory')",
        f"COPY (SELECT 1) TO '{base}/outer/copied.csv'",
    ):
        _attempt(eng, sql, base)


def test_a_log_pointing_outside_the_lake_is_refused(sandbox: tuple[Engine, Path]) -> None:
    """A crafted Delta log (someone wrote the lake directly) cannot aim a scan elsewhere."""
    eng, base = sandbox
    secret = base / "outer" / "inner" / "outside" / "secret"
    part = next(secret.glob("*.parquet"))
    for n, path in enumerate([f"../../../../outside/secret/{part.name}", str(part),
                              part.as_uri()]):
        table = base / "outer" / "inner" / "lake" / "main" / "default" / f"crafted{n}"
        write_deltalake(str(table), pa.table({"user": ["nobody"]}))
        commit = table / "_delta_log" / f"{0:020d}.json"
        actions = [json.loads(line) for line in commit.read_text().splitlines()]
        for action in actions:
            if "add" in action:
                os.remove(table / action["add"]["path"])
                action["add"]["path"] = path
        commit.write_text("\n".join(json.dumps(a) for a in actions) + "\n")
        with pytest.raises(PermissionDenied) as info:
            eng.catalog.snapshot(TableName("main", "default", f"crafted{n}"))
        assert f"`crafted{n}`" in info.value.message and str(base) not in info.value.message
        _attempt(eng, f"SELECT * FROM crafted{n}", base)


def test_the_lake_itself_still_reads_and_writes(sandbox: tuple[Engine, Path]) -> None:
    eng, _ = sandbox
    task = StatementTask("ok-1", "CREATE TABLE main.default.u AS SELECT user FROM t")
    assert eng.execute(task).read_all().column(0).to_pylist() == [1]
    task = StatementTask("ok-2", "SELECT * FROM main.default.u")
    assert eng.execute(task).read_all().to_pylist() == [{"user": "bob"}]
