"""DESIGN.md's rules of the house, checked on the source: who may import what.

- gateway/ never imports duckdb, boto3/botocore, sqlglot or pyspark (it reaches the engine and the
  result store only through `engine` and `fetch`);
- engine/ and fetch/ never import starlette or uvicorn, nor read ``os.environ``/``getenv``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

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
