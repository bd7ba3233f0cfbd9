"""The token every provider webhook needs, through the real web app.

A missing or wrong ``X-Rapport-Webhook-Token`` is refused on both webhooks (and
changes nothing), the token as the password of HTTP Basic authentication (Twilio's
way) is accepted, and without a configured token the webhooks are disabled. What the
webhooks do: ``test_sms_inbound.py`` and ``test_email_events.py``.

Every database test runs on SQLite and PostgreSQL (the ``engine`` fixture). The app
is the one ``create_app`` builds, called through Starlette's TestClient.
"""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.engine.web.app import create_app
from tests.engine.web.conftest import (
    AUTH,
    PHONES,
    TOKEN,
    FakeClock,
    add_customer,
    record,
    sms_pairs,
    webhook_settings,
)

# -- requests we refuse -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/webhooks/sms/inbound", "/webhooks/email/events"])
def test_missing_or_wrong_token_is_refused(engine: Engine, client: TestClient, path: str) -> None:
    add_customer(engine, "c1", phone=PHONES["en"])
    record(engine, "c1", "sms", ["offers"])
    payload = {"from": PHONES["en"], "text": "STOP"}
    for headers in ({}, {"X-Rapport-Webhook-Token": "nope"}, {"X-Rapport-Webhook-Token": ""}):
        response = client.post(path, json=payload, headers=headers)
        assert response.status_code == 401
        assert "WWW-Authenticate" in response.headers
    assert sms_pairs(engine, "c1") == {("sms", "offers")}


def test_token_as_basic_auth_password_is_accepted(client: TestClient) -> None:
    good = base64.b64encode(f"twilio:{TOKEN}".encode()).decode()
    bad = base64.b64encode(b"twilio:nope").decode()
    form = {"From": PHONES["en"], "Body": "HELP"}
    url = "/webhooks/sms/inbound"
    ok = client.post(url, data=form, headers={"Authorization": f"Basic {good}"})
    assert ok.status_code == 200
    no = client.post(url, data=form, headers={"Authorization": f"Basic {bad}"})
    assert no.status_code == 401


def test_webhooks_are_disabled_without_a_configured_token(engine: Engine, clock: FakeClock) -> None:
    with TestClient(create_app(webhook_settings(None), engine, clock=clock)) as client:
        for path in ("/webhooks/sms/inbound", "/webhooks/email/events"):
            response = client.post(path, json={}, headers=AUTH)
            assert response.status_code == 503
            assert "RAPPORT_WEBHOOK_TOKEN" in response.json()["error"]
