"""A message of a channel the dispatcher has not configured waits for one that has it.

A channel commented out of config.yaml during an incident, or a rolling upgrade in which
an older daemon does not know a channel a newer one planned for: nothing is lost. Such a
message is not claimed, not failed and not counted as an attempt; it stays queued until
a dispatcher that has its channel sends it (or expires it, its window closed), and each
pass reports how many of them wait, per channel, and warns once (ids and counts only).

Runs on SQLite and PostgreSQL, e-mail going to a real SMTP server on loopback.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import DAY, PLAN_AT, TEST_SECRET, insert_customer, make_settings, plan_day
from sqlalchemy import Engine, insert, select

from rapport.consent.store import grant
from rapport.consent.tokens import Signer
from rapport.engine.core.config import ChannelConfig, Settings
from rapport.engine.core.models import OUTBOX, MessageStatus
from rapport.engine.delivery import claims
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.delivery.lanes import build_channels
from rapport.engine.delivery.outbox import outbox_row
from rapport.engine.delivery.outcomes import DispatchReport


def with_channels(port: int, tmp_path: Path, *names: str) -> Settings:
    """E-mail to the SMTP sink and SMS into files, keeping only ``names``."""
    channels = {
        "email": ChannelConfig(adapter="smtp", kind="email", url=f"smtp://127.0.0.1:{port}"),
        "sms": ChannelConfig(adapter="file", kind="sms", path=str(tmp_path / "sms")),
    }
    return make_settings().model_copy(update={"channels": {name: channels[name] for name in names}})


def plan_birthday_emails(engine: Engine, settings: Settings, *customers: str) -> None:
    """Each customer's birthday e-mail, planned with ``settings``."""
    for customer_id in customers:
        insert_customer(
            engine,
            customer_id,
            first_name="مریم",
            email=f"{customer_id.lower()}@example.com",
            country="IR",
            birthday=date(1991, DAY.month, DAY.day),
        )
        with engine.begin() as connection:
            grant(
                connection,
                customer_id,
                "email",
                "birthday",
                source="test",
                captured_at=datetime(2025, 1, 1, tzinfo=UTC),
            )
    assert plan_day(engine, settings).inserted == len(customers)


def rows(engine: Engine, channel: str | None = None) -> list[Any]:
    query = select(OUTBOX).order_by(OUTBOX.c.id)
    if channel is not None:
        query = query.where(OUTBOX.c.channel == channel)
    with engine.connect() as connection:
        return list(connection.execute(query))


async def one_pass(engine: Engine, settings: Settings, at: datetime) -> DispatchReport:
    dispatcher = Dispatcher(
        engine,
        settings,
        build_channels(settings),
        Signer(TEST_SECRET),
        clock=lambda: at,
        worker_id="test",
    )
    try:
        return await dispatcher.run_once()
    finally:
        await dispatcher.aclose()


def due_moment(engine: Engine) -> datetime:
    """A minute after the last planned message became due."""
    latest = max(row.send_at for row in rows(engine))
    return (latest if latest.tzinfo else latest.replace(tzinfo=UTC)) + timedelta(minutes=1)


def untouched(row: Any) -> bool:
    return (
        row.status == MessageStatus.QUEUED
        and row.attempts == 0
        and row.last_error is None
        and row.claimed_by is None
        and row.lease_until is None
    )


@pytest.fixture
def email_planned(engine: Engine, smtp_sink, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Two birthday e-mails planned while e-mail was configured; the sink and port."""
    sink, port = smtp_sink
    plan_birthday_emails(engine, with_channels(port, tmp_path, "email", "sms"), "C1", "C2")
    return sink, port


async def test_a_message_of_a_channel_the_dispatcher_lacks_stays_queued_untouched(
    engine: Engine, email_planned, tmp_path: Path
) -> None:
    sink, port = email_planned
    without_email = with_channels(port, tmp_path, "sms")
    report = await one_pass(engine, without_email, due_moment(engine))
    assert all(untouched(row) for row in rows(engine))
    assert report.outcomes == {}
    assert sink.messages == []


async def test_a_waiting_message_is_sent_by_a_dispatcher_that_has_its_channel(
    engine: Engine, email_planned, tmp_path: Path
) -> None:
    sink, port = email_planned
    at = due_moment(engine)
    await one_pass(engine, with_channels(port, tmp_path, "sms"), at)
    report = await one_pass(engine, with_channels(port, tmp_path, "email", "sms"), at)
    assert [row.status for row in rows(engine)] == [MessageStatus.SENT] * 2
    assert [row.attempts for row in rows(engine)] == [1, 1]
    assert report.outcomes == {("email", "sent"): 2}
    assert sorted(m["rcpt_tos"][0] for m in sink.messages) == [  # type: ignore[index]
        "c1@example.com",
        "c2@example.com",
    ]


async def test_a_waiting_message_whose_window_closed_is_expired_by_a_dispatcher_with_the_channel(
    engine: Engine, email_planned, tmp_path: Path
) -> None:
    sink, port = email_planned
    closed = max(row.expires_at for row in rows(engine))
    at = (closed if closed.tzinfo else closed.replace(tzinfo=UTC)) + timedelta(minutes=1)
    await one_pass(engine, with_channels(port, tmp_path, "sms"), at)
    assert all(untouched(row) for row in rows(engine))
    await one_pass(engine, with_channels(port, tmp_path, "email"), at)
    assert [row.status for row in rows(engine)] == [MessageStatus.EXPIRED] * 2
    assert sink.messages == []


async def test_the_pass_reports_the_due_messages_waiting_for_each_unconfigured_channel(
    engine: Engine, email_planned, tmp_path: Path
) -> None:
    _, port = email_planned
    without_email = with_channels(port, tmp_path, "sms")
    at = due_moment(engine)
    assert (await one_pass(engine, without_email, at)).waiting == {"email": 2}
    earliest = min(row.send_at for row in rows(engine))
    before = (earliest if earliest.tzinfo else earliest.replace(tzinfo=UTC)) - timedelta(minutes=1)
    assert (await one_pass(engine, without_email, before)).waiting == {}


async def test_the_pass_warns_once_with_the_channel_and_the_count_and_no_personal_data(
    engine: Engine, email_planned, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, port = email_planned
    with caplog.at_level(logging.INFO, logger="rapport"):
        await one_pass(engine, with_channels(port, tmp_path, "sms"), due_moment(engine))
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    (warning,) = warnings
    assert "'email'" in warning.getMessage() and "2 " in warning.getMessage()
    assert (warning.channel, warning.count) == ("email", 2)  # type: ignore[attr-defined]
    said = warning.getMessage() + repr(vars(warning))
    for personal in ("C1", "C2", "example.com", "مریم"):
        assert personal not in said


async def test_a_configured_channel_is_sent_while_a_channel_it_does_not_know_waits(
    engine: Engine, smtp_sink, tmp_path: Path
) -> None:
    sink, port = smtp_sink
    plan_birthday_emails(engine, with_channels(port, tmp_path, "email", "sms"), "C1")
    email_only = with_channels(port, tmp_path, "email")
    at = due_moment(engine)
    insert_customer(engine, "C3", country="IR")
    with engine.begin() as connection:  # planned by a newer daemon that knows "push"
        connection.execute(
            insert(OUTBOX).values(
                outbox_row(
                    customer_id="C3",
                    campaign="birthday",
                    occasion="2026-11-26",
                    channel="push",
                    topic="birthday",
                    locale="fa_IR",
                    status=MessageStatus.QUEUED,
                    send_at=at - timedelta(minutes=5),
                    created_at=PLAN_AT,
                    subject=None,
                    body_text="x",
                )
            )
        )
    report = await one_pass(engine, email_only, at)
    assert [row.status for row in rows(engine, "email")] == [MessageStatus.SENT]
    assert len(sink.messages) == 1
    assert all(untouched(row) for row in rows(engine, "push"))
    assert report.outcomes == {("email", "sent"): 1}
    assert report.waiting == {"push": 1}


async def test_a_message_whose_dispatcher_died_mid_send_waits_as_well_for_one_with_the_channel(
    engine: Engine, email_planned, tmp_path: Path
) -> None:
    sink, port = email_planned
    at = due_moment(engine)
    with engine.begin() as connection:
        claims.claim(connection, "dead", at, timedelta(minutes=1), 10, channels=["email"])
    later = at + timedelta(minutes=2)  # the dead dispatcher's leases have expired
    report = await one_pass(engine, with_channels(port, tmp_path, "sms"), later)
    assert report.waiting == {"email": 2}
    assert [(row.status, row.claimed_by) for row in rows(engine)] == [("sending", "dead")] * 2
    await one_pass(engine, with_channels(port, tmp_path, "email"), later)
    assert [row.status for row in rows(engine)] == [MessageStatus.SENT] * 2
    assert len(sink.messages) == 2


async def test_a_daemon_warns_of_a_waiting_channel_once_a_minute_not_every_pass(
    engine: Engine, email_planned, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, port = email_planned
    settings = with_channels(port, tmp_path, "sms")
    at = due_moment(engine)
    dispatcher = Dispatcher(
        engine, settings, build_channels(settings), Signer(TEST_SECRET), clock=lambda: at
    )
    reports: list[DispatchReport] = []
    with caplog.at_level(logging.WARNING, logger="rapport"):
        serving = asyncio.ensure_future(dispatcher.serve(0.05, reports.append))
        await asyncio.sleep(1.0)  # some twenty passes of the SMS channel
        dispatcher.stop()
        await serving
        await dispatcher.aclose()
    warned = [r for r in caplog.records if "wait for channel 'email'" in r.getMessage()]
    assert len(warned) == 1
    assert len(reports) > 5
    assert all(untouched(row) for row in rows(engine))
