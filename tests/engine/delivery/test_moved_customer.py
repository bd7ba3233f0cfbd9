"""A customer whose time zone or country changes between planning and the send.

Planning places a message inside the channel's quiet hours where the customer is. A
re-import that corrects the customer's time zone afterwards moved those hours: an SMS
planned for 10:00 in Shanghai went out at 02:42 in London (found by the tester
helper). The check before the send now applies the quiet hours again where the
customer is, when the zone or country differs from the one planned for.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from factories import DAY, PLAN_AT, TEST_SECRET, insert_customer, make_settings
from sqlalchemy import Engine, insert, select, update

from rapport.channels.recording import RecordingChannel
from rapport.consent.store import ConsentChange, grant, record_consent
from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.db import make_engine
from rapport.engine.core.models import CUSTOMER, OUTBOX, MessageStatus
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.delivery.outbox import outbox_row
from rapport.engine.planning.plan import run_plan
from rapport.engine.rendering.renderer import Renderer

#: 02:42 in London, 10:42 in Shanghai: the SMS hours (08:00-21:00) are open in one only.
NIGHT_IN_LONDON = datetime(2026, 12, 7, 2, 42, tzinfo=UTC)
PLANNED = ("Asia/Shanghai", "CN")


@pytest.fixture
def engine(migrated_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(migrated_url)
    yield engine
    engine.dispose()


def plan_sms(engine: Engine, now: datetime, *, window_hours: float = 10) -> None:
    """One SMS due at ``now``, planned for a customer in Shanghai."""
    with engine.begin() as connection:
        connection.execute(
            insert(CUSTOMER),
            [
                {
                    "id": "C1",
                    "first_name": "伟",
                    "last_name": "王",
                    "phone": "+8613800000001",
                    "locale": "zh_CN",
                    "timezone": PLANNED[0],
                    "country": PLANNED[1],
                    "created_at": now - timedelta(days=30),
                }
            ],
        )
        record_consent(
            connection,
            [ConsentChange("C1", "sms", "offers", "granted", "test", now - timedelta(days=1))],
            recorded_at=now - timedelta(days=1),
        )
        row = outbox_row(
            customer_id="C1",
            campaign="promo",
            occasion="2026-12-07",
            channel="sms",
            topic="offers",
            locale="zh_CN",
            status=MessageStatus.QUEUED,
            body_text="双十二 回复STOP退订",
            send_at=now,
            expires_at=now + timedelta(hours=window_hours),
            created_at=now - timedelta(hours=12),
            timezone=PLANNED[0],
            country=PLANNED[1],
        )
        connection.execute(insert(OUTBOX), [row])


def move(engine: Engine, timezone: str, country: str | None) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(CUSTOMER).where(CUSTOMER.c.id == "C1").values(timezone=timezone, country=country)
        )


async def dispatch_at(engine: Engine, now: datetime) -> RecordingChannel:
    channel = RecordingChannel()
    settings = Settings(secret_key="k" * 32)
    dispatcher = Dispatcher(
        engine, settings, {"sms": channel}, Signer("k"), clock=lambda: now, rng=random.Random(1)
    )
    await dispatcher.run_once()
    return channel


def stored(engine: Engine) -> tuple[str, datetime, int, str | None]:
    with engine.connect() as connection:
        row = connection.execute(
            select(OUTBOX.c.status, OUTBOX.c.send_at, OUTBOX.c.attempts, OUTBOX.c.last_error)
        ).one()
    return row[0], row[1], row[2], row[3]


async def test_a_customer_moved_into_the_night_gets_the_sms_when_the_hours_open_there(
    engine: Engine,
) -> None:
    plan_sms(engine, NIGHT_IN_LONDON)
    move(engine, "Europe/London", "GB")

    sent = await dispatch_at(engine, NIGHT_IN_LONDON)

    assert sent.sent == []
    status, send_at, attempts, error = stored(engine)
    assert (status, send_at, attempts) == ("queued", datetime(2026, 12, 7, 8, 0, tzinfo=UTC), 0)
    assert error is not None and "Europe/London" in error and "quiet hours" in error

    again = await dispatch_at(engine, datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    assert [m.customer_id for m in again.sent] == ["C1"]


async def test_the_window_closing_before_the_hours_open_ends_the_message_unsent(
    engine: Engine,
) -> None:
    plan_sms(engine, NIGHT_IN_LONDON, window_hours=3)  # closes 05:42 UTC, opens 08:00
    move(engine, "Europe/London", "GB")

    sent = await dispatch_at(engine, NIGHT_IN_LONDON)

    assert sent.sent == []
    assert stored(engine)[0] == "expired"


async def test_a_moved_customer_whose_hours_are_open_is_sent_to_at_once(engine: Engine) -> None:
    plan_sms(engine, NIGHT_IN_LONDON)
    move(engine, "Asia/Tokyo", "JP")  # 11:42 there

    sent = await dispatch_at(engine, NIGHT_IN_LONDON)

    assert [m.customer_id for m in sent.sent] == ["C1"]


async def test_a_country_of_its_own_quiet_hours_counts_where_the_zone_stays(
    engine: Engine,
) -> None:
    """Quiet hours may differ by country (``quiet_hours.sms.countries``): a country
    corrected with the same zone changes them too."""
    plan_sms(engine, NIGHT_IN_LONDON)  # 10:42 in Shanghai
    move(engine, "Asia/Shanghai", "HK")
    settings = Settings(
        secret_key="k" * 32,
        quiet_hours={
            "sms": {
                "not_before": "08:00",
                "not_after": "21:00",
                "countries": {"HK": {"not_before": "11:00", "not_after": "20:00"}},
            }
        },
    )
    channel = RecordingChannel()
    dispatcher = Dispatcher(
        engine, settings, {"sms": channel}, Signer("k"), clock=lambda: NIGHT_IN_LONDON
    )
    await dispatcher.run_once()

    assert channel.sent == []
    assert stored(engine)[1] == datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai


def test_a_planned_message_keeps_the_zone_and_country_it_was_planned_for(
    engine: Engine,
) -> None:
    insert_customer(
        engine, "C9", email="c9@example.com", locale="en", timezone="Asia/Tokyo", country="JP"
    )
    with engine.begin() as connection:
        grant(connection, "C9", "email", "offers", source="test")
    campaign = Campaign.model_validate(
        {
            "id": "promo",
            "name": "promo",
            "trigger": {"type": "recurring", "cron": f"0 10 {DAY.day} {DAY.month} *"},
            "topic": "offers",
            "channels": ["email"],
            "templates": "holiday-offer",
            "send_window": {"start": "00:00", "end": "23:59"},
        }
    )
    settings = make_settings()
    report = run_plan(
        engine,
        settings,
        [campaign],
        DAY,
        PLAN_AT,
        renderer=Renderer(settings.templates_path, settings.locales.default),
        signer=Signer(TEST_SECRET),
    )

    assert report.inserted == 1
    with engine.connect() as connection:
        row = connection.execute(select(OUTBOX.c.timezone, OUTBOX.c.country)).one()
    assert tuple(row) == ("Asia/Tokyo", "JP")
