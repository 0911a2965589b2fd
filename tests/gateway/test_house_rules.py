"""DESIGN.md's rules of the house, checked on the source: who may import what.

- gateway/ never imports duckdb, boto3/botocore, sqlglot or pyspark (it reaches the engine and the
  result store only through `engine` and `fetch`);
- engine/ and fetch/ never import starlette or uvicorn, nor read ``os.environ``/``getenv``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "gateway": {"duckdb", "boto3", "botocore", "sqlglot", "pyspark"},
    "engine": {"starlette", "uvicorn"},
    "fetch": {"starlette", "uvicorn"},
}


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield node.lineno, node.args[0].value


_ENV = ("environ", "environb", "getenv")


def _environment_reads(tree: ast.AST) -> Iterator[int]:
    for node in ast.walk(tree):
        attribute = isinstance(node, ast.Attribute) and node.attr in _ENV
        imported = isinstance(node, ast.ImportFrom) and node.module == "os" and any(
            a.name in _ENV for a in node.names)
        if attribute or imported:
            yield node.lineno


def violations(package: str) -> list[str]:
    """`file:line module` for each forbidden import (and environment read) in `package`."""
    out = []
    for path in _sources(package):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = path.relative_to(ROOT)
        for line, module in _imports(tree):
            if module.split(".")[0] in FORBIDDEN[package]:
                out.append(f"{rel}:{line} imports {module}")
        if package != "gateway":
            out += [f"{rel}:{line} reads the environment" for line in _environment_reads(tree)]
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_follow_the_house_rules(package: str) -> None:
    assert _sources(package), f"no sources found under {package}/"
    assert violations(package) == []


def test_the_checker_sees_violations(tmp_path: Path) -> None:
    tree = ast.parse("import os\nimport sqlglot.exp\nfrom duckdb import connect\n"
                     "x = os.environ.get('A')\nimportlib.import_module('boto3')\n")
    assert [m for _, m in _imports(tree)] == ["os", "sqlglot.exp", "duckdb", "boto3"]
    assert list(_environment_reads(tree)) == [4]


# Run in a fresh interpreter: the test process itself has long imported the engine.
_GATEWAY_PROCESS = """
import asyncio, json, sys
from gateway.app import build_app
from gateway.pool.warehouse import WarehousePool
from sqlgate.settings import EngineSettings, Settings
from sqlgate.types import CostEstimate, StatementTask

class Events:
    def queued(self, estimate: CostEstimate, lane: str) -> None:
        self.estimate = estimate
    def running(self) -> None: ...
    def chunk_stored(self, chunk: object) -> None: ...

async def main() -> None:
    settings = Settings(engine=EngineSettings(**json.loads(sys.argv[1]))).replace(
        results=sys.argv[2], min_workers=1, max_workers=1, signing_secret="x")
    build_app(settings)
    pool = WarehousePool(settings)
    await pool.start_background()
    try:
        events = Events()
        result = await pool.run(
            StatementTask("s1", "SELECT count(*) AS n FROM main.tpch.nation"), events)
        assert result.batches[0].to_pydict() == {"n": [25]}, result
        assert events.estimate.tables == ("main.tpch.nation",), events.estimate
        assert events.estimate.fingerprint, events.estimate
    finally:
        await pool.aclose()
    heavy = ("duckdb", "deltalake", "sqlglot", "engine.engine", "engine.catalog")
    print(json.dumps([m for m in heavy if m in sys.modules]))

asyncio.run(main())
"""


@pytest.mark.slow
def test_the_gateway_process_never_loads_the_engine(engine_settings: Any, tmp_path: Path) -> None:
    """The app and a real pool run a statement; the estimate came from the worker."""
    import dataclasses
    import json
    import subprocess
    import sys

    engine = json.dumps({k: v for k, v in dataclasses.asdict(engine_settings).items()
                         if v is not None})
    done = subprocess.run(
        [sys.executable, "-c", _GATEWAY_PROCESS, engine, str(tmp_path / "results")],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
