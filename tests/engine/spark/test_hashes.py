"""Spark's hash functions (engine/spark/hashes.py): the hash primitives and the UDFs."""

from __future__ import annotations

import random

import duckdb
import pytest

from engine.spark import hashes, install


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    db = duckdb.connect()
    install(db)
    return db


def test_primitives_match_spark() -> None:
    # Spark 4.3's answers: hash(1), hash(1L), hash('abcd'), hash('abcde'), xxhash64('a')
    assert hashes.murmur3_int(1, 42) == -559580957
    assert hashes.murmur3_long(1, 42) == -1712319331
    assert hashes.murmur3_bytes(b"abcd", 42) == -396302900
    # the unaligned tail: each byte mixed as a block of its own (a standard Murmur3 differs)
    assert hashes.murmur3_bytes(b"abcde", 42) == 814637928
    assert hashes.murmur3_bytes("é".encode(), 42) == 2119106806
    assert hashes.xxhash64_bytes(b"a", 42) == -8582455328737087284


def test_arguments_chain_as_seeds() -> None:
    """hash('Spark', array(123), 2): each argument's hash seeds the next one's."""
    seed = hashes.murmur3_bytes(b"Spark", hashes.SEED)
    seed = hashes.murmur3_int(123, seed)
    assert hashes.murmur3_int(2, seed) == -1321691492


@pytest.mark.parametrize("sql_type", ["INTEGER", "BIGINT", "DATE", "TIMESTAMP"])
def test_vectorised_path_equals_the_general_one(con: duckdb.DuckDBPyConnection,
                                                sql_type: str) -> None:
    """A column of one fixed-width type takes the numpy path; one value at a time must agree."""
    rng = random.Random(7)
    values = [rng.randrange(-2**31, 2**31) if rng.random() > 0.1 else None for _ in range(3000)]
    cast = {"DATE": "CAST(to_days(CAST(v % 100000 AS INTEGER)) + DATE '1970-01-01' AS DATE)",
            "TIMESTAMP": "make_timestamp(CAST(v AS BIGINT) * 1000)"}.get(
                sql_type, f"CAST(v AS {sql_type})")
    con.execute("CREATE OR REPLACE TEMP TABLE t AS SELECT * FROM (SELECT unnest(?) AS v)",
                [values])
    for udf in ("sg_murmur3", "sg_xxhash64"):
        together = con.sql(f"SELECT {udf}(sg_hashable({cast}), 42) FROM t").fetchall()
        # a BLOB in the batch turns the vectorised path off: each value is hashed alone
        alone = con.sql(f"SELECT {udf}(sg_hashable({cast}), 42) FROM t UNION ALL "
                        f"SELECT {udf}(sg_hashable(X'00'), 42)").fetchall()[:-1]
        assert together == alone


def test_unsupported_types_are_named(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(duckdb.InvalidInputException, match=r"HASH_TYPE.*HUGEINT"):
        con.sql("SELECT sg_murmur3(sg_hashable(CAST(1 AS HUGEINT)), 42)").fetchall()
    with pytest.raises(duckdb.InvalidInputException, match="HASH_MAP_TYPE"):
        con.sql("SELECT sg_murmur3(sg_hashable(map([1], [2])), 42)").fetchall()
