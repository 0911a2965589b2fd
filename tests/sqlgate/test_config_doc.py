"""deploy/config.md is the generated settings reference, and every setting has a meaning."""

from pathlib import Path

from sqlgate import cli
from sqlgate.config_doc import reference_markdown, undocumented

CONFIG_MD = Path(__file__).resolve().parents[2] / "deploy" / "config.md"


def test_every_setting_has_a_meaning() -> None:
    assert undocumented() == [], "add a line for these settings to sqlgate/config_doc.py"


def test_deploy_config_md_is_current() -> None:
    assert CONFIG_MD.read_text() == reference_markdown(), "regenerate: sqlgate config"


def test_cli_prints_it(capsys) -> None:
    assert cli.main(["config"]) == 0
    assert "SQLGATE_AUTO_STOP_MINS" in capsys.readouterr().out
