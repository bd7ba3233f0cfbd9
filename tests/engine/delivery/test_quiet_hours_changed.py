"""Quiet hours narrowed in config.yaml between planning and the send.

Planning places a message inside the channel's quiet hours as config.yaml wrote them
then. An operator who learns the law of a country asks for later hours (SMS in Canada
from 09:00, not 08:00) changes config.yaml and restarts the daemons; messages already
planned for today must keep to the hours now written, as every message planned after
the change does: "a channel is only used within its allowed hours" (docs/campaigns.md,
Quiet hours). The check before the send applied the hours again only for a customer
who had moved, so an SMS planned for 08:00 in Halifax went out at 08:10 under hours
that now start at 09:00.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from rapport.channels.recording import RecordingChannel
from rapport.consent.store import ConsentChange, record_consent
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.core.db import make_engine
from rapport.engine.core.models import CUSTOMER, OUTBOX, MessageStatus
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.delivery.outbox import outbox_row

#: 08:10 in Halifax (UTC-4 in December): open under 08:00-21:00, not under 09:00-21:00.
EARLY_IN_HALIFAX = datetime(2026, 12, 7, 12, 10, tzinfo=UTC)
NINE_IN_HALIFAX = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)


@pytest.fixture
def engine(migrated_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(migrated_url)
    yield engine
    engine.dispose()


def plan(engine: Engine, channel: str, now: datetime, *, window_hours: float = 10) -> None:
    """One message of ``channel`` due at ``now`` for a customer in Halifax, planned
    under the default hours (the zone and country it was planned for unchanged)."""
    with engine.begin() as connection:
        connection.execute(
            insert(CUSTOMER),
            [
                {
                    "id": "C1",
                    "first_name": "Anne",
                    "last_name": "Shirley",
                    "email": "anne@example.com",
                    "phone": "+19025550123",
                    "locale": "en_CA",
                    "timezone": "America/Halifax",
                    "country": "CA",
                    "created_at": now - timedelta(days=30),
                }
            ],
        )
        record_consent(
            connection,
            [ConsentChange("C1", channel, "offers", "granted", "test", now - timedelta(days=1))],
            recorded_at=now - timedelta(days=1),
        )
        row = outbox_row(
            customer_id="C1",
            campaign="promo",
            occasion="2026-12-07",
            channel=channel,
            topic="offers",
            locale="en_CA",
            status=MessageStatus.QUEUED,
            subject="Winter offers" if channel == "email" else None,
            body_text="Winter offers. Reply STOP to opt out",
            send_at=now,
            expires_at=now + timedelta(hours=window_hours),
            created_at=now - timedelta(hours=12),
            timezone="America/Halifax",
            country="CA",
        )
        connection.execute(insert(OUTBOX), [row])


async def dispatch(
    engine: Engine, channel: str, now: datetime, quiet_hours: dict[str, object]
) -> RecordingChannel:
    recording = RecordingChannel()
    settings = Settings(secret_key="k" * 32, quiet_hours=quiet_hours)
    dispatcher = Dispatcher(
        engine, settings, {channel: recording}, Signer("k"), clock=lambda: now, rng=random.Random(1)
    )
    await dispatcher.run_once()
    return recording


def stored(engine: Engine) -> tuple[str, datetime, str | None]:
    with engine.connect() as connection:
        row = connection.execute(
            select(OUTBOX.c.status, OUTBOX.c.send_at, OUTBOX.c.last_error)
        ).one()
    return row[0], row[1], row[2]


CANADA_FROM_NINE = {
    "sms": {
        "not_before": "08:00",
        "not_after": "21:00",
        "countries": {"CA": {"not_before": "09:00", "not_after": "21:00"}},
    }
}


async def test_an_sms_planned_before_its_country_s_hours_were_narrowed_waits_for_them(
    engine: Engine,
) -> None:
    plan(engine, "sms", EARLY_IN_HALIFAX)

    early = await dispatch(engine, "sms", EARLY_IN_HALIFAX, CANADA_FROM_NINE)

    assert early.sent == []
    status, send_at, error = stored(engine)
    assert (status, send_at) == ("queued", NINE_IN_HALIFAX)
    assert error is not None and "quiet hours" in error and "America/Halifax" in error

    at_nine = await dispatch(engine, "sms", NINE_IN_HALIFAX, CANADA_FROM_NINE)
    assert [m.customer_id for m in at_nine.sent] == ["C1"]


async def test_e_mail_hours_written_after_planning_hold_for_messages_already_planned(
    engine: Engine,
) -> None:
    plan(engine, "email", EARLY_IN_HALIFAX)
    hours = {"email": {"not_before": "09:00", "not_after": "20:00"}}

    early = await dispatch(engine, "email", EARLY_IN_HALIFAX, hours)

    assert early.sent == []
    assert stored(engine)[:2] == ("queued", NINE_IN_HALIFAX)


async def test_a_window_closing_before_the_narrowed_hours_open_ends_unsent(
    engine: Engine,
) -> None:
    plan(engine, "sms", EARLY_IN_HALIFAX, window_hours=0.5)  # closes 08:40 there

    early = await dispatch(engine, "sms", EARLY_IN_HALIFAX, CANADA_FROM_NINE)

    assert early.sent == []
    assert stored(engine)[0] == "expired"


async def test_hours_still_open_after_the_change_send_at_once(engine: Engine) -> None:
    plan(engine, "sms", NINE_IN_HALIFAX)

    sent = await dispatch(engine, "sms", NINE_IN_HALIFAX, CANADA_FROM_NINE)

    assert [m.customer_id for m in sent.sent] == ["C1"]
