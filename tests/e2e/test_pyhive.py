"""pyhive (HiveServer2 over HTTP, column-based results) against the real stack."""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from pyhive import hive
from pyhive.exc import OperationalError

from sqlgate.settings import Settings

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cursor(gateway_server: tuple[str, str, Settings]) -> Iterator[hive.Cursor]:
    url, token, _ = gateway_server
    port = urlparse(url).port
    # scheme="http" posts to /cliservice/ with Basic "token:<PAT>"; pyhive runs USE `default`.
    conn = hive.connect(host="127.0.0.1", port=port, scheme="http", username="token",
                        password=token, auth="BASIC")
    cur = conn.cursor(arraysize=100)
    yield cur
    cur.close()
    conn.close()


def test_select_many_pages(cursor: hive.Cursor) -> None:
    cursor.execute("SELECT o_orderkey, o_totalprice, o_orderdate FROM main.tpch.orders "
                   "ORDER BY o_orderkey LIMIT 1234")
    rows = cursor.fetchall()
    assert len(rows) == 1234
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    # decimals travel as text in column-based results; pyhive parses them back
    assert isinstance(rows[0][1], decimal.Decimal) and rows[0][1] > 0
    assert [d[0] for d in cursor.description] == ["o_orderkey", "o_totalprice", "o_orderdate"]


def test_types_and_nulls(cursor: hive.Cursor) -> None:
    cursor.execute("SELECT n_nationkey, n_name, CAST(NULL AS STRING) AS z, n_regionkey >= 1 AS b "
                   "FROM main.tpch.nation WHERE n_nationkey < 3 ORDER BY n_nationkey")
    assert cursor.fetchall() == [(0, "ALGERIA", None, False), (1, "ARGENTINA", None, True),
                                 (2, "BRAZIL", None, True)]


def test_error_is_raised(cursor: hive.Cursor) -> None:
    with pytest.raises(OperationalError):
        cursor.execute("SELECT * FROM main.tpch.no_such_table")
    cursor.execute("SELECT 2 AS two")
    assert cursor.fetchall() == [(2,)]
