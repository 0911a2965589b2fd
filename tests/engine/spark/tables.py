"""Typed tables for the Spark oracle: the same rows as Spark temp views and as Delta tables.

The cases of `CASES` read table columns, whose types only the scanned tables' schemas give
(engine.spark.annotation): casts, array indexes, date arithmetic, decimal division and
aggregates over columns, through subqueries, CTEs, joins and unions, with NULLs,
negatives, overflow and leap days. regenerate.py runs them with Spark over
`create_views`; differential.py over `create_tables` (Delta tables in main.default).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

_UTC = dt.UTC


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# name -> ([(column, Spark DDL type, Arrow type)], rows)
TABLES: dict[str, tuple[list[tuple[str, str, pa.DataType]], list[tuple[Any, ...]]]] = {
    "nums": (
        [("id", "INT", pa.int32()), ("i", "INT", pa.int32()), ("l", "BIGINT", pa.int64()),
         ("sm", "SMALLINT", pa.int16()), ("d", "DOUBLE", pa.float64()),
         ("dec", "DECIMAL(10,2)", pa.decimal128(10, 2)),
         ("dec2", "DECIMAL(5,3)", pa.decimal128(5, 3)),
         ("big", "DECIMAL(38,10)", pa.decimal128(38, 10)), ("s", "STRING", pa.string())],
        [
            (1, 7, 10, 3, 12.7, Decimal("12.75"), Decimal("1.255"),
             Decimal("12345678901234567890.0123456789"), "2"),
            (2, -7, -10, -3, -12.7, Decimal("-12.75"), Decimal("-1.255"), Decimal("-1.5"),
             "-3"),
            (3, None, None, None, None, None, None, None, None),
            (4, 2147483647, 9223372036854775807, 32767, 0.5, Decimal("0.05"),
             Decimal("0.001"), Decimal("0"), "10"),
            (5, 0, 1, 0, 2.5, Decimal("2.50"), Decimal("2.500"), Decimal("3"), "0"),
        ],
    ),
    "times": (
        [("id", "INT", pa.int32()), ("dt", "DATE", pa.date32()),
         ("ts", "TIMESTAMP", pa.timestamp("us", tz="UTC")),
         ("ntz", "TIMESTAMP_NTZ", pa.timestamp("us"))],
        [
            (1, dt.date(2024, 2, 29), _ts("2024-02-29 12:34:56.123456"),
             _ts("2024-02-29 12:34:56.123456")),
            (2, dt.date(2023, 1, 31), _ts("2023-01-31 00:00:00"), _ts("2023-01-31 00:00:00")),
            (3, None, None, None),
            (4, dt.date(1969, 12, 31), _ts("1969-12-31 23:59:59.5"),
             _ts("1969-12-31 23:59:59.5")),
            (5, dt.date(2024, 1, 31), _ts("2024-03-01 00:00:00.1"), _ts("2024-03-01 00:00:00")),
        ],
    ),
    "arrs": (
        [("id", "INT", pa.int32()), ("a", "ARRAY<INT>", pa.list_(pa.int32())),
         ("sa", "ARRAY<STRING>", pa.list_(pa.string()))],
        [
            (1, [1, 2, 3], ["a", "b"]),
            (2, [], []),
            (3, None, None),
            (4, [None, 5], [None]),
        ],
    ),
}

CASES: list[str] = [
    # CAST of fractional columns to integers truncates toward zero
    "SELECT id, CAST(d AS INT), CAST(dec AS INT), CAST(dec2 AS BIGINT), CAST(d AS SMALLINT) "
    "FROM nums",
    "SELECT id, CAST(-d AS INT), CAST(dec * -1 AS INT), CAST(d * 3 AS BIGINT) FROM nums",
    "SELECT CAST(big AS INT) FROM nums",
    "SELECT id, CAST(big AS BIGINT) FROM nums WHERE id <> 1",
    # CAST of timestamp columns to strings: Spark's text, no zone suffix
    "SELECT id, CAST(ts AS STRING), CAST(ntz AS STRING), CAST(dt AS STRING) FROM times",
    "SELECT id, CAST(ts + INTERVAL 1 DAY AS STRING) FROM times",
    # array indexes of columns raise out of bounds (ANSI)
    "SELECT id, a[0], a[2], sa[1] FROM arrs WHERE id = 1",
    "SELECT id, a[1] FROM arrs WHERE id = 4",
    "SELECT a[3] FROM arrs",
    "SELECT a[0] FROM arrs WHERE id = 2",
    "SELECT id, element_at(a, -1), element_at(a, 1) FROM arrs WHERE id IN (1, 4)",
    "SELECT element_at(a, 4) FROM arrs",
    "SELECT element_at(a, 0) FROM arrs WHERE id = 1",
    "SELECT id, reverse(a), size(a) FROM arrs",
    # date columns stay DATEs; DATE - DATE is an INTERVAL DAY
    "SELECT id, dt + INTERVAL 1 MONTH, dt - INTERVAL '1' DAY, dt + INTERVAL 1 YEAR FROM times",
    "SELECT id, dt - DATE'2024-01-01', DATE'2024-03-01' - dt FROM times",
    "SELECT id, add_months(dt, 1), date_add(dt, 1), dt + 1 FROM times",
    "SELECT a.id, a.dt - b.dt FROM times a JOIN times b ON b.id = 1",
    # decimal division: Spark's precision and scale, rounded half up
    "SELECT id, dec / dec2, dec / 3, i / dec, dec / d FROM nums",
    "SELECT id, dec2 / 7, -dec / 7, dec / 0.7 FROM nums",
    "SELECT id, big / dec, big / 3 FROM nums WHERE id <> 4",
    "SELECT dec / 0 FROM nums",
    "SELECT id, dec / (dec2 - dec2) FROM nums WHERE id = 3",
    "SELECT id, CAST(3 AS DECIMAL(10,0)) / CAST(2000000 AS DECIMAL(10,0)) + dec FROM nums",
    # decimal arithmetic: Spark's scale past 38 digits
    "SELECT id, big * big, big + dec, dec * dec2, dec - dec2 FROM nums WHERE id IN (2, 5)",
    # sum of integers is a BIGINT; avg of decimals a DECIMAL(p+4, s+4)
    "SELECT sum(i), sum(sm), sum(dec), avg(dec), avg(dec2), avg(i), avg(d) FROM nums",
    "SELECT sum(l) FROM nums",
    "SELECT sum(l) FROM nums WHERE id < 4",
    "SELECT id, sum(i) OVER (ORDER BY id), avg(dec) OVER (ORDER BY id) FROM nums",
    "SELECT avg(dec) FILTER (WHERE id > 1), avg(DISTINCT dec2), sum(DISTINCT sm) FROM nums",
    "SELECT avg(dec), sum(i) FROM nums WHERE id > 100",
    "SELECT id % 2 AS k, avg(dec), sum(i), avg(big) FROM nums GROUP BY 1",
    "SELECT sum(dec) / sum(dec2), avg(dec) * 2 FROM nums",
    # implicit casts beside columns
    "SELECT id, i + '2', l - '3', i * '2', sm + '1' FROM nums WHERE id <> 4",
    "SELECT id, i + '2' FROM nums WHERE id = 4",
    # through CTEs, subqueries, joins and unions
    "WITH c AS (SELECT id, d * 1 AS x, dec AS y FROM nums) SELECT id, CAST(x AS INT), y / 4 "
    "FROM c",
    "SELECT n.id, CAST(t.ts AS STRING), CAST(n.d AS INT) FROM nums n JOIN times t ON n.id = t.id",
    "SELECT q.id, CAST(q.x AS INT) FROM (SELECT id, d AS x FROM nums WHERE d > 0) q",
    "SELECT CAST(x AS INT) FROM (SELECT d AS x FROM nums UNION ALL SELECT 1.5D)",
    "SELECT id, CAST(d AS INT) FROM nums WHERE d > (SELECT avg(d) FROM nums)",
    "SELECT id, (SELECT max(dt) FROM times) + INTERVAL 1 MONTH FROM nums WHERE id = 1",
    # decimals widen across UNION branches and VALUES rows
    "SELECT x / 2 FROM (SELECT dec2 AS x FROM nums UNION ALL SELECT dec FROM nums)",
    "SELECT x / 3 FROM (SELECT dec AS x FROM nums UNION ALL SELECT 1)",
    "SELECT x / 2, x * x FROM VALUES (1.5), (22.25), (NULL) AS v(x)",
    "SELECT round(dec, 1) / 2 FROM nums",
    "SELECT id, round(dec, 1), round(dec, 3), floor(dec2), ceil(dec2), abs(dec2), "
    "abs(dec) / 3, floor(dec) / 2, round(dec2, 5) / 4 FROM nums",
    "SELECT greatest(dec, 1) / 2 FROM nums",
    "SELECT id, dec div dec2, try_divide(dec, 4), try_divide(dec, dec - dec), -dec div 2, "
    "big div dec, dec % dec2 FROM nums",
    "SELECT dec div 0 FROM nums",
    # doubles as Spark prints them: scientific notation outside [0.001, 10^7)
    "SELECT id, CAST(d * 1e9 AS STRING), CAST(d / 1e6 AS STRING), CAST(d AS STRING), "
    "CAST(-d * 1e12 AS STRING), CAST(CAST(d AS FLOAT) AS STRING) FROM nums",
    "SELECT CAST(x AS STRING) FROM VALUES (CAST('NaN' AS DOUBLE)), (CAST('-Infinity' AS DOUBLE)), "
    "(-0.0D), (1e-20D), (123456789012345.6D) AS v(x)",
    "SELECT CAST(d * 1e300 AS STRING) FROM nums WHERE id = 1",
    "SELECT id, concat('x', d * 1e9), 'y' || d / 1e6, concat_ws('-', d, i) FROM nums",
    # string columns in arithmetic, overflow, more date arithmetic
    "SELECT id, s + 1, i + s FROM nums WHERE id <> 3",
    "SELECT id, CAST(dec AS STRING), CAST(d AS STRING), CAST(i AS STRING) FROM nums",
    "SELECT i + 1 FROM nums",
    "SELECT l * 2 FROM nums",
    "SELECT id, date_sub(dt, 365), datediff(dt, DATE'2024-02-28'), dt - INTERVAL 1 MONTH "
    "FROM times",
]


def create_views(spark: Any) -> None:
    """Each table as a Spark temp view with its declared types."""
    for name, (columns, rows) in TABLES.items():
        ddl = ", ".join(f"{c} {t}" for c, t, _ in columns)
        # pyspark reads a naive datetime in the session's zone, which regenerate.py sets to UTC
        spark.createDataFrame(rows, schema=ddl).createOrReplaceTempView(name)


def create_tables(lake: Path, catalog: str = "main", schema: str = "default") -> None:
    """Each table as a Delta table under the lake's catalog and schema."""
    from deltalake import write_deltalake

    for name, (columns, rows) in TABLES.items():
        arrow_schema = pa.schema([(c, a) for c, _, a in columns])
        data = {c: [row[i] for row in rows] for i, (c, _, _) in enumerate(columns)}
        for c, _, a in columns:
            if pa.types.is_timestamp(a) and a.tz:
                data[c] = [v.replace(tzinfo=_UTC) if v is not None else None
                           for v in data[c]]
        table = pa.table(data, schema=arrow_schema)
        write_deltalake(str(lake / catalog / schema / name), table)


def cases() -> list[tuple[str, str, str]]:
    """(family, function label, sql) for every case over the tables."""
    return [("columns", _label(sql), sql) for sql in CASES]


def _label(sql: str) -> str:
    body = sql.upper()
    for word in ("AVG", "SUM", "ELEMENT_AT", "CAST", "INTERVAL", "/"):
        if word in body:
            return word.lower()
    return "expression"
