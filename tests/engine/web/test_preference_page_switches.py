"""The preference page's switches for a channel the customer has no address on: shown
(checked when granted) but disabled, so the browser never sends them, and a save
leaves them as they are.

Runs on SQLite and PostgreSQL (the ``engine`` fixture), through the app ``create_app``
builds.
"""

from __future__ import annotations

import re

from factories import consent_trail
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.consent.tokens import Purpose, Signer, TokenClaims
from tests.engine.web.conftest import add_customer, record

SECRET = "test"  # webhook_settings()'s secret_key


def test_saving_the_page_keeps_the_sms_grants_of_a_customer_without_a_phone_number(
    engine: Engine, client: TestClient
) -> None:
    add_customer(engine, "c1", email="c1@example.com")  # no phone number on file
    record(engine, "c1", "email", ["offers"])
    record(engine, "c1", "sms", ["offers", "birthday"])
    token = Signer(SECRET).sign(Purpose.PREFERENCES, TokenClaims("c1", "email"))
    page = client.get(f"/preferences/{token}").text
    assert re.search(r'name="sms:offers"[^>]* checked disabled>', page)  # on, unmovable

    # What a browser sends: the checked boxes that are not disabled.
    saved = client.post(f"/preferences/{token}", data={"email:offers": "on"})

    assert saved.status_code == 200
    assert {(e.channel, e.topic, e.status) for e in consent_trail(engine, "c1")} == {
        ("email", "offers", "granted"),
        ("sms", "offers", "granted"),
        ("sms", "birthday", "granted"),
    }
