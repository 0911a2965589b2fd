"""The engine's public surface is pinned: changing it is a deliberate act."""

import engine


def test_public_surface() -> None:
    assert sorted(engine.__all__) == [
        "AlreadyExists", "AnalysisError", "Cancelled", "Engine", "EngineError",
        "InvalidParameter", "LakeIOError", "ParseError", "PermissionDenied",
        "ResourceExhausted", "ResultStream", "SchemaNotFound", "SqlError", "TableNotFound",
        "Timeout", "Unsupported", "columns_for", "fingerprint", "parameter_type",
        "session_command",
    ]
    for name in engine.__all__:
        # The engine's own code, or the product's one exception tree it raises.
        assert getattr(engine, name).__module__.startswith(("engine.", "sqlgate.errors")), name


def test_every_error_carries_code_status_and_state() -> None:
    for name in engine.__all__:
        obj = getattr(engine, name)
        if isinstance(obj, type) and issubclass(obj, engine.EngineError):
            assert obj.error_code.isupper() and 400 <= obj.http_status < 600, name
    assert engine.TableNotFound("a.b.c").to_statement_error().sql_state == "42P01"
