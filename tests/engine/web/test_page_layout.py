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


#: Where Chromium drew each character of the greeting (the page's first paragraph),
#: in the order they are written: [character, its left edge on the screen].
CHARACTER_PLACES = """() => {
  const text = document.querySelector('main p').firstChild;
  const places = [];
  for (let i = 0; i < text.length; i++) {
    const range = document.createRange();
    range.setStart(text, i);
    range.setEnd(text, i + 1);
    const box = range.getBoundingClientRect();
    places.push([text.data[i], box.left]);
  }
  return places;
}"""


@pytest.mark.parametrize(
    ("first_name", "last_name", "drawn"),
    [
        ("Sara", "Ahmadi Jr.", "Sara Ahmadi Jr."),
        ("Anna", "Smith-", "Anna Smith-"),
        ("(Tom)", "Smith", "(Tom) Smith"),
    ],
)
def test_a_latin_name_in_a_persian_greeting_reads_left_to_right_with_its_punctuation(
    engine: Engine,
    settings: Settings,
    server: BackgroundServer,
    browser: Any,
    first_name: str,
    last_name: str,
    drawn: str,
) -> None:
    insert_customer(
        engine, "LATIN1", first_name=first_name, last_name=last_name, email="l@example.com"
    )
    page = browser.new_page()
    page.goto(preferences_url(settings, server, "LATIN1"))
    places = page.evaluate(CHARACTER_PLACES)
    written = "".join(char for char, _ in places)
    name = places[: written.index(" گرامی")]  # the greeting up to "esteemed"
    on_screen = "".join(char for char, _ in sorted(name, key=lambda place: place[1]))
    assert on_screen.strip("\u200e\u200f ") == drawn
    page.close()
