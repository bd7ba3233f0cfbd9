"""A set RAPPORT_* variable one or two letters away from one Rapport reads is refused,
naming the one meant: with ``RAPPORT_SMTP_ULR`` e-mail went to the development outbox
instead of the SMTP server, with ``RAPPORT_DATABSE_URL`` the daemon planned into the
default SQLite file, and nothing said so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from factories import REPO, run_rapport

from rapport.engine.core.config import load_settings
from rapport.engine.core.configcheck import VARIABLES
from rapport.engine.core.errors import ConfigError


def refused(tmp_path: Path, environ: dict[str, str], text: str = "") -> list[str]:
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(config, environ=environ)
    return [str(problem) for problem in raised.value.problems]


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("RAPPORT_SMTP_ULR", "RAPPORT_SMTP_URL"),
        ("RAPPORT_DATABSE_URL", "RAPPORT_DATABASE_URL"),
        ("RAPPORT_DATABASE_URI", "RAPPORT_DATABASE_URL"),
        ("RAPPORT_SECRETKEY", "RAPPORT_SECRET_KEY"),
        ("rapport_secret_key", "RAPPORT_SECRET_KEY"),
        ("rapport_sms_url", "RAPPORT_SMS_URL"),
        ("RAPPORT_SMS_URI", "RAPPORT_SMS_URL"),
    ],
)
def test_a_misspelt_variable_is_refused_naming_the_one_meant(
    tmp_path: Path, written: str, meant: str
) -> None:
    assert refused(tmp_path, {written: "smtp://127.0.0.1:2525"}) == [
        f"{written}: not a variable Rapport reads; did you mean {meant}? Rename it, or unset it"
    ]


def test_a_misspelt_variable_fails_the_command_with_exit_1(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("", encoding="utf-8")

    ran = run_rapport("campaigns", "validate", cwd=tmp_path, env={"RAPPORT_SMTP_ULR": "smtp://x"})

    assert ran.returncode == 1
    assert ran.stderr.startswith("RAPPORT_SMTP_ULR: not a variable Rapport reads; did you mean")


def test_an_empty_misspelt_variable_counts_as_unset(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("", encoding="utf-8")

    load_settings(config, environ={"RAPPORT_SMTP_ULR": ""})


def test_a_variable_an_adapter_option_names_is_the_operators(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "channels:\n"
        "  email: {adapter: smtp, kind: email, url_env: RAPPORT_SMTP_URL2}\n"
        "  sms: {adapter: file, kind: sms, path: outbox}\n",
        encoding="utf-8",
    )

    settings = load_settings(config, environ={"RAPPORT_SMTP_URL2": "smtp://127.0.0.1:2525"})

    assert settings.channels["email"].adapter == "smtp"


def test_other_rapport_variables_are_left_alone(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("", encoding="utf-8")

    load_settings(config, environ={"RAPPORT_URL": "http://127.0.0.1:8080"})  # docs/api.md


def test_the_variables_checked_are_those_documented() -> None:
    text = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(RAPPORT_[A-Z_]+)` \|", text, re.MULTILINE))
    assert set(VARIABLES) == documented
