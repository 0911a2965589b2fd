"""The product has one exception tree; the packages only name parts of it, never repeat it."""

from __future__ import annotations

import inspect

import engine.errors
import fetch.errors
import gateway.errors
import sqlgate.errors as errors


def _classes(module: object) -> dict[str, type]:
    return {n: c for n, c in vars(module).items()
            if inspect.isclass(c) and issubclass(c, BaseException)}


def test_every_error_has_its_code_and_status_under_one_root() -> None:
    tree = _classes(errors)
    assert set(errors.__all__) == set(tree)
    for name, cls in tree.items():
        assert issubclass(cls, errors.SqlgateError), name
        assert (cls.error_code.isupper() and 400 <= cls.http_status < 600) or (
            cls.http_status == 500), name


def test_packages_name_the_tree_and_define_no_second_one() -> None:
    for module in (engine.errors, fetch.errors, gateway.errors):
        for name, cls in _classes(module).items():
            if cls.__module__.startswith("starlette"):  # what the renderer translates
                continue
            assert cls.__module__ == "sqlgate.errors", (module.__name__, name)
    assert engine.errors.EngineError is fetch.errors.FetchError is gateway.errors.GatewayError
    assert engine.errors.InvalidParameter is gateway.errors.InvalidParameter
    assert engine.errors.PermissionDenied is gateway.errors.PermissionDenied


def test_a_worker_error_renders_as_the_api_does() -> None:
    err = errors.TableNotFound("main.s.t")
    assert err.http_status == 400 and err.to_statement_error().error_code == "BAD_REQUEST"
    busy = errors.TemporarilyUnavailable("starting", retry_after=2.4)
    assert busy.http_status == 503 and busy.headers["Retry-After"] == "2"
    assert busy.body() == {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "starting"}
