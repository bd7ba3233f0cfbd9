"""A suppressed e-mail address stays suppressed under every spelling of its mailbox.

Rapport compares e-mail addresses as mail providers do, without regard to the case of
the part before ``@`` (an unsubscribe or a complaint reaches every customer holding
the inbox: docs/operations.md). A hard bounce, from the SMTP server itself here (a real
aiosmtpd on loopback answering 550 5.1.1 to the mailbox whatever its case), suppresses
the mailbox: neither the next message to the customer who bounced nor one to another
customer holding the same inbox spelt ``bounce@`` instead of ``Bounce@`` goes to it
(nor one to a customer re-imported with the other spelling).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from channel_servers import free_port
from factories import REPO, insert_customer
from sqlalchemy import Engine, insert, select

from rapport.channels.smtp import SMTPChannel
from rapport.consent.store import ConsentChange, record_consent
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.core.models import OUTBOX, MessageStatus
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.delivery.outbox import outbox_row
from rapport.engine.delivery.suppression import suppress, suppression_snapshot


class UnknownMailbox:
    """An SMTP server with no mailbox ``bounce@example.com`` (in any case); it records
    every recipient it was asked about."""

    def __init__(self) -> None:
        self.recipients: list[str] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.recipients.append(address)
        if address.lower() == "bounce@example.com":
            return "550 5.1.1 <bounce@example.com>: user unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


@pytest.fixture
def mail_server() -> Iterator[tuple[UnknownMailbox, int]]:
    handler = UnknownMailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def customer_with_mail(engine: Engine, customer_id: str, email: str) -> None:
    now = datetime.now(UTC)
    insert_customer(engine, customer_id, email=email)
    with engine.begin() as connection:
        change = ConsentChange(customer_id, "email", "offers", "granted", "test", now)
        record_consent(connection, [change], recorded_at=now)


def queue_mail(engine: Engine, customer_id: str, campaign: str) -> None:
    now = datetime.now(UTC)
    row = outbox_row(
        customer_id=customer_id,
        campaign=campaign,
        occasion="o",
        channel="email",
        topic="offers",
        locale="en",
        subject="An offer",
        body_text="Hello",
        status=MessageStatus.QUEUED,
        send_at=now,
        created_at=now,
    )
    with engine.begin() as connection:
        connection.execute(insert(OUTBOX), [row])


async def dispatch(engine: Engine, port: int) -> None:
    settings = Settings(base_dir=REPO, secret_key="k")
    channel = SMTPChannel(f"smtp://127.0.0.1:{port}?starttls=0")
    dispatcher = Dispatcher(engine, settings, {"email": channel}, Signer("k"), rng=random.Random(1))
    try:
        await dispatcher.run_once()
    finally:
        await dispatcher.aclose()


def status_of(engine: Engine, customer_id: str, campaign: str) -> str:
    with engine.connect() as connection:
        return str(
            connection.execute(
                select(OUTBOX.c.status).where(
                    OUTBOX.c.customer_id == customer_id, OUTBOX.c.campaign == campaign
                )
            ).scalar_one()
        )


async def test_a_hard_bounced_mailbox_is_not_mailed_again_under_another_case_of_its_name(
    engine: Engine, mail_server: tuple[UnknownMailbox, int]
) -> None:
    server, port = mail_server
    customer_with_mail(engine, "C1", "Bounce@example.com")
    customer_with_mail(engine, "C2", "bounce@example.com")  # the same inbox, another CRM record
    queue_mail(engine, "C1", "first")
    await dispatch(engine, port)
    assert status_of(engine, "C1", "first") == "failed"

    queue_mail(engine, "C1", "second")
    queue_mail(engine, "C2", "second")
    await dispatch(engine, port)

    assert server.recipients == ["Bounce@example.com"], "the bounced mailbox was mailed again"
    assert status_of(engine, "C2", "second") == "suppressed"
    assert status_of(engine, "C1", "second") == "suppressed"


def test_planning_reads_a_bounced_mailbox_as_suppressed_under_another_case_of_its_name(
    engine: Engine,
) -> None:
    with engine.begin() as connection:
        suppress(connection, [("email", "Bounce@example.com", "bounce", None)], datetime.now(UTC))
        snapshot = suppression_snapshot(connection)

    assert snapshot is not None
    assert snapshot.matching([("email", "bounce@example.com")]) == {("email", "bounce@example.com")}


async def test_a_mailbox_that_bounced_in_a_pass_is_not_mailed_in_it_under_another_case(
    engine: Engine, mail_server: tuple[UnknownMailbox, int]
) -> None:
    server, port = mail_server
    customer_with_mail(engine, "C1", "Bounce@example.com")
    customer_with_mail(engine, "C2", "bounce@example.com")  # the same inbox, another CRM record
    queue_mail(engine, "C1", "first")
    queue_mail(engine, "C2", "first")
    await dispatch(engine, port)

    assert server.recipients == ["Bounce@example.com"], "the bounced mailbox was mailed again"
    assert status_of(engine, "C2", "first") == "suppressed"
