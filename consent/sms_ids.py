"""Inbound SMS keywords a provider delivers twice or late: each id once, at its own time.

SMS providers retry a webhook they think failed (its answer was lost, it timed out),
sometimes minutes later, and deliver texts out of order. Two rules keep the
customer's last word the one that counts:

* **Each message id once.** The provider's id of a processed keyword is kept in
  ``sms_inbound_id`` for :data:`SMS_ID_DAYS` days (the nightly retention,
  :func:`prune_sms_ids`, deletes older ones). :func:`claim_sms_id` is the first write
  of the keyword's transaction: an id on record means a repeat, which changes nothing
  and gets the answer the first delivery got (:func:`remember_reply`). The id is the
  table's primary key, so of two deliveries at once the second waits for the first
  to commit (PostgreSQL: the unique index; SQLite: its one writer) and then finds it;
  a first delivery that fails rolls back its claim, and the next one is processed.
* **A keyword counts from when the provider received it** (:func:`capture_time`), so
  consent's own rule (:mod:`rapport.consent.store`: the fact captured latest wins)
  orders it among the customer's other answers: a START sent before the latest STOP
  is kept as evidence and changes nothing. A provider time more than
  :data:`CLOCK_SKEW` ahead of the arrival, or older than the ids are kept, is not
  believed: the keyword is captured at its arrival instead, and the reason logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, select, update

from rapport.engine.core.db import upsert_insert
from rapport.engine.core.models import SMS_INBOUND_ID
from rapport.engine.core.prune import delete_before
from rapport.engine.core.timeutil import as_utc

log = logging.getLogger(__name__)

#: Days an inbound keyword's id is kept: a provider's retries end long before.
SMS_ID_DAYS = 30
#: How far ahead of our clock a provider's receive time may be and still be taken.
CLOCK_SKEW = timedelta(minutes=5)
#: Why a provider's time was not taken, as the log line says.
TIME_AHEAD = "the provider's time is in the future"
TIME_TOO_OLD = "the provider's time is older than the message id retention"
PRUNE_BATCH = 1000


def capture_time(received_at: datetime | None, arrival: datetime) -> tuple[datetime, str | None]:
    """When a keyword's consent evidence is captured, and why the provider's receive
    time was set aside (None when it was taken, or there was none)."""
    if received_at is None:
        return arrival, None
    received_at = as_utc(received_at)
    if received_at > arrival + CLOCK_SKEW:
        return arrival, TIME_AHEAD
    if received_at < arrival - timedelta(days=SMS_ID_DAYS):
        return arrival, TIME_TOO_OLD
    return received_at, None


def claim_sms_id(connection: Connection, message_id: str, arrival: datetime) -> str | None:
    """Record ``message_id`` as processed in the caller's transaction (its first write,
    so the claim is what two deliveries at once wait on). Returns None for a new id;
    for one on record, the reply it was given (``""`` when none was remembered)."""
    statement = (
        upsert_insert(connection, SMS_INBOUND_ID)
        .values(message_id=message_id, received_at=as_utc(arrival))
        .on_conflict_do_nothing(index_elements=[SMS_INBOUND_ID.c.message_id])
        .returning(SMS_INBOUND_ID.c.message_id)
    )
    if connection.execute(statement).first() is not None:
        return None
    reply = connection.execute(
        select(SMS_INBOUND_ID.c.reply).where(SMS_INBOUND_ID.c.message_id == message_id)
    ).scalar()
    return reply or ""


def remember_reply(connection: Connection, message_id: str, reply: str) -> None:
    """Which reply the id's first delivery got, so a repeat gets the same one."""
    connection.execute(
        update(SMS_INBOUND_ID).where(SMS_INBOUND_ID.c.message_id == message_id).values(reply=reply)
    )


def prune_sms_ids(
    engine: Engine,
    *,
    now: datetime,
    days: int = SMS_ID_DAYS,
    batch_size: int = PRUNE_BATCH,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Delete ids that arrived more than ``days`` before ``now``, a batch per
    transaction; ``stop`` is asked between batches. How many went."""
    deleted = delete_before(
        engine,
        SMS_INBOUND_ID.c.message_id,
        SMS_INBOUND_ID.c.received_at,
        now - timedelta(days=days),
        batch_size=batch_size,
        stop=stop,
    )
    log.info("sms id retention: %d id(s) deleted", deleted, extra={"deleted": deleted})
    return deleted
