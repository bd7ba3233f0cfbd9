"""Delivery receipts: what a provider reports about a message after accepting it.

A receipt names the message by the provider's id (``outbox_message.provider_id``: a
Twilio ``SM...`` sid, a generic SMS provider's ``id``, an e-mail Message-ID) and says
what became of it. Only messages Rapport recorded as ``sent`` can be matched; any
other id (unknown, or a message whose outcome is not written yet) matches nothing.

Rules, the same for e-mail delivery events and SMS receipts:

* The first final report wins: ``delivered``, ``undelivered`` or ``failed`` is stored
  in ``delivery_status`` (with ``delivery_error``, and ``delivered_at`` when
  delivered) only while no final report is stored. Repeating a receipt, or a late
  ``queued`` / ``sent`` / ``delivered`` after another final report, changes nothing.
  Every change is guarded in SQL (``delivery_status IS NULL``), so two requests at
  once cannot both write.
* ``status`` stays ``sent``: the reports count what was sent, and how many of those
  were delivered (``delivered_at``).
* An ``undelivered`` or ``failed`` report with a permanent error code
  (:data:`PERMANENT_ERRORS`) puts the customer's number on the suppression list,
  reason ``bounce``, as a hard bounce does for an address, and as the Twilio adapter
  does when Twilio refuses a send with one of those codes. A transient code (30003
  handset unreachable, 30007 carrier filtering, 30008 unknown) suppresses nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import Connection, select, update

from rapport.channels.provider_codes import INVALID_NUMBER_CODES, SUPPRESS_CODES
from rapport.engine.core.models import CUSTOMER, OUTBOX, MessageStatus
from rapport.engine.delivery import suppression


class DeliveryStatus(StrEnum):
    """A provider's final word on a message (``outbox_message.delivery_status``)."""

    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


#: Error codes that say the number itself cannot be texted again: Twilio's codes the
#: adapter suppresses on a refused send (21211, 21610, 21614), Twilio's delivery
#: errors 30005 (unknown handset: the number does not exist) and 30006 (a landline or
#: a carrier that cannot take texts), and the generic provider's ``invalid_number`` /
#: ``invalid_recipient`` (docs/channels.md).
PERMANENT_ERRORS: Final[dict[str, str]] = {
    **{str(code): reason for code, reason in SUPPRESS_CODES.items()},
    "30005": "unknown destination handset",
    "30006": "landline or unreachable carrier",
    **{code: "invalid number" for code in sorted(INVALID_NUMBER_CODES)},
}

MAX_ERROR_LENGTH: Final = 64
_IN_CHUNK: Final = 500


@dataclass(frozen=True, slots=True)
class Receipt:
    """One report about one message. ``status`` None: not final (queued, sent ...)."""

    provider_id: str
    status: DeliveryStatus | None
    error_code: str | None = None
    occurred_at: datetime | None = None


def is_permanent(status: str | None, error_code: str | None) -> bool:
    """An undelivered or failed report whose code says the number is bad."""
    return status in (DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED) and (
        error_code is not None and error_code.strip() in PERMANENT_ERRORS
    )


@dataclass(frozen=True, slots=True)
class Recorded:
    """What became of one receipt: ``matched`` a sent message, and whether that
    message's stored report ``suppressed`` the customer's number."""

    matched: bool
    suppressed: bool = False


@dataclass(slots=True)
class _Row:
    id: int
    customer_id: str
    delivery_status: str | None
    delivery_error: str | None


def _sent_messages(
    connection: Connection, ids: Iterable[str], channels: Collection[str] | None
) -> dict[str, _Row]:
    """Sent messages by provider id (on ``channels`` only, when given)."""
    wanted = sorted(set(ids))
    found: dict[str, _Row] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        query = select(
            OUTBOX.c.id,
            OUTBOX.c.customer_id,
            OUTBOX.c.provider_id,
            OUTBOX.c.delivery_status,
            OUTBOX.c.delivery_error,
        ).where(
            OUTBOX.c.provider_id.in_(wanted[start : start + _IN_CHUNK]),
            OUTBOX.c.status == MessageStatus.SENT,
        )
        if channels is not None:
            query = query.where(OUTBOX.c.channel.in_(sorted(channels)))
        for row in connection.execute(query.order_by(OUTBOX.c.id)):
            found.setdefault(
                row.provider_id,
                _Row(row.id, row.customer_id, row.delivery_status, row.delivery_error),
            )
    return found


def _store(connection: Connection, row: _Row, receipt: Receipt, now: datetime) -> None:
    """Write a final report unless one is stored; ``row`` ends as the database has it."""
    assert receipt.status is not None
    values: dict[str, Any] = {
        "delivery_status": receipt.status.value,
        "delivery_error": receipt.error_code,
    }
    if receipt.status is DeliveryStatus.DELIVERED:
        # A provider clock ahead of ours must not date the delivery in the future.
        values["delivered_at"] = min(receipt.occurred_at or now, now)
    written = connection.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == row.id, OUTBOX.c.delivery_status.is_(None))
        .values(**values)
    ).rowcount
    if written:
        row.delivery_status, row.delivery_error = receipt.status.value, receipt.error_code
        return
    stored = connection.execute(
        select(OUTBOX.c.delivery_status, OUTBOX.c.delivery_error).where(OUTBOX.c.id == row.id)
    ).one()
    row.delivery_status, row.delivery_error = stored.delivery_status, stored.delivery_error


def email_id_forms(message_id: str) -> tuple[str, str]:
    """A Message-ID as stored, with and without its angle brackets."""
    bare = message_id.strip().strip("<>")
    return bare, f"<{bare}>"


def record_receipts(
    connection: Connection,
    receipts: Sequence[Receipt],
    now: datetime,
    *,
    channels: Collection[str] | None = None,
    id_forms: Callable[[str], Iterable[str]] | None = None,
    suppress_kind: str = "sms",
) -> list[Recorded]:
    """Apply receipts in order (see the module doc); one :class:`Recorded` each.

    ``channels``: only messages sent on these channels match (the SMS channels for SMS
    receipts). ``id_forms`` maps a reported id to the spellings it may be stored as
    (e-mail: with and without angle brackets); default, the id itself. A permanent
    failure suppresses the customer's ``suppress_kind`` address (their phone).
    """
    spellings = {
        receipt.provider_id: tuple(id_forms(receipt.provider_id) if id_forms else ())
        or (receipt.provider_id,)
        for receipt in receipts
    }
    messages = _sent_messages(
        connection, (form for found in spellings.values() for form in found), channels
    )
    recorded: list[Recorded] = []
    bounced: dict[str, tuple[str, str | None]] = {}  # customer id -> (status, code)
    for receipt in receipts:
        row = next((messages[f] for f in spellings[receipt.provider_id] if f in messages), None)
        if row is None:
            recorded.append(Recorded(matched=False))
            continue
        if receipt.status is not None and row.delivery_status is None:
            _store(connection, row, receipt, now)
        suppressed = is_permanent(row.delivery_status, row.delivery_error)
        if suppressed:
            bounced[row.customer_id] = (str(row.delivery_status), row.delivery_error)
        recorded.append(Recorded(matched=True, suppressed=suppressed))
    if bounced:
        _suppress_numbers(connection, bounced, suppress_kind, now)
    return recorded


def _suppress_numbers(
    connection: Connection,
    bounced: dict[str, tuple[str, str | None]],
    kind: str,
    now: datetime,
) -> None:
    """Suppress the numbers of customers (not erased: an erased customer's number is
    already kept only hashed) whose message failed permanently. The detail names the
    code, never the number."""
    column = CUSTOMER.c.phone if kind == "sms" else CUSTOMER.c.email
    entries = []
    for customer_id, address in connection.execute(
        select(CUSTOMER.c.id, column).where(
            CUSTOMER.c.id.in_(sorted(bounced)),
            CUSTOMER.c.erased_at.is_(None),
            column.is_not(None),
        )
    ):
        status, code = bounced[customer_id]
        detail = f"{status} {code}: {PERMANENT_ERRORS.get(str(code).strip(), '')}".rstrip(": ")
        entries.append((kind, address, "bounce", detail))
    suppression.suppress(connection, entries, now)
