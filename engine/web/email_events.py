"""``POST /webhooks/email/events``: bounces and complaints from e-mail providers.

Authentication is the shared webhook token (:mod:`~rapport.engine.web.webhook_auth`).

A JSON object, or an array of up to 1000 objects::

    {"type": "bounce" | "complaint" | "delivery",
     "email": "a@example.com",
     "bounce_type": "hard" | "soft",          # bounces only, required for them
     "reason": "550 5.1.1 user unknown",      # optional, kept as suppression detail
     "message_id": "<id@rapport.example>",    # optional
     "occurred_at": "2025-06-01T09:30:00Z"}   # optional ISO 8601; default: now

Hard bounce: the address is suppressed (reason ``bounce``). Complaint: suppressed
(reason ``complaint``) and every e-mail topic of the customers with that address is
withdrawn (source ``complaint``). Delivery with the ``message_id`` of a sent message:
the message is marked delivered (:mod:`rapport.engine.delivery.receipts`: the first
final report wins). Soft bounce, other deliveries: counted, nothing else.
Answer: ``{"accepted": n, "suppressed": m, "applied": a, "ignored": k}`` (``accepted``
= every item; ``suppressed`` = hard bounces and complaints; ``applied`` = deliveries
that matched a sent e-mail, recorded now or before; ``ignored`` = the rest). All
items are validated before any is applied: one bad item gives ``400`` with
``{"error": "item 2: email: ..."}`` (0-based index) and nothing is applied. Repeating
an event changes nothing and gets the same answer.

Logs carry customer ids and counts, never addresses.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rapport.consent.store import withdraw_channels
from rapport.engine.core.config import Settings
from rapport.engine.core.models import CUSTOMER
from rapport.engine.core.text import unstorable
from rapport.engine.customers import fields, lookup
from rapport.engine.delivery import receipts, suppression
from rapport.engine.web.context import WebContext, web_context
from rapport.engine.web.webhook_auth import (
    BadPayload,
    PayloadTooLarge,
    WebhookError,
    error_response,
    parse_json,
    read_body,
    refuse_unauthenticated,
)

log = logging.getLogger(__name__)


COMPLAINT_SOURCE = "complaint"
MAX_EVENTS_BODY = 1024 * 1024
MAX_EVENTS = 1000
#: The suppression list's ``detail`` column.
MAX_DETAIL_LENGTH = 500
MAX_MESSAGE_ID_LENGTH = 998
_IN_CHUNK = 500


class MalformedEvent(BadPayload):
    """One e-mail event is wrong; names its index and field so the provider can fix it."""

    def __init__(self, index: int, field: str | None, reason: str) -> None:
        where = f"item {index}: {field}" if field else f"item {index}"
        super().__init__(f"{where}: {reason}")
        self.index = index
        self.field = field
        self.reason = reason


# -- parsing ----------------------------------------------------------------------------


class EmailEventType(StrEnum):
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    DELIVERY = "delivery"


@dataclass(frozen=True, slots=True)
class EmailEvent:
    type: EmailEventType
    email: str
    bounce_type: str | None = None
    reason: str | None = None
    message_id: str | None = None
    occurred_at: datetime | None = None

    @property
    def suppression_reason(self) -> str | None:
        """``bounce`` or ``complaint`` when the address must be suppressed, else None."""
        if self.type is EmailEventType.COMPLAINT:
            return "complaint"
        if self.type is EmailEventType.BOUNCE and self.bounce_type == "hard":
            return "bounce"
        return None


def _optional_text(index: int, item: dict[str, Any], field: str, limit: int) -> str | None:
    value = item.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedEvent(index, field, "must be a string")
    if len(value) > limit:
        raise MalformedEvent(index, field, f"longer than {limit} characters")
    if "\x00" in value:  # no identifier holds one, and PostgreSQL text cannot
        raise MalformedEvent(index, field, "must not contain NUL characters")
    if (problem := unstorable(value)) is not None:  # a lone surrogate: no database can
        raise MalformedEvent(index, field, problem)
    return value


def _storable(text: str) -> str:
    """``text`` without NUL characters and lone surrogates."""
    return "".join(c for c in text if c != "\x00" and not "\ud800" <= c <= "\udfff")


def parse_email_event(index: int, item: Any) -> EmailEvent:
    """One documented event, or :class:`MalformedEvent` naming the field."""
    if not isinstance(item, dict):
        raise MalformedEvent(index, None, "must be a JSON object")
    try:
        kind = EmailEventType(item.get("type", ""))
    except ValueError:
        raise MalformedEvent(index, "type", "must be bounce, complaint or delivery") from None
    address = item.get("email")
    if not isinstance(address, str):
        raise MalformedEvent(index, "email", "required, an e-mail address")
    try:
        address = fields.email(address.strip())
    except fields.FieldInvalid as exc:
        raise MalformedEvent(index, "email", exc.reason) from None
    bounce_type = None
    if kind is EmailEventType.BOUNCE:
        bounce_type = item.get("bounce_type")
        if bounce_type not in ("hard", "soft"):
            raise MalformedEvent(index, "bounce_type", "required for bounces: hard or soft")
    reason = item.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise MalformedEvent(index, "reason", "must be a string")
    occurred = _optional_text(index, item, "occurred_at", 64)
    try:
        occurred_at = fields.iso_datetime(occurred) if occurred else None
    except fields.FieldInvalid as exc:
        raise MalformedEvent(index, "occurred_at", exc.reason) from None
    return EmailEvent(
        type=kind,
        email=address,
        bounce_type=bounce_type,
        # Provider diagnostics can be long; the detail is for people, so cut it (and
        # drop NUL characters, which PostgreSQL text cannot hold, and lone surrogates,
        # which no database can).
        reason=(_storable(reason)[:MAX_DETAIL_LENGTH] or None) if reason else None,
        message_id=_optional_text(index, item, "message_id", MAX_MESSAGE_ID_LENGTH),
        occurred_at=occurred_at,
    )


def parse_email_events(data: Any) -> list[EmailEvent]:
    """Every event of a request, all validated before any is applied."""
    items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise BadPayload("body must be a JSON object or an array of objects")
    if len(items) > MAX_EVENTS:
        raise PayloadTooLarge(f"at most {MAX_EVENTS} events per request")
    return [parse_email_event(index, item) for index, item in enumerate(items)]


# -- applying ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventTally:
    accepted: int = 0
    suppressed: int = 0
    #: Deliveries that matched a sent message.
    applied: int = 0
    ignored: int = 0


@dataclass(frozen=True, slots=True)
class Recipient:
    """A customer an e-mail event concerns; plain columns only."""

    id: str
    locale: str
    address: str | None = None


def _email_channels(settings: Settings) -> tuple[str, ...]:
    """Every configured channel that delivers e-mail (and ``email`` itself): an
    opt-out covers the medium, whichever adapter the operator named."""
    names = {name for name, config in settings.channels.items() if (config.kind or name) == "email"}
    return tuple(sorted(names | {"email"}))


def customers_by_email(
    connection: Connection, addresses: Iterable[str]
) -> dict[str, list[Recipient]]:
    """Customers (not erased) by case-folded address: providers may change the case
    of the local part, and a complaint must still reach the customer."""
    addresses = list(addresses)
    wanted = sorted({address.lower() for address in addresses})
    found: dict[str, list[Recipient]] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        rows = connection.execute(
            select(CUSTOMER.c.id, CUSTOMER.c.locale, CUSTOMER.c.email)
            .where(func.lower(CUSTOMER.c.email).in_(chunk), CUSTOMER.c.erased_at.is_(None))
            .order_by(CUSTOMER.c.id)
        )
        for row in rows:
            found.setdefault(row.email.lower(), []).append(Recipient(row.id, row.locale, row.email))
    # SQL's lower() folds ASCII only on SQLite (on PostgreSQL, as the database's locale
    # says): 'Ünsal@' stored is not found by 'ünsal@' above. An address with another
    # letter is looked up as the link request does, deciding the match in Python.
    for address in sorted({a for a in addresses if not a.isascii()}):
        known = {r.id for r in found.get(address.lower(), [])}
        for match in lookup.customers_by_email(connection, address):
            if match.id not in known:
                recipient = Recipient(match.id, match.locale, match.email)
                found.setdefault(address.lower(), []).append(recipient)
    return found


def apply_email_events(
    connection: Connection, events: Sequence[EmailEvent], settings: Settings, now: datetime
) -> EventTally:
    """Suppress hard bounces and complaints, withdraw complainers' e-mail consent."""
    acting = [event for event in events if event.suppression_reason]
    customers = customers_by_email(connection, (event.email for event in acting))
    entries: dict[str, tuple[str, str, str, str | None]] = {}
    for event in acting:
        reason = event.suppression_reason
        assert reason is not None
        # The address as reported and as each customer has it stored: dispatch
        # compares exact strings.
        spellings = [event.email] + [c.address for c in customers.get(event.email.lower(), [])]
        for address in spellings:
            if address and address not in entries:
                entries[address] = ("email", address, reason, event.reason)
    suppression.suppress(connection, entries.values(), now)
    recorded = receipts.record_receipts(
        connection,
        [
            receipts.Receipt(
                event.message_id, receipts.DeliveryStatus.DELIVERED, occurred_at=event.occurred_at
            )
            for event in events
            if event.type is EmailEventType.DELIVERY and event.message_id
        ],
        now,
        channels=_email_channels(settings),
        id_forms=receipts.email_id_forms,
        suppress_kind="email",
    )
    applied = sum(receipt.matched for receipt in recorded)
    channels = _email_channels(settings)
    withdrawn: list[str] = []
    for event in acting:
        if event.type is not EmailEventType.COMPLAINT:
            continue
        # A provider clock ahead of ours must not push the withdrawal into the future.
        captured_at = min(event.occurred_at or now, now)
        for customer in customers.get(event.email.lower(), []):
            if withdraw_channels(
                connection,
                customer.id,
                channels,
                source=COMPLAINT_SOURCE,
                now=now,
                captured_at=captured_at,
                locale=customer.locale,
            ):
                withdrawn.append(customer.id)
    log.info(
        "e-mail events: %d accepted, %d suppressing, %d deliveries applied; "
        "e-mail consent withdrawn for %d customer(s)",
        len(events),
        len(acting),
        applied,
        len(withdrawn),
        extra={
            "accepted": len(events),
            "suppressing": len(acting),
            "applied": applied,
            "customer_ids": withdrawn,
        },
    )
    return EventTally(
        accepted=len(events),
        suppressed=len(acting),
        applied=applied,
        ignored=len(events) - len(acting) - applied,
    )


# -- the handler ------------------------------------------------------------------------


def _apply(web: WebContext, events: Sequence[EmailEvent]) -> EventTally:
    with web.engine.begin() as connection:
        return apply_email_events(connection, events, web.settings, web.now())


async def email_events(request: Request) -> Response:
    web = web_context(request)
    if (refused := refuse_unauthenticated(request, web.settings)) is not None:
        return refused
    try:
        events = parse_email_events(parse_json(await read_body(request, MAX_EVENTS_BODY)))
    except WebhookError as exc:
        return error_response(exc)
    tally = await run_in_threadpool(_apply, web, events)
    return JSONResponse(asdict(tally))


routes: list[Route] = [Route("/webhooks/email/events", email_events, methods=["POST"])]
