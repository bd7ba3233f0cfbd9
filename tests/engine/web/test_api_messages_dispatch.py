"""A transactional message asked for over the API is sent by the normal dispatcher on
its next pass (issue 19, point 4): the real web app, a real SMTP server on loopback
(aiosmtpd) and :class:`Dispatcher`. No marketing consent is needed and no unsubscribe
header or footer is added, but an address on the suppression list (a bounce, a
complaint) is never sent to; the marketing report does not count it. On SQLite and
PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from factories import REPO, TEST_SECRET, insert_customer
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from rapport.consent.tokens import Signer
from rapport.engine.core.config import ChannelConfig, Settings
from rapport.engine.core.models import CONSENT_STATE
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.delivery.lanes import build_channels
from rapport.engine.delivery.suppression import suppress
from rapport.engine.reports.figures import Period, build_report
from rapport.engine.web.api_tokens import create_token
from rapport.engine.web.app import create_app

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)  # night in London: no window applies


def settings_for(port: int, folder: Path) -> Settings:
    shutil.copytree(REPO / "templates" / "order-shipped", folder / "templates" / "order-shipped")
    return Settings(
        base_dir=folder,
        secret_key=TEST_SECRET,
        channels={
            "email": ChannelConfig(adapter="smtp", kind="email", url=f"smtp://127.0.0.1:{port}")
        },
    )


async def dispatch_once(engine: Engine, settings: Settings) -> None:
    dispatcher = Dispatcher(
        engine,
        settings,
        build_channels(settings),
        Signer(TEST_SECRET),
        clock=lambda: NOW + timedelta(seconds=2),
        worker_id="test",
    )
    try:
        await dispatcher.run_once()
    finally:
        await dispatcher.aclose()


def ask(client: TestClient, token: str, customer: str) -> Any:
    return client.post(
        "/api/v1/messages",
        json={
            "template": "order-shipped",
            "topic": "shipping",
            "customer": customer,
            "data": {"order_id": f"O-{customer}"},
        },
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"ship-{customer}"},
    ).json()


async def test_an_api_message_is_sent_on_the_next_pass_without_consent_or_unsubscribe(
    engine: Engine, smtp_sink: Any, tmp_path: Path
) -> None:
    sink, port = smtp_sink
    settings = settings_for(port, tmp_path)
    insert_customer(engine, "C1", first_name="Ada", email="ada@example.com", locale="en")
    insert_customer(engine, "C2", first_name="Bo", email="bounced@example.com", locale="en")
    with engine.begin() as connection:
        suppress(connection, [("email", "bounced@example.com", "bounce", None)], NOW)
        assert connection.execute(select(func.count()).select_from(CONSENT_STATE)).scalar() == 0
    token = create_token(engine, "shop", "send", NOW)
    with TestClient(create_app(settings, engine, clock=lambda: NOW)) as client:
        sent, blocked = ask(client, token, "C1"), ask(client, token, "C2")
        assert sent["status"] == blocked["status"] == "queued"
        await dispatch_once(engine, settings)
        sent_now = client.get(sent["url"], headers={"Authorization": f"Bearer {token}"}).json()
        blocked_now = client.get(blocked["url"], headers={"Authorization": f"Bearer {token}"})
    assert sent_now["status"] == "sent" and sent_now["attempts"] == 1
    assert sent_now["sent_at"] == "2026-12-06T03:00:02Z"
    assert blocked_now.json()["status"] == "suppressed"
    assert blocked_now.json()["error"] == "address is on the suppression list"
    [received] = sink.messages
    assert received["rcpt_tos"] == ["ada@example.com"]
    message = received["message"]
    assert message["Subject"] == "Your order O-C1 is on its way"
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "O-C1" in text and "nsubscribe" not in text
    with engine.connect() as connection:
        report = build_report(connection, settings, Period(date(2026, 12, 1), date(2026, 12, 31)))
    assert report["campaigns"] == []
