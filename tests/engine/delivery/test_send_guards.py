"""What holds right before each send: a live lease, current consent, an open channel.

Each test runs the real dispatcher against a real database with the test double
channel (a real adapter that records and answers through a function); the slow ones
sleep in the provider, so a batch really outlasts a lease.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from factories import CHINESE, PERSIAN, REPO, outbox_statuses, seed_due_messages
from sqlalchemy import Engine, select

from rapport.channels.base import OutgoingMessage, SendResult
from rapport.channels.recording import RecordingChannel, accept_all
from rapport.consent.store import withdraw
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.core.db import make_engine
from rapport.engine.core.models import OUTBOX
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.delivery.lanes import ChannelLane


def settings_with(lease_seconds: float = 300, batch_size: int = 100) -> Settings:
    base = Settings(base_dir=REPO, secret_key="k")
    # model_copy does not validate: a lease shorter than the configurable minimum keeps
    # these tests short while a batch still outlasts it several times over.
    dispatch = base.dispatch.model_copy(
        update={"lease_seconds": lease_seconds, "batch_size": batch_size}
    )
    return base.model_copy(update={"dispatch": dispatch})


def make_dispatcher(
    engine: Engine, settings: Settings, lanes: dict[str, RecordingChannel | ChannelLane], **kw
) -> Dispatcher:  # type: ignore[no-untyped-def]
    return Dispatcher(engine, settings, lanes, Signer("k"), rng=random.Random(5), **kw)


def rows(engine: Engine) -> list:  # type: ignore[type-arg]
    with engine.connect() as connection:
        return list(connection.execute(select(OUTBOX).order_by(OUTBOX.c.id)))


@pytest.fixture
def seeded(migrated_url: str):  # type: ignore[no-untyped-def]
    engines: list[Engine] = []

    def seed(messages: int, customers: int, persona=PERSIAN) -> Engine:  # type: ignore[no-untyped-def]
        seed_due_messages(migrated_url, messages, customers, persona, "guards")
        engines.append(make_engine(migrated_url))
        return engines[-1]

    yield seed
    for engine in engines:
        engine.dispose()


async def test_a_send_slower_than_the_lease_with_two_dispatchers_sends_each_message_once(
    seeded, migrated_url: str
) -> None:  # type: ignore[no-untyped-def]
    engine = seeded(12, 12)  # 6 e-mails, 6 SMS
    sent: list[str] = []

    async def slow(message: OutgoingMessage) -> SendResult:
        sent.append(message.idempotency_key)
        # The first send of each channel outlasts the 1 s lease by half; the others
        # make each batch outlast it too.
        await asyncio.sleep(1.5 if len(sent) <= 2 else 0.2)
        return accept_all(message)

    settings = settings_with(lease_seconds=1)
    first = make_dispatcher(
        engine, settings, {"email": RecordingChannel(slow), "sms": RecordingChannel(slow)}
    )
    second = make_dispatcher(
        engine, settings, {"email": RecordingChannel(slow), "sms": RecordingChannel(slow)}
    )

    async def second_joins_late() -> object:
        await asyncio.sleep(1.2)  # past the first dispatcher's first lease
        return await second.run_once()

    await asyncio.gather(first.run_once(), second_joins_late())

    assert Counter(sent).most_common(1)[0][1] == 1, "a message was sent twice"
    assert len(sent) == 12
    assert outbox_statuses(migrated_url) == Counter({"sent": 12})


async def test_a_withdrawal_committed_before_a_send_starts_stops_it(seeded) -> None:  # type: ignore[no-untyped-def]
    engine = seeded(12, 12, CHINESE)  # messages 1, 3, 5 ... are SMS, to P0001, P0003, ...
    sms_customers = [f"P{n:04d}" for n in range(1, 12, 2)]
    withdrawn = set(sms_customers[2:])  # withdrawn while the second SMS is with the provider
    started: list[str] = []

    async def slow(message: OutgoingMessage) -> SendResult:
        started.append(message.customer_id)
        if len(started) == 2:
            with engine.begin() as connection:  # committed before this send returns
                for customer in sorted(withdrawn):
                    withdraw(connection, customer, "sms", "offers", source="unsubscribe link")
        await asyncio.sleep(0.05)
        return accept_all(message)

    report = await make_dispatcher(
        engine, settings_with(), {"email": RecordingChannel(), "sms": RecordingChannel(slow)}
    ).run_once()

    assert started == sms_customers[:2]  # nobody withdrawn got their SMS
    assert report.reasons[("sms", "suppressed", "consent not granted at send time")] == 4
    assert report.outcomes[("email", "sent")] == 6  # e-mail consent was not withdrawn


async def test_attempts_count_only_sends_that_reached_the_provider(seeded) -> None:  # type: ignore[no-untyped-def]
    engine = seeded(1, 1)  # one e-mail
    answers = [SendResult.transient("connection refused", reached=False)] * 6 + [
        SendResult.accepted("p-1")
    ]
    channel = RecordingChannel(lambda message: answers.pop(0))
    lane = ChannelLane("email", [("email", [channel])], failover_after=1000)
    moment = [datetime.now(UTC)]
    dispatcher = make_dispatcher(engine, settings_with(), {"email": lane}, clock=lambda: moment[0])
    for _ in range(7):  # more refusals than max_attempts (5) allows failures
        await dispatcher.run_once()
        moment[0] += timedelta(hours=2)

    (row,) = rows(engine)
    assert row.status == "sent" and row.attempts == 1 and len(channel.sent) == 7


async def test_retry_after_from_the_provider_sets_the_next_attempt(seeded) -> None:  # type: ignore[no-untyped-def]
    engine = seeded(1, 1)
    channel = RecordingChannel(lambda m: SendResult.transient("429 slow down", retry_after=120))
    moment = datetime.now(UTC) + timedelta(seconds=5)  # the message is due by then
    lane = ChannelLane("email", [("email", [channel])])
    report = await make_dispatcher(
        engine, settings_with(), {"email": lane}, clock=lambda: moment
    ).run_once()

    (row,) = rows(engine)
    assert report.outcomes == Counter({("email", "queued"): 1})
    assert row.status == "queued" and row.attempts == 1
    assert row.send_at == moment + timedelta(seconds=120)
    assert lane.paused_for() > 100  # and the lane rests as long


async def test_a_hung_channel_does_not_hold_up_another_and_is_abandoned_at_the_end_of_grace(
    seeded,
) -> None:  # type: ignore[no-untyped-def]
    engine = seeded(40, 20)  # 20 e-mails, 20 SMS
    never = asyncio.Event()

    async def hang(message: OutgoingMessage) -> SendResult:
        await never.wait()
        return accept_all(message)

    email = RecordingChannel()
    dispatcher = make_dispatcher(
        engine, settings_with(), {"email": email, "sms": RecordingChannel(hang)}
    )
    running = asyncio.ensure_future(dispatcher.run_once())
    for _ in range(200):  # the e-mails go while the first SMS hangs
        if len(email.sent) == 20:
            break
        await asyncio.sleep(0.02)
    assert len(email.sent) == 20
    dispatcher.stop(grace=0.2)
    report = await running

    assert report.outcomes == Counter({("email", "sent"): 20})
    assert len(report.abandoned) == 1  # the hung SMS: the provider may have it
    statuses = Counter(row.status for row in rows(engine))
    assert statuses == Counter({"sent": 20, "queued": 20})  # every SMS claim released
    assert not report.unwritten


async def test_a_stop_lets_sends_in_flight_finish_and_releases_the_rest(seeded) -> None:  # type: ignore[no-untyped-def]
    engine = seeded(10, 10)  # 5 e-mails, 5 SMS
    dispatcher: Dispatcher

    async def stop_during_the_first(message: OutgoingMessage) -> SendResult:
        dispatcher.stop(grace=5)
        await asyncio.sleep(0.1)
        return accept_all(message)

    channel = RecordingChannel(stop_during_the_first)
    dispatcher = make_dispatcher(engine, settings_with(), {"email": channel, "sms": channel})
    report = await dispatcher.run_once()

    assert report.clean and report.count(report_status("sent")) == len(channel.sent)
    statuses = Counter(row.status for row in rows(engine))
    assert statuses["sending"] == 0
    assert statuses["sent"] == len(channel.sent) and statuses["queued"] == 10 - len(channel.sent)


def report_status(name: str):  # type: ignore[no-untyped-def]
    from rapport.engine.core.models import MessageStatus

    return MessageStatus(name)
