"""Consent re-checked right before each send (issue 14, point 2).

A batch of SMS is claimed while every customer still says yes. The provider holds the
batch's first send, so the test knows exactly which sends have started (that one) and
which have not (all the others, one connection being busy); it then commits
withdrawals for customers whose messages are waiting in the same batch, and lets the
provider answer. None of them may get a message: their sends all start after the
withdrawal committed. Ordering is fixed by events (a held request, a committed
transaction), not by timing.
"""

from __future__ import annotations

from pathlib import Path

from faults.conftest import Launch
from faults.procs import outbox, seed, settled, statuses, wait_for, write_config
from faults.provider import SMSProvider

from rapport.consent.store import withdraw
from rapport.engine.core.db import make_engine

MESSAGES = 8


def test_a_withdrawal_committed_mid_batch_stops_every_send_not_yet_started(
    fault_url: str, tmp_path: Path, sms_provider: SMSProvider, launch: Launch
) -> None:
    queued = seed(fault_url, ["sms"] * MESSAGES)
    config = write_config(
        tmp_path,
        fault_url,
        sms_url=sms_provider.url,
        batch=MESSAGES,  # one claim takes them all, while everyone still says yes
        sms=", concurrency: 1, timeout: 30",
    )
    sms_provider.hang()
    dispatcher = launch("--config", str(config), "dispatch", "--interval", "0.2")
    assert sms_provider.wait_for(1, timeout=30), dispatcher.tail()
    first = sms_provider.snapshot()[0].key
    waiting = [message for message in queued if message.key != first]
    withdrawn = waiting[: len(waiting) // 2]
    engine = make_engine(fault_url)
    try:
        with engine.begin() as connection:
            for message in withdrawn:
                withdraw(connection, message.customer_id, "sms", "offers", source="test")
    finally:
        engine.dispose()
    started_before_the_commit = len(sms_provider.snapshot())
    sms_provider.release()

    done = wait_for(lambda: settled(fault_url), timeout=30)
    dispatcher.stop()
    assert started_before_the_commit == 1  # the held one: one connection, busy
    after = {request.key for request in sms_provider.snapshot()[started_before_the_commit:]}
    sent_to_withdrawn = sorted(after & {message.key for message in withdrawn})
    assert not sent_to_withdrawn
    assert done, statuses(fault_url)
    rows = outbox(fault_url)
    assert {rows[message.id].status for message in withdrawn} == {"suppressed"}
    kept = [message for message in queued if message not in withdrawn]
    assert {rows[message.id].status for message in kept} == {"sent"}
    assert after == {message.key for message in kept if message.key != first}


def test_a_message_the_provider_accepts_while_its_customer_is_erased_is_recorded_sent(
    fault_url: str, tmp_path: Path, sms_provider: SMSProvider, launch: Launch
) -> None:
    """The erasure committed while the provider held her first text: it marked the text
    'suppressed' ("customer erased") and reported it cancelled, the dispatcher lost its
    lease and dropped the provider's acceptance, so the record denied a message the
    provider had (the copy the operator must ask the provider about). Her second text,
    not started, is not sent."""
    from rapport.consent.privacy import erase_customer
    from rapport.engine.core.timeutil import utcnow

    first, second = seed(fault_url, ["sms", "sms"], customers=1)
    config = write_config(
        tmp_path, fault_url, sms_url=sms_provider.url, batch=2, sms=", concurrency: 1"
    )
    sms_provider.hang()
    dispatcher = launch("--config", str(config), "dispatch", "--interval", "0.2")
    assert sms_provider.wait_for(1, timeout=30), dispatcher.tail()
    engine = make_engine(fault_url)
    try:
        with engine.begin() as connection:
            erase_customer(connection, first.customer_id, utcnow())
    finally:
        engine.dispose()
    sms_provider.release()

    done = wait_for(lambda: settled(fault_url), timeout=30)
    dispatcher.stop()
    assert done, statuses(fault_url)
    assert [request.key for request in sms_provider.snapshot()] == [first.key]
    rows = outbox(fault_url)
    assert (rows[first.id].status, rows[second.id].status) == ("sent", "suppressed")
