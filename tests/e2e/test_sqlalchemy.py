"""databricks-sqlalchemy (on the connector) against the real stack: queries and reflection.

Reflection reads GetColumns' TYPE_NAME as SQL type text (BIGINT, DECIMAL(15,2), ...): the
dialect's parser failed with KeyError 'long' on information_schema's `data_type` spelling.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sqlgate.settings import Settings

sqlalchemy = pytest.importorskip("sqlalchemy")
pytest.importorskip("databricks.sqlalchemy")
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def engine(gateway_server: tuple[str, str, Settings]) -> Iterator[object]:
    url, token, settings = gateway_server
    path = f"/sql/1.0/warehouses/{settings.gateway.warehouse_id}"
    eng = sqlalchemy.create_engine(
        f"databricks://token:{token}@127.0.0.1?http_path={path}&catalog=main&schema=tpch",
        connect_args={"server_hostname": url, "_connection_uri": url + path,
                      "enable_telemetry": False})
    yield eng
    eng.dispose()


def test_reflection_types(engine: object) -> None:
    insp = sqlalchemy.inspect(engine)
    assert {"lineitem", "nation", "orders", "region"} <= set(insp.get_table_names())
    assert insp.has_table("orders") and not insp.has_table("no_such_table")
    cols = {c["name"]: c["type"] for c in insp.get_columns("orders")}
    assert isinstance(cols["o_orderkey"], sqlalchemy.BigInteger)
    price = cols["o_totalprice"]
    assert isinstance(price, sqlalchemy.Numeric) and (price.precision, price.scale) == (15, 2)
    assert isinstance(cols["o_orderdate"], sqlalchemy.Date)
    assert isinstance(cols["o_comment"], sqlalchemy.String)


def test_table_reflection_and_select(engine: object) -> None:
    meta = sqlalchemy.MetaData()
    region = sqlalchemy.Table("region", meta, autoload_with=engine)
    with engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(sqlalchemy.select(region.c.r_name).where(
            region.c.r_regionkey == sqlalchemy.bindparam("k", 2))).all()
    assert rows == [("ASIA",)]
