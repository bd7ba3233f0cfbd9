"""The check right before a send: is the lease still ours, and may we still send?

Planning checked consent days ago and the claim minutes ago; a customer who withdraws
while their message waits in a dispatcher's queue must not get it. So each message is
checked once more immediately before it is handed to a provider, in one transaction
that:

1. renews this dispatcher's lease on it (a message whose lease passed to another
   dispatcher is dropped: the other one sends it);
2. re-reads the customer's address, consent and the suppression list, and the send
   window's end; the channel's quiet hours, as config.yaml now writes them, are
   checked again where the customer now is (their time zone or country may have
   changed since planning, and the hours themselves may have been narrowed);
3. counts an attempt for each message that may go (a stopped one gets it back).

The transaction is the moment a send "starts": a withdrawal committed before it is
always seen. On PostgreSQL the granted consent rows are share-locked until it commits,
so a withdrawal running at the same time waits for it and counts as later; on SQLite
the renewal takes the single writer lock first, which has the same effect.

Checks are grouped (:class:`Fence`): whoever asks while a check is running waits for
the next one, which then covers them all, so the cost per message falls as the number
of connections grows (group commit).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from rapport.engine.core.config import QuietHours
from rapport.engine.core.models import MessageStatus
from rapport.engine.core.timeutil import known_zone, local_moment, zone
from rapport.engine.delivery import suppression
from rapport.engine.delivery.checksql import CheckStatements
from rapport.engine.delivery.claims import Claimed
from rapport.engine.delivery.dbthread import DatabaseThread


@dataclass(frozen=True)
class Recipient:
    """The customer columns a send reads, as they are at the check."""

    email: str | None
    phone: str | None
    first_name: str
    last_name: str
    locale: str
    timezone: str = "UTC"
    country: str | None = None


@dataclass(frozen=True)
class Verdict:
    """What the check decided for one message.

    ``lost``: the lease is no longer ours; leave the message alone. ``status``: do not
    send; record this final status (with ``reason``). Otherwise send to ``address``.
    """

    lost: bool = False
    status: MessageStatus | None = None
    reason: str = ""
    #: With ``status`` QUEUED: when to try again.
    retry_at: datetime | None = None
    recipient: Recipient | None = None
    address: str | None = None
    #: A marketing SMS went to this customer before (no opt-out hint needed).
    texted_before: bool = False


LOST = Verdict(lost=True)


def address_of(recipient: Recipient, kind: str) -> str | None:
    return recipient.email if kind == "email" else recipient.phone if kind == "sms" else None


def check(
    connection: Connection,
    worker: str,
    messages: Sequence[Claimed],
    kinds: Mapping[str, str],
    now: datetime,
    lease_until: datetime,
    hours: Mapping[str, QuietHours] | None = None,
) -> dict[int, Verdict]:
    """Renew, re-check and count the attempts of ``messages``, in the caller's transaction.

    ``kinds`` maps each channel to its kind ("email", "sms"); ``hours`` is each kind's
    quiet hours (``quiet_hours`` in config.yaml). Returns a verdict for every message.
    The renewal counts an attempt for every message still held (one statement for
    both); a message that is then stopped gets it back with its outcome.
    """
    sql = CheckStatements(connection)
    held = sql.renew_and_count([m.id for m in messages], worker, lease_until)
    live = [m for m in messages if m.id in held]
    recipients = {
        row[0]: Recipient(*row[1:]) for row in sql.recipients(sorted({m.customer_id for m in live}))
    }
    marketing = sorted({m.customer_id for m in live if not m.transactional})
    granted = sql.granted(marketing) if marketing else {}
    wanted = []
    for message in live:
        recipient = recipients.get(message.customer_id)
        kind = kinds.get(message.channel, message.channel)
        if recipient is not None and (address := address_of(recipient, kind)):
            wanted.append((kind, address))
    suppressed = suppression.listed_pairs(wanted, sql.listed) if wanted else set()
    texted = sql.texted(
        sorted(
            {m.customer_id for m in live if kinds.get(m.channel) == "sms" and not m.transactional}
        )
    )
    verdicts = {m.id: LOST for m in messages if m.id not in held}
    for message in live:
        kind = kinds.get(message.channel, message.channel)
        recipient = recipients.get(message.customer_id)
        address = address_of(recipient, kind) if recipient is not None else None
        verdict = _decide(
            message,
            now,
            recipient,
            address,
            granted,
            suppressed=(kind, address) in suppressed,
            texted_before=message.customer_id in texted,
        )
        if verdict.status is None and recipient is not None and hours:
            verdict = _quiet(message, recipient, hours.get(kind), now) or verdict
        verdicts[message.id] = verdict
    return verdicts


def _quiet(
    message: Claimed, recipient: Recipient, hours: QuietHours | None, now: datetime
) -> Verdict | None:
    """The verdict for a marketing message whose channel is in its quiet hours now,
    where the customer is: try again when the hours open there, or, if the message's
    window has closed by then, not at all. None otherwise.

    Planning placed the message in the window and quiet hours of where the customer
    was, under the hours config.yaml wrote then. The legal hours must also hold where
    the customer is at the send (a re-import corrected their zone or country), and as
    config.yaml writes them now (an operator narrowed a country's SMS hours after
    the day was planned). Transactional messages have no quiet hours."""
    if hours is None or message.transactional:
        return None
    if not known_zone(recipient.timezone):  # not a zone this machine knows: planning's stands
        return None
    allowed = hours.for_country(recipient.country)
    local = now.astimezone(zone(recipient.timezone))
    if allowed.not_before <= local.time() <= allowed.not_after:
        return None
    day = local.date() if local.time() < allowed.not_before else local.date() + timedelta(days=1)
    opens = local_moment(day, allowed.not_before, recipient.timezone)
    where = f"{recipient.timezone}, {recipient.country or 'no country'}"
    moved = message.timezone is not None and (message.timezone, message.country) != (
        recipient.timezone,
        recipient.country,
    )
    hours_of = (
        f"quiet hours where the customer now is ({where})"
        if moved
        else (f"quiet hours as configured now ({where})")
    )
    if message.expires_at is not None and opens >= message.expires_at:
        return Verdict(status=MessageStatus.EXPIRED, reason=f"{hours_of} last past the send window")
    reason = f"{hours_of} until {opens:%Y-%m-%d %H:%M} UTC"
    return Verdict(status=MessageStatus.QUEUED, reason=reason, retry_at=opens)


def _decide(
    message: Claimed,
    now: datetime,
    recipient: Recipient | None,
    address: str | None,
    granted: Mapping[str, set[tuple[str, str]]],
    *,
    suppressed: bool,
    texted_before: bool,
) -> Verdict:
    if message.expires_at is not None and now >= message.expires_at:
        return Verdict(status=MessageStatus.EXPIRED, reason="send window closed before sending")
    if not message.transactional and (message.channel, message.topic) not in granted.get(
        message.customer_id, ()
    ):
        return Verdict(status=MessageStatus.SUPPRESSED, reason="consent not granted at send time")
    if recipient is None or not address:
        return Verdict(status=MessageStatus.SUPPRESSED, reason="no address at send time")
    if suppressed:
        return Verdict(status=MessageStatus.SUPPRESSED, reason="address is on the suppression list")
    return Verdict(recipient=recipient, address=address, texted_before=texted_before)


class StaleCheck(Exception):
    """The check waited so long for the database that its lease cannot be trusted."""


class Fence:
    """Groups the checks asked for while one runs into the next (see the module doc)."""

    def __init__(
        self,
        engine: Engine,
        database: DatabaseThread,
        worker: str,
        kinds: Mapping[str, str],
        times: Callable[[], tuple[datetime, datetime]],
        hours: Mapping[str, QuietHours] | None = None,
    ) -> None:
        """``times()`` gives (now, the lease's new end) when a check runs; ``hours``
        each kind's quiet hours."""
        self.engine = engine
        self.database = database
        self.worker = worker
        self.kinds = kinds
        self.times = times
        self.hours = hours
        self._waiting: list[tuple[Claimed, asyncio.Future[Verdict]]] = []
        self._running = False
        self._scheduled = False
        #: The futures of the check now running.
        self._pending: list[asyncio.Future[Verdict]] = []

    async def check(self, message: Claimed) -> Verdict:
        """The verdict for ``message``; raises what the database raised."""
        decided: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
        self._waiting.append((message, decided))
        if not self._running and not self._scheduled:
            # Those who ask in this same turn of the loop join the same check.
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._start)
        return await decided

    def _start(self) -> None:
        self._scheduled = False
        group, self._waiting = self._waiting, []
        group = [(m, f) for m, f in group if not f.done()]
        if not group:
            return
        self._running = True
        self._pending = [f for _, f in group]
        job = self.database.submit(functools.partial(self._run, [m for m, _ in group]))
        job.add_done_callback(functools.partial(self._done, group))

    def _run(self, messages: list[Claimed]) -> dict[int, Verdict]:
        started = time.monotonic()
        now, until = self.times()
        with self.database.transaction(self.engine) as connection:
            verdicts = check(connection, self.worker, messages, self.kinds, now, until, self.hours)
            # A check that waited long for a lock wrote a lease that is (nearly) over
            # already: undo it rather than send under a lease someone else may take.
            if time.monotonic() - started > (until - now).total_seconds() / 3:
                raise StaleCheck(f"the check took {time.monotonic() - started:.1f} s")
        return verdicts

    def abandon(self) -> None:
        """The grace period is over: whoever still waits for a check stops waiting."""
        for _, decided in self._waiting:
            decided.cancel()
        self._waiting = []
        for decided in self._pending:
            decided.cancel()

    def _done(
        self,
        group: list[tuple[Claimed, asyncio.Future[Verdict]]],
        job: asyncio.Future[dict[int, Verdict]],
    ) -> None:
        self._running = False
        self._pending = []
        error = None if job.cancelled() else job.exception()
        for message, decided in group:
            if decided.done():
                continue
            if job.cancelled():
                decided.cancel()
            elif error is not None:
                decided.set_exception(error)
            else:
                decided.set_result(job.result()[message.id])
        if self._waiting:
            self._start()
