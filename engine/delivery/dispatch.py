"""Dispatching due messages: claim, re-check consent, send, record the outcome.

Consent is checked again inside the claim, after planning: a customer who withdrew
between planning and sending is not sent to, and a suppressed address is never sent
to. Only ids go to the log.

Outcomes are written in groups, not one transaction a message
(:mod:`rapport.engine.delivery.outcomes`). All database work runs on one thread of the
dispatcher's own, so the event loop keeps sending meanwhile (see
:meth:`Dispatcher.run_once`).

Delivery stays at-least-once at the same boundary, with a wider but bounded window: a
dispatcher killed after a provider accepted a message and before its outcome was
written leaves the row in ``sending``; when the lease expires it is sent again, with
the same idempotency key (the e-mail's Message-ID, the SMS provider's
``Idempotency-Key``) so the provider or the receiving side can drop the copy. Where a
kill could catch about one such message per connection before, it can now catch up
to ``flush_every`` waiting outcomes plus the group being written and one send per
connection, none accepted more than ``flush_seconds`` (plus one write) earlier.
Messages claimed but not yet sent are never duplicated by a kill: they were not sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import Engine, select

from rapport.channels.base import Channel, Outcome, OutgoingMessage, SendResult
from rapport.channels.mime import message_id_for
from rapport.consent.links import unsubscribe_headers
from rapport.consent.state import granted_pairs
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.core.db import in_memory
from rapport.engine.core.i18n import gettext, ui_language
from rapport.engine.core.i18n import gettext_noop as _
from rapport.engine.core.models import CUSTOMER, MessageStatus
from rapport.engine.core.timeutil import Clock, utcnow
from rapport.engine.delivery import outbox, suppression
from rapport.engine.delivery.lanes import ChannelLane
from rapport.engine.delivery.outcomes import DispatchReport, Outcomes, Pending
from rapport.engine.rendering.locales import full_name

log = logging.getLogger(__name__)
T = TypeVar("T")
OPT_OUT_HINT = _("Reply STOP to opt out")


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"


def backoff(attempt: int, settings: Settings, rng: random.Random) -> timedelta:
    """Capped exponential backoff with full jitter (AWS's recommendation)."""
    ceiling = min(
        settings.dispatch.backoff_max_seconds,
        settings.dispatch.backoff_base_seconds * 2 ** max(attempt - 1, 0),
    )
    return timedelta(seconds=rng.uniform(0, ceiling))


class _Recipient(Protocol):
    """The customer columns a send reads (a row of :meth:`Dispatcher._claim`'s query)."""

    @property
    def email(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str: ...
    @property
    def locale(self) -> str: ...


@dataclass(frozen=True)
class _Batch:
    """Claimed messages and what sending them needs, read in the claim's transaction."""

    claimed: list[outbox.Claimed]
    customers: dict[str, _Recipient] = field(default_factory=dict)
    granted: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    suppressed: set[tuple[str, str]] = field(default_factory=set)
    texted: set[str] = field(default_factory=set)


class Dispatcher:
    #: Outcomes written together at most; also the most a crash can leave unrecorded
    #: after their providers accepted them (plus one in flight per connection).
    flush_every: int = 50
    #: The longest an outcome waits to be written, in seconds.
    flush_seconds: float = 0.1

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        channels: Mapping[str, Channel | ChannelLane],
        signer: Signer,
        *,
        clock: Clock = utcnow,
        worker_id: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.channels: dict[str, ChannelLane] = {
            name: lane if isinstance(lane, ChannelLane) else ChannelLane(name, [(name, [lane])])
            for name, lane in channels.items()
        }
        self.signer = signer
        self.clock = clock
        self.worker_id = worker_id or default_worker_id()
        self.rng = rng or random.Random()
        self._texted: set[str] = set()
        self._gates: dict[str, asyncio.Semaphore] = {}
        self._kinds: dict[str, str] = {}
        self._outcomes: Outcomes | None = None
        #: (kind, address) pairs that hard-bounced during the current run.
        self._bounced: set[tuple[str, str]] = set()
        self.stopping = False

    async def run_once(self, max_batches: int | None = None) -> DispatchReport:
        """Send everything due now, batch by batch, until nothing is due.

        The database work (claims, the look-ups before sending, outcome writes) runs on
        one thread of its own, one job at a time, so the event loop keeps every
        connection busy meanwhile: while a batch is sent, the next one is claimed and
        looked up. Each batch still sees every outcome written before its claim but
        those of the batch just before it, which is still being sent; addresses that
        bounced in this run are kept in memory so that gap cannot re-send to them.
        """
        report = DispatchReport()
        loop = asyncio.get_running_loop()
        database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rapport-dispatch-db")
        # An in-memory SQLite database exists once per thread: its work stays on this one.
        same_thread = in_memory(self.engine.url)

        def in_thread(job: Callable[[], T]) -> asyncio.Future[T]:
            if not same_thread:
                return loop.run_in_executor(database, job)
            done: asyncio.Future[T] = loop.create_future()
            try:
                done.set_result(job())
            except Exception as exc:
                done.set_exception(exc)
            return done

        outcomes = Outcomes(
            self.engine,
            self.worker_id,
            report,
            self.flush_every,
            self.flush_seconds,
            in_thread,
        )
        self._outcomes = outcomes
        self._texted = set()
        self._bounced = set()
        batches = 0
        upcoming: asyncio.Future[_Batch] | None = None
        try:
            if max_batches is None or max_batches > 0:
                upcoming = in_thread(functools.partial(self._claim, self.clock()))
            while upcoming is not None:
                batch = await upcoming
                upcoming = None
                if not batch.claimed:
                    break
                if self.stopping:  # claimed ahead, but no longer wanted
                    self._release(batch.claimed)
                    break
                batches += 1
                if max_batches is None or batches < max_batches:
                    upcoming = in_thread(functools.partial(self._claim, self.clock()))
                await self._send_batch(batch, report)
                outcomes.flush()
        finally:
            if upcoming is not None:  # an error or a stop left a batch claimed ahead
                with contextlib.suppress(Exception):
                    self._release((await upcoming).claimed)
            try:
                await outcomes.drain()
            finally:
                database.shutdown(wait=True)
        return report

    def _claim(self, now: datetime) -> _Batch:
        """On the database thread: claim a batch and read what sending it needs."""
        lease = timedelta(seconds=self.settings.dispatch.lease_seconds)
        with self.engine.begin() as connection:
            claimed = outbox.claim(
                connection, self.worker_id, now, lease, self.settings.dispatch.batch_size
            )
            if not claimed:
                return _Batch(claimed)
            ids = sorted({m.customer_id for m in claimed})
            customers: dict[str, _Recipient] = {
                row.id: row
                for row in connection.execute(
                    select(
                        CUSTOMER.c.id,
                        CUSTOMER.c.email,
                        CUSTOMER.c.phone,
                        CUSTOMER.c.first_name,
                        CUSTOMER.c.last_name,
                        CUSTOMER.c.locale,
                    ).where(CUSTOMER.c.id.in_(ids))
                )
            }
            granted = granted_pairs(connection, ids)
            addresses = []
            for message in claimed:
                row = customers.get(message.customer_id)
                kind = self._kind(message.channel)
                if row is not None and (address := _address(row, kind)):
                    addresses.append((kind, address))
            suppressed = suppression.suppressed_addresses(connection, addresses)
            texted = outbox.customers_texted_before(
                connection, [m.customer_id for m in claimed if self._kind(m.channel) == "sms"]
            )
        return _Batch(claimed, customers, granted, suppressed, texted)

    def _release(self, claimed: Sequence[outbox.Claimed]) -> None:
        """Give claimed, unsent messages back (written with the other outcomes)."""
        for message in claimed:
            release = outbox.Transition(message.id, MessageStatus.QUEUED, release=True)
            self._outcome(Pending(message, release))

    async def _send_batch(self, batch: _Batch, report: DispatchReport) -> None:
        # Customers texted by an earlier batch of this run may not be written yet.
        self._texted |= batch.texted
        sends = []
        for message in batch.claimed:
            now = self.clock()
            row = batch.customers.get(message.customer_id)
            kind = self._kind(message.channel)
            address = _address(row, kind) if row is not None else None
            status: MessageStatus | None = None
            reason = ""
            if message.expires_at is not None and now >= message.expires_at:
                status, reason = MessageStatus.EXPIRED, "send window closed before sending"
            elif not message.transactional and (
                message.channel,
                message.topic,
            ) not in batch.granted.get(message.customer_id, ()):
                status, reason = MessageStatus.SUPPRESSED, "consent not granted at send time"
            elif not address:
                status, reason = MessageStatus.SUPPRESSED, "no address at send time"
            elif (kind, address) in batch.suppressed or (kind, address) in self._bounced:
                status, reason = MessageStatus.SUPPRESSED, "address is on the suppression list"
            if status is not None:
                change = outbox.Transition(message.id, status, now, error=reason)
                self._outcome(Pending(message, change, reason, before_sending=True))
                continue
            assert row is not None and address is not None
            sends.append(self._deliver(message, row, kind, address, report))
        await asyncio.gather(*sends)

    def stop(self) -> None:
        """Claim nothing more; messages claimed but not yet handed over are released."""
        self.stopping = True

    def _outcome(self, pending: Pending) -> None:
        """Queue an outcome for writing (see :class:`Outcomes`)."""
        assert self._outcomes is not None, "outcomes are recorded inside run_once"
        self._outcomes.add(pending)

    async def _deliver(
        self,
        message: outbox.Claimed,
        row: _Recipient,
        kind: str,
        address: str,
        report: DispatchReport,
    ) -> None:
        lane = self.channels.get(message.channel)
        gate = self._gates.get(message.channel)
        if gate is None:
            gate = self._gates[message.channel] = asyncio.Semaphore(lane.concurrency if lane else 1)
        async with gate:
            if self.stopping:  # shutting down: give it back rather than start a send
                release = outbox.Transition(message.id, MessageStatus.QUEUED, release=True)
                self._outcome(Pending(message, release))
                return
            started = time.monotonic()
            result = await self._send(message, row, kind, address)
            report.latencies.append((message.channel, time.monotonic() - started))
        self._record(message, result, kind, address)

    def _kind(self, channel: str) -> str:
        kind = self._kinds.get(channel)
        if kind is None:
            config = self.settings.channels.get(channel)
            kind = self._kinds[channel] = (config.kind if config else None) or channel
        return kind

    async def _send(
        self, message: outbox.Claimed, row: _Recipient, kind: str, address: str
    ) -> SendResult:
        channel = self.channels.get(message.channel)
        if channel is None:
            return SendResult.permanent(f"channel {message.channel!r} is not configured")
        try:
            outgoing = self._outgoing(message, row, kind, address)
        except ValueError as exc:  # a header value the builder refuses
            return SendResult.permanent(str(exc))
        return await channel.send(outgoing)

    def _outgoing(
        self, message: outbox.Claimed, row: _Recipient, kind: str, address: str
    ) -> OutgoingMessage:
        headers: dict[str, str] = {}
        if kind == "email" and not message.transactional:
            headers.update(
                unsubscribe_headers(
                    message.customer_id, message.channel, self.settings, self.signer
                )
            )
        text = message.body_text
        if kind == "sms" and not message.transactional:
            text = self._with_opt_out_hint(message, text)
        return OutgoingMessage(
            idempotency_key=message.idempotency_key,
            kind=kind,
            to=address,
            to_name=full_name(row.first_name, row.last_name, row.locale) or None,
            text=text,
            subject=message.subject,
            html=message.body_html,
            sender=self.settings.sender.from_address,
            message_id=message_id_for(
                message.idempotency_key, self.settings.sender.message_id_domain
            ),
            headers=headers,
            locale=message.locale,
            customer_id=message.customer_id,
            campaign=message.campaign,
        )

    def _with_opt_out_hint(self, message: outbox.Claimed, text: str) -> str:
        """The first marketing SMS to a customer always says how to stop them.

        Templates normally carry the hint; this is the safety net for one that does not.
        """
        first = message.customer_id not in self._texted
        self._texted.add(message.customer_id)
        if not first or "stop" in text.casefold():
            return text
        return f"{text.rstrip()}\n{gettext(ui_language(message.locale), OPT_OUT_HINT)}"

    def _record(self, message: outbox.Claimed, result: SendResult, kind: str, address: str) -> None:
        now = self.clock()
        reason = result.reason or ""
        if result.outcome is Outcome.ACCEPTED:
            sent = outbox.Transition(
                message.id, MessageStatus.SENT, now, provider_id=result.provider_id
            )
            self._outcome(Pending(message, sent))
        elif (
            result.outcome is Outcome.TRANSIENT
            and message.attempts < self.settings.dispatch.max_attempts
        ):
            when = now + backoff(message.attempts, self.settings, self.rng)
            retry = outbox.Transition(
                message.id, MessageStatus.QUEUED, when, error=result.reason or "transient"
            )
            self._outcome(Pending(message, retry, reason))
        else:
            failed = outbox.Transition(message.id, MessageStatus.FAILED, now, error=result.reason)
            bounce = None
            if result.suppress:
                bounce = (kind, address, "bounce", result.reason)
                self._bounced.add((kind, address))
            self._outcome(Pending(message, failed, reason, bounce))

    async def aclose(self) -> None:
        for channel in self.channels.values():
            await channel.aclose()


def _address(row: _Recipient, kind: str) -> str | None:
    return row.email if kind == "email" else row.phone if kind == "sms" else None
