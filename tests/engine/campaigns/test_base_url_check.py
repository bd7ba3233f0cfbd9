"""``campaigns validate`` and a ``web.base_url`` that is not HTTPS.

Every link in a message starts with ``web.base_url``; RFC 8058 requires the one-click
``List-Unsubscribe`` URI to be HTTPS. A plain-HTTP base URL (the shipped config's
``http://127.0.0.1:8000`` included) is a warning that leaves validation successful;
with ``production: true`` it is a problem, exit 1.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from factories import REPO, run_rapport
from own_sender import OWN_SENDER, own_sender

from rapport.engine.campaigns.validate import check_configuration
from rapport.engine.core.config import SenderConfig, Settings, WebConfig


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000", "http://shop.example", "HTTP://shop.example"]
)  # "shop.example", with no scheme, is refused at load (test_config_closed.py)
def test_a_base_url_that_is_not_https_is_a_warning(url: str) -> None:
    settings = Settings(web=WebConfig(base_url=url), sender=SenderConfig(**OWN_SENDER))
    report = check_configuration(settings, "conf/config.yaml")
    assert report.problems == []
    [warning] = report.warnings
    assert (warning.file, warning.line) == ("conf/config.yaml", None)
    assert warning.message.startswith(f"web.base_url {url!r} is not HTTPS")
    assert "List-Unsubscribe" in warning.message and "RFC 8058" in warning.message


def test_in_production_it_is_a_problem() -> None:
    settings = Settings(
        web=WebConfig(base_url="http://shop.example"),
        production=True,
        sender=SenderConfig(**OWN_SENDER),
    )
    report = check_configuration(settings)
    assert report.warnings == []
    [problem] = report.problems
    assert str(problem).startswith("config.yaml: web.base_url 'http://shop.example' is not HTTPS")
    assert problem.message.endswith("(production: true)")


@pytest.mark.parametrize("production", [False, True])
def test_https_is_fine_either_way(production: bool) -> None:
    settings = Settings(
        web=WebConfig(base_url="https://shop.example/r"),
        production=production,
        sender=SenderConfig(**OWN_SENDER),
    )
    report = check_configuration(settings)
    assert (report.problems, report.warnings) == ([], [])


def test_the_shipped_config_documents_web_enabled_and_production_and_warns() -> None:
    shipped = (REPO / "config.yaml").read_text(encoding="utf-8")
    assert "\n  enabled: false\n" in shipped and "/healthz" in shipped and "/readyz" in shipped
    assert "\nproduction: false\n" in shipped and "https://" in shipped


@pytest.fixture
def operator(tmp_path: Path) -> Path:
    """The shipped config.yaml, campaigns and templates, as an operator copies them."""
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    return tmp_path


def base_url_line(config: Path) -> int:
    """The line config.yaml writes web.base_url on: validate names it."""
    return (
        config.read_text(encoding="utf-8").splitlines().index("  base_url: http://127.0.0.1:8000")
        + 1
    )


def test_validate_warns_about_the_shipped_base_url_and_still_succeeds(operator: Path) -> None:
    ran = run_rapport("campaigns", "validate", cwd=operator)
    assert ran.returncode == 0, ran
    line = base_url_line(operator / "config.yaml")
    assert (
        f"config.yaml:{line}: warning: web.base_url 'http://127.0.0.1:8000' is not HTTPS: "
        "every link in messages is plain HTTP, List-Unsubscribe included" in ran.stderr
    )
    assert "campaigns valid" in ran.stdout


def test_validate_fails_in_production_until_the_base_url_is_https(operator: Path) -> None:
    config = operator / "config.yaml"
    text = config.read_text(encoding="utf-8").replace(
        "\nproduction: false\n", "\nproduction: true\n"
    )
    text = own_sender(text)
    config.write_text(text, encoding="utf-8")
    ran = run_rapport("campaigns", "validate", cwd=operator)
    assert ran.returncode == 1, ran
    line = base_url_line(config)
    assert f"config.yaml:{line}: web.base_url 'http://127.0.0.1:8000' is not HTTPS" in ran.stderr
    assert "1 problem found" in ran.stderr

    https = text.replace("base_url: http://127.0.0.1:8000", "base_url: https://shop.example")
    config.write_text(https, encoding="utf-8")
    ran = run_rapport("campaigns", "validate", cwd=operator)
    assert ran.returncode == 0, ran
    assert "base_url" not in ran.stderr
