"""The product's own e-mails (the double opt-in confirmation, "send me my link") stay
right-to-left in Persian when a webmail client drops the attributes of <html> and
<body>, as docs/localization.md says some do: the direction is repeated inside.

The queued HTML is opened in headless Chromium with those attributes removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from factories import insert_customer
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.core.models import OUTBOX
from rapport.engine.web.app import create_app
from tests.engine.web.conftest import FakeClock, webhook_settings


@pytest.fixture
def app_client(engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(webhook_settings(), engine, clock=clock)) as client:
        yield client


def queued_html(engine: Engine, customer_id: str) -> str:
    with engine.connect() as connection:
        [html] = connection.execute(
            select(OUTBOX.c.body_html).where(
                OUTBOX.c.customer_id == customer_id, OUTBOX.c.channel == "email"
            )
        ).scalars()
    return str(html)


def as_webmail_shows(html: str) -> str:
    """The message as a webmail client embeds it: <html> and <body> without attributes."""
    return re.sub(r"<(html|body)\b[^>]*>", r"<\1>", html)


def paragraph_directions(browser: Any, html: str) -> list[str]:
    page = browser.new_page()
    page.set_content(as_webmail_shows(html))
    directions = page.evaluate(
        "[...document.querySelectorAll('p')].map(p => getComputedStyle(p).direction)"
    )
    page.close()
    return list(directions)


@pytest.fixture
def persian_customer(engine: Engine) -> str:
    insert_customer(engine, "FA1", first_name="سارا", last_name="احمدی", email="fa1@example.com")
    return "FA1"


def test_the_persian_confirmation_e_mail_stays_right_to_left_in_webmail(
    engine: Engine, app_client: TestClient, browser: Any, persian_customer: str
) -> None:
    token = Signer("test").sign(Purpose.PREFERENCES, TokenClaims(persian_customer, "email"))
    assert app_client.post(f"/preferences/{token}", data={"email:offers": "on"}).status_code == 200
    directions = paragraph_directions(browser, queued_html(engine, persian_customer))
    assert directions and set(directions) == {"rtl"}


def test_the_persian_link_e_mail_stays_right_to_left_in_webmail(
    engine: Engine, app_client: TestClient, browser: Any, persian_customer: str
) -> None:
    sent = app_client.post("/preferences", data={"email": "fa1@example.com", "lang": "fa"})
    assert sent.status_code == 200
    directions = paragraph_directions(browser, queued_html(engine, persian_customer))
    assert directions and set(directions) == {"rtl"}
