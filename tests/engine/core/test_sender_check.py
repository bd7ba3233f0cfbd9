"""A sender still at the shipped example addresses is a warning on a trial set-up and
refused with ``production: true`` (engine/core/sendercheck.py, engine/core/production.py):
mail from or to a domain reserved for examples reaches nobody, so unsubscribe requests
by e-mail are lost, and the example postal address is no postal address."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import yaml
from factories import REPO, run_rapport
from own_sender import OWN_SENDER, OWN_SENDER_YAML, own_sender
from sqlalchemy import Engine

from rapport.engine.campaigns.validate import check_configuration
from rapport.engine.core.config import SenderConfig, Settings, WebConfig
from rapport.engine.core.errors import ConfigError
from rapport.engine.core.production import check_production
from rapport.engine.core.sendercheck import placeholder_sender, reserved

LONG_KEY = "k" * 40
EXAMPLE_KEYS = [
    "sender.from_address",
    "sender.unsubscribe_mailto",
    "sender.contact",
    "sender.message_id_domain",
    "sender.postal_address",
]


def settings(production: bool, **sender: str) -> Settings:
    return Settings(
        secret_key=LONG_KEY,
        web=WebConfig(base_url="https://shop.example"),
        production=production,
        sender=SenderConfig(**sender),
    )


def test_the_shipped_sender_is_refused_in_production_naming_each_example_key() -> None:
    report = check_configuration(settings(production=True))

    assert report.warnings == []
    assert sorted(p.message.split(" ", 1)[0] for p in report.problems) == sorted(EXAMPLE_KEYS)
    assert all(p.message.endswith("(production: true)") for p in report.problems)


def test_the_shipped_sender_is_a_warning_on_a_trial_set_up() -> None:
    report = check_configuration(settings(production=False))

    assert report.problems == []
    assert sorted(w.message.split(" ", 1)[0] for w in report.warnings) == sorted(EXAMPLE_KEYS)


def test_an_own_sender_passes_in_production() -> None:
    report = check_configuration(settings(production=True, **OWN_SENDER))

    assert (report.problems, report.warnings) == ([], [])


@pytest.mark.parametrize(
    "domain",
    [
        "example.com",
        "EXAMPLE.org",
        "mail.example.net",
        "shop.example",
        "a.test",
        "localhost",
        "x.invalid",
        "example.com.",
    ],
)
def test_a_domain_reserved_for_examples_or_under_one_is_an_example(domain: str) -> None:
    assert reserved(domain)


@pytest.mark.parametrize(
    "domain", ["shop-mail.net", "example.co.uk", "myexample.com", "example.com.au", "testing.io"]
)
def test_a_domain_that_merely_looks_like_one_is_not(domain: str) -> None:
    assert not reserved(domain)


def test_a_from_address_with_a_display_name_is_judged_by_its_domain() -> None:
    sender = {**OWN_SENDER, "from_address": "Shop <news@Mail.Example.COM>"}

    [why] = placeholder_sender(settings(production=True, **sender))

    assert why.startswith(
        "sender.from_address 'Shop <news@Mail.Example.COM>' is at Mail.Example.COM"
    )


def test_the_shipped_config_yaml_sender_is_known_as_the_example() -> None:
    shipped = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))["sender"]
    keys = {"from_address", "postal_address", "message_id_domain"}
    sender = SenderConfig(**{k: v for k, v in shipped.items() if k in keys})

    whys = placeholder_sender(Settings(sender=sender))

    assert {why.split(" ", 1)[0] for why in whys} == set(EXAMPLE_KEYS)


def test_a_daemon_start_in_production_refuses_the_example_sender_in_one_error() -> None:
    with pytest.raises(ConfigError) as raised:
        check_production(settings(production=True, **{**OWN_SENDER, "contact": "a@b.test"}))

    assert str(raised.value).startswith("sender.contact 'a@b.test' is at b.test")
    assert str(raised.value).endswith("(production: true refuses to start with it)")


def test_a_trial_daemon_start_warns_once_naming_the_example_keys(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="rapport"):
        check_production(settings(production=False))

    [record] = [r for r in caplog.records if "shipped example" in r.getMessage()]
    assert all(key in record.getMessage() for key in EXAMPLE_KEYS)


@pytest.fixture
def production_project(tmp_path: Path) -> Path:
    """The shipped files with ``production: true`` and an HTTPS base URL."""
    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    text = (REPO / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("\nproduction: false\n", "\nproduction: true\n").replace(
        "base_url: http://127.0.0.1:8000", "base_url: https://shop.example"
    )
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_dispatch_in_production_exits_1_until_the_sender_is_the_operators_own(
    production_project: Path,
) -> None:
    env = {"RAPPORT_SECRET_KEY": LONG_KEY}
    assert run_rapport("db", "upgrade", cwd=production_project).returncode == 0

    ran = run_rapport("dispatch", "--once", cwd=production_project, env=env)

    assert ran.returncode == 1, ran
    assert ran.stderr.startswith("error: sender.from_address 'Rapport <hello@example.com>'")
    assert "Traceback" not in ran.stderr and len(ran.stderr.strip().splitlines()) == 1

    config = production_project / "config.yaml"
    config.write_text(own_sender(config.read_text(encoding="utf-8")), encoding="utf-8")
    assert run_rapport("dispatch", "--once", cwd=production_project, env=env).returncode == 0


def test_own_sender_yaml_is_the_same_sender() -> None:
    assert yaml.safe_load(OWN_SENDER_YAML)["sender"] == OWN_SENDER


def test_the_daemon_refuses_to_start_in_production_with_the_example_sender(engine: Engine) -> None:
    from rapport.engine.runtime.daemon import Daemon

    with pytest.raises(ConfigError, match=r"^sender.from_address 'Rapport <hello@example.com>'"):
        Daemon(settings(production=True), engine, plan=False)
    Daemon(settings(production=True, **OWN_SENDER), engine, plan=False).stop(grace=0)
