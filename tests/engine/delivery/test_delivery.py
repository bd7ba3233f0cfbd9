"""Planning and dispatch end to end, against a real SMTP server on loopback.

Runs on SQLite and PostgreSQL. The clock is injected: planning happens before the
day starts anywhere and dispatch walks a clock through the day, so every local send
window opens while the test runs.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from factories import (
    DAY,
    PLAN_AT,
    TEST_SECRET,
    insert_customer,
    make_settings,
    plan_day,
    seed_sample,
)
from sqlalchemy import Engine, select

from rapport.channels.mime import message_id_for
from rapport.consent.store import grant, withdraw
from rapport.consent.tokens import Signer
from rapport.engine.core.config import ChannelConfig, Settings
from rapport.engine.core.models import CUSTOMER, OUTBOX, MessageStatus
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.delivery.lanes import ChannelLane, build_channels


def settings_for(port: int, tmp_path: Path) -> Settings:
    base = make_settings()
    return base.model_copy(
        update={
            "channels": {
                "email": ChannelConfig(
                    adapter="smtp", kind="email", url=f"smtp://127.0.0.1:{port}"
                ),
                "sms": ChannelConfig(adapter="file", kind="sms", path=str(tmp_path / "sms")),
            }
        }
    )


async def dispatch_through_the_day(engine: Engine, settings: Settings) -> Counter[str]:
    moment = [PLAN_AT]
    dispatcher = Dispatcher(
        engine,
        settings,
        build_channels(settings),
        Signer(TEST_SECRET),
        clock=lambda: moment[0],
        worker_id="test",
    )
    outcomes: Counter[str] = Counter()
    try:
        while moment[0] < PLAN_AT + timedelta(hours=52):
            report = await dispatcher.run_once()
            for (_, status), count in report.outcomes.items():
                outcomes[status] += count
            moment[0] += timedelta(hours=1)
    finally:
        await dispatcher.aclose()
    return outcomes


def outbox_rows(engine: Engine) -> list:  # type: ignore[type-arg]
    with engine.connect() as connection:
        return connection.execute(select(OUTBOX)).all()


async def test_planning_twice_then_dispatch_delivers_each_email_exactly_once(
    engine: Engine, smtp_sink, tmp_path: Path
) -> None:
    sink, port = smtp_sink
    settings = settings_for(port, tmp_path)
    seed_sample(engine, settings, tmp_path)

    first = plan_day(engine, settings)
    second = plan_day(engine, settings)
    assert first.inserted > 0
    assert second.inserted == 0
    assert second.already_planned == first.inserted

    outcomes = await dispatch_through_the_day(engine, settings)
    again = await dispatch_through_the_day(engine, settings)

    rows = outbox_rows(engine)
    emails = [r for r in rows if r.channel == "email"]
    assert emails, "the sample must plan some e-mail"
    assert {r.status for r in rows} == {MessageStatus.SENT.value}
    assert outcomes["sent"] == len(rows)
    assert sum(again.values()) == 0
    received = sink.message_ids()
    assert len(received) == len(emails) == len(set(received))
    expected = {
        message_id_for(r.idempotency_key, settings.sender.message_id_domain) for r in emails
    }
    assert set(received) == expected


async def test_every_email_carries_one_click_unsubscribe(
    engine: Engine, smtp_sink, tmp_path: Path
) -> None:
    sink, port = smtp_sink
    settings = settings_for(port, tmp_path)
    seed_sample(engine, settings, tmp_path, customers=36)
    plan_day(engine, settings)
    await dispatch_through_the_day(engine, settings)
    assert sink.messages
    for received in sink.messages:
        message = received["message"]
        assert message["List-Unsubscribe"].startswith("<http")  # type: ignore[index]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # type: ignore[index]


def add_customer(engine: Engine, customer_id: str) -> None:
    insert_customer(
        engine,
        customer_id,
        first_name="مریم",
        last_name="کریمی",
        email=f"{customer_id.lower()}@example.com",
        country="IR",
        birthday=date(1991, DAY.month, DAY.day),
    )


async def test_customer_without_consent_for_the_topic_never_gets_a_message(
    engine: Engine, smtp_sink, tmp_path: Path
) -> None:
    sink, port = smtp_sink
    settings = settings_for(port, tmp_path)
    add_customer(engine, "NOCONSENT")
    with engine.begin() as connection:
        # Consent to offers by e-mail and to birthday greetings by SMS: neither is
        # consent to a birthday greeting by e-mail, and there is no phone number.
        grant(connection, "NOCONSENT", "email", "offers", source="test")
        grant(connection, "NOCONSENT", "sms", "birthday", source="test")
    report = plan_day(engine, settings)
    await dispatch_through_the_day(engine, settings)
    assert report.inserted == 0
    assert outbox_rows(engine) == []
    assert sink.messages == []


async def test_withdrawal_after_planning_stops_the_send(
    engine: Engine, smtp_sink, tmp_path: Path
) -> None:
    sink, port = smtp_sink
    settings = settings_for(port, tmp_path)
    add_customer(engine, "CHANGED")
    add_customer(engine, "KEPT")
    with engine.begin() as connection:
        for customer_id in ("CHANGED", "KEPT"):
            grant(
                connection,
                customer_id,
                "email",
                "birthday",
                source="test",
                captured_at=datetime(2025, 1, 1, tzinfo=UTC),
            )
    report = plan_day(engine, settings)
    assert report.inserted == 2
    with engine.begin() as connection:
        withdraw(connection, "CHANGED", "email", "birthday", source="preference_centre")

    outcomes = await dispatch_through_the_day(engine, settings)

    statuses = {r.customer_id: r.status for r in outbox_rows(engine)}
    assert statuses == {"CHANGED": "suppressed", "KEPT": "sent"}
    assert outcomes == Counter({"sent": 1, "suppressed": 1})
    assert [m["rcpt_tos"] for m in sink.messages] == [["kept@example.com"]]


async def test_suppressed_address_is_never_sent_even_with_consent(
    engine: Engine, smtp_sink, tmp_path: Path
) -> None:
    from rapport.engine.delivery import suppression

    sink, port = smtp_sink
    settings = settings_for(port, tmp_path)
    add_customer(engine, "BOUNCED")
    with engine.begin() as connection:
        grant(
            connection,
            "BOUNCED",
            "email",
            "birthday",
            source="test",
            captured_at=datetime(2025, 1, 1, tzinfo=UTC),
        )
    plan_day(engine, settings)
    with engine.begin() as connection:
        suppression.suppress(
            connection, [("email", "bounced@example.com", "bounce", None)], PLAN_AT
        )
    await dispatch_through_the_day(engine, settings)
    assert [r.status for r in outbox_rows(engine)] == ["suppressed"]
    assert sink.messages == []


async def plan_one(engine: Engine, settings: Settings, customer_id: str) -> None:
    add_customer(engine, customer_id)
    with engine.begin() as connection:
        grant(
            connection,
            customer_id,
            "email",
            "birthday",
            source="test",
            captured_at=datetime(2025, 1, 1, tzinfo=UTC),
        )
    assert plan_day(engine, settings).inserted == 1


def dispatcher_with(
    engine: Engine, settings: Settings, channel, moment: list[datetime], name: str = "email"
):  # type: ignore[no-untyped-def]
    import random

    return Dispatcher(
        engine,
        settings,
        {name: channel},
        Signer(TEST_SECRET),
        clock=lambda: moment[0],
        worker_id="test",
        rng=random.Random(1),
    )


async def test_transient_failure_is_retried_later_then_sent(engine: Engine, tmp_path: Path) -> None:
    from rapport.channels.base import SendResult
    from rapport.channels.recording import RecordingChannel

    settings = settings_for(1, tmp_path)
    await plan_one(engine, settings, "RETRY")
    answers = [SendResult.transient("421 try later"), SendResult.accepted("provider-1")]
    channel = RecordingChannel(handler=lambda message: answers.pop(0))
    moment = [datetime(2026, 11, 26, 12, tzinfo=UTC)]
    dispatcher = dispatcher_with(engine, settings, channel, moment)

    first = await dispatcher.run_once()
    (row,) = outbox_rows(engine)
    assert first.outcomes == Counter({("email", "queued"): 1})
    assert row.status == "queued" and row.send_at > moment[0] and row.last_error == "421 try later"

    moment[0] = row.send_at
    second = await dispatcher.run_once()
    (row,) = outbox_rows(engine)
    assert second.outcomes == Counter({("email", "sent"): 1})
    assert row.status == "sent" and row.provider_id == "provider-1" and row.attempts == 2
    assert [m.idempotency_key for m in channel.sent] == [row.idempotency_key] * 2


async def test_transient_failures_give_up_after_max_attempts(
    engine: Engine, tmp_path: Path
) -> None:
    from rapport.channels.base import SendResult
    from rapport.channels.recording import RecordingChannel

    settings = settings_for(1, tmp_path)
    await plan_one(engine, settings, "FLAKY")
    channel = RecordingChannel(handler=lambda message: SendResult.transient("timeout"))
    # A lane that never rests its provider: this test walks a fake clock, not real time.
    lane = ChannelLane("email", [("email", [channel])], failover_after=1000)
    moment = [datetime(2026, 11, 26, 10, tzinfo=UTC)]
    dispatcher = dispatcher_with(engine, settings, lane, moment)
    for _ in range(settings.dispatch.max_attempts + 2):
        await dispatcher.run_once()
        moment[0] += timedelta(seconds=settings.dispatch.backoff_max_seconds + 1)
        moment[0] = min(moment[0], datetime(2026, 11, 26, 16, tzinfo=UTC))
    (row,) = outbox_rows(engine)
    assert row.status == "failed"
    assert len(channel.sent) == settings.dispatch.max_attempts


async def test_hard_bounce_fails_at_once_and_suppresses_the_address(
    engine: Engine, tmp_path: Path
) -> None:
    from rapport.channels.base import SendResult
    from rapport.channels.recording import RecordingChannel
    from rapport.engine.delivery import suppression

    settings = settings_for(1, tmp_path)
    await plan_one(engine, settings, "GONE")
    channel = RecordingChannel(
        handler=lambda message: SendResult.permanent("550 no such user", suppress=True)
    )
    moment = [datetime(2026, 11, 26, 12, tzinfo=UTC)]
    await dispatcher_with(engine, settings, channel, moment).run_once()
    (row,) = outbox_rows(engine)
    assert row.status == "failed" and row.last_error == "550 no such user"
    assert len(channel.sent) == 1
    with engine.connect() as connection:
        assert suppression.suppressed_addresses(connection, [("email", "gone@example.com")]) == {
            ("email", "gone@example.com")
        }


async def test_expired_lease_lets_another_worker_resume(engine: Engine, tmp_path: Path) -> None:
    from rapport.channels.recording import RecordingChannel
    from rapport.engine.delivery import claims, outbox

    settings = settings_for(1, tmp_path)
    await plan_one(engine, settings, "CRASH")
    moment = [datetime(2026, 11, 26, 12, tzinfo=UTC)]
    with engine.begin() as connection:  # a worker claims, then dies without an outcome
        (claimed,) = claims.claim(connection, "dead", moment[0], timedelta(minutes=5), 10)
    channel = RecordingChannel()
    survivor = dispatcher_with(engine, settings, channel, moment)
    assert (await survivor.run_once()).outcomes == Counter()  # lease still held
    moment[0] += timedelta(minutes=6)
    assert (await survivor.run_once()).outcomes == Counter({("email", "sent"): 1})
    assert [m.idempotency_key for m in channel.sent] == [claimed.idempotency_key]
    with engine.begin() as connection:  # the dead worker's late outcome is refused
        assert not outbox.finish(
            connection, claimed.id, "dead", MessageStatus.FAILED, now=moment[0], error="late"
        )
    assert outbox_rows(engine)[0].status == "sent"


async def test_first_marketing_sms_to_a_number_carries_the_opt_out_hint(
    engine: Engine, tmp_path: Path
) -> None:
    from rapport.channels.recording import RecordingChannel

    settings = settings_for(1, tmp_path)
    add_customer(engine, "TXT")
    with engine.begin() as connection:
        connection.execute(CUSTOMER.update().values(phone="+989121234567"))
        grant(connection, "TXT", "sms", "offers", source="test")
        for n in (1, 2):
            connection.execute(
                OUTBOX.insert().values(
                    idempotency_key=f"TXT:manual:{n}:sms",
                    customer_id="TXT",
                    campaign="manual",
                    occasion=str(n),
                    channel="sms",
                    topic="offers",
                    locale="fa_IR",
                    body_text=f"پیشنهاد ویژه {n}",
                    send_at=PLAN_AT,
                    created_at=PLAN_AT,
                )
            )
    channel = RecordingChannel()
    moment = [PLAN_AT + timedelta(hours=1)]
    import random

    dispatcher = Dispatcher(
        engine,
        settings,
        {"sms": channel},
        Signer(TEST_SECRET),
        clock=lambda: moment[0],
        worker_id="test",
        rng=random.Random(1),
    )
    await dispatcher.run_once()
    texts = [m.text for m in channel.sent]
    assert texts[0].endswith("لغو: STOP")
    assert texts[1] == "پیشنهاد ویژه 2"


async def test_a_consent_change_between_ticks_does_not_repeat_the_occasion_on_another_channel(
    engine: Engine, tmp_path: Path
) -> None:
    from rapport.channels.recording import RecordingChannel

    settings = settings_for(1, tmp_path)
    add_customer(engine, "TWICE")
    with engine.begin() as connection:
        connection.execute(CUSTOMER.update().values(phone="+989121234567"))
        grant(
            connection,
            "TWICE",
            "sms",
            "birthday",
            source="test",
            captured_at=datetime(2025, 1, 1, tzinfo=UTC),
        )
    assert plan_day(engine, settings).inserted == 1
    channel = RecordingChannel()
    moment = [datetime(2026, 11, 26, 8, tzinfo=UTC)]
    await dispatcher_with(engine, settings, channel, moment, name="sms").run_once()
    with engine.begin() as connection:
        grant(connection, "TWICE", "email", "birthday", source="test")
    again = plan_day(engine, settings)
    assert again.inserted == 0 and again.already_planned == 1
    assert [(r.channel, r.status) for r in outbox_rows(engine)] == [("sms", "sent")]


def test_a_claim_takes_at_most_its_batch_size(engine: Engine) -> None:
    from rapport.engine.delivery import claims

    add_customer(engine, "MANY")
    with engine.begin() as connection:
        connection.execute(
            OUTBOX.insert(),
            [
                {
                    "idempotency_key": f"MANY:x:{n}:email",
                    "customer_id": "MANY",
                    "campaign": "x",
                    "occasion": str(n),
                    "channel": "email",
                    "topic": "offers",
                    "locale": "fa_IR",
                    "body_text": "x",
                    "send_at": PLAN_AT,
                    "created_at": PLAN_AT,
                    "status": "queued",
                    "attempts": 0,
                }
                for n in range(600)
            ],
        )
    with engine.begin() as connection:
        first = claims.claim(connection, "w1", PLAN_AT, timedelta(minutes=5), 50)
    with engine.begin() as connection:
        second = claims.claim(connection, "w2", PLAN_AT, timedelta(minutes=5), 50)
    assert len(first) == len(second) == 50
    assert not {m.id for m in first} & {m.id for m in second}
    assert [r.status for r in outbox_rows(engine)].count("sending") == 100
