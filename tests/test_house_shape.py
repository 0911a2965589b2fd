"""The shape of the house, read from the source with `ast`: no import circles among the product's
modules, and no product module over 450 lines.

Every import counts, wherever it is written (a function-level import is a dependency too):
``import a.b``, ``from a import b`` (the module ``a.b`` when it is one, else ``a``) and
relative imports. Circles are the strongly connected components of that graph.

Known exceptions are listed with who is removing them; the test also fails when one of them
is gone, so the lists only shrink.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("sqlgate", "engine", "fetch", "gateway", "bench")
MAX_LINES = 450

# Circles being taken apart by their owners (COORDINATION.md); each is the set of its files.
KNOWN_CIRCLES: dict[frozenset[str], str] = {
}
# Modules over MAX_LINES being split by their owners.
KNOWN_LONG: dict[str, str] = {
}


def module_name(path: Path) -> str:
    """`engine/io/store.py` -> `engine.io.store`; a package's `__init__.py` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources(packages: Iterable[str] = PRODUCT) -> dict[str, Path]:
    """Module name -> file, for every .py file of the packages."""
    return {module_name(p): p for pkg in packages for p in sorted((ROOT / pkg).rglob("*.py"))}


def imported(tree: ast.AST, name: str, is_package: bool, known: set[str]) -> Iterator[str]:
    """The modules of `known` that the module `name` imports, wherever the import is."""
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _longest_known(alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield from ([full] if full in known else _longest_known(base, known))


def _longest_known(dotted: str, known: set[str]) -> Iterator[str]:
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            yield candidate
            return


def import_graph(files: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the product modules it imports (itself excluded)."""
    known = set(files)
    graph = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges = set(imported(tree, name, path.name == "__init__.py", known))
        edges.discard(name)
        graph[name] = edges
    return graph


def circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def _as_files(component: set[str], files: dict[str, Path]) -> frozenset[str]:
    return frozenset(str(files[m].relative_to(ROOT)) for m in component)


def test_no_import_circles_among_product_modules() -> None:
    files = sources()
    found = {_as_files(c, files) for c in circles(import_graph(files))}
    assert sorted(map(sorted, found - set(KNOWN_CIRCLES))) == [], "new import circle(s)"
    gone = [sorted(c) for c in set(KNOWN_CIRCLES) - found]
    assert gone == [], "a known circle is gone or changed: update KNOWN_CIRCLES"


def test_no_product_module_over_450_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in sources().values()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert {k: v for k, v in long.items() if k not in KNOWN_LONG} == {}
    assert sorted(set(KNOWN_LONG) - set(long)) == [], "now short enough: drop from KNOWN_LONG"


def test_the_checker_finds_circles_through_every_kind_of_import(tmp_path: Path) -> None:
    known = {"p", "p.a", "p.b", "p.c", "p.d"}
    trees = {
        "p.a": "from p import b\n",              # a submodule named in a from-import
        "p.b": "def f():\n    import p.c\n",     # a function-level import
        "p.c": "from .a import thing\n",         # a relative import of a module's name
        "p.d": "import p.a\n",                   # into the circle, not part of it
    }
    graph = {name: set(imported(ast.parse(src), name, False, known)) for name, src in
             trees.items()}
    assert graph == {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert circles(graph) == [{"p.a", "p.b", "p.c"}]
    assert circles({"x": {"y"}, "y": set()}) == []


def test_product_never_imports_the_tests() -> None:
    """Tests may import the product, never the reverse (the bench's clusters live in bench/)."""
    known = set(sources(("tests",))) | {"tests"}
    found = {name: sorted(set(imported(ast.parse(path.read_text(encoding="utf-8")), name,
                                       path.name == "__init__.py", known)))
             for name, path in sources().items()}
    assert {name: hits for name, hits in found.items() if hits} == {}
