"""Security headers on every page family (issue 15, point 4).

Each header is checked on each family: the preference centre, unsubscribe, feedback,
confirmation, the link request, the 404, a refusal page and the webhooks' JSON.
Pages carry ``default-src 'none'`` plus only their stylesheet (by hash) and their own
forms; the last test opens every page in Chromium and checks the browser applied the
stylesheet and reported no violation of the policy.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from factories import REPO, insert_customer
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.core.config import Settings, WebConfig
from rapport.engine.core.db import make_engine
from rapport.engine.web.app import create_app
from rapport.engine.web.headers import OTHER_POLICY, REPORT_POLICY, page_policy, style_hashes
from rapport.engine.web.pages import HERE
from rapport.engine.web.server import BackgroundServer

SECRET = "headers-secret"
HOOK = "headers-hook"
ADMIN = "headers-admin"
NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)
SIGNER = Signer(SECRET)


def token(purpose: Purpose, **claims: Any) -> str:
    return SIGNER.sign(purpose, TokenClaims("H1", "email", **claims))


#: One request per page family: (method, path, form). Every path with a token (the 404
#: one too) is a token page.
FAMILIES: dict[str, tuple[str, Callable[[], str], dict[str, str] | None]] = {
    "preferences": ("GET", lambda: f"/preferences/{token(Purpose.PREFERENCES)}", None),
    "preferences saved": ("POST", lambda: f"/preferences/{token(Purpose.PREFERENCES)}", {}),
    "unsubscribe": ("GET", lambda: f"/unsubscribe/{token(Purpose.UNSUBSCRIBE)}", None),
    "feedback": ("GET", lambda: f"/feedback/{token(Purpose.FEEDBACK, topic='f:1')}", None),
    "confirm": ("GET", lambda: f"/confirm/{token(Purpose.CONFIRM)}", None),
    "link request": ("GET", lambda: "/preferences?lang=fa", None),
    "404": ("GET", lambda: "/preferences/not-a-token", None),
    "405": ("PUT", lambda: "/preferences", None),
    "403": ("POST", lambda: "/preferences", {"email": "h1@example.com"}),
    "webhooks JSON": ("POST", lambda: "/webhooks/email/events", None),
}
HTML = [name for name in FAMILIES if name != "webhooks JSON"]


def app_settings() -> Settings:
    return Settings(
        base_dir=REPO, secret_key=SECRET, web=WebConfig(webhook_token=HOOK, report_token=ADMIN)
    )


def fetch(client: TestClient, family: str) -> Any:
    method, path, form = FAMILIES[family]
    if family == "webhooks JSON":
        return client.post(
            path(),
            json={"type": "delivery", "email": "h1@example.com"},
            headers={"X-Rapport-Webhook-Token": HOOK},
        )
    cross_site = {"Origin": "https://elsewhere.example"} if family == "403" else {}
    return client.request(method, path(), data=form, headers=cross_site)


@pytest.fixture(scope="module")
def app_engine(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One SQLite database for the module: headers do not depend on the database."""
    path = tmp_path_factory.mktemp("headers") / "rapport.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    insert_customer(engine, "H1", first_name="Sara", email="h1@example.com")
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def answers(app_engine: Engine) -> dict[str, Any]:
    """Each family's response, fetched once, and the admin report's."""
    with TestClient(create_app(app_settings(), app_engine, clock=lambda: NOW)) as client:
        fetched = {family: fetch(client, family) for family in FAMILIES}
        fetched["admin report"] = client.get(
            "/admin/report", headers={"Authorization": f"Bearer {ADMIN}"}
        )
    return fetched


def test_each_family_answers_as_expected(answers: dict[str, Any]) -> None:
    statuses = {family: answers[family].status_code for family in FAMILIES}
    assert statuses == {
        **dict.fromkeys(FAMILIES, 200),
        "404": 404,
        "405": 405,
        "403": 403,
    }


PAGE_POLICY = page_policy(style_hashes())


@pytest.mark.parametrize("family", FAMILIES)
def test_content_security_policy(answers: dict[str, Any], family: str) -> None:
    expected = PAGE_POLICY if family in HTML else OTHER_POLICY
    assert answers[family].headers["content-security-policy"] == expected


@pytest.mark.parametrize("family", FAMILIES)
def test_no_framing(answers: dict[str, Any], family: str) -> None:
    response = answers[family]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("family", FAMILIES)
def test_no_referrer(answers: dict[str, Any], family: str) -> None:
    assert answers[family].headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("family", FAMILIES)
def test_nosniff(answers: dict[str, Any], family: str) -> None:
    assert answers[family].headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("family", FAMILIES)
def test_not_cached(answers: dict[str, Any], family: str) -> None:
    """Token pages above all; the rest too, since none is the same for everyone."""
    assert answers[family].headers["cache-control"] == "no-store"


def test_the_page_policy_is_default_none_plus_the_stylesheet_and_own_forms() -> None:
    (style,) = style_hashes()  # base.html's, and no other
    expected = (
        f"default-src 'none'; style-src {style}; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    assert expected == PAGE_POLICY


@pytest.mark.parametrize("family", HTML)
def test_every_style_on_a_page_is_allowed_by_its_hash_and_no_script_is_used(
    answers: dict[str, Any], family: str
) -> None:
    body = answers[family].text
    styles = re.findall(r"<style>(.*?)</style>", body, re.DOTALL)
    assert styles
    for css in styles:
        digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in PAGE_POLICY
    assert not re.search(r"\sstyle=|<script|\son[a-z]+=", body, re.IGNORECASE)


def test_no_page_template_has_an_inline_style_attribute_or_script() -> None:
    """The policy would block them: CSS belongs in base.html's stylesheet."""
    for path in sorted((HERE / "pages").glob("*.html")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\sstyle=|<script|\son[a-z]+=", text, re.IGNORECASE), path.name


def test_a_handler_that_sets_its_own_policy_keeps_it(answers: dict[str, Any]) -> None:
    report = answers["admin report"]
    assert report.status_code == 200
    assert report.headers["content-security-policy"] == REPORT_POLICY
    assert report.headers["cache-control"] == "no-store"
    assert report.headers["x-frame-options"] == "DENY"


# -- in a real browser --------------------------------------------------------------------


@pytest.fixture
def server(app_engine: Engine) -> Iterator[BackgroundServer]:
    running = BackgroundServer(create_app(app_settings(), app_engine)).start()
    try:
        yield running
    finally:
        running.stop()


def test_chromium_applies_the_stylesheet_and_reports_no_policy_violation(
    server: BackgroundServer, browser: Any
) -> None:
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    for family in ["preferences", "unsubscribe", "feedback", "confirm", "link request", "404"]:
        _, path, _ = FAMILIES[family]
        page.goto(server.url + path())
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(246, 244, 241)", family  # base.html's stylesheet ran
        if family == "feedback":
            scale = page.evaluate("getComputedStyle(document.querySelector('.scale')).display")
            assert scale == "flex"
    page.close()
    assert not [p for p in problems if "Content Security Policy" in p], problems
