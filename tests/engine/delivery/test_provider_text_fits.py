"""Whatever a provider answers, its outcome is written in the same pass.

An outcome that cannot be written is kept and retried while the process lives, with
every outcome of its group: one provider answer the database refuses held them all as
'sending' for good, and a restart sent them again once their leases expired. Found
with a provider giving a 300-character id, an SMTP server giving a 600-character
bounce, and replies holding NUL or a byte that is not UTF-8 (PostgreSQL refuses NUL in
text; no driver encodes the lone surrogate Python decodes such a byte to).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator

import pytest
from factories import CHINESE, REPO, outbox_statuses, seed_due_messages
from sqlalchemy import Engine, select

from rapport.channels.base import OutgoingMessage, SendResult
from rapport.channels.recording import RecordingChannel
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.core.db import make_engine
from rapport.engine.core.models import OUTBOX, SUPPRESSION
from rapport.engine.delivery.dispatch import Dispatcher

#: Long enough for every outcome to be written many times over; before the fix the
#: pass never ended.
PASS_SECONDS = 10


@pytest.fixture
def store(database_url: str) -> Iterator[tuple[str, Engine]]:
    """Four messages due: e-mail, SMS, e-mail, SMS."""
    seed_due_messages(database_url, 4, 4, CHINESE, "answers")
    engine = make_engine(database_url)
    yield database_url, engine
    engine.dispose()


async def dispatch_once(engine: Engine, answer: Callable[[OutgoingMessage], SendResult]) -> None:
    channel = RecordingChannel(answer, kinds=frozenset({"email", "sms"}))
    settings = Settings(base_dir=REPO, secret_key="k")
    lanes = {"email": channel, "sms": channel}
    dispatcher = Dispatcher(engine, settings, lanes, Signer("k"), rng=random.Random(1))  # type: ignore[arg-type]
    await asyncio.wait_for(dispatcher.run_once(), PASS_SECONDS)


def column(engine: Engine, name: str) -> dict[str, object]:
    with engine.connect() as connection:
        rows = connection.execute(select(OUTBOX.c.idempotency_key, OUTBOX.c[name]))
        # "P0001:answers:1:sms" -> "sms1"
        return {"".join(key.split(":")[:1:-1]): value for key, value in rows}


async def test_a_provider_id_longer_than_the_outbox_keeps_is_dropped_and_the_message_sent(
    store: tuple[str, Engine],
) -> None:
    url, engine = store

    def answer(message: OutgoingMessage) -> SendResult:
        return SendResult.accepted("x" * 300 if message.kind == "sms" else "short-id")

    await dispatch_once(engine, answer)

    assert outbox_statuses(url) == {"sent": 4}
    ids = column(engine, "provider_id")
    assert ids == {"email0": "short-id", "sms1": None, "email2": "short-id", "sms3": None}


async def test_a_bounce_longer_than_the_suppression_list_keeps_is_cut_to_fit(
    store: tuple[str, Engine],
) -> None:
    url, engine = store
    bounce = "550 5.1.1 " + "the mailbox does not exist " * 30  # 820 characters

    def answer(message: OutgoingMessage) -> SendResult:
        return SendResult.permanent(bounce, suppress=True)

    await dispatch_once(engine, answer)

    assert outbox_statuses(url) == {"failed": 4}
    with engine.connect() as connection:
        details = connection.execute(select(SUPPRESSION.c.detail)).scalars().all()
    assert len(details) == 4  # each message's address
    assert set(details) == {bounce[:500]}
    assert set(column(engine, "last_error").values()) == {bounce[:500]}


async def test_a_reply_holding_nul_or_a_byte_that_is_not_utf8_is_written(
    store: tuple[str, Engine],
) -> None:
    url, engine = store
    # What smtp_wire makes of b"451 4.3.0 r\xe9essayez\x00": bytes decoded with
    # surrogateescape.
    reply = b"451 4.3.0 r\xe9essayez\x00".decode("utf-8", "surrogateescape")

    def answer(message: OutgoingMessage) -> SendResult:
        if message.kind == "sms":
            return SendResult.accepted("id\x00\udce9")
        return SendResult.transient(reply)

    await dispatch_once(engine, answer)

    assert outbox_statuses(url) == {"sent": 2, "queued": 2}
    assert column(engine, "provider_id")["sms1"] == "id\ufffd\ufffd"
    assert column(engine, "last_error")["email0"] == "451 4.3.0 r\ufffdessayez\ufffd"
