"""The public surface of engine.io is pinned: changing it is a decision, not an accident."""

import engine.io


def test_public_names() -> None:
    assert sorted(engine.io.__all__) == [
        "BlockCache",
        "BlockKey",
        "CacheStats",
        "DataFile",
        "IOStats",
        "LakeIO",
        "LakeIOError",
        "LocalStore",
        "ObjectStore",
        "S3Store",
    ]
    for name in engine.io.__all__:
        assert getattr(engine.io, name).__module__.startswith(("engine.io", "sqlgate.errors"))


def test_io_error_is_the_engines() -> None:
    from engine.errors import EngineError

    assert issubclass(engine.io.LakeIOError, EngineError)
    assert engine.io.LakeIOError.error_code == "IO_ERROR"
