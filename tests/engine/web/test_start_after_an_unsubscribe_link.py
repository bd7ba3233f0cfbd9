"""START never undoes an unsubscribe made elsewhere (docs/webhooks.md), also when the
unsubscribe link is used after a STOP, when the topics are withdrawn already: the
unsubscribe is then recorded all the same, so the latest withdrawal is the link's.

Runs on SQLite and PostgreSQL (the ``engine`` fixture), through the app ``create_app``
builds.
"""

from __future__ import annotations

from datetime import timedelta

from factories import consent_trail
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.web.sms_inbound import START_NOTHING_REPLY, render_reply
from tests.engine.web.conftest import (
    AUTH,
    PHONES,
    FakeClock,
    add_customer,
    record,
    sms_pairs,
    webhook_settings,
)

SECRET = "test"  # webhook_settings()'s secret_key
PHONE = PHONES["en"]


def text(client: TestClient, word: str) -> str:
    answer = client.post("/webhooks/sms/inbound", json={"from": PHONE, "text": word}, headers=AUTH)
    assert answer.status_code == 200
    reply: str = answer.json()["reply"]
    return reply


def test_start_does_not_undo_an_unsubscribe_link_used_after_a_stop(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    add_customer(engine, "c1", phone=PHONE)
    record(engine, "c1", "sms", ["offers", "birthday"])
    text(client, "STOP")
    clock.advance(hours=1)
    token = Signer(SECRET).sign(Purpose.UNSUBSCRIBE, TokenClaims("c1", "sms"))
    assert client.post(f"/unsubscribe/{token}").status_code == 200
    clock.advance(days=1)

    reply = text(client, "START")

    assert reply == render_reply("en", START_NOTHING_REPLY, webhook_settings())
    assert sms_pairs(engine, "c1") == set()
    link = [e for e in consent_trail(engine, "c1") if e.source == "unsubscribe_page"]
    assert {(e.topic, e.status) for e in link} == {
        ("offers", "withdrawn"),
        ("birthday", "withdrawn"),
    }
    assert all(
        e.captured_at.replace(tzinfo=None) == (clock.now - timedelta(days=1)).replace(tzinfo=None)
        for e in link
    )
