"""The settings edge: precedence, coercion, unknown names, flat-name uniqueness."""

import dataclasses

import pytest

from sqlgate import cli
from sqlgate.settings import _SECTIONS, Settings


def test_defaults_are_the_documented_ones() -> None:
    s = Settings.load(env={})
    assert s.pool.auto_stop_seconds == 600.0
    assert s.gateway.host == "127.0.0.1"
    assert s.gateway.inline_byte_limit == 25 * 1024 * 1024
    assert s.fetch.link_ttl_s <= 900
    assert len(s.fetch.signing_secret) == 64  # generated when unset


def test_precedence_file_env_flags(tmp_path) -> None:
    cfg = tmp_path / "sqlgate.toml"
    cfg.write_text('[engine]\nthreads = 5\nlake = "/from/file"\n[pool]\nfifo = true\n')
    s = Settings.load(cfg, env={"SQLGATE_THREADS": "7"}, overrides={"lake": "/from/flag"})
    assert s.engine.threads == 7
    assert s.engine.lake == "/from/flag"
    assert s.pool.fifo is True


@pytest.mark.parametrize(
    ("env", "message"),
    [({"SQLGATE_THREADS": "many"}, "threads"), ({"SQLGATE_FIFO": "perhaps"}, "fifo")],
)
def test_bad_values_name_the_setting(env, message) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.load(env=env)


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown setting"):
        Settings.load(env={}, overrides={"no_such_thing": 1})


def test_optional_fields_accept_none_text() -> None:
    s = Settings.load(env={"SQLGATE_AUTO_STOP_S": "2.5", "SQLGATE_TOKEN": ""})
    assert s.pool.auto_stop_seconds == 2.5
    assert s.gateway.token is None


def test_field_names_are_unique_across_sections() -> None:
    names = [f.name for cls in _SECTIONS.values() for f in dataclasses.fields(cls)]
    assert len(names) == len(set(names))


def test_replace_changes_one_section() -> None:
    s = Settings.load(env={}).replace(port=0, threads=1)
    assert (s.gateway.port, s.engine.threads) == (0, 1)


def test_cli_flags_and_set(tmp_path) -> None:
    args = cli.parser().parse_args(
        ["serve", "--lake", str(tmp_path), "--port", "9999", "--set", "auto_stop_s=3"]
    )
    s = cli.build_settings(args, env={"SQLGATE_PORT": "1"})
    assert (s.engine.lake, s.gateway.port, s.pool.auto_stop_seconds) == (str(tmp_path), 9999, 3.0)


def test_cli_bad_set_is_a_clean_exit() -> None:
    args = cli.parser().parse_args(["serve", "--set", "threads"])
    with pytest.raises(SystemExit, match="FIELD=VALUE"):
        cli.build_settings(args, env={})
