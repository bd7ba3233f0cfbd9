"""How the customer's pages lay out in a real browser: on a phone's width, in RTL,
with the data customers really have (very long names, Latin names in Persian text).

Opened in headless Chromium against the app served by uvicorn.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from factories import REPO, insert_customer
from sqlalchemy import Engine

from rapport.consent.links import links_for
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.web.app import create_app
from rapport.engine.web.server import BackgroundServer

SECRET = "layout-test-secret"
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def settings() -> Settings:
    return Settings(base_dir=REPO, secret_key=SECRET)


@pytest.fixture
def server(engine: Engine, settings: Settings) -> Iterator[BackgroundServer]:
    running = BackgroundServer(create_app(settings, engine)).start()
    try:
        yield running
    finally:
        running.stop()


def preferences_url(settings: Settings, server: BackgroundServer, customer_id: str) -> str:
    url = links_for(customer_id, "email", settings, Signer(SECRET))["preferences"]
    return url.replace(settings.web.base_url.rstrip("/"), server.url)


def overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0: nothing to scroll sideways)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


@pytest.mark.parametrize(
    ("locale", "first_name"),
    [("fa_IR", "ا" * 200), ("en_GB", "W" * 200)],
)
def test_a_very_long_name_wraps_inside_the_page_on_a_phone(
    engine: Engine,
    settings: Settings,
    server: BackgroundServer,
    browser: Any,
    locale: str,
    first_name: str,
) -> None:
    insert_customer(engine, "LONG1", first_name=first_name, email="long@example.com", locale=locale)
    page = browser.new_page(viewport=PHONE)
    page.goto(preferences_url(settings, server, "LONG1"))
    assert first_name in page.locator("main").inner_text()
    assert overflow(page) == 0
    page.close()
