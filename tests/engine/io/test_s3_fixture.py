"""The shared moto fixture: a reachable server, a fresh bucket per test, explicit credentials."""

from tests.fixtures.s3 import s3_client, s3_engine_settings


def test_bucket_is_fresh_and_writable(s3_bucket: dict[str, str]) -> None:
    client = s3_client(s3_bucket)
    assert client.list_objects_v2(Bucket=s3_bucket["bucket"]).get("KeyCount") == 0
    client.put_object(Bucket=s3_bucket["bucket"], Key="a/b.bin", Body=b"0123456789")
    got = client.get_object(Bucket=s3_bucket["bucket"], Key="a/b.bin", Range="bytes=2-4")
    assert got["Body"].read() == b"234"


def test_engine_settings_carry_explicit_options(s3_bucket: dict[str, str]) -> None:
    settings = s3_engine_settings(s3_bucket)
    opts = settings.lake_storage_options()
    assert opts["AWS_ENDPOINT_URL"] == s3_bucket["endpoint_url"]
    assert opts["AWS_ALLOW_HTTP"] == "true"
    assert settings.lake == f"s3://{s3_bucket['bucket']}/lake"
