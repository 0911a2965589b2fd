"""Spark as the oracle: run functions.jsonl through sqlgate's engine and classify each case.

Each case is run the way a statement runs (translate + DuckDB), its rows rendered as the
Statement Execution API's JSON_ARRAY strings (fetch.jsonrows), and compared with Spark's:

- ``pass``: the same rows (doubles within 1e-9 relative, also inside ARRAY/MAP/STRUCT JSON);
  or Spark refuses the statement and sqlgate refuses it too.
- ``refused``: sqlgate refuses with a clear error (any engine error but INTERNAL_ERROR)
  where Spark answers: allowed, counted against the pass rate.
- ``wrong``: different rows, an answer where Spark raises an error, or an internal error.
  The suite allows none.

Run as a script to print the report and rewrite the table in docs/spark-semantics.md:

    .venv/bin/python -m tests.engine.spark.differential [--wrong] [--refused]
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from engine import Engine
from engine.errors import EngineError
from engine.spark import functions
from fetch.jsonrows import rows_as_strings
from sqlgate.settings import EngineSettings
from sqlgate.types import StatementTask
from tests.engine.spark import tables

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "functions.jsonl"
TABLES_FIXTURE = HERE / "tables.jsonl"  # cases over typed tables (tables.py)
DOC = HERE.parents[2] / "docs" / "spark-semantics.md"
_ids = itertools.count()


@dataclass
class Outcome:
    case: dict[str, Any]
    verdict: str  # pass | refused | wrong
    got: Any = None


# Functions whose answer changes from run to run (regenerate.py skips most by name)
_NONDETERMINISTIC = {"localtime"}
_SPARK_ERROR = re.compile(r"^[A-Z][A-Z0-9_]*(\.[A-Z0-9_]+)*$")


def load() -> list[dict[str, Any]]:
    """Every comparable case of the committed fixture: not those whose answer changes from
    run to run, nor those Spark answered but the oracle could not render (a Python error
    name such as ValueError instead of a Spark error class)."""
    cases = []
    for fixture in (FIXTURE, TABLES_FIXTURE):
        with fixture.open() as f:
            cases += [json.loads(line) for line in f if line.strip()]
    return [c for c in cases if c["function"] not in _NONDETERMINISTIC
            and ("error" not in c or _SPARK_ERROR.match(c["error"]))]


def open_engine(root: Path) -> Engine:
    """An engine over a lake of the typed tables of tables.py (main.default)."""
    (root / "lake").mkdir(parents=True, exist_ok=True)
    tables.create_tables(root / "lake")
    return Engine(EngineSettings(lake=str(root / "lake"), threads=1, memory_limit="1GB",
                                 cache_dir=str(root / "cache"), statement_timeout_s=20))


def run(engine: Engine, case: dict[str, Any]) -> Outcome:
    """One case through the engine, classified against Spark's answer."""
    task = StatementTask(f"spark-{next(_ids)}", case["sql"])
    try:
        with engine.execute(task) as rs:
            rows = rows_as_strings(rs.read_all())
    except EngineError as exc:
        if exc.error_code == "INTERNAL_ERROR":
            return Outcome(case, "wrong", f"internal error: {exc.message}")
        return Outcome(case, "pass" if "error" in case else "refused", exc.message)
    except Exception as exc:  # a crash is never a clear answer: the suite reports it
        return Outcome(case, "wrong", f"crash: {type(exc).__name__}: {exc}")
    if "error" in case:
        return Outcome(case, "wrong", rows)
    same = same_rows(rows, case["rows"], ordered(case["sql"]))
    return Outcome(case, "pass" if same else "wrong", rows)


def ordered(sql: str) -> bool:
    """Whether the statement orders its rows (an ORDER BY of the outermost query)."""
    try:
        return sqlglot.parse_one(sql, read="databricks").args.get("order") is not None
    except sqlglot.errors.SqlglotError:
        return False


def same_rows(got: list[list[str | None]], want: list[list[str | None]], in_order: bool) -> bool:
    """Whether `got` holds Spark's rows (in order when the statement orders them)."""
    if len(got) != len(want) or any(len(g) != len(w) for g, w in zip(got, want, strict=True)):
        return False
    if not in_order:
        got, want = _sorted(got), _sorted(want)
    return all(_same(g, w) for gr, wr in zip(got, want, strict=True)
               for g, w in zip(gr, wr, strict=True))


def _sorted(rows: list[list[str | None]]) -> list[list[str | None]]:
    return sorted(rows, key=lambda r: [(v is None, v or "") for v in r])


def _same(got: str | None, want: str | None) -> bool:
    if got == want:
        return True
    if got is None or want is None:
        return False
    if _close(got, want):
        return True
    if got[:1] in "[{" and want[:1] in "[{":
        try:
            return _same_json(json.loads(got), json.loads(want))
        except ValueError:
            return False
    return False


_FLOAT = re.compile(r"^-?(\d+\.?\d*([eE][-+]?\d+)?|Infinity|NaN)$")


def _close(got: str, want: str) -> bool:
    """Doubles printed by two libraries: equal within 1e-9 relative (not integers/decimals,
    which must match exactly: a float form is required on at least one side)."""
    if not (_FLOAT.match(got) and _FLOAT.match(want)):
        return False
    if not any(c in got + want for c in ".eEIN"):
        return False
    a, b = float(got), float(want)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _same_json(got: Any, want: Any) -> bool:
    if isinstance(got, dict) and isinstance(want, dict):
        return got.keys() == want.keys() and all(_same_json(got[k], want[k]) for k in got)
    if isinstance(got, list) and isinstance(want, list):
        return len(got) == len(want) and all(_same_json(g, w)
                                             for g, w in zip(got, want, strict=True))
    if isinstance(got, float | int) and isinstance(want, float | int):
        return _close(repr(float(got)), repr(float(want)))
    if isinstance(got, str) and isinstance(want, str):
        return got == want or _close(got, want)
    return bool(got == want)


def run_all(cases: Iterable[dict[str, Any]]) -> list[Outcome]:
    """Every case through one engine of its own."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(Path(tmp))
        try:
            return [run(engine, c) for c in cases]
        finally:
            engine.close()


def table(outcomes: list[Outcome]) -> str:
    """The pass rate per family as a Markdown table (documented examples and own cases)."""
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        counts[o.case["family"], o.case["source"]][o.verdict] += 1
    lines = ["| family | documented examples: pass / total | % | own cases: pass / total | "
             "wrong answers |", "|---|---|---|---|---|"]
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    for family in sorted({f for f, _ in counts}):
        doc, own = counts[family, "doc"], counts[family, "property"]
        totals["doc"] += doc
        totals["property"] += own
        lines.append(f"| {family} | {_ratio(doc)} | {_pct(doc)} | {_ratio(own)} | "
                     f"{doc['wrong'] + own['wrong']} |")
    doc, own = totals["doc"], totals["property"]
    lines.append(f"| **all** | {_ratio(doc)} | {_pct(doc)} | {_ratio(own)} | "
                 f"{doc['wrong'] + own['wrong']} |")
    return "\n".join(lines)


def _ratio(c: Counter[str]) -> str:
    return f"{c['pass']} / {sum(c.values())}" if c else "-"


def _pct(c: Counter[str]) -> str:
    total = sum(c.values())
    return f"{100 * c['pass'] / total:.1f}" if total else "-"


_BEGIN, _END = "<!-- begin pass-rate table -->", "<!-- end pass-rate table -->"


def write_doc(outcomes: list[Outcome]) -> None:
    """Replace the table between the markers of docs/spark-semantics.md."""
    text = DOC.read_text()
    head, _, rest = text.partition(_BEGIN)
    _, _, tail = rest.partition(_END)
    DOC.write_text(f"{head}{_BEGIN}\n{table(outcomes)}\n{_END}{tail}")


def blame(outcomes: list[Outcome]) -> dict[str, Counter[str]]:
    """Verdicts per allowlist key: the functions each case calls, found by parsing it."""
    per_key: dict[str, Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        try:
            tree = sqlglot.parse_one(o.case["sql"], read="databricks")
        except sqlglot.errors.SqlglotError:
            continue
        keys = {functions.key(n) for n in tree.walk() if isinstance(n, exp.Func)}
        for k in keys:
            per_key[k][o.verdict] += 1
    return per_key


def main(argv: list[str]) -> None:
    if "--permissive" in argv:
        # what would happen without the allowlist: the data the allowlist is built from
        functions.check = lambda tree: None
    outcomes = run_all(load())
    if "--blame" in argv:
        for k, c in sorted(blame(outcomes).items()):
            print(f"{k:30} pass={c['pass']:3} refused={c['refused']:3} wrong={c['wrong']:3}")
    for o in outcomes:
        if ("--wrong" in argv and o.verdict == "wrong") or (
                "--refused" in argv and o.verdict == "refused"):
            want = o.case.get("rows", o.case.get("error"))
            print(f"{o.verdict} [{o.case['family']}/{o.case['function']}] {o.case['sql']}\n"
                  f"    spark: {want}\n    got:   {str(o.got)[:300]}")
    print(table(outcomes))
    if "--doc" in argv:
        write_doc(outcomes)


if __name__ == "__main__":
    main(sys.argv[1:])
