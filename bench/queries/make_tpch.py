"""Regenerate bench/queries/tpch/q01.sql..q22.sql in the Databricks dialect.

Run with a side virtualenv holding ``duckdb==1.5.5 duckdb-extension-tpch`` (the wheel ships
``tpch.duckdb_extension`` for that DuckDB version) and sqlglot:

    python3 -m venv /tmp/tpchvenv
    /tmp/tpchvenv/bin/pip install duckdb==1.5.5 duckdb-extension-tpch sqlglot
    /tmp/tpchvenv/bin/python bench/queries/make_tpch.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import duckdb_extension_tpch
import sqlglot

OUT = Path(__file__).resolve().parent / "tpch"
# the untranslated DuckDB text: the oracle side of the differential tests and the benchmark
ORIGINAL = Path(__file__).resolve().parent / "tpch_duckdb"


def extension_path() -> Path:
    """The tpch extension binary inside the duckdb-extension-tpch wheel."""
    base = Path(duckdb_extension_tpch.__path__[0]) / "extensions"
    found = sorted(base.glob(f"v{duckdb.__version__}/*.duckdb_extension"))
    if not found:
        raise SystemExit(f"no tpch extension for duckdb {duckdb.__version__} under {base}")
    return found[0]


def main() -> int:
    """Write the 22 queries, transpiled from DuckDB SQL to Databricks SQL."""
    con = duckdb.connect(config={"allow_unsigned_extensions": True})
    con.execute(f"LOAD '{extension_path()}'")
    OUT.mkdir(parents=True, exist_ok=True)
    ORIGINAL.mkdir(parents=True, exist_ok=True)
    for nr, text in con.execute("SELECT query_nr, query FROM tpch_queries() ORDER BY 1").fetchall():
        sql = sqlglot.transpile(text, read="duckdb", write="databricks", pretty=True)[0]
        (OUT / f"q{nr:02d}.sql").write_text(sql.rstrip(";") + "\n")
        (ORIGINAL / f"q{nr:02d}.sql").write_text(text.strip() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
