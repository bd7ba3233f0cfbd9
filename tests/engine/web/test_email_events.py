"""E-mail provider events through the real web app: bounces and complaints.

A hard bounce suppresses the address, a soft bounce and a delivery do not; a complaint
suppresses it and withdraws every e-mail topic of the customers with that address; a
delivery that matches a sent e-mail marks it delivered and is answered ``applied``; a
malformed item refuses the whole request; repeating events changes nothing. Inbound
SMS: ``test_sms_inbound.py``; the webhook token: ``test_webhook_auth.py``.

Every database test runs on SQLite and PostgreSQL (the ``engine`` fixture). The app
is the one ``create_app`` builds, called through Starlette's TestClient.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from factories import consent_trail
from sqlalchemy import Engine, insert, select
from starlette.testclient import TestClient

from rapport.consent.state import granted_pairs
from rapport.engine.core.models import OUTBOX, SUPPRESSION
from tests.engine.web.conftest import AUTH, PHONES, FakeClock, add_customer, event_count, record


def suppressions(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(select(SUPPRESSION.c.address, SUPPRESSION.c.reason))
        return {row.address: row.reason for row in rows}


# -- e-mail events ----------------------------------------------------------------------


def events(client: TestClient, payload: Any) -> Any:
    return client.post("/webhooks/email/events", json=payload, headers=AUTH)


def test_hard_bounce_suppresses_soft_bounce_and_delivery_do_not(
    engine: Engine, client: TestClient
) -> None:
    response = events(
        client,
        [
            {
                "type": "bounce",
                "email": "gone@Example.COM",
                "bounce_type": "hard",
                "reason": "550 5.1.1 user unknown",
            },
            {
                "type": "bounce",
                "email": "full@example.com",
                "bounce_type": "soft",
                "reason": "452 mailbox full",
            },
            {"type": "delivery", "email": "fine@example.com", "message_id": "<m1@rapport.example>"},
        ],
    )

    assert response.status_code == 200
    assert response.json() == {"accepted": 3, "suppressed": 1, "applied": 0, "ignored": 2}
    assert suppressions(engine) == {"gone@example.com": "bounce"}


def test_a_single_object_is_one_event(engine: Engine, client: TestClient) -> None:
    response = events(
        client, {"type": "bounce", "email": "gone@example.com", "bounce_type": "hard"}
    )
    assert response.json() == {"accepted": 1, "suppressed": 1, "applied": 0, "ignored": 0}
    assert suppressions(engine) == {"gone@example.com": "bounce"}


def test_complaint_suppresses_and_withdraws_every_email_topic(
    engine: Engine, client: TestClient
) -> None:
    add_customer(engine, "c1", email="Sara@example.com", phone=PHONES["fa_IR"], locale="fa_IR")
    record(engine, "c1", "email", ["offers", "newsletter"])
    record(engine, "c1", "sms", ["offers"])

    response = events(
        client,
        {"type": "complaint", "email": "sara@example.com", "occurred_at": "2025-05-31T08:00:00Z"},
    )

    assert response.json() == {"accepted": 1, "suppressed": 1, "applied": 0, "ignored": 0}
    # Suppressed as reported and as stored, because dispatch compares exact strings.
    assert suppressions(engine) == {
        "sara@example.com": "complaint",
        "Sara@example.com": "complaint",
    }
    with engine.connect() as connection:
        pairs = granted_pairs(connection, ["c1"])["c1"]
    assert pairs == {("sms", "offers")}
    withdrawals = [r for r in consent_trail(engine, "c1") if r.status == "withdrawn"]
    assert {(r.channel, r.topic, r.source) for r in withdrawals} == {
        ("email", "offers", "complaint"),
        ("email", "newsletter", "complaint"),
    }
    assert {r.captured_at for r in withdrawals} == {datetime(2025, 5, 31, 8, 0, tzinfo=UTC)}


def test_a_complaint_reaches_a_customer_whose_address_has_an_upper_case_non_ascii_letter(
    engine: Engine, client: TestClient
) -> None:
    """Addresses are matched ignoring case, but the query folded case with SQL's
    lower(), which on SQLite (and PostgreSQL in the C locale) folds ASCII only: a
    complaint for 'ünsal@example.de' missed the customer stored as 'Ünsal@example.de',
    whose consent stayed and whose stored spelling was not suppressed, so e-mail kept
    going to the person who complained."""
    add_customer(engine, "c1", email="Ünsal@example.de", locale="de")
    record(engine, "c1", "email", ["offers"])
    response = events(client, {"type": "complaint", "email": "ünsal@example.de"})
    assert response.json()["suppressed"] == 1
    assert suppressions(engine) == {
        "ünsal@example.de": "complaint",
        "Ünsal@example.de": "complaint",
    }
    with engine.connect() as connection:
        assert granted_pairs(connection, ["c1"]).get("c1", set()) == set()


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"type": "bounce", "email": "not-an-address", "bounce_type": "hard"}, "item 2: email:"),
        ({"type": "open", "email": "a@example.com"}, "item 2: type:"),
        ({"type": "bounce", "email": "a@example.com"}, "item 2: bounce_type:"),
        (
            {"type": "complaint", "email": "a@example.com", "occurred_at": "yesterday"},
            "item 2: occurred_at:",
        ),
        ({"type": "delivery", "email": "a@example.com", "reason": 5}, "item 2: reason:"),
        ("bounce", "item 2:"),
    ],
)
def test_a_malformed_item_refuses_the_whole_request(
    engine: Engine, client: TestClient, bad: Any, message: str
) -> None:
    add_customer(engine, "c1", email="c1@example.com")
    record(engine, "c1", "email", ["offers"])
    before = event_count(engine)

    response = events(
        client,
        [
            {"type": "bounce", "email": "gone@example.com", "bounce_type": "hard"},
            {"type": "complaint", "email": "c1@example.com"},
            bad,
        ],
    )

    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    assert suppressions(engine) == {}
    assert event_count(engine) == before


def escaped(payload: Any) -> Any:
    """``payload`` as JSON text with escapes: ``"\\ud800"``, valid JSON for a lone
    surrogate, which no database can store (httpx's ``json=`` cannot encode one)."""
    return {"content": json.dumps(payload), "headers": {**AUTH, "Content-Type": "application/json"}}


def test_a_lone_surrogate_in_a_reason_is_dropped_and_the_complaint_applied(
    engine: Engine, client: TestClient
) -> None:
    add_customer(engine, "c1", email="c1@example.com")
    record(engine, "c1", "email", ["offers"])
    complaint = {"type": "complaint", "email": "c1@example.com", "reason": "550 \ud800spam"}

    response = client.post("/webhooks/email/events", **escaped(complaint))

    assert response.status_code == 200
    assert suppressions(engine) == {"c1@example.com": "complaint"}
    with engine.connect() as connection:
        detail = connection.execute(select(SUPPRESSION.c.detail)).scalar_one()
    assert detail == "550 spam"


def test_a_message_id_holding_a_lone_surrogate_is_refused_naming_the_field(
    engine: Engine, client: TestClient
) -> None:
    delivery = {"type": "delivery", "email": "c1@example.com", "message_id": "<a\ud800b>"}

    response = client.post("/webhooks/email/events", **escaped(delivery))

    assert response.status_code == 400
    assert response.json() == {
        "error": "item 0: message_id: contains a lone surrogate (not a Unicode character)"
    }


def test_malformed_bodies_are_refused(client: TestClient) -> None:
    url = "/webhooks/email/events"
    assert client.post(url, content=b"nope", headers=AUTH).status_code == 400
    assert events(client, "bounce").status_code == 400
    assert events(client, [{}] * 1001).status_code == 413


def test_repeating_events_changes_nothing(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    add_customer(engine, "c1", email="c1@example.com")
    record(engine, "c1", "email", ["offers"])
    payload = [
        {"type": "bounce", "email": "gone@example.com", "bounce_type": "hard"},
        {"type": "complaint", "email": "c1@example.com"},
    ]

    first = events(client, payload).json()
    state = (suppressions(engine), event_count(engine), consent_trail(engine, "c1"))
    clock.advance(minutes=5)
    second = events(client, payload).json()

    assert first == second == {"accepted": 2, "suppressed": 2, "applied": 0, "ignored": 0}
    assert (suppressions(engine), event_count(engine), consent_trail(engine, "c1")) == state


# -- deliveries -------------------------------------------------------------------------


def sent_email(engine: Engine, provider_id: str, channel: str = "email") -> int:
    sent = datetime(2025, 6, 1, 11, 0, tzinfo=UTC)
    with engine.begin() as connection:
        return connection.execute(
            insert(OUTBOX)
            .values(
                idempotency_key=f"c1:spring:{provider_id}:{channel}",
                customer_id="c1",
                campaign="spring",
                occasion=provider_id,
                channel=channel,
                topic="offers",
                locale="en",
                body_text="x",
                status="sent",
                send_at=sent,
                sent_at=sent,
                created_at=sent,
                provider_id=provider_id,
            )
            .returning(OUTBOX.c.id)
        ).scalar_one()


def delivered(engine: Engine, message_id: int) -> tuple[str | None, datetime | None]:
    with engine.connect() as connection:
        row = connection.execute(
            select(OUTBOX.c.delivery_status, OUTBOX.c.delivered_at).where(OUTBOX.c.id == message_id)
        ).one()
    return row.delivery_status, row.delivered_at


def test_a_delivery_that_matches_a_sent_email_is_applied(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    add_customer(engine, "c1", email="c1@example.com")
    stored_bracketed = sent_email(engine, "<m1@rapport.example>")
    stored_bare = sent_email(engine, "m2@rapport.example")
    on_sms = sent_email(engine, "<m3@rapport.example>", channel="sms")
    payload = [
        {
            "type": "delivery",
            "email": "c1@example.com",
            "message_id": "m1@rapport.example",
            "occurred_at": "2025-06-01T11:30:00Z",
        },
        {"type": "delivery", "email": "c1@example.com", "message_id": "<m2@rapport.example>"},
        {"type": "delivery", "email": "c1@example.com", "message_id": "<m3@rapport.example>"},
        {"type": "delivery", "email": "c1@example.com", "message_id": "<unknown@example>"},
        {"type": "delivery", "email": "c1@example.com"},
    ]

    first = events(client, payload)
    clock.advance(minutes=5)
    second = events(client, payload)

    assert first.status_code == 200
    assert (
        first.json()
        == second.json()
        == {
            "accepted": 5,
            "suppressed": 0,
            "applied": 2,
            "ignored": 3,
        }
    )
    assert delivered(engine, stored_bracketed) == (
        "delivered",
        datetime(2025, 6, 1, 11, 30, tzinfo=UTC),
    )
    assert delivered(engine, stored_bare) == ("delivered", datetime(2025, 6, 1, 12, 0, tzinfo=UTC))
    assert delivered(engine, on_sms) == (None, None)
