"""The pages work behind a proxy that serves them under a path (web.base_url
``https://shop.example/rapport``, which docs/configuration.md allows): their forms
post back to the address the page came from, not to the root of the site.

The app is mounted under /rapport, as a proxy stripping the prefix presents it, and
driven in headless Chromium.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from factories import REPO, insert_customer
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.routing import Mount

from rapport.consent.links import address_digest
from rapport.consent.store import ConsentChange, record_consent
from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.core.config import Settings
from rapport.engine.web.app import create_app
from rapport.engine.web.server import BackgroundServer

SECRET = "base-path-test-secret"
PREFIX = "/rapport"
ADMIN_TOKEN = "admin-token-for-the-path-test-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(engine: Engine) -> Iterator[BackgroundServer]:
    port = free_port()
    settings = Settings(base_dir=REPO, secret_key=SECRET)
    web = settings.web.model_copy(update={"base_url": f"http://127.0.0.1:{port}{PREFIX}"})
    app = create_app(settings.model_copy(update={"web": web}), engine)
    running = BackgroundServer(Starlette(routes=[Mount(PREFIX, app=app)]), port=port).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def customer(engine: Engine) -> str:
    insert_customer(engine, "P1", first_name="Sara", email="p1@example.com", locale="en_GB")
    return "P1"


def page_url(server: BackgroundServer, purpose: Purpose, claims: TokenClaims) -> str:
    return f"{server.url}{PREFIX}/{purpose.value}/{Signer(SECRET).sign(purpose, claims)}"


def test_saving_preferences_under_a_path_lands_on_the_saved_page(
    server: BackgroundServer, browser: Any, customer: str
) -> None:
    page = browser.new_page()
    page.goto(page_url(server, Purpose.PREFERENCES, TokenClaims(customer, "email")))
    page.locator("#email\\:newsletter").check()
    page.locator("#save").click()
    page.wait_for_load_state()
    assert page.url.startswith(f"{server.url}{PREFIX}/preferences/")
    assert page.locator("#saved").count() == 1
    page.close()


def test_confirming_under_a_path_lands_on_the_confirmed_page(
    engine: Engine, server: BackgroundServer, browser: Any, customer: str
) -> None:
    moment = datetime(2026, 1, 5, tzinfo=UTC)
    pending = ConsentChange(customer, "email", "newsletter", "pending", "signup_form", moment)
    with engine.begin() as connection:
        record_consent(connection, [pending], recorded_at=moment)
    claims = TokenClaims(customer, "email", address_digest("p1@example.com"))
    page = browser.new_page()
    page.goto(page_url(server, Purpose.CONFIRM, claims))
    page.locator("#confirm").click()
    page.wait_for_load_state()
    assert page.url.startswith(f"{server.url}{PREFIX}/confirm/")
    assert page.locator("#done").count() == 1
    page.close()


def test_asking_for_a_link_under_a_path_lands_on_the_sent_page(
    server: BackgroundServer, browser: Any
) -> None:
    page = browser.new_page()
    page.goto(f"{server.url}{PREFIX}/preferences?lang=fa")
    page.locator("#email").fill("nobody@example.com")
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.url.startswith(f"{server.url}{PREFIX}/preferences")
    assert page.locator("[role=status]").count() == 1
    page.close()


@pytest.mark.parametrize("path", ["/preferences/not-a-token", "/unsubscribe/x.y.z"])
def test_a_bad_link_under_a_path_offers_a_new_link_under_it(
    server: BackgroundServer, browser: Any, path: str
) -> None:
    page = browser.new_page(extra_http_headers={"Accept-Language": "fa-IR"})
    page.goto(f"{server.url}{PREFIX}{path}")
    page.locator("a").first.click()
    page.wait_for_load_state()
    assert page.url == f"{server.url}{PREFIX}/preferences?lang=fa"
    assert page.locator("#email").count() == 1
    page.close()


def test_a_refused_request_under_a_path_offers_a_new_link_under_it(
    server: BackgroundServer,
) -> None:
    refused = httpx.put(f"{server.url}{PREFIX}/preferences")  # a method it does not take
    assert refused.status_code == 405
    assert f'href="{server.url}{PREFIX}/preferences?lang=en"' in refused.text


@pytest.fixture
def admin_server(engine: Engine) -> Iterator[BackgroundServer]:
    """The shipped campaigns, behind the admin token, under the path."""
    settings = Settings(base_dir=REPO, secret_key=SECRET)
    web = settings.web.model_copy(update={"report_token": ADMIN_TOKEN})
    app = create_app(settings.model_copy(update={"web": web}), engine)
    running = BackgroundServer(Starlette(routes=[Mount(PREFIX, app=app)])).start()
    try:
        yield running
    finally:
        running.stop()


def test_the_admin_campaign_pages_link_to_each_other_under_a_path(
    admin_server: BackgroundServer, browser: Any
) -> None:
    page = browser.new_page()
    listing = f"{admin_server.url}{PREFIX}/admin/campaigns?token={ADMIN_TOKEN}"
    page.goto(listing)
    page.locator("main a, body a").first.click()
    page.wait_for_load_state()
    assert page.url.startswith(f"{admin_server.url}{PREFIX}/admin/campaigns/")
    page.get_by_text("All campaigns").click()
    page.wait_for_load_state()
    assert page.url == listing
    page.close()
