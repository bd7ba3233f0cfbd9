"""Outbox retention: the rendered content of old, finished messages is removed.

A rendered message greets the customer by name, may quote their orders and carries
their signed links: personal data the outbox has no reason to keep once the message
is finished. :func:`prune_outbox` removes it from every message

* in a final state: sent, failed, expired, suppressed or held out (:data:`FINAL`);
  queued and sending messages are never touched, whatever their age;
* finished before the cutoff: ``sent_at`` for a sent message, otherwise ``send_at``
  (a failed or expired message's last attempt, when a suppressed one was due).

What goes: ``subject`` and ``body_html`` (set to NULL) and ``body_text`` (set to
empty), as an erasure blanks them (:mod:`rapport.consent.privacy`). The outbox holds
no recipient address (dispatch reads it from the customer at send time). What stays
is everything the reports and planning read: the id and idempotency key, customer,
campaign, occasion, channel, topic, locale, variant, SMS segments, status, attempts,
the times (``send_at``, ``created_at``, ``sent_at``, ``delivered_at``), the provider's
id (late delivery events find the message by it) and ``last_error`` (the reports
count suppressions by it; channel adapters redact addresses out of it). ``pruned_at``
records when a row was pruned, and pruned rows are not read again.

The work is done in batches of :data:`BATCH_SIZE` rows, each in its own short
transaction, in ``send_at`` order from the partial index ``ix_outbox_unpruned``: a
million rows never hold a lock for long, planning and dispatching carry on, and a
prune cut short (``stop``) leaves only whole batches behind; running it again goes on.
On SQLite the freed space is zeroed (``secure_delete``) and the write-ahead log is
checkpointed at the end; on PostgreSQL the old row versions remain until VACUUM (see
docs/operations.md, Retention).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select, true, update

from rapport.engine.core.models import OUTBOX, MessageStatus
from rapport.engine.core.text import counted

log = logging.getLogger(__name__)

#: The states a message never leaves: its content is no longer needed.
FINAL = (
    MessageStatus.SENT,
    MessageStatus.FAILED,
    MessageStatus.EXPIRED,
    MessageStatus.SUPPRESSED,
    MessageStatus.HELD_OUT,
)
BATCH_SIZE = 1000
#: The ages ``--older-than`` accepts: a whole number of days or hours.
MAX_AGE = timedelta(days=3650)
MIN_AGE = timedelta(hours=1)
_AGE = re.compile(r"(\d{1,7})([dh])")


class AgeInvalid(ValueError):
    """An age that is not ``Nd`` or ``Nh`` within the bounds."""


def parse_age(text: str) -> timedelta:
    """``90d`` (days) or ``36h`` (hours), between an hour and ten years."""
    match = _AGE.fullmatch(text.strip().lower())
    if match is None:
        raise AgeInvalid(f"{text!r} is not an age: write days or hours, e.g. 90d or 36h")
    number, unit = int(match.group(1)), match.group(2)
    age = timedelta(days=number) if unit == "d" else timedelta(hours=number)
    if not MIN_AGE <= age <= MAX_AGE:
        raise AgeInvalid(f"{text!r}: must be between 1h and {MAX_AGE.days}d")
    return age


@dataclass
class PruneReport:
    """What a prune did (or, dry, would do)."""

    cutoff: datetime
    pruned: int = 0
    batches: int = 0
    dry_run: bool = False
    #: Cut short by ``stop`` before every old message was pruned.
    stopped: bool = False

    def summary(self) -> str:
        verb = "would prune" if self.dry_run else "pruned"
        end = " (stopped early; run it again to go on)" if self.stopped else ""
        return (
            f"outbox: {verb} the content of {counted(self.pruned, 'finished message')} "
            f"older than {self.cutoff.isoformat(timespec='seconds')}{end}"
        )


def _finished_before(cutoff: datetime) -> list[ColumnElement[bool]]:
    """Not pruned, final, and finished before ``cutoff`` (``send_at`` <= ``sent_at``,
    so the first condition lets the partial index narrow the range)."""
    return [
        OUTBOX.c.pruned_at.is_(None),
        OUTBOX.c.send_at < cutoff,
        OUTBOX.c.status.in_([status.value for status in FINAL]),
        func.coalesce(OUTBOX.c.sent_at, OUTBOX.c.send_at) < cutoff,
    ]


def prune_outbox(
    engine: Engine,
    *,
    older_than: timedelta,
    now: datetime,
    batch_size: int = BATCH_SIZE,
    dry_run: bool = False,
    stop: Callable[[], bool] | None = None,
) -> PruneReport:
    """Remove the content of final messages finished more than ``older_than`` before
    ``now`` (see the module doc); ``dry_run`` only counts them. ``stop`` is asked
    between batches."""
    cutoff = now - older_than
    report = PruneReport(cutoff=cutoff, dry_run=dry_run)
    if dry_run:
        with engine.connect() as connection:
            query = select(func.count()).select_from(OUTBOX).where(*_finished_before(cutoff))
            report.pruned = int(connection.execute(query).scalar_one())
        return report
    after: tuple[datetime, int] | None = None
    while True:
        if stop is not None and stop():
            report.stopped = True
            break
        beyond: ColumnElement[bool] = true()
        if after is not None:  # keyset: never read a row twice, whatever happens to it
            send_at, last_id = after
            beyond = or_(
                OUTBOX.c.send_at > send_at,
                and_(OUTBOX.c.send_at == send_at, OUTBOX.c.id > last_id),
            )
        query = (
            select(OUTBOX.c.send_at, OUTBOX.c.id)
            .where(*_finished_before(cutoff), beyond)
            .order_by(OUTBOX.c.send_at, OUTBOX.c.id)
            .limit(batch_size)
        )
        with engine.begin() as connection:
            rows = connection.execute(query).all()
            if not rows:
                break
            ids = [row.id for row in rows]
            report.pruned += connection.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(ids), *_finished_before(cutoff))
                .values(subject=None, body_text="", body_html=None, pruned_at=now)
            ).rowcount
            report.batches += 1
            after = (rows[-1].send_at, rows[-1].id)
        if len(rows) < batch_size:
            break
    if report.pruned:
        _checkpoint(engine)
    log.info(
        "outbox retention: %d message(s) pruned",
        report.pruned,
        extra={"pruned": report.pruned, "cutoff": cutoff.isoformat(), "stopped": report.stopped},
    )
    return report


def _checkpoint(engine: Engine) -> None:
    """SQLite: copy the write-ahead log into the (zeroing) database file and truncate
    it, so the old page images do not linger in ``-wal``; a busy log is left for the
    next checkpoint."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy:
        log.info("outbox retention: the SQLite write-ahead log is in use; checkpointed later")
