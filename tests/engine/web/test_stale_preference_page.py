"""A preference page saved after the customer said STOP (or unsubscribed) elsewhere:
only the switches the customer moved on the page count, so a box left as it was
shown does not undo a later word.

Runs on SQLite and PostgreSQL (the ``engine`` fixture), through the app ``create_app``
builds.
"""

from __future__ import annotations

import re

from factories import consent_trail
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.core.models import OUTBOX
from tests.engine.web.conftest import AUTH, PHONES, add_customer, record

SECRET = "test"  # webhook_settings()'s secret_key
PHONE = PHONES["en"]


def form_of(page: str) -> dict[str, list[str]]:
    """What a browser sends for the page as shown: its hidden fields and checked boxes."""
    form: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if name is None or " disabled" in tag:
            continue
        if 'type="hidden"' in tag:
            value = re.search(r'value="([^"]*)"', tag)
            form.setdefault(name[1], []).append(value[1] if value else "")
        elif 'type="checkbox"' in tag and " checked" in tag:
            form.setdefault(name[1], []).append("on")
    return form


def test_a_page_shown_before_a_stop_and_saved_after_it_asks_for_no_text(
    engine: Engine, client: TestClient
) -> None:
    add_customer(engine, "c1", phone=PHONE, email="c1@example.com")
    record(engine, "c1", "sms", ["offers"])
    token = Signer(SECRET).sign(Purpose.PREFERENCES, TokenClaims("c1", "email"))
    shown = form_of(client.get(f"/preferences/{token}").text)
    assert shown.get("sms:offers") == ["on"]
    stop = client.post("/webhooks/sms/inbound", json={"from": PHONE, "text": "STOP"}, headers=AUTH)
    assert stop.status_code == 200

    # The customer switches an e-mail topic on, the SMS box left as it was shown.
    saved = client.post(f"/preferences/{token}", data={**shown, "email:birthday": "on"})

    assert saved.status_code == 200
    latest = {(e.channel, e.topic): e.status for e in consent_trail(engine, "c1")}
    assert latest == {("sms", "offers"): "withdrawn", ("email", "birthday"): "pending"}
    with engine.connect() as connection:
        queued = connection.execute(select(OUTBOX.c.campaign)).scalars().all()
    assert queued == ["_confirm"]  # no "reply YES" text to a number that said STOP
