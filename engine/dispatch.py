"""Dispatching due messages: claim, re-check consent, send, record the outcome.

Consent is checked again inside the claim, after planning: a customer who withdrew
between planning and sending is not sent to, and a suppressed address is never sent
to. Only ids go to the log.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from rapport.channels.base import Channel, Outcome, OutgoingMessage, SendResult
from rapport.channels.mime import message_id_for
from rapport.channels.registry import (
    AdapterOptionsError,
    InvalidAdapterError,
    UnknownAdapterError,
    build_channel,
)
from rapport.consent.state import granted_pairs
from rapport.consent.tokens import Signer
from rapport.engine import outbox
from rapport.engine.config import Settings
from rapport.engine.context import unsubscribe_headers
from rapport.engine.errors import ConfigError
from rapport.engine.i18n import gettext, ui_language
from rapport.engine.i18n import gettext_noop as _
from rapport.engine.lanes import ChannelLane
from rapport.engine.models import Customer, MessageStatus
from rapport.engine.rendering import full_name
from rapport.engine.timeutil import Clock, utcnow

log = logging.getLogger(__name__)
OPT_OUT_HINT = _("Reply STOP to opt out")
CUSTOMER = Customer.__table__  # type: ignore[attr-defined]


@dataclass
class DispatchReport:
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, status)
    #: Why messages were not sent: (channel, status, reason) -> count.
    reasons: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    lost_leases: int = 0
    #: Claimed, then handed back unsent because the dispatcher was stopping.
    released: int = 0
    #: (channel, seconds) for every provider call, for the latency histogram.
    latencies: list[tuple[str, float]] = field(default_factory=list)

    def count(self, status: MessageStatus) -> int:
        return sum(n for (_, s), n in self.outcomes.items() if s == status.value)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"


def build_channels(settings: Settings) -> dict[str, ChannelLane]:
    """A lane per configured channel: its providers' adapters, built once and reused."""
    lanes: dict[str, ChannelLane] = {}
    for name, config in settings.channels.items():
        providers = []
        for index, provider in enumerate(config.provider_list()):
            options = provider.options()
            label = f"channels.{name}" + (f".providers.{index}" if config.providers else "")
            try:
                instances = [
                    build_channel(provider.adapter, options, settings.base_dir)
                    for _ in range(config.concurrency)
                ]
            except (
                UnknownAdapterError,
                InvalidAdapterError,
                AdapterOptionsError,
                ValueError,
            ) as exc:
                source = {"smtp": " (from RAPPORT_SMTP_URL)", "http_sms": " (from RAPPORT_SMS_URL)"}
                via = source.get(provider.adapter, "") if "url" in options else ""
                raise ConfigError(f"{label}{via}: {exc}") from None
            providers.append((provider.adapter, instances))
        lanes[name] = ChannelLane(
            name,
            providers,
            rate_per_second=config.rate_per_second,
            failover_after=config.failover_after,
            cooldown_seconds=config.failover_cooldown_seconds,
        )
    return lanes


def backoff(attempt: int, settings: Settings, rng: random.Random) -> timedelta:
    """Capped exponential backoff with full jitter (AWS's recommendation)."""
    ceiling = min(
        settings.dispatch.backoff_max_seconds,
        settings.dispatch.backoff_base_seconds * 2 ** max(attempt - 1, 0),
    )
    return timedelta(seconds=rng.uniform(0, ceiling))


class Dispatcher:
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
        self.stopping = False

    async def run_once(self, max_batches: int | None = None) -> DispatchReport:
        """Send everything due now, batch by batch, until nothing is due."""
        report = DispatchReport()
        batches = 0
        while (max_batches is None or batches < max_batches) and not self.stopping:
            now = self.clock()
            lease = timedelta(seconds=self.settings.dispatch.lease_seconds)
            with self.engine.begin() as connection:
                claimed = outbox.claim(
                    connection, self.worker_id, now, lease, self.settings.dispatch.batch_size
                )
            if not claimed:
                break
            batches += 1
            await self._send_batch(claimed, report)
        return report

    async def _send_batch(self, claimed: Sequence[outbox.Claimed], report: DispatchReport) -> None:
        with self.engine.connect() as connection:
            ids = sorted({m.customer_id for m in claimed})
            customers = {
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
            suppressed = outbox.suppressed_addresses(connection, addresses)
            self._texted = outbox.customers_texted_before(
                connection, [m.customer_id for m in claimed if self._kind(m.channel) == "sms"]
            )

        sends = []
        for message in claimed:
            now = self.clock()
            row = customers.get(message.customer_id)
            kind = self._kind(message.channel)
            address = _address(row, kind) if row is not None else None
            status: MessageStatus | None = None
            reason = ""
            if message.expires_at is not None and now >= message.expires_at:
                status, reason = MessageStatus.EXPIRED, "send window closed before sending"
            elif not message.transactional and (message.channel, message.topic) not in granted.get(
                message.customer_id, ()
            ):
                status, reason = MessageStatus.SUPPRESSED, "consent not granted at send time"
            elif not address:
                status, reason = MessageStatus.SUPPRESSED, "no address at send time"
            elif (kind, address) in suppressed:
                status, reason = MessageStatus.SUPPRESSED, "address is on the suppression list"
            if status is not None:
                self._finish(message, status, now, error=reason)
                report.outcomes[(message.channel, status.value)] += 1
                report.reasons[(message.channel, status.value, reason)] += 1
                log.info("message %s %s: %s", message.id, status.value, reason)
                continue
            assert row is not None and address is not None
            sends.append(self._deliver(message, row, kind, address, report))
        await asyncio.gather(*sends)

    def stop(self) -> None:
        """Claim nothing more; messages claimed but not yet handed over are released."""
        self.stopping = True

    async def _deliver(
        self,
        message: outbox.Claimed,
        row,
        kind: str,
        address: str,  # type: ignore[no-untyped-def]
        report: DispatchReport,
    ) -> None:
        lane = self.channels.get(message.channel)
        gate = self._gates.setdefault(
            message.channel, asyncio.Semaphore(lane.concurrency if lane else 1)
        )
        async with gate:
            if self.stopping:  # shutting down: give it back rather than start a send
                with self.engine.begin() as connection:
                    outbox.release(connection, message.id, self.worker_id)
                report.released += 1
                return
            started = time.monotonic()
            result = await self._send(message, row, kind, address)
            report.latencies.append((message.channel, time.monotonic() - started))
        self._record(message, result, kind, address, report)

    def _kind(self, channel: str) -> str:
        config = self.settings.channels.get(channel)
        return (config.kind if config else None) or channel

    async def _send(self, message: outbox.Claimed, row, kind: str, address: str) -> SendResult:  # type: ignore[no-untyped-def]
        channel = self.channels.get(message.channel)
        if channel is None:
            return SendResult.permanent(f"channel {message.channel!r} is not configured")
        try:
            outgoing = self._outgoing(message, row, kind, address)
        except ValueError as exc:  # a header value the builder refuses
            return SendResult.permanent(str(exc))
        return await channel.send(outgoing)

    def _outgoing(self, message: outbox.Claimed, row, kind: str, address: str) -> OutgoingMessage:  # type: ignore[no-untyped-def]
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

    def _record(
        self,
        message: outbox.Claimed,
        result: SendResult,
        kind: str,
        address: str,
        report: DispatchReport,
    ) -> None:
        now = self.clock()
        if result.outcome is Outcome.ACCEPTED:
            status = MessageStatus.SENT
            done = self._finish(message, status, now, provider_id=result.provider_id)
        elif (
            result.outcome is Outcome.TRANSIENT
            and message.attempts < self.settings.dispatch.max_attempts
        ):
            status = MessageStatus.QUEUED
            when = now + backoff(message.attempts, self.settings, self.rng)
            with self.engine.begin() as connection:
                done = outbox.retry_later(
                    connection, message.id, self.worker_id, when, result.reason or "transient"
                )
        else:
            status = MessageStatus.FAILED
            done = self._finish(message, status, now, error=result.reason)
            if result.suppress:
                with self.engine.begin() as connection:
                    outbox.suppress(connection, [(kind, address, "bounce", result.reason)], now)
        if not done:
            report.lost_leases += 1
            log.warning("message %s: lease lost before the outcome was recorded", message.id)
            return
        report.outcomes[(message.channel, status.value)] += 1
        if status is not MessageStatus.SENT:
            report.reasons[(message.channel, status.value, result.reason or "")] += 1
        log.info("message %s %s via %s", message.id, status.value, message.channel)

    def _finish(
        self,
        message: outbox.Claimed,
        status: MessageStatus,
        now: datetime,
        *,
        provider_id: str | None = None,
        error: str | None = None,
    ) -> bool:
        with self.engine.begin() as connection:
            return outbox.finish(
                connection,
                message.id,
                self.worker_id,
                status,
                now=now,
                provider_id=provider_id,
                error=error,
            )

    async def aclose(self) -> None:
        for channel in self.channels.values():
            await channel.aclose()


def _address(row, kind: str) -> str | None:  # type: ignore[no-untyped-def]
    return row.email if kind == "email" else row.phone if kind == "sms" else None
