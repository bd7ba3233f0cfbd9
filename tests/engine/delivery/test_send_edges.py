"""The edges of a send found in review: a rate limit, a slow check, a stop, a bug.

Each test is a reproduction of a way the dispatcher once sent what it must not, sent
twice, or left a message claimed; run against SQLite (the write lock is held by a
connection of the test's own, with the helper of the fault suite).
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from channel_servers import Reply, SMSProviderServer
from factories import CHINESE, REPO, outbox_statuses, seed_due_messages
from faults.sqlite_faults import WriteLock
from sqlalchemy import Engine, update

from rapport.channels.base import Channel, OutgoingMessage, SendResult
from rapport.channels.recording import RecordingChannel, accept_all
from rapport.consent.store import withdraw
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.core.db import make_engine
from rapport.engine.core.models import OUTBOX, MessageStatus
from rapport.engine.delivery import outgoing
from rapport.engine.delivery.claims import Claimed
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.delivery.lanes import ChannelLane
from rapport.engine.delivery.results import outcome_of


def settings_with(lease_seconds: float = 300) -> Settings:
    base = Settings(base_dir=REPO, secret_key="k")
    dispatch = base.dispatch.model_copy(update={"lease_seconds": lease_seconds})
    return base.model_copy(update={"dispatch": dispatch})


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A SQLite file with 8 messages due (e-mail to K0000, K0002...; SMS to K0001...)."""
    url = f"sqlite:///{tmp_path / 'edges.db'}"
    seed_due_messages(url, 8, 8, CHINESE, "edges")
    engine = make_engine(url)
    yield url, tmp_path / "edges.db", engine
    engine.dispose()


def dispatcher(engine: Engine, lanes: dict[str, object], **settings: float) -> Dispatcher:
    return Dispatcher(engine, settings_with(**settings), lanes, Signer("k"), rng=random.Random(3))  # type: ignore[arg-type]


async def test_a_withdrawal_while_a_send_waits_for_the_rate_limit_stops_it(store) -> None:  # type: ignore[no-untyped-def]
    _, _, engine = store
    called: list[str] = []

    async def sms(message: OutgoingMessage) -> SendResult:
        called.append(message.customer_id)
        return accept_all(message)

    # One send a second over four connections: the fourth SMS waits about 3 s for its
    # turn; its customer withdraws meanwhile.
    lane = ChannelLane("sms", [("p", [RecordingChannel(sms) for _ in range(4)])], rate_per_second=1)
    running = asyncio.ensure_future(
        dispatcher(engine, {"email": RecordingChannel(), "sms": lane}).run_once()
    )
    await asyncio.sleep(0.6)
    with engine.begin() as connection:
        withdraw(connection, "P0007", "sms", "offers", source="unsubscribe link")
    report = await running

    assert "P0007" not in called and len(called) == 3
    assert report.reasons[("sms", "suppressed", "consent not granted at send time")] == 1


async def test_a_check_that_waited_past_a_third_of_the_lease_sends_nothing(store) -> None:  # type: ignore[no-untyped-def]
    url, path, engine = store
    sent: list[str] = []
    lock = WriteLock(path)
    releaser = threading.Timer(2.5, lock.release)

    def record(message: OutgoingMessage) -> SendResult:
        if not sent:  # while the first send is with the provider, another process
            lock.acquire()  # takes the write lock for 2.5 s: the next checks wait
            releaser.start()
        sent.append(message.idempotency_key)
        return accept_all(message)

    channel = RecordingChannel(record)  # one connection for both channels
    try:
        first = await dispatcher(
            engine, {"email": channel, "sms": channel}, lease_seconds=3
        ).run_once()
    finally:
        releaser.join()
    # The next check after the lock was taken waited 2.5 s, more than a third of the 3 s
    # lease: the lease it would have written was nearly over, so its channel sent nothing
    # more. Which channel's check that was depends on which asked first (the checks of
    # both run on one database thread, one group at a time); the other channel's checks
    # ran after the lock was gone, quickly, and sent.
    per_channel = Counter(key.rsplit(":", 1)[1] for key in sent)
    assert first.database_error == "StaleCheck"
    assert min(per_channel["email"], per_channel["sms"]) <= 1, sent
    left = 8 - len(sent)  # at least the stale channel's other three, handed back
    assert left >= 3 and outbox_statuses(url) == Counter({"sent": len(sent), "queued": left})

    second = await dispatcher(engine, {"email": channel, "sms": channel}).run_once()
    assert sum(second.outcomes.values()) == left and len(set(sent)) == len(sent) == 8


async def test_a_stop_while_a_check_is_stuck_returns_in_time_and_sends_nothing_after(
    store,
) -> None:  # type: ignore[no-untyped-def]
    _, path, engine = store
    sent_at: list[float] = []

    def record(message: OutgoingMessage) -> SendResult:
        sent_at.append(time.monotonic())
        return accept_all(message)

    lock = WriteLock(path)
    lock.acquire()
    d = dispatcher(engine, {"email": RecordingChannel(record), "sms": RecordingChannel(record)})
    running = asyncio.ensure_future(d.run_once())
    await asyncio.sleep(0.3)
    stopped = time.monotonic()
    d.stop(grace=1)
    releaser = threading.Timer(4, lock.release)  # long after grace + 1.5 s
    releaser.start()
    try:
        report = await running
        took = time.monotonic() - stopped
    finally:
        releaser.join()
    assert took < 1 + 2, took
    assert sent_at == [] and not report.outcomes


async def test_a_bug_while_sending_one_message_hands_it_back_and_the_rest_go(
    store, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    url, _, engine = store
    real = outgoing.build_outgoing

    def broken(message, *args, **kwargs):  # type: ignore[no-untyped-def]
        if message.customer_id == "P0002":
            raise RuntimeError("a bug in building the message")
        return real(message, *args, **kwargs)

    monkeypatch.setattr("rapport.engine.delivery.dispatch.build_outgoing", broken)
    channel = RecordingChannel()
    report = await dispatcher(engine, {"email": channel, "sms": channel}).run_once()

    assert sum(report.outcomes.values()) == 7 and report.released == 1
    assert outbox_statuses(url) == Counter({"sent": 7, "queued": 1})  # nothing left claimed


async def test_a_message_whose_lease_ran_out_while_its_outcome_waits_is_not_sent_again(
    store,
) -> None:  # type: ignore[no-untyped-def]
    url, _, engine = store
    sent: list[str] = []

    def expire_own_lease(message: OutgoingMessage) -> SendResult:
        if not sent:  # as after a database outage longer than the lease
            with engine.begin() as connection:
                connection.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.idempotency_key == message.idempotency_key)
                    .values(lease_until=datetime.now(UTC) - timedelta(hours=1))
                )
        sent.append(message.idempotency_key)
        return accept_all(message)

    base = settings_with()
    one_at_a_time = base.model_copy(
        update={"dispatch": base.dispatch.model_copy(update={"batch_size": 1})}
    )
    d = Dispatcher(
        engine,
        one_at_a_time,
        {"email": RecordingChannel(expire_own_lease), "sms": RecordingChannel()},
        Signer("k"),
    )
    d.flush_seconds = 60  # the first outcome waits in memory while the next claims run
    report = await d.run_once()

    assert Counter(sent) == Counter({f"P{n:04d}:edges:{n}:email": 1 for n in (0, 2, 4, 6)})
    assert report.outcomes[("email", "sent")] == 4
    assert outbox_statuses(url) == Counter({"sent": 8})


class NumberedIds(Channel):
    """A third-party adapter that hands on the provider's JSON id as it came: a number."""

    name = "numbered"
    kinds = frozenset({"email", "sms"})

    def __init__(self, url: str) -> None:
        self.url = url

    async def send(self, message: OutgoingMessage) -> SendResult:
        async with httpx.AsyncClient() as client:
            reply = await client.post(self.url, json={"idempotency_key": message.idempotency_key})
        return SendResult.accepted(reply.json()["id"])


async def test_a_message_accepted_with_a_provider_id_that_is_not_text_is_sent_once(
    store,
) -> None:  # type: ignore[no-untyped-def]
    url, _, engine = store
    server = SMSProviderServer()
    server.replies.extend(Reply(200, {"id": 1000 + n}) for n in range(40))
    serving = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    serving.start()
    try:
        adapter = NumberedIds(server.url)
        for _ in range(2):  # a second pass finds nothing due
            await dispatcher(engine, {"email": adapter, "sms": adapter}).run_once(max_batches=3)
    finally:
        server.shutdown()
        server.server_close()

    keys = Counter(request.body["idempotency_key"] for request in server.requests)
    assert max(keys.values()) == 1, f"sent again after the provider accepted it: {keys}"
    assert outbox_statuses(url) == Counter({"sent": 8})


async def test_a_bug_while_recording_an_accepted_send_records_it_sent_and_never_sends_it_again(
    store, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    url, _, engine = store

    def broken(text: object, width: int | None = None) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr("rapport.engine.delivery.results.storable", broken)
    channel = RecordingChannel()
    for _ in range(2):  # a second pass finds nothing due
        await dispatcher(engine, {"email": channel, "sms": channel}).run_once(max_batches=3)

    assert max(Counter(m.idempotency_key for m in channel.sent).values()) == 1
    assert outbox_statuses(url) == Counter({"sent": 8})


@pytest.mark.parametrize("asked", [math.nan, 1e12], ids=["NaN", "beyond any date"])
def test_a_wait_an_adapter_asks_for_that_is_no_date_is_retried_within_a_day(
    asked: float,
) -> None:
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    message = Claimed(1, "k", "c", "x", "sms", "offers", "en", None, "t", None, now, None, 0, False)
    answer = SendResult.transient("HTTP 503", retry_after=asked)

    pending = outcome_of(message, answer, "sms", "+1", now, settings_with(), random.Random(1))

    assert pending.change.status is MessageStatus.QUEUED
    assert pending.change.at is not None and now < pending.change.at <= now + timedelta(days=1)


async def test_a_wait_an_adapter_gives_as_text_retries_the_message_later_not_at_once(
    store,
) -> None:  # type: ignore[no-untyped-def]
    """A third-party adapter passing the provider's Retry-After header on as it came."""
    url, _, engine = store
    sent: list[str] = []

    def busy(message: OutgoingMessage) -> SendResult:
        sent.append(message.idempotency_key)
        return SendResult.transient("HTTP 503", retry_after="30")  # type: ignore[arg-type]

    channel = RecordingChannel(busy)
    for _ in range(2):  # a second pass finds nothing due
        await dispatcher(engine, {"email": channel, "sms": channel}).run_once(max_batches=3)

    assert max(Counter(sent).values()) == 1, f"sent again at once: {Counter(sent)}"
    assert outbox_statuses(url) == Counter({"queued": 8})
