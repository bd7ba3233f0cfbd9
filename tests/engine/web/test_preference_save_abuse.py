"""What a holder of a preference link (the customer, or whoever the e-mail was forwarded
to) cannot do with it: change consent with a body that is not the page's form, or
have the app mail the customer's inbox over and over.

Every test runs on SQLite and PostgreSQL (the ``engine`` fixture), through the app
``create_app`` builds.
"""

from __future__ import annotations

from typing import Any

import pytest
from factories import consent_trail
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.core.models import OUTBOX
from tests.engine.web.conftest import FakeClock, add_customer, event_count, record

SECRET = "test"  # webhook_settings()'s secret_key


def page_path(customer_id: str) -> str:
    token = Signer(SECRET).sign(Purpose.PREFERENCES, TokenClaims(customer_id, "email"))
    return f"/preferences/{token}"


def save(client: TestClient, customer_id: str, *switched_on: str) -> Any:
    response = client.post(page_path(customer_id), data=dict.fromkeys(switched_on, "on"))
    assert response.status_code == 200
    return response


def confirmations(engine: Engine, customer_id: str) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(OUTBOX)
                .where(OUTBOX.c.customer_id == customer_id, OUTBOX.c.campaign == "_confirm")
                .order_by(OUTBOX.c.id)
            )
        )


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


def test_switching_an_email_topic_off_and_on_again_mails_one_confirmation_a_day(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    add_customer(engine, "c1", email="c1@example.com")
    save(client, "c1", "email:offers")
    for _ in range(5):
        clock.advance(minutes=5)
        save(client, "c1")
        clock.advance(minutes=5)
        save(client, "c1", "email:offers", "email:reorder")
    assert len(confirmations(engine, "c1")) == 1

    clock.advance(days=1)
    save(client, "c1")
    save(client, "c1", "email:offers")
    assert len(confirmations(engine, "c1")) == 2


def test_the_day_s_one_confirmation_link_confirms_a_topic_switched_on_after_it(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    add_customer(engine, "c1", email="c1@example.com")
    save(client, "c1", "email:offers")
    clock.advance(minutes=5)
    save(client, "c1", "email:offers", "email:reorder")
    [mail] = confirmations(engine, "c1")
    link = next(word for word in mail.body_text.split() if "/confirm/" in word)

    confirmed = client.post("/confirm/" + link.rsplit("/", 1)[-1])

    assert confirmed.status_code == 200
    latest = {e.topic: e.status for e in consent_trail(engine, "c1")}
    assert latest == {"offers": "granted", "reorder": "granted"}
