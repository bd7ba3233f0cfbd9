"""A secret short enough to guess is a warning on a trial set-up and refused with
``production: true``; messages name the variable and its length, never its value
(engine/core/secretcheck.py, docs/configuration.md)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from factories import REPO, run_rapport
from own_sender import OWN_SENDER, own_sender

from rapport.engine.campaigns.validate import check_configuration
from rapport.engine.core.config import SenderConfig, Settings, WebConfig
from rapport.engine.core.errors import ConfigError
from rapport.engine.core.secretcheck import MIN_CHARACTERS, check_secrets, weak_secrets

SHORT = "hunter2-shortkey"  # 16 characters
LONG = "k" * MIN_CHARACTERS


def with_secrets(production: bool = False, **web: str) -> Settings:
    return Settings(
        secret_key=web.pop("secret_key", None),
        web=WebConfig(base_url="https://shop.example", **web),
        production=production,
        sender=SenderConfig(**OWN_SENDER),
    )


@pytest.mark.parametrize(
    ("field", "variable"),
    [
        ("secret_key", "RAPPORT_SECRET_KEY"),
        ("report_token", "RAPPORT_REPORT_TOKEN"),
        ("webhook_token", "RAPPORT_WEBHOOK_TOKEN"),
        ("metrics_token", "RAPPORT_METRICS_TOKEN"),
    ],
)
def test_each_short_secret_is_named_with_its_length_not_its_value(
    field: str, variable: str
) -> None:
    (why,) = weak_secrets(with_secrets(**{field: SHORT}))

    assert why.startswith(f"{variable} is 16 characters long")
    assert SHORT not in why


def test_secrets_of_32_characters_or_none_at_all_are_fine() -> None:
    assert weak_secrets(with_secrets()) == []
    fine = with_secrets(secret_key=LONG, report_token=LONG, webhook_token=LONG, metrics_token=LONG)
    assert weak_secrets(fine) == []


def test_a_short_secret_is_a_warning_on_a_trial_set_up(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        check_secrets(with_secrets(secret_key=SHORT))

    assert "RAPPORT_SECRET_KEY is 16 characters long" in caplog.text
    assert SHORT not in caplog.text


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(ConfigError, match="RAPPORT_REPORT_TOKEN is 16 characters") as raised:
        check_secrets(with_secrets(production=True, report_token=SHORT))
    assert SHORT not in str(raised.value)


def test_validate_warns_and_in_production_fails() -> None:
    trial = check_configuration(with_secrets(secret_key=SHORT))
    assert not trial.problems
    assert [w.message[:30] for w in trial.warnings] == ["RAPPORT_SECRET_KEY is 16 chara"]

    production = check_configuration(with_secrets(production=True, secret_key=SHORT))
    (problem,) = production.problems
    assert problem.message.endswith("(production: true)")


@pytest.fixture
def production_project(tmp_path: Path) -> Path:
    """The shipped files with ``production: true``, an HTTPS base URL and an own sender."""
    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    text = (REPO / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("\nproduction: false\n", "\nproduction: true\n").replace(
        "base_url: http://127.0.0.1:8000", "base_url: https://shop.example"
    )
    (tmp_path / "config.yaml").write_text(own_sender(text), encoding="utf-8")
    return tmp_path


def test_dispatch_in_production_exits_1_with_a_short_secret_key(production_project: Path) -> None:
    run_rapport("db", "upgrade", cwd=production_project)

    ran = run_rapport(
        "dispatch", "--once", cwd=production_project, env={"RAPPORT_SECRET_KEY": SHORT}
    )

    assert ran.returncode == 1, ran
    assert "RAPPORT_SECRET_KEY is 16 characters long" in ran.stderr
    assert SHORT not in ran.stderr + ran.stdout

    ran = run_rapport(
        "dispatch", "--once", cwd=production_project, env={"RAPPORT_SECRET_KEY": LONG}
    )
    assert ran.returncode == 0, ran
