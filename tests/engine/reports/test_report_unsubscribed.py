"""`unsubscribed` counts a sent message followed, within the window, by a withdrawal of
the same channel and topic; checked against the trail with an independent query."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, and_, insert, select

from rapport.consent.store import ConsentChange, record_consent
from rapport.engine.core.config import Settings
from rapport.engine.core.models import (
    CONSENT_EVENT,
    CUSTOMER,
    OUTBOX,
)
from rapport.engine.reports.text import compute

SENT = datetime(2026, 4, 10, 9, tzinfo=UTC)


def test_unsubscribed_after_a_message_equals_the_trail(engine: Engine) -> None:
    with engine.begin() as connection:
        for n in range(4):
            connection.execute(
                insert(CUSTOMER).values(
                    id=f"U{n}",
                    first_name="Mei",
                    last_name="Lin",
                    email=f"u{n}@example.com",
                    locale="zh_CN",
                    timezone="Asia/Shanghai",
                    created_at=SENT - timedelta(days=90),
                )
            )
            connection.execute(
                insert(OUTBOX).values(
                    idempotency_key=f"U{n}:spring:1:email",
                    customer_id=f"U{n}",
                    campaign="spring",
                    occasion="1",
                    channel="email",
                    topic="offers",
                    locale="zh_CN",
                    body_text="x",
                    status="sent",
                    send_at=SENT,
                    sent_at=SENT,
                    created_at=SENT,
                )
            )
        record_consent(
            connection,
            [
                ConsentChange(
                    "U0", "email", "offers", "withdrawn", "one_click", SENT + timedelta(hours=2)
                ),
                ConsentChange(
                    "U1", "email", "offers", "withdrawn", "one_click", SENT + timedelta(days=30)
                ),
                ConsentChange(
                    "U2", "email", "birthday", "withdrawn", "one_click", SENT + timedelta(days=1)
                ),
                ConsentChange(
                    "U3", "sms", "offers", "withdrawn", "sms_keyword", SENT + timedelta(days=1)
                ),
            ],
            recorded_at=SENT + timedelta(days=31),
        )
    report = compute(engine, Settings(), date(2026, 4, 1), date(2026, 4, 30))
    (spring,) = [c for c in report["campaigns"] if c["campaign"] == "spring"]
    window = timedelta(days=7)
    with engine.connect() as connection:  # the join in SQL, the window compared here
        pairs = connection.execute(
            select(OUTBOX.c.id, OUTBOX.c.sent_at, CONSENT_EVENT.c.captured_at)
            .join(
                CONSENT_EVENT,
                and_(
                    CONSENT_EVENT.c.customer_id == OUTBOX.c.customer_id,
                    CONSENT_EVENT.c.channel == OUTBOX.c.channel,
                    CONSENT_EVENT.c.topic == OUTBOX.c.topic,
                ),
            )
            .where(
                OUTBOX.c.campaign == "spring",
                OUTBOX.c.status == "sent",
                CONSENT_EVENT.c.status == "withdrawn",
            )
        ).all()
    expected = len(
        {row_id for row_id, sent, captured in pairs if sent <= captured <= sent + window}
    )
    assert spring["unsubscribed"] == expected == 1  # only U0: same channel and topic, in time


def test_delivery_events_count_as_delivered(engine: Engine) -> None:
    from starlette.testclient import TestClient

    from rapport.engine.web.app import create_app

    with engine.begin() as connection:
        connection.execute(
            insert(CUSTOMER).values(
                id="D1",
                first_name="Ana",
                last_name="Ruiz",
                email="d1@example.com",
                locale="en_US",
                timezone="America/New_York",
                created_at=SENT,
            )
        )
        for n in range(3):
            connection.execute(
                insert(OUTBOX).values(
                    idempotency_key=f"D1:news:{n}:email",
                    customer_id="D1",
                    campaign="news",
                    occasion=str(n),
                    channel="email",
                    topic="newsletter",
                    locale="en_US",
                    body_text="x",
                    status="sent",
                    send_at=SENT,
                    sent_at=SENT,
                    created_at=SENT,
                    provider_id=f"<m{n}@rapport.example>",
                )
            )
    settings = Settings(secret_key="k").model_copy(
        update={"web": Settings().web.model_copy(update={"webhook_token": "hook"})}
    )
    client = TestClient(create_app(settings, engine))
    events = [
        {"type": "delivery", "email": "d1@example.com", "message_id": f"m{n}@rapport.example"}
        for n in (0, 1)
    ] + [{"type": "delivery", "email": "d1@example.com", "message_id": "<unknown@elsewhere>"}]
    for _ in range(2):  # repeated reports change nothing
        response = client.post(
            "/webhooks/email/events", json=events, headers={"X-Rapport-Webhook-Token": "hook"}
        )
        assert response.status_code == 200
    report = compute(engine, Settings(), date(2026, 4, 1), date(2026, 4, 30))
    (news,) = [c for c in report["campaigns"] if c["campaign"] == "news"]
    with engine.connect() as connection:
        delivered = connection.execute(
            select(OUTBOX.c.id).where(OUTBOX.c.delivered_at.is_not(None))
        ).all()
    assert news["delivered"] == len(delivered) == 2
