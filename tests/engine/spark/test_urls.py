"""Spark's url_encode/url_decode (Java's URLEncoder/URLDecoder with UTF-8) and the try_
forms, as Spark 4.3 answers them."""

from __future__ import annotations

import pytest

from engine.spark.urls import _decode_one, _encode_one


@pytest.mark.parametrize(("text", "want"), [
    ("a b&c~", "a+b%26c%7E"), ("é", "%C3%A9"), ("a.b-c*d_e", "a.b-c*d_e"),
    ("https://spark.apache.org", "https%3A%2F%2Fspark.apache.org"),
])
def test_encode(text: str, want: str) -> None:
    assert _encode_one(text) == want


@pytest.mark.parametrize(("text", "want"), [
    ("a+b%26c", "a b&c"), ("%C3%A9+x", "é x"), ("%e2%82", "\ufffd"),
    ("%zz", None), ("a%2", None), ("%", None),  # malformed escapes: Spark's CANNOT_DECODE_URL
])
def test_decode(text: str, want: str | None) -> None:
    assert _decode_one(text) == want
