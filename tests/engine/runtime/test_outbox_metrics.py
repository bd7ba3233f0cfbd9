"""The outbox gauges read at a scrape: the oldest due message's age, over every channel.

The age is read channel by channel (each the first entry of its channel's range of
``ix_outbox_due``), so it must still be the oldest of them all.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from factories import insert_customer
from sqlalchemy import Engine

from rapport.engine.core.models import OUTBOX
from rapport.engine.runtime.metrics import OutboxCollector


def queue(engine: Engine, channel: str, n: int, send_at: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(
            OUTBOX.insert().values(
                idempotency_key=f"C:x:{n}:{channel}",
                customer_id="C",
                campaign="x",
                occasion=str(n),
                channel=channel,
                topic="offers",
                locale="fa_IR",
                body_text="x",
                send_at=send_at,
                created_at=send_at,
                status="queued",
                attempts=0,
            )
        )


def oldest_due_age(engine: Engine) -> float:
    families = {f.name: f for f in OutboxCollector(engine).collect()}
    (sample,) = families["rapport_outbox_oldest_due_age_seconds"].samples
    return sample.value


def test_the_oldest_due_age_is_the_oldest_over_every_channel(engine: Engine) -> None:
    insert_customer(engine, "C")
    now = datetime.now(UTC)
    queue(engine, "email", 1, now - timedelta(minutes=30))
    queue(engine, "sms", 2, now - timedelta(hours=2))
    queue(engine, "fax", 3, now + timedelta(days=1))  # queued, not due yet
    assert 7200 <= oldest_due_age(engine) < 7200 + 60


def test_the_oldest_due_age_is_0_when_nothing_queued_is_due(engine: Engine) -> None:
    insert_customer(engine, "C")
    queue(engine, "sms", 1, datetime.now(UTC) + timedelta(hours=1))
    assert oldest_due_age(engine) == 0.0
