"""Value strings of JSON_ARRAY (and CSV): every type, with nulls."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pyarrow as pa

from fetch import rows_as_strings
from fetch.jsonrows import column_as_strings


def col(values: list, typ: pa.DataType) -> list[str | None]:
    return column_as_strings(pa.array(values, typ))


def test_integers_booleans_strings_and_nulls() -> None:
    assert col([1, -2, None], pa.int64()) == ["1", "-2", None]
    assert col([True, False, None], pa.bool_()) == ["true", "false", None]
    assert col(["a", "", None], pa.string()) == ["a", "", None]
    assert col([None, None], pa.null()) == [None, None]


def test_few_and_many_integers_print_alike() -> None:
    # A few values take Python's str, many take Arrow's cast: the same text at every width.
    for typ, low, high in [(pa.int8(), -128, 127), (pa.int16(), -32768, 32767),
                           (pa.int32(), -2**31, 2**31 - 1), (pa.int64(), -2**63, 2**63 - 1),
                           (pa.uint8(), 0, 255), (pa.uint64(), 0, 2**64 - 1)]:
        values = [low, high, 0, None, 7]
        few = col(values, typ)
        many = col(values * 20, typ)
        assert few == [str(low), str(high), "0", None, "7"], typ
        assert many == few * 20, typ


def test_decimals_keep_their_scale() -> None:
    values = [decimal.Decimal("0.0100"), decimal.Decimal("-12.5"), None]
    assert col(values, pa.decimal128(10, 4)) == ["0.0100", "-12.5000", None]


def test_doubles_print_like_spark() -> None:
    values = [1.0, 0.1, -2.5, float("nan"), float("inf"), float("-inf"), None]
    assert col(values, pa.float64()) == ["1.0", "0.1", "-2.5", "NaN", "Infinity", "-Infinity",
                                         None]
    assert [float(v) for v in col([1e20, 1.5e-7], pa.float64())] == [1e20, 1.5e-7]


def test_dates_and_times() -> None:
    assert col([dt.date(2024, 2, 29), None], pa.date32()) == ["2024-02-29", None]
    assert col([dt.time(1, 2, 3), dt.time(1, 2, 3, 500000)], pa.time64("us")) == [
        "01:02:03", "01:02:03.5"]


def test_timestamps_iso_with_z_when_aware() -> None:
    aware = pa.array(
        [dt.datetime(2023, 9, 1, 13, 21, 53, tzinfo=dt.UTC),
         dt.datetime(2023, 9, 1, 13, 21, 53, 120000, tzinfo=dt.UTC), None],
        pa.timestamp("us", "UTC"),
    )
    assert column_as_strings(aware) == ["2023-09-01T13:21:53Z", "2023-09-01T13:21:53.12Z", None]
    # another zone is rendered in UTC
    ny = aware.cast(pa.timestamp("us", "America/New_York"))
    assert column_as_strings(ny)[0] == "2023-09-01T13:21:53Z"
    naive = col([dt.datetime(2023, 1, 2, 3, 4, 5)], pa.timestamp("ns"))
    assert naive == ["2023-01-02T03:04:05"]
    parsed = dt.datetime.fromisoformat(column_as_strings(aware)[1].replace("Z", "+00:00"))
    assert parsed == dt.datetime(2023, 9, 1, 13, 21, 53, 120000, tzinfo=dt.UTC)


def test_binary_is_base64() -> None:
    assert col([b"\x00\x01\xff", None], pa.binary()) == ["AAH/", None]


def test_nested_values_are_json_text() -> None:
    lists = col([[1, None, 3], [], None], pa.list_(pa.int32()))
    assert lists == ["[1,null,3]", "[]", None]
    struct_t = pa.struct([("d", pa.decimal128(5, 2)), ("s", pa.string()), ("t", pa.date32())])
    structs = col([{"d": decimal.Decimal("1.20"), "s": "x\"y", "t": dt.date(2020, 1, 1)}],
                  struct_t)
    assert json.loads(structs[0]) == {"d": "1.20", "s": 'x"y', "t": "2020-01-01"}
    maps = col([[("a", 1), ("b", None)]], pa.map_(pa.string(), pa.int64()))
    assert json.loads(maps[0]) == {"a": 1, "b": None}


def test_rows_transpose_columns_and_dictionary_columns_decode() -> None:
    batch = pa.record_batch({
        "k": pa.array(["x", None, "x"]).dictionary_encode(),
        "v": pa.array([1, 2, None]),
    })
    assert rows_as_strings(batch) == [["x", "1"], [None, "2"], ["x", None]]
    assert rows_as_strings(batch.slice(0, 0)) == []
    table = pa.Table.from_batches([batch, batch])
    assert len(rows_as_strings(table)) == 6
