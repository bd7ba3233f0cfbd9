"""Outcomes are written in groups: few statements, the same guarantees as one by one.

A batch's outcomes go to the outbox together (one guarded ``executemany`` per kind of
change), at the latest ``flush_seconds`` after they are known; a lost lease is still
told apart message by message, and outcomes that cannot be written leave their
messages ``sending``, to be sent again (same idempotency key) once the lease expires.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from factories import PERSIAN, REPO, outbox_statuses, seed_due_messages
from sqlalchemy import Engine, event, select, update

from rapport.channels.base import OutgoingMessage, SendResult
from rapport.channels.recording import RecordingChannel, accept_all
from rapport.consent.tokens import Signer
from rapport.engine.core import logs
from rapport.engine.core.config import Settings
from rapport.engine.core.db import make_engine
from rapport.engine.core.models import OUTBOX
from rapport.engine.delivery import dbthread, outbox
from rapport.engine.delivery.dispatch import Dispatcher


@pytest.fixture
def due(migrated_url: str) -> Engine:
    """120 messages due now, alternating e-mail and SMS, to 20 consenting customers."""
    seed_due_messages(migrated_url, 120, 20, PERSIAN, "batch")
    engine = make_engine(migrated_url)
    yield engine
    engine.dispose()


def dispatcher(engine: Engine, channel: RecordingChannel, **clock: object) -> Dispatcher:
    return Dispatcher(
        engine,
        Settings(base_dir=REPO, secret_key="k"),
        {"email": channel, "sms": channel},
        Signer("k"),
        worker_id="me",
        **clock,  # type: ignore[arg-type]
    )


def status_of(engine: Engine, key: str) -> str:
    with engine.connect() as connection:
        return str(
            connection.execute(
                select(OUTBOX.c.status).where(OUTBOX.c.idempotency_key == key)
            ).scalar_one()
        )


async def test_a_batch_of_outcomes_costs_a_few_statements_not_one_per_message(
    due: Engine, migrated_url: str
) -> None:
    updates: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        # Outcome writes: not the claims, the lease renewals nor the attempts counted
        # by the check before each send (which runs once per send on one connection).
        if statement.lstrip().upper().startswith("UPDATE") and "last_error" in statement:
            updates.append(statement)

    event.listen(due, "before_cursor_execute", seen)
    grouped = dispatcher(due, RecordingChannel())
    grouped.flush_seconds = 60  # groups by count only, however slow the machine is today
    report = await grouped.run_once()

    assert report.outcomes == Counter({("email", "sent"): 60, ("sms", "sent"): 60})
    assert outbox_statuses(migrated_url) == Counter({"sent": 120})
    # a handful of grouped writes rather than 120
    assert len(updates) <= 10, len(updates)


class Stderr:
    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> None:
        self.writes.append(text)

    def flush(self) -> None:
        pass


async def test_a_groups_outcome_lines_are_written_together_one_line_a_message(
    due: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    stderr = Stderr()
    monkeypatch.setattr("sys.stderr", stderr)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logs.configure("INFO", json_lines=True)
    try:
        grouped = dispatcher(due, RecordingChannel())
        grouped.flush_seconds = 60  # groups by count only
        report = await grouped.run_once()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.captureWarnings(False)

    assert sum(report.outcomes.values()) == 120
    lines = [json.loads(line) for line in "".join(stderr.writes).splitlines()]
    sent = [line["message_id"] for line in lines if line["message"].startswith("message sent")]
    assert sorted(sent) == sorted(set(sent)) and len(sent) == 120
    writes = [w for w in stderr.writes if '"message sent' in w]
    assert len(writes) <= 10, len(writes)  # a handful of groups, not 120 writes


async def test_a_pass_checks_out_one_database_connection_not_one_per_job(
    due: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Claims, checks, renewals and outcome writes (dozens of jobs for 120 messages) run
    # on the connection the database thread keeps (however slow the machine is today).
    monkeypatch.setattr(dbthread, "HELD_IDLE_SECONDS", 3600.0)
    checkouts: list[object] = []
    event.listen(due, "checkout", lambda *args: checkouts.append(args))

    report = await dispatcher(due, RecordingChannel()).run_once()

    assert sum(report.outcomes.values()) == 120
    assert len(checkouts) == 1


async def test_after_a_failed_job_the_connection_is_given_back_and_another_taken(
    due: Engine, migrated_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A connection a job failed on may be broken: the pool gets it back (and rolls it
    # back, or drops it), and the next job checks one out again.
    real_apply = outbox.apply
    failures: list[int] = []
    checkouts: list[object] = []
    event.listen(due, "checkout", lambda *args: checkouts.append(args))
    monkeypatch.setattr(dbthread, "HELD_IDLE_SECONDS", 3600.0)

    def failing_once(*args: object, **kwargs: object) -> set[int]:
        if not failures:
            failures.append(1)
            raise OSError("connection reset")
        return real_apply(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox, "apply", failing_once)
    report = await dispatcher(due, RecordingChannel()).run_once()

    assert report.database_error == "OSError" and report.unwritten == []
    assert outbox_statuses(migrated_url) == Counter({"sent": 120})
    assert len(checkouts) == 2


async def test_a_lost_lease_is_told_apart_message_by_message(due: Engine) -> None:
    stolen: list[str] = []

    def steal_one(message: OutgoingMessage) -> SendResult:
        if not stolen:  # another worker takes this one over while it is being sent
            stolen.append(message.idempotency_key)
            with due.begin() as connection:
                connection.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.idempotency_key == message.idempotency_key)
                    .values(claimed_by="another")
                )
        return accept_all(message)

    report = await dispatcher(due, RecordingChannel(steal_one)).run_once()

    assert report.lost_leases == 1
    assert sum(report.outcomes.values()) == 119
    assert status_of(due, stolen[0]) == "sending"  # left as the new owner has it


async def test_an_outcome_is_written_within_flush_seconds_while_the_batch_goes_on(
    due: Engine,
) -> None:
    sent: list[str] = []
    seen_while_sending: list[str] = []

    async def second_is_slow(message: OutgoingMessage) -> SendResult:
        sent.append(message.idempotency_key)
        if len(sent) == 2:  # the batch is still going; the first outcome is written by now
            await asyncio.sleep(Dispatcher.flush_seconds * 4)
            seen_while_sending.append(status_of(due, sent[0]))
        return accept_all(message)

    await dispatcher(due, RecordingChannel(second_is_slow)).run_once(max_batches=1)

    assert seen_while_sending == ["sent"]


async def test_outcomes_that_cannot_be_written_yet_are_kept_and_written_on_recovery(
    due: Engine, migrated_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_apply = outbox.apply
    failures: list[int] = []

    def flaky(*args: object, **kwargs: object) -> set[int]:
        if len(failures) < 3:  # the first three writes meet a full disk
            failures.append(1)
            raise OSError("disk full")
        return real_apply(*args, **kwargs)  # type: ignore[arg-type]

    channel = RecordingChannel()
    monkeypatch.setattr(outbox, "apply", flaky)
    report = await dispatcher(due, channel).run_once()

    assert len(failures) == 3 and report.database_error == "OSError"
    assert report.unwritten == [] and sum(report.outcomes.values()) == 120
    assert outbox_statuses(migrated_url) == Counter({"sent": 120})
    assert len(channel.sent) == 120  # each sent once: nothing was given up and re-sent


async def test_outcomes_still_unwritten_when_patience_ends_are_named_and_sent_again_later(
    due: Engine, migrated_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> set[int]:
        raise OSError("disk full")

    channel = RecordingChannel()
    with monkeypatch.context() as patched:
        patched.setattr(outbox, "apply", broken)
        impatient = dispatcher(due, channel)
        impatient.write_patience = 0.5
        report = await impatient.run_once()
    assert len(report.unwritten) == 120 and report.database_error == "OSError"
    assert outbox_statuses(migrated_url)["sending"] == 120  # nothing recorded as sent

    later = datetime.now(UTC) + timedelta(minutes=10)  # past the 5-minute lease
    channel.clear()
    report = await dispatcher(due, channel, clock=lambda: later).run_once()

    assert sum(report.outcomes.values()) == 120
    assert outbox_statuses(migrated_url) == Counter({"sent": 120})
    resent = {m.idempotency_key for m in channel.sent}
    assert len(resent) == 120  # sent again, each with its own key
