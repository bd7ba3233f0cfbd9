"""Retries against a real HTTP SMS provider on loopback, with an injected clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from factories import REPO
from sqlalchemy import Engine, insert, select

from rapport.channels.http_sms import HTTPSMSChannel
from rapport.consent.store import grant
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.core.models import CUSTOMER, OUTBOX
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.delivery.results import backoff

START = datetime(2026, 11, 26, 9, tzinfo=UTC)


def queue_sms(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(CUSTOMER).values(
                id="R1",
                first_name="伟",
                last_name="王",
                phone="+8613812345678",
                locale="zh_CN",
                timezone="Asia/Shanghai",
                created_at=START,
            )
        )
        grant(connection, "R1", "sms", "offers", source="test")
        connection.execute(
            insert(OUTBOX).values(
                idempotency_key="R1:offer:1:sms",
                customer_id="R1",
                campaign="offer",
                occasion="1",
                channel="sms",
                topic="offers",
                locale="zh_CN",
                body_text="双十一优惠 回复STOP退订",
                send_at=START,
                created_at=START,
            )
        )


def row(engine: Engine):  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.execute(select(OUTBOX)).one()


async def test_two_server_errors_then_success_sends_on_the_third_attempt(
    engine: Engine, sms_sink
) -> None:
    queue_sms(engine)
    sms_sink.script = [500, 503]
    settings = Settings(base_dir=REPO, secret_key="k")
    moment = [START]
    dispatcher = Dispatcher(
        engine,
        settings,
        {"sms": HTTPSMSChannel(url=sms_sink.url)},
        Signer("k"),
        clock=lambda: moment[0],
        rng=random.Random(7),
    )
    delays = []
    for _ in range(3):
        await dispatcher.run_once()
        current = row(engine)
        if current.status == "queued":
            delays.append(current.send_at - moment[0])
            moment[0] = current.send_at
    await dispatcher.aclose()
    final = row(engine)
    assert final.status == "sent" and final.attempts == 3
    assert len(sms_sink.requests) == 3 and list(sms_sink.delivered) == ["R1:offer:1:sms"]
    assert len(delays) == 2 and all(d > timedelta(0) for d in delays)
    assert delays[0] <= timedelta(seconds=settings.dispatch.backoff_base_seconds)
    assert delays[1] <= timedelta(seconds=2 * settings.dispatch.backoff_base_seconds)


async def test_a_permanent_4xx_fails_at_once_without_retry(engine: Engine, sms_sink) -> None:
    queue_sms(engine)
    sms_sink.script = [400]
    settings = Settings(base_dir=REPO, secret_key="k")
    moment = [START]
    dispatcher = Dispatcher(
        engine,
        settings,
        {"sms": HTTPSMSChannel(url=sms_sink.url)},
        Signer("k"),
        clock=lambda: moment[0],
    )
    await dispatcher.run_once()
    moment[0] += timedelta(hours=2)
    await dispatcher.run_once()
    await dispatcher.aclose()
    final = row(engine)
    assert final.status == "failed" and final.attempts == 1 and final.last_error
    assert len(sms_sink.requests) == 1


def test_backoff_grows_and_is_jittered() -> None:
    settings = Settings()
    rng = random.Random(3)
    samples = {
        attempt: [backoff(attempt, settings, rng) for _ in range(200)] for attempt in (1, 3, 5)
    }
    base = settings.dispatch.backoff_base_seconds
    for attempt, values in samples.items():
        ceiling = timedelta(
            seconds=min(base * 2 ** (attempt - 1), settings.dispatch.backoff_max_seconds)
        )
        assert all(timedelta(0) <= v <= ceiling for v in values)
        assert len(set(values)) > 150  # full jitter: spread over the range
    assert max(samples[5]) > 4 * max(samples[1])
