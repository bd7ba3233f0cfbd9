"""What a holder of a preference link (the customer, or whoever the e-mail was forwarded
to) cannot do with it: change consent with a body that is not the page's form, or
have the app mail the customer's inbox over and over.

Every test runs on SQLite and PostgreSQL (the ``engine`` fixture), through the app
``create_app`` builds.
"""

from __future__ import annotations

import pytest
from factories import consent_trail
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.consent.tokens import Purpose, Signer, TokenClaims
from tests.engine.web.conftest import add_customer, event_count, record

SECRET = "test"  # webhook_settings()'s secret_key


def page_path(customer_id: str) -> str:
    token = Signer(SECRET).sign(Purpose.PREFERENCES, TokenClaims(customer_id, "email"))
    return f"/preferences/{token}"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"email:offers": "on"}'),
        ("text/plain", b"email:offers=on"),
        ("application/xml", b"<form/>"),
    ],
)
def test_a_preference_save_whose_body_is_not_a_form_is_415_and_changes_nothing(
    engine: Engine, client: TestClient, content_type: str, body: bytes
) -> None:
    add_customer(engine, "c1", email="c1@example.com")
    record(engine, "c1", "email", ["offers", "birthday"])
    before = event_count(engine)

    response = client.post(page_path("c1"), content=body, headers={"Content-Type": content_type})

    assert response.status_code == 415
    assert response.headers["content-type"].startswith("text/html")
    assert event_count(engine) == before  # read as an empty form, it withdrew everything
    assert {(e.topic, e.status) for e in consent_trail(engine, "c1")} == {
        ("offers", "granted"),
        ("birthday", "granted"),
    }


def test_a_preference_save_with_every_switch_off_is_still_a_form(
    engine: Engine, client: TestClient
) -> None:
    add_customer(engine, "c1", email="c1@example.com")
    record(engine, "c1", "email", ["offers"])

    response = client.post(
        page_path("c1"), content=b"", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert response.status_code == 200
    assert [e.status for e in consent_trail(engine, "c1")] == ["granted", "withdrawn"]
