"""Regenerate functions.jsonl: Spark's own answers to its documented function examples.

Spark is the oracle. This script runs with a venv that has pyspark (Java 17), never in CI:

    python3 -m venv /work/venvs/spark-oracle
    /work/venvs/spark-oracle/bin/pip install pyspark pyarrow
    /work/venvs/spark-oracle/bin/python tests/engine/spark/regenerate.py
    /work/venvs/spark-oracle/bin/python tests/engine/spark/regenerate.py --tables

(``--tables`` rebuilds tables.jsonl alone: the cases of tables.py over typed tables.)

It (a) lists Spark's built-in functions from the JVM function registry and parses the
``Examples:`` of each one's ExpressionInfo, (b) adds the property-style cases of
properties.py, runs every statement with ``spark.sql.ansi.enabled=true`` and session time
zone UTC, and (c) writes one JSON line per case to functions.jsonl: the SQL, its family and
function, Spark's result column types (``DataType.sql``) and rows rendered as the Statement
Execution API renders them (fetch/jsonrows.py, the same code sqlgate's answers go through),
or Spark's error class when Spark refuses the statement. functions.txt lists every name
Spark's registry knows (sqlgate refuses unknown ones as UNRESOLVED_ROUTINE, known but
unsupported ones as UNSUPPORTED_FEATURE).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

os.environ["TZ"] = "UTC"
time.tzset()

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
FIXTURE = HERE / "functions.jsonl"
TABLES_FIXTURE = HERE / "tables.jsonl"
NAMES = HERE / "functions.txt"

# Spark's ExpressionInfo group -> the family this suite reports
GROUPS = {
    "string_funcs": "string",
    "math_funcs": "math",
    "datetime_funcs": "datetime",
    "conditional_funcs": "conditional",
    "predicate_funcs": "predicate",
    "agg_funcs": "aggregate",
    "window_funcs": "window",
    "array_funcs": "array",
    "collection_funcs": "array",
    "lambda_funcs": "lambda",
    "map_funcs": "map",
    "struct_funcs": "struct",
    "json_funcs": "json",
    "url_funcs": "url",
    "hash_funcs": "hash",
    "bitwise_funcs": "bitwise",
    "conversion_funcs": "conversion",
    "generator_funcs": "generator",
}
# answers that change from run to run or name the machine: not comparable
NONDETERMINISTIC = {
    "rand", "randn", "random", "uuid", "shuffle", "current_date", "current_timestamp", "now",
    "curdate", "localtimestamp", "current_timezone", "unix_timestamp", "uniform", "randstr",
    "monotonically_increasing_id", "spark_partition_id", "input_file_name", "version",
    "current_user", "user", "session_user", "current_catalog", "current_database",
    "current_schema", "reflect", "java_method", "try_reflect", "approx_count_distinct",
    "approx_percentile", "percentile_approx", "count_min_sketch", "bloom_filter_agg",
    "try_aes_decrypt", "aes_encrypt", "aes_decrypt", "current_time",
}


def _load_jsonrows() -> Any:
    """fetch/jsonrows.py by path: the fetch package's __init__ needs more than pyarrow."""
    spec = importlib.util.spec_from_file_location("jsonrows", ROOT / "fetch" / "jsonrows.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_examples(text: str) -> list[str]:
    """The ``> SELECT ...;`` statements of an ExpressionInfo examples block."""
    out: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("> "):
            current = [stripped[2:]]
        elif current is not None and stripped:
            current.append(stripped)
        else:
            current = None if not stripped else current
            continue
        if current is not None and current[-1].rstrip().endswith(";"):
            sql = " ".join(current).rstrip().rstrip(";").strip()
            out.append(sql)
            current = None
    return out


def spark_session() -> Any:
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[1]")
        .config("spark.sql.ansi.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .getOrCreate()
    )


def documented(spark: Any) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(family, function, sql) for every documented example, and every registered name."""
    jvm = spark._jvm
    registry = jvm.org.apache.spark.sql.catalyst.analysis.FunctionRegistry.builtin()
    ident = jvm.org.apache.spark.sql.catalyst.FunctionIdentifier
    names = sorted({f.funcName() for f in _seq(registry.listFunction())})
    cases = []
    for name in names:
        info = registry.lookupFunction(ident.apply(name))
        if info.isEmpty():
            continue
        info = info.get()
        family = GROUPS.get(info.getGroup() or "")
        if family is None or name in NONDETERMINISTIC:
            continue
        for sql in parse_examples(info.getExamples() or ""):
            cases.append((family, name, sql))
    return cases, names


def _seq(seq: Any) -> list[Any]:
    it = seq.iterator()
    out = []
    while it.hasNext():
        out.append(it.next())
    return out


def _error_class(exc: BaseException) -> str:
    for attr in ("getCondition", "getErrorClass"):
        fn = getattr(exc, attr, None)
        if fn is not None:
            try:
                value = fn()
            except Exception:  # older pyspark: the method exists but fails
                value = None
            if value:
                return str(value)
    match = re.search(r"\[([A-Z_]+(?:\.[A-Z_]+)?)\]", str(exc))
    return match.group(1) if match else type(exc).__name__


def run_case(spark: Any, jsonrows: Any, sql: str) -> dict[str, Any]:
    """Spark's answer: types and rows as strings, or the error class."""
    try:
        df = spark.sql(sql)
        types = [f.dataType().sql() for f in df._jdf.schema().fields()]
        rows = _rows(df, types, jsonrows)
    except Exception as exc:
        return {"error": _error_class(exc)}
    return {"types": types, "rows": rows}


def _rows(df: Any, types: list[str], jsonrows: Any) -> list[list[str | None]]:
    """The rows through Arrow; intervals (which Spark's Arrow export lacks) as integers of
    months or microseconds computed by Spark, then printed by jsonrows; a CalendarInterval
    as Spark's text of it (what Databricks shows for make_interval)."""
    names = [f"c{i}" for i in range(len(types))]
    exprs = []
    for name, typ in zip(names, types, strict=True):
        if typ == "INTERVAL":  # a CalendarInterval (make_interval): its own text
            exprs.append(f"CAST({name} AS STRING)")
        elif typ in ("INTERVAL YEAR", "INTERVAL YEAR TO MONTH"):
            month = "" if typ == "INTERVAL YEAR" else f" + extract(MONTH FROM {name})"
            exprs.append(f"extract(YEAR FROM {name}) * 12{month}")
        elif typ == "INTERVAL MONTH":
            exprs.append(f"extract(MONTH FROM {name})")
        elif typ.startswith("INTERVAL"):
            exprs.append(f"unix_micros(timestamp_micros(0) + {name})")
        elif "INTERVAL" in typ:
            raise ValueError(f"nested interval result {typ}")
        else:
            exprs.append(name)
    rows = jsonrows.rows_as_strings(df.toDF(*names).selectExpr(*exprs).toArrow())
    for row in rows:
        for i, typ in enumerate(types):
            if row[i] is None or not typ.startswith("INTERVAL") or typ == "INTERVAL":
                continue
            if "YEAR" in typ or "MONTH" in typ:
                row[i] = jsonrows.year_month_text(int(row[i]))
            else:
                row[i] = jsonrows.day_time_text(int(row[i]))
    return rows


def main() -> None:
    sys.path.insert(0, str(HERE))
    import properties

    jsonrows = _load_jsonrows()
    spark = spark_session()
    spark.sparkContext.setLogLevel("OFF")
    if "--tables" in sys.argv:
        _tables(spark, jsonrows)
        spark.stop()
        return
    if "--properties" in sys.argv:
        # only the own cases again: the documented ones are kept as they are
        with FIXTURE.open() as f:
            kept = [json.loads(line) for line in f]
        all_cases = [(r["source"], r["family"], r["function"], r["sql"]) for r in kept
                     if r["source"] == "doc"]
        names = NAMES.read_text().split()
    else:
        cases, names = documented(spark)
        all_cases = [("doc", *c) for c in cases]
    all_cases += [("property", fam, fn, sql) for fam, fn, sql in properties.cases()]
    seen = set()
    kept_answers = {}
    if "--properties" in sys.argv:
        kept_answers = {r["sql"]: {k: r[k] for k in ("types", "rows", "error") if k in r}
                        for r in kept}
    with FIXTURE.open("w") as out:
        for source, family, function, sql in all_cases:
            if sql in seen:
                continue
            seen.add(sql)
            answer = (kept_answers.get(sql) if source == "doc" else None) or run_case(
                spark, jsonrows, sql)
            record = {"source": source, "family": family, "function": function, "sql": sql,
                      **answer}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    NAMES.write_text("\n".join(names) + "\n")
    print(f"{len(seen)} cases, {len(names)} function names -> {FIXTURE.name}, {NAMES.name}")
    spark.stop()


def _tables(spark: Any, jsonrows: Any) -> None:
    """Only the cases over typed tables (tables.py) -> tables.jsonl: Spark reads temp views
    of the same rows and types that the suite writes as Delta tables."""
    import tables

    tables.create_views(spark)
    with TABLES_FIXTURE.open("w") as out:
        for family, function, sql in tables.cases():
            record = {"source": "property", "family": family, "function": function,
                      "sql": sql, **run_case(spark, jsonrows, sql)}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{len(tables.CASES)} cases over tables -> {TABLES_FIXTURE.name}")


if __name__ == "__main__":
    main()
